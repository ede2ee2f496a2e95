"""What both command lines share: plain-text tables and help, the usage error (exit 2),
``--json`` output, what ``-v`` shows (the error's causes, log lines on stderr), and how a
table shows a number.

Numbers in tables are quantised (:class:`MarketFormat`): prices to the market's price
increment, base amounts to its amount increment, a currency's amounts to that currency's
places (:func:`currency_places`), so a column lines up on its decimal point.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Protocol

from .redact import Redactor

__all__ = [
    "FALLBACK_PLACES",
    "HelpFormatter",
    "MarketFormat",
    "MarketSteps",
    "UsageError",
    "VersionAction",
    "add_command",
    "add_json_flag",
    "column_places",
    "currency_places",
    "error_causes",
    "fmt_number",
    "json_text",
    "log_to_stderr",
    "places",
    "places_of_value",
    "render_table",
]


class MarketSteps(Protocol):
    """What formatting reads of a market (:class:`adapters.models.Market` has it all); a
    protocol, so this bottom-layer module imports no models."""

    @property
    def base(self) -> str: ...
    @property
    def quote(self) -> str: ...
    @property
    def price_increment(self) -> Decimal | None: ...
    @property
    def amount_increment(self) -> Decimal | None: ...


#: Display decimals of a currency no loaded market gives a precision for (8: a satoshi).
FALLBACK_PLACES = 8


class UsageError(Exception):
    """Bad command-line input; the message is the one line shown to the user."""


def _numeric(cell: str) -> bool:
    try:
        return Decimal(cell).is_finite()
    except InvalidOperation:
        return False


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with aligned columns; columns of numbers are right-aligned.

    A column whose cells (headers and empty or ``-`` cells aside) are all numbers is
    right-aligned, so numbers quantised to the same places line up on the decimal point.
    """
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = [
        bool(values) and all(_numeric(v) for v in values)
        for values in (
            [r[i] for r in cells[1:] if r[i] not in ("", "-")] for i in range(len(headers))
        )
    ]

    def line(row: Sequence[str]) -> str:
        parts = (
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
        )
        return "  ".join(parts).rstrip()

    lines = [line(r) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def places(step: Decimal | None) -> int | None:
    """The decimal places of an increment (``0.01`` -> 2, ``1E-8`` -> 8, ``5`` -> 0)."""
    if step is None or not step.is_finite() or step <= 0:
        return None
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else None


def fmt_number(
    value: Decimal | int | None, decimals: int | None = None, *, rounding: str = ROUND_HALF_EVEN
) -> str:
    """``value`` for a table: ``decimals`` places (none given: as few as show it exactly),
    never an exponent; ``-`` for a missing value. ``rounding`` is a :mod:`decimal` mode;
    balances use ``ROUND_DOWN`` so a table never shows more than is held."""
    if value is None:
        return "-"
    number = Decimal(value)
    if decimals is None:
        shown = number.normalize()
    else:
        shown = number.quantize(Decimal(1).scaleb(-decimals), rounding=rounding)
    return format(shown.copy_abs() if shown == 0 else shown, "f")


def column_places(values: Iterable[Decimal | None], limit: int = FALLBACK_PLACES) -> int:
    """The fewest places (at most ``limit``) that show every value of a column exactly:
    the rule for amounts of a currency no market gives a precision for."""
    needed = [places_of_value(v) for v in values if v is not None]
    return min(limit, max(needed, default=0))


def places_of_value(value: Decimal) -> int:
    """The decimal places ``value`` needs (``1.50`` -> 1, ``100`` -> 0)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def currency_places(markets: Iterable[MarketSteps]) -> dict[str, int]:
    """Each currency's display places, from the markets that quote it.

    A base currency's amounts are counted in its markets' amount increments, a quote
    currency's in their price increments (a price is an amount of the quote currency); a
    currency in several markets takes the finest. Neither venue's ccxt ``currencies`` is
    usable for this: BitMart's precision is None, and Bitstamp's quote currency takes the
    price tick of the first market listing it (USD gets 1, from BTC/USD, though USD
    balances hold cents).
    """
    found: dict[str, int] = {}
    for m in markets:
        for currency, step in ((m.base, m.amount_increment), (m.quote, m.price_increment)):
            p = places(step)
            if p is not None:
                found[currency] = max(p, found.get(currency, 0))
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class MarketFormat:
    """How a table shows one market's numbers: prices to its price increment, base amounts
    to its amount increment, a currency's amounts to :func:`currency_places`. Without a
    market (or an increment), a number shows as few places as show it exactly, at most
    :data:`FALLBACK_PLACES`."""

    price_places: int | None = None
    amount_places: int | None = None
    currencies: Mapping[str, int] = dataclasses.field(default_factory=dict)
    quote: str | None = None

    @classmethod
    def of(cls, market: MarketSteps | None, markets: Iterable[MarketSteps] = ()) -> MarketFormat:
        """The format of ``market``; ``markets`` (all loaded ones) refine the currencies."""
        if market is None:
            return cls(currencies=currency_places(markets))
        return cls(
            price_places=places(market.price_increment),
            amount_places=places(market.amount_increment),
            currencies=currency_places([*markets, market]),
            quote=market.quote,
        )

    def fitted(
        self, prices: Iterable[Decimal | None] = (), amounts: Iterable[Decimal | None] = ()
    ) -> MarketFormat:
        """This format, widened so none of ``prices``/``amounts`` loses a digit (up to
        :data:`FALLBACK_PLACES`): a value off the market's grid (a payload from before the
        venue changed its increments) widens its column instead of being rounded away."""
        price = max(self.price_places or 0, column_places(prices))
        amount = max(self.amount_places or 0, column_places(amounts))
        return dataclasses.replace(self, price_places=price, amount_places=amount)

    def balance_cells(self, currency: str, values: Sequence[Decimal]) -> list[str]:
        """One currency's balance figures in the currency's places (a currency no market
        gives places for: the fewest, at most 8, that show these figures exactly), rounded
        down so a table never shows more than is held. ``--json`` has the exact figures."""
        decimals = self.currencies.get(currency)
        if decimals is None:
            decimals = column_places(values)
        return [fmt_number(v, decimals, rounding=ROUND_DOWN) for v in values]

    def price(self, value: Decimal | None) -> str:
        """A price, in the market's price increment."""
        return fmt_number(value, _or_fallback(self.price_places, value))

    def amount(self, value: Decimal | None) -> str:
        """A base amount, in the market's amount increment."""
        return fmt_number(value, _or_fallback(self.amount_places, value))

    def money(self, currency: str | None, value: Decimal | None) -> str:
        """An amount of ``currency`` (the quote currency when None): a cost or a fee."""
        code = currency or self.quote
        decimals = self.currencies.get(code) if code is not None else None
        return fmt_number(value, _or_fallback(decimals, value))


