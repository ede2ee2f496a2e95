"""Print a ticker: python scripts/ticker.py [EXCHANGE] [SYMBOL]  (public; no keys needed)."""

import asyncio
import sys

from dotenv import load_dotenv

from adapters import open_exchange


async def main(exchange: str, symbol: str) -> None:
    async with open_exchange(exchange) as ex:
        t = await ex.fetch_ticker(symbol)
        print(f"{exchange} {symbol}: bid {t.bid}  ask {t.ask}  last {t.last}")


if __name__ == "__main__":
    load_dotenv()
    args = sys.argv[1:] + ["bitstamp", "BTC/USD"][len(sys.argv[1:]) :]
    asyncio.run(main(args[0], args[1]))
