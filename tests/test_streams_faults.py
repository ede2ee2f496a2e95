"""Fault tests of the typed streams against a replay server that misbehaves on purpose:
silence, refusal, a server that never comes back, venue control frames, lost updates,
unreadable frames. (Every venue's book through 50 dropped connections is in the shared
venue contract, ``tests/venue_contract.py``.)

Expected books are folds of the recorded frames by the venues' replay helpers
(``bitmart_books``: plain Decimal dictionaries, no ccxt, no adapter code). Every wait is
bounded in time, every loop in count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from adapters import AuthenticationFailed, ExchangeUnavailable
from adapters.capabilities import Stream
from adapters.exchange import Exchange
from adapters.replay import Frame, Recording
from adapters.streams import StreamPolicy
from adapters.venues.bitmart.replay import bitmart_books
from adapters.venues.ws import StreamSilent

from .replay_faults import FaultyReplayServer
from .streams_support import (
    FAST,
    WAIT,
    bitmart_long_session,
    bitmart_venue_resume,
    bitstamp_long_session,
    bitstamp_rest,
    data,
    float_levels,
    point,
    recording,
    take,
    take_until,
    until,
)

pytestmark = pytest.mark.faults

Make = Callable[..., Exchange]

# --------------------------------------------------------------------------------------------
# silence


async def test_silent_server_trips_the_watchdog_and_the_stream_recovers(
    make_exchange: Make,
) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    last = data(rec)[-1]["data"][0]["ms_t"]
    policy = StreamPolicy(initial_backoff=0.002, silence={Stream.ORDER_BOOK: 0.2})
    async with FaultyReplayServer(rec, silent_after=50, pace=3000.0) as srv:
        ex = point(make_exchange("bitmart"), srv, policy)
        reading = asyncio.ensure_future(
            take_until(ex.watch_order_book("ETH/USDT"), lambda b: b.timestamp == last)
        )
        # silence while the stream waits: the watchdog drops the connection and the stream
        # reconnects (to a server still silent, so it trips again)
        await until(lambda: srv.connection_count >= 3, within=2.0)
        srv.resume_sending()
        books = await asyncio.wait_for(reading, WAIT)
    expected = bitmart_books(rec.frames)["ETH_USDT"]
    assert books[-1].bids == float_levels(expected["bids"])
    assert books[-1].asks == float_levels(expected["asks"])


async def test_server_silent_for_good_gives_exchange_unavailable(make_exchange: Make) -> None:
    rec = recording("bitstamp", "live_trades")
    attempts, silence = 3, 0.1
    policy = StreamPolicy(
        reconnect_attempts=attempts,
        initial_backoff=0.002,
        max_backoff=0.01,
        silence={Stream.TRADES: silence},
    )
    async with FaultyReplayServer(rec, rest=bitstamp_rest(), silent_after=0) as srv:
        ex = point(make_exchange("bitstamp"), srv, policy)
        started = time.monotonic()
        with pytest.raises(ExchangeUnavailable, match="no data after 3 reconnect attempts") as info:
            await take(ex.watch_trades("ETH/USD"), 1)
        elapsed = time.monotonic() - started
        # the first silence plus one per attempt, plus backoffs and watchdog periods
        assert elapsed < (attempts + 1) * silence * 2 + 0.5
        assert srv.connection_count == attempts + 1
    assert isinstance(info.value.__cause__, StreamSilent)


# --------------------------------------------------------------------------------------------
# refusal and a server that is gone


async def test_server_that_never_comes_back_gives_exchange_unavailable(make_exchange: Make) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    policy = StreamPolicy(reconnect_attempts=4, initial_backoff=0.01, max_backoff=0.05)
    async with FaultyReplayServer(rec, silent_after=20) as srv:
        ex = point(make_exchange("bitmart"), srv, policy)
        stream = ex.watch_order_book("ETH/USDT")
        await asyncio.wait_for(anext(stream), WAIT)
        await srv.stop_listening()
        started = time.monotonic()
        with pytest.raises(ExchangeUnavailable, match="4 reconnect attempts") as info:
            await asyncio.wait_for(take(stream, 1000), WAIT)
        # backoffs 0.01, 0.02, 0.04 (+50% jitter at most) and connection refusals
        assert time.monotonic() - started < 1.0
        assert srv.connection_count == 1
    assert "connect" in str(info.value).lower()


async def test_refused_handshake_gives_exchange_unavailable(make_exchange: Make) -> None:
    rec = recording("bitmart", "ticker")
    policy = StreamPolicy(reconnect_attempts=2, initial_backoff=0.005, max_backoff=0.01)
    async with FaultyReplayServer(rec) as srv:
        srv.refuse = True
        ex = point(make_exchange("bitmart"), srv, policy)
        with pytest.raises(ExchangeUnavailable, match="503"):
            await take(ex.watch_ticker("ETH/USDT"), 1)
        assert srv.connection_count == 0


async def test_authentication_failures_are_not_retried(make_exchange: Make) -> None:
    async with FaultyReplayServer(
        recording("bitstamp", "control_error"), rest=bitstamp_rest()
    ) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        with pytest.raises(AuthenticationFailed, match="4009"):
            await take(ex.watch_orders("LTC/USD"), 1)
        assert srv.connection_count == 1
    async with FaultyReplayServer(recording("bitmart", "login_error")) as srv:
        ex = point(make_exchange("bitmart"), srv)
        with pytest.raises(AuthenticationFailed, match="Invalid sign"):
            await take(ex.watch_balance(), 1)
        assert srv.connection_count == 1


# --------------------------------------------------------------------------------------------
# the venue asks, loses, garbles


async def test_bts_request_reconnect_is_honoured(make_exchange: Make) -> None:
    rec = recording("bitstamp", "control_request_reconnect")
    trade = data(rec)[-1]["data"]
    # the trade comes after the request, on the new connection
    async with FaultyReplayServer(rec, rest=bitstamp_rest(), silent_after=1) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        stream = ex.watch_trades("ETH/USD")
        pending = asyncio.ensure_future(anext(stream))
        await until(lambda: srv.connection_count == 2 and srv.active_connections == 1)
        srv.resume_sending()
        got = await asyncio.wait_for(pending, WAIT)
        await stream.aclose()  # type: ignore[attr-defined]
        subscribes = [m for m in srv.received_json() if m["event"] == "bts:subscribe"]
    assert got.id == str(trade["id"])
    assert len(subscribes) == 2


async def test_bitmart_lost_update_rebuilds_from_a_fresh_snapshot(make_exchange: Make) -> None:
    rec = recording("bitmart", "depth_increase100_derived")
    frames = rec.frames
    recv = [i for i, f in enumerate(frames) if f.dir == "recv"]
    lost = recv[-6]
    without = [f for i, f in enumerate(frames) if i != lost]
    expected = bitmart_books(frames)["ETH_USDT"]
    assert bitmart_books(without)["ETH_USDT"] != expected

    last = data(rec)[-1]["data"][0]["ms_t"]
    session = Recording(frames=without, meta=rec.meta)
    async with FaultyReplayServer(session, resume=bitmart_venue_resume(frames), pace=3000.0) as srv:
        ex = point(make_exchange("bitmart"), srv)
        books = await take_until(ex.watch_order_book("ETH/USDT"), lambda b: b.timestamp == last)
        assert srv.connection_count == 2
    assert books[-1].bids == float_levels(expected["bids"])
    assert books[-1].asks == float_levels(expected["asks"])


async def test_a_frame_ccxt_cannot_read_makes_the_stream_reconnect(make_exchange: Make) -> None:
    rec = recording("bitstamp", "live_trades")
    good = data(rec)[0]
    broken = {**good, "data": {"id": 1}}  # no microtimestamp: ccxt's parser raises
    frames = [*rec.frames[:-1], Frame.recv_json(broken), Frame.recv_json(good)]
    session = Recording(frames=frames, meta=rec.meta)
    async with FaultyReplayServer(session, rest=bitstamp_rest(), silent_after=1) as srv:
        ex = point(make_exchange("bitstamp"), srv)
        stream = ex.watch_trades("ETH/USD")
        pending = asyncio.ensure_future(anext(stream))
        await until(lambda: srv.connection_count == 2 and srv.active_connections == 1)
        srv.resume_sending()
        trade = await asyncio.wait_for(pending, WAIT)
        await stream.aclose()  # type: ignore[attr-defined]
    assert trade.id == str(good["data"]["id"])


async def test_trades_that_came_while_the_caller_was_busy_come_at_once(
    make_exchange: Make,
) -> None:
    # ccxt wakes a watch only for a frame that arrives while it waits; trades that came in
    # between sit in its cache. The stream hands them out without waiting for a new frame
    # (here none ever comes).
    rec = recording("bitmart", "trade")
    element = data(rec)[0]["data"][0]
    prices = ["162.12", "162.13", "162.14"]
    frames = [*rec.frames[:-1]]
    for i, price in enumerate(prices):
        moved = {**element, "price": price, "ms_t": element["ms_t"] + i}
        frames.append(Frame.recv_json({"table": "spot/trade", "data": [moved]}))
    session = Recording(frames=frames, meta=rec.meta)
    async with FaultyReplayServer(session, silent_after=1) as srv:
        ex = point(make_exchange("bitmart"), srv)
        stream = ex.watch_trades("ETH/USDT")
        first = await asyncio.wait_for(anext(stream), WAIT)
        srv.resume_sending()  # the caller is busy while the other two arrive
        await asyncio.wait_for(srv.wait_finished(), WAIT)
        await asyncio.sleep(0.05)
        rest = [await asyncio.wait_for(anext(stream), 0.5) for _ in prices[1:]]
        await stream.aclose()  # type: ignore[attr-defined]
    assert [str(t.price) for t in (first, *rest)] == prices


async def test_trades_sent_again_after_a_reconnect_come_once(make_exchange: Make) -> None:
    # BitMart may send recent trades again after a resubscription: the resume hook replays
    # every trade delivered so far on the new connection.
    rec = recording("bitmart", "trade")
    element = data(rec)[0]["data"][0]
    elements = [
        {**element, "price": price, "ms_t": element["ms_t"] + i, "s_t": element["s_t"]}
        for i, price in enumerate(["162.12", "162.13", "162.14", "162.15"])
    ]
    frames = [*rec.frames[:-1]]
    frames += [Frame.recv_json({"table": "spot/trade", "data": [e]}) for e in elements]
    session = Recording(frames=frames, meta=rec.meta)

    def again(delivered: Any) -> list[Frame]:
        return list(delivered)

    async with FaultyReplayServer(session, resume=again, drop_after=2, pace=200.0) as srv:
        ex = point(make_exchange("bitmart"), srv, FAST)
        stream = ex.watch_trades("ETH/USDT")
        trades = [await asyncio.wait_for(anext(stream), WAIT) for _ in elements]
        await asyncio.wait_for(srv.wait_finished(), WAIT)
        with pytest.raises(TimeoutError):  # nothing more: the repeats were dropped
            await asyncio.wait_for(anext(stream), 0.2)
        await stream.aclose()  # type: ignore[attr-defined]
        assert srv.connection_count == 2
        repeated = [f for f in srv.sent_log() if (f.json() or {}).get("table") == "spot/trade"]
        assert len(repeated) == len(elements) + 2  # two trades were sent twice
    assert [str(t.price) for t in trades] == [e["price"] for e in elements]


def test_repeated_sessions_are_unbroken_sequences() -> None:
    bitstamp = bitstamp_long_session(repeats=3)
    micros = [int(d["data"]["microtimestamp"]) for d in data(bitstamp)]
    assert len(micros) == 900 and micros == sorted(set(micros))
    first_run = data(recording("bitstamp", "diff_order_book_derived"))
    assert [d["data"]["bids"] for d in data(bitstamp)[600:]] == [
        d["data"]["bids"] for d in first_run
    ]
    bitmart = bitmart_long_session(repeats=3)
    elements = [d["data"][0] for d in data(bitmart)]
    assert elements[0]["type"] == "snapshot" and len(elements) == 1 + 3 * 299
    versions = [e["version"] for e in elements]
    assert versions == list(range(versions[0], versions[0] + len(versions)))
    stamps = [e["ms_t"] for e in elements]
    assert stamps == sorted(stamps)
