"""Replay recorded WebSocket sessions to raw ccxt.pro 4.5.70 clients on 127.0.0.1.

Covers the recording format, the derivation check, the replay server's controls (drops, resume,
silence, refusal, compression, pacing, REST routes) and the ccxt.pro stream bugs, which are
pinned as strict xfails on the raw client next to the minimal override that fixes each.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import math
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest
from ccxt.base.errors import (
    AuthenticationError,
    ExchangeError,
    NetworkError,
    RateLimitExceeded,
)

from adapters.errors import UnknownExchange
from adapters.replay import (
    Frame,
    Recording,
    RestHandler,
    RestRequest,
    RestResponse,
    deflate_raw,
    frame_keys,
    inflate_raw,
    is_reply,
)
from adapters.venues import get_venue
from adapters.venues.bitmart.replay import bitmart_books
from adapters.venues.bitstamp.replay import bitstamp_book, bitstamp_snapshot_route

from .replay_faults import FaultyReplayServer, seeded_drop_points
from .streams_support import BITMART_WS, BITSTAMP_WS, CASSETTES, ROOT, SHIPPED, session_path
from .streams_support import watch_until as _watch_until

#: Raw ccxt.pro streams: 0.5 s a watch, fewer than 20 reconnects, at most 1000 watches.
watch_until = functools.partial(_watch_until, per_watch=0.5, max_errors=20, attempts=1000)
WAIT = 3.0  # generous bound for things that should happen in milliseconds
HANG = 0.6  # how long a hanging raw-ccxt stream is given before the xfail counts it as hung


# --------------------------------------------------------------------------------------------
# helpers


def recording(exchange: str, name: str) -> Recording:
    return Recording.load(session_path(exchange, f"{name}.jsonl"))


def rest_file(path: Path) -> RestResponse:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return RestResponse(doc.get("status") or 200, doc["response"])


def bitstamp_snapshot() -> dict[str, Any]:
    doc = json.loads((BITSTAMP_WS / "rest" / "order_book_ethusd_derived.json").read_text())
    response: dict[str, Any] = doc["response"]
    return response


def bitstamp_rest(snapshot_route: Any = None) -> dict[str, Any]:
    routes: dict[str, Any] = {
        "GET /api/v2/markets/": rest_file(BITSTAMP_WS / "rest" / "markets.json"),
        "POST /api/v2/websockets_token/": rest_file(BITSTAMP_WS / "rest" / "websockets_token.json"),
    }
    if snapshot_route is not None:
        routes["GET /api/v2/order_book/ethusd/"] = snapshot_route
    return routes


def as_floats(levels: list[list[str]]) -> list[list[float]]:
    return [[float(p), float(a)] for p, a in levels]


@asynccontextmanager
async def bitstamp_client(
    srv: FaultyReplayServer, cls: Any = None, **config: Any
) -> AsyncIterator[Any]:
    client = (cls or ccxtpro.bitstamp)({"apiKey": "testApiKey", "secret": "testSecret", **config})
    get_venue("bitstamp").point_at(client, srv.http_url, srv.ws_url)
    try:
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def bitmart_client(srv: FaultyReplayServer, cls: Any = None) -> AsyncIterator[Any]:
    client = (cls or ccxtpro.bitmart)({"apiKey": "testApiKey", "secret": "testSecret", "uid": "m"})
    markets = json.loads(session_path("bitmart", "markets.spot.json").read_text(encoding="utf-8"))
    client.set_markets(list(markets.values()))
    get_venue("bitmart").point_at(client, srv.http_url, srv.ws_url)
    try:
        yield client
    finally:
        await client.close()


def load_script() -> ModuleType:
    path = ROOT / "scripts" / "derive_ws_sessions.py"
    spec = importlib.util.spec_from_file_location("derive_ws_sessions", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# recording format and derivation


def test_every_cassette_round_trips_and_names_its_source() -> None:
    files = sorted([*CASSETTES.glob("*/ws/*.jsonl"), *SHIPPED.glob("*/*.jsonl")])
    assert len(files) >= 17
    for path in files:
        text = path.read_text(encoding="utf-8")
        rec = Recording.loads(text)
        assert rec.dumps() == text, path
        assert rec.frames and rec.recv, path
        for key in ("source", "exchange", "url", "derived_by"):
            assert rec.meta.get(key), (path, key)
        folder = path.parent if path.is_relative_to(SHIPPED) else path.parent.parent
        assert rec.exchange == folder.name


def test_frame_binary_round_trip_and_loader_errors(tmp_path: Path) -> None:
    text = '{"table":"spot/trade","data":[]}'
    rec = Recording(
        frames=[
            Frame("sent", 0.0, text="ping"),
            Frame("recv", 0.25, data=deflate_raw(text.encode())),
        ],
        meta={"source": "unit test", "exchange": "bitmart"},
    )
    path = tmp_path / "x.jsonl"
    rec.save(path)
    loaded = Recording.load(path)
    assert loaded == rec
    assert '"b64"' in path.read_text()
    assert loaded.frames[1].is_binary and loaded.frames[1].decoded_text() == text
    assert loaded.frames[1].json() == {"table": "spot/trade", "data": []}
    assert loaded.frames[0].json() is None
    assert inflate_raw(deflate_raw(b"abc")) == b"abc"
    with pytest.raises(ValueError):
        Frame("recv", 0.0)
    with pytest.raises(ValueError):
        Recording.loads('{"dir": "recv", "t": 0, "text": "x"}\n{"meta": {}}\n')


def test_frame_keys_and_reply_classification() -> None:
    login = '{"op":"login","args":["key","1589267764859","sig"]}'
    assert frame_keys(login) == frozenset({"login"})
    multi = '{"op":"subscribe","args":["spot/trade:A","spot/trade:B"]}'
    assert frame_keys(multi) == {"subscribe:spot/trade:A", "subscribe:spot/trade:B"}
    private = '{"event":"bts:subscribe","data":{"channel":"private-x-1","auth":"tok"}}'
    assert frame_keys(private) == {"bts:subscribe:private-x-1"}
    assert frame_keys("ping") == {"raw:ping"}
    assert is_reply({"event": "bts:subscription_succeeded", "channel": "c", "data": {}})
    assert is_reply({"event": "login"})
    assert not is_reply({"data": {}, "channel": "live_trades_ethusd", "event": "trade"})
    assert not is_reply({"table": "spot/ticker", "data": []})
    assert is_reply({"event": "error", "errorCode": 30013}, follows_client_frame=True)
    assert not is_reply({"event": "error", "errorCode": 30039}, follows_client_frame=False)
    heartbeat = recording("bitstamp", "control_heartbeat").reply_map()
    assert json.loads(heartbeat["bts:heartbeat"])["data"] == {"status": "success"}


def test_derivation_reproduces_shipped_files() -> None:
    script = load_script()
    files = script.derived_files()
    assert len(files) == 3
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, path


def test_derived_sessions_are_consistent() -> None:
    seeds = json.loads((BITSTAMP_WS / "seeds" / "diff_order_book_ethusd.json").read_text())
    bs = recording("bitstamp", "diff_order_book_derived")
    data = bs.data_frames()
    assert len(data) == 300
    # frame 0 is the captured frame, unchanged
    assert data[0].json() == seeds["frames"][1]
    micros = [int(f.json()["data"]["microtimestamp"]) for f in data]
    snapshot = bitstamp_snapshot()
    assert int(snapshot["microtimestamp"]) < micros[0]
    assert micros == sorted(set(micros))
    for n in range(1, len(data) + 1, 37):
        book = bitstamp_book(snapshot, data[:n], "ethusd")
        assert float(book["bids"][0][0]) < float(book["asks"][0][0])
        assert len(book["bids"]) >= 3 and len(book["asks"]) >= 3

    bm_seed = json.loads((BITMART_WS / "seeds" / "depth_increase100_eth_usdt.json").read_text())
    bm = recording("bitmart", "depth_increase100_derived")
    updates = bm.data_frames()
    assert updates[0].json() == bm_seed["frames"][1]
    versions = [f.json()["data"][0]["version"] for f in updates]
    assert versions == list(range(versions[0], versions[0] + 300))
    for n in range(1, len(updates) + 1, 37):
        book = bitmart_books(updates[:n])["ETH_USDT"]
        assert float(book["bids"][0][0]) < float(book["asks"][0][0])


# --------------------------------------------------------------------------------------------
# raw ccxt.pro against the server: Bitstamp


@pytest.mark.asyncio
async def test_bitstamp_watch_trades_values_equal_frame() -> None:
    rec = recording("bitstamp", "live_trades")
    frame = rec.data_frames()[0].json()["data"]
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv, bitstamp_client(srv) as ex:
        trades = await asyncio.wait_for(ex.watch_trades("ETH/USD"), WAIT)
        trade = trades[-1]
        assert trade["id"] == str(frame["id"]) == "542327128"
        assert trade["price"] == frame["price"] == 2090.22
        assert trade["amount"] == frame["amount"] == 0.241
        assert trade["timestamp"] == int(frame["microtimestamp"]) // 1000
        assert trade["side"] == "buy"  # type 0
        assert srv.received_json() == [
            {"event": "bts:subscribe", "data": {"channel": "live_trades_ethusd"}}
        ]
        assert [(r.method, r.path) for r in srv.rest_requests] == [("GET", "/api/v2/markets/")]


@pytest.mark.asyncio
async def test_bitstamp_watch_order_book_captured_frame() -> None:
    rec = recording("bitstamp", "diff_order_book")
    snapshot = bitstamp_snapshot()
    rest = bitstamp_rest(bitstamp_snapshot_route(snapshot, "ethusd"))
    frame = rec.data_frames()[0].json()["data"]
    async with FaultyReplayServer(rec, rest=rest) as srv, bitstamp_client(srv) as ex:
        # one recorded delta: ask for the REST snapshot right away instead of after 6 deltas
        ex.options["watchOrderBook"]["snapshotDelay"] = 0
        book = await asyncio.wait_for(ex.watch_order_book("ETH/USD"), WAIT)
        assert book["nonce"] == int(frame["microtimestamp"])
        bids = dict(map(tuple, book["bids"]))
        for price, amount in frame["bids"]:
            if float(amount) == 0:
                assert float(price) not in bids
            else:
                assert bids[float(price)] == float(amount)
        expected = bitstamp_book(snapshot, rec.frames, "ethusd")
        assert book["bids"] == as_floats(expected["bids"])
        assert book["asks"] == as_floats(expected["asks"])


@pytest.mark.asyncio
async def test_bitstamp_watch_order_book_derived_session() -> None:
    rec = recording("bitstamp", "diff_order_book_derived")
    snapshot = bitstamp_snapshot()
    rest = bitstamp_rest(bitstamp_snapshot_route(snapshot, "ethusd"))
    final = int(rec.data_frames()[-1].json()["data"]["microtimestamp"])
    async with FaultyReplayServer(rec, rest=rest) as srv, bitstamp_client(srv) as ex:
        book, errors = await watch_until(
            lambda: ex.watch_order_book("ETH/USD"), lambda b: b["nonce"] == final
        )
        assert errors == []
        expected = bitstamp_book(snapshot, rec.frames, "ethusd")
        assert book["bids"] == as_floats(expected["bids"])
        assert book["asks"] == as_floats(expected["asks"])
        paths = [r.path for r in srv.rest_requests]
        assert paths.count("/api/v2/order_book/ethusd/") == 1


@pytest.mark.asyncio
async def test_bitstamp_stale_snapshot_is_nonce_behind_cache() -> None:
    # A snapshot older than every cached delta: get_cache_index() returns -1 three times.
    rec = recording("bitstamp", "diff_order_book_derived")
    rest = bitstamp_rest(RestResponse(200, bitstamp_snapshot()))
    async with FaultyReplayServer(rec, rest=rest) as srv, bitstamp_client(srv) as ex:
        with pytest.raises(ExchangeError, match="nonce is behind cache after 3 tries"):
            await asyncio.wait_for(ex.watch_order_book("ETH/USD"), WAIT)
        assert [r.path for r in srv.rest_requests].count("/api/v2/order_book/ethusd/") == 3
        # ccxt forgets the client (del self.clients[url]) without closing its socket
        assert ex.clients == {}
        assert srv.active_connections == 1


@pytest.mark.asyncio
async def test_bitstamp_watch_orders_private_channel() -> None:
    rec = recording("bitstamp", "private_my_orders")
    frame = rec.data_frames()[0].json()["data"]
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv, bitstamp_client(srv) as ex:
        orders = await asyncio.wait_for(ex.watch_orders("LTC/USD"), WAIT)
        order = orders[-1]
        assert order["id"] == frame["id_str"] == "1463471322288128"
        assert order["side"] == "sell" and order["status"] == "canceled"
        assert order["price"] == 1000.0 and order["amount"] == 0.05
        token = srv.rest_requests[-1]
        assert (token.method, token.path, token.body) == (
            "POST",
            "/api/v2/websockets_token/",
            "foo=bar",
        )
        assert srv.received_json()[0]["data"]["auth"] == "siPaT4m6VGQCdsDCVbLBemiphHQs552e"


# --------------------------------------------------------------------------------------------
# raw ccxt.pro against the server: BitMart


@pytest.mark.asyncio
@pytest.mark.parametrize("compress", [False, True])
async def test_bitmart_ticker_ohlcv_depth5(compress: bool) -> None:
    ticker_rec = recording("bitmart", "ticker")
    raw = ticker_rec.data_frames()[0].json()["data"][0]
    async with FaultyReplayServer(ticker_rec, compress=compress) as srv, bitmart_client(srv) as ex:
        ticker = await asyncio.wait_for(ex.watch_ticker("ETH/USDT"), WAIT)
        assert ticker["last"] == float(raw["last_price"]) == 35000.0
        assert (ticker["bid"], ticker["bidVolume"]) == (35000.0, 11.0)
        assert (ticker["ask"], ticker["askVolume"]) == (36000.0, 1.021)
        assert ticker["high"] == 35003.04 and ticker["open"] == 35003.03
        assert ticker["baseVolume"] == 2.02 and ticker["quoteVolume"] == 70700.0
        assert ticker["timestamp"] == raw["ms_t"] // 1000 * 1000  # ccxt keeps seconds (s_t)

    kline_rec = recording("bitmart", "kline")
    candle = kline_rec.data_frames()[0].json()["data"][0]["candle"]
    async with FaultyReplayServer(kline_rec, compress=compress) as srv, bitmart_client(srv) as ex:
        ohlcv = await asyncio.wait_for(ex.watch_ohlcv("ETH/USDT", "1M"), WAIT)
        assert ohlcv[-1][1:] == [float(x) for x in candle[1:]]
        # ccxt floors the open time to a multiple of 30 days, not to the calendar month
        month = 30 * 24 * 3600 * 1000
        assert ohlcv[-1][0] == math.floor(candle[0] * 1000 / month) * month

    depth_rec = recording("bitmart", "depth5")
    element = depth_rec.data_frames()[0].json()["data"][0]
    async with FaultyReplayServer(depth_rec, compress=compress) as srv, bitmart_client(srv) as ex:
        ex.options["watchOrderBook"]["depth"] = "depth5"
        book = await asyncio.wait_for(ex.watch_order_book("ETH/USDT"), WAIT)
        assert book["bids"] == as_floats(element["bids"])
        assert book["asks"] == as_floats(element["asks"])
        assert book["timestamp"] == element["ms_t"]


@pytest.mark.asyncio
@pytest.mark.parametrize("compress", [False, True])
async def test_bitmart_depth_increase100_derived_session(compress: bool) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    last = rec.data_frames()[-1].json()["data"][0]
    async with FaultyReplayServer(rec, compress=compress) as srv, bitmart_client(srv) as ex:
        book, errors = await watch_until(
            lambda: ex.watch_order_book("ETH/USDT"), lambda b: b["timestamp"] == last["ms_t"]
        )
        assert errors == []
        expected = bitmart_books(rec.frames)["ETH_USDT"]
        assert book["bids"] == as_floats(expected["bids"])
        assert book["asks"] == as_floats(expected["asks"])


@pytest.mark.asyncio
async def test_bitmart_login_then_watch_orders_and_balance() -> None:
    rec = recording("bitmart", "login_user_orders")
    raw = rec.data_frames()[0].json()["data"][0]
    async with FaultyReplayServer(rec) as srv, bitmart_client(srv) as ex:
        orders = await asyncio.wait_for(ex.watch_orders(), WAIT)
        order = orders[-1]
        assert order["id"] == raw["order_id"] == "2147857398"
        assert order["symbol"] == "BTC/USDT" and order["side"] == "buy"
        assert order["type"] == "market" and order["filled"] == 1.0
        assert order["price"] == 46100.0 and order["amount"] == 1.0
        # ccxt 4.5.70 spot parse_ws_order reads 'clientOid' (absent) and puts ms_t into
        # lastTradeTimestamp, so these come back empty although the frame has them
        assert order["clientOrderId"] is None and raw["client_order_id"] == "order4872191"
        assert order["timestamp"] is None and order["lastTradeTimestamp"] == int(raw["ms_t"])
        sent = srv.received_json()
        assert [m["op"] for m in sent] == ["login", "subscribe"]
        assert sent[0]["args"][0] == "testApiKey"
        assert sent[1]["args"] == ["spot/user/orders:ALL_SYMBOLS"]

    rec = recording("bitmart", "user_balance")
    async with FaultyReplayServer(rec) as srv, bitmart_client(srv) as ex:
        ex.options["watchBalance"]["fetchBalanceSnapshot"] = False
        balance = await asyncio.wait_for(ex.watch_balance(), WAIT)
        assert balance["BTC"]["free"] == 123.22 and balance["BTC"]["used"] == 12.56


@pytest.mark.asyncio
async def test_one_server_serves_public_and_private_paths() -> None:
    streams = {
        "/api": recording("bitmart", "ticker"),
        "/user": recording("bitmart", "login_user_orders"),
    }
    async with FaultyReplayServer(streams, compress=True) as srv, bitmart_client(srv) as ex:
        ticker, orders = await asyncio.wait_for(
            asyncio.gather(ex.watch_ticker("ETH/USDT"), ex.watch_orders()), WAIT
        )
        assert ticker["last"] == 35000.0 and orders[-1]["id"] == "2147857398"
        assert {f.path for f in srv.received} == {"/api", "/user"}
        assert len(srv.delivered_data("/api")) == 1 and len(srv.delivered_data("/user")) == 1


@pytest.mark.asyncio
async def test_bitmart_login_error_and_unsolicited_error() -> None:
    async with (
        FaultyReplayServer(recording("bitmart", "login_error")) as srv,
        bitmart_client(srv) as ex,
    ):
        # ccxt reuses its REST code table: WS errorCode 30013 "Invalid sign" becomes
        # RateLimitExceeded (REST 30013 is "too many requests"), not AuthenticationError.
        with pytest.raises(RateLimitExceeded, match="30013"):
            await asyncio.wait_for(ex.watch_orders(), WAIT)

    rec = recording("bitmart", "errors_and_control")
    # silent after the ticker (recv index 1) so the next watch is pending when 30039 arrives:
    # ccxt rejects only the futures pending at that moment, a later caller never sees it
    async with FaultyReplayServer(rec, silent_after=1) as srv, bitmart_client(srv) as ex:
        ticker = await asyncio.wait_for(ex.watch_ticker("ETH/USDT"), WAIT)
        assert ticker["last"] == 35000.0
        pending = asyncio.ensure_future(ex.watch_ticker("ETH/USDT"))
        await asyncio.sleep(0.05)
        srv.resume_sending()
        with pytest.raises(ExchangeError, match="30039"):
            await asyncio.wait_for(pending, WAIT)


# --------------------------------------------------------------------------------------------
# ccxt.pro 4.5.70 bugs, reproduced on the raw client


@pytest.mark.asyncio
@pytest.mark.xfail(
    strict=True,
    reason="ccxt.pro 4.5.70 bitmart.parse_ws_trade (pro/bitmart.py:1124/1146): takerOrMaker is "
    "only assigned when the frame has 'm' (swap); spot spot/trade frames raise "
    "UnboundLocalError inside Client.receive_loop's callback, the loop is never rescheduled "
    "and watch_trades hangs",
)
async def test_bug_bitmart_spot_trade_without_m_hangs_watch_trades() -> None:
    rec = recording("bitmart", "trade")
    async with FaultyReplayServer(rec, compress=True) as srv, bitmart_client(srv) as ex:
        trades = await asyncio.wait_for(ex.watch_trades("ETH/USDT"), HANG)
        assert trades[-1]["price"] == 162.12 and trades[-1]["amount"] == 11.085


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["control_request_reconnect", "control_heartbeat"])
@pytest.mark.xfail(
    strict=True,
    reason="ccxt.pro 4.5.70 bitstamp.handle_message -> handle_subject (pro/bitstamp.py:457/466): "
    "safe_string turns channel '' into None, then None.find() raises AttributeError in the "
    "receive loop; the trade that follows is never delivered",
)
async def test_bug_bitstamp_control_frame_kills_receive_loop(name: str) -> None:
    rec = recording("bitstamp", name)
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv, bitstamp_client(srv) as ex:
        task = asyncio.ensure_future(ex.watch_trades("ETH/USD"))
        if name == "control_heartbeat":
            await _send_heartbeat(ex)
        trades = await asyncio.wait_for(task, HANG)
        assert trades[-1]["id"] == "542327128"


@pytest.mark.asyncio
@pytest.mark.xfail(
    strict=True,
    reason="ccxt.pro 4.5.70 bitstamp.handle_error_message (pro/bitstamp.py:480) reads code 4009 "
    "with safe_number (4009.0), which never matches the exact map key '4009', then "
    "handle_subject raises AttributeError on channel '': no AuthenticationError, watch hangs",
)
async def test_bug_bitstamp_bts_error_is_not_raised() -> None:
    rec = recording("bitstamp", "control_error")
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv, bitstamp_client(srv) as ex:
        with pytest.raises(AuthenticationError):
            await asyncio.wait_for(ex.watch_orders("LTC/USD"), HANG)


@pytest.mark.asyncio
@pytest.mark.xfail(
    strict=True,
    reason="ccxt.pro 4.5.70 bitmart un_watch_tickers waits on 'unsubscribe::ticker::ETH/USDT' "
    "but handle_un_subscription/get_un_sub_params (pro/bitmart.py:1830/1880) resolve "
    "'unsubscribe::ticker:ETH/USDT' (':' vs '::'), so un_watch_ticker never returns",
)
async def test_bug_bitmart_un_watch_ticker_hangs() -> None:
    rec = recording("bitmart", "errors_and_control")
    async with FaultyReplayServer(rec) as srv, bitmart_client(srv) as ex:
        await asyncio.wait_for(ex.watch_ticker("ETH/USDT"), WAIT)
        await asyncio.wait_for(ex.un_watch_ticker("ETH/USDT"), HANG)


async def _send_heartbeat(ex: Any) -> None:
    # ccxt.pro never sends bts:heartbeat itself; send it on its socket like a keep-alive would
    await asyncio.wait_for(_until(lambda: bool(ex.clients)), WAIT)
    client = next(iter(ex.clients.values()))
    await asyncio.wait_for(client.connected, WAIT)
    await client.send({"event": "bts:heartbeat"})


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


@pytest.mark.asyncio
@pytest.mark.xfail(
    strict=True,
    reason="ccxt.pro 4.5.70 Client.on_close runs twice after a server close frame (CLOSE "
    "message, then receive_loop finding the socket closed) and Exchange.on_close deletes "
    "self.clients[url] by URL: the client the caller re-subscribed with in between is "
    "orphaned (socket left open, still feeding the shared order-book cache)",
)
async def test_bug_close_frame_orphans_the_resubscribed_client() -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    async with FaultyReplayServer(rec, pace=300.0, drop_after=30) as srv, bitmart_client(srv) as ex:
        last = rec.data_frames()[-1].json()["data"][0]["ms_t"]
        await watch_until(lambda: ex.watch_order_book("ETH/USDT"), lambda b: b["timestamp"] == last)
        # a correct client reconnects once: two connections in total, one open at the end
        assert (srv.connection_count, srv.active_connections) == (2, 1)


# --------------------------------------------------------------------------------------------
# the minimal overrides that fix the bugs above (the adapter's venue subclasses do this)


class _ClientGuard:
    """Only let the current client of a URL unregister itself (Exchange.on_close/on_error)."""

    clients: dict[str, Any]

    def on_close(self, client: Any, error: Any) -> None:
        if self.clients.get(client.url) is client:
            super().on_close(client, error)  # type: ignore[misc]

    def on_error(self, client: Any, error: Any) -> None:
        if self.clients.get(client.url) is client:
            super().on_error(client, error)  # type: ignore[misc]


class _BitmartFixed(_ClientGuard, ccxtpro.bitmart):  # type: ignore[misc]
    def parse_ws_trade(self, trade: Any, market: Any = None) -> Any:
        if "m" in trade:
            return super().parse_ws_trade(trade, market)
        # spot frames carry no 'm': give the parser one so takerOrMaker is bound, then undo
        parsed = super().parse_ws_trade(self.extend(trade, {"m": False}), market)
        parsed["info"] = trade
        parsed["takerOrMaker"] = None
        return parsed


class _BitstampFixed(_ClientGuard, ccxtpro.bitstamp):  # type: ignore[misc]
    def handle_message(self, client: Any, message: Any) -> None:
        event = self.safe_string(message, "event")
        if event == "bts:error":
            data = self.safe_dict(message, "data", {})
            code = self.safe_string(data, "code")
            error = self.exceptions["exact"].get(code, ExchangeError)
            client.reject(error(self.id + " " + self.json(message)))
            return
        if event == "bts:request_reconnect":
            client.on_error(NetworkError(self.id + " bts:request_reconnect"))
            return
        if self.safe_string(message, "channel") is None:
            return  # bts:heartbeat reply and other channel-less control frames
        super().handle_message(client, message)


@pytest.mark.asyncio
async def test_minimal_overrides_fix_the_bugs() -> None:
    async with (
        FaultyReplayServer(recording("bitmart", "trade"), compress=True) as srv,
        bitmart_client(srv, _BitmartFixed) as ex,
    ):
        trades = await asyncio.wait_for(ex.watch_trades("ETH/USDT"), WAIT)
        assert (trades[-1]["price"], trades[-1]["amount"]) == (162.12, 11.085)
        assert trades[-1]["side"] == "buy" and trades[-1]["timestamp"] == 1542337219120

    rec = recording("bitstamp", "control_request_reconnect")
    # hold the trade back (silent after recv 1) until the client has reconnected
    async with (
        FaultyReplayServer(rec, rest=bitstamp_rest(), silent_after=1) as srv,
        bitstamp_client(srv, _BitstampFixed) as ex,
    ):
        with pytest.raises(NetworkError, match="request_reconnect"):
            await asyncio.wait_for(ex.watch_trades("ETH/USD"), WAIT)
        await asyncio.wait_for(_until(lambda: srv.active_connections == 0), WAIT)
        srv.resume_sending()
        trades = await asyncio.wait_for(ex.watch_trades("ETH/USD"), WAIT)  # reconnects
        assert trades[-1]["id"] == "542327128" and srv.connection_count == 2

    rec = recording("bitstamp", "control_heartbeat")
    async with (
        FaultyReplayServer(rec, rest=bitstamp_rest()) as srv,
        bitstamp_client(srv, _BitstampFixed) as ex,
    ):
        task = asyncio.ensure_future(ex.watch_trades("ETH/USD"))
        await _send_heartbeat(ex)
        trades = await asyncio.wait_for(task, WAIT)
        assert trades[-1]["id"] == "542327128"

    rec = recording("bitstamp", "control_error")
    async with (
        FaultyReplayServer(rec, rest=bitstamp_rest()) as srv,
        bitstamp_client(srv, _BitstampFixed) as ex,
    ):
        with pytest.raises(AuthenticationError, match="4009"):
            await asyncio.wait_for(ex.watch_orders("LTC/USD"), WAIT)


# --------------------------------------------------------------------------------------------
# server level: drops, resume, silence, refusal, pacing, REST, URL rewriting


@pytest.mark.asyncio
@pytest.mark.parametrize(("mode", "cls"), [("abort", None), ("close", _BitstampFixed)])
async def test_bitstamp_drop_and_reconnect_rebuilds_the_book(mode: str, cls: Any) -> None:
    # Raw ccxt survives TCP aborts; after close frames it needs the on_close guard (see above).
    rec = recording("bitstamp", "diff_order_book_derived")
    snapshot = bitstamp_snapshot()
    drops = seeded_drop_points(seed=7, first=20, last=250, count=3)
    final = int(rec.data_frames()[-1].json()["data"]["microtimestamp"])
    async with (
        FaultyReplayServer(
            rec,
            rest=bitstamp_rest(bitstamp_snapshot_route(snapshot, "ethusd")),
            drop_after=drops,
            drop_mode="abort" if mode == "abort" else "close",
            pace=1000.0,
        ) as srv,
        bitstamp_client(srv, cls) as ex,
    ):
        book, _ = await watch_until(
            lambda: ex.watch_order_book("ETH/USD"), lambda b: b["nonce"] == final
        )
        expected = bitstamp_book(snapshot, rec.frames, "ethusd")
        assert book["bids"] == as_floats(expected["bids"])
        assert book["asks"] == as_floats(expected["asks"])
        assert srv.connection_count == len(drops) + 1
        subscribes = [m for m in srv.received_json() if m["event"] == "bts:subscribe"]
        assert len(subscribes) == len(drops) + 1
        # each connection fetched one snapshot, computed from the frames delivered so far
        snapshots = [r for r in srv.rest_requests if r.path == "/api/v2/order_book/ethusd/"]
        assert len(snapshots) == len(drops) + 1
        assert len(srv.delivered_data()) == 300


@pytest.mark.asyncio
@pytest.mark.parametrize(("mode", "cls"), [("abort", None), ("close", _BitmartFixed)])
async def test_bitmart_drop_and_resume_with_fresh_snapshot(mode: str, cls: Any) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    drops = [40, 120, 250]
    last = rec.data_frames()[-1].json()["data"][0]
    async with (
        FaultyReplayServer(
            rec,
            compress=True,
            drop_after=drops,
            drop_mode="abort" if mode == "abort" else "close",
            pace=1000.0,
        ) as srv,
        bitmart_client(srv, cls) as ex,
    ):
        book, _ = await watch_until(
            lambda: ex.watch_order_book("ETH/USDT"), lambda b: b["timestamp"] == last["ms_t"]
        )
        expected = bitmart_books(rec.frames)["ETH_USDT"]
        assert book["bids"] == as_floats(expected["bids"])
        assert book["asks"] == as_floats(expected["asks"])
        assert srv.connection_count == len(drops) + 1
        # each reconnect got the ack again plus a synthesized snapshot at the last version
        snapshots = [
            f.json()["data"][0]
            for f in srv.sent_log()
            if "data" in (f.json() or {}) and f.json()["data"][0]["type"] == "snapshot"
        ]
        assert len(snapshots) == len(drops) + 1
        recv = rec.recv
        for drop, snap in zip(drops, snapshots[1:], strict=True):
            assert snap["version"] == recv[drop].json()["data"][0]["version"]
            assert snap["bids"] == bitmart_books(recv[: drop + 1])["ETH_USDT"]["bids"]


@pytest.mark.asyncio
async def test_silence_refusal_and_server_gone() -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    async with FaultyReplayServer(rec, silent_after=10) as srv:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(srv.ws_url + "/api?protocol=1.1", autoping=False)
            await ws.send_str('{"op":"subscribe","args":["spot/depth/increase100:ETH_USDT"]}')
            got = [await asyncio.wait_for(ws.receive(), WAIT) for _ in range(11)]
            assert json.loads(got[-1].data)["data"][0]["version"] == 13
            assert srv.silent
            # silent means silent: no data and no pong
            await ws.ping(b"x")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.receive(), 0.3)
            srv.resume_sending()
            msg = await asyncio.wait_for(ws.receive(), WAIT)
            assert json.loads(msg.data)["data"][0]["version"] == 14
            await ws.ping(b"y")
            for _ in range(300):
                msg = await asyncio.wait_for(ws.receive(), WAIT)
                if msg.type == aiohttp.WSMsgType.PONG:
                    break
            assert msg.type == aiohttp.WSMsgType.PONG and msg.data == b"y"
            await ws.close()

        srv.refuse = True
        async with bitmart_client(srv) as ex:
            with pytest.raises(NetworkError, match="503"):
                await asyncio.wait_for(ex.watch_order_book("ETH/USDT"), WAIT)
        srv.refuse = False
        await srv.stop_listening()
        async with bitmart_client(srv) as ex:
            with pytest.raises(NetworkError, match=r"(?i)connect"):
                await asyncio.wait_for(ex.watch_order_book("ETH/USDT"), WAIT)
        await srv.start_listening()
        async with bitmart_client(srv) as ex:
            # back: the ack is sent again, then a snapshot resumes at the last delivered version
            book = await asyncio.wait_for(ex.watch_order_book("ETH/USDT"), WAIT)
            assert book["timestamp"] == srv.delivered_data()[-1].json()["data"][0]["ms_t"]


@pytest.mark.asyncio
async def test_pacing_offers_a_fixed_rate() -> None:
    rec = recording("bitmart", "depth_increase100_derived")

    async def receive_all(pace: float | None, count: int) -> float:
        async with FaultyReplayServer(rec, pace=pace) as srv, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(srv.ws_url + "/api")
            await ws.send_str('{"op":"subscribe","args":["spot/depth/increase100:ETH_USDT"]}')
            await asyncio.wait_for(ws.receive(), WAIT)  # ack: never paced
            start = time.monotonic()
            for _ in range(count):
                msg = await asyncio.wait_for(ws.receive(), WAIT)
                assert msg.type == aiohttp.WSMsgType.TEXT
            elapsed = time.monotonic() - start
            await ws.close()
            return elapsed

    assert await receive_all(200.0, 40) >= 0.18
    assert await receive_all(None, 40) < 0.18


@pytest.mark.asyncio
async def test_rest_routes_and_compression_on_the_wire() -> None:
    calls: list[RestRequest] = []

    def computed(server: FaultyReplayServer, request: RestRequest) -> RestResponse:
        calls.append(request)
        return RestResponse(201, {"n": len(server.rest_requests)})

    rest: dict[str, RestResponse | RestHandler] = {
        "GET /a": RestResponse(200, {"plain": True}),
        "GET /a?x=1": RestResponse(200, {"query": True}),
        "POST /b": computed,
    }
    rec = recording("bitmart", "ticker")
    async with FaultyReplayServer(rec, rest=rest, compress=True) as srv:
        async with aiohttp.ClientSession() as session:
            async with session.get(srv.http_url + "/a") as resp:
                assert await resp.json() == {"plain": True}
            async with session.get(srv.http_url + "/a?x=1") as resp:
                assert await resp.json() == {"query": True}
            async with session.post(srv.http_url + "/b", data="k=v") as resp:
                assert resp.status == 201 and await resp.json() == {"n": 3}
            async with session.get(srv.http_url + "/nope") as resp:
                assert resp.status == 404
            ws = await session.ws_connect(srv.ws_url + "/api")
            await ws.send_str('{"op":"subscribe","args":["spot/ticker:ETH_USDT"]}')
            msg = await asyncio.wait_for(ws.receive(), WAIT)
            assert msg.type == aiohttp.WSMsgType.BINARY
            assert json.loads(zlib.decompress(msg.data, -15)) == rec.recv[0].json()
            await ws.close()
        assert calls[0].body == "k=v" and calls[0].method == "POST"
        assert [r.query for r in srv.rest_requests[:2]] == ["", "x=1"]


def test_venue_point_at_rewrites_rest_and_ws_urls() -> None:
    bitmart = ccxtpro.bitmart()
    get_venue("bitmart").point_at(bitmart, "http://127.0.0.1:1", "ws://127.0.0.1:1")
    api = bitmart.urls["api"]
    assert api["spot"] == "http://127.0.0.1:1" and api["swap"] == "http://127.0.0.1:1"
    assert api["ws"]["spot"]["public"] == "ws://127.0.0.1:1/api?protocol=1.1"
    assert api["ws"]["spot"]["private"] == "ws://127.0.0.1:1/user?protocol=1.1"
    bitstamp = ccxtpro.bitstamp()
    get_venue("bitstamp").point_at(bitstamp, "http://127.0.0.1:1", "ws://127.0.0.1:1")
    assert bitstamp.urls["api"]["public"] == "http://127.0.0.1:1/api"
    assert bitstamp.urls["api"]["private"] == "http://127.0.0.1:1/api"
    assert bitstamp.urls["api"]["ws"] == "ws://127.0.0.1:1"
    with pytest.raises(UnknownExchange):
        get_venue("binance")
