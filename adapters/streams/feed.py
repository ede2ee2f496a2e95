"""The stream loop shared by every feed: start, reconnect, watchdog, cleanup."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, NoReturn, TypeVar

from tenacity import RetryCallState

from ..capabilities import Stream
from ..errors import (
    AdapterError,
    AuthenticationFailed,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrderRequest,
    MissingCredentials,
    OrderNotFound,
    OrderRejected,
    ReconnectBudgetExceeded,
    UnsupportedFeature,
    from_ccxt,
)
from ..retry import bounded_retrying, short
from ..venues.ws import StreamSilent
from .policy import StreamHost, StreamPolicy

__all__ = ["FATAL", "Closed", "Feed", "Gap", "Watch"]

log = logging.getLogger("adapters.streams")
T = TypeVar("T")

# Errors no reconnect can fix: raised to the caller at once.
FATAL = (
    AuthenticationFailed,
    InvalidOrderRequest,
    UnsupportedFeature,
    MissingCredentials,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
)
_MISSING = object()
#: What a reconnect returns once the new subscription is sent (the answer comes later).
_SUBSCRIBED = object()


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch a stream could not recover after a reconnect: items from ``since`` to
    ``until`` (ms since the epoch; None where unknown) may be missing, for ``reason``."""

    since: int | None
    until: int | None
    reason: str


# --------------------------------------------------------------------------------------------
# Which streams use which subscription (cleanup must not cut off another stream)


@dataclass(slots=True)
class _Use:
    count: int = 0
    #: True when the subscription did not exist when the first of these streams started:
    #: only then do the streams tear it down (someone else's subscription is left alone).
    owned: bool = True


USES: weakref.WeakKeyDictionary[Any, dict[tuple[str, str | None, str | None], _Use]] = (
    weakref.WeakKeyDictionary()
)


class Closed(Exception):
    """The exchange closed the connection under the stream (``Exchange.close``)."""


# --------------------------------------------------------------------------------------------
# One WebSocket stream


