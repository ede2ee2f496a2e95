"""stream_latency_us: the latency the typed layer adds to each order-book update.

For every book the caller receives: the time from "ccxt.pro has handled the latest frame"
(its ``handle_message`` returned, the book is up to date and the watcher is woken) to "the
book is in the caller's hands" (ours: the typed :class:`~adapters.models.OrderBook` out of
``watch_order_book``; baseline: ccxt's own book out of the unmodified
``ccxt.pro.<venue>.watch_order_book``). The session is replayed at 10,000 frames/s (the
server sends what is due about every half millisecond, as a busy venue's bursts arrive),
``benchmarks/_streams.py``. Samples of alternating rounds are pooled; p50 and p99 in
microseconds; ``added_us`` is ours minus baseline. Wall-clock times: on a loaded machine the
p99 also holds the time the process waited for a CPU.
"""

from __future__ import annotations

import sys

from _common import report, run_cases
from _streams import VENUES, Raw, ServerProcess, Typed, quantile, run_once

PACE = 10_000.0
ROUNDS = 3
TIMED_RUNS = 30  # about 9,000 frames, 0.9 s a run
RUNS = TIMED_RUNS + 1


async def latency(venue: str) -> None:
    ours: list[float] = []
    base: list[float] = []
    with ServerProcess() as srv:
        await run_once(Raw(venue), srv, RUNS, TIMED_RUNS, PACE)  # warm-up
        for i in range(ROUNDS):
            pair = [(Raw, base), (Typed, ours)]
            for kind, into in pair if i % 2 else reversed(pair):
                run = await run_once(kind(venue), srv, RUNS, TIMED_RUNS, PACE, latency=True)
                into.extend(run.latencies)
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        o, b = quantile(ours, q) * 1e6, quantile(base, q) * 1e6
        books = {"ours": len(ours), "baseline": len(base)}
        report(f"stream_latency_us.{venue}.{label}", o, b, "us", added_us=round(o - b, 1),
               books=books, offered="10000 frames/s")  # fmt: skip


def cases() -> list[tuple[str, object]]:
    return [(f"stream_latency_us.{v}", lambda v=v: latency(v)) for v in VENUES]


if __name__ == "__main__":
    sys.exit(run_cases(cases()))  # type: ignore[arg-type]
