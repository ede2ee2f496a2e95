"""The paper twin answers the ccxt-shaped calls and the optional methods as its venue does:
the same screening of params, the same UnsupportedFeature where the venue lacks a method."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest

from adapters import (
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    UnsupportedFeature,
    UnsupportedOrderType,
    open_exchange,
)
from adapters.paper.exchange import PaperExchange
from adapters.paper.session import DEMO_SESSION

FAST = {"enableRateLimit": False, "timeout_on_exit": 0}


@pytest.fixture
async def bitstamp() -> AsyncIterator[PaperExchange]:
    ex = open_exchange(
        "bitstamp_paper_trade", source=DEMO_SESSION, ledger=":memory:",
        initial_balances={"USD": "10000", "ETH": "2"}, config=FAST,
    )  # fmt: skip
    assert isinstance(ex, PaperExchange)
    try:
        yield ex
    finally:
        await ex.close()


@pytest.fixture
async def bitmart() -> AsyncIterator[PaperExchange]:
    ex = open_exchange(
        "bitmart_paper_trade", source="depth_increase100_derived", ledger=":memory:",
        initial_balances={"USDT": "1000"}, config=FAST,
    )  # fmt: skip
    assert isinstance(ex, PaperExchange)
    try:
        yield ex
    finally:
        await ex.close()


async def test_ccxt_shaped_orders_on_paper(bitstamp: PaperExchange) -> None:
    # Far below the recorded ETH/USD book, so both rest.
    plain = await bitstamp.create_order("ETH/USD", "limit", "buy", 0.1, 2000)
    maker = await bitstamp.create_order("ETH/USD", "limit", "buy", 0.1, 2001, {"postOnly": True})
    assert (plain.type, maker.type) == (OrderType.LIMIT, OrderType.LIMIT_MAKER)
    assert (plain.amount, plain.price, plain.side) == (D("0.1"), D("2000"), Side.BUY)
    with pytest.raises(UnsupportedOrderType, match="IOC"):
        await bitstamp.create_order("ETH/USD", "limit", "buy", 0.1, 2000, {"timeInForce": "IOC"})
    assert len(await bitstamp.fetch_open_orders("ETH/USD")) == 2


async def test_cancel_all_orders_on_paper(bitstamp: PaperExchange) -> None:
    placed = [await bitstamp.create_order("ETH/USD", "limit", "buy", 0.1, p) for p in (2000, 2001)]
    cancelled = await bitstamp.cancel_all_orders("ETH/USD")
    assert sorted(o.id for o in cancelled) == sorted(o.id for o in placed)
    assert {o.status for o in cancelled} == {OrderStatus.CANCELED}
    assert await bitstamp.fetch_open_orders("ETH/USD") == []
    assert (await bitstamp.fetch_balance())["USD"].used == 0
    assert await bitstamp.cancel_all_orders(None) == []


@pytest.mark.parametrize("method", ["fetch_closed_orders", "fetch_orders"])
async def test_paper_bitstamp_lacks_what_bitstamp_lacks(
    bitstamp: PaperExchange, method: str
) -> None:
    with pytest.raises(UnsupportedFeature, match=f"bitstamp_paper_trade does not offer {method}"):
        await getattr(bitstamp, method)("ETH/USD")


async def test_closed_orders_on_paper_bitmart(bitmart: PaperExchange) -> None:
    await bitmart.watch_market("ETH/USDT")
    bid, _ = bitmart.engine.book_top("ETH/USDT")
    assert bid is not None
    first = await bitmart.create_order("ETH/USDT", "limit", "buy", "0.01", str(bid - 1))
    second = await bitmart.create_order("ETH/USDT", "limit", "buy", "0.01", str(bid - 2))
    assert await bitmart.fetch_closed_orders("ETH/USDT") == []
    await bitmart.cancel_order(first.id, "ETH/USDT")
    closed = await bitmart.fetch_closed_orders("ETH/USDT")
    assert [(o.id, o.status) for o in closed] == [(first.id, OrderStatus.CANCELED)]
    await bitmart.cancel_all_orders("ETH/USDT")
    closed = await bitmart.fetch_closed_orders("ETH/USDT", limit=1)
    assert [o.id for o in closed] == [second.id]  # limit keeps the most recent
    with pytest.raises(UnsupportedFeature, match="fetch_orders"):
        await bitmart.fetch_orders("ETH/USDT")


async def test_params_on_reads_are_accepted_on_paper(bitstamp: PaperExchange) -> None:
    extra: dict[str, Any] = {"anything": 1}
    assert (await bitstamp.fetch_balance(extra))["ETH"].total == D("2")
    assert await bitstamp.fetch_open_orders("ETH/USD", None, None, extra) == []


async def test_tickers_on_a_recorded_session_are_its_market(bitstamp: PaperExchange) -> None:
    # The session serves its pair's ticker route, not the venue's all-tickers list.
    tickers = await bitstamp.fetch_tickers()
    one = await bitstamp.fetch_ticker("ETH/USD")
    assert list(tickers) == ["ETH/USD"]
    assert (tickers["ETH/USD"].bid, tickers["ETH/USD"].ask) == (one.bid, one.ask)
    assert list(await bitstamp.fetch_tickers(["ETH/USD"])) == ["ETH/USD"]


async def test_paper_with_a_client_order_id_prefix_tags_every_create() -> None:
    ex = open_exchange(
        "bitstamp_paper_trade", source=DEMO_SESSION, ledger=":memory:",
        initial_balances={"USD": "10000"}, config=FAST, client_order_id_prefix="bot3",
    )  # fmt: skip
    assert isinstance(ex, PaperExchange)
    try:
        ccxt_shaped = await ex.create_order("ETH/USD", "limit", "buy", 0.1, 2000)
        held = ex.new_client_order_id()
        typed = await ex.create_order(
            OrderRequest(symbol="ETH/USD", side="buy", type="limit", amount="0.1",
                         price="2000", client_order_id=held)
        )  # fmt: skip
    finally:
        await ex.close()
    assert ccxt_shaped.client_order_id is not None
    assert ccxt_shaped.client_order_id.startswith("bot3")
    assert held.startswith("bot3") and typed.client_order_id == held