class Feed(Generic[T]):
    """One typed stream over one ccxt ``watch_*`` call: subclasses say what to watch and
    how to turn ccxt's result into new items."""

    stream: ClassVar[Stream]

    def __init__(
        self,
        ex: StreamHost,
        symbol: str | None,
        *,
        timeframe: str | None = None,
        depth: int | None = None,
    ) -> None:
        self.ex = ex
        self.client: Any = ex.client
        self.symbol = symbol
        self.timeframe = timeframe
        self.depth = depth
        self.policy = ex.stream_policy or StreamPolicy()
        self.silence = self.policy.silence_timeout(self.stream)
        #: Connections this stream has seen replaced, and watchdog trips.
        self.reconnects = 0
        self._reconnected_at: collections.deque[float] = collections.deque()
        self.silences = 0
        self._url = ""
        self._ws: Any = None
        self._use: _Use | None = None
        self._key: tuple[str, str | None, str | None] = (self.stream.value, None, None)
        self._waiting_since: float | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancelled_by_watchdog = False
        self._dog: asyncio.Task[None] | None = None
        #: Stretches this stream could not recover after a reconnect (see :class:`Gap`).
        self.gaps: list[Gap] = []
        self._started_ms = 0
        self._catch_up_due = False
        self._confirm_due = False
        self._inflight: asyncio.Future[Any] | None = None

    def describe(self) -> str:
        """``"bitmart order_book ETH/USDT"``, for logs and errors."""
        parts = [self.ex.id, self.stream.value, self.symbol, self.timeframe]
        return " ".join(p for p in parts if p)

    # -- what subclasses provide ----------------------------------------------------------

    def _watch(self) -> Awaitable[Any]:
        """The ccxt ``watch_*`` call (its awaitable: no coroutine of our own in between)."""
        raise NotImplementedError

    def _collect(self, raw: Any) -> list[T]:
        raise NotImplementedError

    def _prime(self) -> None:
        """Note what ccxt already holds, so that only later changes are yielded."""

    def _pending(self) -> bool:
        """Whether ccxt already holds items this stream has not yielded (they arrived while
        the caller was busy, or just before a reconnect): then they come without waiting
        for another frame, which may be long in coming."""
        return False

    def _on_reconnect(self) -> None:
        """A new connection delivered data (the old one may have lost some)."""

    #: Whether a reconnect returns as soon as the new subscription is sent, so that what
    #: was missed is fetched (:meth:`_backfill`) without waiting for a live item.
    early_catch_up: ClassVar[bool] = False

    async def _backfill(self) -> list[T]:
        """What the stream missed while it was disconnected, oldest first, each marked as
        delivered so the live feed does not repeat it.

        Runs after every reconnect once the new connection delivers data, and (with
        :attr:`early_catch_up`) already when the new subscription is sent: an item that
        landed between the two is caught by the second run.
        """
        return []

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> AsyncGenerator[T, None]:
        """The stream as an async generator (what :class:`Watch` iterates)."""
        try:
            await self._start()
            while True:
                for item in await self._next():
                    yield item
        except Closed:
            log.debug("%s: the exchange was closed; stream ended", self.describe())
        finally:
            await self._stop()

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.symbol is not None:
            self.symbol = (await self.ex.market(self.symbol)).symbol
        self._key = (self.stream.value, self.symbol, self.timeframe)
        topic = self.ex.venue.stream_topic(self.client, self.stream, self.symbol, self.timeframe)
        self._url = topic.url
        uses = USES.setdefault(self.ex, {})
        use = uses.get(self._key)
        if use is None:
            ws = self._clients().get(topic.url)
            owned = ws is None or topic.subscribe_hash not in ws.subscriptions
            use = uses[self._key] = _Use(owned=owned)
        use.count += 1
        self._use = use
        self._started_ms = int(time.time() * 1000)
        self._prime()
        if self.silence is not None:
            self._dog = self._loop.create_task(self._watchdog())

    async def _next(self) -> list[T]:
        unreadable = 0
        while True:
            if self._dog is not None:
                self._task = asyncio.current_task()
            if self._ws is not None and self._clients().get(self._url) is not self._ws:
                # The connection last seen is gone (ccxt forgets a client the venue closed):
                # this call connects anew, and what came meanwhile was lost.
                self._catch_up_due = True
            if self._pending():
                raw = None
            else:
                self._waiting_since = self._loop.time()
                try:
                    raw = await self._answer()
                except BaseException as exc:
                    self._waiting_since = None
                    raw = await self._recover(exc)
                    # Not only on a new connection object: ccxt forgets a client the venue
                    # closed, so by now the new one may be gone too.
                    self._catch_up_due = True
                self._waiting_since = None
            ws = self._clients().get(self._url)
            if ws is not self._ws:
                # Also a reconnect ccxt made on its own, when the connection dropped between
                # two calls: the next call quietly opened a new one.
                if self._ws is not None and ws is not None:
                    self.reconnects += 1
                    log.info("%s: reconnected (%d so far)", self.describe(), self.reconnects)
                    self._spend_reconnect()
                    self._on_reconnect()
                    self._catch_up_due = True
                self._ws = ws
            if raw is _SUBSCRIBED:
                self._confirm_due = True
            elif self._confirm_due:
                self._confirm_due, self._catch_up_due = False, True
            missed = await self._catch_up() if self._catch_up_due else []
            if raw is _SUBSCRIBED:
                if missed:
                    return missed
                continue
            try:
                items = self._collect(raw)
            except Exception as exc:
                error = self._classify(exc)
                unreadable += 1
                if unreadable >= self.policy.reconnect_attempts:
                    raise error from exc
                log.warning("%s: skipped what ccxt returned: %s", self.describe(), short(error))
                if missed:
                    return missed
                continue
            if missed or items:
                return missed + items

    async def _answer(self) -> Any:
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            return await inflight  # the watch a reconnect started
        return await self._watch()

    async def _catch_up(self) -> list[T]:
        self._catch_up_due = False
        try:
            missed = await self._backfill()
        except FATAL:
            raise
        except AdapterError as exc:
            # Tried again with the next answer; the live feed goes on meanwhile.
            self._catch_up_due = True
            log.warning("%s: could not fetch what was missed while reconnecting (%s: %s); "
                        "trying again with the next update", self.describe(),
                        type(exc).__name__, short(exc))  # fmt: skip
            return []
        if missed:
            log.info("%s: %d not delivered yet after a reconnect, fetched over REST",
                     self.describe(), len(missed))  # fmt: skip
        return missed

    def _note_gap(self, gap: Gap) -> None:
        self.gaps.append(gap)
        log.warning("%s: could not backfill from %s to %s (%s); items in between may be "
                    "missing", self.describe(), gap.since, gap.until, gap.reason)  # fmt: skip

    def _clients(self) -> dict[str, Any]:
        clients: dict[str, Any] | None = getattr(self.client, "clients", None)
        return clients if clients is not None else {}

    # -- failures -------------------------------------------------------------------------

    def _classify(self, exc: BaseException) -> AdapterError:
        """The adapter error for ``exc`` if a reconnect may cure it; raise it otherwise."""
        if isinstance(exc, asyncio.CancelledError):
            task = asyncio.current_task()
            if self._cancelled_by_watchdog and task is not None:
                self._cancelled_by_watchdog = False
                task.uncancel()
                return ExchangeUnavailable(f"{self.describe()}: no frame for {self.silence:g}s")
            if task is not None and task.cancelling():
                raise exc
            # ccxt cancels its futures when its connections are closed (Exchange.close).
            raise Closed from exc
        if not isinstance(exc, Exception):
            raise exc
        error = (
            exc
            if isinstance(exc, AdapterError)
            else from_ccxt(exc, exchange=self.ex.id, classify=self.ex.venue.classify_error)
        )
        if isinstance(error, FATAL):
            if error is exc:
                raise error
            raise error from exc
        return error

    def _retryable(self, exc: BaseException) -> bool:
        if not isinstance(exc, Exception):
            return False
        error = (
            exc
            if isinstance(exc, AdapterError)
            else from_ccxt(exc, exchange=self.ex.id, classify=self.ex.venue.classify_error)
        )
        return not isinstance(error, FATAL)

    def _spend_reconnect(self) -> None:
        """Count a reconnect against the budget; raise when the window holds too many."""
        policy = self.policy
        now = self._loop.time()
        times = self._reconnected_at
        times.append(now)
        while times and times[0] <= now - policy.reconnect_window:
            times.popleft()
        if len(times) > policy.reconnect_budget:
            raise ReconnectBudgetExceeded(
                f"{self.describe()}: {len(times)} reconnects within "
                f"{policy.reconnect_window:g}s exceed the reconnect budget "
                f"(StreamPolicy.reconnect_budget={policy.reconnect_budget} per "
                f"reconnect_window={policy.reconnect_window:g}s); each connection fails "
                "soon after it opens",
                budget=policy.reconnect_budget,
                window=policy.reconnect_window,
                reconnects=len(times),
            )

    async def _recover(self, exc: BaseException) -> Any:
        """Reconnect until a watch answers again; returns its answer."""
        error = self._classify(exc)
        log.info("%s: %s: %s; reconnecting", self.describe(), type(exc).__name__, short(error))
        started = self._loop.time()
        policy = self.policy

        def before_sleep(state: RetryCallState) -> None:
            failed = state.outcome.exception() if state.outcome else None
            log.info("%s: reconnect attempt %d/%d failed (%s: %s); next in %.2fs",
                     self.describe(), state.attempt_number, policy.reconnect_attempts,
                     type(failed).__name__, short(failed), state.upcoming_sleep)  # fmt: skip

        def give_up(state: RetryCallState) -> NoReturn:
            failed = state.outcome.exception() if state.outcome else exc
            raise ExchangeUnavailable(
                f"{self.describe()}: no data after {state.attempt_number} reconnect attempts "
                f"in {self._loop.time() - started:.2f}s; last error: "
                f"{type(failed).__name__}: {short(failed)}"
            ) from failed

        retrying = bounded_retrying(
            attempts=policy.reconnect_attempts,
            seconds=policy.reconnect_time,
            wait=policy.backoff,
            retryable=self._retryable,
            give_up=give_up,
            before_sleep=before_sleep,
        )
        # Spread the reconnects of many clients dropped at once.
        await asyncio.sleep(random.uniform(0, policy.initial_backoff))
        try:
            return await retrying(self._reconnect)
        except ExchangeUnavailable:
            raise
        except BaseException as failed:
            self._classify(failed)  # raises the fatal error (or the cancellation)
            raise

    async def _reconnect(self) -> Any:
        ws = self._clients().get(self._url)
        if ws is not None and (
            ws.error is not None or (ws.connection is not None and ws.connection.closed)
        ):
            await self._discard(ws)
        if self._pending():
            return None  # the next call reconnects; first hand out what already came
        if self._dog is not None:
            self._task = asyncio.current_task()
        self._waiting_since = self._loop.time()
        try:
            return await (self._resubscribe() if self.early_catch_up else self._watch())
        finally:
            self._waiting_since = None

    async def _resubscribe(self) -> Any:
        """Start the watch (it connects and subscribes) and return once the subscription
        is sent, so what was missed is fetched without waiting for the next live item (an
        account may be quiet for hours). The watch's answer is awaited by :meth:`_answer`."""
        watch = asyncio.ensure_future(self._watch())
        venue, client = self.ex.venue, self.client
        while not watch.done():
            ws = self._clients().get(self._url)
            # Asked each time: a private channel's name can carry what the venue told while
            # subscribing (Bitstamp's user id).
            topic = venue.stream_topic(client, self.stream, self.symbol, self.timeframe)
            if ws is not None and topic.subscribe_hash in ws.subscriptions:
                self._inflight = watch
                return _SUBSCRIBED
            # ccxt offers no event for "subscription sent"; its watch sets the key first.
            await asyncio.wait({watch}, timeout=0.005)
        return watch.result()  # answered (or failed) before the subscription showed

    async def _discard(self, ws: Any) -> None:
        clients, url = self._clients(), str(ws.url)
        if clients.get(url) is ws:
            del clients[url]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), self.policy.close_timeout)

    # -- watchdog -------------------------------------------------------------------------

    async def _watchdog(self) -> None:
        timeout = self.silence
        assert timeout is not None
        period = min(max(timeout / 4, 0.005), 1.0)
        loop = self._loop
        while True:
            await asyncio.sleep(period)
            since = self._waiting_since
            if since is None or loop.time() - since < timeout:
                continue
            self._waiting_since = loop.time()  # one trip per silent period
            self.silences += 1
            log.warning("%s: no frame for %.3gs; reconnecting", self.describe(), timeout)
            self._trip(timeout)

    def _trip(self, timeout: float) -> None:
        ws = self._clients().get(self._url)
        if ws is not None:
            # Rejects the pending watch (and every other on this connection, which is the
            # one that went quiet) and closes the socket; ccxt forgets the client.
            ws.on_error(StreamSilent(f"{self.describe()}: no frame for {timeout:g}s"))
        elif self._task is not None and not self._task.done():
            # Nothing to drop (the watch waits on something else): interrupt the wait the
            # way asyncio.timeout does; _classify turns it back into a silence.
            self._cancelled_by_watchdog = True
            self._task.cancel()

    # -- cleanup --------------------------------------------------------------------------

    async def _stop(self) -> None:
        if self._inflight is not None:
            self._inflight.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._inflight
            self._inflight = None
        if self._dog is not None:
            self._dog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._dog
            self._dog = None
        use, self._use = self._use, None
        if use is None:
            return
        use.count -= 1
        if use.count > 0:
            return
        uses = USES.get(self.ex)
        if uses is not None and uses.get(self._key) is use:
            del uses[self._key]
        if not use.owned:
            return
        try:
            async with asyncio.timeout(self.policy.close_timeout):
                await self._release()
        except Exception as exc:  # cleanup is best effort: the stream is over either way
            log.debug("%s: cleanup: %s: %s", self.describe(), type(exc).__name__, exc)

    async def _release(self) -> None:
        topic = self.ex.venue.stream_topic(self.client, self.stream, self.symbol, self.timeframe)
        ws = self._clients().get(topic.url)
        if ws is None:
            return
        ws.subscriptions.pop(topic.subscribe_hash, None)
        if all(key in self.ex.venue.auth_subscriptions for key in ws.subscriptions):
            log.debug("%s: last subscription on %s; closing it", self.describe(), topic.url)
            await self._discard(ws)
        elif topic.unsubscribe is not None and not ws.closed():
            # ccxt's own un_watch_* waits for an answer it may never match (BitMart): the
            # frame is sent, the answer is not awaited.
            await ws.send(topic.unsubscribe)


class Watch(AsyncIterator[T]):
    """What ``Exchange.watch_*`` returns: an async iterator of the stream's items that also
    tells what it could not recover.

    ``gaps`` lists the stretches where a reconnect may have lost items and no REST backfill
    could bring them back (public trades; the account's orders and fills are backfilled);
    ``reconnects`` counts the reconnects so far. ``aclose()`` ends the stream.
    """

    def __init__(self, feed: Feed[T]) -> None:
        self._feed = feed
        self._items = feed.run()

    def __aiter__(self) -> Watch[T]:
        return self

    async def __anext__(self) -> T:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        """Close the stream (unsubscribes when no other stream uses the subscription)."""
        await self._items.aclose()

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """Stretches the stream could not recover after a reconnect, oldest first."""
        return tuple(self._feed.gaps)

    @property
    def reconnects(self) -> int:
        """Reconnects so far."""
        return self._feed.reconnects
