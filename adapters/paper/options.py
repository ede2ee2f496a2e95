"""The paper exchange's own arguments, checked before anything is opened or written.

Numbers go through :func:`adapters.models.parse_decimal`, the parser ``OrderRequest`` uses:
floats, NaN, infinities and non-ASCII digits are refused the same way everywhere. Every
refusal is an :class:`~adapters.errors.InvalidInput` naming the argument and the value.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..inputs import parse_currency, parse_decimal
from .engine import QueueModel

if TYPE_CHECKING:  # the session module pulls in the replay server (aiohttp): not for a
    # capability query, which reaches this module through the paper commands' parser
    from .session import Pace

__all__ = [
    "CheckedPaperOptions",
    "check_fee",
    "check_initial_balances",
    "check_pace",
    "check_paper_options",
    "check_queue",
    "check_traded",
]


@dataclass(frozen=True, slots=True)
class CheckedPaperOptions:
    """The paper arguments of :func:`adapters.open_exchange`, checked and converted."""

    initial_balances: dict[str, Decimal]
    maker_fee: Decimal | None
    taker_fee: Decimal | None
    queue: QueueModel
    replay_pace: Pace


def check_paper_options(
    *,
    initial_balances: Mapping[str, Any] | None = None,
    maker_fee: Any = None,
    taker_fee: Any = None,
    queue: Any = QueueModel.CONSERVATIVE,
    replay_pace: Any = None,
) -> CheckedPaperOptions:
    """Check every paper argument; raises :class:`InvalidInput` on the first bad one."""
    return CheckedPaperOptions(
        initial_balances=check_initial_balances(initial_balances),
        maker_fee=check_fee(maker_fee, "maker_fee"),
        taker_fee=check_fee(taker_fee, "taker_fee"),
        queue=check_queue(queue),
        replay_pace=check_pace(replay_pace),
    )


def check_fee(value: Any, field: str) -> Decimal | None:
    """A fee fraction from 0 up to (not including) 1 (``"0.001"`` is 0.1%), or None."""
    if value is None:
        return None
    fee = parse_decimal(value, field, sign="non-negative")
    if fee >= 1:
        raise InvalidInput(
            f"{field}={value!r} is a fraction of 1 or more; fees are fractions (0.001 is 0.1%)"
        )
    return fee


def check_initial_balances(value: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """``{"USD": "10000"}``: currency codes (upper-cased, each once) to amounts of 0 or more."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(
            f"initial_balances must be a mapping like {{'USD': '10000'}}, "
            f"got {type(value).__name__}"
        )
    checked: dict[str, Decimal] = {}
    for currency, amount in value.items():
        code = parse_currency(currency, "initial_balances key")
        if code in checked:
            raise InvalidInput(f"initial_balances names {code} twice ({currency!r})")
        checked[code] = parse_decimal(amount, f"initial_balances[{code!r}]", sign="non-negative")
    return checked


def check_queue(value: Any) -> QueueModel:
    """A :class:`QueueModel` or its name."""
    try:
        return QueueModel(value)
    except ValueError:
        names = ", ".join(repr(q.value) for q in QueueModel)
        raise InvalidInput(f"queue={value!r} is not a queue model; use one of {names}") from None


def check_pace(value: Any) -> Pace:
    """``None`` (as fast as the client reads), ``"recorded"``, or frames per second above 0.

    A rate, not money: ints, floats and Decimals are all taken, if finite and above 0.
    """
    if value is None:
        return None
    if isinstance(value, str) and value == "recorded":
        return "recorded"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        rate = float(value)
        if math.isfinite(rate) and rate > 0:
            return rate
    raise InvalidInput(
        f"replay_pace={value!r} is not a pace; use None, 'recorded' or frames per second above 0"
    )


def check_traded(
    codes: Iterable[str], currencies: Collection[str], exchange_id: str, field: str = "currency"
) -> None:
    """Refuse a currency no market of the venue trades (``currencies``): a typo such as
    "UDS" would otherwise hold a balance no order can use. Raises :class:`InvalidInput`
    with close matches."""
    for code in codes:
        if code not in currencies:
            close = difflib.get_close_matches(code, sorted(currencies), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InvalidInput(f"{field}={code!r}: no market of {exchange_id} trades {code}{hint}")
