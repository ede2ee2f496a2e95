"""``PaperExchange`` through ``open_exchange``: the live interface, simulated orders.

Market data comes from the recorded Bitstamp session replayed on 127.0.0.1 through the real
ccxt.pro client; nothing reaches the internet (sockets are limited to 127.0.0.1).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from adapters import (
    InsufficientFunds,
    InvalidOrderRequest,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    UnknownSymbol,
    UnsupportedOrderType,
    open_exchange,
)
from adapters.errors import OrderNotFound
from adapters.paper.exchange import PaperExchange
from adapters.paper.session import DEMO_SESSION

SYM = "ETH/USD"
FAST = {"enableRateLimit": False, "timeout_on_exit": 0}


@pytest.fixture
async def paper() -> AsyncIterator[Callable[..., PaperExchange]]:
    opened: list[PaperExchange] = []

    def make(**kw: Any) -> PaperExchange:
        kw.setdefault("source", DEMO_SESSION)
        kw.setdefault("ledger", ":memory:")
        kw.setdefault("initial_balances", {"USD": "10000", "ETH": "2"})
        kw.setdefault("config", FAST)
        ex = open_exchange("bitstamp", paper=True, **kw)
        assert isinstance(ex, PaperExchange)
        opened.append(ex)
        return ex

    yield make
    for ex in opened:
        await ex.close()


def req(side: str, kind: str, amount: str, price: str | None = None) -> OrderRequest:
    return OrderRequest(symbol=SYM, side=side, type=kind, amount=amount, price=price)


async def test_open_exchange_gives_a_paper_exchange_for_both_spellings(tmp_path: Path) -> None:
    a = open_exchange("bitstamp", paper=True, ledger=":memory:")
    b = open_exchange("bitmart_paper_trade", ledger=tmp_path / "l.sqlite3")
    try:
        assert isinstance(a, PaperExchange) and a.id == "bitstamp_paper_trade"
        assert isinstance(b, PaperExchange) and b.id == "bitmart_paper_trade"
        assert a.capabilities().paper and a.capabilities().exchange_id == "bitstamp"
    finally:
        await a.close()
        await b.close()
    with pytest.raises(TypeError, match="source"):
        open_exchange("bitstamp", source=DEMO_SESSION)


async def test_no_keys_are_loaded_even_when_the_environment_has_some(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BITSTAMP_API_KEY", "real-looking-key")
    monkeypatch.setenv("BITSTAMP_API_SECRET", "real-looking-secret")
    ex = open_exchange("bitstamp", paper=True, ledger=":memory:")
    try:
        assert not ex.client.apiKey and not ex.client.secret
    finally:
        await ex.close()


async def test_market_on_bitmart_paper_is_refused_before_anything_is_sent() -> None:
    # No session and no network: the capability check comes first, exactly as live.
    ex = open_exchange("bitmart_paper_trade", ledger=":memory:", config=FAST)
    try:
        with pytest.raises(UnsupportedOrderType, match="bitmart_paper_trade"):
            await ex.create_order(
                OrderRequest(symbol="BTC/USDT", side="buy", type="MARKET", amount="1")
            )
    finally:
        await ex.close()


async def test_the_live_validation_pipeline_runs(paper: Callable[..., PaperExchange]) -> None:
    ex = paper()
    with pytest.raises(UnknownSymbol, match="ETH/UDS"):
        await ex.create_order(
            OrderRequest(symbol="ETH/UDS", side="buy", type="LIMIT", amount="1", price="100")
        )
    with pytest.raises(InvalidOrderRequest, match="price increment"):
        await ex.create_order(req("buy", "LIMIT", "0.1", "2000.001"))
    with pytest.raises(InvalidOrderRequest, match="minimum cost"):
        await ex.create_order(req("buy", "LIMIT", "0.001", "2000"))  # 2 USD < 10 USD
    assert await ex.fetch_open_orders() == []


async def test_market_buy_fills_and_moves_the_balances(
    paper: Callable[..., PaperExchange],
) -> None:
    ex = paper()
    await ex.watch_market(SYM)
    order = await ex.create_order(req("buy", "MARKET", "0.5"))
    assert order.status is OrderStatus.FILLED and order.filled == D("0.5")
    (fill,) = await ex.fetch_my_trades(SYM)
    assert fill.order_id == order.id and fill.taker_or_maker == "taker"
    assert fill.cost is not None
    assert fill.fee == fill.cost * D("0.004")  # the market's taker fee (ccxt's Bitstamp table)
    balances = await ex.fetch_balance()
    assert balances["ETH"].total == D("2.5")
    assert balances["USD"].total == D("10000") - fill.cost - fill.fee
    assert (await ex.fetch_order(order.id, SYM)).status is OrderStatus.FILLED


async def test_limit_maker_that_would_cross_raises_order_rejected_and_is_kept(
    paper: Callable[..., PaperExchange],
) -> None:
    ex = paper()
    await ex.watch_market(SYM)
    _, best_ask = ex.engine.book_top(SYM)
    assert best_ask is not None
    before = await ex.fetch_balance()
    with pytest.raises(OrderRejected, match="LIMIT_MAKER would take liquidity"):
        await ex.create_order(req("buy", "LIMIT_MAKER", "0.1", str(best_ask)))
    (rejected,) = ex.ledger.orders()
    assert rejected.status is OrderStatus.REJECTED
    assert (await ex.fetch_balance()).assets == before.assets


async def test_unfundable_order_raises_and_changes_nothing(
    paper: Callable[..., PaperExchange],
) -> None:
    ex = paper(initial_balances={"USD": "50"})
    await ex.watch_market(SYM)
    with pytest.raises(InsufficientFunds, match="needs"):
        await ex.create_order(req("buy", "LIMIT", "0.1", "2000"))  # 200.8 USD needed
    assert ex.ledger.orders() == []
    assert (await ex.fetch_balance())["USD"].total == D("50")


async def test_resting_order_locks_cancel_releases_and_streams_report_it(
    paper: Callable[..., PaperExchange],
) -> None:
    ex = paper()
    updates: list[Any] = []

    async def collect() -> None:
        async for order in ex.watch_orders(SYM):
            updates.append(order)

    task = asyncio.get_running_loop().create_task(collect())
    await asyncio.sleep(0)
    order = await ex.create_order(req("buy", "LIMIT", "0.1", "2000"))  # far below the book
    # 0.1 x 2000 x (1 + 0.004) = 200.8 locked
    assert (await ex.fetch_balance())["USD"].used == D("200.8")
    assert [o.id for o in await ex.fetch_open_orders(SYM)] == [order.id]
    canceled = await ex.cancel_order(order.id, SYM)
    assert canceled.status is OrderStatus.CANCELED
    assert (await ex.fetch_balance())["USD"].used == 0
    # cancelling again answers with the final state, like the live adapter
    assert (await ex.cancel_order(order.id, SYM)).status is OrderStatus.CANCELED
    with pytest.raises(OrderNotFound):
        await ex.cancel_order("P999", SYM)
    await asyncio.sleep(0)
    task.cancel()
    assert [(u.id, u.status) for u in updates] == [
        (order.id, OrderStatus.OPEN),
        (order.id, OrderStatus.CANCELED),
    ]


async def test_restart_restores_open_orders_and_balances(
    paper: Callable[..., PaperExchange], tmp_path: Path
) -> None:
    path = tmp_path / "account.sqlite3"
    first = paper(ledger=path)
    order = await first.create_order(req("sell", "LIMIT", "0.5", "2500"))
    balances = (await first.fetch_balance()).assets
    await first.close()
    second = paper(ledger=path, initial_balances={"USD": "1"})  # ignored: not a new account
    assert [o.id for o in await second.fetch_open_orders(SYM)] == [order.id]
    assert (await second.fetch_balance()).assets == balances
    assert balances["ETH"].used == D("0.5")
    again = await second.create_order(req("buy", "LIMIT", "0.1", "2000"))
    assert again.id != order.id


async def test_market_data_comes_from_the_recorded_session(
    paper: Callable[..., PaperExchange],
) -> None:
    ex = paper()
    await ex.watch_market(SYM)
    book = await ex.fetch_order_book(SYM, 5)
    bid, ask = ex.engine.book_top(SYM)
    assert book.best_bid is not None and book.best_ask is not None
    assert book.best_bid < book.best_ask
    assert bid is not None and ask is not None and bid < ask
    ticker = await ex.fetch_ticker(SYM)
    assert ticker.bid is not None and ticker.ask is not None
    assert ticker.symbol == SYM
    fee = await ex.fetch_trading_fee(SYM)
    assert (fee.maker, fee.taker) == (D("0.004"), D("0.004"))


async def test_fee_overrides_and_optimistic_queue_are_used(
    paper: Callable[..., PaperExchange],
) -> None:
    ex = paper(maker_fee="0.001", taker_fee="0.002", queue="optimistic")
    fee = await ex.fetch_trading_fee(SYM)
    assert (fee.maker, fee.taker) == (D("0.001"), D("0.002"))
    assert ex.engine.queue.value == "optimistic"
    await ex.watch_market(SYM)
    order = await ex.create_order(req("buy", "MARKET", "0.1"))
    (fill,) = await ex.fetch_my_trades(SYM)
    assert fill.order_id == order.id and fill.fee == fill.cost * D("0.002")  # type: ignore[operator]


async def test_fund_and_reset(paper: Callable[..., PaperExchange]) -> None:
    ex = paper()
    await ex.fund("USD", "123.45")
    assert (await ex.fetch_balance())["USD"].total == D("123.45")
    await ex.create_order(req("buy", "LIMIT", "0.01", "2000"))
    await ex.reset()
    assert (await ex.fetch_balance()).assets == {}
    assert await ex.fetch_open_orders() == []


async def test_streams_book_fills_and_balances(paper: Callable[..., PaperExchange]) -> None:
    ex = paper(replay_pace=200.0)  # paced, so the book still changes once the stream is up
    books = ex.watch_order_book(SYM, depth=3)
    book = await asyncio.wait_for(books.__anext__(), 10)
    # the book stream also started the engine's feed of this market
    assert ex.engine.has_book(SYM) and len(book.bids) <= 3 and book.best_bid is not None
    await books.aclose()  # type: ignore[attr-defined]
    fills: list[Any] = []
    balances: list[Any] = []

    async def collect_fills() -> None:
        async for fill in ex.watch_my_trades(SYM):
            fills.append(fill)

    async def collect_balances() -> None:
        async for snapshot in ex.watch_balance():
            balances.append(snapshot)

    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(collect_fills()), loop.create_task(collect_balances())]
    await asyncio.sleep(0)
    order = await ex.create_order(req("sell", "MARKET", "0.2"))
    await asyncio.sleep(0)
    for task in tasks:
        task.cancel()
    assert [f.order_id for f in fills] == [order.id]
    assert balances and balances[-1]["ETH"].total == D("1.8")


async def test_bitmart_paper_on_its_recorded_book() -> None:
    ex = open_exchange(
        "bitmart_paper_trade",
        source="depth_increase100_derived",
        ledger=":memory:",
        initial_balances={"USDT": "1000"},
        config=FAST,
    )
    assert isinstance(ex, PaperExchange)
    try:
        await ex.watch_market("ETH/USDT")
        bid, _ = ex.engine.book_top("ETH/USDT")
        assert bid is not None
        order = await ex.create_order(
            OrderRequest(
                symbol="ETH/USDT", side="buy", type="LIMIT_MAKER", amount="0.01", price=str(bid)
            )
        )
        assert order.status is OrderStatus.OPEN
        # the market lists no fees: ccxt's BitMart defaults apply (maker 0.35%, taker 0.4%),
        # so the buy locks 0.01 x bid x 1.004
        fee = await ex.fetch_trading_fee("ETH/USDT")
        assert (fee.maker, fee.taker) == (D("0.0035"), D("0.004"))
        assert (await ex.fetch_balance())["USDT"].used == D("0.01") * bid * D("1.004")
        with pytest.raises(UnsupportedOrderType):
            await ex.create_order(
                OrderRequest(symbol="ETH/USDT", side="buy", type="MARKET", amount="0.01")
            )
    finally:
        await ex.close()
