"""``adapters.console``: number formatting, the JSON helper and the table layout."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from adapters.console import (
    MarketFormat,
    currency_places,
    fmt_number,
    json_text,
    places,
    render_table,
)
from adapters.models import Market


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (D("0.01"), 2),
        (D("1E-8"), 8),
        (D("1.0"), 0),
        (D("5"), 0),
        (D("0.000010000"), 5),
        (None, None),
    ],
)
def test_places_of_an_increment(step: D | None, expected: int | None) -> None:
    assert places(step) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (D("11629.68180083824"), 2, "11629.68"),
        (D("4.1744"), 2, "4.17"),
        (D("0.5"), 6, "0.500000"),
        (D("1E-8"), None, "0.00000001"),  # never an exponent
        (D("1E+2"), None, "100"),
        (D("-0.001"), 2, "0.00"),  # no "-0.00"
        (None, 2, "-"),
    ],
)
def test_fmt_number(value: D | None, decimals: int | None, text: str) -> None:
    assert fmt_number(value, decimals) == text


def _market(symbol: str, price_step: str, amount_step: str) -> Market:
    base, quote = symbol.split("/")
    return Market(symbol=symbol, venue_id=symbol, base=base, quote=quote, active=True,
                  price_increment=D(price_step), amount_increment=D(amount_step))  # fmt: skip


def test_currency_places_take_the_finest_market() -> None:
    # A quote currency's amounts are in price increments, a base's in amount increments.
    found = currency_places(
        [_market("BTC/USD", "1", "1E-8"), _market("ETH/USD", "0.01", "0.000001")]
    )
    assert found == {"BTC": 8, "ETH": 6, "USD": 2}


def test_the_demo_figures_of_the_issue_line_up() -> None:
    """Issue 12: ``11213.91254883824`` printed next to ``4.17440``."""
    fmt = MarketFormat.of(_market("ETH/USD", "0.01", "0.000001"))
    assert fmt.balance_cells("USD", [D("10000"), D("11213.91254883824")]) == [
        "10000.00",
        "11213.91",
    ]
    assert fmt.money("USD", D("4.17440")) == "4.17"
    assert fmt.amount(D("0.5")) == "0.500000" and fmt.price(D("2087.2")) == "2087.20"


def test_balances_round_down() -> None:
    fmt = MarketFormat.of(_market("BTC/USDT", "0.01", "0.00001"))
    assert fmt.balance_cells("USDT", [D("19.62994956")]) == ["19.62"]


def test_fitted_widens_for_off_grid_values_only() -> None:
    fmt = MarketFormat.of(_market("BTC/USD", "1", "1E-8"))
    assert fmt.price(D("8754.71")) == "8755"
    wide = fmt.fitted(prices=[D("8750.00"), D("8754.71")])
    assert [wide.price(D("8750")), wide.price(D("8754.71"))] == ["8750.00", "8754.71"]
    assert fmt.fitted(prices=[D("8750")]).price(D("8750")) == "8750"


def test_no_market_shows_what_the_value_needs_up_to_8_places() -> None:
    fmt = MarketFormat()
    assert fmt.balance_cells("XYZ", [D("0.7109166"), D("0")]) == ["0.7109166", "0.0000000"]
    assert fmt.money(None, D("1.123456789123")) == "1.12345679"


def test_json_writes_decimals_out() -> None:
    # ccxt gives increments as floats (1e-08); pydantic's mode="json" would write "1E-8"
    market = _market("BTC/USD", "1E+1", "1E-8")
    doc = json.loads(json_text(market))
    assert (doc["price_increment"], doc["amount_increment"]) == ("10", "0.00000001")


def test_number_columns_are_right_aligned() -> None:
    table = render_table(["name", "amount"], [["a", "1.50"], ["bb", "1234.50"], ["c", "-"]])
    assert table.splitlines() == [
        "name   amount",
        "----  -------",
        "a        1.50",
        "bb    1234.50",
        "c           -",
    ]
