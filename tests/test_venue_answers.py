"""Prices and sizes a venue should never send: NaN, infinity, negative (and a book level at
or below zero). One rule: such an answer is unreadable. A REST call raises
``UnreadableAnswer`` (as a balance with NaN does); a stream treats the frame as unreadable
(logged, then the book is rebuilt from a fresh snapshot, a ticker skipped); the paper engine
ignores the level or trade and never fills at it.

The hostile values are put into the real payloads of the REST cassettes (the payload's
source is in the cassette); each test also runs the unmodified payload as a control.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from adapters import OrderStatus, OrderType, Side, UnreadableAnswer
from adapters.exchange import Exchange
from adapters.models import OrderBook
from adapters.paper.engine import (
    BookDelta,
    BookSnapshot,
    Engine,
    MarketSpec,
    PlaceOrder,
    PublicTrade,
)
from adapters.replay import Frame, Recording, RestRequest, RestResponse
from adapters.venues.bitmart.replay import bitmart_books
from adapters.venues.bitstamp.replay import bitstamp_book

from .conftest import CASSETTES
from .replay_faults import FaultyReplayServer
from .streams_support import (
    bitmart_venue_resume,
    bitstamp_rest,
    bitstamp_snapshot,
    data,
    float_levels,
    point,
    recording,
    take,
    take_until,
    until,
)
from .test_order_statuses import answer

Make = Callable[..., Exchange]

HOSTILE_PRICES = ["NaN", "Infinity", "-Infinity", "-1", "0"]
HOSTILE_SIZES = ["NaN", "Infinity", "-0.5"]


def recorded(exchange: str, name: str) -> tuple[str, Any]:
    """The path and JSON answer of the cassette's last interaction (the call itself)."""
    doc = yaml.safe_load((CASSETTES / exchange / f"{name}.yaml").read_text())
    last = doc["interactions"][-1]
    return urlsplit(last["request"]["uri"]).path, json.loads(last["response"]["body"]["string"])


def book_of(exchange: str, payload: Any) -> Any:
    """The part of a book answer holding ``bids`` and ``asks``."""
    return payload["data"] if exchange == "bitmart" else payload


SYMBOL = {"bitstamp": "BTC/USD", "bitmart": "BTC/USDT"}
TICKER_SYMBOL = {"bitstamp": "BTC/USDT", "bitmart": "BTC/USDT"}
#: The ticker field holding the best bid, as each venue names it.
BID_KEY = {"bitstamp": "bid", "bitmart": "bid_px"}


# -- REST books -------------------------------------------------------------------------------


@pytest.mark.parametrize("venue", ["bitstamp", "bitmart"])
async def test_rest_book_control(make_exchange: Make, venue: str) -> None:
    path, payload = recorded(venue, "fetch_order_book")
    ex = make_exchange(venue)
    answer(ex, path, payload)
    book = await ex.fetch_order_book(SYMBOL[venue])
    assert book.best_bid == D(book_of(venue, payload)["bids"][0][0])


@pytest.mark.parametrize("venue", ["bitstamp", "bitmart"])
@pytest.mark.parametrize("side", ["bids", "asks"])
@pytest.mark.parametrize(
    ("column", "value"), [(0, v) for v in HOSTILE_PRICES] + [(1, v) for v in HOSTILE_SIZES]
)
async def test_rest_book_with_a_hostile_level_is_unreadable(
    make_exchange: Make, venue: str, side: str, column: int, value: str
) -> None:
    path, payload = recorded(venue, "fetch_order_book")
    payload = copy.deepcopy(payload)
    level = book_of(venue, payload)[side][1]
    level[column] = value
    ex = make_exchange(venue)
    answer(ex, path, payload)
    with pytest.raises(UnreadableAnswer, match=f"{venue} sent the order book level .*{value}"):
        await ex.fetch_order_book(SYMBOL[venue])


async def test_a_json_infinity_literal_is_refused_too(make_exchange: Make) -> None:
    """Python's JSON reader turns a bare ``Infinity`` into a float: the same check holds."""
    path, payload = recorded("bitstamp", "fetch_order_book")
    payload = copy.deepcopy(payload)
    payload["bids"][0][0] = math.inf
    ex = make_exchange("bitstamp")
    answer(ex, path, payload)
    with pytest.raises(UnreadableAnswer, match="order book level"):
        await ex.fetch_order_book("BTC/USD")


# -- REST tickers -----------------------------------------------------------------------------


@pytest.mark.parametrize("venue", ["bitstamp", "bitmart"])
@pytest.mark.parametrize("value", [None, "NaN", "Infinity", "-1"])
async def test_rest_ticker_with_a_hostile_bid(
    make_exchange: Make, venue: str, value: str | None
) -> None:
    path, payload = recorded(venue, "fetch_ticker")
    payload = copy.deepcopy(payload)
    fields = payload["data"] if venue == "bitmart" else payload
    control = fields[BID_KEY[venue]]
    if value is not None:
        fields[BID_KEY[venue]] = value
    ex = make_exchange(venue)
    answer(ex, path, payload)
    if value is None:
        assert (await ex.fetch_ticker(TICKER_SYMBOL[venue])).bid == D(control)
        return
    with pytest.raises(UnreadableAnswer, match="bid"):
        await ex.fetch_ticker(TICKER_SYMBOL[venue])


