"""engine_scaling: the paper engine's events per second as the account and the book grow.

The events are the demo's Bitstamp session (``diff_order_book_ethusd`` deltas and
``live_trades_ethusd`` trades, repeated as in ``paper_engine``), fed to the pure engine
(no I/O) as ``BookDelta``/``PublicTrade`` events built before timing. Two lines:

``engine_scaling.resting_orders``
    1, 100 and 10,000 resting orders (half bids, half asks, from 50 away from the touch on,
    a cent apart, so none fills) on the session's book; ours: 10,000, baseline: 1.
``engine_scaling.book_levels``
    100 resting orders on a book of 10, 100 and 1,000 levels a side (the session's snapshot
    levels, then a cent-apart grid behind them); ours: 1,000, baseline: 10.

A ratio near 1 means the cost of an event does not grow with that dimension. Configurations
are interleaved in rounds; medians.
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from typing import Any

from _common import median, report, run_cases
from paper_engine import SPEC, SYMBOL, engine_events, long_session

from adapters.enums import OrderType, Side
from adapters.paper.engine import BookSnapshot, Engine, Event, PlaceOrder

ROUNDS = 15
ORDERS = (1, 100, 10_000)
LEVELS = (10, 100, 1_000)
CENT = Decimal("0.01")


def levels(side: list[Any], count: int, step: Decimal) -> list[tuple[str, str]]:
    """``side``'s first ``count`` levels, then a grid ``step`` apart behind the last one."""
    out = [(str(p), str(a)) for p, a in side[:count]]
    price = Decimal(out[-1][0])
    while len(out) < count:
        price += step
        out.append((str(price), "0.5"))
    return out


def engine(snapshot: dict[str, Any], orders: int, depth: int | None) -> Engine:
    bids, asks = snapshot["bids"], snapshot["asks"]
    if depth is not None:
        bids, asks = levels(bids, depth, -CENT), levels(asks, depth, CENT)
    e = Engine([SPEC], balances={"USD": "100000000", "ETH": "1000000"})
    e.apply(BookSnapshot(SYMBOL, bids, asks, 0))
    best_bid, best_ask = Decimal(snapshot["bids"][0][0]), Decimal(snapshot["asks"][0][0])
    for i in range(orders):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        away = Decimal(50) + CENT * (i // 2)
        price = best_bid - away if side is Side.BUY else best_ask + away
        e.place(PlaceOrder(SYMBOL, side, OrderType.LIMIT, Decimal("0.01"), price, 0))
    return e


def events_per_s(e: Engine, events: list[Event], orders: int) -> float:
    apply = e.apply
    start = time.perf_counter()
    for event in events:
        apply(event)
    elapsed = time.perf_counter() - start
    assert len(e.orders(open_only=True)) == orders, "the resting orders must stay resting"
    return len(events) / elapsed


async def scaling() -> None:
    snapshot, frames = long_session()
    events = engine_events(frames)
    configs = [("resting_orders", n, n, None) for n in ORDERS]
    configs += [("book_levels", n, 100, n) for n in LEVELS]
    results: dict[tuple[str, int], list[float]] = {(axis, n): [] for axis, n, _, _ in configs}
    for _ in range(ROUNDS):
        for axis, n, orders, depth in configs:
            e = engine(snapshot, orders, depth)  # a fresh account and book each time
            results[(axis, n)].append(events_per_s(e, events, orders))
    for axis, sizes in (("resting_orders", ORDERS), ("book_levels", LEVELS)):
        figures = {str(n): round(median(results[(axis, n)])) for n in sizes}
        report(f"engine_scaling.{axis}", median(results[(axis, sizes[-1])]),
               median(results[(axis, sizes[0])]), "events/s", events_per_s=figures,
               events=len(events))  # fmt: skip


if __name__ == "__main__":
    sys.exit(run_cases([("engine_scaling", scaling)]))
