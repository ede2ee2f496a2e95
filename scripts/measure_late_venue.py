"""Measure duplicate and lost orders when the venue acts after the client's timeout.

The set-up of issue 10: the default :class:`~adapters.RetryPolicy`, a 1 s client timeout, a
venue that sits on 30% of creates for 2 s before placing them and accepts a repeated client
order id (Bitstamp guarantees no uniqueness check). Runs offline against the fake venue of
the test suite (``tests/fakevenue.py``, 127.0.0.1 only)::

    python scripts/measure_late_venue.py            # 20 creates on each venue
    python scripts/measure_late_venue.py --creates 50 --seed 7

For each venue it prints: creates that met a late venue, duplicates (orders the venue holds
twice under one client order id), lost orders (held by the venue under a client order id the
caller was never told about) and unknown outcomes (creates that raised with the client order
id, for the caller to reconcile).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import AdapterError, OrderRequest, RetryPolicy
from tests.fakevenue import FakeVenue

SYMBOL = {"bitstamp": "BTC/USD", "bitmart": "BTC/USDT"}


async def measure(exchange_id: str, creates: int, seed: int) -> dict[str, int]:
    """Run ``creates`` limit buys against a late venue; return the counts."""
    async with FakeVenue(
        exchange_id, seed=seed, fault_rate=0.3, fault_kinds=("late",), fault_groups=("create",),
        late=2.0, unique_client_ids=False,
    ) as venue:  # fmt: skip
        ex = venue.exchange(policy=RetryPolicy(), timeout_ms=1000)
        told: set[str] = set()
        unknown = 0
        try:
            for i in range(creates):
                request = OrderRequest(
                    symbol=SYMBOL[exchange_id], side="buy", type="limit",
                    amount=Decimal(f"0.00{100 + i}"), price=Decimal("20000"),
                )  # fmt: skip
                try:
                    order = await ex.create_order(request)
                except AdapterError as exc:
                    cid = getattr(exc, "client_order_id", None)
                    unknown += 1
                    if cid:
                        told.add(cid)
                    continue
                if order.client_order_id:
                    told.add(order.client_order_id)
        finally:
            await ex.close()
        await venue.quiet(10.0)  # late creates land before counting
    held = Counter(o.client_order_id for o in venue.orders)
    return {
        "creates": creates,
        "creates_under_late_faults": sum(
            1 for r in venue.requests if r.group == "create" and r.fault == "late"
        ),
        "sends": venue.count("create"),
        "duplicates": sum(n - 1 for n in held.values()),
        "lost": sum(1 for cid in held if cid not in told),
        "unknown_outcomes": unknown,
    }


def main() -> int:
    """Parse the arguments, measure each venue, print one line per venue."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=20)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    for exchange_id in SYMBOL:
        counts = asyncio.run(measure(exchange_id, args.creates, args.seed))
        print(exchange_id, " ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
