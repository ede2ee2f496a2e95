"""Caller input: the one parser for Decimal numbers and the check for currency codes.

``OrderRequest``, the paper API, the ledger and the command line all read a caller's numbers
through :func:`parse_decimal`, so they refuse the same inputs with the same words. Standard
library only: the ledger and the engine load it without pydantic or ccxt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Literal, overload

from .errors import InvalidInput

__all__ = [
    "MAX_DIGITS",
    "MAX_PLACES",
    "Sign",
    "parse_count",
    "parse_currency",
    "parse_decimal",
    "parse_order_id",
    "parse_symbol",
    "parse_symbols",
    "parse_window",
]

#: Decimal input is ASCII decimal notation: digits, an optional point, an optional exponent.
#: ``Decimal()`` alone also takes Arabic-Indic and fullwidth digits, underscores ("1_000"),
#: surrounding spaces, NaN and Infinity, none of which belongs in an amount.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE_TEXT = re.compile(r"[+-]?(?:nan|snan|inf|infinity)", re.IGNORECASE)
#: Written out without an exponent, a number has at most MAX_DIGITS digits (the precision of
#: ``decimal``'s default context, so arithmetic on it does not round) and at most
#: MAX_PLACES of them after the point (a wei is 1e-18). "1e-999999999" would otherwise be
#: stored as 0 and "1e999999" printed with a million digits.
MAX_DIGITS, MAX_PLACES = 28, 18
#: The last millisecond of year 9999, the latest time ISO 8601 (and ccxt's dates) can write.
MAX_TIMESTAMP_MS = 253_402_300_799_999
#: The widest count a venue parameter takes (a signed 32-bit integer); JSON bodies of larger
#: ints fail inside ccxt ("Integer exceeds 64-bit range") or are sent as they are.
MAX_LIMIT = 2**31 - 1
#: Currency codes as ccxt writes them: ASCII letters and digits ("USD", "1INCH").
_CURRENCY = re.compile(r"[A-Za-z0-9]{1,16}")

Sign = Literal["positive", "non-negative", "any"]


def parse_decimal(value: Any, field: str, *, sign: Sign = "positive") -> Decimal:
    """Read a caller's number: the one parser for Decimal input (models, paper API, CLI).

    Accepts ``Decimal``, ``int`` and ASCII decimal strings ("0.5", "12", "1e-8"); refuses
    floats (binary rounding), bools, NaN and infinities, and numbers beyond
    :data:`MAX_DIGITS` / :data:`MAX_PLACES`. ``sign`` says which values are allowed.
    Raises :class:`InvalidInput` (a ``ValueError``) naming ``field`` and the value.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{field} must be a number, got {value!r}")
    if isinstance(value, float):
        raise InvalidInput(
            f"{field}={value!r} is a float; pass Decimal({str(value)!r}) or the string "
            f"{str(value)!r} so no binary rounding reaches the exchange"
        )
    if isinstance(value, str):
        if _NON_FINITE_TEXT.fullmatch(value):
            raise InvalidInput(f"{field}={value!r} must be finite (no NaN or infinity)")
        if not _DECIMAL_TEXT.fullmatch(value):
            raise InvalidInput(
                f"{field}={value!r} is not a decimal number: use ASCII digits with an "
                "optional point and exponent, like 12, 0.5 or 1e-8"
            )
        number = Decimal(value)
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        raise InvalidInput(
            f"{field} must be a Decimal, an int or a numeric string, got {type(value).__name__}"
        )
    if not number.is_finite():
        raise InvalidInput(f"{field}={value!r} must be finite (no NaN or infinity)")
    digits, places = _written_size(number)
    if places > MAX_PLACES or digits > MAX_DIGITS:
        raise InvalidInput(
            f"{field}={_short(value)} is out of range: at most {MAX_DIGITS} digits, "
            f"{MAX_PLACES} of them after the point"
        )
    if (sign == "positive" and number <= 0) or (sign == "non-negative" and number < 0):
        wanted = "greater than 0" if sign == "positive" else "0 or more"
        raise InvalidInput(f"{field}={_short(value)} must be {wanted}")
    return number


