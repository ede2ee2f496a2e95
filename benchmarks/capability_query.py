"""capability_query: wall time of ``python -m adapters capabilities bitmart --json`` versus
``python -c "import ccxt.pro"`` (what any ccxt-based answer would cost at least).

Fresh interpreter per run, interleaved; prints medians. Target ratio <= 0.25.
"""

from __future__ import annotations

import subprocess
import sys
import time

from _common import ROOT, median, report

RUNS = 15
OURS = [sys.executable, "-m", "adapters", "capabilities", "bitmart", "--json"]
BASELINE = [sys.executable, "-c", "import ccxt.pro"]


def wall_ms(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    wall_ms(OURS), wall_ms(BASELINE)  # warm the OS file cache for both
    ours, base = [], []
    for _ in range(RUNS):
        ours.append(wall_ms(OURS))
        base.append(wall_ms(BASELINE))
    report("capability_query", median(ours), median(base), "ms")


if __name__ == "__main__":
    main()
