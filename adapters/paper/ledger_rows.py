"""Rows of the paper ledger: engine records to SQLite rows and back, strictly.

Reading is strict because the file may have been damaged or edited by hand: a value that
does not parse raises :class:`BadValue` naming the column, which the ledger turns into
``LedgerDamaged``. Money is decimal text, never SQLite REAL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from ..enums import OrderStatus, OrderType, Side
from .engine import FillRecord, Liquidity, OrderState


class BadValue(ValueError):
    """A stored value that does not parse; the ledger names the file."""


def num(value: Any, column: str) -> Decimal:
    """A stored amount: the decimal text this module writes, finite."""
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            pass
        else:
            if number.is_finite():
                return number
    raise BadValue(f"{column} holds {value!r}, not a finite decimal number")


_E = TypeVar("_E", bound=Enum)


def member(kind: type[_E], value: Any, column: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise BadValue(f"{column} holds {value!r}, not one of {allowed}") from None


def whole(value: Any, column: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BadValue(f"{column} holds {value!r}, not a whole number")


def count(meta: Mapping[str, str], key: str) -> int:
    value = meta.get(key, "0")
    if not value.isascii() or not value.isdigit():
        raise BadValue(f"meta.{key} holds {value!r}, not a count")
    return int(value)


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def order_row(o: OrderState) -> tuple[Any, ...]:
    return (
        o.id,
        o.client_order_id,
        o.symbol,
        o.side.value,
        o.type.value,
        o.status.value,
        _opt(o.price),
        str(o.amount),
        str(o.filled),
        str(o.cost),
        str(o.fee),
        o.fee_currency,
        o.created,
        o.updated,
        o.reason,
        str(o.locked),
        str(o.queue_ahead),
    )


def order_from_row(r: Iterable[Any]) -> OrderState:
    (oid, coid, symbol, side, otype, status, price, amount, filled, cost, fee, fee_cur,
     created, updated, reason, locked, queue) = r  # fmt: skip
    at = f"orders row {oid!r}:"
    return OrderState(
        id=oid,
        client_order_id=coid,
        symbol=symbol,
        side=member(Side, side, f"{at} side"),
        type=member(OrderType, otype, f"{at} type"),
        status=member(OrderStatus, status, f"{at} status"),
        price=None if price is None else num(price, f"{at} price"),
        amount=num(amount, f"{at} amount"),
        filled=num(filled, f"{at} filled"),
        cost=num(cost, f"{at} cost"),
        fee=num(fee, f"{at} fee"),
        fee_currency=fee_cur,
        created=whole(created, f"{at} created"),
        updated=whole(updated, f"{at} updated"),
        reason=reason,
        locked=num(locked, f"{at} locked"),
        queue_ahead=num(queue, f"{at} queue_ahead"),
    )


def fill_row(f: FillRecord) -> tuple[Any, ...]:
    return (
        f.seq,
        f.id,
        f.order_id,
        f.client_order_id,
        f.symbol,
        f.side.value,
        str(f.price),
        str(f.amount),
        str(f.cost),
        str(f.fee),
        f.fee_currency,
        f.liquidity.value,
        f.timestamp,
    )


def fill_from_row(r: Iterable[Any]) -> FillRecord:
    seq, fid, oid, coid, symbol, side, price, amount, cost, fee, fee_cur, liq, ts = r
    at = f"fills row {fid!r}:"
    return FillRecord(
        seq=whole(seq, f"{at} seq"),
        id=fid,
        order_id=oid,
        client_order_id=coid,
        symbol=symbol,
        side=member(Side, side, f"{at} side"),
        price=num(price, f"{at} price"),
        amount=num(amount, f"{at} amount"),
        cost=num(cost, f"{at} cost"),
        fee=num(fee, f"{at} fee"),
        fee_currency=fee_cur,
        liquidity=member(Liquidity, liq, f"{at} liquidity"),
        timestamp=whole(ts, f"{at} timestamp"),
    )
