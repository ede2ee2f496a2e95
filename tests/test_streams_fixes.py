"""The ccxt.pro 4.5.70 stream fixes of the venue clients, each tested on the fixed class and
on the raw ccxt class. The raw runs are strict xfails: each shows the test fails without the
fix (if ccxt ever fixes a bug, the xfail turns into a failure and the override can go).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from adapters.replay import Frame, Recording, RestRequest, RestResponse
from adapters.venues import get_venue
from adapters.venues.bitmart.replay import bitmart_books
from adapters.venues.bitstamp.replay import bitstamp_book

from .replay_faults import FaultyReplayServer
from .streams_support import (
    WAIT,
    bitmart_venue_resume,
    bitstamp_rest,
    bitstamp_snapshot,
    data,
    recording,
    session_path,
    until,
)
from .streams_support import watch_until as _watch_until

HANG = 0.6  # how long a raw-ccxt stream gets before it counts as hung
#: Raw or fixed ccxt.pro streams: HANG a watch, fewer than 50 reconnects, at most 2000 watches.
watch_until = functools.partial(_watch_until, per_watch=HANG, max_errors=50, attempts=2000)

FIXED = {name: get_venue(name).client_class() for name in ("bitstamp", "bitmart")}
RAW = {"bitstamp": ccxtpro.bitstamp, "bitmart": ccxtpro.bitmart}


def classes(exchange: str, without_fix: str) -> list[Any]:
    """The fixed client class, and the raw one as a strict xfail for ``without_fix``."""
    return [
        pytest.param(FIXED[exchange], id="fixed"),
        pytest.param(
            RAW[exchange],
            id="raw-ccxt",
            marks=pytest.mark.xfail(strict=True, reason=f"ccxt.pro 4.5.70: {without_fix}"),
        ),
    ]


@asynccontextmanager
async def client(cls: Any, srv: FaultyReplayServer) -> AsyncIterator[Any]:
    """A ccxt client of class ``cls`` pointed at ``srv`` (dummy credentials)."""
    ex = cls({"apiKey": "testApiKey", "secret": "testSecret", "uid": "testMemo",
              "enableRateLimit": False, "timeout_on_exit": 0})  # fmt: skip
    exchange_id = "bitmart" if isinstance(ex, ccxtpro.bitmart) else "bitstamp"
    get_venue(exchange_id).point_at(ex, srv.http_url, srv.ws_url)
    if exchange_id == "bitmart":
        markets = json.loads(
            session_path("bitmart", "markets.spot.json").read_text(encoding="utf-8")
        )
        ex.set_markets(list(markets.values()))
    try:
        yield ex
    finally:
        await ex.close()


def as_floats(levels: list[list[str]]) -> list[list[float]]:
    return [[float(p), float(a)] for p, a in levels]


# --------------------------------------------------------------------------------------------
# BitMart


@pytest.mark.parametrize(
    "cls", classes("bitmart", "parse_ws_trade leaves takerOrMaker unbound for spot frames")
)
async def test_bitmart_spot_trade_without_m(cls: Any) -> None:
    rec = recording("bitmart", "trade")
    frame = data(rec)[0]["data"][0]
    async with FaultyReplayServer(rec, compress=True) as srv, client(cls, srv) as ex:
        trades = await asyncio.wait_for(ex.watch_trades("ETH/USDT"), HANG)
    trade = trades[-1]
    assert (trade["price"], trade["amount"]) == (float(frame["price"]), float(frame["size"]))
    assert trade["side"] == frame["side"] and trade["timestamp"] == frame["ms_t"]
    assert trade["takerOrMaker"] is None and trade["info"] == frame


@pytest.mark.parametrize("cls", classes("bitmart", "depth/increase applies updates past a gap"))
async def test_bitmart_depth_version_gap_takes_a_fresh_snapshot(cls: Any) -> None:
    # An update lost on the way (the server skips it); a reconnect gets a snapshot of the
    # venue's book, which has it. Expected: the fold of every recorded frame.
    rec = recording("bitmart", "depth_increase100_derived")
    frames = rec.frames
    recv = [i for i, f in enumerate(frames) if f.dir == "recv"]
    lost = recv[-6]  # near the end: later updates do not cover what it changed
    without = [f for i, f in enumerate(frames) if i != lost]
    expected = bitmart_books(frames)["ETH_USDT"]
    assert bitmart_books(without)["ETH_USDT"] != expected  # the test can tell

    last = data(rec)[-1]["data"][0]["ms_t"]
    session = Recording(frames=without, meta=rec.meta)
    async with (
        FaultyReplayServer(session, resume=bitmart_venue_resume(frames), pace=2000.0) as srv,
        client(cls, srv) as ex,
    ):
        book, _ = await watch_until(
            lambda: ex.watch_order_book("ETH/USDT"), lambda b: b["timestamp"] == last
        )
        assert book["bids"] == as_floats(expected["bids"])
        assert book["asks"] == as_floats(expected["asks"])
        assert srv.connection_count == 2


@pytest.mark.parametrize(
    "cls", classes("bitmart", "WS error 30013 (invalid sign) read as REST 30013 (rate limit)")
)
async def test_bitmart_refused_login_is_an_authentication_error(cls: Any) -> None:
    async with (
        FaultyReplayServer(recording("bitmart", "login_error")) as srv,
        client(cls, srv) as ex,
    ):
        with pytest.raises(ccxt.AuthenticationError, match="30013"):
            await asyncio.wait_for(ex.watch_orders(), WAIT)


@pytest.mark.parametrize(
    "cls", classes("bitmart", "spot parse_ws_order reads clientOid; ms_t as last trade time")
)
async def test_bitmart_spot_order_fields(cls: Any) -> None:
    rec = recording("bitmart", "login_user_orders")
    raw = data(rec)[0]["data"][0]
    async with FaultyReplayServer(rec) as srv, client(cls, srv) as ex:
        (order,) = await asyncio.wait_for(ex.watch_orders(), WAIT)
    assert order["clientOrderId"] == raw["client_order_id"]
    assert order["timestamp"] == int(raw["create_time"])
    assert order["lastTradeTimestamp"] == int(raw["last_fill_time"])


@pytest.mark.parametrize(
    "cls", classes("bitmart", "handle_balance reads balance_details[i] in the inner loop")
)
async def test_bitmart_balance_update_with_two_currencies(cls: Any) -> None:
    rec = recording("bitmart", "user_balance")
    update = data(rec)[0]
    (detail,) = update["data"][0]["balance_details"]
    # the recorded detail, and a second currency with the same figures doubled
    second = {"ccy": "USDT", "av_bal": "246.44", "fz_bal": "25.12"}
    update["data"][0]["balance_details"] = [detail, second]
    frames = [*rec.frames[:-1], Frame.recv_json(update)]
    session = Recording(frames=frames, meta=rec.meta)
    async with FaultyReplayServer(session) as srv, client(cls, srv) as ex:
        ex.options["watchBalance"]["fetchBalanceSnapshot"] = False
        balance = await asyncio.wait_for(ex.watch_balance(), WAIT)
    for row in (detail, second):
        assert balance[row["ccy"]]["free"] == float(row["av_bal"])
        assert balance[row["ccy"]]["used"] == float(row["fz_bal"])
    assert balance["timestamp"] == int(update["data"][0]["event_time"])


@pytest.mark.parametrize(
    "cls", classes("bitmart", "monthly candles floored to multiples of 30 days since 1970")
)
async def test_bitmart_monthly_candle_keeps_its_open_time(cls: Any) -> None:
    rec = recording("bitmart", "kline")
    candle = data(rec)[0]["data"][0]["candle"]
    async with FaultyReplayServer(rec) as srv, client(cls, srv) as ex:
        ohlcv = await asyncio.wait_for(ex.watch_ohlcv("ETH/USDT", "1M"), WAIT)
    assert ohlcv[-1][0] == candle[0] * 1000
    assert ohlcv[-1][1:] == [float(x) for x in candle[1:]]


# --------------------------------------------------------------------------------------------
# Bitstamp


@pytest.mark.parametrize("name", ["control_heartbeat", "control_request_reconnect"])
@pytest.mark.parametrize("cls", classes("bitstamp", "None.find on channel '' kills the loop"))
async def test_bitstamp_channel_less_control_frames(cls: Any, name: str) -> None:
    rec = recording("bitstamp", name)
    trade_id = str(data(rec)[-1]["data"]["id"])
    # the trade is held back (silent after the control frame) until the client is ready
    async with (
        FaultyReplayServer(rec, rest=bitstamp_rest(), silent_after=1) as srv,
        client(cls, srv) as ex,
    ):
        pending = asyncio.ensure_future(ex.watch_trades("ETH/USD"))
        if name == "control_heartbeat":
            await until(lambda: bool(ex.clients))
            ws = next(iter(ex.clients.values()))
            await asyncio.wait_for(ws.connected, WAIT)
            await ws.send({"event": "bts:heartbeat"})
            await asyncio.sleep(0.05)
            srv.resume_sending()
            trades = await asyncio.wait_for(pending, HANG)
            assert srv.connection_count == 1
        else:
            # bts:request_reconnect: the waiting call fails as a network error, the next
            # one reconnects and gets the trade
            with pytest.raises(ccxt.NetworkError, match="request_reconnect"):
                await asyncio.wait_for(pending, HANG)
            await until(lambda: srv.active_connections == 0)
            srv.resume_sending()
            trades = await asyncio.wait_for(ex.watch_trades("ETH/USD"), HANG)
            assert srv.connection_count == 2
    assert trades[-1]["id"] == trade_id


@pytest.mark.parametrize("cls", classes("bitstamp", "bts:error code read as 4009.0, never raised"))
async def test_bitstamp_bts_error_4009_is_an_authentication_error(cls: Any) -> None:
    rec = recording("bitstamp", "control_error")
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv, client(cls, srv) as ex:
        with pytest.raises(ccxt.AuthenticationError, match="4009"):
            await asyncio.wait_for(ex.watch_orders("LTC/USD"), HANG)
        # the refused token is dropped: the next subscription asks for a new one
        assert ex.options["expiresIn"] is None


@pytest.mark.parametrize("cls", classes("bitstamp", "a handler exception kills the receive loop"))
async def test_a_frame_ccxt_cannot_read_reaches_the_caller(cls: Any) -> None:
    rec = recording("bitstamp", "live_trades")
    broken = {**data(rec)[0], "data": {"id": 1}}  # no microtimestamp: parse_ws_trade raises
    session = Recording(frames=[*rec.frames[:-1], Frame.recv_json(broken)], meta=rec.meta)
    async with FaultyReplayServer(session, rest=bitstamp_rest()) as srv, client(cls, srv) as ex:
        with pytest.raises(ccxt.NetworkError, match="cannot read a frame"):
            await asyncio.wait_for(ex.watch_trades("ETH/USD"), HANG)
        await until(lambda: srv.active_connections == 0)


def _snapshot_between(delivered: list[Frame], initial: dict[str, Any]) -> dict[str, Any]:
    """A REST snapshot taken between the third-last and the second-last delivered delta."""
    older, newer = delivered[-3].json()["data"], delivered[-2].json()["data"]
    book = bitstamp_book(initial, delivered[:-2], "ethusd")
    micro = (int(older["microtimestamp"]) + int(newer["microtimestamp"])) // 2
    return {**book, "microtimestamp": str(micro), "timestamp": str(micro // 10**6)}


@pytest.mark.parametrize(
    "cls", classes("bitstamp", "get_cache_index drops every cached delta newer than the snapshot")
)
async def test_bitstamp_snapshot_between_two_deltas_keeps_the_newer_ones(cls: Any) -> None:
    rec = recording("bitstamp", "diff_order_book_derived")
    initial = bitstamp_snapshot()
    short = Recording(frames=rec.frames[:12], meta=rec.meta)  # ack and 10 deltas
    diffs = [f for f in short.data_frames()]
    taken: list[dict[str, Any]] = []

    def route(server: FaultyReplayServer, _: RestRequest) -> RestResponse:
        taken.append(_snapshot_between(server.delivered_data(), initial))
        return RestResponse(200, taken[-1])

    final = int(diffs[-1].json()["data"]["microtimestamp"])
    # hold the last deltas back until the snapshot has been taken
    async with (
        FaultyReplayServer(short, rest=bitstamp_rest({"GET /api/v2/order_book/ethusd/": route}),
                     silent_after=8) as srv,
        client(cls, srv) as ex,
    ):  # fmt: skip
        pending = asyncio.ensure_future(ex.watch_order_book("ETH/USD"))
        await until(lambda: bool(taken))
        srv.resume_sending()
        book, _ = await watch_until(
            lambda: pending if not pending.done() else ex.watch_order_book("ETH/USD"),
            lambda b: b["nonce"] == final,
        )
    expected = bitstamp_book(initial, short.frames, "ethusd")
    assert book["bids"] == as_floats(expected["bids"])
    assert book["asks"] == as_floats(expected["asks"])


@pytest.mark.parametrize(
    "cls", classes("bitstamp", "a failing REST snapshot is retried without a bound")
)
async def test_bitstamp_failing_snapshot_is_retried_a_bounded_number_of_times(cls: Any) -> None:
    rec = recording("bitstamp", "diff_order_book_derived")
    calls: list[RestRequest] = []

    def route(_: FaultyReplayServer, request: RestRequest) -> RestResponse:
        calls.append(request)
        if len(calls) <= 10:
            return RestResponse(500, {"error": "replay: snapshot unavailable"})
        return RestResponse(200, bitstamp_snapshot())  # lets a runaway retry loop end

    rest = bitstamp_rest({"GET /api/v2/order_book/ethusd/": route})
    async with FaultyReplayServer(rec, rest=rest, silent_after=20) as srv, client(cls, srv) as ex:
        with pytest.raises(ccxt.BaseError) as raised:
            await asyncio.wait_for(ex.watch_order_book("ETH/USD"), WAIT)
        await asyncio.sleep(0.3)
        assert len(calls) == 3  # options['watchOrderBook']['maxRetries']
        # then the connection is dropped, so that a stream reconnects and starts over
        assert isinstance(raised.value, ccxt.NetworkError)
        await until(lambda: srv.active_connections == 0)


@pytest.mark.parametrize(
    "cls", classes("bitstamp", "nonce behind cache: ccxt forgets the client, its socket stays open")
)
async def test_bitstamp_stale_snapshot_drops_the_connection(cls: Any) -> None:
    # The derived session's start book is older than every delta: it never fits.
    rec = recording("bitstamp", "diff_order_book_derived")
    rest = bitstamp_rest({"GET /api/v2/order_book/ethusd/": RestResponse(200, bitstamp_snapshot())})
    async with FaultyReplayServer(rec, rest=rest) as srv, client(cls, srv) as ex:
        with pytest.raises(ccxt.BaseError, match=r"behind cache|not synchronised"):
            await asyncio.wait_for(ex.watch_order_book("ETH/USD"), WAIT)
        await until(lambda: srv.active_connections == 0, within=1.0)
        assert ex.clients == {}


# --------------------------------------------------------------------------------------------
# both venues: the stale-client guard


@pytest.mark.parametrize(
    "cls", classes("bitmart", "on_close twice after a close frame orphans the new client")
)
async def test_close_frame_does_not_orphan_the_resubscribed_client(cls: Any) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    last = data(rec)[-1]["data"][0]["ms_t"]
    async with FaultyReplayServer(rec, pace=300.0, drop_after=30) as srv, client(cls, srv) as ex:
        await watch_until(lambda: ex.watch_order_book("ETH/USDT"), lambda b: b["timestamp"] == last)
        assert (srv.connection_count, srv.active_connections) == (2, 1)


@pytest.mark.parametrize("venue", ["bitstamp", "bitmart"])
def test_book_levels_parse_as_ccxt_parses_them(venue: str) -> None:
    # The adapter's clients parse book levels themselves (faster, and checked): for
    # well-formed levels they must give exactly what ccxt's own parse gives. Levels from
    # cassettes/<venue>/fetch_order_book.yaml; a third element (a count, or Bitstamp's order
    # id) is kept as ccxt keeps it, and dropped when it is not a number.
    ours = get_venue(venue).client_class()({})
    raw = getattr(ccxtpro, venue)({})
    levels: list[Any] = [
        ["8750.00", "1.33685271"],
        ["26942.57", "0.06492"],
        [8750.0, 1.33685271],
        ("8749.39", "0.07700000"),
        ["8746.98", "0.07400000", "1583652948955826"],
        ["8746.98", "0.07400000", "not a count"],
        ["8746.98", "0.07400000", None],
    ]
    for level in levels:
        assert ours.parse_order_book_bid_ask(level) == raw.parse_order_book_bid_ask(level)
    keyed = {"price": "26942.45", "amount": "0.00074"}
    assert ours.parse_order_book_bid_ask(
        keyed, "price", "amount", "count"
    ) == raw.parse_order_book_bid_ask(keyed, "price", "amount", "count")
