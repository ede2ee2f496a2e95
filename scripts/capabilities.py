"""What does each exchange support? Offline, instant (it never imports ccxt).

python scripts/capabilities.py [EXCHANGE]
"""

from __future__ import annotations

import argparse
import sys

from adapters import AdapterError, OrderType, capabilities, supported_exchanges


def main(argv: list[str] | None = None) -> int:
    """Run the script; returns the exit status (0 ok, 2 bad input)."""
    parser = argparse.ArgumentParser(
        prog="capabilities.py", description="Order types and paper-trade id of each exchange."
    )
    parser.add_argument("exchange", nargs="?", help="one exchange (default: all)")
    args = parser.parse_args(argv)
    try:
        cards = [
            capabilities(e) for e in ([args.exchange] if args.exchange else supported_exchanges())
        ]
    except AdapterError as exc:
        print(f"capabilities.py: error: {exc}", file=sys.stderr)
        return 2
    for card in cards:
        print(f"{card.name}: {', '.join(card.order_type_names)}; "
              f"MARKET {'yes' if card.supports(OrderType.MARKET) else 'no'}; "
              f"paper trading as {card.paper_trade_id}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
