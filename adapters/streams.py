"""Typed WebSocket streams: async iterators of models over ccxt.pro's ``watch_*`` calls.

Use them through :class:`~adapters.exchange.Exchange`::

    async with open_exchange("bitmart") as ex:
        async for book in ex.watch_order_book("BTC/USDT", depth=10):
            print(book.best_bid, book.best_ask)

What a stream adds to ccxt.pro:

* **Typed values.** Books are :class:`OrderBook` copies (float levels, Decimal accessors),
  taken when the book changed, so later changes never alter a book already handed out.
  Trades, tickers, candles, orders, fills and balances are the Decimal models of the REST
  calls, built by the same converters. Trades, orders and fills come one item at a time,
  each once (an order again whenever it changes).
* **Reconnect.** ccxt never reconnects by itself; its next ``watch_*`` call does. A stream
  treats any connection failure (a drop, a close frame, ``bts:request_reconnect``, a frame
  ccxt cannot read, a book that cannot be kept consistent) as a reason to reconnect: it
  reconnects, resubscribes and rebuilds the book (Bitstamp: a fresh REST snapshot once the
  deltas are flowing again; BitMart: the snapshot the venue sends on subscription). The
  first attempt starts after a short random delay, the next ones back off exponentially
  with jitter (tenacity). After :attr:`StreamPolicy.reconnect_attempts` attempts without
  any data, or :attr:`StreamPolicy.reconnect_time` seconds, the stream raises
  :class:`ExchangeUnavailable`. Authentication failures, unknown symbols and unsupported
  features are raised at once.
* **Watchdog.** While the caller waits for the next item, a channel that sends nothing for
  its silence timeout (:data:`DEFAULT_SILENCE`, per channel) has its connection dropped,
  which starts a reconnect. Time the caller spends with an item is not silence.
* **Consistent books.** A BitMart version gap, a Bitstamp snapshot that does not fit the
  cached deltas, or a frame that cannot be parsed drops the connection, so the book is
  rebuilt from a new snapshot instead of drifting (see :mod:`adapters.venues.bitmart_ws`,
  :mod:`adapters.venues.bitstamp_ws`).
* **Cleanup.** Closing the iterator (``break`` out of ``async for``, or ``aclose()``)
  stops the watchdog and, when no other stream of this exchange uses the subscription and
  the stream opened it, unsubscribes; a connection left with no subscription is closed.
  ``break`` leaves the iterator to the garbage collector, which closes it a moment later;
  use ``contextlib.aclosing`` to close it at a known point.

Bitstamp has no candle channel: :func:`watch_candles` polls ``fetch_ohlcv`` on every candle
boundary (plus :attr:`StreamPolicy.candle_poll_delay`) and yields the candles that changed.

Settings: ``open_exchange(..., streams=StreamPolicy(...))`` (see :class:`StreamPolicy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Generic, NoReturn, Protocol, TypeVar

from tenacity import RetryCallState

from .capabilities import Capabilities, Stream
from .convert import (
    balances_from_ccxt,
    candle_from_ccxt,
    fill_from_ccxt,
    order_from_ccxt,
    read_answer,
    ticker_from_ccxt,
    trade_from_ccxt,
)
from .enums import OrderStatus
from .errors import (
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
from .models import Balances, Candle, Fill, Market, Order, OrderBook, Ticker, Trade
from .retry import backoff_seconds, bounded_retrying, short
from .venues.base import Venue
from .venues.ws import StreamSilent

__all__ = [
    "DEFAULT_SILENCE",
    "StreamHost",
    "StreamPolicy",
    "watch_balance",
    "watch_candles",
    "watch_my_trades",
    "watch_order_book",
    "watch_orders",
    "watch_ticker",
    "watch_trades",
]

log = logging.getLogger("adapters.streams")
T = TypeVar("T")

#: Seconds without a frame after which the watchdog reconnects, per channel. None: no
#: watchdog (an account's orders, fills and balance are often quiet for hours; a dead
#: connection is still found by ccxt's ping/pong keep-alive, about 10 s).
DEFAULT_SILENCE: Mapping[Stream, float | None] = MappingProxyType(
    {
        # Books of listed markets change many times a minute; BitMart pushes every 100 ms.
        Stream.ORDER_BOOK: 30.0,
        # Quiet markets can go minutes without a trade.
        Stream.TRADES: 300.0,
        Stream.TICKER: 60.0,
        Stream.CANDLES: 120.0,
        Stream.ORDERS: None,
        Stream.MY_TRADES: None,
        Stream.BALANCE: None,
    }
)

# Errors no reconnect can fix: raised to the caller at once.
_FATAL = (
    AuthenticationFailed,
    InvalidOrderRequest,
    UnsupportedFeature,
    MissingCredentials,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """How streams reconnect and when the watchdog trips: ``open_exchange(..., streams=...)``.

    After a failure the first reconnect starts within ``initial_backoff`` seconds (at
    random, so many clients do not reconnect in step); a failed attempt waits
    ``initial_backoff * 2**(n-1)`` (at most ``max_backoff``) plus up to ``jitter`` of that
    at random. ``reconnect_attempts`` attempts or ``reconnect_time`` seconds without data
    raise :class:`ExchangeUnavailable`. ``silence`` overrides :data:`DEFAULT_SILENCE` per
    channel (None disables the watchdog). Bitstamp candles are polled ``candle_poll_delay``
    seconds after each candle boundary (``candle_poll_interval`` replaces the candle length
    as the polling period, for tests). ``close_timeout`` bounds the cleanup of a stream.
    """

    reconnect_attempts: int = 8
    reconnect_time: float = 120.0
    initial_backoff: float = 0.25
    max_backoff: float = 10.0
    jitter: float = 0.5
    silence: Mapping[Stream, float | None] = field(default_factory=dict)
    candle_poll_delay: float = 2.0
    candle_poll_interval: float | None = None
    close_timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.reconnect_attempts < 1:
            raise ValueError("reconnect_attempts must be at least 1")
        numbers = [self.reconnect_time, self.initial_backoff, self.max_backoff, self.jitter,
                   self.candle_poll_delay, self.close_timeout]  # fmt: skip
        numbers += [v for v in self.silence.values() if v is not None]
        if self.candle_poll_interval is not None:
            numbers.append(self.candle_poll_interval)
        if not all(math.isfinite(n) and n >= 0 for n in numbers):
            raise ValueError("stream policy times must be finite and >= 0")

    def silence_timeout(self, stream: Stream) -> float | None:
        """The watchdog's silence timeout for ``stream`` (None: no watchdog)."""
        if stream in self.silence:
            return self.silence[stream]
        return DEFAULT_SILENCE.get(stream)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed reconnect attempt ``attempt`` (1-based)."""
        return backoff_seconds(attempt, self.initial_backoff, self.max_backoff, self.jitter)


class StreamHost(Protocol):
    """What a stream needs of the exchange it runs on (:class:`adapters.exchange.Exchange`
    provides it; streams never import it, so the exchange can import them)."""

    @property
    def id(self) -> str: ...
    @property
    def client(self) -> Any: ...
    @property
    def venue(self) -> Venue: ...
    @property
    def stream_policy(self) -> StreamPolicy | None: ...
    def capabilities(self) -> Capabilities: ...
    def require_credentials(self) -> None: ...
    async def market(self, symbol: str) -> Market: ...
    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = ..., since: int | None = ..., limit: int | None = ...
    ) -> list[Candle]: ...


# --------------------------------------------------------------------------------------------
# The public stream functions (Exchange.watch_* delegate here)


def watch_order_book(
    ex: StreamHost, symbol: str, depth: int | None = None
) -> AsyncIterator[OrderBook]:
    """The order book of ``symbol`` each time it changes, at most ``depth`` levels a side."""
    ex.capabilities().require_stream(Stream.ORDER_BOOK)
    if depth is not None and depth < 1:
        raise InvalidOrderRequest(f"depth must be at least 1, got {depth}")
    return _BookFeed(ex, symbol, depth=depth).run()


def watch_trades(ex: StreamHost, symbol: str) -> AsyncIterator[Trade]:
    """Every public trade of ``symbol``, oldest first."""
    ex.capabilities().require_stream(Stream.TRADES)
    return _TradeFeed(ex, symbol).run()


def watch_ticker(ex: StreamHost, symbol: str) -> AsyncIterator[Ticker]:
    """The ticker of ``symbol`` each time the venue pushes one (BitMart only)."""
    ex.capabilities().require_stream(Stream.TICKER)
    return _TickerFeed(ex, symbol).run()


def watch_candles(ex: StreamHost, symbol: str, timeframe: str = "1m") -> AsyncIterator[Candle]:
    """Candles of ``symbol`` as they form: a candle comes again while it changes (a later
    item with the same ``timestamp`` supersedes the earlier one).

    BitMart: the kline channel. Bitstamp: ``fetch_ohlcv`` polled at each candle boundary.
    """
    ex.capabilities().require_stream(Stream.CANDLES)
    timeframes = _candle_timeframes(ex)
    if timeframe not in timeframes:
        raise InvalidOrderRequest(
            f"{ex.id} has no {timeframe!r} candles; use one of {', '.join(timeframes)}"
        )
    if ex.venue.candles_by_polling:
        return _poll_candles(ex, symbol, timeframe)
    return _CandleFeed(ex, symbol, timeframe=timeframe).run()


def watch_orders(ex: StreamHost, symbol: str | None = None) -> AsyncIterator[Order]:
    """The account's orders each time one changes (placed, filled, cancelled)."""
    _check_private(ex, Stream.ORDERS, symbol)
    return _OrderFeed(ex, symbol).run()


