"""The paper feed's shortcut: a journal of book updates that touched no order is dropped and
the engine later copies ccxt's book (``EngineFeed._defer``). The reference is the plain
path, every update applied in order: the demo's recorded session (its quotes rest at and
near the top of the book, and fill) must give the same fills both ways.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from adapters.models import Fill
from adapters.paper.demo import DemoConfig, DemoReport, run_demo, summary
from adapters.paper.feed import EngineFeed

QUIET = {"enableRateLimit": False, "timeout_on_exit": 0}


def essentials(fills: list[Fill]) -> list[tuple[object, ...]]:
    """What a fill is, without the client order id (random by design)."""
    return [
        (f.id, f.order_id, f.side, f.price, f.amount, f.cost, f.fee, f.taker_or_maker,
         f.timestamp)
        for f in fills
    ]  # fmt: skip


async def demo() -> DemoReport:
    report = await run_demo(out=io.StringIO(), progress=False, client_config=QUIET)
    return report


@pytest.mark.slow
@pytest.mark.parametrize("every", [1, 2])
async def test_dropped_book_updates_give_the_fills_of_applying_each(
    monkeypatch: pytest.MonkeyPatch, every: int
) -> None:
    monkeypatch.setattr(EngineFeed, "MAX_PENDING", 10**9)  # never dropped: every update applied
    in_order = await demo()

    copies = 0
    catch_up = EngineFeed._catch_up

    def counted(self: Any) -> None:
        nonlocal copies
        copies += len(self._stale)
        catch_up(self)

    monkeypatch.setattr(EngineFeed, "MAX_PENDING", every)
    monkeypatch.setattr(EngineFeed, "_catch_up", counted)
    dropped = await demo()

    assert copies > 10, "the shortcut was never taken: this test would prove nothing"
    assert len(in_order.fills) > 50 and in_order.market_order is not None
    assert essentials(dropped.fills) == essentials(in_order.fills)
    assert summary(dropped, DemoConfig()) == summary(in_order, DemoConfig())
