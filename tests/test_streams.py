"""Every typed stream on both venues, replayed from the recordings through the adapter and
ccxt.pro's own parsing. Expected values are read from the recorded frames (the venue's
strings), never from what the adapter produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from contextlib import aclosing
from decimal import Decimal
from typing import Any

import pytest
import yaml

from adapters import (
    Balances,
    Candle,
    Credentials,
    ExchangeUnavailable,
    Fill,
    InvalidInput,
    InvalidOrderRequest,
    MissingCredentials,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    Trade,
    UnknownSymbol,
    UnsupportedFeature,
)
from adapters.exchange import Exchange
from adapters.replay import Frame, Recording, RestRequest, RestResponse
from adapters.streams import DEFAULT_SILENCE, StreamPolicy
from adapters.venues.bitmart.replay import bitmart_books
from adapters.venues.bitstamp.replay import bitstamp_book, bitstamp_snapshot_route

from .replay_faults import FaultyReplayServer
from .streams_support import (
    BITMART_WS,
    BITSTAMP_WS,
    CASSETTES,
    WAIT,
    bitmart_wallet,
    bitstamp_rest,
    bitstamp_snapshot,
    data,
    dec,
    float_levels,
    point,
    recording,
    take,
    take_until,
    until,
)

Make = Callable[..., Exchange]

# --------------------------------------------------------------------------------------------
# order books


async def test_bitstamp_order_book_derived_session(make_exchange: Make) -> None:
    rec = recording("bitstamp", "diff_order_book_derived")
    snapshot = bitstamp_snapshot()
    diffs = data(rec)
    final = int(diffs[-1]["data"]["microtimestamp"])
    rest = bitstamp_rest(
        {"GET /api/v2/order_book/ethusd/": bitstamp_snapshot_route(snapshot, "ethusd")}
    )
    async with FaultyReplayServer(rec, rest=rest, pace=3000.0) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        books = await take_until(ex.watch_order_book("ETH/USD"), lambda b: b.nonce == final)
    assert all(isinstance(b, OrderBook) and b.symbol == "ETH/USD" for b in books)
    # every book is a copy: the first one still shows the state at its own nonce
    first = books[0]
    at_first = [f for f in rec.frames if f.dir == "sent" or _micro(f.json()) <= first.nonce]
    expected_first = bitstamp_book(snapshot, at_first, "ethusd")
    assert first.bids == float_levels(expected_first["bids"])
    assert first.asks == float_levels(expected_first["asks"])
    expected = bitstamp_book(snapshot, rec.frames, "ethusd")
    last = books[-1]
    assert last.bids == float_levels(expected["bids"])
    assert last.asks == float_levels(expected["asks"])
    assert last.timestamp == int(diffs[-1]["data"]["timestamp"]) * 1000
    assert last.best_bid == Decimal(expected["bids"][0][0])
    assert last.bid(0) == (Decimal(expected["bids"][0][0]), Decimal(expected["bids"][0][1]))
    # nonces only go up
    nonces = [b.nonce or 0 for b in books]
    assert nonces == sorted(nonces)
    # one subscription, one snapshot
    assert [m["event"] for m in srv.received_json()] == ["bts:subscribe"]
    assert [r.path for r in srv.rest_requests].count("/api/v2/order_book/ethusd/") == 1


def _micro(obj: Any) -> int:
    if not isinstance(obj, dict) or obj.get("event") != "data":
        return 0
    return int(obj["data"]["microtimestamp"])


@pytest.mark.parametrize("compress", [False, True])
async def test_bitmart_order_book_derived_session_with_depth(
    make_exchange: Make, compress: bool
) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    last = data(rec)[-1]["data"][0]
    async with FaultyReplayServer(rec, compress=compress, pace=3000.0) as srv:
        ex = point(make_exchange("bitmart"), srv)
        books = await take_until(
            ex.watch_order_book("ETH/USDT", depth=3), lambda b: b.timestamp == last["ms_t"]
        )
    expected = bitmart_books(rec.frames)["ETH_USDT"]
    assert books[-1].bids == float_levels(expected["bids"][:3])
    assert books[-1].asks == float_levels(expected["asks"][:3])
    assert all(len(b.bids) <= 3 and len(b.asks) <= 3 for b in books)
    assert srv.received_json() == [{"op": "subscribe", "args": ["spot/depth/increase100:ETH_USDT"]}]


async def test_a_busy_caller_gets_the_latest_book_without_waiting_for_a_frame(
    make_exchange: Make,
) -> None:
    # ccxt wakes only callers already waiting: frames that land while the caller is busy
    # wake nobody. The stream hands out the book they built at once, and once only.
    rec = recording("bitmart", "depth_increase100_derived")
    quiet_after = 12  # server frames: the ack, the snapshot, then ten updates
    async with FaultyReplayServer(rec, silent_after=quiet_after) as srv:
        ex = point(make_exchange("bitmart"), srv)
        stream = ex.watch_order_book("ETH/USDT")
        try:
            await asyncio.wait_for(anext(stream), WAIT)  # then busy while the rest lands
            await until(lambda: srv.silent)
            sent = srv.delivered_data()
            last_ms = sent[-1].json()["data"][0]["ms_t"]
            await until(lambda: ex.client.orderbooks["ETH/USDT"]["timestamp"] == last_ms)
            book = await asyncio.wait_for(anext(stream), WAIT)  # the server stays silent
            again = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.05)
            assert not again.done(), "the same book was handed out twice"
            again.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await again
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
    expected = bitmart_books(sent)["ETH_USDT"]
    assert book.timestamp == last_ms
    assert book.bids == float_levels(expected["bids"])
    assert book.asks == float_levels(expected["asks"])


async def test_a_second_book_stream_starts_with_the_current_book(make_exchange: Make) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    async with FaultyReplayServer(rec, silent_after=5) as srv:
        ex = point(make_exchange("bitmart"), srv)
        first = ex.watch_order_book("ETH/USDT")
        second = ex.watch_order_book("ETH/USDT", depth=2)
        try:
            await asyncio.wait_for(anext(first), WAIT)
            await until(lambda: srv.silent)
            sent = srv.delivered_data()
            last_ms = sent[-1].json()["data"][0]["ms_t"]
            await until(lambda: ex.client.orderbooks["ETH/USDT"]["timestamp"] == last_ms)
            book = await asyncio.wait_for(anext(second), WAIT)
        finally:
            await second.aclose()  # type: ignore[attr-defined]
            await first.aclose()  # type: ignore[attr-defined]
    expected = bitmart_books(sent)["ETH_USDT"]
    assert book.timestamp == last_ms
    assert book.bids == float_levels(expected["bids"][:2])
    assert book.asks == float_levels(expected["asks"][:2])


async def test_order_book_rejects_bad_depth_and_unknown_symbol(make_exchange: Make) -> None:
    rec = recording("bitmart", "depth5")
    async with FaultyReplayServer(rec) as srv:
        ex = point(make_exchange("bitmart"), srv)
        with pytest.raises(InvalidInput, match="depth"):
            ex.watch_order_book("ETH/USDT", depth=0)
        with pytest.raises(UnknownSymbol, match="ETH/USDT"):
            await take(ex.watch_order_book("ETH/USDTX"), 1)
        assert srv.connection_count == 0


# --------------------------------------------------------------------------------------------
# trades


async def test_bitstamp_trades(make_exchange: Make) -> None:
    rec = recording("bitstamp", "live_trades")
    frame = data(rec)[0]["data"]
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        (trade,) = await take(ex.watch_trades("ETH/USD"), 1)
    assert isinstance(trade, Trade)
    assert trade.symbol == "ETH/USD"
    assert trade.id == str(frame["id"])
    assert trade.price == dec(frame["price_str"]) and trade.amount == dec(frame["amount_str"])
    assert trade.timestamp == int(frame["microtimestamp"]) // 1000
    assert trade.side is (Side.BUY if frame["type"] == 0 else Side.SELL)
    assert trade.cost == dec(frame["price_str"]) * dec(frame["amount_str"])


async def test_bitmart_trades_spot_frame_without_m(make_exchange: Make) -> None:
    # ccxt 4.5.70 raises UnboundLocalError on this frame; the venue fix parses it
    rec = recording("bitmart", "trade")
    frame = data(rec)[0]["data"][0]
    assert "m" not in frame
    async with FaultyReplayServer(rec, compress=True) as srv:
        ex = point(make_exchange("bitmart"), srv)
        (trade,) = await take(ex.watch_trades("ETH/USDT"), 1)
    assert trade.symbol == "ETH/USDT" and trade.id is None
    assert trade.price == dec(frame["price"]) and trade.amount == dec(frame["size"])
    assert trade.side is Side(frame["side"])
    assert trade.timestamp == frame["ms_t"]


async def test_trades_come_one_by_one_once_each(make_exchange: Make) -> None:
    # The recorded trade, then the seed file's spot frames (one with two trades) and its
    # 2025 element, moved to ETH_USDT: every trade once, in order.
    rec = recording("bitmart", "trade")
    seeds = json.loads((BITMART_WS / "seeds" / "trade_examples.json").read_text())
    extra = [f["data"] for f in seeds["frames"] if f.get("table") == "spot/trade"]
    extra.append(seeds["data_objects"])
    frames = list(rec.frames)
    for elements in extra:
        moved = [{**e, "symbol": "ETH_USDT"} for e in elements]
        frames.append(Frame.recv_json({"table": "spot/trade", "data": moved}))
    session = Recording(frames=frames, meta=rec.meta)
    expected = [e for f in session.data_frames() for e in f.json()["data"]]
    assert len(expected) == 5 and any("ms_t" not in e for e in expected)
    async with FaultyReplayServer(session, pace=500.0) as srv:
        ex = point(make_exchange("bitmart"), srv)
        trades = await take(ex.watch_trades("ETH/USDT"), len(expected))
    assert [(t.price, t.amount, t.side, t.timestamp) for t in trades] == [
        (dec(e["price"]), dec(e["size"]), Side(e["side"]), e.get("ms_t", e["s_t"] * 1000))
        for e in expected
    ]


# --------------------------------------------------------------------------------------------
# tickers


async def test_bitmart_ticker(make_exchange: Make) -> None:
    rec = recording("bitmart", "ticker")
    raw = data(rec)[0]["data"][0]
    async with FaultyReplayServer(rec, compress=True) as srv:
        ex = point(make_exchange("bitmart"), srv)
        (ticker,) = await take(ex.watch_ticker("ETH/USDT"), 1)
    assert isinstance(ticker, Ticker) and ticker.symbol == "ETH/USDT"
    assert ticker.last == dec(raw["last_price"])
    assert (ticker.bid, ticker.bid_volume) == (dec(raw["bid_px"]), dec(raw["bid_sz"]))
    assert (ticker.ask, ticker.ask_volume) == (dec(raw["ask_px"]), dec(raw["ask_sz"]))
    assert (ticker.high, ticker.low) == (dec(raw["high_24h"]), dec(raw["low_24h"]))
    assert ticker.open == dec(raw["open_24h"])
    assert ticker.base_volume == dec(raw["base_volume_24h"])
    assert ticker.quote_volume == dec(raw["quote_volume_24h"])


async def test_bitstamp_has_no_ticker_stream_and_sends_nothing(make_exchange: Make) -> None:
    async with FaultyReplayServer(
        recording("bitstamp", "live_trades"), rest=bitstamp_rest()
    ) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        with pytest.raises(UnsupportedFeature, match="bitstamp has no ticker stream"):
            ex.watch_ticker("ETH/USD")
        with pytest.raises(UnsupportedFeature, match="balance"):
            ex.watch_balance()
        assert srv.connection_count == 0 and srv.rest_requests == []


# --------------------------------------------------------------------------------------------
# candles


async def test_bitmart_candles_keep_the_venue_open_time(make_exchange: Make) -> None:
    rec = recording("bitmart", "kline")
    raw = data(rec)[0]["data"][0]["candle"]
    async with FaultyReplayServer(rec, compress=True) as srv:
        ex = point(make_exchange("bitmart"), srv)
        (candle,) = await take(ex.watch_candles("ETH/USDT", "1M"), 1)
    assert isinstance(candle, Candle)
    assert (candle.symbol, candle.timeframe) == ("ETH/USDT", "1M")
    # ccxt 4.5.70 floors monthly open times to multiples of 30 days; the fix keeps the venue's
    assert candle.timestamp == raw[0] * 1000
    assert [candle.open, candle.high, candle.low, candle.close] == [dec(x) for x in raw[1:5]]
    assert candle.volume == dec(raw[5])


async def test_bitmart_candles_yield_each_change_of_the_current_candle(
    make_exchange: Make,
) -> None:
    rec = recording("bitmart", "kline")
    frame = data(rec)[0]
    candle = frame["data"][0]["candle"]
    # the same minute again with a higher close, the same frame once more (no change), then
    # the next minute: values derived from the recorded candle
    grown = [candle[0], candle[1], "162.09", candle[3], "162.09", "400.5"]
    nxt = [candle[0] + 60, "162.09", "162.10", "162.05", "162.06", "1.5"]
    frames = [
        Frame.sent_json({"op": "subscribe", "args": ["spot/kline1m:ETH_USDT"]}),
        Frame.recv_json({"event": "subscribe", "topic": "spot/kline1m:ETH_USDT"}),
        *[
            Frame.recv_json(
                {"data": [{"candle": c, "symbol": "ETH_USDT"}], "table": "spot/kline1m"}
            )
            for c in (candle, grown, grown, nxt)
        ],
    ]
    session = Recording(frames=frames, meta=rec.meta)
    async with FaultyReplayServer(session, pace=200.0) as srv:
        ex = point(make_exchange("bitmart"), srv)
        candles = await take(ex.watch_candles("ETH/USDT", "1m"), 3)
    assert [(c.timestamp, c.close, c.volume) for c in candles] == [
        (candle[0] * 1000, dec(candle[4]), dec(candle[5])),
        (grown[0] * 1000, dec(grown[4]), dec(grown[5])),
        (nxt[0] * 1000, dec(nxt[4]), dec(nxt[5])),
    ]


async def test_bitstamp_candles_by_polling(make_exchange: Make) -> None:
    # The recorded BTC/USDT hourly candle (REST cassette fetch_ohlcv), then the same candle
    # grown and the next one; later polls change nothing.
    doc = yaml.safe_load((CASSETTES / "bitstamp" / "fetch_ohlcv.yaml").read_text())
    body = next(
        json.loads(i["response"]["body"]["string"])
        for i in doc["interactions"]
        if "/ohlc/" in i["request"]["uri"]
    )
    (first,) = body["data"]["ohlc"]
    grown = {**first, "high": "73300", "close": "73300", "volume": "0.02"}
    nxt = {**first, "timestamp": str(int(first["timestamp"]) + 3600), "open": "73300",
           "high": "73301", "low": "73299", "close": "73301", "volume": "0.001"}  # fmt: skip
    answers = [[first], [grown, nxt]]
    polls: list[RestRequest] = []

    def ohlc(_: FaultyReplayServer, request: RestRequest) -> RestResponse:
        polls.append(request)
        rows = answers[min(len(polls), len(answers)) - 1]
        return RestResponse(200, {"data": {"pair": "BTC/USDT", "ohlc": rows}})

    rest = bitstamp_rest({"GET /api/v2/ohlc/btcusdt/": ohlc})
    policy = StreamPolicy(candle_poll_interval=0.02, candle_poll_delay=0.0)
    async with FaultyReplayServer(None, rest=rest) as srv:
        ex = point(make_exchange("bitstamp"), srv, policy)
        stream = ex.watch_candles("BTC/USDT", "1h")
        got: list[Candle] = []
        async with aclosing(stream):
            async for candle in stream:
                got.append(candle)
                if len(got) == 3:
                    break
        # a few more polls answer the same candles: nothing new would be yielded
        more = ex.watch_candles("BTC/USDT", "1h")
        async with aclosing(more):
            seen = [await asyncio.wait_for(anext(more), WAIT) for _ in range(2)]
            polls_before = len(polls)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(more), 0.15)
            assert len(polls) >= polls_before + 3
    expected = [
        (int(r["timestamp"]) * 1000, dec(r["open"]), dec(r["high"]), dec(r["low"]),
         dec(r["close"]), dec(r["volume"]))
        for r in (first, grown, nxt)
    ]  # fmt: skip
    assert [(c.timestamp, c.open, c.high, c.low, c.close, c.volume) for c in got] == expected
    assert [(c.timestamp, c.close) for c in seen] == [(expected[1][0], expected[1][4]),
                                                      (expected[2][0], expected[2][4])]  # fmt: skip
    assert all(c.symbol == "BTC/USDT" and c.timeframe == "1h" for c in got)
    assert "step=3600" in polls[0].query
    assert srv.connection_count == 0  # no WebSocket involved


async def test_candles_reject_an_unknown_timeframe(make_exchange: Make) -> None:
    ex = make_exchange("bitmart")
    with pytest.raises(InvalidOrderRequest, match="7m"):
        ex.watch_candles("ETH/USDT", "7m")


# --------------------------------------------------------------------------------------------
# private streams


async def test_bitstamp_orders(make_exchange: Make) -> None:
    rec = recording("bitstamp", "private_my_orders")
    frame = data(rec)[0]
    raw = frame["data"]
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        (order,) = await take(ex.watch_orders("LTC/USD"), 1)
        sent = srv.received_json()
    assert isinstance(order, Order)
    assert order.id == raw["id_str"] and order.symbol == "LTC/USD"
    assert order.side is Side.SELL  # order_type 1
    assert order.price == dec(raw["price_str"])
    # On this channel "amount" is the amount still open (Bitstamp's order_deleted after a
    # full fill carries 0); this frame has no amount_at_create, so the order's size is unknown.
    assert order.remaining == dec(raw["amount_str"]) and order.amount is None
    assert frame["event"] == "order_deleted" and order.status is OrderStatus.CANCELED
    assert order.timestamp == int(raw["datetime"]) * 1000
    token = json.loads((BITSTAMP_WS / "rest" / "websockets_token.json").read_text())
    assert sent == [
        {
            "event": "bts:subscribe",
            "data": {
                "channel": f"private-my_orders_ltcusd-{token['response']['user_id']}",
                "auth": token["response"]["token"],
            },
        }
    ]


async def test_bitstamp_my_trades(make_exchange: Make) -> None:
    rec = recording("bitstamp", "private_my_trades")
    raw = data(rec)[0]["data"]
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        (fill,) = await take(ex.watch_my_trades("LTC/USD"), 1)
    assert isinstance(fill, Fill)
    assert fill.id == str(raw["id"]) and fill.order_id == str(raw["order_id"])
    assert fill.client_order_id == raw["client_order_id"]
    assert fill.symbol == "LTC/USD" and fill.side is Side(raw["side"])
    assert fill.price == dec(raw["price"]) and fill.amount == dec(raw["amount"])
    assert fill.fee == dec(raw["fee"]) and fill.fee_currency == "USD"
    assert fill.timestamp == int(raw["microtimestamp"]) // 1000


async def test_bitstamp_private_streams_need_a_symbol(make_exchange: Make) -> None:
    ex = make_exchange("bitstamp")
    with pytest.raises(UnsupportedFeature, match="per market"):
        ex.watch_orders()
    with pytest.raises(UnsupportedFeature, match="per market"):
        ex.watch_my_trades()


async def test_bitmart_orders(make_exchange: Make) -> None:
    rec = recording("bitmart", "login_user_orders")
    raw = data(rec)[0]["data"][0]
    async with FaultyReplayServer(rec, compress=True) as srv:
        ex = point(make_exchange("bitmart"), srv)
        (order,) = await take(ex.watch_orders(), 1)
        sent = srv.received_json()
    assert order.id == raw["order_id"] and order.symbol == "BTC/USDT"
    assert order.side is Side(raw["side"]) and order.type is OrderType.MARKET
    assert order.price == dec(raw["price"]) and order.amount == dec(raw["size"])
    assert order.filled == dec(raw["filled_size"])
    assert order.status is OrderStatus.PARTIALLY_FILLED  # order_state "partially_filled"
    # ccxt 4.5.70 read clientOid and put ms_t into lastTradeTimestamp; the fix reads the frame
    assert order.client_order_id == raw["client_order_id"]
    assert order.timestamp == int(raw["create_time"])
    assert order.last_update_timestamp == int(raw["update_time"])
    assert [m["op"] for m in sent] == ["login", "subscribe"]
    assert sent[1]["args"] == ["spot/user/orders:ALL_SYMBOLS"]


async def test_bitmart_orders_filtered_by_symbol(make_exchange: Make) -> None:
    rec = recording("bitmart", "login_user_orders")
    async with FaultyReplayServer(rec) as srv:
        ex = point(make_exchange("bitmart"), srv)
        stream = ex.watch_orders("ETH/USDT")  # the recorded order is BTC/USDT
        async with aclosing(stream):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(stream), 0.3)
        assert len(srv.delivered_data()) == 1  # it was delivered, and filtered out


async def test_bitmart_my_trades_from_order_updates(make_exchange: Make) -> None:
    rec = recording("bitmart", "login_user_orders")
    raw = data(rec)[0]["data"][0]
    async with FaultyReplayServer(rec, compress=True) as srv:
        ex = point(make_exchange("bitmart"), srv)
        (fill,) = await take(ex.watch_my_trades(), 1)
    assert fill.id == raw["detail_id"] and fill.order_id == raw["order_id"]
    assert fill.client_order_id == raw["client_order_id"]
    assert fill.price == dec(raw["last_fill_price"])
    assert fill.amount == dec(raw["last_fill_count"])
    assert fill.timestamp == int(raw["last_fill_time"])
    assert fill.taker_or_maker == "maker" and raw["exec_type"] == "M"
    assert fill.side is Side(raw["side"]) and fill.symbol == "BTC/USDT"


async def test_bitmart_orders_and_fills_share_one_subscription(make_exchange: Make) -> None:
    rec = recording("bitmart", "login_user_orders")
    raw = data(rec)[0]["data"][0]
    async with FaultyReplayServer(rec) as srv:
        ex = point(make_exchange("bitmart"), srv)
        orders, fills = ex.watch_orders(), ex.watch_my_trades()
        order, fill = await asyncio.wait_for(asyncio.gather(anext(orders), anext(fills)), WAIT)
        await orders.aclose()  # type: ignore[attr-defined]
        await fills.aclose()  # type: ignore[attr-defined]
        subscribes = [m for m in srv.received_json() if m["op"] == "subscribe"]
    assert order.id == fill.order_id == raw["order_id"]
    assert len(subscribes) == 1


async def test_bitmart_balance(make_exchange: Make) -> None:
    rec = recording("bitmart", "user_balance")
    update = data(rec)[0]["data"][0]
    (detail,) = update["balance_details"]
    wallet = bitmart_wallet()
    snapshot = {w["id"]: w for w in json.loads(wallet.body)["data"]["wallet"]}
    # the REST snapshot is fetched first; the recorded update is held back until it is in
    async with FaultyReplayServer(rec, rest={"GET /spot/v1/wallet": wallet}, silent_after=1) as srv:
        ex = point(make_exchange("bitmart"), srv)
        stream = ex.watch_balance()
        async with aclosing(stream):
            first = await asyncio.wait_for(anext(stream), WAIT)
            srv.resume_sending()
            second = await asyncio.wait_for(anext(stream), WAIT)
    assert isinstance(first, Balances)
    for currency, row in snapshot.items():
        assert first[currency].free == dec(row["available"])
        assert first[currency].used == dec(row["frozen"])
    btc = second[detail["ccy"]]
    assert (btc.free, btc.used) == (dec(detail["av_bal"]), dec(detail["fz_bal"]))
    assert btc.total == dec(detail["av_bal"]) + dec(detail["fz_bal"])
    assert second.timestamp == int(update["event_time"])
    assert second["USDT"].free == dec(snapshot["USDT"]["available"])  # untouched by the update


@pytest.mark.parametrize(
    ("exchange", "call"),
    [
        ("bitstamp", lambda ex: ex.watch_orders("LTC/USD")),
        ("bitstamp", lambda ex: ex.watch_my_trades("LTC/USD")),
        ("bitmart", lambda ex: ex.watch_orders()),
        ("bitmart", lambda ex: ex.watch_my_trades()),
        ("bitmart", lambda ex: ex.watch_balance()),
    ],
)
async def test_private_streams_check_credentials_before_sending(
    make_exchange: Make, exchange: str, call: Callable[[Exchange], Any]
) -> None:
    rec = recording(exchange, "private_my_orders" if exchange == "bitstamp" else "user_balance")
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv:
        ex = point(make_exchange(exchange, credentials=Credentials()), srv)
        with pytest.raises(MissingCredentials):
            call(ex)
        assert srv.connection_count == 0 and srv.rest_requests == []


# --------------------------------------------------------------------------------------------
# cleanup, sharing, policy


async def test_breaking_out_closes_the_last_subscription(make_exchange: Make) -> None:
    rec = recording("bitmart", "ticker")
    async with FaultyReplayServer(rec) as srv:
        ex = point(make_exchange("bitmart"), srv)
        async for ticker in ex.watch_ticker("ETH/USDT"):
            assert ticker.symbol == "ETH/USDT"
            break
        # the abandoned generator is closed by the event loop's finaliser a moment later
        await until(lambda: srv.active_connections == 0)
        assert ex.client.clients == {}


async def test_closing_one_of_two_streams_unsubscribes_only_it(make_exchange: Make) -> None:
    # One connection carries the ticker and the trades; closing the ticker stream sends an
    # unsubscribe (ccxt's un_watch_ticker would wait forever for a reply it cannot match)
    # and leaves the trades flowing.
    ticker = recording("bitmart", "ticker")
    trade = recording("bitmart", "trade")
    frames = [*ticker.frames, *trade.frames[:-1]]
    unsubscribe = Frame.sent_json({"op": "unsubscribe", "args": ["spot/ticker:ETH_USDT"]})
    frames += [
        unsubscribe,
        Frame.recv_json({"topic": "spot/ticker:ETH_USDT", "event": "unsubscribe"}),
    ]
    frames.append(trade.frames[-1])  # the trade is only sent once the unsubscribe came
    session = Recording(frames=frames, meta=ticker.meta)
    async with FaultyReplayServer(session) as srv:
        ex = point(make_exchange("bitmart"), srv)
        trades = ex.watch_trades("ETH/USDT")
        next_trade = asyncio.ensure_future(anext(trades))
        (tick,) = await take(ex.watch_ticker("ETH/USDT"), 1)
        trade_item = await asyncio.wait_for(next_trade, WAIT)
        await trades.aclose()  # type: ignore[attr-defined]
        sent = srv.received_json()
        await until(lambda: srv.active_connections == 0)
    assert tick.last == dec(data(ticker)[0]["data"][0]["last_price"])
    assert trade_item.price == dec(data(trade)[0]["data"][0]["price"])
    assert {"op": "unsubscribe", "args": ["spot/ticker:ETH_USDT"]} in sent
    assert srv.connection_count == 1


async def test_a_second_stream_of_the_same_topic_keeps_it(make_exchange: Make) -> None:
    rec = recording("bitstamp", "live_trades")
    async with FaultyReplayServer(rec, rest=bitstamp_rest(), silent_after=1) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        one, two = ex.watch_trades("ETH/USD"), ex.watch_trades("ETH/USD")
        waiting = asyncio.ensure_future(anext(two))
        await until(lambda: srv.active_connections == 1 and len(srv.received) == 1)
        await one.aclose()  # type: ignore[attr-defined]  # never started: nothing to release
        srv.resume_sending()
        trade = await asyncio.wait_for(waiting, WAIT)
        await two.aclose()  # type: ignore[attr-defined]
        await until(lambda: srv.active_connections == 0)
    assert trade.id == str(data(rec)[0]["data"]["id"])
    assert [m["event"] for m in srv.received_json()] == ["bts:subscribe"]


async def test_streams_end_when_the_exchange_is_closed(make_exchange: Make) -> None:
    rec = recording("bitmart", "ticker")
    async with FaultyReplayServer(rec, silent_after=1) as srv:
        ex = point(make_exchange("bitmart"), srv)
        stream = ex.watch_ticker("ETH/USDT")
        await asyncio.wait_for(anext(stream), WAIT)
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.05)
        await ex.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(pending, WAIT)


def test_stream_policy_defaults_and_validation() -> None:
    from adapters.capabilities import Stream

    policy = StreamPolicy(silence={Stream.TRADES: 5.0, Stream.ORDERS: 60.0})
    assert policy.silence_timeout(Stream.TRADES) == 5.0
    assert policy.silence_timeout(Stream.ORDERS) == 60.0
    assert policy.silence_timeout(Stream.ORDER_BOOK) == DEFAULT_SILENCE[Stream.ORDER_BOOK]
    assert DEFAULT_SILENCE[Stream.BALANCE] is None
    for attempt in range(1, 12):
        wait = policy.backoff(attempt)
        base = min(policy.max_backoff, policy.initial_backoff * 2 ** (attempt - 1))
        assert base <= wait <= base * (1 + policy.jitter)
    with pytest.raises(ValueError):
        StreamPolicy(reconnect_attempts=0)
    with pytest.raises(ValueError):
        StreamPolicy(silence={Stream.TRADES: float("nan")})
    assert isinstance(ExchangeUnavailable("x"), Exception)


def test_live_book_copy_is_a_frozen_model_like_model_construct() -> None:
    import ccxt.pro

    from adapters import OrderBook

    live = ccxt.pro.bitstamp().order_book({})
    # a level may carry a third element (Bitstamp order id, a count): it is not copied
    for price, amount in (("2087.28", "0.5"), ("2087.1", "1.25"), ("2086.9", "3")):
        live["bids"].storeArray([float(price), float(amount), 123])
    live["asks"].storeArray([2087.5, 0.75])
    live["symbol"], live["timestamp"], live["nonce"] = "ETH/USD", 1, 2
    book = OrderBook.from_ccxt_live(live, depth=2)
    assert book.bids == ((2087.28, 0.5), (2087.1, 1.25)) and book.asks == ((2087.5, 0.75),)
    reference = OrderBook.model_construct(
        symbol="ETH/USD", bids=book.bids, asks=book.asks, timestamp=1, nonce=2
    )
    assert book.__getstate__() == reference.__getstate__()
    live["bids"][0][1] = 9.0  # ccxt changes its levels in place; the copy does not move
    assert book.bid(0) == (Decimal("2087.28"), Decimal("0.5"))
    with pytest.raises(ValueError):
        book.symbol = "BTC/USD"  # type: ignore[misc]
