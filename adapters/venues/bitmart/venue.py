"""BitMart: only what differs from the generic adapter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ...capabilities import Stream
from ...ccxt_args import ParamRole
from ...enums import OrderStatus, OrderType
from ...errors import (
    AdapterError,
    AuthenticationFailed,
    ClockSkew,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    RateLimited,
)
from ...models import OrderRequest
from ...replay import ResumeHook
from ..base import Venue, complete_amounts, decimal_field
from .replay import bitmart_book_resume

if TYPE_CHECKING:
    from ..ws import StreamTopic

__all__ = ["BitmartVenue"]

_V4 = "https://developer-pro.bitmart.com/en/spot/#query-order-by-id-v4-signed"
_V1 = "https://developer.bitmart.com/en/spot/order/order_detail.html"
_WS = "https://developer-pro.bitmart.com/en/spot/#private-order-progress"

#: BitMart spot order statuses, in the three spellings its payloads use:
#:
#: - ``state`` of the v4 order queries (order, client-order, open-orders, history-orders)
#:   and ``order_state`` of the ``spot/user/orders`` channel: new, partially_filled,
#:   filled, canceled, partially_canceled (_V4, _WS); "failed" is the sixth value of the
#:   same enumeration (JKorf/BitMart.Net ``Enums/OrderStatus.cs``, built from BitMart's
#:   docs). ccxt 4.5.70 leaves "failed" raw.
#: - the numeric ``status`` of the v1 order detail and ``state`` of the channel: 1 order
#:   failure, 2 placing order, 3 order failure (freeze failure), 4 order success, pending
#:   fulfilment, 5 partially filled, 6 fully filled, 7 canceling, 8 canceled (_V1, _WS).
#:   ccxt maps 7 to canceled, but a cancel in progress has not taken effect: the order
#:   still works and can fill, so it stays open until 8.
ORDER_STATUSES: dict[str, OrderStatus] = {
    "new": OrderStatus.OPEN,  # _V4
    "partially_filled": OrderStatus.PARTIALLY_FILLED,  # _V4
    "filled": OrderStatus.FILLED,  # _V4
    "canceled": OrderStatus.CANCELED,  # _V4
    "partially_canceled": OrderStatus.CANCELED,  # _V4: canceled after a partial fill
    "failed": OrderStatus.REJECTED,  # BitMart.Net Enums/OrderStatus.cs (BitMart docs)
    "1": OrderStatus.REJECTED,  # _V1 "Order failure"
    "2": OrderStatus.OPEN,  # _V1 "Placing order"
    "3": OrderStatus.REJECTED,  # _V1 "Order failure, Freeze failure"
    "4": OrderStatus.OPEN,  # _V1 "Order success, Pending for fulfilment"
    "5": OrderStatus.PARTIALLY_FILLED,  # _V1 "Partially filled"
    "6": OrderStatus.FILLED,  # _V1 "Fully filled"
    "7": OrderStatus.OPEN,  # _V1 "Canceling"
    "8": OrderStatus.CANCELED,  # _V1 "Canceled"
}


class BitmartVenue(Venue):
    """BitMart spot. The API memo is ccxt's ``uid`` (see the capability card)."""

    id: ClassVar[str] = "bitmart"
    ccxt_name: ClassVar[str] = "bitmart"
    # BitMart: client_order_id is at most 32 letters and digits.
    client_order_id_max_len: ClassVar[int] = 32
    # GET /spot/quotation/v3/books: limit defaults to 35, at most 50 (ccxt 4.5.70
    # bitmart.fetch_order_book, which puts the limit on the wire as given).
    book_limit_max: ClassVar[int | None] = 50
    error_codes: ClassVar[dict[str, type[AdapterError]]] = {
        "30005": AuthenticationFailed,  # X-BM-SIGN is wrong
        "30007": ClockSkew,  # timestamp too old
        "30008": ClockSkew,  # timestamp in the future
        "30013": RateLimited,
        "50020": InsufficientFunds,  # balance not enough
        "50029": OrderRejected,  # below minimum notional
        "50030": OrderRejected,  # already canceled
        "50032": OrderNotFound,
        "50034": OrderRejected,  # post-only / IOC: price high, no matching depth
        "50035": OrderRejected,  # post-only / IOC: price low, no matching depth
        # "Cancel failed, order is not revocable status": a cancel refused because the order
        # is final (ccxt 4.5.70's table says ExchangeError); cancel_order then fetches it.
        "50036": OrderRejected,
        "51011": OrderRejected,  # below minimum notional
        "53001": AuthenticationFailed,  # KYC country restricted
        "70003": ExchangeUnavailable,  # "net error, please try later"
    }
    # "Order Id not found" / "Order does not exist" (ccxt 4.5.70's exception table).
    not_found_codes: ClassVar[frozenset[str]] = frozenset({"50005", "50032"})
    # "clientOrderId is duplicate"
    duplicate_client_id_codes: ClassVar[frozenset[str]] = frozenset({"50042"})
    #: ccxt keeps BitMart's private-channel login under this subscription key.
    auth_subscriptions: ClassVar[frozenset[str]] = frozenset({"authenticated"})
    order_statuses: ClassVar[dict[str, OrderStatus]] = ORDER_STATUSES
    #: BitMart POST /spot/v2/submit_order fields that ccxt 4.5.70 forwards from params
    #: (https://developer-pro.bitmart.com/en/spot/#new-order-v2-signed): ``notional`` is a
    #: market buy by quote amount, which the table does not list; ``size`` is the amount.
    #: ccxt 4.5.70 reads ``mode`` 4 as post-only (``bitmart.create_spot_order_request``), a
    #: futures field that has no place in a spot order.
    order_params: ClassVar[dict[str, ParamRole]] = {
        "client_order_id": ParamRole.CLIENT_ORDER_ID,
        "notional": ParamRole.REFUSED,
        "mode": ParamRole.REFUSED,
        "size": ParamRole.WIRE_FIELD,
    }

    def patch_client_class(self, base: type[Any]) -> type[Any]:
        """Load spot markets only; stream fixes (see :mod:`adapters.venues.bitmart.ws`).

        ccxt 4.5.70 also fetches contract markets from a second host on every
        ``load_markets``; this adapter is spot-only, so that call is wasted time and one
        more way for start-up to fail.
        """

        class BitmartSpot(base):  # type: ignore[misc]
            async def fetch_markets(self, params: Any = None) -> Any:
                return await self.fetch_spot_markets(params or {})

        BitmartSpot.__name__ = BitmartSpot.__qualname__ = "bitmart"
        # Deferred: ccxt is imported once a client is made, never by a capability query.
        from ..ws import with_stream_fixes
        from .ws import stream_client_class

        return with_stream_fixes(stream_client_class(BitmartSpot))

    def read_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """BitMart's status, and the amounts ccxt 4.5.70 drops or rounds, from ``info``.

        The v4 queries spell fields in camelCase (``filledSize``, ``filledNotional``,
        ``priceAvg``), the ``spot/user/orders`` channel in snake_case (``filled_size``,
        ``filled_notional``); ccxt's stream parser drops the notional and reads the numeric
        ``state`` where the channel also sends ``order_state`` (the client order id and
        creation time are fixed in :mod:`.bitmart_ws`). The average price is the venue's,
        or the filled notional over the filled size; an order with nothing filled has none
        (BitMart sends "0.00").
        """
        o = dict(order)
        info = order.get("info")
        if not isinstance(info, Mapping):
            return complete_amounts(o)
        raw = next(
            (info[k] for k in ("order_state", "state", "status") if info.get(k) not in (None, "")),
            None,
        )
        if raw is not None:
            o["status"] = self.order_status(raw)
        size = decimal_field(info, "size")
        if size:  # a market buy is sized by notional; its size is 0 or absent
            o["amount"] = size
        filled = decimal_field(info, "filledSize", "filled_size")
        if filled is not None:
            o["filled"] = filled
            cost = decimal_field(info, "filledNotional", "filled_notional")
            average = decimal_field(info, "priceAvg", "price_avg")
            if cost is not None:
                o["cost"] = cost
            if not filled:
                o["average"] = None
            elif average:
                o["average"] = average
            elif cost:
                o["average"] = cost / filled
        return complete_amounts(o)

    def order_args(self, request: OrderRequest) -> tuple[str, dict[str, Any]]:
        """LIMIT_MAKER goes out as BitMart's own order type ``limit_maker``."""
        if request.type is OrderType.LIMIT_MAKER:
            return "limit_maker", {}
        return super().order_args(request)

    async def fetch_order_by_client_id(
        self, client: Any, client_order_id: str, symbol: str
    ) -> dict[str, Any] | None:
        """``POST /spot/v4/query/client-order`` with ``clientOrderId``.

        "Not found" is an error code of :attr:`not_found_codes`, or a success envelope
        whose ``data`` is empty; a ``data`` that is neither empty nor an order is a
        malformed answer, never read as "not found".
        """
        market = client.market(symbol)
        try:
            answer = await client.privatePostSpotV4QueryClientOrder(
                {"clientOrderId": client_order_id}
            )
        except Exception as exc:
            if self.says_not_found(exc):
                return None
            raise
        data = answer.get("data") if isinstance(answer, dict) else None
        if data in (None, {}, []):
            return None
        if not isinstance(data, dict) or not data.get("orderId"):
            import ccxt

            raise ccxt.BadResponse(f"bitmart client-order query: unexpected data {data!r:.80}")
        order: dict[str, Any] = client.parse_order(data, market)
        return order

    async def resync_clock(self, client: Any) -> int | None:
        """ccxt's own ``load_time_difference`` (``GET /system/time``), which BitMart's
        signer already applies through ``options['timeDifference']``."""
        return int(await client.load_time_difference())

    def point_at(self, client: Any, http_url: str | None = None, ws_url: str | None = None) -> None:
        """Send REST and WebSocket (public and private) traffic elsewhere."""
        api = dict(client.urls["api"])
        if http_url is not None:
            api["spot"] = api["swap"] = http_url.rstrip("/")
        if ws_url is not None:
            base = ws_url.rstrip("/")
            api["ws"] = {
                "spot": {
                    "public": f"{base}/api?protocol=1.1",
                    "private": f"{base}/user?protocol=1.1",
                }
            }
        client.urls["api"] = api

    def replay_resume(self) -> ResumeHook | None:
        """A fresh snapshot per book, as BitMart sends on every (re)subscription."""
        return bitmart_book_resume

    def stream_topic(
        self, client: Any, stream: Stream, symbol: str | None, timeframe: str | None = None
    ) -> StreamTopic:
        """BitMart spot topics; orders and fills share ``spot/user/orders:ALL_SYMBOLS``."""
        from ..ws import StreamTopic

        spot = client.urls["api"]["ws"]["spot"]
        if stream in (Stream.ORDERS, Stream.MY_TRADES, Stream.BALANCE):
            url = client.implode_hostname(spot["private"])
            if stream is Stream.BALANCE:
                topic, sub_hash = "spot/user/balance:BALANCE_UPDATE", "balance:spot"
            else:
                topic, sub_hash = "spot/user/orders:ALL_SYMBOLS", "orders"
            return StreamTopic(url, sub_hash, {"op": "unsubscribe", "args": [topic]})
        market = client.market(symbol)
        url = client.implode_hostname(spot["public"])
        sym, venue_id = market["symbol"], market["id"]
        if stream is Stream.ORDER_BOOK:
            depth = client.options["watchOrderBook"].get("depth", "depth/increase100")
            topic, sub_hash = f"spot/{depth}:{venue_id}", "orderbook::" + sym
        elif stream is Stream.TRADES:
            topic, sub_hash = f"spot/trade:{venue_id}", "trade::" + sym
        elif stream is Stream.TICKER:
            topic, sub_hash = f"spot/ticker:{venue_id}", "ticker::" + sym
        elif stream is Stream.CANDLES:
            interval = client.options["timeframes"].get(timeframe, timeframe)
            topic, sub_hash = f"spot/kline{interval}:{venue_id}", "ohlcv::" + sym
        else:
            raise NotImplementedError(f"bitmart has no {stream.value} channel")
        return StreamTopic(url, sub_hash, {"op": "unsubscribe", "args": [topic]})
