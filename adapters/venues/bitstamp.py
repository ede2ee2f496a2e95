"""Bitstamp: only what differs from the generic adapter."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from ..enums import OrderType
from ..errors import (
    AdapterError,
    AuthenticationFailed,
    ClockSkew,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    payload_messages,
)
from ..models import OrderRequest
from .base import Venue

__all__ = ["BitstampVenue"]

_FUNDS_HINT = "Check your account balance for details."


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

    def point_at(self, client: Any, http_url: str | None = None, ws_url: str | None = None) -> None:
        """Send REST (``/api`` below ``http_url``) and WebSocket traffic elsewhere."""
        api = dict(client.urls["api"])
        if http_url is not None:
            api["public"] = api["private"] = http_url.rstrip("/") + "/api"
        if ws_url is not None:
            api["ws"] = ws_url
        client.urls["api"] = api
