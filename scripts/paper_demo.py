"""Run the paper-trading demo: ``python scripts/paper_demo.py [--live] [--ledger PATH]``.

The twin of ``python -m adapters paper demo``. Offline by default: a recorded Bitstamp
session (``cassettes/bitstamp/ws/paper_demo_ethusd_derived.jsonl``) replays through a local
server to the real ccxt.pro client, so it needs no network and no keys, and with no
``--ledger`` it leaves nothing behind.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.errors import AdapterError  # noqa: E402
from adapters.paper.demo import run_demo  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="paper-trading demo on bitstamp_paper_trade")
    parser.add_argument("--live", action="store_true", help="use the live public feed")
    parser.add_argument("--ledger", type=Path, help="keep the paper account in this file")
    parser.add_argument("--quiet", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)
    try:
        asyncio.run(run_demo(live=args.live, ledger=args.ledger, progress=not args.quiet))
    except AdapterError as exc:
        print(f"paper_demo: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("paper_demo: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
