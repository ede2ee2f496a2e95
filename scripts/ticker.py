"""Print a ticker (public; no keys needed).

python scripts/ticker.py bitmart BTC/USDT
"""

from __future__ import annotations

import argparse
import sys

from dotenv import find_dotenv, load_dotenv

from adapters import AdapterError, supported_exchanges
from adapters.console import MarketFormat
from adapters.sync import open_exchange


def main(argv: list[str] | None = None) -> int:
    """Run the script; returns the exit status (0 ok, 1 error, 2 bad input)."""
    parser = argparse.ArgumentParser(
        prog="ticker.py",
        description="Print best bid, best ask and last price.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "exchange", nargs="?", default="bitstamp", choices=supported_exchanges(), help="the venue"
    )
    parser.add_argument("symbol", nargs="?", default="BTC/USD", help="unified symbol")
    args = parser.parse_args(argv)
    env_file = find_dotenv()  # the nearest .env up from this script's folder
    try:
        load_dotenv(env_file)
    except (OSError, ValueError) as exc:  # unreadable, or not UTF-8: one line, no traceback
        print(f"ticker.py: error: cannot read {env_file}: {exc}", file=sys.stderr)
        return 1
    try:
        with open_exchange(args.exchange) as ex:
            t = ex.fetch_ticker(args.symbol)
            market = ex.market(args.symbol)
    except AdapterError as exc:
        print(f"ticker.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ticker.py: interrupted", file=sys.stderr)
        return 130

    # The command line's number rules: the market's price increment, widened for a price
    # off its grid rather than rounding it away.
    fmt = MarketFormat.of(market).fitted(prices=[t.bid, t.ask, t.last])
    bid, ask, last = (fmt.price(v) for v in (t.bid, t.ask, t.last))
    print(f"{ex.id} {market.symbol}: bid {bid}  ask {ask}  last {last}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
