"""paper_virtual_clock: how long the paper demo takes to trade a recorded hour at
``speed="max"``, against the hour itself.

The session is the demo's Bitstamp recording (42 s of ``diff_order_book_ethusd`` deltas and
trades) with its deltas repeated to a little over an hour of recorded time
(``repeat_diff_session`` of ``adapters.venues.bitstamp.replay``; the repeat keeps the book
deltas only, so resting orders fill when the book reaches them, not from trades). The demo
strategy runs on it with the virtual clock: every book reaches the strategy, which places and
cancels before the next one is sent. ``ours`` is the wall time of the run, ``baseline`` the
recorded time; the ratio is the fraction of real time the replay needs. Two runs; the
second's fills must equal the first's (``same_fills_twice``: the clock is deterministic).
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
import time
from pathlib import Path

from _common import report

from adapters.paper.demo import DemoConfig, run_demo
from adapters.paper.session import DEMO_SESSION, shipped_sessions
from adapters.replay import Recording
from adapters.venues.bitstamp.replay import repeat_diff_session

WS = shipped_sessions("bitstamp")


def hour_session(folder: Path) -> tuple[Path, float]:
    """The demo session repeated past an hour, written with its REST snapshot beside it."""
    source = Recording.load(WS / f"{DEMO_SESSION}.jsonl")
    span = source.data_frames()[-1].t - source.data_frames()[0].t
    repeats = int(3600 // span) + 1
    longer = repeat_diff_session(source, repeats)
    path = folder / "hour.jsonl"
    longer.save(path)
    snapshot = str(source.meta["rest_snapshot"])
    (folder / snapshot).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(WS / snapshot, folder / snapshot)
    data = longer.data_frames()
    return path, data[-1].t - data[0].t


async def one_run(path: Path) -> tuple[float, int, list[tuple[str, str, str]]]:
    started = time.perf_counter()
    result = await run_demo(
        config=DemoConfig(session=path),
        out=io.StringIO(),
        progress=False,
        client_config={"enableRateLimit": False},
    )
    wall = time.perf_counter() - started
    fills = [(f.id, str(f.price), str(f.amount)) for f in result.fills]
    return wall, result.book_updates, fills


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, recorded = hour_session(Path(tmp))
        frames = len(Recording.load(path).data_frames())
        first = asyncio.run(one_run(path))
        second = asyncio.run(one_run(path))
    wall = min(first[0], second[0])
    report(
        "paper_demo_recorded_hour_speed_max",
        wall,
        recorded,
        "s",
        frames=frames,
        books=first[1],
        fills=len(first[2]),
        frames_per_s=round(frames / wall),
        same_fills_twice=first[2] == second[2],
    )


if __name__ == "__main__":
    main()
