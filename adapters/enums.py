"""Enumerations shared by the models and the capability tables.

Kept free of third-party imports so that a capability query (``adapters capabilities``)
starts without loading pydantic or ccxt.
"""

from __future__ import annotations

from enum import StrEnum


class OrderType(StrEnum):
    """Order types as the connector cards name them."""

    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"
    MARKET = "MARKET"

    @classmethod
    def parse(cls, value: str | OrderType) -> OrderType:
        """Accept ``limit_maker``, ``LIMIT_MAKER`` or ``limit-maker``; raise ``ValueError``."""
        if isinstance(value, OrderType):
            return value
        key = str(value).strip().upper().replace("-", "_")
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown order type {value!r}; expected one of {allowed}") from None


class Side(StrEnum):
    """Order side."""

    BUY = "buy"
    SELL = "sell"

    @classmethod
    def parse(cls, value: str | Side) -> Side:
        """Accept ``"buy"``/``"BUY"``/``"sell"``; raise ``ValueError`` naming the choices."""
        if isinstance(value, Side):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(f"unknown side {value!r}; expected buy or sell") from None

    @property
    def opposite(self) -> Side:
        """The other side of the book."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderStatus(StrEnum):
    """Lifecycle state of an order."""

    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """True when the order can no longer change."""
        return self in _FINAL


_FINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
