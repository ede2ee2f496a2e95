"""Issue 11, input at the boundary: numbers, currency codes, client order ids, paper options.

One parser (:func:`adapters.inputs.parse_decimal`) reads every caller's number: order
requests, the paper API and the command line refuse the same inputs with the same words.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from adapters import InvalidInput, InvalidOrderRequest, OrderRequest, open_exchange
from adapters.cli import main
from adapters.inputs import MAX_DIGITS, MAX_PLACES, parse_decimal
from adapters.paper.exchange import PaperExchange
from adapters.paper.ledger import Ledger
from adapters.paper.session import DEMO_SESSION

FAST = {"enableRateLimit": False, "timeout_on_exit": 0}

#: What ``Decimal()`` takes but an amount must not be.
REFUSED = {
    "arabic-indic digits": "\u0661\u0662",
    "fullwidth digits": "\uff11\uff12",
    "underscores": "1_000",
    "spaces": " 1 ",
    "trailing newline": "1\n",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-inf": "-inf",
    "tiny exponent": "1e-999999999",
    "huge exponent": "1e999999",
    "19 places": "0." + "0" * 18 + "1",
    "29 digits": "1" * 29,
    "empty": "",
    "hex": "0x10",
}


def order(amount: Any, price: Any = "100") -> OrderRequest:
    return OrderRequest(symbol="ETH/USD", side="buy", type="limit", amount=amount, price=price)


@pytest.mark.parametrize("text", list(REFUSED.values()), ids=list(REFUSED))
def test_order_amounts_and_prices_are_ascii_decimal_notation_only(text: str) -> None:
    with pytest.raises(InvalidOrderRequest, match="amount"):
        order(text)
    with pytest.raises(InvalidOrderRequest, match="price"):
        order("1", text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", D("12")),
        ("0.5", D("0.5")),
        (".5", D("0.5")),
        ("1e-8", D("0.00000001")),
        ("1E3", D("1000")),
        ("+2", D("2")),
        ("0." + "0" * 17 + "1", D("1e-18")),  # 18 places: a wei
        ("9" * MAX_DIGITS, D("9" * MAX_DIGITS)),
        ("1.500000000000000000000000000000", D("1.5")),  # trailing zeros are no precision
    ],
)
def test_plain_ascii_numbers_within_bounds_are_taken(text: str, value: D) -> None:
    assert order(text).amount == value
    assert parse_decimal(text, "amount") == value


def test_the_bounds_are_the_documented_ones() -> None:
    assert (MAX_DIGITS, MAX_PLACES) == (28, 18)
    with pytest.raises(InvalidInput, match="at most 28 digits, 18 of them after the point"):
        parse_decimal(D("1e-19"), "x")
    with pytest.raises(InvalidInput, match="out of range"):
        parse_decimal(10**28, "x")
    with pytest.raises(InvalidInput, match="float"):
        parse_decimal(0.1, "x")
    with pytest.raises(InvalidInput, match="number"):
        parse_decimal(True, "x")


@pytest.mark.parametrize("text", ["1e-999999999", "1e999999", "\uff11\uff12", "1_000", " 1 "])
def test_paper_fund_on_the_command_line_refuses_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    ledger = tmp_path / "l.sqlite3"
    code = main(["paper", "fund", "bitstamp", "USD", text, "--ledger", str(ledger)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "amount" in err
    assert len(err) < 400, "the refusal quotes the value, never a million digits"
    assert not ledger.exists()


def test_the_order_command_refuses_non_ascii_digits_before_connecting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["order", "bitstamp", "buy", "ETH/USD", "\u0661\u0662", "--price", "100"])
    _, err = capsys.readouterr()
    assert code == 2 and "not a decimal number" in err


# -- client order ids: the whole string --------------------------------------------------------


def test_a_client_order_id_prefix_with_a_newline_is_refused() -> None:
    with pytest.raises(InvalidOrderRequest, match="bot"):
        open_exchange("bitstamp", client_order_id_prefix="bot\n")
    with pytest.raises(InvalidOrderRequest, match="bot"):
        open_exchange("bitmart", paper=True, ledger=":memory:", client_order_id_prefix="bot\n")


async def test_a_client_order_id_with_a_newline_is_refused_and_nothing_is_placed() -> None:
    async with open_exchange(
        "bitstamp",
        paper=True,
        ledger=":memory:",
        source=DEMO_SESSION,
        config=FAST,
        initial_balances={"USD": "10000"},
    ) as ex:
        request = OrderRequest(
            symbol="ETH/USD",
            side="buy",
            type="limit",
            amount="0.5",
            price="100",
            client_order_id="abc\n",
        )
        with pytest.raises(InvalidOrderRequest, match="client_order_id"):
            await ex.create_order(request)
        assert await ex.fetch_open_orders() == []
        ok = await ex.create_order(request.model_copy(update={"client_order_id": "abc"}))
        assert ok.client_order_id == "abc"


# -- paper options: checked before anything opens ----------------------------------------------

BAD_OPTIONS: dict[str, dict[str, Any]] = {
    "float balance": {"initial_balances": {"USD": 100.5}},
    "infinite balance": {"initial_balances": {"USD": "Infinity"}},
    "negative balance": {"initial_balances": {"USD": "-1"}},
    "bad currency": {"initial_balances": {"U$D": "1"}},
    "currency with newline": {"initial_balances": {"USD\n": "1"}},
    "currency twice": {"initial_balances": {"usd": "1", "USD": "2"}},
    "balances not a mapping": {"initial_balances": [("USD", "1")]},
    "float maker fee": {"maker_fee": 0.001},
    "negative maker fee": {"maker_fee": "-0.001"},
    "NaN taker fee": {"taker_fee": "NaN"},
    "fee of 100%": {"taker_fee": "1"},
    "unknown queue": {"queue": "fast"},
    "pace zero": {"replay_pace": 0},
    "pace negative": {"replay_pace": -1},
    "pace NaN": {"replay_pace": float("nan")},
    "pace word": {"replay_pace": "fast"},
    "pace bool": {"replay_pace": True},
}


@pytest.mark.parametrize("kind", list(BAD_OPTIONS))
def test_paper_options_are_refused_before_the_ledger_opens(tmp_path: Path, kind: str) -> None:
    ledger = tmp_path / "l.sqlite3"
    options = BAD_OPTIONS[kind]
    with pytest.raises(InvalidInput, match=next(iter(options))):
        open_exchange("bitstamp", paper=True, ledger=ledger, **options)
    assert not ledger.exists()


async def test_good_paper_options_reach_the_engine() -> None:
    async with open_exchange(
        "bitstamp",
        paper=True,
        ledger=":memory:",
        source=DEMO_SESSION,
        config=FAST,
        initial_balances={"usd": "10000", "ETH": 2},
        maker_fee="0",
        taker_fee=D("0.0025"),
        queue="optimistic",
        replay_pace="recorded",
    ) as ex:
        assert isinstance(ex, PaperExchange)
        balances = await ex.fetch_balance()
        assert (balances["USD"].total, balances["ETH"].total) == (D("10000"), D("2"))
        fee = await ex.fetch_trading_fee("ETH/USD")
        assert (fee.maker, fee.taker) == (D("0"), D("0.0025"))


def test_ledger_deposit_takes_the_same_parser() -> None:
    with Ledger(":memory:", exchange_id="bitstamp_paper_trade") as ledger:
        for text in REFUSED.values():
            with pytest.raises(InvalidInput):
                ledger.deposit("USD", text)
        assert ledger.deposits() == []


@pytest.mark.parametrize(
    "argv",
    [
        ["book", "bitstamp", "BTC/USD", "--depth", "\u0661\u0662"],
        ["book", "bitstamp", "BTC/USD", "--depth", "\uff15"],
        ["cancel", "bitstamp", "\u0661\u0662\u0663", "BTC/USD"],
        ["cancel", "bitstamp", "123\n", "BTC/USD"],
    ],
)
def test_command_line_counts_and_order_ids_are_ascii(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_a_ledger_path_with_a_tilde_is_under_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with Ledger("~/paper/l.sqlite3", exchange_id="bitstamp_paper_trade") as ledger:
        ledger.fund("USD", "1")
    assert (tmp_path / "home" / "paper" / "l.sqlite3").is_file()
    assert not (tmp_path / "~").exists()
