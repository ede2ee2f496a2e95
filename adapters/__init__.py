"""Typed, capability-checked adapters over ccxt for the Bitstamp and BitMart spot exchanges.

The public surface is re-exported here. Names load on first use, so
``from adapters import capabilities`` (and the ``adapters capabilities`` command) stay
instant: they never import ccxt.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Imported eagerly (stdlib only): the function ``capabilities`` shares its name with the
# submodule, and binding it here keeps a later submodule import from shadowing it.
from .capabilities import Capabilities, capabilities, supported_exchanges

if TYPE_CHECKING:
    from .credentials import Credentials
    from .enums import OrderStatus, OrderType, Side
    from .errors import (
        AdapterError,
        AuthenticationFailed,
        ExchangeClosed,
        ExchangeError,
        ExchangeUnavailable,
        InsufficientFunds,
        InvalidInput,
        InvalidOrderRequest,
        MissingCredentials,
        OrderNotFound,
        OrderOutcomeUnknown,
        OrderRejected,
        RateLimited,
        ReconnectBudgetExceeded,
        UnknownExchange,
        UnknownOrderStatus,
        UnknownSymbol,
        UnreadableAnswer,
        UnsupportedFeature,
        UnsupportedOrderType,
    )
    from .exchange import Exchange
    from .factory import open_exchange
    from .models import (
        Balance,
        Balances,
        Candle,
        Fill,
        Market,
        Order,
        OrderBook,
        OrderRequest,
        Ticker,
        Trade,
        TradingFee,
    )
    from .retry import RetryPolicy
    from .streams import StreamPolicy

__all__ = [
    "AdapterError",
    "AuthenticationFailed",
    "Balance",
    "Balances",
    "Candle",
    "Capabilities",
    "Credentials",
    "Exchange",
    "ExchangeClosed",
    "ExchangeError",
    "ExchangeUnavailable",
    "Fill",
    "InsufficientFunds",
    "InvalidInput",
    "InvalidOrderRequest",
    "Market",
    "MissingCredentials",
    "Order",
    "OrderBook",
    "OrderNotFound",
    "OrderOutcomeUnknown",
    "OrderRejected",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "RateLimited",
    "ReconnectBudgetExceeded",
    "RetryPolicy",
    "Side",
    "StreamPolicy",
    "Ticker",
    "Trade",
    "TradingFee",
    "UnknownExchange",
    "UnknownOrderStatus",
    "UnknownSymbol",
    "UnreadableAnswer",
    "UnsupportedFeature",
    "UnsupportedOrderType",
    "capabilities",
    "open_exchange",
    "supported_exchanges",
]

_WHERE = {
    "Credentials": "credentials",
    "OrderStatus": "enums",
    "OrderType": "enums",
    "Side": "enums",
    "Exchange": "exchange",
    "open_exchange": "factory",
    "RetryPolicy": "retry",
    "StreamPolicy": "streams",
    **dict.fromkeys(
        [
            "Balance",
            "Balances",
            "Candle",
            "Fill",
            "Market",
            "Order",
            "OrderBook",
            "OrderRequest",
            "Ticker",
            "Trade",
            "TradingFee",
        ],
        "models",
    ),
    **dict.fromkeys(
        [
            "AdapterError",
            "AuthenticationFailed",
            "ExchangeClosed",
            "ExchangeError",
            "ExchangeUnavailable",
            "InsufficientFunds",
            "InvalidInput",
            "InvalidOrderRequest",
            "MissingCredentials",
            "OrderNotFound",
            "OrderOutcomeUnknown",
            "OrderRejected",
            "RateLimited",
            "ReconnectBudgetExceeded",
            "UnknownExchange",
            "UnknownOrderStatus",
            "UnknownSymbol",
            "UnreadableAnswer",
            "UnsupportedFeature",
            "UnsupportedOrderType",
        ],
        "errors",
    ),
}


#: The distribution's name on PyPI; the import package is ``adapters`` (a PyPI project of that
#: name is an unrelated library).
DISTRIBUTION = "typed-spot-adapters"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    # Resolved on first use, like the public names, to keep ``import adapters`` instant.
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'adapters' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
