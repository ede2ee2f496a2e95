"""The paper engine's values: numbers, market specs, the events that go in and the records
that come out. Plain dataclasses (no pydantic, no I/O), shared by the engine and the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from enum import StrEnum
from typing import Any

from ..enums import OrderStatus, OrderType, Side

__all__ = [
    "AVERAGE_CONTEXT",
    "MONEY_CONTEXT",
    "NOTHING",
    "ONE",
    "ZERO",
    "BalanceState",
    "BookDelta",
    "BookSnapshot",
    "CancelOrder",
    "EngineResult",
    "Event",
    "FillRecord",
    "Level",
    "Liquidity",
    "MarketSpec",
    "Number",
    "OrderState",
    "PlaceOrder",
    "PublicTrade",
    "QueueModel",
    "float_to_dec",
    "plain",
    "to_dec",
]

ZERO = Decimal(0)
ONE = Decimal(1)
# Wide enough that price x amount x fee never rounds: sums and products stay exact.
MONEY_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)
# Averages (a MARKET fill's VWAP price, ``OrderState.average``) are quotients and must round
# somewhere; 28 significant digits is Decimal's default. Costs stay exact.
AVERAGE_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)

Number = Decimal | str | int | float
Level = tuple[Any, Any]


def to_dec(value: Number) -> Decimal:
    """A number as ``Decimal``: floats through ``repr`` (shortest round-trip), never binary."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def plain(value: Decimal) -> str:
    """A Decimal for people: no exponent, no trailing zeros (``100.200`` -> ``100.2``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# Book prices and sizes repeat (a price grid, common lot sizes): their exact Decimal is
# memoised. Pure: the same float always gives the same Decimal.
_FLOAT_TO_DEC: dict[float, Decimal] = {}


def float_to_dec(value: float) -> Decimal:
    """A book level's float as the exact Decimal of its digits (memoised)."""
    found = _FLOAT_TO_DEC.get(value)
    if found is None:
        if len(_FLOAT_TO_DEC) >= 100_000:
            _FLOAT_TO_DEC.clear()
        text = repr(value)
        # "101.0" -> "101": the level's own digits, without the float's trailing ".0".
        found = _FLOAT_TO_DEC[value] = Decimal(text[:-2] if text.endswith(".0") else text)
    return found


class QueueModel(StrEnum):
    """How a resting order's place in the queue at its price is modelled."""

    #: The visible size at the price when the order joined must trade first.
    CONSERVATIVE = "conservative"
    #: The order is at the front of its level as soon as it rests.
    OPTIMISTIC = "optimistic"


class Liquidity(StrEnum):
    """Whether a fill added liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """What the engine needs to know about one market. Fees are fractions (0.001 = 0.1%)."""

    symbol: str
    base: str
    quote: str
    maker_fee: Decimal
    taker_fee: Decimal

    @property
    def fee_reserve(self) -> Decimal:
        """The fee rate a buy locks on top of its notional: the larger of maker and taker."""
        return max(self.maker_fee, self.taker_fee)


# -- events in --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """A full book: replaces both sides. Levels are ``(price, amount)``, any order."""

    symbol: str
    bids: Sequence[Level]
    asks: Sequence[Level]
    timestamp: int


@dataclass(frozen=True, slots=True)
class BookDelta:
    """Absolute level updates: the amount replaces the level, zero removes it."""

    symbol: str
    bids: Sequence[Level]
    asks: Sequence[Level]
    timestamp: int


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """A public trade; ``side`` is the aggressor's side when the venue says it."""

    symbol: str
    price: Number
    amount: Number
    side: Side | None
    timestamp: int
    id: str | None = None


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place an order. ``price`` is required for LIMIT and LIMIT_MAKER, refused for MARKET."""

    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None
    timestamp: int
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel an open order."""

    order_id: str
    timestamp: int


Event = BookSnapshot | BookDelta | PublicTrade | PlaceOrder | CancelOrder


# -- results out ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderState:
    """An order as the engine sees it after an event.

    ``locked`` is what the order still holds (quote for buys, base for sells);
    ``queue_ahead`` is the visible size still ahead of it at its price.
    """

    id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    status: OrderStatus
    price: Decimal | None
    amount: Decimal
    filled: Decimal
    cost: Decimal
    fee: Decimal
    fee_currency: str
    created: int
    updated: int
    reason: str | None
    locked: Decimal
    queue_ahead: Decimal

    @property
    def remaining(self) -> Decimal:
        """Amount not filled."""
        return self.amount - self.filled

    @property
    def average(self) -> Decimal | None:
        """Average fill price, or None before the first fill."""
        if not self.filled:
            return None
        return AVERAGE_CONTEXT.divide(self.cost, self.filled)

    @property
    def is_open(self) -> bool:
        """True while the order can still fill or be cancelled."""
        return not self.status.is_final


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution of one of our orders. ``cost`` is ``price * amount`` in quote."""

    seq: int
    id: str
    order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    cost: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    timestamp: int


@dataclass(frozen=True, slots=True)
class BalanceState:
    """One currency: ``total`` owned, ``locked`` by open orders; ``free`` is the difference."""

    currency: str
    total: Decimal
    locked: Decimal

    @property
    def free(self) -> Decimal:
        """What new orders can use."""
        return self.total - self.locked


@dataclass(frozen=True, slots=True)
class EngineResult:
    """What one event changed: order snapshots, new fills and balances, in that order."""

    orders: tuple[OrderState, ...] = ()
    fills: tuple[FillRecord, ...] = ()
    balances: tuple[BalanceState, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.orders or self.fills or self.balances)


#: The result of an event that changed nothing; hot paths return this very object.
NOTHING = EngineResult()
