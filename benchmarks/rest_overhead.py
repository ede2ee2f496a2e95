"""rest_overhead: typed fetch_ticker / fetch_order_book versus raw ccxt, same cassette.

Both sides replay the same vcrpy cassette in the same process, interleaved in rounds so
drift hits both alike. Prints the median time per call, in CPU time of this process: a
replayed call never waits for I/O, so that is its cost, and unlike wall time it does not
count the moments a busy machine gives the CPU to someone else. Target ratio <= 1.05.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt.pro
from _common import cassette, median, report

from adapters import open_exchange

ROUNDS, CALLS = 30, 40
CASES = [
    ("bitstamp", "fetch_ticker", "BTC/USDT"),
    ("bitstamp", "fetch_order_book", "BTC/USD"),
    ("bitmart", "fetch_ticker", "BTC/USDT"),
    ("bitmart", "fetch_order_book", "BTC/USDT"),
]


async def per_call(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.process_time()
    for _ in range(CALLS):
        await call()
    return (time.process_time() - start) / CALLS * 1e6


async def case(exchange: str, method: str, symbol: str) -> None:
    config = {"enableRateLimit": False, "timeout_on_exit": 0}
    async with open_exchange(exchange, config=config) as ex:
        # The baseline is the unmodified ccxt.pro class, given the same markets.
        raw = getattr(ccxt.pro, exchange)(config)
        try:
            with cassette(exchange, method):
                await ex.load_markets()
                raw.set_markets(list(ex.client.markets.values()))
                ours_call = lambda: getattr(ex, method)(symbol)  # noqa: E731
                raw_call = lambda: getattr(raw, method)(symbol)  # noqa: E731
                await ours_call(), await raw_call()  # warm-up
                ours, base = [], []
                for i in range(ROUNDS):
                    # Alternate which side goes first so warm-up effects hit both alike.
                    if i % 2:
                        base.append(await per_call(raw_call))
                        ours.append(await per_call(ours_call))
                    else:
                        ours.append(await per_call(ours_call))
                        base.append(await per_call(raw_call))
        finally:
            await raw.close()
    report(f"rest_overhead.{exchange}.{method}", median(ours), median(base), "us/call (CPU)")


async def main() -> None:
    for spec in CASES:
        await case(*spec)


if __name__ == "__main__":
    asyncio.run(main())
