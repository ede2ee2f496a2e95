"""Place one order, show it, then cancel it (unless --keep).

    python scripts/place_order.py bitstamp buy BTC/USD 0.001 --price 20000

There is no default order: exchange, side, symbol and amount are required. A live order
needs keys (environment or .env, see .env.example) and is sent only after you answer
"yes" to the summary it prints (or pass --yes); with no answer (no terminal, end of
input) nothing is sent. --paper places it on the paper-trading twin instead: no keys,
no question. Every check that needs no order on the wire (capability table, symbol,
increments, minimums, credentials) runs before the question.
"""

from __future__ import annotations

import argparse
import sys

from dotenv import find_dotenv, load_dotenv

from adapters import AdapterError, OrderRequest, OrderStatus, supported_exchanges
from adapters.sync import open_exchange


def confirm(summary: str) -> bool:
    """Ask on stdin; anything but "yes"/"y" (or no input at all) means no."""
    print(f"{summary}\nSend this LIVE order? [yes/no] ", end="", flush=True)
    try:
        answer = input()
    except EOFError:
        print()
        return False
    return answer.strip().lower() in ("y", "yes")


def main(argv: list[str] | None = None) -> int:
    """Run the script; returns the exit status (0 ok, 1 not sent or refused, 2 bad input)."""
    parser = argparse.ArgumentParser(
        prog="place_order.py",
        description="Place one order, then cancel it (unless --keep).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("exchange", choices=supported_exchanges(), help="the venue")
    parser.add_argument("side", choices=["buy", "sell"], help="order side")
    parser.add_argument("symbol", help="unified symbol, e.g. BTC/USD")
    # Text, read by OrderRequest's own parser: Decimal() here would take "١٢" or "1_000".
    parser.add_argument("amount", help="amount in the base currency, e.g. 0.001")
    parser.add_argument("--price", help="limit price (not for market orders)")
    parser.add_argument(
        "--type", default="limit_maker", choices=["limit", "limit_maker", "market"],
        help="order type",
    )  # fmt: skip
    parser.add_argument("--client-order-id", help="your id for the order (default: a fresh one)")
    parser.add_argument("--keep", action="store_true", help="leave the order open")
    parser.add_argument("--paper", action="store_true", help="use the paper-trading twin")
    parser.add_argument("--yes", action="store_true", help="send a live order without asking")
    args = parser.parse_args(argv)
    env_file = find_dotenv()  # the nearest .env up from this script's folder
    try:
        load_dotenv(env_file)
    except (OSError, ValueError) as exc:  # unreadable, or not UTF-8: one line, no traceback
        print(f"place_order.py: error: cannot read {env_file}: {exc}", file=sys.stderr)
        return 1
    try:
        request = OrderRequest(
            symbol=args.symbol,
            side=args.side,
            type=args.type,
            amount=args.amount,
            price=args.price,
            client_order_id=args.client_order_id,
        )
        with open_exchange(args.exchange, paper=args.paper) as ex:
            ex.validate_order(request)
            summary = (
                f"{ex.id}: {request.side.value} {request.amount} {request.symbol} "
                f"{request.type.value}" + (f" @ {request.price}" if request.price else "")
            )
            if not (args.paper or args.yes or confirm(summary)):
                print("place_order.py: not confirmed; nothing sent", file=sys.stderr)
                return 1
            # The id exists before anything is sent: whatever happens next, it finds the order
            # (ex.fetch_order_by_client_id).
            print(f"placing client order id {request.client_order_id}")
            order = ex.create_order(request)
            print(f"placed {order.id} ({order.client_order_id}): {order.status.value}")
            if not args.keep and order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
                print(f"cancelled: {ex.cancel_order(order.id, request.symbol).status.value}")
    except AdapterError as exc:
        print(f"place_order.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("place_order.py: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
