"""Paper engine records as the public models (the paper twin of :mod:`adapters.convert`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..models import Balance, Balances, Fill, Order
from .records import BalanceState, FillRecord, OrderState

__all__ = [
    "balance_from_state",
    "balances_from_states",
    "fill_from_record",
    "order_from_state",
    "window",
]


def order_from_state(state: OrderState, extra: Mapping[str, Any] | None = None) -> Order:
    """An engine order as the public :class:`~adapters.models.Order` (``extra`` joins info)."""
    return Order(
        id=state.id,
        client_order_id=state.client_order_id,
        symbol=state.symbol,
        side=state.side,
        type=state.type,
        status=state.status,
        price=state.price,
        amount=state.amount,
        filled=state.filled,
        remaining=state.remaining,
        average=state.average,
        cost=state.cost,
        fee=state.fee,
        fee_currency=state.fee_currency,
        timestamp=state.created,
        last_update_timestamp=state.updated,
        info={
            "paper": True,
            "reason": state.reason,
            "locked": str(state.locked),
            "queue_ahead": str(state.queue_ahead),
            **(extra or {}),
        },
    )


def fill_from_record(record: FillRecord) -> Fill:
    """An engine fill as the public :class:`~adapters.models.Fill`."""
    return Fill(
        id=record.id,
        order_id=record.order_id,
        client_order_id=record.client_order_id,
        symbol=record.symbol,
        side=record.side,
        price=record.price,
        amount=record.amount,
        cost=record.cost,
        fee=record.fee,
        fee_currency=record.fee_currency,
        taker_or_maker=record.liquidity.value,
        timestamp=record.timestamp,
        info={"paper": True, "seq": record.seq},
    )


def balance_from_state(state: BalanceState) -> Balance:
    """An engine balance as the public :class:`~adapters.models.Balance`."""
    return Balance(currency=state.currency, free=state.free, used=state.locked, total=state.total)


def balances_from_states(states: Iterable[BalanceState]) -> Balances:
    """Engine or ledger balances as the public :class:`~adapters.models.Balances`."""
    return Balances(
        assets={s.currency: balance_from_state(s) for s in states}, info={"paper": True}
    )


def window(orders: list[Order], since: int | None, limit: int | None) -> list[Order]:
    """Orders from ``since`` (ms) on; ``limit`` keeps the most recent ones, as for fills."""
    if since is not None:
        orders = [o for o in orders if o.timestamp is not None and o.timestamp >= since]
    return orders[-limit:] if limit else orders
