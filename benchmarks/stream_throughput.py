"""stream_throughput: how fast the typed ``watch_order_book`` gets through a replayed venue
session when the venue sends as fast as the client reads, against the unmodified ccxt.pro
class reading the same session (``benchmarks/_streams.py``).

ours: frames per second through the adapter's client (its stream fixes included) with every
book handed out as a typed :class:`~adapters.models.OrderBook`; baseline: ``ccxt.pro.<venue>``
with a bare ``watch_order_book`` loop. Frames per second run from the release of the session
(once the client has its first book) to the first book carrying the last timed frame. The
server runs in its own process; ``client_cpu`` is the share of that time the client process
was on a CPU (near 1: the client, not the server, set the pace). Rounds alternate which side
goes first; medians; ``round_ratios`` is the spread of the per-round ratios (the noise).
Target: ratio >= 0.95.
"""

from __future__ import annotations

import sys

from _common import run_cases
from _streams import VENUES, Typed, compare


def cases() -> list[tuple[str, object]]:
    return [
        (f"stream_throughput.{venue}", lambda v=venue: compare(f"stream_throughput.{v}", v, Typed))
        for venue in VENUES
    ]


if __name__ == "__main__":
    sys.exit(run_cases(cases()))  # type: ignore[arg-type]
