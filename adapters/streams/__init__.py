"""Typed WebSocket streams: async iterators of models over ccxt.pro's ``watch_*`` calls.

Use them through :class:`~adapters.exchange.Exchange`::

    async with open_exchange("bitmart") as ex:
        async for book in ex.watch_order_book("BTC/USDT", depth=10):
            print(book.best_bid, book.best_ask)

What a stream adds to ccxt.pro:

* **Typed values.** Books are :class:`OrderBook` copies (float levels, Decimal accessors),
  so later changes never alter a book already handed out. A copy is taken when the caller
  asks for the next book, not per frame: a caller that was busy while frames came gets the
  latest book at once (each state once), without waiting for another frame.
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
  :class:`ExchangeUnavailable`; more than :attr:`StreamPolicy.reconnect_budget` reconnects
  within :attr:`StreamPolicy.reconnect_window` seconds (connections that each work for a
  moment, then fail) raise :class:`ReconnectBudgetExceeded`. Authentication failures,
  unknown symbols and unsupported features are raised at once.
* **Watchdog.** While the caller waits for the next item, a channel that sends nothing for
  its silence timeout (:data:`DEFAULT_SILENCE`, per channel) has its connection dropped,
  which starts a reconnect. Time the caller spends with an item is not silence.
* **Consistent books.** A BitMart version gap, a Bitstamp snapshot that does not fit the
  cached deltas, or a frame that cannot be parsed drops the connection, so the book is
  rebuilt from a new snapshot instead of drifting (see :mod:`adapters.venues.bitmart.ws`,
  :mod:`adapters.venues.bitstamp.ws`).
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

from collections.abc import AsyncIterator

from ..capabilities import Stream
from ..errors import InvalidOrderRequest, UnsupportedFeature
from ..inputs import parse_count
from ..models import Balances, Candle, Fill, Order, OrderBook, Ticker, Trade
from .feed import Gap, Watch
from .feeds import (
    BalanceFeed,
    BookFeed,
    CandleFeed,
    FillFeed,
    OrderFeed,
    TickerFeed,
    TradeFeed,
    poll_candles,
)
from .policy import DEFAULT_SILENCE, StreamHost, StreamPolicy

__all__ = [
    "DEFAULT_SILENCE",
    "Gap",
    "StreamHost",
    "StreamPolicy",
    "Watch",
    "watch_balance",
    "watch_candles",
    "watch_my_trades",
    "watch_order_book",
    "watch_orders",
    "watch_ticker",
    "watch_trades",
]

# --------------------------------------------------------------------------------------------
# The public stream functions (Exchange.watch_* delegate here)


def watch_order_book(ex: StreamHost, symbol: str, depth: int | None = None) -> Watch[OrderBook]:
    """The order book of ``symbol`` each time it changes, at most ``depth`` levels a side."""
    ex.capabilities().require_stream(Stream.ORDER_BOOK)
    if depth is not None:
        depth = parse_count(depth, "depth")
    return Watch(BookFeed(ex, symbol, depth=depth))


def watch_trades(ex: StreamHost, symbol: str) -> Watch[Trade]:
    """Every public trade of ``symbol``, oldest first."""
    ex.capabilities().require_stream(Stream.TRADES)
    return Watch(TradeFeed(ex, symbol))


def watch_ticker(ex: StreamHost, symbol: str) -> Watch[Ticker]:
    """The ticker of ``symbol`` each time the venue pushes one (BitMart only)."""
    ex.capabilities().require_stream(Stream.TICKER)
    return Watch(TickerFeed(ex, symbol))


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
        return poll_candles(ex, symbol, timeframe)
    return Watch(CandleFeed(ex, symbol, timeframe=timeframe))


def watch_orders(ex: StreamHost, symbol: str | None = None) -> Watch[Order]:
    """The account's orders each time one changes (placed, filled, cancelled)."""
    _check_private(ex, Stream.ORDERS, symbol)
    return Watch(OrderFeed(ex, symbol))


def watch_my_trades(ex: StreamHost, symbol: str | None = None) -> Watch[Fill]:
    """Each execution of the account's orders, once."""
    _check_private(ex, Stream.MY_TRADES, symbol)
    return Watch(FillFeed(ex, symbol))


def watch_balance(ex: StreamHost) -> Watch[Balances]:
    """The account's balances each time they change (BitMart)."""
    _check_private(ex, Stream.BALANCE, None)
    return Watch(BalanceFeed(ex, None))


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
