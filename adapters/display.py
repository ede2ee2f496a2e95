"""How the command lines show things: one JSON document, and numbers at a fixed precision.

``--json`` output is :func:`json_document`: the typed fields of the models (the venue's raw
``info`` left out), Decimals as exact strings (``"0.00000001"``, never a float), enums as
their values. Tables show numbers quantised: prices and amounts to the market's
increments (:meth:`Market.quantize_price`, :meth:`Market.quantize_amount`), balances to
the currency's precision (:func:`currency_increments`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

from .enums import Side
from .models import Market, OrderBook, at_precision

__all__ = ["currency_increments", "json_document", "jsonable", "quantize_currency"]


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


def currency_increments(markets: Iterable[Market]) -> dict[str, Decimal]:
    """Each currency's display precision: the finest step the venue's markets use for it
    (the amount increment where it is the base, the price increment where it is the quote).
    """
    found: dict[str, Decimal] = {}
    for market in markets:
        for currency, step in (
            (market.base, market.amount_increment),
            (market.quote, market.price_increment),
        ):
            if step and (currency not in found or step < found[currency]):
                found[currency] = step
    return found


def quantize_currency(value: Decimal, currency: str, increments: Mapping[str, Decimal]) -> Decimal:
    """``value`` at ``currency``'s precision from :func:`currency_increments`; unchanged (but
    without trailing zeros) when the currency is not known."""
    step = increments.get(currency)
    if step:
        return at_precision(value, step)
    return Decimal(format(value.normalize(), "f"))  # "100", never "1E+2"
