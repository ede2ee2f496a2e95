"""BitMart WebSocket: narrow fixes to ccxt.pro 4.5.70's ``bitmart`` client (spot), and the
account's fills, which BitMart reports inside order updates.

Fixed here (each has a test in ``tests/test_streams_fixes.py``):

* ``parse_ws_trade``: ``takerOrMaker`` is only bound when a frame has ``"m"`` (swap), so every
  spot ``spot/trade`` frame raised ``UnboundLocalError`` and killed the receive loop.
* ``handle_order_book``: ``spot/depth/increase*`` updates were applied without looking at
  ``version``; a lost update left the book wrong for good. Updates now have to follow the
  last version by one; a gap drops the connection (the venue sends a fresh snapshot after
  the stream resubscribes) and updates are ignored until that snapshot.
* ``handle_error_message``: the WebSocket error 30013 ("Invalid sign", a refused login) was
  read with the REST table, where 30013 means "too many requests", and became a rate limit.
* ``handle_delta``: a level whose price or size is not a finite number (or a price not above
  0) was stored as it came; it is now an unreadable frame
  (:func:`adapters.venues.base.book_level_error`).
* ``parse_ws_order``: spot frames carry ``client_order_id`` and ``create_time``; ccxt read
  ``clientOid`` and put the message time into ``lastTradeTimestamp``.
* ``handle_balance``: the inner loop indexed ``balance_details`` with the outer index, so
  only one currency of a multi-currency update was read (and the timestamp was never set).
* ``handle_ohlcv``: weekly and monthly candles had their open time floored to multiples of 7
  and 30 days since 1970; those are kept as the venue sends them.
"""

from __future__ import annotations

from typing import Any

import ccxt
from ccxt.async_support.base.ws.cache import ArrayCacheBySymbolById, ArrayCacheByTimestamp

from ..base import book_level_error
from ..ws import StreamResync

__all__ = ["stream_client_class"]

_INF = float("inf")

#: Candle lengths that are not a fixed number of milliseconds since 1970.
_CALENDAR_TIMEFRAMES = frozenset({"1w", "1M"})
_EXEC_TYPES = {"M": "maker", "T": "taker"}


