"""Helpers for the stream tests: recordings, REST routes, an adapter pointed at a replay
server, bounded collection from a stream, and longer sessions built from the derived ones.

Every wait here is bounded: a stream that hangs fails the test within seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml

from adapters.exchange import Exchange
from adapters.replay import Frame, Recording, RestHandler, RestResponse, ResumeHook
from adapters.streams import StreamPolicy
from adapters.venues.bitmart.replay import bitmart_book_resume, repeat_depth_session
from adapters.venues.bitstamp.replay import repeat_diff_session

from .replay_faults import FaultyReplayServer

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
BITSTAMP_WS = CASSETTES / "bitstamp" / "ws"
BITMART_WS = CASSETTES / "bitmart" / "ws"
#: The sessions the package ships (the paper demo's, the README examples'), package data.
SHIPPED = ROOT / "adapters" / "sessions"
#: Bound for things that take milliseconds when they work.
WAIT = 5.0

#: Small backoffs so that a test with many reconnects runs in a second or two; every other
#: bound is the production one unless a test says otherwise.
FAST = StreamPolicy(initial_backoff=0.002, max_backoff=0.02, jitter=0.5, close_timeout=0.5)

T = TypeVar("T")


def session_path(exchange: str, name: str) -> Path:
    """``<name>`` among the package's shipped sessions, else under ``cassettes/<exchange>/ws/``."""
    shipped = SHIPPED / exchange / name
    return shipped if shipped.is_file() else CASSETTES / exchange / "ws" / name


def recording(exchange: str, name: str) -> Recording:
    """The recording ``<name>.jsonl`` (see :func:`session_path`)."""
    return Recording.load(session_path(exchange, f"{name}.jsonl"))


def data(rec: Recording) -> list[Any]:
    """The recording's data frames, parsed."""
    return [f.json() for f in rec.data_frames()]


def rest_file(path: Path) -> RestResponse:
    """A REST route answering with a reference-style ``{"response": ...}`` file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return RestResponse(doc.get("status") or 200, doc["response"])


def bitstamp_snapshot() -> dict[str, Any]:
    """The REST book the derived Bitstamp session starts from."""
    doc = json.loads((BITSTAMP_WS / "rest" / "order_book_ethusd_derived.json").read_text())
    snapshot: dict[str, Any] = doc["response"]
    return snapshot


def bitstamp_rest(
    extra: dict[str, RestResponse | RestHandler] | None = None,
) -> dict[str, RestResponse | RestHandler]:
    """Bitstamp's markets and websockets token, plus ``extra`` routes (``"GET /path"``)."""
    return {
        "GET /api/v2/markets/": rest_file(BITSTAMP_WS / "rest" / "markets.json"),
        "POST /api/v2/websockets_token/": rest_file(BITSTAMP_WS / "rest" / "websockets_token.json"),
        **(extra or {}),
    }


def bitmart_wallet() -> RestResponse:
    """``GET /spot/v1/wallet`` as recorded in the REST cassette ``fetch_balance.yaml``."""
    doc = yaml.safe_load((CASSETTES / "bitmart" / "fetch_balance.yaml").read_text())
    for interaction in doc["interactions"]:
        if interaction["request"]["uri"].endswith("/spot/v1/wallet"):
            return RestResponse(200, interaction["response"]["body"]["string"])
    raise AssertionError("no wallet interaction in fetch_balance.yaml")


def bitmart_venue_resume(frames: list[Frame]) -> ResumeHook:
    """A reconnect hook sending the venue's own book at the last delivered version: built
    from ``frames`` (the whole session), so an update the client never got is in it."""

    def version(frame: Frame) -> int:
        obj = frame.json() or {}
        elements = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(elements, list) or not elements:
            return 0
        return int(elements[0].get("version", 0))

    def resume(delivered: Any) -> list[Frame]:
        upto = version(delivered[-1])
        return bitmart_book_resume([f for f in frames if f.dir == "recv" and version(f) <= upto])

    return resume


def point(ex: Exchange, srv: FaultyReplayServer, policy: StreamPolicy = FAST) -> Exchange:
    """Send ``ex``'s REST and WebSocket traffic to ``srv``; BitMart gets its markets from the
    recorded ccxt markets (no REST call), Bitstamp loads them from ``srv``."""
    ex.venue.point_at(ex.client, srv.http_url, srv.ws_url)
    if ex.venue.id == "bitmart":
        markets = json.loads(
            session_path("bitmart", "markets.spot.json").read_text(encoding="utf-8")
        )
        ex.client.set_markets(list(markets.values()))
    ex.stream_policy = policy
    return ex


async def take(stream: AsyncIterator[T], count: int, within: float = WAIT) -> list[T]:
    """The first ``count`` items of ``stream`` within ``within`` seconds (then closes it)."""
    items: list[T] = []

    async def collect() -> None:
        async for item in stream:
            items.append(item)
            if len(items) >= count:
                return

    try:
        await asyncio.wait_for(collect(), within)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return items


async def take_until(
    stream: AsyncIterator[T], done: Callable[[T], bool], limit: int = 100_000, within: float = WAIT
) -> list[T]:
    """Items of ``stream`` up to the first one with ``done(item)``, bounded in count and time."""
    items: list[T] = []

    async def collect() -> None:
        async for item in stream:
            items.append(item)
            if done(item) or len(items) >= limit:
                return

    try:
        await asyncio.wait_for(collect(), within)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    assert items and done(items[-1]), f"stream stopped after {len(items)} items"
    return items


async def until(predicate: Callable[[], bool], within: float = WAIT) -> None:
    """Wait until ``predicate()`` holds (polling), at most ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def float_levels(levels: list[list[str]]) -> tuple[tuple[float, float], ...]:
    """Venue level strings as the float tuples an ``OrderBook`` holds."""
    return tuple((float(p), float(a)) for p, a in levels)


def dec(text: Any) -> Decimal:
    """A frame's number (a string, or a JSON number) as a Decimal."""
    return Decimal(str(text))


# --------------------------------------------------------------------------------------------
# Longer sessions: the derived sessions repeated, for tests with many frames.


def bitstamp_long_session(repeats: int) -> Recording:
    """``diff_order_book_derived`` with its 300 diffs played ``repeats`` times in a row."""
    return repeat_diff_session(recording("bitstamp", "diff_order_book_derived"), repeats)


def bitmart_long_session(repeats: int) -> Recording:
    """``depth_increase100_derived``: its snapshot, then its updates ``repeats`` times."""
    return repeat_depth_session(recording("bitmart", "depth_increase100_derived"), repeats)


async def watch_until(
    watch: Callable[[], Any],
    done: Callable[[Any], bool],
    *,
    per_watch: float,
    max_errors: int,
    attempts: int,
) -> tuple[Any, list[BaseException]]:
    """Call ``watch`` until ``done(result)``; network errors count as reconnects (bounded).

    ccxt.pro returns its live book and only wakes calls pending when a frame is handled, so
    the last frame may land between two calls: a watch that times out is answered by the
    last result.
    """
    import ccxt

    errors: list[BaseException] = []
    result: Any = None
    for _ in range(attempts):
        try:
            result = await asyncio.wait_for(watch(), per_watch)
        except ccxt.NetworkError as exc:
            errors.append(exc)
            assert len(errors) < max_errors, errors
            continue
        except TimeoutError:
            if result is not None and done(result):
                return result, errors
            raise
        if done(result):
            return result, errors
    raise AssertionError("stream did not finish")