def watch_my_trades(ex: StreamHost, symbol: str | None = None) -> AsyncIterator[Fill]:
    """Each execution of the account's orders, once."""
    _check_private(ex, Stream.MY_TRADES, symbol)
    return _FillFeed(ex, symbol).run()


def watch_balance(ex: StreamHost) -> AsyncIterator[Balances]:
    """The account's balances each time they change (BitMart)."""
    _check_private(ex, Stream.BALANCE, None)
    return _BalanceFeed(ex, None).run()


def _check_private(ex: StreamHost, stream: Stream, symbol: str | None) -> None:
    ex.capabilities().require_stream(stream)
    # Before anything is sent: no token request, no login.
    ex.require_credentials()
    if symbol is None and ex.venue.private_streams_per_market:
        raise UnsupportedFeature(
            f"{ex.id} streams {stream.value} per market; pass a symbol, e.g. "
            f"watch_{stream.value}('BTC/USD')"
        )


def _candle_timeframes(ex: StreamHost) -> list[str]:
    client = ex.client
    if ex.venue.candles_by_polling:
        return list(client.timeframes or {})
    return list(client.options.get("timeframes") or {})


# --------------------------------------------------------------------------------------------
# Which streams use which subscription (cleanup must not cut off another stream)


@dataclass(slots=True)
class _Use:
    count: int = 0
    #: True when the subscription did not exist when the first of these streams started:
    #: only then do the streams tear it down (someone else's subscription is left alone).
    owned: bool = True


