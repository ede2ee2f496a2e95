"""The command line's data commands: --json (one document, Decimals as strings), numbers
quantised in tables, -v with the error's causes, and --help in plain text."""

from __future__ import annotations

import argparse
import json
import logging
import re
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import build_parser, main

from .conftest import DUMMY_KEY, DUMMY_SECRET, replay


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITSTAMP_API_KEY", DUMMY_KEY)
    monkeypatch.setenv("BITSTAMP_API_SECRET", DUMMY_SECRET)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """-v configures the package's loggers; leave them as they were for the next test."""
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers))
             for n in ("adapters", "ccxt")}  # fmt: skip
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers


def run(
    capsys: pytest.CaptureFixture[str], cassette: str | None, *argv: str
) -> tuple[int, str, str]:
    if cassette is None:
        code = main(list(argv))
    else:
        with replay("bitstamp", cassette):
            code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_document(out: str) -> Any:
    """stdout holds exactly one JSON document and nothing else."""
    return json.loads(out)


# -- --json on every data command -------------------------------------------------------------


def test_markets_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "load_markets", "markets", "bitstamp", "--json")
    markets = {m["symbol"]: m for m in one_document(out)}
    # markets.json btcusd: base_decimals 8, counter_decimals 0, minimum_order_value "10"
    btc = markets["BTC/USD"]
    assert code == 0 and btc["venue_id"] == "btcusd" and btc["active"] is True
    assert D(btc["price_increment"]) == 1 and btc["amount_increment"] == "0.00000001"
    assert D(btc["min_cost"]) == 10 and "info" not in btc


def test_ticker_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fetch_ticker", "ticker", "bitstamp", "BTC/USDT", "--json")
    t = one_document(out)
    # ticker.json: last "73285", bid "73353", ask "73367", volume "135.29692054"
    assert code == 0 and t["symbol"] == "BTC/USDT"
    assert all(isinstance(t[k], str) for k in ("last", "bid", "ask", "base_volume"))
    assert (D(t["last"]), D(t["bid"]), D(t["ask"])) == (D("73285"), D("73353"), D("73367"))
    assert t["base_volume"] == "135.29692054"


def test_book_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "fetch_order_book", "book", "bitstamp", "BTC/USD", "--depth", "1", "--json"
    )
    book = one_document(out)
    # order_book.json: best bid ["8750.00", "1.33685271"]
    assert code == 0 and len(book["bids"]) == len(book["asks"]) == 1
    assert [D(x) for x in book["bids"][0]] == [D("8750.00"), D("1.33685271")]


def test_balance_json(capsys: pytest.CaptureFixture[str], keys: None) -> None:
    code, out, _ = run(capsys, "fetch_balance", "balance", "bitstamp", "--json")
    # account_balances.json: usdt total "7.00000", available "7.00000", reserved "0.00000"
    usdt = one_document(out)["USDT"]
    assert code == 0
    assert (D(usdt["free"]), D(usdt["used"]), D(usdt["total"])) == (D(7), D(0), D(7))


def test_order_and_cancel_json(capsys: pytest.CaptureFixture[str], keys: None) -> None:
    code, out, _ = run(
        capsys, "create_order_limit", "order", "bitstamp", "buy", "BTC/USD", "0.001",
        "--price", "20000", "--client-order-id", "t1", "--json",
    )  # fmt: skip
    order = one_document(out)
    # buy_limit_order_hummingbot.json: "id": 28
    assert code == 0 and (order["id"], order["client_order_id"]) == ("28", "t1")
    assert (order["status"], order["type"], order["side"]) == ("open", "LIMIT", "buy")
    # ... and it echoes "price": "10000", "amount": "100" (a fixture's values), which win
    assert (D(order["amount"]), D(order["price"])) == (D(100), D(10000))

    code, out, _ = run(
        capsys, "cancel_order", "cancel", "bitstamp", "1453282316578816", "BTC/USD", "--json"
    )
    cancelled = one_document(out)
    # cancel_order.json: "id": 1453282316578816, "amount": 0.02, "price": 2100.45
    assert code == 0 and cancelled["id"] == "1453282316578816"
    assert cancelled["status"] == "canceled" and D(cancelled["price"]) == D("2100.45")


def test_paper_ledger_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ledger = str(tmp_path / "paper.sqlite3")
    assert (
        run(capsys, None, "paper", "fund", "bitstamp", "USD", "1234.5", "--ledger", ledger)[0] == 0
    )
    code, out, _ = run(capsys, None, "paper", "balances", "bitstamp", "--ledger", ledger, "--json")
    assert code == 0
    assert one_document(out) == [
        {"currency": "USD", "free": "1234.5", "locked": "0", "total": "1234.5"}
    ]
    code, out, _ = run(capsys, None, "paper", "fills", "bitstamp", "--ledger", ledger, "--json")
    assert code == 0 and one_document(out) == []


