"""Connector cards: what each exchange offers, as data, queryable offline.

The table here is what the adapter enforces before any request is sent. It is deliberately
stricter than ccxt where the connector card says so (ccxt lets BitMart send MARKET orders;
the BitMart connector card does not list MARKET, so we refuse it).

This module must not import ccxt or pydantic: ``adapters capabilities`` answers instantly.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from .enums import OrderType
from .errors import UnknownExchange, UnsupportedFeature, UnsupportedOrderType

__all__ = [
    "PAPER_SUFFIX",
    "Capabilities",
    "Component",
    "CredentialField",
    "Method",
    "Stream",
    "capabilities",
    "supported_exchanges",
]

PAPER_SUFFIX = "_paper_trade"


class Component(StrEnum):
    """Availability of a connector component."""

    AVAILABLE = "available"
    NOT_AVAILABLE = "not available"
    NOT_BUILT = "not built"


class Stream(StrEnum):
    """Typed WebSocket streams an exchange can offer."""

    ORDER_BOOK = "order_book"
    TRADES = "trades"
    TICKER = "ticker"
    CANDLES = "candles"
    ORDERS = "orders"
    MY_TRADES = "my_trades"
    BALANCE = "balance"


class Method(StrEnum):
    """REST methods that not every exchange offers (the rest every exchange has)."""

    FETCH_TICKERS = "fetch_tickers"
    FETCH_ORDERS = "fetch_orders"
    FETCH_CLOSED_ORDERS = "fetch_closed_orders"
    CANCEL_ALL_ORDERS = "cancel_all_orders"


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One credential an exchange needs for private calls."""

    name: str
    env_var: str
    ccxt_field: str
    description: str


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The connector card of one exchange (or its paper-trade twin)."""

    id: str
    name: str
    exchange_type: str
    market_type: str
    connection: str
    spot_connector: Component
    perp_connector: Component
    spot_candles: Component
    perp_candles: Component
    order_types: frozenset[OrderType]
    limit_maker_on_the_wire: str
    paper_trade_id: str
    credentials: tuple[CredentialField, ...]
    streams: frozenset[Stream]
    methods: frozenset[Method]
    sources: Mapping[str, str] = field(repr=False)
    paper: bool = False

    @property
    def exchange_id(self) -> str:
        """The live exchange id (``bitmart`` for ``bitmart_paper_trade`` too)."""
        return self.id.removesuffix(PAPER_SUFFIX)

    def paper_twin(self) -> Capabilities:
        """The card of this exchange's paper-trade twin (itself when it is one)."""
        if self.paper:
            return self
        return replace(self, id=self.paper_trade_id, name=f"{self.name} (paper trade)", paper=True)

    def supports(self, order_type: OrderType | str) -> bool:
        """Whether this exchange takes ``order_type``."""
        return OrderType.parse(order_type) in self.order_types

    def require(self, order_type: OrderType | str) -> OrderType:
        """Return the parsed order type, or raise :class:`UnsupportedOrderType`."""
        parsed = OrderType.parse(order_type)
        if parsed not in self.order_types:
            raise UnsupportedOrderType(
                f"{self.id} does not support {parsed.value} orders; "
                f"it takes {', '.join(self.order_type_names)}"
            )
        return parsed

    def require_stream(self, stream: Stream) -> None:
        """Raise :class:`UnsupportedFeature` if this exchange has no such stream."""
        if stream not in self.streams:
            offered = ", ".join(sorted(s.value for s in self.streams))
            raise UnsupportedFeature(f"{self.id} has no {stream.value} stream; it offers {offered}")

    def require_method(self, method: Method) -> None:
        """Raise :class:`UnsupportedFeature` if this exchange does not offer ``method``."""
        if method not in self.methods:
            offered = ", ".join(sorted(m.value for m in self.methods)) or "none of them"
            raise UnsupportedFeature(
                f"{self.id} does not offer {method.value}; of the optional methods it offers "
                f"{offered} (nothing sent)"
            )

    @property
    def order_type_names(self) -> list[str]:
        """Order types in the card's canonical order (LIMIT, LIMIT_MAKER, MARKET)."""
        return [t.value for t in OrderType if t in self.order_types]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the card, with the source of every fact."""
        return {
            "id": self.id,
            "name": self.name,
            "paper": self.paper,
            "exchange_type": self.exchange_type,
            "market_type": self.market_type,
            "connection": self.connection,
            "components": {
                "spot_connector": self.spot_connector.value,
                "perp_connector": self.perp_connector.value,
                "spot_candles": self.spot_candles.value,
                "perp_candles": self.perp_candles.value,
            },
            "order_types": self.order_type_names,
            "limit_maker_on_the_wire": self.limit_maker_on_the_wire,
            "paper_trade_id": self.paper_trade_id,
            "credentials": [
                {"name": c.name, "env_var": c.env_var, "ccxt_field": c.ccxt_field}
                for c in self.credentials
            ],
            "streams": sorted(s.value for s in self.streams),
            "methods": sorted(m.value for m in self.methods),
            "sources": dict(self.sources),
        }


def _card(venue: str) -> str:
    return f"Hummingbot connector card, https://hummingbot.org/exchanges/{venue}/"


_CANDLES = (
    "connector card says 'not built' upstream; this package builds it "
    "(BitMart kline channel, Bitstamp REST polling on the candle boundary)"
)

_TABLE: dict[str, Capabilities] = {
    "bitstamp": Capabilities(
        id="bitstamp",
        name="Bitstamp",
        exchange_type="CEX",
        market_type="CLOB",
        connection="WebSocket",
        spot_connector=Component.AVAILABLE,
        perp_connector=Component.NOT_AVAILABLE,
        spot_candles=Component.AVAILABLE,
        perp_candles=Component.NOT_BUILT,
        order_types=frozenset({OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.MARKET}),
        limit_maker_on_the_wire="limit order with moc_order=true (maker-or-cancel)",
        paper_trade_id="bitstamp_paper_trade",
        credentials=(
            CredentialField("api_key", "BITSTAMP_API_KEY", "apiKey", "API key"),
            CredentialField("api_secret", "BITSTAMP_API_SECRET", "secret", "API secret"),
        ),
        streams=frozenset(
            {Stream.ORDER_BOOK, Stream.TRADES, Stream.CANDLES, Stream.ORDERS, Stream.MY_TRADES}
        ),
        methods=frozenset({Method.FETCH_TICKERS, Method.CANCEL_ALL_ORDERS}),
        sources=MappingProxyType(
            {
                "exchange_type": _card("bitstamp"),
                "market_type": _card("bitstamp"),
                "connection": _card("bitstamp"),
                "components": _card("bitstamp"),
                "spot_candles": _CANDLES,
                "order_types": _card("bitstamp"),
                "limit_maker_on_the_wire": (
                    "Bitstamp API v2 buy/sell limit order parameter moc_order, "
                    "https://www.bitstamp.net/api/#tag/Orders; ccxt 4.5.70 bitstamp.create_order "
                    "forwards it as moc_order=true"
                ),
                "credentials": _card("bitstamp"),
                "streams": (
                    "Bitstamp WebSocket API v2 channels: diff_order_book, live_trades, "
                    "private-my_orders, private-my_trades; no ticker channel, "
                    "https://www.bitstamp.net/websocket/v2/"
                ),
                "methods": (
                    "ccxt 4.5.70 bitstamp has fetchTickers (GET /api/v2/ticker/) and "
                    "cancelAllOrders (POST /api/v2/cancel_all_orders/[{pair}/]); it has no "
                    "fetchOrders or fetchClosedOrders (Bitstamp lists no order history)"
                ),
            }
        ),
    ),
    "bitmart": Capabilities(
        id="bitmart",
        name="BitMart",
        exchange_type="CEX",
        market_type="CLOB",
        connection="WebSocket",
        spot_connector=Component.AVAILABLE,
        perp_connector=Component.NOT_AVAILABLE,
        spot_candles=Component.AVAILABLE,
        perp_candles=Component.NOT_BUILT,
        order_types=frozenset({OrderType.LIMIT, OrderType.LIMIT_MAKER}),
        limit_maker_on_the_wire='order type "limit_maker"',
        paper_trade_id="bitmart_paper_trade",
        credentials=(
            CredentialField("api_key", "BITMART_API_KEY", "apiKey", "API key"),
            CredentialField("api_secret", "BITMART_API_SECRET", "secret", "API secret"),
            CredentialField(
                "memo", "BITMART_API_MEMO", "uid", "API memo chosen when the key was created"
            ),
        ),
        streams=frozenset(
            {
                Stream.ORDER_BOOK,
                Stream.TRADES,
                Stream.TICKER,
                Stream.CANDLES,
                Stream.ORDERS,
                Stream.MY_TRADES,
                Stream.BALANCE,
            }
        ),
        methods=frozenset(
            {Method.FETCH_TICKERS, Method.FETCH_CLOSED_ORDERS, Method.CANCEL_ALL_ORDERS}
        ),
        sources=MappingProxyType(
            {
                "exchange_type": _card("bitmart"),
                "market_type": _card("bitmart"),
                "connection": _card("bitmart"),
                "components": _card("bitmart"),
                "spot_candles": _CANDLES,
                "order_types": (
                    _card("bitmart")
                    + "; stricter than ccxt, whose has['createMarketOrder'] is True for "
                    "BitMart: the connector card does not list MARKET, so it is refused"
                ),
                "limit_maker_on_the_wire": (
                    "BitMart spot API POST /spot/v2/submit_order type=limit_maker, "
                    "https://developer-pro.bitmart.com/en/spot/#new-order-v2-signed; "
                    "ccxt 4.5.70 bitmart.create_order sends it for postOnly"
                ),
                "credentials": _card("bitmart") + "; the memo is ccxt's uid",
                "streams": (
                    "BitMart spot WebSocket channels: spot/depth, spot/trade, spot/ticker, "
                    "spot/kline, spot/user/order, spot/user/balance, "
                    "https://developer-pro.bitmart.com/en/spot/#public-ticker-channel"
                ),
                "methods": (
                    "ccxt 4.5.70 bitmart has fetchTickers (GET /spot/quotation/v3/tickers), "
                    "fetchClosedOrders (POST /spot/v4/query/history-orders) and cancelAllOrders "
                    "(POST /spot/v4/cancel_all); its has['fetchOrders'] is False"
                ),
            }
        ),
    ),
}


def supported_exchanges() -> tuple[str, ...]:
    """The live exchange ids, sorted: ``("bitmart", "bitstamp")``."""
    return tuple(sorted(_TABLE))


def capabilities(exchange_id: str | Capabilities) -> Capabilities:
    """The connector card for ``exchange_id`` (``bitmart`` or ``bitmart_paper_trade``); a
    card already resolved is returned as it is.

    Raises :class:`~adapters.errors.UnknownExchange` naming the supported ids.
    """
    if isinstance(exchange_id, Capabilities):
        return exchange_id
    key = exchange_id.strip().lower()
    paper = key.endswith(PAPER_SUFFIX)
    card = _TABLE.get(key.removesuffix(PAPER_SUFFIX))
    if card is None:
        known = [*supported_exchanges(), *(c.paper_trade_id for c in _TABLE.values())]
        close = difflib.get_close_matches(key, known, n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise UnknownExchange(
            f"unknown exchange {exchange_id!r}; supported: {', '.join(known)}{hint}"
        )
    return card.paper_twin() if paper else card
