"""Shared bits of the benchmarks: JSON-line output, error lines, case selection and a
cassette replayer."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import vcr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VCR = vcr.VCR(
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "query", "body"],
    ignore_localhost=True,
)


def cassette(exchange: str, name: str) -> Any:
    """A replaying vcrpy cassette that can answer the same request any number of times."""
    return VCR.use_cassette(
        str(ROOT / "cassettes" / exchange / f"{name}.yaml"), allow_playback_repeats=True
    )


def report(name: str, ours: float, baseline: float, unit: str, **extra: Any) -> None:
    """Print one measurement as a JSON line; ratio = ours / baseline."""
    line = {
        "name": name,
        "ours": round(ours, 3),
        "baseline": round(baseline, 3),
        "unit": unit,
        "ratio": round(ours / baseline, 3) if baseline else None,
        **extra,
    }
    print(json.dumps(line), flush=True)


def median(values: list[float]) -> float:
    """Median, the robust centre for timing samples."""
    return statistics.median(values)


def error(name: str, exc: BaseException) -> None:
    """Print the error line of a benchmark that failed (the others still run)."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
    line = {"name": name, "error": f"{type(exc).__name__}: {exc}{at}"}
    print(json.dumps(line), flush=True)


def selected(name: str, argv: Sequence[str]) -> bool:
    """Whether the case ``name`` was asked for: no arguments means every case; an argument
    selects the cases it names or prefixes (``stream_throughput.bitmart``)."""
    return not argv or any(name == a or name.startswith(a + ".") for a in argv)


def run_cases(cases: Sequence[tuple[str, Callable[[], Awaitable[None]]]]) -> int:
    """Run the selected cases (``sys.argv[1:]``), each guarded: a failure prints an error
    line and the next case runs. Returns the exit status (1 if any case failed)."""
    argv = sys.argv[1:]
    failed = 0

    async def all_cases() -> None:
        nonlocal failed
        for name, case in cases:
            if not selected(name, argv):
                continue
            try:
                await case()
            except Exception as exc:
                failed += 1
                error(name, exc)

    asyncio.run(all_cases())
    return 1 if failed else 0