def _or_fallback(decimals: int | None, value: Decimal | None) -> int | None:
    if decimals is not None or value is None:
        return decimals
    return column_places([value])


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written; each option's default shown where it has one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "%(default)" not in text
            and action.default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


def add_command(
    sub: Any, name: str, summary: str, description: str = ""
) -> argparse.ArgumentParser:
    """A sub-command with plain-text help: the summary, then the longer description."""
    text = f"{summary}." + (f"\n\n{textwrap.fill(description, 78)}" if description else "")
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=text, formatter_class=HelpFormatter
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS,
        help="show the error's causes; -v logs at INFO, -vv at DEBUG",
    )  # fmt: skip
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON document (Decimals as strings) instead of a table",
    )  # fmt: skip


def json_text(value: Any) -> str:
    """``--json`` output: one JSON document, Decimals as exact strings (see
    :func:`adapters.display.json_document`)."""
    from .display import json_document  # deferred: pydantic; tables and help start faster

    return json_document(value)


def error_causes(exc: BaseException, redact: Redactor | None = None) -> list[str]:
    """One line per link of ``exc``'s cause chain, innermost last, each through ``redact``
    (a :class:`~adapters.redact.Redactor` holding the credentials the command could have
    loaded)."""
    lines: list[str] = []
    seen = {id(exc)}
    link = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        text = " ".join(str(link).split())
        text = redact(text) if redact is not None else text
        kind = f"{type(link).__module__}.{type(link).__qualname__}".removeprefix("builtins.")
        lines.append(f"  caused by {kind}: {text[:500]}" if text else f"  caused by {kind}")
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return lines


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines to whatever ``sys.stderr`` is when they are written."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def log_to_stderr(verbose: int) -> None:
    """``-v``: the package's (and ccxt's) log lines on stderr, INFO or, with -vv, DEBUG."""
    if not verbose:
        return
    level = logging.INFO if verbose == 1 else logging.DEBUG
    for name in ("adapters", "ccxt"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)


class VersionAction(argparse.Action):
    """``--version``: read from the installed package's metadata only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from . import DISTRIBUTION, __version__

        print(f"{parser.prog} {__version__} ({DISTRIBUTION})")
        parser.exit()
