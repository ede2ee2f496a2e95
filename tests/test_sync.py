"""The synchronous facade (``adapters.sync``): the async adapter's methods without ``await``,
replayed from the REST cassettes and the recorded BitMart book session."""

from __future__ import annotations

import gc
import inspect
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D
from typing import Any

import pytest

from adapters import (
    InvalidOrderRequest,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    UnknownSymbol,
    UnsupportedOrderType,
)
from adapters.paper.exchange import PaperExchange
from adapters.paper.session import DEMO_SESSION
from adapters.protocol import ExchangeAPI
from adapters.replay import Recording, ReplayServer
from adapters.sync import SyncExchange, SyncPaperExchange, SyncStream, open_exchange

from .conftest import DUMMY, TEST_CONFIG, replay, requests_to
from .streams_support import FAST, SHIPPED

#: The options every facade here is opened with: dummy keys, no rate-limit sleeps.
OPTS: dict[str, Any] = {"credentials": DUMMY, "config": TEST_CONFIG}


def _loop_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("adapters-sync-")}


@pytest.fixture
def bitstamp() -> Iterator[SyncExchange]:
    with open_exchange("bitstamp", **OPTS) as ex:
        yield ex


def test_fetch_ticker_without_await(bitstamp: SyncExchange) -> None:
    # bitstamp/rest/ticker.json: last "73285", bid "73353", ask "73367", timestamp "1710328241"
    with replay("bitstamp", "fetch_ticker"):
        t = bitstamp.fetch_ticker("BTC/USDT")
    assert (t.last, t.bid, t.ask, t.timestamp) == (
        D("73285"),
        D("73353"),
        D("73367"),
        1710328241000,
    )


def test_the_async_errors_come_through_unchanged(bitstamp: SyncExchange) -> None:
    with replay("bitstamp", "load_markets"), pytest.raises(UnknownSymbol) as info:
        bitstamp.market("BTCUSD")
    assert "BTC/USD" in info.value.suggestions


def test_an_order_the_table_refuses_sends_nothing() -> None:
    with open_exchange("bitmart", **OPTS) as ex, replay("bitmart", "load_markets") as cas:
        market = OrderRequest(
            symbol="BTC/USDT", side=Side.BUY, type=OrderType.MARKET, amount=D("1")
        )
        with pytest.raises(UnsupportedOrderType):
            ex.create_order(market)
        assert requests_to(cas, "submit_order") == 0
        assert cas.play_count == 0  # refused by the capability table before markets even load


def test_close_ends_the_loop_thread_and_later_calls_fail() -> None:
    before = _loop_threads()
    ex = open_exchange("bitstamp", **OPTS)
    assert len(_loop_threads() - before) == 1
    with replay("bitstamp", "fetch_order_book"):
        book = ex.fetch_order_book("BTC/USD")
    assert book.best_bid is not None
    ex.close()
    ex.close()  # idempotent
    assert ex.closed and _loop_threads() == before
    with pytest.raises(RuntimeError, match="closed"):
        ex.fetch_order_book("BTC/USD")


def test_a_facade_never_closed_is_closed_when_collected() -> None:
    before = _loop_threads()
    ex = open_exchange("bitmart", **OPTS)
    assert len(_loop_threads() - before) == 1
    del ex
    gc.collect()
    assert _loop_threads() == before


def test_a_bad_exchange_id_leaves_no_thread_behind() -> None:
    before = _loop_threads()
    with pytest.raises(Exception, match="kraken"):
        open_exchange("kraken")
    assert _loop_threads() == before


def test_paper_ids_get_the_paper_facade() -> None:
    with open_exchange("bitstamp_paper_trade") as ex:
        assert isinstance(ex, SyncPaperExchange) and isinstance(ex.exchange, PaperExchange)


# -- every async method has its sync twin, with the same parameters ---------------------------

_STREAM_BOUNDS = {"max_items", "timeout"}


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name != "close"
    }


@pytest.mark.parametrize(
    ("async_cls", "sync_cls", "base"),
    [(ExchangeAPI, SyncExchange, None), (PaperExchange, SyncPaperExchange, ExchangeAPI)],
)
def test_every_async_method_has_a_sync_twin(
    async_cls: type, sync_cls: type, base: type | None
) -> None:
    """The facade offers what the exchange protocol offers (and the paper twin's extras),
    with the same parameters."""
    wanted = _public_methods(async_cls)
    if base is not None:  # the paper class: only what it adds
        wanted = {k: v for k, v in wanted.items() if k not in _public_methods(base)}
    wanted.pop("watch_market", None)  # the paper feed's internal subscription, not an API
    own = _public_methods(sync_cls)
    assert sorted(set(wanted) - set(own)) == []
    for name, signature in wanted.items():
        theirs = [(p.name, p.default) for p in signature.parameters.values()]
        mine = [
            (p.name, p.default)
            for p in own[name].parameters.values()
            if p.name not in _STREAM_BOUNDS
        ]
        assert mine == theirs, name


