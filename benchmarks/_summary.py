"""Summarise several runs of the benchmarks: the minimum, median and maximum of each line's
ratio (and of ``ours``), and the machine they ran on.

    python benchmarks/run.py > run1.jsonl   # ... three times
    python benchmarks/_summary.py run1.jsonl run2.jsonl run3.jsonl

Prints one JSON line per benchmark line (``{"name", "runs", "ratio": [min, median, max],
"ours": [...], "unit"}``), the error lines any run printed, and first a ``machine`` line.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """nproc, the CPU model (``/proc/cpuinfo``), Python and ccxt versions."""
    model = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import ccxt

    return {
        "name": "machine",
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "ccxt": ccxt.__version__,
    }


def spread(values: list[float]) -> list[float]:
    """``[min, median, max]``, rounded to three decimals."""
    return [round(min(values), 3), round(statistics.median(values), 3), round(max(values), 3)]


def main(paths: list[str]) -> int:
    """Print the summary of the runs in ``paths``."""
    print(json.dumps(machine()))
    lines: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        for text in Path(path).read_text(encoding="utf-8").splitlines():
            if text.startswith("{"):
                line = json.loads(text)
                lines.setdefault(line["name"], []).append(line)
    for name, found in lines.items():
        errors = [line["error"] for line in found if "error" in line]
        good = [line for line in found if line.get("ratio") is not None]
        out: dict[str, Any] = {"name": name, "runs": len(good)}
        if good:
            out["ratio"] = spread([line["ratio"] for line in good])
            out["ours"] = spread([line["ours"] for line in good])
            out["unit"] = good[0]["unit"]
        if errors:
            out["errors"] = errors
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
