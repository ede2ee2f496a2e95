"""paper_market_order_us: one MARKET order against a 1,000-level book, in microseconds.

ours: ``Engine.place`` of a MARKET buy that walks 100 of the 1,000 ask levels (one taker fill
at the VWAP, fees, balances, all in Decimal); the full book is re-applied (untimed) before
every order so each one meets the same book. baseline: walking the same 100 levels with
plain Python floats over ccxt-style ``[price, amount]`` lists (the least a walk can cost,
with no money kept). A second line times a walk through the whole book.
"""

from __future__ import annotations

import time
from decimal import Decimal

from _common import median, report

from adapters.enums import OrderType, Side
from adapters.paper.engine import BookSnapshot, Engine, MarketSpec, PlaceOrder

SYMBOL = "ETH/USD"
LEVELS = 1000
ROUNDS, CALLS = 9, 100


def book() -> tuple[list[list[float]], list[list[float]]]:
    """1,000 bids and 1,000 asks, a cent apart, sizes cycling 0.1 .. 1.0."""
    asks = [[round(2087.29 + i * 0.01, 2), round(0.1 * (1 + i % 10), 1)] for i in range(LEVELS)]
    bids = [[round(2087.28 - i * 0.01, 2), round(0.1 * (1 + i % 10), 1)] for i in range(LEVELS)]
    return bids, asks


def engine(bids: list[list[float]], asks: list[list[float]]) -> Engine:
    e = Engine(
        [MarketSpec(SYMBOL, "ETH", "USD", Decimal("0.004"), Decimal("0.004"))],
        balances={"USD": "1000000000000"},
    )
    e.apply(BookSnapshot(SYMBOL, bids, asks, 0))
    return e


def raw_walk(asks: list[list[float]], amount: float) -> tuple[float, float]:
    left, cost = amount, 0.0
    for price, size in asks:
        take = size if size < left else left
        cost += take * price
        left -= take
        if left <= 0:
            break
    return amount - left, cost


def case(levels_taken: int) -> None:
    bids, asks = book()
    amount = sum(size for _, size in asks[:levels_taken])
    request = PlaceOrder(
        SYMBOL, Side.BUY, OrderType.MARKET, Decimal(str(round(amount, 6))), None, 1
    )
    e = engine(bids, asks)
    snapshot = BookSnapshot(SYMBOL, bids, asks, 0)
    ours, base = [], []
    for _ in range(ROUNDS):
        spent = 0.0
        for _ in range(CALLS):
            e.apply(snapshot)  # the same full book every time (forgets what we took)
            start = time.perf_counter()
            result = e.place(request)
            spent += time.perf_counter() - start
        ours.append(spent / CALLS * 1e6)
        assert len(result.fills) == 1 and result.fills[0].amount == request.amount
        start = time.perf_counter()
        for _ in range(CALLS):
            raw_walk(asks, amount)
        base.append((time.perf_counter() - start) / CALLS * 1e6)
    name = (
        "paper_market_order_us" if levels_taken == 100 else f"paper_market_order_us.{levels_taken}"
    )
    report(name, median(ours), median(base), "us/order", book_levels=LEVELS,
           levels_taken=levels_taken)  # fmt: skip


if __name__ == "__main__":
    case(100)
    case(LEVELS)