# -- streams as plain iterators ----------------------------------------------------------------


@contextmanager
def _book_venue(pace: float = 500) -> Iterator[SyncExchange]:
    """A facade pointed at the recorded BitMart depth session (snapshot + 299 updates)."""
    server = ReplayServer(_SESSION, compress=True, pace=pace)
    with open_exchange("bitmart", streams=FAST, **OPTS) as ex:
        ex.run(server.start())
        try:
            ex.exchange.venue.point_at(ex.exchange.client, server.http_url, server.ws_url)
            markets = json.loads((SHIPPED / "bitmart" / "markets.spot.json").read_text())
            ex.exchange.client.set_markets(list(markets.values()))
            yield ex
        finally:
            ex.run(server.close())


_SESSION = Recording.load(SHIPPED / "bitmart" / "depth_increase100_derived.jsonl")


def test_a_stream_is_an_iterator_bounded_by_max_items() -> None:
    snapshot = next(f.json() for f in _SESSION.data_frames())["data"][0]
    with _book_venue() as ex:
        stream = ex.watch_order_book("ETH/USDT", 5, max_items=3, timeout=5)
        assert isinstance(stream, SyncStream)
        books = list(stream)
    assert len(books) == 3 and stream.closed and stream.count == 3
    # The first book is the recorded snapshot's top of book.
    assert books[0].best_bid == D(snapshot["bids"][0][0])
    assert books[0].best_ask == D(snapshot["asks"][0][0])


def test_a_stream_closes_on_close_and_with_its_facade() -> None:
    with _book_venue() as ex:
        with ex.watch_order_book("ETH/USDT", 5, timeout=5) as stream:
            next(stream)
        assert stream.closed
        assert list(stream) == []
        other = ex.watch_order_book("ETH/USDT", 5, timeout=5)
        next(other)
    assert other.closed


def test_a_stream_that_waits_too_long_raises_and_closes() -> None:
    with _book_venue(pace=0.2) as ex:  # one recorded frame every five seconds
        slow = ex.watch_order_book("ETH/USDT", 5, timeout=0.2)
        with pytest.raises(TimeoutError, match=r"0\.2 s"):
            next(slow)
        assert slow.closed


def test_bad_bounds_are_refused(bitstamp: SyncExchange) -> None:
    with pytest.raises(ValueError, match="max_items"):
        bitstamp.watch_trades("BTC/USD", max_items=-1)
    with pytest.raises(ValueError, match="timeout"):
        bitstamp.watch_trades("BTC/USD", timeout=0)


def test_the_pipeline_checks_run_before_a_stream_is_made(bitstamp: SyncExchange) -> None:
    with pytest.raises(InvalidOrderRequest, match="depth"):
        bitstamp.watch_order_book("BTC/USD", 0)


def test_the_paper_account_through_the_facade(tmp_path: Any) -> None:
    """Paper-only methods run on the facade's loop thread, where the ledger lives."""
    with open_exchange("bitstamp_paper_trade", source=DEMO_SESSION) as ex:
        assert isinstance(ex, SyncPaperExchange)
        ex.fund("USD", "1000")
        ex.deposit("USD", "250.5")
        assert ex.fetch_balance()["USD"].total == D("1250.5")
        assert ex.export_fills_csv(tmp_path / "fills.csv") == 0
        assert (tmp_path / "fills.csv").read_text().startswith("seq,id,order_id,")
        # A resting bid far below the recorded ETH/USD market: placed, then cancelled.
        bid = OrderRequest(
            symbol="ETH/USD", side=Side.BUY, type=OrderType.LIMIT, amount=D("20"), price=D("1")
        )
        order = ex.create_order(bid)
        assert order.status is OrderStatus.OPEN
        assert ex.fetch_balance()["USD"].used >= D("20")  # the cost, and room for a fee
        assert ex.cancel_order(order.id, "ETH/USD").status is OrderStatus.CANCELED
        usd = ex.fetch_balance()["USD"]
        assert (usd.used, usd.total) == (0, D("1250.5"))


def test_the_facade_takes_exactly_the_options_of_open_exchange() -> None:
    from adapters.factory import open_exchange as open_async
    from adapters.sync import LiveOptions, PaperOptions

    params = set(inspect.signature(open_async).parameters) - {"exchange_id", "paper"}
    assert set(PaperOptions.__annotations__) | set(LiveOptions.__annotations__) == params
    assert set(LiveOptions.__annotations__) == params - {
        "source", "replay_pace", "ledger", "account", "initial_balances", "maker_fee",
        "taker_fee", "queue",
    }  # fmt: skip
