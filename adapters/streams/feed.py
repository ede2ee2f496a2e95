"""The stream loop shared by every feed: start, reconnect, watchdog, cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import weakref
from collections.abc import AsyncIterator
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
    UnsupportedFeature,
    from_ccxt,
)
from ..retry import bounded_retrying, short
from ..venues.ws import StreamSilent
from .policy import StreamHost, StreamPolicy

__all__ = ["FATAL", "Closed", "Feed"]

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
        self.silences = 0
        self._url = ""
        self._ws: Any = None
        self._use: _Use | None = None
        self._key: tuple[str, str | None, str | None] = (self.stream.value, None, None)
        self._waiting_since: float | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancelled_by_watchdog = False
        self._dog: asyncio.Task[None] | None = None

    def describe(self) -> str:
        """``"bitmart order_book ETH/USDT"``, for logs and errors."""
        parts = [self.ex.id, self.stream.value, self.symbol, self.timeframe]
        return " ".join(p for p in parts if p)

    # -- what subclasses provide ----------------------------------------------------------

    async def _watch(self) -> Any:
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

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> AsyncIterator[T]:
        """The stream as an async generator (what ``Exchange.watch_*`` returns)."""
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
        self._prime()
        if self.silence is not None:
            self._dog = self._loop.create_task(self._watchdog())

    async def _next(self) -> list[T]:
        unreadable = 0
        while True:
            if self._dog is not None:
                self._task = asyncio.current_task()
            if self._pending():
                raw = None
            else:
                self._waiting_since = self._loop.time()
                try:
                    raw = await self._watch()
                except BaseException as exc:
                    self._waiting_since = None
                    raw = await self._recover(exc)
                self._waiting_since = None
            ws = self._clients().get(self._url)
            if ws is not self._ws:
                # Also a reconnect ccxt made on its own, when the connection dropped between
                # two calls: the next call quietly opened a new one.
                if self._ws is not None and ws is not None:
                    self.reconnects += 1
                    log.info("%s: reconnected (%d so far)", self.describe(), self.reconnects)
                    self._on_reconnect()
                self._ws = ws
            try:
                items = self._collect(raw)
            except Exception as exc:
                error = self._classify(exc)
                unreadable += 1
                if unreadable >= self.policy.reconnect_attempts:
                    raise error from exc
                log.warning("%s: skipped what ccxt returned: %s", self.describe(), short(error))
                continue
            if items:
                return items

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
            return await self._watch()
        finally:
            self._waiting_since = None

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