_USES: weakref.WeakKeyDictionary[Any, dict[tuple[str, str | None, str | None], _Use]] = (
    weakref.WeakKeyDictionary()
)


class _Closed(Exception):
    """The exchange closed the connection under the stream (``Exchange.close``)."""


# --------------------------------------------------------------------------------------------
# One WebSocket stream


class _Feed(Generic[T]):
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
        except _Closed:
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
        uses = _USES.setdefault(self.ex, {})
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
            raise _Closed from exc
        if not isinstance(exc, Exception):
            raise exc
        error = (
            exc
            if isinstance(exc, AdapterError)
            else from_ccxt(exc, exchange=self.ex.id, classify=self.ex.venue.classify_error)
        )
        if isinstance(error, _FATAL):
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
        return not isinstance(error, _FATAL)

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
        uses = _USES.get(self.ex)
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


# --------------------------------------------------------------------------------------------
# The feeds


class _BookFeed(_Feed[OrderBook]):
    stream = Stream.ORDER_BOOK

    async def _watch(self) -> Any:
        return await self.client.watch_order_book(self.symbol)

    def _collect(self, raw: Any) -> list[OrderBook]:
        # A copy: ccxt keeps changing the book it returned.
        return [OrderBook.from_ccxt_live(raw, self.depth)]


class _TickerFeed(_Feed[Ticker]):
    stream = Stream.TICKER

    async def _watch(self) -> Any:
        return await self.client.watch_ticker(self.symbol)

    def _collect(self, raw: Any) -> list[Ticker]:

        return [read_answer(self.ex.id, "watch_ticker", lambda: ticker_from_ccxt(raw))]


class _BalanceFeed(_Feed[Balances]):
    stream = Stream.BALANCE

    async def _watch(self) -> Any:
        return await self.client.watch_balance()

    def _collect(self, raw: Any) -> list[Balances]:

        return [read_answer(self.ex.id, "watch_balance", lambda: balances_from_ccxt(raw))]


