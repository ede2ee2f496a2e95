"""A market's trading rules, checked before an order is sent (live and paper pipelines)."""

from __future__ import annotations

from decimal import Decimal

from .errors import InvalidOrderRequest
from .models import Market, OrderRequest

__all__ = ["check_market_rules"]


def check_market_rules(request: OrderRequest, market: Market) -> None:
    """Raise :class:`InvalidOrderRequest` if ``request`` breaks ``market``'s trading rules."""
    sym = market.symbol
    if not market.active:
        raise InvalidOrderRequest(f"market {sym} is not active for trading")
    if market.amount_increment and _off_grid("amount", request.amount, market.amount_increment):
        raise InvalidOrderRequest(
            f"amount {request.amount} is not a multiple of {sym}'s amount increment "
            f"{market.amount_increment}"
        )
    if (
        request.price is not None
        and market.price_increment
        and _off_grid("price", request.price, market.price_increment)
    ):
        raise InvalidOrderRequest(
            f"price {request.price} is not a multiple of {sym}'s price increment "
            f"{market.price_increment}"
        )
    if market.min_amount is not None and request.amount < market.min_amount:
        raise InvalidOrderRequest(
            f"amount {request.amount} is below {sym}'s minimum amount "
            f"{market.min_amount} {market.base}"
        )
    notional = request.notional
    if notional is not None and market.min_cost is not None and notional < market.min_cost:
        raise InvalidOrderRequest(
            f"order value {notional} {market.quote} is below {sym}'s minimum cost "
            f"{market.min_cost} {market.quote}"
        )


def _off_grid(field: str, value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is not a whole multiple of ``step``."""
    try:
        return bool(value % step)
    except ArithmeticError:
        # decimal.InvalidOperation: the quotient needs more digits than the context holds,
        # i.e. the number is absurdly large for the market's step.
        raise InvalidOrderRequest(
            f"{field} {value} is out of range (too many digits at the market's step {step})"
        ) from None
