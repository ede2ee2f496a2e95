"""Property tests of the paper engine over random books, trades and orders (hypothesis).

After every event of a random sequence:

* assets are conserved: each currency's total moved by exactly the signed fill amounts minus
  fees (computed here from the fills, not from the engine's balances);
* no fill is at a price worse than its order's limit;
* what is locked is exactly what the open orders hold, between zero and the total, so
  locked plus free is the total and nothing is spent twice;
* no balance goes negative;
* an unfundable order changes nothing;
* and the same sequence run again gives the same output, byte for byte.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.enums import OrderType, Side
from adapters.errors import InsufficientFunds, OrderNotFound
from adapters.paper.engine import (
    BookDelta,
    BookSnapshot,
    CancelOrder,
    Engine,
    EngineResult,
    FillRecord,
    MarketSpec,
    PlaceOrder,
    PublicTrade,
    QueueModel,
)

SYM = "BTC/USD"
START = {"USD": D("2000"), "BTC": D("3")}

prices = st.integers(min_value=950, max_value=1050).map(lambda n: D(n) / 10)  # 95.0 .. 105.0
sizes = st.integers(min_value=1, max_value=400).map(lambda n: D(n) / 100)  # 0.01 .. 4.00
levels = st.lists(st.tuples(prices, sizes), max_size=8)
maybe_zero = st.one_of(sizes, st.just(D(0)))

place = st.tuples(
    st.just("place"),
    st.sampled_from(list(Side)),
    st.sampled_from(list(OrderType)),
    sizes,
    prices,
)
cancel = st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=30))
trade = st.tuples(st.just("trade"), prices, sizes, st.sampled_from([Side.BUY, Side.SELL, None]))
delta = st.tuples(
    st.just("delta"),
    st.lists(st.tuples(prices, maybe_zero), max_size=4),
    st.lists(st.tuples(prices, maybe_zero), max_size=4),
)
steps = st.lists(st.one_of(place, place, cancel, trade, trade, delta), min_size=1, max_size=40)
fees = st.sampled_from([D(0), D("0.001"), D("0.0025"), D("0.004")])
queues = st.sampled_from(list(QueueModel))


def run(
    bids: list[tuple[D, D]],
    asks: list[tuple[D, D]],
    plan: list[tuple[Any, ...]],
    maker: D,
    taker: D,
    queue: QueueModel,
    *,
    check: bool,
) -> list[str]:
    """Apply ``plan`` to a fresh engine, checking the invariants after each event."""
    engine = Engine([MarketSpec(SYM, "BTC", "USD", maker, taker)], balances=START, queue=queue)
    log: list[str] = []
    fills: list[FillRecord] = []
    limits: dict[str, tuple[Side, D | None]] = {}
    placed: list[str] = []
    ts = 0

    def record(result: EngineResult) -> None:
        log.append(repr(result))
        fills.extend(result.fills)

    record(engine.apply(BookSnapshot(SYM, bids, asks, ts)))
    for step in plan:
        ts += 1
        kind = step[0]
        if kind == "place":
            _, side, otype, amount, price = step
            event = PlaceOrder(
                SYM, side, otype, amount, None if otype is OrderType.MARKET else price, ts
            )
            before = (engine.balances(), engine.orders(), engine.counters)
            try:
                result = engine.apply(event)
            except InsufficientFunds as exc:
                log.append(f"InsufficientFunds({exc})")
                assert (engine.balances(), engine.orders(), engine.counters) == before
                continue
            placed.append(result.orders[0].id)
            limits[result.orders[0].id] = (side, event.price)
            record(result)
        elif kind == "cancel":
            if not placed:
                continue
            order_id = placed[step[1] % len(placed)]
            try:
                record(engine.apply(CancelOrder(order_id, ts)))
            except OrderNotFound:
                assert not engine.order(order_id).is_open
                log.append(f"OrderNotFound({order_id})")
        elif kind == "trade":
            _, price, amount, side = step
            record(engine.apply(PublicTrade(SYM, price, amount, side, ts)))
        else:
            _, new_bids, new_asks = step
            record(engine.apply(BookDelta(SYM, new_bids, new_asks, ts)))
        if check:
            check_invariants(engine, fills, limits)
    return log


def check_invariants(
    engine: Engine, fills: list[FillRecord], limits: dict[str, tuple[Side, D | None]]
) -> None:
    # Conservation, from the fills alone.
    expected = dict(START)
    for fill in fills:
        sign = 1 if fill.side is Side.BUY else -1
        expected["BTC"] += sign * fill.amount
        expected["USD"] -= sign * fill.cost + fill.fee
        assert fill.fee >= 0 and fill.amount > 0
    for currency, total in expected.items():
        assert engine.balance(currency).total == total, currency

    # No fill worse than the limit.
    for fill in fills:
        side, limit = limits[fill.order_id]
        if limit is not None:
            assert fill.price <= limit if side is Side.BUY else fill.price >= limit
            assert fill.cost == fill.amount * fill.price  # one price per LIMIT fill, exact

    # Locks are exactly what open orders hold; nothing negative.
    held: dict[str, D] = defaultdict(D)
    for order in engine.orders(open_only=True):
        held["USD" if order.side is Side.BUY else "BTC"] += order.locked
    for currency in ("USD", "BTC"):
        balance = engine.balance(currency)
        assert balance.locked == held[currency]
        assert balance.locked >= 0 and balance.total >= 0 and balance.free >= 0
        assert balance.locked + balance.free == balance.total

    # Per order: filled adds up and never exceeds the amount.
    per_order: dict[str, D] = defaultdict(D)
    for fill in fills:
        per_order[fill.order_id] += fill.amount
    for order in engine.orders():
        assert order.filled == per_order[order.id] <= order.amount
        assert order.filled >= 0 and (order.is_open or order.locked == 0)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levels, levels, steps, fees, fees, queues)
def test_invariants_hold_after_every_event(
    bids: list[tuple[D, D]],
    asks: list[tuple[D, D]],
    plan: list[tuple[Any, ...]],
    maker: D,
    taker: D,
    queue: QueueModel,
) -> None:
    run(bids, asks, plan, maker, taker, queue, check=True)


@settings(max_examples=100, deadline=None)
@given(levels, levels, steps, fees, fees, queues)
def test_the_same_events_give_the_same_output_byte_for_byte(
    bids: list[tuple[D, D]],
    asks: list[tuple[D, D]],
    plan: list[tuple[Any, ...]],
    maker: D,
    taker: D,
    queue: QueueModel,
) -> None:
    first = run(bids, asks, plan, maker, taker, queue, check=False)
    second = run(bids, asks, plan, maker, taker, queue, check=False)
    assert "\n".join(first).encode() == "\n".join(second).encode()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(prices, sizes), min_size=1, max_size=12), sizes)
def test_market_buy_pays_between_the_best_and_the_worst_level_it_reached(
    asks: list[tuple[D, D]], amount: D
) -> None:
    engine = Engine([MarketSpec(SYM, "BTC", "USD", D(0), D(0))], balances={"USD": "1000000"})
    engine.apply(BookSnapshot(SYM, [], asks, 0))
    book: dict[D, D] = {}
    for price, size in asks:
        book[price] = size  # a later level at the same price replaces the earlier one
    result = engine.apply(PlaceOrder(SYM, Side.BUY, OrderType.MARKET, amount, None, 1))
    # Walk the book here, independently: cheapest first.
    left, cost, worst = amount, D(0), None
    for price in sorted(book):
        if not left:
            break
        take = min(left, book[price])
        cost += take * price
        left -= take
        worst = price
    filled = amount - left
    if filled:
        (fill,) = result.fills
        assert (fill.amount, fill.cost) == (filled, cost)
        assert min(book) <= fill.price <= worst  # type: ignore[operator]
    else:
        assert result.fills == ()
