"""The synchronous facade (``adapters.sync``): the async adapter's methods without ``await``,
replayed from the REST cassettes and the recorded BitMart book session."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import inspect
import json
import re
import threading
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D
from typing import Any

import pytest

from adapters import (
    InvalidInput,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    UnknownSymbol,
    UnsupportedOrderType,
)
from adapters.exchange import Exchange
from adapters.paper.exchange import PaperExchange
from adapters.paper.session import DEMO_SESSION
from adapters.protocol import ExchangeAPI
from adapters.replay import Recording, ReplayServer
from adapters.sync import SyncExchange, SyncPaperExchange, SyncStream, _LoopThread, open_exchange

from .conftest import DUMMY, ROOT, TEST_CONFIG, replay, requests_to
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


def _public_methods(cls: type) -> set[str]:
    return {
        name
        for name, _ in inspect.getmembers(cls, inspect.isfunction)
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
        wanted -= _public_methods(base)
    wanted.discard("watch_market")  # the paper feed's internal subscription, not an API
    own = _public_methods(sync_cls)
    assert sorted(set(wanted) - set(own)) == []
    for name in wanted:
        # An overloaded method (create_order) is compared overload by overload.
        theirs = _shapes(async_cls, name)
        mine = [
            [p for p in shape if p[0] not in _STREAM_BOUNDS] for shape in _shapes(sync_cls, name)
        ]
        assert mine == theirs, name


#: Public methods of the concrete classes that the facade leaves out, and why.
_NOT_ON_THE_FACADE = {
    "require_credentials",  # a check the private calls make themselves, before sending
    "watch_market",  # the paper feed's internal subscription
}


@pytest.mark.parametrize(
    ("cls", "sync_cls"), [(Exchange, SyncExchange), (PaperExchange, SyncPaperExchange)]
)
def test_the_concrete_classes_have_no_method_the_facade_forgot(cls: type, sync_cls: type) -> None:
    """Beyond the protocol: a method added to ``Exchange`` or ``PaperExchange`` alone is not
    forgotten either (``new_client_order_id`` was)."""
    missing = _public_methods(cls) - _public_methods(sync_cls) - _NOT_ON_THE_FACADE
    assert sorted(missing) == []


def _shapes(cls: type, name: str) -> list[list[tuple[str, Any]]]:
    function = getattr(cls, name)
    # A protocol's overloads have no implementation to find them by: take the live class's.
    owner = Exchange if cls is ExchangeAPI else cls
    variants = typing.get_overloads(getattr(owner, name)) or [function]
    return [
        [(p.name, p.default) for p in inspect.signature(v).parameters.values()] for v in variants
    ]


# -- streams as plain iterators ----------------------------------------------------------------


@contextmanager
def _book_venue(pace: float = 500) -> Iterator[tuple[SyncExchange, ReplayServer]]:
    """A facade pointed at the recorded BitMart depth session (snapshot + 299 updates)."""
    server = ReplayServer(_SESSION, compress=True, pace=pace)
    with open_exchange("bitmart", streams=FAST, **OPTS) as ex:
        ex.run(server.start())
        try:
            ex.exchange.venue.point_at(ex.exchange.client, server.http_url, server.ws_url)
            markets = json.loads((SHIPPED / "bitmart" / "markets.spot.json").read_text())
            ex.exchange.client.set_markets(list(markets.values()))
            yield ex, server
        finally:
            ex.run(server.close())


_SESSION = Recording.load(SHIPPED / "bitmart" / "depth_increase100_derived.jsonl")


def test_a_stream_is_an_iterator_bounded_by_max_items() -> None:
    snapshot = next(f.json() for f in _SESSION.data_frames())["data"][0]
    with _book_venue() as (ex, _):
        stream = ex.watch_order_book("ETH/USDT", 5, max_items=3, timeout=5)
        assert isinstance(stream, SyncStream)
        books = list(stream)
    assert len(books) == 3 and stream.closed and stream.count == 3
    # The first book is the recorded snapshot's top of book.
    assert books[0].best_bid == D(snapshot["bids"][0][0])
    assert books[0].best_ask == D(snapshot["asks"][0][0])


def test_a_stream_closes_with_its_with_block() -> None:
    with _book_venue() as (ex, _):
        with ex.watch_order_book("ETH/USDT", 5, timeout=5) as stream:
            next(stream)
        assert stream.closed
        assert list(stream) == []


def test_a_stream_closes_with_its_facade() -> None:
    # A fresh venue: the session replays from its start for this stream alone.
    with _book_venue() as (ex, _):
        stream = ex.watch_order_book("ETH/USDT", 5, timeout=5)
        next(stream)
        assert not stream.closed
    assert stream.closed


def _connections_drop_to(server: ReplayServer, ex: SyncExchange, count: int) -> bool:
    for _ in range(200):  # bounded: two seconds
        if server.active_connections == count:
            return True
        ex.run(asyncio.sleep(0.01))
    return False


def test_a_stream_dropped_after_a_break_is_closed_when_collected() -> None:
    with _book_venue() as (ex, server):
        # Held by a name while the connection is checked: CPython would otherwise release
        # the iterator at the break itself, and the close could race the check.
        stream = ex.watch_order_book("ETH/USDT", 5, timeout=5)
        for _book in stream:
            break
        assert server.active_connections == 1
        del stream
        gc.collect()
        # The last subscription on the connection ended: the adapter closes the connection.
        assert _connections_drop_to(server, ex, 0)


def test_a_stream_that_waits_too_long_raises_and_closes() -> None:
    with _book_venue(pace=0.2) as (ex, _):  # one recorded frame every five seconds
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
    with pytest.raises(InvalidInput, match="depth"):
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
        "source", "replay_pace", "speed", "ledger", "account", "initial_balances",
        "maker_fee", "taker_fee", "queue",
    }  # fmt: skip


def test_the_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick scripts: the synchronous facade", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "no python block in the sync facade section"
    before = _loop_threads()
    exec(compile(match.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert _loop_threads() == before  # the with block closed the loop
    assert len(out) == 7 and all(line.startswith("bid ") for line in out[:3])
    placed = re.fullmatch(r"LIMIT_MAKER buy 0\.05 @ (\S+): open", out[3])
    assert placed is not None, out[3]
    order_id = re.fullmatch(r"open: \['(\S+)'\]", out[4])
    assert order_id is not None, out[4]
    assert out[5] == f"cancelled: ['{order_id[1]}']"
    assert out[6] == "USD free 1000"


def test_an_interrupted_call_unwinds_on_the_loop_before_run_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C while a call waits: the call is cancelled on the loop, and run() re-raises only
    once it has unwound there."""
    runner = _LoopThread("adapters-sync-test")
    running, unwound = threading.Event(), threading.Event()

    async def slow() -> None:
        running.set()
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.05)  # some clean-up that takes a while
            unwound.set()

    real_result = concurrent.futures.Future.result
    calls = 0

    def interrupted(self: concurrent.futures.Future[Any], timeout: float | None = None) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert running.wait(5)
            raise KeyboardInterrupt
        return real_result(self, timeout)

    monkeypatch.setattr(concurrent.futures.Future, "result", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run(slow())
        assert unwound.is_set()
    finally:
        monkeypatch.undo()
        runner.stop()
    assert not runner.alive


# -- streams and threads, bounds, a closed facade --------------------------------------------


@pytest.mark.parametrize(
    "bounds",
    [
        {"max_items": True},
        {"max_items": 1.5},
        {"max_items": "3"},
        {"timeout": float("nan")},
        {"timeout": float("inf")},
        {"timeout": "5"},
        {"timeout": True},
    ],
    ids=repr,
)
def test_stream_bounds_that_are_not_numbers_are_refused(
    bitstamp: SyncExchange, bounds: dict[str, Any]
) -> None:
    # Before: True, 1.5, NaN and infinity were taken; "3" and "5" raised a raw TypeError.
    with pytest.raises(InvalidInput, match=next(iter(bounds))):
        bitstamp.watch_trades("BTC/USD", **bounds)


def test_a_stream_of_a_closed_facade_is_refused() -> None:
    ex = open_exchange("bitstamp", **OPTS)
    ex.close()
    # Before: a stream object came back, and failed only at its first item.
    with pytest.raises(RuntimeError, match="closed"):
        ex.watch_trades("BTC/USD")


def _in_thread(work: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = work()
        except BaseException as exc:  # reported to the test thread
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_two_threads_share_a_stream_each_item_once() -> None:
    with _book_venue() as (ex, _):
        stream = ex.watch_order_book("ETH/USDT", 5, timeout=5)
        workers = [_in_thread(lambda: [next(stream) for _ in range(3)]) for _ in range(2)]
        for thread, _ in workers:
            thread.join(10)
        # Before: one thread got "anext(): asynchronous generator is already running" and
        # the stream was closed under the other.
        assert [out.get("error") for _, out in workers] == [None, None]
        assert sum(len(out["result"]) for _, out in workers) == 6 == stream.count


@pytest.mark.parametrize("closing", ["the stream", "the facade"])
def test_closing_from_another_thread_ends_a_waiting_iteration(closing: str) -> None:
    ex = open_exchange("bitstamp_paper_trade", source=DEMO_SESSION, ledger=":memory:", **OPTS)
    try:
        stream = ex.watch_orders("ETH/USD", timeout=30)  # no order is ever placed
        thread, out = _in_thread(lambda: list(stream))
        for _ in range(200):  # bounded: two seconds for the thread to start waiting
            if stream._waiting is not None:
                break
            ex.run(asyncio.sleep(0.01))
        (stream.close if closing == "the stream" else ex.close)()
        thread.join(5)
        # Before: close() raised "aclose(): asynchronous generator is already running" and
        # the waiting thread hung (the stream), or got a raw CancelledError (the facade).
        assert not thread.is_alive() and out == {"result": []}
        assert stream.closed
    finally:
        ex.close()


def test_prefixed_client_order_ids_come_from_the_facade_and_the_paper_twin() -> None:
    """The refusal of an unprefixed id says to use ``ex.new_client_order_id()``: the facade
    and the paper twin have it too (before: AttributeError on both)."""
    with open_exchange("bitstamp", client_order_id_prefix="bot", **OPTS) as live:
        assert live.new_client_order_id().startswith("bot")
    with open_exchange(
        "bitstamp_paper_trade", source=DEMO_SESSION, ledger=":memory:",
        client_order_id_prefix="bot", initial_balances={"USD": "1000"}, **OPTS,
    ) as paper:  # fmt: skip
        fields: dict[str, Any] = {"symbol": "ETH/USD", "side": "buy", "type": "limit",
                                  "amount": "0.01", "price": "1000"}  # fmt: skip
        with pytest.raises(InvalidInput, match=r"new_client_order_id\(\)"):
            paper.create_order(OrderRequest(**fields, client_order_id="other1"))
        order = paper.create_order(
            OrderRequest(**fields, client_order_id=paper.new_client_order_id())
        )
        assert order.client_order_id is not None and order.client_order_id.startswith("bot")


def test_closing_a_stream_on_its_own_loop_is_refused_not_a_deadlock() -> None:
    ex = open_exchange("bitstamp_paper_trade", source=DEMO_SESSION, ledger=":memory:", **OPTS)
    stream = ex.watch_orders("ETH/USD", timeout=30)
    waiter, _ = _in_thread(lambda: list(stream))
    for _ in range(200):  # bounded: two seconds for the thread to start waiting
        if stream._waiting is not None:
            break
        ex.run(asyncio.sleep(0.01))

    async def close_on_the_loop() -> None:
        stream.close()

    closer, out = _in_thread(lambda: ex.run(close_on_the_loop()))
    closer.join(5)
    # Before: close() waited on the loop thread for the iteration the loop itself had to end.
    assert not closer.is_alive(), "close() on the loop thread deadlocked"
    assert isinstance(out.get("error"), RuntimeError) and "deadlock" in str(out["error"])
    ex.close()
    waiter.join(5)
    assert not waiter.is_alive() and stream.closed
