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
from .feed import FATAL, Feed
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

# --------------------------------------------------------------------------------------------
# The feeds


class BookFeed(Feed[OrderBook]):
    stream = Stream.ORDER_BOOK

    async def _watch(self) -> Any:
        return await self.client.watch_order_book(self.symbol)

    def _collect(self, raw: Any) -> list[OrderBook]:
        # A copy: ccxt keeps changing the book it returned.
        return [OrderBook.from_ccxt_live(raw, self.depth)]


class TickerFeed(Feed[Ticker]):
    stream = Stream.TICKER

    async def _watch(self) -> Any:
        return await self.client.watch_ticker(self.symbol)

    def _collect(self, raw: Any) -> list[Ticker]:

        return [read_answer(self.ex.id, "watch_ticker", lambda: ticker_from_ccxt(raw))]


class BalanceFeed(Feed[Balances]):
    stream = Stream.BALANCE

    async def _watch(self) -> Any:
        return await self.client.watch_balance()

    def _collect(self, raw: Any) -> list[Balances]:

        return [read_answer(self.ex.id, "watch_balance", lambda: balances_from_ccxt(raw))]


class TradeFeed(Feed[Trade]):
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


class OrderFeed(Feed[Order]):
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
            lambda: [order_from_ccxt(o, venue=self.ex.venue) for o in wanted],
        )


class FillFeed(Feed[Fill]):
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


class CandleFeed(Feed[Candle]):
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