class _TradeFeed(_Feed[Trade]):
    """Trades are read from ccxt's per-symbol cache, not from ``watch_trades``' answer:
    ccxt's "new updates" counter is shared by every caller of the client, so two streams
    (or a stream and the paper feed) would take each other's trades."""

    stream = Stream.TRADES

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        self._last: Any = None
        self._after_reconnect = False
        self._last_ts: int | None = None
        self._last_keys: set[Any] = set()

    async def _watch(self) -> Any:
        return await self.client.watch_trades(self.symbol)

    def _cache(self) -> Any:
        trades = getattr(self.client, "trades", None)
        return trades.get(self.symbol) if trades else None

    def _prime(self) -> None:
        cache = self._cache()
        self._last = cache[-1] if cache else None

    def _pending(self) -> bool:
        cache = self._cache()
        return bool(cache) and cache[-1] is not self._last

    def _on_reconnect(self) -> None:
        # A venue may send recent trades again after a (re)subscription.
        self._after_reconnect = True

    def _collect(self, raw: Any) -> list[Trade]:

        fresh = _appended_since(self._cache() or raw, self._last, self.describe())
        if not fresh:
            return []
        self._last = fresh[-1]
        if self._after_reconnect:
            fresh = [t for t in fresh if not self._seen(t)]
            if fresh:
                self._after_reconnect = False
        for t in fresh:
            self._note(t)
        return read_answer(self.ex.id, "watch_trades", lambda: [trade_from_ccxt(t) for t in fresh])

    def _note(self, trade: Any) -> None:
        ts = trade.get("timestamp")
        if ts != self._last_ts:
            self._last_ts, self._last_keys = ts, set()
        self._last_keys.add(_trade_key(trade))

    def _seen(self, trade: Any) -> bool:
        ts, last = trade.get("timestamp"), self._last_ts
        if ts is None or last is None:
            return False
        return bool(ts < last or (ts == last and _trade_key(trade) in self._last_keys))


def _trade_key(trade: Any) -> Any:
    return trade.get("id") or (trade.get("side"), trade.get("price"), trade.get("amount"))


def _appended_since(cache: Any, last: Any, what: str) -> list[Any]:
    """The items appended to a ccxt ``ArrayCache`` after ``last`` (by identity)."""
    n = len(cache)
    if not n or cache[n - 1] is last:
        return []
    fresh = []
    for index in range(n - 1, -1, -1):
        item = cache[index]
        if item is last:
            break
        fresh.append(item)
    else:
        if last is not None:
            log.warning("%s: more items arrived than ccxt keeps; some were missed", what)
    fresh.reverse()
    return fresh


class _Changes:
    """Finds the entries of a ccxt ``ArrayCacheBySymbolById`` that changed since the last
    look. ccxt moves an entry to the end when it changes and gives it the new frame as
    ``info``; walking back from the end until an entry still carries the ``info`` seen last
    time finds every change."""

    def __init__(self, *, once: bool) -> None:
        self.once = once
        self.seen: dict[Any, Any] = {}

    def prime(self, cache: Any) -> None:
        for entry in cache or ():
            self.seen[entry.get("id")] = entry.get("info")

    def pending(self, cache: Any) -> bool:
        if not cache:
            return False
        entry = cache[-1]
        known = self.seen.get(entry.get("id"), _MISSING)
        return known is _MISSING if self.once else known is not entry.get("info")

    def take(self, cache: Any) -> list[Any]:
        changed = []
        seen = self.seen
        for index in range(len(cache) - 1, -1, -1):
            entry = cache[index]
            known = seen.get(entry.get("id"), _MISSING)
            if known is entry.get("info"):
                break
            if self.once and known is not _MISSING:
                continue  # an execution seen before, repeated by a later update
            changed.append(entry)
        changed.reverse()
        for entry in changed:
            seen[entry.get("id")] = entry.get("info")
        if len(seen) > 4 * max(len(cache), 1000):
            kept = {e.get("id") for e in cache}
            self.seen = {k: v for k, v in seen.items() if k in kept}
        return changed


class _OrderFeed(_Feed[Order]):
    stream = Stream.ORDERS

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        self._changes = _Changes(once=False)

    def _ccxt_symbol(self) -> str | None:
        # BitMart: one subscription for all markets (filtered here), shared with the fills.
        return self.symbol if self.ex.venue.private_streams_per_market else None

    async def _watch(self) -> Any:
        return await self.client.watch_orders(self._ccxt_symbol())

    def _prime(self) -> None:
        self._changes.prime(getattr(self.client, "orders", None))

    def _pending(self) -> bool:
        return self._changes.pending(getattr(self.client, "orders", None))

    def _collect(self, raw: Any) -> list[Order]:

        cache = getattr(self.client, "orders", None)
        changed = self._changes.take(cache if cache is not None else raw)
        wanted = [o for o in changed if self.symbol is None or o.get("symbol") == self.symbol]
        return read_answer(
            self.ex.id,
            "watch_orders",
            lambda: [order_from_ccxt(o, default_status=OrderStatus.OPEN) for o in wanted],
        )


