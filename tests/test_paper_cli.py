"""``adapters paper ...``: the demo, fund/balances/fills/reset, and the exit codes."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.enums import OrderType, Side
from adapters.paper.engine import BookSnapshot, Engine, MarketSpec, PlaceOrder
from adapters.paper.ledger import FILL_CSV_COLUMNS, Ledger


def _refuse_float(number: str) -> object:
    raise AssertionError(f"a float in the JSON output: {number}")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_demo_runs_offline_and_leaves_nothing_behind(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # conftest: the working directory and XDG_STATE_HOME are both under tmp_path
    code, out, err = run(capsys, "paper", "demo", "--quiet")
    assert code == 0, err
    assert "paper demo summary" in out and "marked to the last mid" in out
    assert "MARKET buy of 0.500000 ETH filled 0.500000" in out
    assert list(tmp_path.iterdir()) == [], "the demo must not leave files behind"
    # Quantised to ETH/USD's increments in the session's markets payload (Bitstamp
    # base_decimals 6, counter_decimals 2): ETH in 6 places, USD figures in 2.
    eth, usd = re.compile(r"^-?\d+\.\d{6}$"), re.compile(r"^-?\d+\.\d{2}$")
    rows = [line.split() for line in out.splitlines()]
    # the report's side table: side, fills, ETH, avg price, USD; each column in one format
    sides = [r for r in rows if len(r) == 5 and r[0] in ("buy", "sell")]
    assert len(sides) == 2 and all(eth.match(r[2]) and usd.match(r[4]) for r in sides), sides
    balances = {r[0]: r[1:] for r in rows if len(r) == 4 and r[0] in ("ETH", "USD")}
    assert all(eth.match(c) for c in balances["ETH"]), balances
    assert all(usd.match(c) for c in balances["USD"]), balances


def test_fund_balances_fills_and_reset(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "paper", "fund", "bitstamp", "usd", "10000")
    assert code == 0 and "USD total 10000" in out
    path = tmp_path / "state" / "adapters" / "paper" / "bitstamp_paper_trade-default.sqlite3"
    assert path.is_file() and str(path) in out
    # a fill, written by the engine into the same ledger
    with Ledger(path, exchange_id="bitstamp_paper_trade") as ledger:
        engine = Engine([MarketSpec("BTC/USD", "BTC", "USD", D("0.001"), D("0.002"))])
        state = ledger.load()
        engine.restore(
            balances=state.balances, open_orders=state.open_orders, counters=state.counters
        )
        engine.apply(BookSnapshot("BTC/USD", [], [("100", "1")], 1))
        result = engine.apply(PlaceOrder("BTC/USD", Side.BUY, OrderType.MARKET, D("0.5"), None, 2))
        ledger.record(result, engine.counters)
    code, out, _ = run(capsys, "paper", "balances", "bitstamp")
    # 10000 - 50 - 0.1 fee; BTC in BTC/USD's amount increment (base_decimals 8), USD in the
    # finest USD price increment (counter_decimals 2) of the shipped markets
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    assert code == 0
    assert rows == {
        "BTC": ["0.50000000", "0.00000000", "0.50000000"],
        "USD": ["9949.90", "0.00", "9949.90"],
    }
    code, out, _ = run(capsys, "paper", "fills", "bitstamp", "--json")
    (fill,) = json.loads(out, parse_float=_refuse_float)
    assert code == 0 and list(fill) == list(FILL_CSV_COLUMNS)
    assert (D(fill["price"]), D(fill["amount"]), D(fill["fee"])) == (D("100"), D("0.5"), D("0.1"))
    assert (fill["side"], fill["liquidity"], fill["fee_currency"]) == ("buy", "taker", "USD")
    target = tmp_path / "fills.csv"
    code, out, _ = run(capsys, "paper", "fills", "bitstamp", "--csv", str(target))
    assert code == 0 and "wrote 1 fills" in out
    (row,) = list(csv.DictReader(target.open(encoding="utf-8")))
    # 0.5 @ 100, taker fee 0.2% of 50
    assert (D(row["price"]), D(row["amount"]), D(row["fee"])) == (D("100"), D("0.5"), D("0.1"))
    code, out, _ = run(capsys, "paper", "reset", "bitstamp")
    assert code == 0 and "reset" in out
    code, out, _ = run(capsys, "paper", "balances", "bitstamp")
    assert code == 0 and "no balances" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["paper", "fund", "nowhere", "USD", "1"],
        ["paper", "fund", "bitstamp", "USD", "ten"],
        ["paper", "fund", "bitstamp", "USD", "-1"],
        ["paper", "fund", "bitstamp", "U$D", "1"],
        ["paper", "fills", "bitstamp"],
        ["paper", "fills", "bitstamp", "--csv", "/no/such/dir/fills.csv"],
        ["paper", "teleport"],
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("adapters: error:")


def test_errors_exit_1_with_the_typed_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ledger = tmp_path / "mine.sqlite3"
    assert run(capsys, "paper", "fund", "bitstamp", "USD", "1", "--ledger", str(ledger))[0] == 0
    code, _, err = run(capsys, "paper", "balances", "bitmart", "--ledger", str(ledger))
    assert code == 1
    assert "belongs to bitstamp_paper_trade" in err and len(err.strip().splitlines()) == 1
