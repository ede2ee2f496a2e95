"""Bitstamp WebSocket: narrow fixes to ccxt.pro 4.5.70's ``bitstamp`` client, and the
``private-my_trades`` channel ccxt does not implement.

Fixed here (each has a test in ``tests/test_streams_fixes.py``):

* ``handle_message``: control frames carry ``"channel": ""`` (``bts:error``,
  ``bts:request_reconnect``, the ``bts:heartbeat`` reply); ccxt calls ``None.find`` on them
  and its receive loop dies. ``bts:error`` now rejects the waiting calls with the venue's
  error (4009 is an authentication failure; ccxt read the code as ``4009.0`` and never
  matched it), ``bts:request_reconnect`` drops the connection so the stream reconnects.
* ``get_cache_index``: when the REST snapshot's microtimestamp falls between two cached
  deltas, ccxt discarded every cached delta, including those newer than the snapshot: the
  book silently missed them. Now the deltas newer than the snapshot are applied.
* ``load_order_book``: a failing REST snapshot recursed without a bound, and after "nonce is
  behind cache" ccxt forgot the client but left its socket open. Now the tries are bounded
  and a book that cannot be synchronised drops the connection (the stream reconnects and
  takes a fresh snapshot), as does a cached delta that cannot be read (a hostile level, see
  :func:`adapters.venues.base.book_level_error`; raised in the snapshot task, it left the
  watcher waiting; tested in ``tests/test_venue_answers.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
from ccxt.async_support.base.ws.cache import ArrayCacheBySymbolById

from ..ws import StreamResync

__all__ = ["stream_client_class"]

#: Delay before the n-th REST snapshot retry (seconds times n); a snapshot taken a moment
#: later is newer than the first cached delta.
_SNAPSHOT_RETRY_S = 0.2


def stream_client_class(base: type[Any]) -> type[Any]:
    """``base`` (a ccxt.pro ``bitstamp`` class) with the stream fixes above."""

    class bitstamp(base):  # type: ignore[misc]
        myTrades: Any

        def handle_message(self, client: Any, message: Any) -> Any:
            if isinstance(message, dict):
                event = message.get("event")
                if event == "bts:error":
                    self._reject_with_venue_error(client, message)
                    return None
                if event == "bts:request_reconnect":
                    reason = "the venue asked to reconnect (bts:request_reconnect)"
                    client.on_error(StreamResync(f"{self.id}: {reason}"))
                    return None
                channel = message.get("channel")
                if not channel:
                    return None  # the bts:heartbeat reply and other channel-less frames
                if event == "trade" and str(channel).startswith("private-my_trades"):
                    self.handle_my_trade(client, message)
                    return None
            return super().handle_message(client, message)

        def _reject_with_venue_error(self, client: Any, message: dict[str, Any]) -> None:
            data = message.get("data")
            code = self.safe_string(data, "code") if isinstance(data, dict) else None
            error_class = self.exceptions["exact"].get(code, ccxt.ExchangeError)
            if issubclass(error_class, ccxt.AuthenticationError):
                # The token was refused: the next subscribe must fetch a new one and send the
                # private subscribe frames again.
                self.options["expiresIn"] = None
                for key in [k for k in client.subscriptions if str(k).startswith("private-")]:
                    del client.subscriptions[key]
            client.reject(error_class(self.id + " " + self.json(message)))

        def get_cache_index(self, orderbook: Any, deltas: Any) -> int:
            if not deltas:
                return 0
            nonce = self.safe_integer(orderbook, "nonce")
            first = self.safe_integer(deltas[0], "microtimestamp")
            if nonce is None or (first is not None and nonce < first):
                return -1  # older than the first cached delta: deltas in between are unknown
            for index, delta in enumerate(deltas):
                micro = self.safe_integer(delta, "microtimestamp")
                if micro is not None and micro > nonce:
                    return index
            return len(deltas)

        async def load_order_book(
            self,
            client: Any,
            messageHash: str,
            symbol: str,
            limit: Any = None,
            params: Any = None,
        ) -> None:
            stored = self.orderbooks.get(symbol)
            if stored is None:
                missing = ccxt.ExchangeError(f"{self.id} {symbol}: no book to load")
                client.reject(missing, messageHash)
                return
            tries = int(self.handle_option("watchOrderBook", "maxRetries", 3))
            problem = "the snapshot is older than every cached delta"
            for attempt in range(tries):
                if attempt:
                    await asyncio.sleep(_SNAPSHOT_RETRY_S * attempt)
                if self.orderbooks.get(symbol) is not stored:
                    return  # a new subscription started its own book meanwhile
                try:
                    snapshot = await self.fetch_order_book(symbol, limit, params or {})
                except ccxt.BaseError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                    continue
                if self.orderbooks.get(symbol) is not stored:
                    return
                cache = stored.cache
                index = self.get_cache_index(snapshot, cache)
                if index >= 0:
                    stored.reset(snapshot)
                    try:
                        self.handle_deltas(stored, cache[index:])
                    except ccxt.BaseError as exc:
                        # A cached update that cannot be read (a hostile level): raised in
                        # this task, it would leave the watcher waiting for good.
                        cache.clear()
                        client.on_error(
                            StreamResync(
                                f"{self.id} {symbol}: a cached book update cannot be read "
                                f"({exc}); reconnecting"
                            )
                        )
                        return
                    cache.clear()
                    client.resolve(stored, messageHash)
                    return
                problem = "the snapshot is older than every cached delta"
            client.on_error(
                StreamResync(
                    f"{self.id} {symbol}: order book not synchronised after {tries} "
                    f"snapshots ({problem}); reconnecting"
                )
            )

        async def watch_my_trades(
            self,
            symbol: str | None = None,
            since: Any = None,
            limit: Any = None,
            params: Any = None,
        ) -> Any:
            """The account's fills on one market (``private-my_trades_<pair>-<user id>``)."""
            if symbol is None:
                raise ccxt.ArgumentsRequired(self.id + " watchMyTrades() requires a symbol")
            if self.markets is None:
                await self.load_markets()
            market = self.market(symbol)
            subscription = {"symbol": market["symbol"], "limit": limit, "type": "private-my_trades"}
            return await self.subscribe_private(
                subscription, "private-my_trades_" + market["id"], params or {}
            )

        def handle_my_trade(self, client: Any, message: dict[str, Any]) -> None:
            channel = message["channel"]
            subscription = client.subscriptions.get(channel)
            symbol = subscription.get("symbol") if isinstance(subscription, dict) else None
            if symbol is None:
                return  # not a channel this client subscribed to
            market = self.market(symbol)
            data = message.get("data")
            trade = self.parse_ws_my_trade(data if isinstance(data, dict) else {}, market)
            if self.myTrades is None:
                self.myTrades = ArrayCacheBySymbolById(
                    self.safe_integer(self.options, "tradesLimit", 1000)
                )
            self.myTrades.append(trade)
            client.resolve(self.myTrades, channel)

        def parse_ws_my_trade(self, trade: dict[str, Any], market: Any) -> Any:
            micro = self.safe_integer(trade, "microtimestamp")
            timestamp = None if micro is None else micro // 1000
            fee = self.safe_string(trade, "fee")
            return self.safe_trade(
                {
                    "info": trade,
                    "id": self.safe_string(trade, "id"),
                    "order": self.safe_string(trade, "order_id"),
                    "clientOrderId": self.safe_string(trade, "client_order_id"),
                    "timestamp": timestamp,
                    "datetime": self.iso8601(timestamp),
                    "symbol": market["symbol"],
                    "type": None,
                    "side": self.safe_string_lower(trade, "side"),
                    "takerOrMaker": None,
                    "price": self.safe_string(trade, "price"),
                    "amount": self.safe_string(trade, "amount"),
                    "cost": None,
                    # Bitstamp charges its trading fee in the quote (counter) currency.
                    "fee": None if fee is None else {"cost": fee, "currency": market["quote"]},
                },
                market,
            )

    bitstamp.__name__ = bitstamp.__qualname__ = base.__name__
    return bitstamp
