"""Run every benchmark in this folder; each prints JSON lines
``{"name", "ours", "baseline", "unit", "ratio"}``. Offline: all replay recorded data.

    python benchmarks/run.py            # all
    python benchmarks/run.py rest_overhead capability_query
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(
        p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != "run.py"
    )
    if names:
        scripts = [p for p in scripts if p.stem in names]
    failed = 0
    for script in scripts:
        print(f"# {script.stem}", file=sys.stderr, flush=True)
        failed += subprocess.run([sys.executable, str(script)], cwd=HERE).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