# -- the paper engine -------------------------------------------------------------------------

SYM = "ETH/USD"
SPEC = MarketSpec(SYM, "ETH", "USD", D("0.001"), D("0.002"))


def paper(asks: list[tuple[str, str]]) -> Engine:
    e = Engine([SPEC], balances={"USD": "10000", "ETH": "10"})
    e.apply(BookSnapshot(SYM, [("100", "2")], asks, 1))
    return e


def market_buy(amount: str) -> PlaceOrder:
    return PlaceOrder(SYM, Side.BUY, OrderType.MARKET, D(amount), None, 2)


@pytest.mark.parametrize("bad", ["-1", "0", "nan", "inf"])
def test_engine_never_fills_a_market_buy_at_a_hostile_ask(bad: str) -> None:
    e = paper([(bad, "1"), ("101", "1")])
    assert e.ignored == 1
    (fill,) = e.apply(market_buy("1")).fills
    assert (fill.price, fill.amount) == (D("101"), D("1"))


@pytest.mark.parametrize("bad", [("102", "nan"), ("102", "inf"), ("102", "-3"), ("-5", "1")])
def test_engine_ignores_hostile_levels_in_a_delta(bad: tuple[str, str]) -> None:
    e = paper([("101", "1")])
    e.apply(BookDelta(SYM, [], [bad], 2))
    assert e.ignored == 1
    assert e.book_top(SYM) == (D("100"), D("101"))
    # only the 1 at 101 is there to take: the rest of the market buy is cancelled
    (fill,) = e.apply(market_buy("2")).fills
    assert (fill.price, fill.amount) == (D("101"), D("1"))


def test_engine_fast_path_ignores_hostile_levels() -> None:
    e = paper([("101", "1")])
    hostile = [(None, False, -1.0, 1.0), (None, False, math.nan, 1.0), (None, False, 0.0, 2.0)]
    e.on_book_levels(SYM, [*hostile, (None, True, 99.0, math.inf)], 3)
    assert e.ignored == 4
    assert e.book_top(SYM) == (D("100"), D("101"))


def test_engine_ignores_a_hostile_public_trade() -> None:
    e = paper([("101", "1")])
    order = e.apply(PlaceOrder(SYM, Side.BUY, OrderType.LIMIT, D("1"), D("99"), 2)).orders[0]
    for price, amount in [("-1", "5"), ("nan", "5"), ("98", "inf"), ("98", "0")]:
        assert not e.apply(PublicTrade(SYM, D(price), D(amount), Side.SELL, 3)).fills
    assert e.ignored == 4
    assert e.order(order.id).status is OrderStatus.OPEN
    # control: a real trade through the order's price fills it
    assert e.apply(PublicTrade(SYM, D("98"), D("5"), Side.SELL, 4)).fills


# -- streams ----------------------------------------------------------------------------------


def sane(book: OrderBook) -> bool:
    """Every level a finite price above 0 and a finite size above 0."""
    return all(
        0 < price < math.inf and 0 < size < math.inf for price, size in book.bids + book.asks
    )


def poisoned(frame: Frame, edit: Callable[[Any], None]) -> Frame:
    obj = frame.json()
    edit(obj)
    return Frame.recv_json(obj)


