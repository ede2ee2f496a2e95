"""The ``--json`` document of the command lines (:func:`adapters.console.json_text`).

:func:`json_document`: the typed fields of the models (the venue's raw ``info`` left out),
Decimals as exact strings (``"0.00000001"``, never a float or ``"1E-8"``, which pydantic's
``model_dump(mode="json")`` would write), enums as their values. How tables show numbers is
:class:`adapters.console.MarketFormat`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

from .enums import Side
from .models import OrderBook

__all__ = ["json_document", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: Decimals become exact strings, models their fields."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, OrderBook):
        # Levels are kept as floats (as ccxt holds them); shown as the Decimals book.bid gives.
        return {
            "symbol": value.symbol,
            "timestamp": value.timestamp,
            "bids": [[jsonable(p), jsonable(a)] for p, a in value.levels(Side.BUY)],
            "asks": [[jsonable(p), jsonable(a)] for p, a in value.levels(Side.SELL)],
        }
    if isinstance(value, BaseModel):
        return {k: jsonable(getattr(value, k)) for k in type(value).model_fields if k != "info"}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def json_document(value: Any) -> str:
    """One JSON document for ``--json`` (indented, keys in the models' order)."""
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False)