class _FillFeed(_Feed[Fill]):
    stream = Stream.MY_TRADES

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        self._changes = _Changes(once=True)

    async def _watch(self) -> Any:
        per_market = self.ex.venue.private_streams_per_market
        return await self.client.watch_my_trades(self.symbol if per_market else None)

    def _prime(self) -> None:
        self._changes.prime(getattr(self.client, "myTrades", None))

    def _pending(self) -> bool:
        return self._changes.pending(getattr(self.client, "myTrades", None))

    def _collect(self, raw: Any) -> list[Fill]:

        cache = getattr(self.client, "myTrades", None)
        changed = self._changes.take(cache if cache is not None else raw)
        wanted = [t for t in changed if self.symbol is None or t.get("symbol") == self.symbol]
        return read_answer(
            self.ex.id, "watch_my_trades", lambda: [fill_from_ccxt(t) for t in wanted]
        )


class _CandleFeed(_Feed[Candle]):
    """BitMart's kline channel. ccxt updates the current candle's row in place, so the last
    few rows are compared with what was yielded."""

    stream = Stream.CANDLES
    _RECENT = 3

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        self._yielded: dict[int, tuple[Any, ...]] = {}

    async def _watch(self) -> Any:
        return await self.client.watch_ohlcv(self.symbol, self.timeframe)

    def _rows(self, raw: Any) -> Any:
        per_symbol = (getattr(self.client, "ohlcvs", None) or {}).get(self.symbol) or {}
        rows = per_symbol.get(self.timeframe)
        return rows if rows is not None else raw

    def _prime(self) -> None:
        rows = self._rows(())
        for row in rows[-self._RECENT :]:
            self._yielded[row[0]] = tuple(row)

    def _collect(self, raw: Any) -> list[Candle]:

        rows = self._rows(raw)
        changed = [r for r in rows[-self._RECENT :] if self._yielded.get(r[0]) != tuple(r)]
        for row in changed:
            self._yielded[row[0]] = tuple(row)
        if len(self._yielded) > 4 * self._RECENT:
            for ts in sorted(self._yielded)[: -self._RECENT]:
                del self._yielded[ts]
        symbol, timeframe = self.symbol or "", self.timeframe or ""
        return read_answer(
            self.ex.id,
            "watch_candles",
            lambda: [candle_from_ccxt(symbol, timeframe, r) for r in changed],
        )


# --------------------------------------------------------------------------------------------
# Bitstamp candles: REST polling on the candle boundary


async def _poll_candles(ex: StreamHost, symbol: str, timeframe: str) -> AsyncIterator[Candle]:
    policy = ex.stream_policy or StreamPolicy()
    symbol = (await ex.market(symbol)).symbol
    period = policy.candle_poll_interval or float(ex.client.parse_timeframe(timeframe))
    what = f"{ex.id} candles {symbol} {timeframe}"
    yielded: dict[int, Candle] = {}
    since: int | None = None

    def give_up(state: RetryCallState) -> NoReturn:
        failed = state.outcome.exception() if state.outcome else None
        raise ExchangeUnavailable(
            f"{what}: no answer after {state.attempt_number} polls; last error: "
            f"{type(failed).__name__}: {short(failed)}"
        ) from failed

    def retryable(exc: BaseException) -> bool:
        return isinstance(exc, AdapterError) and not isinstance(exc, _FATAL)

    while True:
        retrying = bounded_retrying(
            attempts=policy.reconnect_attempts,
            seconds=policy.reconnect_time,
            wait=policy.backoff,
            retryable=retryable,
            give_up=give_up,
        )
        # The first poll takes the previous candle too (it is final by now); later polls
        # start at the newest candle yielded, which may still have changed.
        candles: list[Candle] = await retrying(
            ex.fetch_ohlcv, symbol, timeframe, since, None if since is not None else 2
        )
        for candle in sorted(candles, key=lambda c: c.timestamp):
            if yielded.get(candle.timestamp) != candle:
                yielded[candle.timestamp] = candle
                yield candle
        if yielded:
            since = max(yielded)
            for ts in sorted(yielded)[:-2]:
                del yielded[ts]
        now = time.time()
        boundary = (math.floor(now / period) + 1) * period
        await asyncio.sleep(boundary - now + policy.candle_poll_delay)