def _written_size(number: Decimal) -> tuple[int, int]:
    """How many digits ``number`` has written out (no exponent, no trailing zeros), and how
    many of them follow the point."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite numbers only
    text = "".join(map(str, digits))
    significant = text.rstrip("0")
    if not significant:
        return 1, 0
    exponent += len(text) - len(significant)
    if exponent >= 0:
        return len(significant) + exponent, 0
    return max(len(significant), -exponent), -exponent


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} characters)"


def parse_currency(value: Any, field: str = "currency") -> str:
    """A currency code, upper-cased: 1 to 16 ASCII letters or digits, the whole string.

    Raises :class:`InvalidInput` otherwise.
    """
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise InvalidInput(
            f"{field}={_short(value)} is not a currency code: expected 1 to 16 ASCII letters "
            "or digits, like USD or BTC"
        )
    return value.upper()


def parse_count(value: Any, field: str, *, maximum: int | None = None) -> int:
    """A whole number from 1 to ``maximum`` (no bound when None): an ``int``, never a bool,
    float or string, so ``limit="5"`` or ``depth=2.5`` fails here rather than in ccxt.

    Raises :class:`InvalidInput` naming ``field`` and the accepted range.
    """
    wanted = "a whole number of 1 or more" if maximum is None else f"a whole number, 1 to {maximum}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be {wanted}, got {_short(value)}")
    if value < 1 or (maximum is not None and value > maximum):
        raise InvalidInput(f"{field} must be {wanted}, got {value}")
    return value


#: A symbol is printable ASCII without spaces; whether the market exists is the exchange's
#: question (it answers UnknownSymbol with close matches).
_SYMBOL = re.compile(r"[!-~]{1,64}")


def parse_symbol(value: Any) -> str:
    """A market symbol ("BTC/USD", any case; the exchange finds the market and its exact
    spelling).

    Raises :class:`InvalidInput` for what cannot be a symbol at all (None, a number, bytes,
    an empty string, spaces or control characters).
    """
    if not isinstance(value, str) or not _SYMBOL.fullmatch(value):
        raise InvalidInput(f"symbol must be a market symbol like 'BTC/USD', got {_short(value)}")
    return value


@overload
def parse_symbols(value: None) -> None: ...
@overload
def parse_symbols(value: Iterable[str]) -> list[str]: ...
def parse_symbols(value: Any) -> list[str] | None:
    """The ``symbols`` of ``fetch_tickers``: None (every market), or an iterable of symbols
    read into a list, each checked by :func:`parse_symbol`.

    A lone string is refused rather than read letter by letter ("BTC/USD" as "B", "T", ...):
    pass ``["BTC/USD"]``. Raises :class:`InvalidInput`.
    """
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput(
            f"symbols must be a list of market symbols like ['BTC/USD'] (or None for every "
            f"market), got {_short(value)}"
        )
    return [parse_symbol(s) for s in value]


def parse_window(since: Any, limit: Any) -> tuple[int | None, int | None]:
    """The ``since`` (a timestamp in ms, 0 or more) and ``limit`` (1 or more) of a list
    call, each optional: ints only, never a bool, float or string, so nothing ccxt would
    send as ``limit=0`` or choke on after the request reaches the venue.

    Raises :class:`InvalidInput` naming the argument.
    """
    if since is not None and (
        isinstance(since, bool) or not isinstance(since, int) or not 0 <= since <= MAX_TIMESTAMP_MS
    ):
        raise InvalidInput(
            f"since must be a timestamp in milliseconds, a whole number from 0 to "
            f"{MAX_TIMESTAMP_MS} (the end of year 9999), got {_short(since)}"
        )
    return since, None if limit is None else parse_count(limit, "limit", maximum=MAX_LIMIT)


def parse_order_id(value: Any) -> str:
    """The venue's id of an order, as a string ("1453282316578816"): printable ASCII without
    spaces, 1 to 64 characters, so ``None``, ``""`` or ``"1\\n"`` never reach the venue.

    Raises :class:`InvalidInput`.
    """
    if not isinstance(value, str) or not _SYMBOL.fullmatch(value):
        raise InvalidInput(
            f"order_id must be the venue's order id as a string, like '1453282316578816', "
            f"got {_short(value)}"
        )
    return value
