"""paper_stream: a paper exchange's ``watch_order_book`` on a replayed session, with the
paper engine fed every frame and 100 resting orders (50 bids under the book, 50 asks over
it, placed through ``create_order`` once the first book is in), against the unmodified
ccxt.pro class reading the same session.

Same machinery and unit as ``stream_throughput`` (``benchmarks/_streams.py``): unpaced,
frames per second of the client process's CPU, alternating rounds, medians. The orders must
still rest at the end (the session never reaches them), so what is timed is the engine's
check of every book change against them. Target: ratio >= 0.9.
"""

from __future__ import annotations

import sys

from _common import run_cases
from _streams import VENUES, Paper, compare


def cases() -> list[tuple[str, object]]:
    return [
        (
            f"paper_stream.{v}",
            lambda v=v: compare(f"paper_stream.{v}", v, Paper, resting_orders=100),
        )
        for v in VENUES
    ]


if __name__ == "__main__":
    sys.exit(run_cases(cases()))  # type: ignore[arg-type]