@pytest.mark.parametrize("value", ["NaN", "-1", "Infinity"])
async def test_bitmart_stream_book_with_a_hostile_level_is_rebuilt(
    make_exchange: Make, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    frames = rec.frames
    recv = [i for i, f in enumerate(frames) if f.dir == "recv"]
    bad = recv[-6]

    def edit(obj: Any) -> None:
        update = obj["data"][0]
        (update["bids"] or update["asks"])[0][0] = value

    session = Recording(
        frames=[poisoned(f, edit) if i == bad else f for i, f in enumerate(frames)],
        meta=rec.meta,
    )
    last = data(rec)[-1]["data"][0]["ms_t"]
    async with FaultyReplayServer(session, resume=bitmart_venue_resume(frames), pace=3000.0) as srv:
        ex = point(make_exchange("bitmart"), srv)
        books = await take_until(ex.watch_order_book("ETH/USDT"), lambda b: b.timestamp == last)
        assert srv.connection_count == 2  # the unreadable frame dropped the connection once
    assert all(sane(b) for b in books)
    expected = bitmart_books(frames)["ETH_USDT"]  # the venue's book, from the clean frames
    assert books[-1].bids == float_levels(expected["bids"])
    assert books[-1].asks == float_levels(expected["asks"])
    assert "sent the order book level" in caplog.text


async def test_bitstamp_stream_book_with_a_hostile_level_is_rebuilt(
    make_exchange: Make, caplog: pytest.LogCaptureFixture
) -> None:
    rec = recording("bitstamp", "diff_order_book_derived")
    clean = rec.data_frames()
    # Well after the first book (7 cached deltas and a snapshot): a delta older than the
    # snapshot is discarded unread, and the rebuilt book needs 7 more deltas.
    bad = len(clean) - 40

    def edit(obj: Any) -> None:
        obj["data"]["asks"][0][0] = "-1"

    frames, n, hostile = [], 0, -1
    for f in rec.frames:
        if f.dir == "recv" and f in clean:
            if n == bad:
                f, hostile = poisoned(f, edit), sum(g.dir == "recv" for g in frames)
            n += 1
        frames.append(f)
    session = Recording(frames=frames, meta=rec.meta)
    initial = bitstamp_snapshot()

    def route(server: FaultyReplayServer, _: RestRequest) -> RestResponse:
        # the venue's own book: the clean deltas it has sent so far
        sent = len(server.delivered_data())
        return RestResponse(200, bitstamp_book(initial, clean[:sent], "ethusd"))

    final = int(clean[-1].json()["data"]["microtimestamp"])
    rest = bitstamp_rest({"GET /api/v2/order_book/ethusd/": route})
    # The feed pauses after the hostile frame until the client has reconnected: the replay's
    # one timeline would otherwise hand the deltas still to come (13 ms of them) to the
    # closing connection whenever the client is slow to react (a 100 ms garbage collection
    # of the test process is enough), and the new connection would wait for ever.
    async with FaultyReplayServer(session, rest=rest, pace=3000.0, silent_after=hostile) as srv:
        ex = point(make_exchange("bitstamp"), srv)

        async def resume_on_reconnect() -> None:
            await until(lambda: srv.connection_count >= 2)
            srv.resume_sending()

        resumer = asyncio.ensure_future(resume_on_reconnect())
        try:
            books = await take_until(ex.watch_order_book("ETH/USD"), lambda b: b.nonce == final)
        finally:
            resumer.cancel()
        assert srv.connection_count == 2
    assert all(sane(b) for b in books)
    expected = bitstamp_book(initial, clean, "ethusd")
    assert books[-1].bids == float_levels(expected["bids"])
    assert books[-1].asks == float_levels(expected["asks"])
    assert "sent the order book level" in caplog.text


async def test_bitstamp_hostile_level_in_a_cached_delta_reconnects(make_exchange: Make) -> None:
    """The first REST snapshot is older than the fourth cached delta, which is poisoned:
    it is read while the book is built from the snapshot, outside ccxt's frame handler."""
    rec = recording("bitstamp", "diff_order_book_derived")
    clean = rec.data_frames()

    def edit(obj: Any) -> None:
        obj["data"]["bids"][0][1] = "NaN"

    frames, n = [], 0
    for f in rec.frames:
        if f.dir == "recv" and f in clean:
            f = poisoned(f, edit) if n == 3 else f
            n += 1
        frames.append(f)
    initial = bitstamp_snapshot()
    snapshots = 0

    def route(server: FaultyReplayServer, _: RestRequest) -> RestResponse:
        nonlocal snapshots
        snapshots += 1
        sent = 2 if snapshots == 1 else len(server.delivered_data())
        return RestResponse(200, bitstamp_book(initial, clean[:sent], "ethusd"))

    final = int(clean[-1].json()["data"]["microtimestamp"])
    rest = bitstamp_rest({"GET /api/v2/order_book/ethusd/": route})
    session = Recording(frames=frames, meta=rec.meta)
    async with FaultyReplayServer(session, rest=rest, pace=1000.0) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        books = await take_until(ex.watch_order_book("ETH/USD"), lambda b: b.nonce == final)
        assert srv.connection_count == 2 and snapshots == 2
    assert all(sane(b) for b in books)
    expected = bitstamp_book(initial, clean, "ethusd")
    assert books[-1].bids == float_levels(expected["bids"])


async def test_bitmart_stream_ticker_with_a_hostile_bid_is_skipped(
    make_exchange: Make, caplog: pytest.LogCaptureFixture
) -> None:
    rec = recording("bitmart", "ticker")
    good = rec.data_frames()[0]

    def edit(obj: Any) -> None:
        obj["data"][0]["bid_px"] = "NaN"

    frames = [*rec.frames[:-1], poisoned(good, edit), good]
    async with FaultyReplayServer(Recording(frames=frames, meta=rec.meta)) as srv:
        ex = point(make_exchange("bitmart"), srv)
        (ticker,) = await take(ex.watch_ticker("ETH/USDT"), 1)
    assert ticker.bid == D(good.json()["data"][0]["bid_px"])
    assert "bid is NaN" in caplog.text
