"""sync_overhead: the synchronous facade versus awaiting the same call, same loop, same cassette.

The baseline awaits the async adapter in a loop on the facade's own event loop (one hop
per batch); ours calls the facade from the main thread (one thread hop per call). Rounds
alternate so drift hits both alike. ``market`` (cached, no I/O) shows the hop itself;
``fetch_ticker`` a replayed REST call. Prints the median time per call.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import cassette, median, report

from adapters.sync import SyncExchange, open_exchange

ROUNDS, CALLS = 30, 40
CASES = [
    ("bitstamp", "market", "BTC/USD", "fetch_ticker"),
    ("bitstamp", "fetch_ticker", "BTC/USDT", "fetch_ticker"),
]


def sync_per_call(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    for _ in range(CALLS):
        call()
    return (time.perf_counter() - start) / CALLS * 1e6


def async_per_call(ex: SyncExchange, call: Callable[[], Awaitable[Any]]) -> float:
    async def batch() -> float:
        start = time.perf_counter()
        for _ in range(CALLS):
            await call()
        return (time.perf_counter() - start) / CALLS * 1e6

    return ex.run(batch())


def case(exchange: str, method: str, symbol: str, recording: str) -> None:
    config = {"enableRateLimit": False, "timeout_on_exit": 0}
    with open_exchange(exchange, config=config) as ex, cassette(exchange, recording):
        ex.load_markets()
        ours_call = lambda: getattr(ex, method)(symbol)  # noqa: E731
        base_call = lambda: getattr(ex.exchange, method)(symbol)  # noqa: E731
        ours_call(), async_per_call(ex, base_call)  # warm-up
        ours, base = [], []
        for i in range(ROUNDS):
            if i % 2:
                base.append(async_per_call(ex, base_call))
                ours.append(sync_per_call(ours_call))
            else:
                ours.append(sync_per_call(ours_call))
                base.append(async_per_call(ex, base_call))
    report(f"sync_overhead.{exchange}.{method}", median(ours), median(base), "us/call")


if __name__ == "__main__":
    for spec in CASES:
        case(*spec)
