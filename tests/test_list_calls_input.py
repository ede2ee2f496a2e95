"""Issue 12 item 2 under issue 11's boundary rule: ``fetch_tickers`` and the list calls check
their arguments before anything is sent, live and paper alike, and the paper twin reads a
symbol in another case the way the live adapter does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from typing import Any

import pytest

from adapters import InvalidInput, OrderRequest, OrderType, Side, open_exchange
from adapters.exchange import Exchange
from adapters.paper.exchange import PaperExchange
from adapters.paper.session import DEMO_SESSION

from .conftest import TEST_CONFIG, replay

SYMBOL = {"bitstamp": "BTC/USD", "bitmart": "BTC/USDT"}


@pytest.mark.parametrize("exchange_id", ["bitstamp", "bitmart"])
async def test_fetch_tickers_of_no_symbols_is_empty_and_sends_nothing(
    make_exchange: Callable[..., Exchange], exchange_id: str
) -> None:
    # ccxt reads an empty list as "every market": Bitstamp answered all its tickers, BitMart
    # failed inside ccxt ('NoneType' object has no attribute 'endswith').
    ex = make_exchange(exchange_id)
    with replay(exchange_id, "fetch_tickers") as cassette:
        assert await ex.fetch_tickers([]) == {}
        assert cassette.play_count == 0


@pytest.mark.parametrize("exchange_id", ["bitstamp", "bitmart"])
@pytest.mark.parametrize("symbols", ["BTC/USD", "", b"BTC/USD", 5], ids=repr)
async def test_fetch_tickers_refuses_what_is_not_a_list_of_symbols(
    make_exchange: Callable[..., Exchange], exchange_id: str, symbols: Any
) -> None:
    # A lone string was read letter by letter ("bitstamp has no market 'B'"), an int raised
    # a raw TypeError.
    ex = make_exchange(exchange_id)
    with replay(exchange_id, "fetch_tickers") as cassette:
        with pytest.raises(InvalidInput, match=r"symbols must be a list"):
            await ex.fetch_tickers(symbols)
        assert cassette.play_count == 0


BAD_WINDOWS: list[tuple[Any, Any]] = [
    (-1, None),
    ("1700000000000", None),
    (1.5, None),
    (True, None),
    (None, 0),
    (None, -3),
    (None, "5"),
    (None, 2.5),
    (None, True),
    (10**30, None),  # was sent, or failed inside ccxt ("Integer exceeds 64-bit range")
    (None, 10**30),
]


@pytest.mark.parametrize(("since", "limit"), BAD_WINDOWS, ids=repr)
@pytest.mark.parametrize(
    ("exchange_id", "method", "cassette"),
    [
        ("bitstamp", "fetch_open_orders", "fetch_open_orders"),
        ("bitmart", "fetch_open_orders", "fetch_open_orders"),
        ("bitmart", "fetch_closed_orders", "fetch_closed_orders"),
        ("bitstamp", "fetch_my_trades", "fetch_my_trades"),
        ("bitstamp", "fetch_trades", "fetch_trades"),
        ("bitmart", "fetch_ohlcv", "fetch_ohlcv"),
    ],
)
async def test_list_calls_refuse_a_bad_since_or_limit_before_sending(
    make_exchange: Callable[..., Exchange],
    exchange_id: str,
    method: str,
    cassette: str,
    since: Any,
    limit: Any,
) -> None:
    # Before: limit=0, -3, True, 2.5 and since=-1, 1.5 were sent; "5" and "x" failed inside
    # ccxt after the answer came (an ExchangeError about '<' between int and str).
    ex = make_exchange(exchange_id)
    symbol = SYMBOL[exchange_id]
    call = getattr(ex, method)
    args = (symbol, "1h", since, limit) if method == "fetch_ohlcv" else (symbol, since, limit)
    with replay(exchange_id, cassette) as played:
        with pytest.raises(InvalidInput, match="since" if since is not None else "limit"):
            await call(*args)
        assert played.play_count == 0


# -- the paper twin ------------------------------------------------------------------------------


@pytest.fixture
async def paper() -> AsyncIterator[PaperExchange]:
    ex = open_exchange(
        "bitstamp_paper_trade", source=DEMO_SESSION, ledger=":memory:",
        initial_balances={"USD": "10000"}, config=TEST_CONFIG,
    )  # fmt: skip
    assert isinstance(ex, PaperExchange)
    try:
        yield ex
    finally:
        await ex.close()


async def test_paper_fetch_tickers_refuses_a_lone_string(paper: PaperExchange) -> None:
    with pytest.raises(InvalidInput, match="symbols must be a list"):
        await paper.fetch_tickers("ETH/USD")
    assert await paper.fetch_tickers([]) == {}


@pytest.mark.parametrize("method", ["fetch_open_orders", "fetch_my_trades"])
@pytest.mark.parametrize(("since", "limit"), BAD_WINDOWS, ids=repr)
async def test_paper_list_calls_refuse_a_bad_since_or_limit(
    paper: PaperExchange, method: str, since: Any, limit: Any
) -> None:
    # Before: limit=0 read as "no limit", "5" raised a raw TypeError, since=-1 passed.
    with pytest.raises(InvalidInput, match="since" if since is not None else "limit"):
        await getattr(paper, method)("ETH/USD", since, limit)


@pytest.mark.parametrize("stream", ["watch_orders", "watch_my_trades"])
async def test_paper_streams_of_a_symbol_in_another_case_see_its_events(
    paper: PaperExchange, stream: str
) -> None:
    # Before: "eth/usd" was compared with the order's "ETH/USD" and nothing ever came.
    events = getattr(paper, stream)("eth/usd")
    first = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0)
    # A market buy on the recorded ETH/USD book: placed and filled at once.
    await paper.create_order(
        OrderRequest(symbol="ETH/USD", side=Side.BUY, type=OrderType.MARKET, amount=D("0.5"))
    )
    event = await asyncio.wait_for(first, 5)
    assert event.symbol == "ETH/USD"
    await events.aclose()


BAD_ORDER_IDS: list[Any] = [None, "", 5, " 1453282316578816", "1453282316578816\n", "x" * 65]


@pytest.mark.parametrize("order_id", BAD_ORDER_IDS, ids=lambda v: repr(v)[:12])
@pytest.mark.parametrize("method", ["fetch_order", "cancel_order"])
@pytest.mark.parametrize("exchange_id", ["bitstamp", "bitmart"])
async def test_an_order_id_that_is_not_one_is_refused_before_sending(
    make_exchange: Callable[..., Exchange], exchange_id: str, method: str, order_id: Any
) -> None:
    # Before: each of these was sent (None and 5 too) and came back as the venue's error.
    ex = make_exchange(exchange_id)
    with replay(exchange_id, method) as cassette:
        with pytest.raises(InvalidInput, match="order_id"):
            await getattr(ex, method)(order_id, SYMBOL[exchange_id])
        assert cassette.play_count == 0


@pytest.mark.parametrize("order_id", BAD_ORDER_IDS, ids=lambda v: repr(v)[:12])
@pytest.mark.parametrize("method", ["fetch_order", "cancel_order"])
async def test_the_paper_twin_refuses_the_same_order_ids(
    paper: PaperExchange, method: str, order_id: Any
) -> None:
    # Before: OrderNotFound ("no paper order None"), as if the id could have existed.
    with pytest.raises(InvalidInput, match="order_id"):
        await getattr(paper, method)(order_id, "ETH/USD")