def _version(value: Any) -> int | None:
    """A depth update's ``version`` (an integer on the wire) as an int, None if it is none."""
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def stream_client_class(base: type[Any]) -> type[Any]:
    """``base`` (a ccxt.pro ``bitmart`` class) with the stream fixes above."""

    ccxt_handle_order_book = base.handle_order_book
    ccxt_handle_error_message = base.handle_error_message

    class bitmart(base):  # type: ignore[misc]
        myTrades: Any

        # -- public trades ------------------------------------------------------------------

        def parse_ws_trade(self, trade: dict[str, Any], market: Any = None) -> Any:
            if "m" in trade:
                return super().parse_ws_trade(trade, market)
            # A spot frame: let ccxt parse it with a neutral "m" so that its takerOrMaker is
            # bound, then undo what that flag set (a public trade has no maker/taker side).
            parsed = super().parse_ws_trade({**trade, "m": False}, market)
            parsed["info"] = trade
            parsed["takerOrMaker"] = None
            if parsed.get("timestamp") is None and trade.get("s_t") is not None:
                parsed["timestamp"] = self.safe_timestamp(trade, "s_t")
                parsed["datetime"] = self.iso8601(parsed["timestamp"])
            return parsed

        # -- incremental books --------------------------------------------------------------

        def handle_delta(self, bookside: Any, delta: Any) -> None:
            # ccxt's own handle_delta, with the level checked (it bypasses
            # parse_order_book_bid_ask, where the other books are checked).
            self.handle_deltas(bookside, (delta,))

        def handle_deltas(self, bookside: Any, deltas: Any) -> None:
            # Every level of every frame comes here: one loop with float() straight away,
            # not a method call and two ccxt safe_float calls a level.
            store = bookside.storeArray
            for delta in deltas:
                try:
                    price, amount = float(delta[0]), float(delta[1])
                except (LookupError, TypeError, ValueError):  # no price or no size
                    raise book_level_error(self.id, delta) from None
                if not (0.0 < price < _INF and 0.0 <= amount < _INF):
                    raise book_level_error(self.id, delta)
                store([price, amount])

        def handle_order_book(self, client: Any, message: Any) -> Any:
            # Runs on every book frame, so it is written for speed: plain dict lookups keyed
            # by the venue's market id (ccxt's safe_* helpers cost more than the check), and
            # ccxt's handler called directly.
            table = message.get("table") if isinstance(message, dict) else None
            data = message.get("data") if isinstance(message, dict) else None
            if not isinstance(table, str) or "increase" not in table or not isinstance(data, list):
                return ccxt_handle_order_book(self, client, message)
            versions = self.__dict__.setdefault("_depth_versions", {})
            kept = []
            for update in data:
                market_id, version = update.get("symbol"), update.get("version")
                if type(version) is not int:
                    version = _version(version)
                if update.get("type") == "snapshot":
                    versions[market_id] = version
                    kept.append(update)
                    continue
                last = versions.get(market_id)
                if last is None or version is None or version <= last:
                    continue  # no snapshot yet (or since a gap), or already applied
                if version != last + 1:
                    del versions[market_id]
                    symbol = self.safe_symbol(market_id)
                    client.on_error(
                        StreamResync(
                            f"{self.id} {symbol}: depth version gap ({last} then {version}); "
                            "reconnecting for a fresh snapshot"
                        )
                    )
                    return None
                versions[market_id] = version
                kept.append(update)
            if len(kept) != len(data):
                if not kept:
                    return None
                message = {**message, "data": kept}
            return ccxt_handle_order_book(self, client, message)

        # -- errors -------------------------------------------------------------------------

        def handle_error_message(self, client: Any, message: Any) -> Any:
            if (
                isinstance(message, dict)
                and message.get("event") == "error"
                and self.safe_string(message, "errorCode") == "30013"
            ):
                error = ccxt.AuthenticationError(self.id + " " + self.json(message))
                client.subscriptions.pop("authenticated", None)
                client.reject(error)
                return True
            return ccxt_handle_error_message(self, client, message)  # every frame: no super()

        # -- orders and fills ---------------------------------------------------------------

        def parse_ws_order(self, order: dict[str, Any], market: Any = None) -> Any:
            parsed = super().parse_ws_order(order, market)
            if "action" in order:
                return parsed  # a swap frame, parsed correctly by ccxt
            client_order_id = self.safe_string(order, "client_order_id")
            if client_order_id:
                parsed["clientOrderId"] = client_order_id
            created = self.safe_integer(order, "create_time")
            if created:
                parsed["timestamp"] = created
                parsed["datetime"] = self.iso8601(created)
            filled_at = self.safe_integer(order, "last_fill_time")
            parsed["lastTradeTimestamp"] = filled_at or None
            parsed["lastUpdateTimestamp"] = self.safe_integer_2(order, "update_time", "ms_t")
            return parsed

        def handle_orders(self, client: Any, message: Any) -> None:
            super().handle_orders(client, message)
            data = message.get("data") if isinstance(message, dict) else None
            if "group" in message or not isinstance(data, list):
                return
            fills = [f for f in (self.parse_ws_fill(o) for o in data if isinstance(o, dict)) if f]
            if not fills:
                return
            if self.myTrades is None:
                self.myTrades = ArrayCacheBySymbolById(
                    self.safe_integer(self.options, "tradesLimit", 1000)
                )
            for fill in fills:
                self.myTrades.append(fill)
            client.resolve(self.myTrades, "myTrades")

        def parse_ws_fill(self, order: dict[str, Any]) -> Any:
            """The execution an order update reports in its ``last_fill_*`` fields, if any."""
            amount = self.safe_string(order, "last_fill_count")
            filled_at = self.safe_integer(order, "last_fill_time")
            if not filled_at or amount is None or self.parse_number(amount) == 0:
                return None
            market = self.safe_market(self.safe_string(order, "symbol"), None, "_", "spot")
            order_id = self.safe_string(order, "order_id")
            # detail_id identifies the execution; older frames lack it, and then the order and
            # the fill time do (an update repeating the last fill must not count twice).
            fill_id = self.safe_string(order, "detail_id") or f"{order_id}-{filled_at}"
            return self.safe_trade(
                {
                    "info": order,
                    "id": fill_id,
                    "order": order_id,
                    "clientOrderId": self.safe_string(order, "client_order_id") or None,
                    "timestamp": filled_at,
                    "datetime": self.iso8601(filled_at),
                    "symbol": market["symbol"],
                    "type": self.safe_string(order, "type"),
                    "side": self.safe_string_lower(order, "side"),
                    "takerOrMaker": _EXEC_TYPES.get(self.safe_string(order, "exec_type") or ""),
                    "price": self.safe_string(order, "last_fill_price"),
                    "amount": amount,
                    "cost": None,
                    "fee": None,
                },
                market,
            )

        async def watch_my_trades(
            self,
            symbol: str | None = None,
            since: Any = None,
            limit: Any = None,
            params: Any = None,
        ) -> Any:
            """The account's fills, from the ``spot/user/orders`` channel ``watch_orders`` uses."""
            if self.markets is None:
                await self.load_markets()
            await self.authenticate("spot", params or {})
            url = self.implode_hostname(self.urls["api"]["ws"]["spot"]["private"])
            request = {"op": "subscribe", "args": ["spot/user/orders:ALL_SYMBOLS"]}
            # "orders" is the subscription watch_orders(None) makes: one subscription feeds both.
            return await self.watch(url, "myTrades", request, "orders")

        # -- balance ------------------------------------------------------------------------

        def handle_balance(self, client: Any, message: Any) -> Any:
            channel = self.safe_string_2(message, "table", "group")
            data = message.get("data") if isinstance(message, dict) else None
            if channel is None or "spot" not in channel or not isinstance(data, list):
                return super().handle_balance(client, message)
            balance = self.balance.get("spot")
            if balance is None:
                balance = self.balance["spot"] = {}
            balance["info"] = message
            for entry in data:
                timestamp = self.safe_integer(entry, "event_time")
                if timestamp is not None:
                    balance["timestamp"] = timestamp
                    balance["datetime"] = self.iso8601(timestamp)
                for raw in self.safe_list(entry, "balance_details", []):
                    account = self.account()
                    account["free"] = self.safe_string(raw, "av_bal")
                    account["used"] = self.safe_string(raw, "fz_bal")
                    balance[self.safe_currency_code(self.safe_string(raw, "ccy"))] = account
            self.balance["spot"] = self.safe_balance(balance)
            client.resolve(self.balance["spot"], "balance:spot")
            return None

        # -- candles ------------------------------------------------------------------------

        def handle_ohlcv(self, client: Any, message: Any) -> Any:
            table = message.get("table") if isinstance(message, dict) else None
            if isinstance(table, str) and table.startswith("spot/kline"):
                interval = table[len("spot/kline") :].split(":")[0]
                timeframes = self.safe_dict(self.options, "timeframes", {})
                timeframe = self.find_timeframe(interval, timeframes)
                if timeframe in _CALENDAR_TIMEFRAMES:
                    self._store_calendar_candles(client, message, timeframe)
                    return None
            return super().handle_ohlcv(client, message)

        def _store_calendar_candles(self, client: Any, message: Any, timeframe: str) -> None:
            for entry in self.safe_list(message, "data", []):
                market = self.safe_market(self.safe_string(entry, "symbol"))
                symbol = market["symbol"]
                parsed = self.parse_ohlcv(self.safe_list(entry, "candle"), market)
                per_symbol = self.ohlcvs.setdefault(symbol, {})
                stored = per_symbol.get(timeframe)
                if stored is None:
                    stored = per_symbol[timeframe] = ArrayCacheByTimestamp(
                        self.safe_integer(self.options, "OHLCVLimit", 1000)
                    )
                stored.append(parsed)
                client.resolve(stored, "ohlcv::" + symbol)

    bitmart.__name__ = bitmart.__qualname__ = base.__name__
    return bitmart
