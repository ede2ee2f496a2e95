"""The paper account's report: PnL, fees, volume and drawdown, computed from its fills.

Pure (no I/O, no clock): :func:`build_report` takes the ledger's fills for one symbol, oldest
first, and returns a :class:`PaperReport`. ``adapters paper report`` renders it as text, JSON or
a picture (:mod:`adapters.paper.plot`); the demo's summary renders the same object.

Definitions (quote currency throughout, fees charged in quote as the engine charges them):

* **net PnL** = what selling brought in - what buying cost - fees + the position the fills
  built x the mark price. It is the account's equity at the mark minus the equity of simply
  holding what it had before the first fill, so balances held before (or funded) never count.
* **realised PnL** (before fees) uses the average cost of the position: a fill that reduces
  the position realises ``amount x (price - average cost)`` (mirrored for a short position);
  a fill that adds to it moves the average. **unrealised** is ``position x (mark - average
  cost)``. ``realised + unrealised - fees == net``.
* **equity** is net PnL over time: a point after each fill, marked at that fill's price (the
  only price the ledger holds), then a last point at the mark. It starts at 0.
* **maximum drawdown** is the largest fall of equity from a previous high (the start, 0,
  counts as one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..enums import Side
from .records import FillRecord, Liquidity

__all__ = ["Drawdown", "EquityPoint", "PaperReport", "RoleStats", "SideStats", "build_report"]

_ZERO = Decimal(0)
#: Display precision cap for quote amounts.
_MAX_PLACES = 8


@dataclass(frozen=True, slots=True)
class SideStats:
    """Fills on one side: how many, the base amount, its quote cost and average price."""

    fills: int = 0
    amount: Decimal = _ZERO
    cost: Decimal = _ZERO

    @property
    def average(self) -> Decimal | None:
        """Volume-weighted average price, or None without fills."""
        return self.cost / self.amount if self.amount else None


@dataclass(frozen=True, slots=True)
class RoleStats:
    """Fills as maker or as taker: how many, the base amount and the fees paid."""

    fills: int = 0
    amount: Decimal = _ZERO
    fees: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Net PnL right after fill ``seq`` (or at the mark, ``seq`` None), valued at ``price``."""

    timestamp: int
    equity: Decimal
    price: Decimal
    seq: int | None = None
    side: Side | None = None
    liquidity: Liquidity | None = None


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest fall of equity: from ``peak`` (an index into the curve, -1 for the start
    at 0) down to ``trough``."""

    amount: Decimal
    peak: int
    trough: int
    peak_equity: Decimal
    trough_equity: Decimal


@dataclass(frozen=True, slots=True)
class PaperReport:
    """What :func:`build_report` found in one symbol's fills."""

    symbol: str
    base: str
    quote: str
    buys: SideStats
    sells: SideStats
    maker: RoleStats
    taker: RoleStats
    #: Base bought minus base sold by these fills.
    position: Decimal
    #: Average cost of ``position`` (None when flat).
    average_cost: Decimal | None
    realised: Decimal
    #: The price the position is valued at, and where it came from.
    mark: Decimal | None
    mark_source: str
    #: Quote received for sells minus quote paid for buys, before fees.
    cash_flow: Decimal
    equity: tuple[EquityPoint, ...]
    max_drawdown: Drawdown
    first_seq: int | None
    last_seq: int | None

    @property
    def fills(self) -> int:
        """Number of fills."""
        return self.buys.fills + self.sells.fills

    @property
    def fees(self) -> Decimal:
        """Maker plus taker fees, in quote."""
        return self.maker.fees + self.taker.fees

    @property
    def unrealised(self) -> Decimal | None:
        """``position x (mark - average cost)``; None without a mark."""
        if self.mark is None:
            return None
        if self.average_cost is None:
            return _ZERO
        return self.position * (self.mark - self.average_cost)

    @property
    def net(self) -> Decimal | None:
        """Net PnL at the mark, fees included; None without a mark."""
        if self.mark is None:
            return None
        return self.cash_flow - self.fees + self.position * self.mark

    @property
    def price_places(self) -> int:
        """Decimals of the price grid the fills were on, at most 8 (for display).

        Maker fills are at their order's limit price, which the order pipeline checked
        against the market's price increment; taker prices can be a MARKET order's VWAP, so
        they count only when there are no maker fills.
        """
        fills = [p for p in self.equity if p.seq is not None]
        makers = [p for p in fills if p.liquidity is Liquidity.MAKER]
        places = [max(0, -int(p.price.normalize().as_tuple().exponent)) for p in makers or fills]
        return min(max(places, default=_MAX_PLACES), _MAX_PLACES)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data: Decimals as strings, None as null."""

        def num(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        def side(s: SideStats) -> dict[str, Any]:
            return {
                "fills": s.fills,
                "amount": num(s.amount),
                "cost": num(s.cost),
                "average_price": num(s.average),
            }

        def role(r: RoleStats) -> dict[str, Any]:
            return {"fills": r.fills, "amount": num(r.amount), "fees": num(r.fees)}

        dd = self.max_drawdown
        return {
            "symbol": self.symbol,
            "base": self.base,
            "quote": self.quote,
            "fills": self.fills,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "by_side": {"buy": side(self.buys), "sell": side(self.sells)},
            "by_role": {"maker": role(self.maker), "taker": role(self.taker)},
            "fees": num(self.fees),
            "position": num(self.position),
            "average_cost": num(self.average_cost),
            "mark": num(self.mark),
            "mark_source": self.mark_source,
            "pnl": {
                "realised": num(self.realised),
                "unrealised": num(self.unrealised),
                "fees": num(self.fees),
                "net": num(self.net),
            },
            "max_drawdown": {
                "amount": num(dd.amount),
                "peak_equity": num(dd.peak_equity),
                "trough_equity": num(dd.trough_equity),
                "peak_timestamp": self._when(dd.peak),
                "trough_timestamp": self._when(dd.trough),
            },
            "equity": [
                {
                    "timestamp": p.timestamp,
                    "seq": p.seq,
                    "equity": num(p.equity),
                    "price": num(p.price),
                    "side": None if p.side is None else p.side.value,
                    "liquidity": None if p.liquidity is None else p.liquidity.value,
                }
                for p in self.equity
            ],
        }

    def _when(self, index: int) -> int | None:
        return None if index < 0 or not self.equity else self.equity[index].timestamp


def build_report(
    fills: Iterable[FillRecord],
    *,
    symbol: str | None = None,
    mark: Decimal | None = None,
    mark_source: str = "given price",
) -> PaperReport:
    """The report of ``fills`` (oldest first, one symbol).

    ``symbol`` keeps that symbol's fills only; without it every fill must be for the same
    symbol. ``mark`` values the position that remains; without it the last fill's price is
    used (``mark_source`` then says ``"last fill price"``). No fills and no mark: no PnL figures.
    """
    chosen = [f for f in fills if symbol is None or f.symbol == symbol]
    symbols = sorted({f.symbol for f in chosen})
    if len(symbols) > 1:
        raise ValueError(f"fills for several symbols {symbols}: pick one of them")
    name = symbol or (symbols[0] if symbols else "")
    base, _, quote = name.partition("/")
    side = {Side.BUY: SideStats(), Side.SELL: SideStats()}
    role = {Liquidity.MAKER: RoleStats(), Liquidity.TAKER: RoleStats()}
    position = average = realised = cash = fees = _ZERO
    curve: list[EquityPoint] = []
    for f in chosen:
        if f.fee and f.fee_currency != quote:
            raise ValueError(
                f"fill {f.id} paid its fee in {f.fee_currency}; the report counts fees in "
                f"the quote currency {quote}"
            )
        s, r = side[f.side], role[f.liquidity]
        side[f.side] = SideStats(s.fills + 1, s.amount + f.amount, s.cost + f.cost)
        role[f.liquidity] = RoleStats(r.fills + 1, r.amount + f.amount, r.fees + f.fee)
        fees += f.fee
        signed = f.amount if f.side is Side.BUY else -f.amount
        cash -= f.cost if f.side is Side.BUY else -f.cost
        price = f.cost / f.amount if f.amount else f.price
        if position == 0 or (position > 0) == (signed > 0):
            # Adding to the position (or opening one): the average cost moves.
            average = (average * abs(position) + price * f.amount) / (abs(position) + f.amount)
            position += signed
        else:
            closed = min(f.amount, abs(position))
            realised += closed * (price - average) * (1 if position > 0 else -1)
            position += signed
            if position == 0:
                average = _ZERO
            elif (position > 0) == (signed > 0):
                average = price  # went through flat: what is left was opened at this price
        equity = cash - fees + position * f.price
        curve.append(EquityPoint(f.timestamp, equity, f.price, f.seq, f.side, f.liquidity))
    if mark is None and chosen:
        mark, mark_source = chosen[-1].price, "last fill price"
    if mark is not None and curve:
        curve.append(EquityPoint(curve[-1].timestamp, cash - fees + position * mark, mark))
    return PaperReport(
        symbol=name,
        base=base,
        quote=quote,
        buys=side[Side.BUY],
        sells=side[Side.SELL],
        maker=role[Liquidity.MAKER],
        taker=role[Liquidity.TAKER],
        position=position,
        average_cost=average if position else None,
        realised=realised,
        mark=mark,
        mark_source=mark_source if mark is not None else "none",
        cash_flow=cash,
        equity=tuple(curve),
        max_drawdown=_max_drawdown(curve),
        first_seq=chosen[0].seq if chosen else None,
        last_seq=chosen[-1].seq if chosen else None,
    )


def _max_drawdown(curve: list[EquityPoint]) -> Drawdown:
    best = Drawdown(_ZERO, -1, -1, _ZERO, _ZERO)
    peak, peak_at = _ZERO, -1
    for i, point in enumerate(curve):
        if point.equity > peak:
            peak, peak_at = point.equity, i
        elif peak - point.equity > best.amount:
            best = Drawdown(peak - point.equity, peak_at, i, peak, point.equity)
    return best
