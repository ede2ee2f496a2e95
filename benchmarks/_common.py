"""Shared bits of the benchmarks: JSON-line output and a cassette replayer."""

from __future__ import annotations

import json
import statistics
import sys
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
