"""Unit tests of the paper matching engine, one rule at a time.

Every book and trade is written out in the test, and every expected figure is worked out by
hand in the comment next to it; nothing is computed by the engine's own helpers.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.enums import OrderStatus, OrderType, Side
from adapters.errors import InsufficientFunds, InvalidOrderRequest, OrderNotFound, UnknownSymbol
from adapters.paper.engine import (
    BookDelta,
    BookSnapshot,
    CancelOrder,
    Engine,
    Liquidity,
    MarketSpec,
    PlaceOrder,
    PublicTrade,
    QueueModel,
)

SYM = "ETH/USD"
MAKER, TAKER = D("0.001"), D("0.002")
SPEC = MarketSpec(SYM, "ETH", "USD", MAKER, TAKER)

# The book most tests start from: bids 100 x 2, 99 x 3; asks 101 x 1, 102 x 2, 103 x 5.
BIDS = [("100", "2"), ("99", "3")]
ASKS = [("101", "1"), ("102", "2"), ("103", "5")]


def engine(
    queue: QueueModel = QueueModel.CONSERVATIVE, usd: str = "10000", eth: str = "10"
) -> Engine:
    e = Engine([SPEC], balances={"USD": usd, "ETH": eth}, queue=queue)
    e.apply(BookSnapshot(SYM, BIDS, ASKS, 1))
    return e


def order(
    side: Side, kind: OrderType, amount: str, price: str | None = None, ts: int = 2
) -> PlaceOrder:
    return PlaceOrder(SYM, side, kind, D(amount), None if price is None else D(price), ts)


def usd(e: Engine) -> tuple[D, D]:
    b = e.balance("USD")
    return b.total, b.locked


def eth(e: Engine) -> tuple[D, D]:
    b = e.balance("ETH")
    return b.total, b.locked


# -- MARKET ------------------------------------------------------------------------------------


def test_market_buy_walks_the_book_at_the_vwap_of_the_levels_taken() -> None:
    e = engine()
    r = e.apply(order(Side.BUY, OrderType.MARKET, "2.5"))
    # 1 @ 101 + 1.5 @ 102 = 101 + 153 = 254; VWAP 254 / 2.5 = 101.6; taker fee 0.508
    (fill,) = r.fills
    assert (fill.price, fill.amount, fill.cost) == (D("101.6"), D("2.5"), D("254"))
    assert fill.fee == D("0.508") and fill.fee_currency == "USD"
    assert fill.liquidity is Liquidity.TAKER
    (state,) = r.orders
    assert state.status is OrderStatus.FILLED and state.filled == D("2.5")
    assert usd(e) == (D("10000") - D("254") - D("0.508"), D(0))
    assert eth(e) == (D("12.5"), D(0))


def test_market_sell_walks_the_bids() -> None:
    e = engine()
    r = e.apply(order(Side.SELL, OrderType.MARKET, "3"))
    # 2 @ 100 + 1 @ 99 = 299; VWAP 99.666...; fee 0.598
    (fill,) = r.fills
    assert fill.cost == D("299") and fill.amount == D("3")
    assert D("99.66666") < fill.price < D("99.66667")
    assert usd(e) == (D("10000") + D("299") - D("0.598"), D(0))
    assert eth(e) == (D("7"), D(0))


def test_market_remainder_the_book_cannot_fill_is_canceled_not_invented() -> None:
    e = engine()
    r = e.apply(order(Side.BUY, OrderType.MARKET, "10"))
    # the asks hold 1 + 2 + 5 = 8: 101 + 204 + 515 = 820
    (fill,) = r.fills
    assert (fill.amount, fill.cost) == (D("8"), D("820"))
    (state,) = r.orders
    assert state.status is OrderStatus.CANCELED
    assert state.filled == D("8") and state.remaining == D("2")
    assert state.reason is not None and "remainder" in state.reason


def test_market_on_an_empty_side_is_canceled_unfilled_and_moves_no_money() -> None:
    e = Engine([SPEC], balances={"USD": "1000"})
    e.apply(BookSnapshot(SYM, BIDS, [], 1))
    r = e.apply(order(Side.BUY, OrderType.MARKET, "1"))
    assert r.fills == ()
    assert r.orders[0].status is OrderStatus.CANCELED and r.orders[0].filled == 0
    assert usd(e) == (D("1000"), D(0))


def test_liquidity_we_took_is_not_taken_twice() -> None:
    e = engine()
    first = e.apply(order(Side.BUY, OrderType.MARKET, "1")).fills[0]
    second = e.apply(order(Side.BUY, OrderType.MARKET, "1")).fills[0]
    # the first took the whole 101 level; the second must go to 102
    assert (first.price, second.price) == (D("101"), D("102"))


def test_taken_liquidity_is_forgotten_when_the_level_is_removed_and_capped_when_it_shrinks() -> (
    None
):
    e = engine()
    e.apply(order(Side.BUY, OrderType.MARKET, "1.5"))  # took 1 @ 101 and 0.5 @ 102
    # 102 shrinks from 2 to 1: we took 0.5 of it, so 0.5 is left for us
    e.apply(BookDelta(SYM, [], [("102", "1")], 3))
    r = e.apply(order(Side.BUY, OrderType.MARKET, "0.7"))
    # 0.5 @ 102 + 0.2 @ 103 = 51 + 20.6 = 71.6
    assert r.fills[0].cost == D("71.6")
    # the 101 level is removed and comes back with 3: all 3 are available again
    e.apply(BookDelta(SYM, [], [("101", "0")], 4))
    e.apply(BookDelta(SYM, [], [("101", "3")], 5))
    r = e.apply(order(Side.BUY, OrderType.MARKET, "3"))
    assert r.fills[0].cost == D("303")


# -- LIMIT -------------------------------------------------------------------------------------


def test_crossing_limit_takes_at_book_prices_up_to_its_limit_and_rests_the_rest() -> None:
    e = engine()
    r = e.apply(order(Side.BUY, OrderType.LIMIT, "4", "102"))
    # crosses 101 x 1 and 102 x 2 (taker, at those prices); 1 rests at 102 as maker
    assert [(f.price, f.amount, f.liquidity) for f in r.fills] == [
        (D("101"), D("1"), Liquidity.TAKER),
        (D("102"), D("2"), Liquidity.TAKER),
    ]
    state = r.orders[0]
    assert state.status is OrderStatus.PARTIALLY_FILLED and state.remaining == D("1")
    # spent 101 + 204 = 305 plus taker fees 0.61; the resting 1 locks 102 x 1.002 = 102.204
    assert usd(e) == (D("10000") - D("305") - D("0.610"), D("102.204"))
    assert state.locked == D("102.204")
    assert [o.id for o in e.orders(open_only=True)] == [state.id]


def test_limit_that_does_not_cross_rests_and_locks_quote_plus_fee_reserve() -> None:
    e = engine()
    r = e.apply(order(Side.BUY, OrderType.LIMIT, "2", "100"))
    assert r.fills == ()
    assert r.orders[0].status is OrderStatus.OPEN
    # 2 x 100 x (1 + max(0.001, 0.002)) = 200.4
    assert usd(e) == (D("10000"), D("200.4"))
    assert e.balance("USD").free == D("9799.6")


def test_sell_limit_locks_base_and_cancel_releases_it() -> None:
    e = engine()
    placed = e.apply(order(Side.SELL, OrderType.LIMIT, "4", "105")).orders[0]
    assert eth(e) == (D("10"), D("4"))
    r = e.apply(CancelOrder(placed.id, 3))
    assert r.orders[0].status is OrderStatus.CANCELED
    assert eth(e) == (D("10"), D("0"))
    assert usd(e) == (D("10000"), D("0"))


def test_cancel_releases_what_a_partly_filled_buy_still_locks() -> None:
    e = engine()
    placed = e.apply(order(Side.BUY, OrderType.LIMIT, "4", "102")).orders[0]
    e.apply(CancelOrder(placed.id, 3))
    assert usd(e) == (D("10000") - D("305") - D("0.610"), D("0"))
    assert eth(e) == (D("13"), D("0"))


# -- LIMIT_MAKER -------------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "price"), [(Side.BUY, "101"), (Side.SELL, "100")])
def test_limit_maker_that_would_cross_is_rejected_and_changes_no_balance(
    side: Side, price: str
) -> None:
    e = engine()
    r = e.apply(order(side, OrderType.LIMIT_MAKER, "1", price))
    (state,) = r.orders
    assert state.status is OrderStatus.REJECTED
    assert state.reason is not None and "LIMIT_MAKER" in state.reason
    assert r.fills == ()
    assert usd(e) == (D("10000"), D(0)) and eth(e) == (D("10"), D(0))
    assert e.orders(open_only=True) == []


def test_limit_maker_inside_the_spread_rests() -> None:
    e = engine()
    r = e.apply(order(Side.BUY, OrderType.LIMIT_MAKER, "1", "100.5"))
    assert r.orders[0].status is OrderStatus.OPEN
    assert r.orders[0].queue_ahead == 0  # a new level: nobody ahead


# -- resting orders: trades and queue ----------------------------------------------------------


def test_conservative_queue_waits_for_the_visible_size_ahead_to_trade() -> None:
    e = engine()
    # joins the 100 bid, where 2 are visible: 2 must trade at 100 before we fill
    bid = e.apply(order(Side.BUY, OrderType.LIMIT, "1", "100")).orders[0]
    assert bid.queue_ahead == D("2")
    r = e.apply(PublicTrade(SYM, "100", "1.5", Side.SELL, 3))
    assert r.fills == () and r.orders[0].queue_ahead == D("0.5")
    r = e.apply(PublicTrade(SYM, "100", "1", Side.SELL, 4))
    # 0.5 finishes the queue, 0.5 reaches us: maker fill at our price, maker fee 0.05
    (fill,) = r.fills
    assert (fill.price, fill.amount, fill.fee, fill.liquidity) == (
        D("100"),
        D("0.5"),
        D("0.0500"),
        Liquidity.MAKER,
    )
    assert r.orders[0].status is OrderStatus.PARTIALLY_FILLED
    r = e.apply(PublicTrade(SYM, "100", "2", Side.SELL, 5))
    assert r.fills[0].amount == D("0.5") and r.orders[0].status is OrderStatus.FILLED
    # bought 1 for 100 + maker fees 0.1; nothing left locked
    assert usd(e) == (D("10000") - D("100") - D("0.1"), D("0"))
    assert eth(e) == (D("11"), D("0"))


def test_optimistic_queue_fills_on_the_first_trade_at_the_price() -> None:
    e = engine(QueueModel.OPTIMISTIC)
    e.apply(order(Side.BUY, OrderType.LIMIT, "1", "100"))
    r = e.apply(PublicTrade(SYM, "100", "0.4", Side.SELL, 3))
    assert r.fills[0].amount == D("0.4")


def test_a_trade_through_the_price_fills_whatever_the_queue() -> None:
    e = engine()
    e.apply(order(Side.SELL, OrderType.LIMIT, "1", "102"))  # 2 visible ahead at 102
    r = e.apply(PublicTrade(SYM, "102.5", "0.3", Side.BUY, 3))
    # traded through 102: we fill 0.3 at our own price, as maker
    assert (r.fills[0].price, r.fills[0].amount) == (D("102"), D("0.3"))
    assert r.orders[0].queue_ahead == 0


def test_only_trades_whose_aggressor_is_on_the_other_side_fill_a_resting_order() -> None:
    e = engine(QueueModel.OPTIMISTIC)
    e.apply(order(Side.BUY, OrderType.LIMIT, "1", "100"))
    # a buyer lifting an ask at 100 is not a seller hitting our bid
    assert e.apply(PublicTrade(SYM, "100", "5", Side.BUY, 3)).fills == ()
    # a trade with no side given counts for both sides
    assert e.apply(PublicTrade(SYM, "100", "0.25", None, 4)).fills[0].amount == D("0.25")


def test_one_trade_is_shared_by_our_orders_in_price_time_priority() -> None:
    e = engine(QueueModel.OPTIMISTIC)
    a = e.apply(order(Side.BUY, OrderType.LIMIT, "0.5", "100.5")).orders[0]
    b = e.apply(order(Side.BUY, OrderType.LIMIT, "0.5", "100")).orders[0]
    c = e.apply(order(Side.BUY, OrderType.LIMIT, "0.5", "100")).orders[0]
    r = e.apply(PublicTrade(SYM, "100", "0.8", Side.SELL, 3))
    # 0.8 of volume: 0.5 to the better-priced a, then 0.3 to b (older than c), none to c
    assert [(f.order_id, f.price, f.amount) for f in r.fills] == [
        (a.id, D("100.5"), D("0.5")),
        (b.id, D("100"), D("0.3")),
    ]
    assert e.order(c.id).filled == 0


def test_a_trade_far_from_our_price_changes_nothing() -> None:
    e = engine()
    e.apply(order(Side.BUY, OrderType.LIMIT, "1", "99"))
    r = e.apply(PublicTrade(SYM, "100", "10", Side.SELL, 3))
    assert not r


# -- resting orders: the book crossing them ----------------------------------------------------


def test_resting_bid_fills_when_the_opposite_best_crosses_it() -> None:
    e = engine()
    bid = e.apply(order(Side.BUY, OrderType.LIMIT, "1", "100.5")).orders[0]
    r = e.apply(BookDelta(SYM, [], [("100.4", "0.4")], 3))
    # an ask at 100.4 <= our 100.5: we fill 0.4 at our price, as maker
    (fill,) = r.fills
    assert (fill.order_id, fill.price, fill.amount, fill.liquidity) == (
        bid.id,
        D("100.5"),
        D("0.4"),
        Liquidity.MAKER,
    )
    # an unrelated change does not fill against the same 0.4 again
    assert e.apply(BookDelta(SYM, [("99", "4")], [], 4)).fills == ()
    # the crossing level grows to 1: 0.6 more is there for us
    r = e.apply(BookDelta(SYM, [], [("100.4", "1")], 5))
    assert r.fills[0].amount == D("0.6") and r.orders[0].status is OrderStatus.FILLED


def test_snapshot_that_crosses_a_resting_ask_fills_it() -> None:
    e = engine()
    e.apply(order(Side.SELL, OrderType.LIMIT, "2", "101.5"))
    r = e.apply(BookSnapshot(SYM, [("101.7", "0.5"), ("101.6", "1"), ("100", "3")], ASKS, 3))
    # bids at 101.7 and 101.6 (1.5 in all) reach our 101.5 ask: 1.5 fills at 101.5
    assert [(f.price, f.amount) for f in r.fills] == [(D("101.5"), D("1.5"))]


# -- funding and errors ------------------------------------------------------------------------


def test_an_order_the_account_cannot_fund_raises_and_changes_nothing() -> None:
    e = engine(usd="100")
    before = (e.balances(), e.orders(), e.counters)
    with pytest.raises(InsufficientFunds, match=r"needs 100\.2 USD"):
        # 1 x 100 x 1.002 = 100.2 > 100 free
        e.apply(order(Side.BUY, OrderType.LIMIT, "1", "100"))
    with pytest.raises(InsufficientFunds):
        # 1 @ 101 costs 101 + 0.202 fee
        e.apply(order(Side.BUY, OrderType.MARKET, "1"))
    with pytest.raises(InsufficientFunds):
        e.apply(order(Side.SELL, OrderType.LIMIT, "11", "200"))
    assert (e.balances(), e.orders(), e.counters) == before


def test_locked_funds_are_not_spendable_twice() -> None:
    e = engine(usd="250")
    e.apply(order(Side.BUY, OrderType.LIMIT, "2", "100"))  # locks 200.4
    with pytest.raises(InsufficientFunds):
        e.apply(order(Side.BUY, OrderType.LIMIT, "0.5", "100"))  # needs 50.1, 49.6 free


def test_cancel_of_unknown_or_finished_orders_raises_order_not_found() -> None:
    e = engine()
    with pytest.raises(OrderNotFound):
        e.apply(CancelOrder("P999", 3))
    done = e.apply(order(Side.BUY, OrderType.MARKET, "1")).orders[0]
    with pytest.raises(OrderNotFound, match="already filled"):
        e.apply(CancelOrder(done.id, 3))


def test_unknown_symbol_and_bad_requests_are_refused() -> None:
    e = engine()
    with pytest.raises(UnknownSymbol):
        e.apply(PlaceOrder("BTC/USD", Side.BUY, OrderType.MARKET, D("1"), None, 2))
    with pytest.raises(InvalidOrderRequest):
        e.apply(order(Side.BUY, OrderType.LIMIT, "1"))
    with pytest.raises(InvalidOrderRequest):
        e.apply(order(Side.BUY, OrderType.MARKET, "1", "100"))


def test_order_ids_count_up_and_fill_ids_are_unique() -> None:
    e = engine()
    r1 = e.apply(order(Side.BUY, OrderType.LIMIT, "3", "102"))
    r2 = e.apply(order(Side.SELL, OrderType.MARKET, "1"))
    assert [r1.orders[0].id, r2.orders[0].id] == ["P1", "P2"]
    ids = [f.id for f in r1.fills + r2.fills]
    assert len(set(ids)) == len(ids) == 3
