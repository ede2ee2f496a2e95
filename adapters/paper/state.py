"""The paper engine's mutable state: book sides, orders, per-market state and the batch
of changes one event makes. Internal to :mod:`adapters.paper.engine`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from ..enums import OrderStatus, Side
from .records import ZERO, FillRecord, Level, MarketSpec, OrderState, PlaceOrder

__all__ = ["Batch", "BookSide", "RestingOrder", "SymbolState", "crossed"]

_INF = float("inf")


class BookSide:
    """One side of a book: amounts by price and a sorted key list (bids keyed by -price)."""

    __slots__ = ("amounts", "is_bid", "keys")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.keys: list[float] = []
        self.amounts: dict[float, float] = {}

    def replace(self, levels: Iterable[Level]) -> int:
        """Replace the side; returns how many levels were ignored as not market data (a
        price that is not finite and above 0, a size that is not finite and 0 or more)."""
        amounts: dict[float, float] = {}
        ignored = 0
        for price, amount in levels:
            p, a = float(price), float(amount)
            if not (0.0 < p < _INF and 0.0 <= a < _INF):
                ignored += 1
            elif a > 0:
                amounts[p] = a
        self.amounts = amounts
        self.keys = sorted((-p for p in amounts) if self.is_bid else amounts)
        return ignored

    def best(self) -> float | None:
        if not self.keys:
            return None
        return -self.keys[0] if self.is_bid else self.keys[0]

    def levels(self) -> Iterator[tuple[float, float]]:
        """``(price, amount)`` best first."""
        amounts = self.amounts
        if self.is_bid:
            for k in self.keys:
                yield -k, amounts[-k]
        else:
            for k in self.keys:
                yield k, amounts[k]


class RestingOrder:
    """An order the engine holds (mutable; :meth:`state` is its public record)."""

    __slots__ = (
        "amount",
        "client_order_id",
        "cost",
        "created",
        "fee",
        "filled",
        "id",
        "lock_per_unit",
        "locked",
        "price",
        "price_f",
        "queue_ahead",
        "reason",
        "seq",
        "side",
        "status",
        "symbol",
        "type",
        "updated",
    )

    def __init__(
        self,
        seq: int,
        oid: str,
        ev: PlaceOrder,
    ) -> None:
        self.seq = seq
        self.id = oid
        self.client_order_id = ev.client_order_id
        self.symbol = ev.symbol
        self.side = ev.side
        self.type = ev.type
        self.price = ev.price
        self.price_f = float(ev.price) if ev.price is not None else 0.0
        self.amount = ev.amount
        self.filled = ZERO
        self.cost = ZERO
        self.fee = ZERO
        self.status = OrderStatus.OPEN
        self.created = ev.timestamp
        self.updated = ev.timestamp
        self.reason: str | None = None
        self.locked = ZERO
        self.lock_per_unit = ZERO
        self.queue_ahead = ZERO

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    def key(self) -> tuple[float, int]:
        return (-self.price_f if self.side is Side.BUY else self.price_f, self.seq)

    def state(self, quote: str) -> OrderState:
        return OrderState(
            id=self.id,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            status=self.status,
            price=self.price,
            amount=self.amount,
            filled=self.filled,
            cost=self.cost,
            fee=self.fee,
            fee_currency=quote,
            created=self.created,
            updated=self.updated,
            reason=self.reason,
            locked=self.locked,
            queue_ahead=self.queue_ahead,
        )


@dataclass(slots=True)
class SymbolState:
    """One market in the engine: its book, resting orders and what our fills took."""

    spec: MarketSpec
    bids: BookSide = field(default_factory=lambda: BookSide(True))
    asks: BookSide = field(default_factory=lambda: BookSide(False))
    # Size our own taker fills took from visible levels, by side and price (see module doc).
    took_bids: dict[float, Decimal] = field(default_factory=dict)
    took_asks: dict[float, Decimal] = field(default_factory=dict)
    # Resting orders in priority order, with their sort keys alongside for bisect.
    rest_bids: list[RestingOrder] = field(default_factory=list)
    rest_bid_keys: list[tuple[float, int]] = field(default_factory=list)
    rest_asks: list[RestingOrder] = field(default_factory=list)
    rest_ask_keys: list[tuple[float, int]] = field(default_factory=list)
    has_book: bool = False


class Batch:
    """Collects what one event changed; turned into an :class:`EngineResult`."""

    __slots__ = ("currencies", "fills", "orders")

    def __init__(self) -> None:
        self.orders: dict[str, RestingOrder] = {}
        self.fills: list[FillRecord] = []
        self.currencies: dict[str, None] = {}


def crossed(st: SymbolState) -> bool:
    """Whether the book now reaches a resting order (best ask at or below the best resting
    bid, or best bid at or above the best resting ask)."""
    return bool(
        (st.rest_bids and st.asks.keys and st.asks.keys[0] <= st.rest_bids[0].price_f)
        or (st.rest_asks and st.bids.keys and -st.bids.keys[0] >= st.rest_asks[0].price_f)
    )