# -- tables: numbers at the market's increments or the currency's precision -------------------


def _table(out: str) -> dict[str, list[str]]:
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()[2:]]
    return {r[0]: r[1:] for r in rows if r}


def test_ticker_table_is_quantised(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fetch_ticker", "ticker", "bitstamp", "BTC/USDT")
    rows = _table(out)
    # btcusdt: counter_decimals 0 (whole USDT prices), base_decimals 8
    assert code == 0 and rows["bid"] == ["73353"] and rows["last"] == ["73285"]
    assert rows["volume (BTC)"] == ["135.29692054"]


def test_book_table_is_quantised(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fetch_order_book", "book", "bitstamp", "BTC/USD")
    # order_book.json best bid ["8750.00", "1.33685271"]; btcusd prices are whole dollars
    # in markets.json, but this (older) book has cents ("8749.39"): the column shows them
    # rather than rounding them away
    assert code == 0 and out.splitlines()[2].split()[:2] == ["1.33685271", "8750.00"]


def test_balance_table_uses_the_currency_precision(
    capsys: pytest.CaptureFixture[str], keys: None
) -> None:
    code, out, _ = run(capsys, "fetch_balance", "balance", "bitstamp")
    # USDT's finest step on Bitstamp is xrpusdt's counter_decimals 5: "7.00000" as sent
    assert code == 0 and _table(out)["USDT"] == ["7.00000", "0.00000", "7.00000"]


# -- -v: the cause chain and the log level ----------------------------------------------------


def test_errors_are_one_line_and_verbose_adds_the_causes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "error_maintenance", "ticker", "bitstamp", "BTC/USDT")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run(capsys, "error_maintenance", "-v", "ticker", "bitstamp", "BTC/USDT")
    lines = [line for line in err.splitlines() if not line.startswith(("INFO", "DEBUG"))]
    assert code == 1 and lines[0].startswith("adapters: error: bitstamp")
    # error_maintenance.yaml: {"error":"Bitstamp.net is under scheduled maintenance. ..."}
    assert any(
        line.startswith("  caused by ccxt.base.errors.") and "scheduled maintenance" in line
        for line in lines[1:]
    )


def test_verbose_sets_the_log_level(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "fetch_ticker", "-vv", "ticker", "bitstamp", "BTC/USDT")
    assert logging.getLogger("adapters").level == logging.DEBUG
    _, _, err = run(capsys, "fetch_ticker", "ticker", "bitstamp", "BTC/USDT", "-vv")
    assert "DEBUG adapters: bitstamp fetch_ticker BTC/USDT" in err
    run(capsys, "fetch_ticker", "ticker", "bitstamp", "BTC/USDT", "-v")
    assert logging.getLogger("adapters").level == logging.INFO


# -- --help -----------------------------------------------------------------------------------


def _parsers() -> Iterator[argparse.ArgumentParser]:
    todo = [build_parser()]
    while todo:
        parser = todo.pop()
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())


def test_help_is_plain_text_with_every_argument_described() -> None:
    parsers = list(_parsers())
    assert len(parsers) >= 14  # adapters, 7 commands, paper and its 5
    for parser in parsers:
        text = parser.format_help()
        for markup in ("``", ":class:", ":meth:", ":func:", ":mod:"):
            assert markup not in text, (parser.prog, markup)
        assert max(len(line) for line in text.splitlines()) <= 100, parser.prog  # wrapped
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, (parser.prog, action.dest)


def test_help_shows_defaults() -> None:
    book = next(p for p in _parsers() if p.prog.endswith(" book"))
    assert "levels a side (default: 10)" in " ".join(book.format_help().split())
    order = next(p for p in _parsers() if p.prog.endswith(" order"))
    assert "(default: limit)" in order.format_help()


def test_paper_balances_table_uses_the_currency_precision(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ledger = str(tmp_path / "paper.sqlite3")
    for currency, amount in (("USD", "10590.27404837832"), ("ETH", "1.681384")):
        run(capsys, None, "paper", "fund", "bitstamp", currency, amount, "--ledger", ledger)
    code, out, _ = run(capsys, None, "paper", "balances", "bitstamp", "--ledger", ledger)
    # markets.json (shipped beside the sessions): ETH base_decimals 6; the finest USD
    # counter_decimals is 2 (ltcusd, ethusd, linkusd)
    rows = _table(out)
    assert code == 0
    assert rows["USD"] == ["10590.27", "0.00", "10590.27"]
    assert rows["ETH"] == ["1.681384", "0.000000", "1.681384"]
    # --json keeps the ledger's exact values
    _, out, _ = run(capsys, None, "paper", "balances", "bitstamp", "--ledger", ledger, "--json")
    assert {b["currency"]: b["total"] for b in one_document(out)} == {
        "ETH": "1.681384",
        "USD": "10590.27404837832",
    }
