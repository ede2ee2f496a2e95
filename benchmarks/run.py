"""Run the benchmarks in this folder; each prints JSON lines
``{"name", "ours", "baseline", "unit", "ratio"}`` (plus details). Offline: every benchmark
replays recorded data.

    python benchmarks/run.py                          # all
    python benchmarks/run.py rest_overhead stream_throughput
    python benchmarks/run.py stream_throughput.bitmart   # one case of a benchmark

A benchmark that fails prints an error line ``{"name", "error"}`` and the others still run;
the exit status is 1 if any failed. Each benchmark runs in its own interpreter, bounded by
``LIMIT_S``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIMIT_S = 900


def scripts() -> list[Path]:
    """Every benchmark: the modules here not starting with ``_``, except this one."""
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != "run.py")


def main(names: list[str]) -> int:
    """Run the benchmarks (or cases, ``script.case``) named, or all of them."""
    wanted: dict[str, list[str]] = {}
    for name in names:
        wanted.setdefault(name.split(".", 1)[0], []).extend([name] if "." in name else [])
    known = {p.stem for p in scripts()}
    unknown = sorted(set(wanted) - known)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}",
              file=sys.stderr)  # fmt: skip
        return 2
    failed = 0
    for script in scripts():
        if wanted and script.stem not in wanted:
            continue
        print(f"# {script.stem}", file=sys.stderr, flush=True)
        try:
            done = subprocess.run([sys.executable, str(script), *wanted.get(script.stem, [])],
                                  cwd=HERE, timeout=LIMIT_S)  # fmt: skip
            code: int | str = done.returncode
        except subprocess.TimeoutExpired:
            code = f"no result after {LIMIT_S} s"
        if code != 0:
            failed += 1
            # The script printed its own error lines for the cases it could catch; this one
            # says the script as a whole did not finish cleanly.
            line = {"name": script.stem, "error": f"exit status {code}"}
            print(json.dumps(line), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
