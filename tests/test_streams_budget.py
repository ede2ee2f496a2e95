"""Streams: the reconnect budget and the bounded close (issue 11, "Streams").

* A venue whose every connection delivers a frame and then fails used to be reconnected to
  for ever (each new connection "worked", so the attempt counter started over): now at most
  ``StreamPolicy.reconnect_budget`` reconnects fit in ``reconnect_window`` seconds.
* A peer that never answers close frames held each dropped connection (one of the aiohttp
  session's 100 slots, shared with REST) for aiohttp's 10 s close wait: now a connection
  is dropped without waiting on the peer for more than ``CLOSE_WAIT``.

Every server here is a replay server on 127.0.0.1, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from dataclasses import replace

import pytest

from adapters import ExchangeUnavailable, ReconnectBudgetExceeded
from adapters.exchange import Exchange
from adapters.replay import frame_keys
from adapters.streams import StreamPolicy

from .replay_faults import FaultyReplayServer
from .streams_support import FAST, WAIT, bitstamp_rest, point, recording, until

Make = Callable[..., Exchange]

pytestmark = pytest.mark.faults


# -- the reconnect budget ------------------------------------------------------------------------


async def test_connections_that_each_fail_after_a_frame_exhaust_the_budget(
    make_exchange: Make,
) -> None:
    # BitMart's book session, each connection closed by the server after one update (on each
    # reconnect the server first sends a fresh snapshot, so every connection yields a book).
    rec = recording("bitmart", "depth_increase100_derived")
    drops = range(1, len(rec.recv))
    policy = replace(FAST, reconnect_budget=5, reconnect_window=60.0)
    books = 0
    async with FaultyReplayServer(rec, compress=True, drop_after=drops) as srv:
        ex = point(make_exchange("bitmart"), srv, policy)
        with pytest.raises(ReconnectBudgetExceeded) as raised:
            async with asyncio.timeout(WAIT):
                async for _ in ex.watch_order_book("ETH/USDT"):
                    books += 1
        connections = srv.connection_count
    error = raised.value
    assert isinstance(error, ExchangeUnavailable)  # caught where any outage is
    assert (error.budget, error.window, error.reconnects) == (5, 60.0, 6)
    assert str(error).startswith("bitmart order_book ETH/USDT: 6 reconnects within 60s")
    assert "StreamPolicy.reconnect_budget=5 per reconnect_window=60s" in str(error)
    # the first connection and six reconnects; the first six connections handed out books,
    # the seventh (one reconnect over the budget) raised before handing out any
    assert connections == 7
    assert books >= 6


async def test_reconnects_further_apart_than_the_window_never_exhaust_it(
    make_exchange: Make,
) -> None:
    # One reconnect allowed per 50 ms; the server paces updates 100 ms apart on each
    # connection, so no two reconnects fall within one window.
    policy = replace(FAST, reconnect_budget=1, reconnect_window=0.05)
    rec = recording("bitmart", "depth_increase100_derived")
    async with FaultyReplayServer(rec, compress=True, drop_after=range(1, 8), pace=10.0) as srv:
        stream = point(make_exchange("bitmart"), srv, policy).watch_order_book("ETH/USDT")
        try:
            async with asyncio.timeout(WAIT):
                async for _ in stream:
                    if srv.connection_count >= 8:
                        break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        assert srv.connection_count == 8


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("reconnect_budget", 0, "reconnect_budget must be at least 1, got 0"),
        ("reconnect_window", 0.0, "reconnect_window must be > 0 seconds, got 0.0"),
        ("reconnect_window", math.inf, "reconnect_window must be > 0 seconds, got inf"),
        ("reconnect_window", math.nan, "reconnect_window must be > 0 seconds, got nan"),
    ],
)
def test_the_budget_is_checked(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StreamPolicy(**{field: value})  # type: ignore[arg-type]


def test_default_budget() -> None:
    policy = StreamPolicy()
    assert (policy.reconnect_budget, policy.reconnect_window) == (30, 300.0)


# -- the bounded close ----------------------------------------------------------------------------

#: Enough reconnects for 100 drops in a row; backoffs in milliseconds.
MANY = replace(FAST, reconnect_attempts=1000, reconnect_budget=1000)


def deaf_venue() -> FaultyReplayServer:
    """Bitstamp's trades, where every subscription is answered by ``bts:request_reconnect``
    (so the client drops the connection at once) and no close frame is ever answered."""
    rec = recording("bitstamp", "live_trades")
    reconnect = recording("bitstamp", "control_request_reconnect")
    ask = next(f.text for f in reconnect.recv if f.text and "bts:request_reconnect" in f.text)
    (subscribe,) = rec.sent
    return FaultyReplayServer(
        rec,
        rest=bitstamp_rest(),
        auto_reply=dict.fromkeys(frame_keys(subscribe.decoded_text()), ask),
        ignore_close=True,
    )


async def drop_connections(ex: Exchange, srv: FaultyReplayServer, count: int) -> None:
    """Run a trade stream until the server has seen ``count`` connections, each dropped by
    the client on the venue's request."""
    stream = ex.watch_trades("ETH/USD")
    pending = asyncio.ensure_future(anext(stream))
    try:
        await until(lambda: srv.connection_count >= count, within=3 * WAIT)
    finally:
        pending.cancel()
        with contextlib.suppress(BaseException):
            await pending
        await stream.aclose()  # type: ignore[attr-defined]


async def test_a_dropped_connection_is_not_held_open_for_a_deaf_peer(make_exchange: Make) -> None:
    async with deaf_venue() as srv:
        ex = point(make_exchange("bitstamp"), srv, MANY)
        await drop_connections(ex, srv, 20)
        # aiohttp waits 10 s for each answering close frame; no connection is held that long
        await until(lambda: srv.active_connections == 0, within=WAIT)


async def test_rest_calls_are_not_starved_after_100_fast_drops(make_exchange: Make) -> None:
    async with deaf_venue() as srv:
        # a REST call that had to wait for one of the 100 connection slots would time out
        ex = point(make_exchange("bitstamp", timeout_ms=3_000), srv, MANY)
        await drop_connections(ex, srv, 100)
        # straight to ccxt: the adapter's retries would hide a first call that timed out
        markets = await ex.client.fetch_markets()
    assert "ETH/USD" in {m["symbol"] for m in markets}
