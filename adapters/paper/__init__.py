"""Paper trading: a pure matching engine, a SQLite ledger and ``PaperExchange``.

``open_exchange("bitstamp", paper=True)`` is the usual way in. The engine and the ledger
import nothing heavy (no ccxt, no pydantic), so the durability tests and the benchmarks can
load them alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Engine, MarketSpec, QueueModel
    from .exchange import PaperExchange
    from .ledger import Ledger

__all__ = ["Engine", "Ledger", "MarketSpec", "PaperExchange", "QueueModel"]

_WHERE = {
    "Engine": "engine",
    "MarketSpec": "engine",
    "QueueModel": "engine",
    "Ledger": "ledger",
    "PaperExchange": "exchange",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'adapters.paper' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
