"""The feeds: one per stream kind, reading ccxt's caches into typed items."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from typing import Any, NoReturn

from tenacity import RetryCallState

from ..capabilities import Stream
from ..convert import (
    balances_from_ccxt,
    candle_from_ccxt,
    fill_from_ccxt,
    order_from_ccxt,
    read_answer,
    ticker_from_ccxt,
    trade_from_ccxt,
)
from ..errors import AdapterError, ExchangeUnavailable
from ..models import Balances, Candle, Fill, Order, OrderBook, Ticker, Trade
from ..retry import bounded_retrying, short
from .feed import FATAL, Feed, Gap
from .policy import StreamHost, StreamPolicy

__all__ = [
    "BalanceFeed",
    "BookFeed",
    "CandleFeed",
    "FillFeed",
    "OrderFeed",
    "TickerFeed",
    "TradeFeed",
    "poll_candles",
]

log = logging.getLogger("adapters.streams")
_MISSING = object()
#: ``_Changes.seen`` value of an item delivered from a REST backfill (no ccxt ``info``).
_BACKFILLED = object()

# --------------------------------------------------------------------------------------------
# The feeds


class BookFeed(Feed[OrderBook]):
    """Books are copied when the caller asks for the next one, never per frame: a caller
    that was busy while several frames came gets the latest book at once, without waiting
    for another frame (ccxt wakes only callers already waiting), and the frames in between
    cost nothing here."""

    stream = Stream.ORDER_BOOK

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        #: ``(nonce, timestamp)`` of the last book handed out: a ccxt book changes both (or
        #: one) with every update it applies.
        self._shown: tuple[Any, Any] = (None, None)

    def _watch(self) -> Any:  # ccxt's awaitable
        return self.client.watch_order_book(self.symbol)

    def _live(self) -> Any:
        books = self.client.orderbooks
        return books.get(self.symbol) if books else None

    def _pending(self) -> bool:
        book = self._live()
        if book is None:
            return False
        mark = (book.get("nonce"), book.get("timestamp"))
        # (None, None): no book yet (a Bitstamp book waiting for its REST snapshot).
        return mark != self._shown and mark != (None, None)

    def _collect(self, raw: Any) -> list[OrderBook]:
        # A copy: ccxt keeps changing the book it returned.
        book = OrderBook.from_ccxt_live(raw if raw is not None else self._live(), self.depth)
        self._shown = (book.nonce, book.timestamp)
        return [book]


class TickerFeed(Feed[Ticker]):
    stream = Stream.TICKER

    def _watch(self) -> Any:  # ccxt's awaitable
        return self.client.watch_ticker(self.symbol)

    def _collect(self, raw: Any) -> list[Ticker]:

        return [read_answer(self.ex.id, "watch_ticker", lambda: ticker_from_ccxt(raw))]


class BalanceFeed(Feed[Balances]):
    stream = Stream.BALANCE

    def _watch(self) -> Any:  # ccxt's awaitable
        return self.client.watch_balance()

    def _collect(self, raw: Any) -> list[Balances]:

        return [read_answer(self.ex.id, "watch_balance", lambda: balances_from_ccxt(raw))]


class TradeFeed(Feed[Trade]):
    """Trades are read from ccxt's per-symbol cache, not from ``watch_trades``' answer:
    ccxt's "new updates" counter is shared by every caller of the client, so two streams
    (or a stream and the paper feed) would take each other's trades.

    After a reconnect the venue's recent trades (``fetch_trades``) fill what was missed, as
    far as they reach back; where they do not reach the last trade delivered, the stream
    notes a :class:`~adapters.streams.feed.Gap` (log line and ``Watch.gaps``)."""

    stream = Stream.TRADES

    #: Ids of the trades delivered last, to drop what the venue sends again.
    _RECENT = 1000

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        self._last: Any = None
        self._after_reconnect = False
        self._last_ts: int | None = None
        self._last_keys: set[Any] = set()
        self._recent: dict[str, None] = {}

    def _watch(self) -> Any:  # ccxt's awaitable
        return self.client.watch_trades(self.symbol)

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

    async def _backfill(self) -> list[Trade]:
        self._after_reconnect = True  # the venue may send recent trades again
        last, last_id = self._last_ts, next(reversed(self._recent), None)
        if last is None or self.symbol is None:
            return []  # nothing delivered yet: nothing to continue from
        try:
            trades = await self.ex.fetch_trades(self.symbol, since=last - last % 1000)
        except FATAL:
            raise
        except AdapterError as exc:
            self._note_gap(Gap(last, None, f"fetch_trades failed: {type(exc).__name__}"))
            return []
        # The answer covers the gap only if it reaches back to the last trade delivered.
        if last_id is not None:
            covered = any(t.id == last_id for t in trades)
        else:
            covered = any(t.timestamp is not None and t.timestamp <= last for t in trades)
        if not covered:
            oldest = min((t.timestamp for t in trades if t.timestamp is not None), default=None)
            self._note_gap(Gap(last, oldest, "the venue's recent trades (fetch_trades) do "
                               "not reach back to the last trade delivered"))  # fmt: skip
        # REST times may be whole seconds: anything from the last trade's second on counts.
        start = last - last % 1000
        fresh = sorted(
            (t for t in trades
             if t.timestamp is not None and t.timestamp >= start and not self._seen(t)),
            key=lambda t: (t.timestamp or 0, t.id or ""),
        )  # fmt: skip
        for t in fresh:
            self._note(t)
        return fresh

    def _collect(self, raw: Any) -> list[Trade]:
        fresh = _appended_since(self._cache() or raw, self._last, self.describe())
        if not fresh:
            return []
        self._last = fresh[-1]
        trades = read_answer(
            self.ex.id, "watch_trades", lambda: [trade_from_ccxt(t) for t in fresh]
        )
        if self._after_reconnect:
            trades = [t for t in trades if not self._seen(t)]
            if trades:
                self._after_reconnect = False
        for t in trades:
            self._note(t)
        return trades

    def _note(self, trade: Trade) -> None:
        if trade.id is not None:
            self._recent[trade.id] = None
            if len(self._recent) > self._RECENT:
                del self._recent[next(iter(self._recent))]
        if trade.timestamp is None:
            return
        if self._last_ts is None or trade.timestamp > self._last_ts:
            self._last_ts, self._last_keys = trade.timestamp, set()
        if trade.timestamp == self._last_ts:
            self._last_keys.add(_trade_key(trade))

    def _seen(self, trade: Trade) -> bool:
        if trade.id is not None:
            return trade.id in self._recent
        ts, last = trade.timestamp, self._last_ts
        if ts is None or last is None:
            return False
        return bool(ts < last or (ts == last and _trade_key(trade) in self._last_keys))


def _trade_key(trade: Trade) -> Any:
    return trade.id or (trade.side, trade.price, trade.amount)


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


class OrderFeed(Feed[Order]):
    """After a reconnect, the open orders and every order delivered before the drop that was
    not final are fetched over REST; each whose state changed is delivered once, before
    the live updates."""

    stream = Stream.ORDERS
    early_catch_up = True

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        self._changes = _Changes(once=False)
        #: Orders delivered and not final: their last state, to compare after a reconnect.
        self._open: dict[str, Order] = {}
        #: States delivered from a backfill, so the same state arriving live is not repeated.
        self._backfilled: dict[str, tuple[Any, ...]] = {}

    def _ccxt_symbol(self) -> str | None:
        # BitMart: one subscription for all markets (filtered here), shared with the fills.
        return self.symbol if self.ex.venue.private_streams_per_market else None

    def _watch(self) -> Any:  # ccxt's awaitable
        return self.client.watch_orders(self._ccxt_symbol())

    def _prime(self) -> None:
        self._changes.prime(getattr(self.client, "orders", None))

    def _pending(self) -> bool:
        return self._changes.pending(getattr(self.client, "orders", None))

    async def _backfill(self) -> list[Order]:
        found = {o.id: o for o in await self.ex.fetch_open_orders(self.symbol) if self._wanted(o)}
        for order_id, known in list(self._open.items()):
            if order_id not in found:  # closed (or changed) while the stream was away
                found[order_id] = await self.ex.fetch_order(order_id, known.symbol)
        changed = []
        for order in found.values():
            before = self._open.get(order.id)
            if before is None and (_updated(order) or 0) < self._started_ms:
                continue  # open since before this stream started: not a change it missed
            if before is not None and _state(before) == _state(order):
                continue
            changed.append(order)
        changed.sort(key=lambda o: (_updated(o) or 0, o.id))
        for order in changed:
            self._backfilled[order.id] = _state(order)
            self._track(order)
        return changed

    def _collect(self, raw: Any) -> list[Order]:
        cache = getattr(self.client, "orders", None)
        changed = self._changes.take(cache if cache is not None else raw)
        orders = read_answer(
            self.ex.id,
            "watch_orders",
            lambda: [order_from_ccxt(o, venue=self.ex.venue) for o in changed],
        )
        out = []
        for order in orders:
            if not self._wanted(order):
                continue
            if self._backfilled.pop(order.id, None) == _state(order):
                continue  # already delivered by the backfill
            self._track(order)
            out.append(order)
        return out

    def _wanted(self, order: Order) -> bool:
        return self.symbol is None or order.symbol == self.symbol

    def _track(self, order: Order) -> None:
        if order.status.is_final:
            self._open.pop(order.id, None)
        else:
            self._open[order.id] = order


def _state(order: Order) -> tuple[Any, ...]:
    return (order.status, order.filled, order.remaining)


def _updated(order: Order) -> int | None:
    return order.last_update_timestamp or order.timestamp


class FillFeed(Feed[Fill]):
    """After a reconnect, the account's fills since the last one delivered are fetched over
    REST (``fetch_my_trades``); each one not delivered yet comes once, oldest first, before
    the live fills. Fills are matched by id, which assumes a venue gives an execution the
    same id in its REST and WebSocket answers (Bitstamp ``id``, BitMart ``tradeId`` /
    ``detail_id``)."""

    stream = Stream.MY_TRADES
    early_catch_up = True

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        self._changes = _Changes(once=True)
        self._last_ts: int | None = None

    def _watch(self) -> Any:  # ccxt's awaitable
        per_market = self.ex.venue.private_streams_per_market
        return self.client.watch_my_trades(self.symbol if per_market else None)

    def _prime(self) -> None:
        self._changes.prime(getattr(self.client, "myTrades", None))

    def _pending(self) -> bool:
        return self._changes.pending(getattr(self.client, "myTrades", None))

    async def _backfill(self) -> list[Fill]:
        since = self._last_ts if self._last_ts is not None else self._started_ms
        fills = await self.ex.fetch_my_trades(self.symbol, since=since)
        seen = self._changes.seen
        missed = sorted(
            (f for f in fills
             if f.id not in seen and self._wanted(f) and (f.timestamp or since) >= since),
            key=lambda f: (f.timestamp or 0, f.id),
        )  # fmt: skip
        for fill in missed:
            seen[fill.id] = _BACKFILLED
        self._advance(missed)
        return missed

    def _collect(self, raw: Any) -> list[Fill]:
        cache = getattr(self.client, "myTrades", None)
        changed = self._changes.take(cache if cache is not None else raw)
        fills = read_answer(
            self.ex.id, "watch_my_trades", lambda: [fill_from_ccxt(t) for t in changed]
        )
        wanted = [f for f in fills if self._wanted(f)]
        self._advance(wanted)
        return wanted

    def _wanted(self, fill: Fill) -> bool:
        return self.symbol is None or fill.symbol == self.symbol

    def _advance(self, fills: list[Fill]) -> None:
        stamps = [f.timestamp for f in fills if f.timestamp is not None]
        if stamps:
            self._last_ts = max(stamps + ([self._last_ts] if self._last_ts is not None else []))


class CandleFeed(Feed[Candle]):
    """BitMart's kline channel. ccxt updates the current candle's row in place, so the last
    few rows are compared with what was yielded."""

    stream = Stream.CANDLES
    _RECENT = 3

    def __init__(self, ex: StreamHost, symbol: str | None, **kw: Any) -> None:
        super().__init__(ex, symbol, **kw)
        self._yielded: dict[int, tuple[Any, ...]] = {}

    def _watch(self) -> Any:  # ccxt's awaitable
        return self.client.watch_ohlcv(self.symbol, self.timeframe)

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


async def poll_candles(ex: StreamHost, symbol: str, timeframe: str) -> AsyncIterator[Candle]:
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
        return isinstance(exc, AdapterError) and not isinstance(exc, FATAL)

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
