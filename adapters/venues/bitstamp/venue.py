"""Bitstamp: only what differs from the generic adapter."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ...capabilities import Stream
from ...ccxt_args import ParamRole
from ...enums import OrderStatus, OrderType
from ...errors import (
    AdapterError,
    AuthenticationFailed,
    ClockSkew,
    ExchangeError,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    UnknownOrderStatus,
    payload_messages,
)
from ...models import OrderRequest
from ...replay import Recording, RestHandler, RestResponse
from ..base import Venue, complete_amounts, decimal_field
from .replay import session_routes

if TYPE_CHECKING:
    from ..ws import StreamTopic

__all__ = ["BitstampVenue"]

_FUNDS_HINT = "Check your account balance for details."

_API = "https://www.bitstamp.net/api/#tag/Orders/operation/GetOrderStatus"
_WS = "https://www.bitstamp.net/websocket/v2/"

#: ``status`` of ``POST /api/v2/order_status/``: "Open, Finished, Expired or Canceled"
#: (Bitstamp API v2, order status response, _API). "In Queue" and "Cancel pending" are
#: earlier values that ccxt 4.5.70 still reads (``bitstamp.parse_order_status``; it maps
#: "Cancel pending" to "canceling", outside ccxt's unified set, and leaves "Expired" raw).
#: A cancel that is pending has not taken effect: the order still works and can fill.
ORDER_STATUSES: dict[str, OrderStatus] = {
    "Open": OrderStatus.OPEN,  # _API
    "Finished": OrderStatus.FILLED,  # _API
    "Expired": OrderStatus.EXPIRED,  # _API
    "Canceled": OrderStatus.CANCELED,  # _API
    "In Queue": OrderStatus.OPEN,  # ccxt 4.5.70 bitstamp.parse_order_status
    "Cancel pending": OrderStatus.OPEN,  # ccxt 4.5.70 bitstamp.parse_order_status
}

#: Events of the private ``private-my_orders_<pair>-<user id>`` channel (_WS): the frame
#: carries no status, so the event is the status. ``order_deleted`` is both a cancel and
#: the end of a full fill: its ``amount`` (the amount still open) is 0 after a full fill
#: (hummingbot's Bitstamp connector reads it the same way, bitstamp_exchange.py
#: ``_process_user_stream_order_event``).
STREAM_EVENTS = frozenset({"order_created", "order_changed", "order_deleted"})


class BitstampVenue(Venue):
    """Bitstamp spot (API v2)."""

    id: ClassVar[str] = "bitstamp"
    ccxt_name: ClassVar[str] = "bitstamp"
    # Bitstamp documents no length rule; 32 letters/digits keeps ids portable across venues.
    client_order_id_max_len: ClassVar[int] = 32
    # /api/v2/fees/trading/ reports percent strings ("0.15000" means 0.15%) and ccxt 4.5.70
    # passes them through unscaled.
    fee_scale: ClassVar[Decimal] = Decimal("0.01")
    error_codes: ClassVar[dict[str, type[AdapterError]]] = {
        "API0001": AuthenticationFailed,  # API key not found
        "API0002": AuthenticationFailed,  # IP address not allowed
        "API0003": AuthenticationFailed,  # no permission for this key
        "API0004": ClockSkew,  # invalid nonce
        "API0005": AuthenticationFailed,  # invalid signature
        "API0017": ClockSkew,  # X-Auth-Timestamp outside the allowed window
        "400.002": RateLimited,
        "400.021": OrderRejected,  # price too far from the market
        "403.004": AuthenticationFailed,  # trading unavailable for this account
    }
    error_messages: ClassVar[dict[str, type[AdapterError]]] = {
        "Order not found.": OrderNotFound,
        "Order not found": OrderNotFound,
    }
    # order_status answers an unknown id with reason "Order not found." (trailing dot, see
    # the reference capture); 404.002 is the response_code other clients read as the same.
    not_found_codes: ClassVar[frozenset[str]] = frozenset({"404.002"})
    not_found_messages: ClassVar[frozenset[str]] = frozenset(
        {"Order not found.", "Order not found"}
    )
    # Documented response code: "Provided client_order_id already exists."
    duplicate_client_id_codes: ClassVar[frozenset[str]] = frozenset({"400.019"})
    order_statuses: ClassVar[dict[str, OrderStatus]] = ORDER_STATUSES
    # private-my_orders_<pair>-<user id>: one channel per market; no candle channel.
    private_streams_per_market: ClassVar[bool] = True
    candles_by_polling: ClassVar[bool] = True
    #: Bitstamp API v2 buy/sell order flags (https://www.bitstamp.net/api/#tag/Orders):
    #: maker-or-cancel is LIMIT_MAKER; the time-in-force flags make orders the table lacks.
    #: ``pair`` is the market in the order URL (ccxt 4.5.70 lets a ``pair`` param replace it).
    order_params: ClassVar[dict[str, ParamRole]] = {
        "moc_order": ParamRole.POST_ONLY,
        "client_order_id": ParamRole.CLIENT_ORDER_ID,
        "pair": ParamRole.WIRE_FIELD,
        **dict.fromkeys(
            ["ioc_order", "fok_order", "gtd_order", "daily_order", "expire_time", "limit_price"],
            ParamRole.REFUSED,
        ),
    }

    def classify_error(self, payload: Mapping[str, Any]) -> type[AdapterError] | None:
        """Codes and exact messages first, then Bitstamp's two free-text families.

        Insufficient-funds answers carry amounts in the text ("You have only 0.012 ETH
        available. Check your account balance for details."), so they match on the fixed
        tail; a reason keyed by request field (``{"amount": [...]}``) is a validation
        rejection of the order.
        """
        found = super().classify_error(payload)
        if found is not None:
            return found
        if any(_FUNDS_HINT in text for text in payload_messages(payload)):
            return InsufficientFunds
        if isinstance(payload.get("reason"), Mapping):
            return OrderRejected
        return None

    def order_args(self, request: OrderRequest) -> tuple[str, dict[str, Any]]:
        """LIMIT_MAKER is a limit order with ``moc_order`` (maker-or-cancel).

        ccxt 4.5.70 does not translate ``postOnly`` for Bitstamp (it would forward
        ``postOnly=true``, which Bitstamp ignores), so the venue flag is set directly.
        """
        if request.type is OrderType.LIMIT_MAKER:
            return "limit", {"moc_order": True}
        return super().order_args(request)

    def read_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """Bitstamp's status, and the amounts ccxt 4.5.70 drops or misreads.

        - ``order_status``: ``status``; ``amount_remaining`` (ccxt drops it, so an open,
          partly filled order came back with neither amount nor remaining); the fills
          summed exactly from ``transactions``.
        - ``open_orders``: ``amount`` is the amount still open and ``amount_at_create``
          the order's amount (Bitstamp API v2 open orders response); ccxt reads ``amount``
          as the order's amount.
        - ``private-my_orders``: the same ``amount`` and ``amount_at_create`` meanings,
          and the event is the status (:data:`STREAM_EVENTS`); ccxt reads ``amount`` as
          the order's amount, calls a full fill "canceled" and drops ``client_order_id``.
        """
        o = dict(order)
        info = order.get("info")
        if isinstance(info, Mapping):
            if "event" in info:
                self._read_stream_order(o, info)
            else:
                self._read_rest_order(o, info)
        return complete_amounts(o)

    def _read_rest_order(self, o: dict[str, Any], info: Mapping[str, Any]) -> None:
        if info.get("status") is not None:
            o["status"] = self.order_status(info["status"])
        remaining = decimal_field(info, "amount_remaining")
        if remaining is not None:
            o["remaining"] = remaining
        at_create = decimal_field(info, "amount_at_create")
        if at_create is not None:
            o["amount"], o["remaining"] = at_create, decimal_field(info, "amount")
            o["filled"] = None
        transactions = info.get("transactions")
        symbol = o.get("symbol")
        if isinstance(transactions, list) and isinstance(symbol, str) and "/" in symbol:
            base, quote = (code.lower() for code in symbol.split("/", 1))
            # type 2 is a market trade; deposits (0) and withdrawals (1) are not fills.
            trades = [
                t for t in transactions if isinstance(t, Mapping) and str(t.get("type")) == "2"
            ]
            filled = sum((decimal_field(t, base) or Decimal(0) for t in trades), Decimal(0))
            cost = sum((decimal_field(t, quote) or Decimal(0) for t in trades), Decimal(0))
            o["filled"], o["cost"] = filled, cost
            o["average"] = cost / filled if filled else None
        if o.get("clientOrderId") in (None, ""):
            o["clientOrderId"] = info.get("client_order_id") or None

    def _read_stream_order(self, o: dict[str, Any], info: Mapping[str, Any]) -> None:
        event = info.get("event")
        if event not in STREAM_EVENTS:
            raise UnknownOrderStatus(
                f"bitstamp sent order event {event!r} on its orders channel, which it does "
                f"not document (documented: {', '.join(sorted(STREAM_EVENTS))})",
                exchange=self.id,
                status=str(event),
            )
        remaining = decimal_field(info, "amount_str", "amount")
        at_create = decimal_field(info, "amount_at_create")
        o["remaining"], o["amount"] = remaining, at_create
        # amount_traded is read as the last fill by some clients (JKorf/Bitstamp.Net
        # BitstampOrderUpdate) and as the total by others: the two documented amounts
        # settle it.
        if remaining is not None and at_create is not None:
            o["filled"] = at_create - remaining
        else:
            o["filled"] = None
        if event == "order_deleted":
            o["status"] = OrderStatus.FILLED if remaining == 0 else OrderStatus.CANCELED
        else:
            o["status"] = OrderStatus.OPEN
        o["clientOrderId"] = info.get("client_order_id") or o.get("clientOrderId") or None

    def patch_client_class(self, base: type[Any]) -> type[Any]:
        """Sign with the venue's time once an offset has been measured; stream fixes.

        ccxt 4.5.70 stamps ``X-Auth-Timestamp`` with the raw local clock and has no
        ``fetch_time`` for Bitstamp, so ``options['timeDifference']`` (set by
        :meth:`resync_clock`) would otherwise have no effect. The offset applies only while
        a request is being signed; ``sign`` is synchronous, so the flag cannot leak into
        another request. The WebSocket fixes are described in
        :mod:`adapters.venues.bitstamp.ws` and :mod:`adapters.venues.ws`.
        """

        class bitstamp(base):  # type: ignore[misc]
            _signing = False

            def milliseconds(self) -> int:
                now: int = super().milliseconds()
                if self._signing:
                    return now - int(self.options.get("timeDifference") or 0)
                return now

            def sign(self, *args: Any, **kwargs: Any) -> Any:
                self._signing = True
                try:
                    return super().sign(*args, **kwargs)
                finally:
                    self._signing = False

        # Deferred: ccxt is imported once a client is made, never by a capability query.
        from ..ws import with_stream_fixes
        from .ws import stream_client_class

        return with_stream_fixes(stream_client_class(bitstamp))

    def session_secrets(self, client: Any) -> tuple[str, ...]:
        """The WebSocket token and the user id (which names every private channel), as
        ccxt keeps them from ``POST /api/v2/websockets_token/``."""
        options = client.options
        return tuple(str(options.get(k) or "") for k in ("wsSessionToken", "userId"))

    async def fetch_order_by_client_id(
        self, client: Any, client_order_id: str, symbol: str
    ) -> dict[str, Any] | None:
        """``POST /api/v2/order_status/`` with ``client_order_id``."""
        market = client.market(symbol)
        try:
            answer = await client.privatePostOrderStatus({"client_order_id": client_order_id})
        except Exception as exc:
            if self.says_not_found(exc):
                return None
            raise
        order: dict[str, Any] = client.parse_order(answer, market)
        return order

    async def cancel_all_orders(
        self, client: Any, symbol: str | None, params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """``POST /api/v2/cancel_all_orders/`` (or ``.../{pair}/``), as ccxt 4.5.70 sends it,
        but reading the answer's ``success``: "true if all orders were successfully canceled
        and false otherwise" (Bitstamp API v2, cancel all orders). ccxt drops it and returns
        the cancelled ones, which reads as if nothing were left open; here a ``false``
        raises :class:`ExchangeError` naming the orders that were cancelled."""
        market = None if symbol is None else client.market(symbol)
        if market is None:
            answer = await client.privatePostCancelAllOrders(dict(params))
        else:
            answer = await client.privatePostCancelAllOrdersPair({**params, "pair": market["id"]})
        if not isinstance(answer, Mapping):
            import ccxt

            raise ccxt.BadResponse(f"bitstamp cancel_all_orders: unexpected answer {answer!r:.80}")
        orders: list[dict[str, Any]] = client.parse_orders(answer.get("canceled") or [], market)
        if answer.get("success") in (False, "false", "False"):
            ids = ", ".join(str(o.get("id")) for o in orders) or "none"
            raise ExchangeError(
                f"bitstamp: cancel_all_orders {symbol or '(all markets)'} answered success="
                f"false: not every order was cancelled (cancelled: {ids}); check "
                "fetch_open_orders and cancel what is left"
            )
        return orders

    async def resync_clock(self, client: Any) -> int | None:
        """Offset from the ``Date`` header of the venue's last answer (Bitstamp has no time
        endpoint); the header has one-second resolution, ample for its 150 s window."""
        headers = getattr(client, "last_response_headers", None) or {}
        date = next((v for k, v in headers.items() if str(k).lower() == "date"), None)
        if date is None:
            return None
        try:
            server = email.utils.parsedate_to_datetime(str(date))
        except (TypeError, ValueError):
            return None
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        # The header truncates to the second: the venue's clock is half a second later on
        # average.
        server_ms = int(server.timestamp() * 1000) + 500
        offset = time.time_ns() // 1_000_000 - server_ms
        client.options["timeDifference"] = offset
        return offset

    def point_at(self, client: Any, http_url: str | None = None, ws_url: str | None = None) -> None:
        """Send REST (``/api`` below ``http_url``) and WebSocket traffic elsewhere."""
        api = dict(client.urls["api"])
        if http_url is not None:
            api["public"] = api["private"] = http_url.rstrip("/") + "/api"
        if ws_url is not None:
            api["ws"] = ws_url
        client.urls["api"] = api

    def replay_routes(
        self, recording: Recording, folder: Path
    ) -> dict[str, RestResponse | RestHandler]:
        """The order-book snapshot, ticker, trades and candles of a recorded session (see
        :mod:`adapters.venues.bitstamp.replay`)."""
        return session_routes(recording, folder)

    def stream_topic(
        self, client: Any, stream: Stream, symbol: str | None, timeframe: str | None = None
    ) -> StreamTopic:
        """Bitstamp channels: ``diff_order_book_<pair>``, ``live_trades_<pair>`` and the
        private ``private-my_orders_<pair>-<user id>`` / ``private-my_trades_...``."""
        from ..ws import StreamTopic

        market = client.market(symbol)
        url = client.urls["api"]["ws"]
        if stream is Stream.ORDER_BOOK:
            channel, sub_hash = "diff_order_book_" + market["id"], "orderbook:" + market["symbol"]
        elif stream is Stream.TRADES:
            channel, sub_hash = "live_trades_" + market["id"], "trades:" + market["symbol"]
        elif stream in (Stream.ORDERS, Stream.MY_TRADES):
            kind = "private-my_orders" if stream is Stream.ORDERS else "private-my_trades"
            channel = sub_hash = f"{kind}_{market['id']}-{client.options.get('userId') or ''}"
        else:
            raise NotImplementedError(f"bitstamp has no {stream.value} channel")
        return StreamTopic(
            url, sub_hash, {"event": "bts:unsubscribe", "data": {"channel": channel}}
        )
