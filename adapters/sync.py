"""A synchronous facade for quick scripts: the same methods, without ``async``/``await``.

::

    from adapters.sync import open_exchange

    with open_exchange("bitstamp") as ex:
        print(ex.fetch_ticker("BTC/USD").last)
        for book in ex.watch_order_book("BTC/USD", max_items=3):
            print(book.best_bid, book.best_ask)

Each facade owns one event loop running on a background (daemon) thread; every call is
sent to that loop and waited for, so the async adapter underneath is exactly the one the
async API uses (same pipeline, same errors, same retries). The loop and the connections are
closed by :meth:`SyncExchange.close`, by leaving the ``with`` block, or at interpreter
exit for a facade that was never closed.

Streams are plain iterators (:class:`SyncStream`): bounded by ``max_items`` and
``timeout`` if you give them, closable, and closed with their facade.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import os
import threading
import weakref
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
)
from decimal import Decimal
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    ParamSpec,
    TypedDict,
    TypeVar,
    cast,
    overload,
)

from .capabilities import Capabilities
from .errors import InvalidInput

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .credentials import Credentials
    from .enums import OrderType, Side
    from .factory import PaperTradeId
    from .models import (
        Balance,
        Balances,
        Candle,
        Fill,
        Market,
        Order,
        OrderBook,
        OrderRequest,
        Ticker,
        Trade,
        TradingFee,
    )
    from .paper.clock import Pace, Speed
    from .paper.engine import Number, QueueModel
    from .paper.exchange import PaperExchange
    from .paper.ledger import Ledger
    from .protocol import ExchangeAPI, Params
    from .retry import RetryPolicy
    from .streams import StreamPolicy

__all__ = [
    "LiveOptions",
    "PaperOptions",
    "SyncExchange",
    "SyncPaperExchange",
    "SyncStream",
    "open_exchange",
]

log = logging.getLogger("adapters")
T = TypeVar("T")
P = ParamSpec("P")

#: How long closing may take before the loop is abandoned (the thread is a daemon).
_CLOSE_TIMEOUT = 10.0


class _LoopThread:
    """One asyncio event loop running forever on its own daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    @property
    def on_loop_thread(self) -> bool:
        """Whether the caller runs on the loop's own thread (where waiting would deadlock)."""
        return threading.current_thread() is self._thread

    @property
    def alive(self) -> bool:
        """Whether the loop's thread is still running."""
        return self._thread.is_alive()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (or its exception)."""
        if self.on_loop_thread:
            coro.close()
            raise RuntimeError("a sync facade call from inside its own event loop would deadlock")
        if not self.alive:
            coro.close()
            raise RuntimeError("this exchange is closed")
        started, finished = threading.Event(), threading.Event()

        async def tracked() -> T:
            started.set()
            try:
                return await coro
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(tracked(), self.loop)
        try:
            return future.result()
        except BaseException:
            # Ctrl-C while waiting: stop the call on the loop too, and let it unwind there
            # before the caller goes on (closing a stream still mid-item would fail).
            future.cancel()
            self._round_trip()  # the loop has now taken the cancellation
            if started.is_set():
                finished.wait(_CLOSE_TIMEOUT)
            else:
                coro.close()  # cancelled before it ran: never awaited, and never will be
            raise

    def _round_trip(self) -> None:
        """Wait until the loop has run everything scheduled before this call."""
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(_CLOSE_TIMEOUT)

    def stop(self) -> None:
        """Stop the loop and wait (bounded) for its thread to finish."""
        if self.alive:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(_CLOSE_TIMEOUT)


_END = object()


async def _next_item(stream: AsyncIterator[T], seconds: float | None) -> T | object:
    # StopAsyncIteration cannot travel through a Future; a sentinel marks the end instead.
    try:
        async with asyncio.timeout(seconds):
            return await anext(stream)
    except StopAsyncIteration:
        return _END


async def _aclose(stream: AsyncIterator[Any]) -> None:
    aclose: Callable[[], Awaitable[None]] | None = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


class SyncStream(Generic[T]):
    """A stream as a plain iterator: ``for book in ex.watch_order_book(...)``.

    ``max_items`` ends the iteration after that many items; ``timeout`` bounds the wait
    for each item (:class:`TimeoutError`). The stream is closed (its subscription ended)
    when the iteration ends, on any error or timeout, on :meth:`close`, on leaving a
    ``with`` block, and when its facade closes.

    Threads may share a stream: each item goes to one of them. :meth:`close` (or closing the
    facade) from another thread ends an iteration that is waiting for an item.
    """

    def __init__(
        self,
        runner: _LoopThread,
        stream: AsyncIterator[T],
        *,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> None:
        if max_items is not None and (
            isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 0
        ):
            raise InvalidInput(f"max_items must be a whole number, 0 or more, got {max_items!r}")
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise InvalidInput(
                f"timeout must be a finite number of seconds above 0, got {timeout!r}"
            )
        self._runner = runner
        self._stream = stream
        self._max_items = max_items
        self._timeout = timeout
        self._count = 0
        self._closed = False
        # One item request at a time: an async generator cannot be awaited twice at once.
        # Re-entrant: __next__ closes the stream while holding it.
        self._lock = threading.RLock()
        #: The task waiting for an item on the loop, for close() from another thread.
        self._waiting: asyncio.Task[Any] | None = None

    @property
    def closed(self) -> bool:
        """Whether the stream has ended or was closed."""
        return self._closed

    @property
    def count(self) -> int:
        """Items yielded so far."""
        return self._count

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        with self._lock:
            if self._closed:
                raise StopIteration
            if self._max_items is not None and self._count >= self._max_items:
                self.close()
                raise StopIteration
            try:
                item = self._runner.run(self._next_item())
            except TimeoutError:
                self.close()
                raise TimeoutError(
                    f"no item within {self._timeout} s; the stream is closed"
                ) from None
            except (asyncio.CancelledError, concurrent.futures.CancelledError):
                if self._closed:  # closed by another thread while this one waited
                    raise StopIteration from None
                self.close()
                raise
            except BaseException:
                self.close()
                raise
            if item is _END:
                self._closed = True
                raise StopIteration
            self._count += 1
            return cast(T, item)

    async def _next_item(self) -> T | object:
        # On the loop thread. A close() that came first ends the iteration here; one that
        # comes later finds this task and cancels it.
        if self._closed:
            return _END
        self._waiting = asyncio.current_task()
        try:
            return await _next_item(self._stream, self._timeout)
        finally:
            self._waiting = None

    def close(self) -> None:
        """End the subscription; idempotent, and callable from any thread."""
        if self._closed:
            return
        if self._runner.on_loop_thread:
            raise RuntimeError("a sync stream closed from inside its own event loop would deadlock")
        self._closed = True
        waiting = self._waiting
        if waiting is not None and self._runner.alive:
            self._runner.loop.call_soon_threadsafe(waiting.cancel)
        with self._lock:  # an iteration waiting in another thread has now unwound
            if self._runner.alive:
                self._runner.run(_aclose(self._stream))

    def __enter__(self) -> SyncStream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _shutdown(
    runner: _LoopThread, ex: ExchangeAPI, streams: weakref.WeakSet[SyncStream[Any]]
) -> None:
    """Close the streams, the exchange and the loop; runs once (``weakref.finalize``)."""
    try:
        for stream in list(streams):
            try:
                stream.close()
            except Exception as exc:  # a broken stream must not keep the exchange open
                log.debug("closing a stream of %s failed: %r", ex.id, exc)
        if runner.alive:
            runner.run(ex.close())
    finally:
        runner.stop()


class SyncExchange:
    """The methods of :class:`~adapters.exchange.Exchange`, called without ``await``.

    Open it with :func:`open_exchange`. Errors are the async API's own (an
    :class:`~adapters.errors.AdapterError` subclass), raised in the calling thread.
    """

    def __init__(self, runner: _LoopThread, ex: ExchangeAPI) -> None:
        self._runner = runner
        self._ex = ex
        self._streams: weakref.WeakSet[SyncStream[Any]] = weakref.WeakSet()
        # Runs at close() or, for a facade never closed, at interpreter exit.
        self._finalizer = weakref.finalize(self, _shutdown, runner, ex, self._streams)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close every open stream, the connections and the event loop; idempotent."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return not self._finalizer.alive

    def __enter__(self) -> SyncExchange:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SyncExchange {self._ex.id}>"

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run any awaitable on this facade's loop, e.g. a call on :attr:`exchange`."""

        async def wait() -> T:
            return await awaitable

        return self._runner.run(wait())

    def _stream(
        self, stream: AsyncIterator[T], max_items: int | None, timeout: float | None
    ) -> SyncStream[T]:
        if self.closed:
            raise RuntimeError("this exchange is closed")
        wrapped = SyncStream(self._runner, stream, max_items=max_items, timeout=timeout)
        self._streams.add(wrapped)
        return wrapped

    # -- what the async exchange exposes -----------------------------------------------------

    @property
    def exchange(self) -> ExchangeAPI:
        """The async adapter underneath; run its coroutines with :meth:`run`."""
        return self._ex

    @property
    def id(self) -> str:
        """The exchange id."""
        return self._ex.id

    def capabilities(self) -> Capabilities:
        """This exchange's connector card."""
        return self._ex.capabilities()

    def new_client_order_id(self) -> str:
        """A fresh client order id carrying the exchange's ``client_order_id_prefix``."""
        return self._ex.new_client_order_id()

    # -- markets and public data -------------------------------------------------------------

    def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """All spot markets by unified symbol; see :meth:`Exchange.load_markets`."""
        return self._runner.run(self._ex.load_markets(reload))

    def market(self, symbol: str) -> Market:
        """One market; raises :class:`~adapters.errors.UnknownSymbol` with close matches."""
        return self._runner.run(self._ex.market(symbol))

    def fetch_ticker(self, symbol: str, params: Params = None) -> Ticker:
        """Best bid/ask, last price and 24h statistics."""
        return self._runner.run(self._ex.fetch_ticker(symbol, params))

    def fetch_tickers(
        self, symbols: Iterable[str] | None = None, params: Params = None
    ) -> dict[str, Ticker]:
        """Tickers of several markets in one request, by symbol."""
        return self._runner.run(self._ex.fetch_tickers(symbols, params))

    def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: Params = None
    ) -> OrderBook:
        """An order book snapshot, at most ``limit`` levels a side."""
        return self._runner.run(self._ex.fetch_order_book(symbol, limit, params))

    def fetch_trades(
        self, symbol: str, since: int | None = None, limit: int | None = None, params: Params = None
    ) -> list[Trade]:
        """Recent public trades, oldest first."""
        return self._runner.run(self._ex.fetch_trades(symbol, since, limit, params))

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Candle]:
        """Candles, oldest first."""
        return self._runner.run(self._ex.fetch_ohlcv(symbol, timeframe, since, limit, params))

    # -- private reads -----------------------------------------------------------------------

    def fetch_balance(self, params: Params = None) -> Balances:
        """Free, used and total balance per currency."""
        return self._runner.run(self._ex.fetch_balance(params))

    def fetch_trading_fee(self, symbol: str, params: Params = None) -> TradingFee:
        """The account's maker/taker fee for ``symbol``, as fractions."""
        return self._runner.run(self._ex.fetch_trading_fee(symbol, params))

    def fetch_order(self, order_id: str, symbol: str, params: Params = None) -> Order:
        """One order by the venue's id."""
        return self._runner.run(self._ex.fetch_order(order_id, symbol, params))

    def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Order:
        """The order the venue holds under ``client_order_id``."""
        return self._runner.run(self._ex.fetch_order_by_client_id(client_order_id, symbol))

    def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:
        """Open orders, for one symbol or all."""
        return self._runner.run(self._ex.fetch_open_orders(symbol, since, limit, params))

    def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:
        """Orders no longer open, from the venue's order history (where it keeps one)."""
        return self._runner.run(self._ex.fetch_closed_orders(symbol, since, limit, params))

    def fetch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:
        """Open and closed orders in one list (where the venue offers it)."""
        return self._runner.run(self._ex.fetch_orders(symbol, since, limit, params))

    def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Fill]:
        """The account's own executions (fills)."""
        return self._runner.run(self._ex.fetch_my_trades(symbol, since, limit, params))

    # -- orders ------------------------------------------------------------------------------

    def validate_order(self, request: OrderRequest) -> Market:
        """Every check of the order pipeline that sends nothing; returns the market."""
        return self._runner.run(self._ex.validate_order(request))

    @overload
    def create_order(self, request: OrderRequest, /) -> Order: ...

    @overload
    def create_order(
        self,
        symbol: str,
        type: str | OrderType,
        side: str | Side,
        amount: Decimal | float | int | str,
        price: Decimal | float | int | str | None = None,
        params: Params = None,
    ) -> Order: ...

    def create_order(self, *args: Any, **kwargs: Any) -> Order:
        """Place an order through the one pipeline (an :class:`OrderRequest`, or ccxt's
        ``symbol, type, side, amount, price, params``); see :meth:`Exchange.create_order`."""
        return self._runner.run(self._ex.create_order(*args, **kwargs))

    def cancel_order(self, order_id: str, symbol: str, params: Params = None) -> Order:
        """Cancel an order; returns it as the venue reports it after the cancel."""
        return self._runner.run(self._ex.cancel_order(order_id, symbol, params))

    def cancel_all_orders(self, symbol: str | None, params: Params = None) -> list[Order]:
        """Cancel every open order in ``symbol`` (``None``: every market)."""
        return self._runner.run(self._ex.cancel_all_orders(symbol, params))

    # -- streams -----------------------------------------------------------------------------

    def watch_order_book(
        self,
        symbol: str,
        limit: int | None = None,
        *,
        depth: int | None = None,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> SyncStream[OrderBook]:
        """The order book each time it changes, at most ``limit`` (or ``depth``) levels a side."""
        return self._stream(
            self._ex.watch_order_book(symbol, limit, depth=depth), max_items, timeout
        )

    def watch_trades(
        self, symbol: str, *, max_items: int | None = None, timeout: float | None = None
    ) -> SyncStream[Trade]:
        """Every public trade of ``symbol``, oldest first."""
        return self._stream(self._ex.watch_trades(symbol), max_items, timeout)

    def watch_ticker(
        self, symbol: str, *, max_items: int | None = None, timeout: float | None = None
    ) -> SyncStream[Ticker]:
        """Tickers as the venue pushes them."""
        return self._stream(self._ex.watch_ticker(symbol), max_items, timeout)

    def watch_candles(
        self,
        symbol: str,
        timeframe: str = "1m",
        *,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> SyncStream[Candle]:
        """Candles as they form; the same ``timestamp`` comes again while it changes."""
        return self._stream(self._ex.watch_candles(symbol, timeframe), max_items, timeout)

    def watch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        *,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> SyncStream[Candle]:
        """ccxt's name for :meth:`watch_candles`."""
        return self._stream(self._ex.watch_ohlcv(symbol, timeframe), max_items, timeout)

    def watch_orders(
        self,
        symbol: str | None = None,
        *,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> SyncStream[Order]:
        """The account's orders each time one changes."""
        return self._stream(self._ex.watch_orders(symbol), max_items, timeout)

    def watch_my_trades(
        self,
        symbol: str | None = None,
        *,
        max_items: int | None = None,
        timeout: float | None = None,
    ) -> SyncStream[Fill]:
        """Each execution of the account's orders, once."""
        return self._stream(self._ex.watch_my_trades(symbol), max_items, timeout)

    def watch_balance(
        self, *, max_items: int | None = None, timeout: float | None = None
    ) -> SyncStream[Balances]:
        """The account's balances each time they change."""
        return self._stream(self._ex.watch_balance(), max_items, timeout)


class SyncPaperExchange(SyncExchange):
    """:class:`SyncExchange` over a paper twin, with the paper account's own methods."""

    @property
    def paper(self) -> PaperExchange:
        """The async paper exchange underneath."""
        return cast("PaperExchange", self._ex)

    @property
    def market_time(self) -> int | None:
        """The timestamp (ms) of the latest book or trade applied to the engine."""
        return self.paper.market_time

    def fund(self, currency: str, amount: Decimal | str | int | float) -> Balance:
        """Set ``currency``'s total to ``amount`` (it cannot go below what orders lock)."""
        return self._runner.run(self.paper.fund(currency, amount))

    def deposit(self, currency: str, amount: Decimal | str | int | float) -> Balance:
        """Add ``amount`` (negative takes out, down to the free balance) to ``currency``."""
        return self._runner.run(self.paper.deposit(currency, amount))

    def reset(self) -> None:
        """Start the account over: no orders, fills or balances (the ledger too)."""
        self._runner.run(self.paper.reset())

    def export_fills_csv(self, target: str | os.PathLike[str]) -> int:
        """Write every fill of the account as CSV; returns the number of fills."""
        return self._runner.run(self._call(self.paper.export_fills_csv, target))

    @staticmethod
    async def _call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        # The ledger belongs to the loop's thread; touch it only from there.
        return function(*args, **kwargs)


class LiveOptions(TypedDict, total=False):
    """The keyword arguments of :func:`adapters.open_exchange` for a live exchange."""

    credentials: Credentials | None
    env_file: str | os.PathLike[str] | None
    retry: RetryPolicy | None
    streams: StreamPolicy | None
    timeout_ms: int
    config: Mapping[str, Any] | None
    client_order_id_prefix: str


class PaperOptions(LiveOptions, total=False):
    """... and those only paper trading takes."""

    source: str | os.PathLike[str] | None
    replay_pace: Pace
    speed: Speed | None
    ledger: Ledger | str | os.PathLike[str] | None
    account: str
    initial_balances: Mapping[str, Number] | None
    maker_fee: Number | None
    taker_fee: Number | None
    queue: QueueModel | str


@overload
def open_exchange(
    exchange_id: PaperTradeId, *, paper: bool = ..., **options: Unpack[PaperOptions]
) -> SyncPaperExchange: ...


@overload
def open_exchange(
    exchange_id: str, *, paper: Literal[True], **options: Unpack[PaperOptions]
) -> SyncPaperExchange: ...


@overload
def open_exchange(
    exchange_id: str, *, paper: Literal[False] = ..., **options: Unpack[LiveOptions]
) -> SyncExchange: ...


@overload
def open_exchange(
    exchange_id: str, *, paper: bool, **options: Unpack[PaperOptions]
) -> SyncExchange: ...


def open_exchange(exchange_id: str, *, paper: bool = False, **options: Any) -> SyncExchange:
    """Open a synchronous facade; takes exactly the arguments of
    :func:`adapters.open_exchange` and returns a :class:`SyncExchange` (a
    :class:`SyncPaperExchange` for paper trading, typed as such for a paper id or
    ``paper=True``).

    Use it as a context manager, or call :meth:`SyncExchange.close`::

        with open_exchange("bitmart") as ex:
            print(ex.fetch_order_book("BTC/USDT", limit=5).best_ask)
    """
    from .factory import open_exchange as open_async

    runner = _LoopThread(f"adapters-sync-{exchange_id}")

    async def create() -> ExchangeAPI:
        # Built on the loop it will live on: ccxt's client binds to the running loop.
        ex: ExchangeAPI = open_async(exchange_id, paper=paper, **options)
        return ex

    try:
        ex = runner.run(create())
    except BaseException:
        runner.stop()
        raise
    if ex.capabilities().paper:
        return SyncPaperExchange(runner, ex)
    return SyncExchange(runner, ex)
