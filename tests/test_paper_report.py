"""``adapters paper report`` and the demo's summary: figures checked by hand and against an
independent calculation from the ledger's rows (read with plain SQL, not the project's code).
"""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.enums import Side
from adapters.paper.demo import run_demo
from adapters.paper.engine import EngineResult, FillRecord, Liquidity
from adapters.paper.ledger import Ledger
from adapters.paper.report import build_report

M, T = Liquidity.MAKER, Liquidity.TAKER
B, S = Side.BUY, Side.SELL
EXCHANGE = "bitstamp_paper_trade"


def fill(
    seq: int, side: Side, amount: str, price: str, fee: str, role: Liquidity, ts: int
) -> FillRecord:
    cost = D(amount) * D(price)
    return FillRecord(
        seq, f"o{seq}-{seq}", f"o{seq}", None, "ETH/USD", side, D(price), D(amount), cost,
        D(fee), "USD", role, ts,
    )  # fmt: skip


#: Long 2 at an average of 105, sell 1.5 (long 0.5 left), sell 1 through flat (short 0.5 at
#: 90), buy the short back.
ROUND_TRIP = [
    fill(1, B, "1", "100", "0.4", M, 1_000),
    fill(2, B, "1", "110", "0.44", M, 2_000),
    fill(3, S, "1.5", "120", "0.72", T, 3_000),
    fill(4, S, "1", "90", "0.36", M, 4_000),
    fill(5, B, "0.5", "95", "0.19", T, 5_000),
]


def test_round_trip_figures_worked_by_hand() -> None:
    r = build_report(ROUND_TRIP)
    # realised, average cost: 1.5 x (120 - 105) = 22.5; 0.5 x (90 - 105) = -7.5 closes the
    # long, the other 0.5 opens a short at 90; buying it back at 95 realises 0.5 x -5 = -2.5.
    assert r.realised == D("12.5")
    assert (r.position, r.average_cost, r.unrealised) == (D(0), None, D(0))
    assert (r.buys.fills, r.buys.amount, r.buys.cost) == (3, D("2.5"), D("257.5"))
    assert (r.sells.fills, r.sells.amount, r.sells.cost) == (2, D("2.5"), D("270"))
    assert (r.maker.fills, r.maker.amount, r.maker.fees) == (3, D("3"), D("1.2"))
    assert (r.taker.fills, r.taker.amount, r.taker.fees) == (2, D("2"), D("0.91"))
    assert r.fees == D("2.11") and r.net == D("10.39")  # 270 - 257.5 - 2.11
    assert (r.mark, r.mark_source) == (D("95"), "last fill price")
    # cash - fees + position x the fill's price after each fill, then the mark:
    # -100-0.4+100, -210-0.84+220, -30-1.56+60, 60-1.92-45, 12.5-2.11
    assert [p.equity for p in r.equity] == [
        D("-0.4"), D("9.16"), D("28.44"), D("13.08"), D("10.39"), D("10.39")
    ]  # fmt: skip
    dd = r.max_drawdown
    assert (dd.amount, dd.peak_equity, dd.trough_equity) == (D("18.05"), D("28.44"), D("10.39"))
    assert (r.equity[dd.peak].timestamp, r.equity[dd.trough].timestamp) == (3_000, 5_000)
    assert r.realised + (r.unrealised or 0) - r.fees == r.net


def test_open_position_marked_to_a_given_price() -> None:
    fills = [fill(1, B, "2", "100", "0", M, 1), fill(2, S, "1", "110", "0", M, 2)]
    r = build_report(fills, mark=D("120"))
    # realised 1 x (110 - 100); unrealised 1 x (120 - 100); cash -200 + 110 + 1 x 120 = 30
    assert (r.realised, r.unrealised, r.net) == (D("10"), D("20"), D("30"))
    assert (r.position, r.average_cost, r.mark_source) == (D("1"), D("100"), "given price")
    # equity: -200 + 2 x 100 = 0, -90 + 110 = 20, -90 + 120 = 30: never below a high
    assert [p.equity for p in r.equity] == [D("0"), D("20"), D("30")]
    assert r.max_drawdown.amount == 0


def test_short_from_flat_and_no_fills() -> None:
    r = build_report([fill(1, S, "1", "100", "0.1", T, 1)], mark=D("90"))
    # short 1 at 100, marked at 90: +10 before the fee
    assert (r.position, r.average_cost, r.unrealised, r.net) == (D(-1), D(100), D(10), D("9.9"))
    empty = build_report([], symbol="ETH/USD")
    assert (empty.fills, empty.net, empty.equity, empty.mark_source) == (0, None, (), "none")


def test_refuses_mixed_symbols_and_fees_outside_the_quote() -> None:
    other = FillRecord(9, "x", "x", None, "BTC/USD", B, D(1), D(1), D(1), D(0), "USD", M, 9)
    with pytest.raises(ValueError, match=r"several symbols \['BTC/USD', 'ETH/USD'\]"):
        build_report([*ROUND_TRIP, other])
    assert build_report([*ROUND_TRIP, other], symbol="BTC/USD").fills == 1
    base_fee = FillRecord(9, "x", "x", None, "ETH/USD", B, D(1), D(1), D(1), D("0.1"), "ETH", M, 9)
    with pytest.raises(ValueError, match="fee in ETH"):
        build_report([base_fee])


# -- the command -------------------------------------------------------------------------------


def ledger_with(path: Path, fills: list[FillRecord]) -> None:
    with Ledger(path, exchange_id=EXCHANGE, account="acct") as ledger:
        ledger.record(EngineResult(fills=tuple(fills)), (0, len(fills)))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_command_text_json_and_plot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "l.sqlite3"
    ledger_with(path, ROUND_TRIP)
    base = ["paper", "report", "bitstamp", "--ledger", str(path), "--account", "acct"]
    code, out, _ = run(capsys, *base)
    assert code == 0
    assert "ETH/USD: 5 fills (ledger fills #1 to #5)" in out
    assert "realised    +12.50" in out and "net         +10.39" in out
    assert "buy       3  2.5   103.0000  257.50" in out  # 257.5 / 2.5; numbers right-aligned
    assert "maker      3  3.0    1.2000" in out and "taker      2  2.0    0.9100" in out
    assert "max drawdown 18.05 USD: equity from 28.44" in out
    code, out, _ = run(capsys, *base, "--json", "--since-seq", "4", "--mark", "100")
    doc = json.loads(out)  # exactly one JSON document
    # fills 4 and 5 only: sell 1 at 90, buy 0.5 at 95 -> short 0.5 at 90 marked at 100
    assert (doc["fills"], doc["first_seq"], doc["position"]) == (2, 4, "-0.5")
    assert doc["pnl"]["net"] == str(D(90) - D("47.5") - D("0.55") - D("0.5") * 100)
    assert doc["mark_source"] == "given price" and doc["by_role"]["taker"]["fees"] == "0.19"
    png = tmp_path / "equity.png"
    code, out, _ = run(capsys, *base, "--plot", str(png))
    assert code == 0 and f"equity picture: {png}" in out
    assert_png(png)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 600)
    assert len(data) > 20_000, "a picture with two panels, markers and text is not this small"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mark", "0"], "mark='0' must be greater than 0"),
        (["--mark", "abc"], "mark='abc' is not a decimal number"),
        (["--since-seq", "0"], "expected a fill number of 1 or more"),
        (["--since-seq", "\u0661"], "expected a fill number of 1 or more"),
        (["--plot", "/no/such/dir/x.png"], "cannot write /no/such/dir/x.png"),
    ],
)
def test_report_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    path = tmp_path / "l.sqlite3"
    ledger_with(path, ROUND_TRIP)
    code, out, err = run(
        capsys, "paper", "report", "bitstamp", "--ledger", str(path), "--account", "acct", *extra
    )
    assert (code, out) == (2, "") and message in err


def test_report_several_symbols_and_no_fills(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "l.sqlite3"
    other = FillRecord(9, "x", "x", None, "BTC/USD", B, D(1), D(1), D(1), D(0), "USD", M, 9)
    ledger_with(path, [*ROUND_TRIP, other])
    base = ["paper", "report", "bitstamp", "--ledger", str(path), "--account", "acct"]
    code, _, err = run(capsys, *base)
    assert code == 2 and "fills for BTC/USD, ETH/USD: pass --symbol" in err
    code, out, _ = run(capsys, *base, "--symbol", "BTC/USD")
    assert code == 0 and "BTC/USD: 1 fills" in out
    code, out, _ = run(capsys, *base, "--symbol", "SOL/USD")
    assert code == 0 and "no fills for SOL/USD" in out
    code, _, err = run(capsys, *base, "--symbol", "SOL/USD", "--plot", str(tmp_path / "p.png"))
    assert code == 2 and "no fills to plot for SOL/USD" in err


def test_plot_without_matplotlib_names_the_extra(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "l.sqlite3"
    ledger_with(path, ROUND_TRIP)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    png = tmp_path / "p.png"
    code, out, err = run(
        capsys, "paper", "report", "bitstamp", "--ledger", str(path), "--account", "acct",
        "--plot", str(png),
    )  # fmt: skip
    assert code == 1 and out == "" and not png.exists()
    assert "pip install 'typed-spot-adapters[plot]'" in err


def test_report_without_plot_never_imports_matplotlib(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    ledger_with(path, ROUND_TRIP)
    code = (
        "import sys; from adapters.cli import main; "
        f"rc = main(['paper', 'report', 'bitstamp', '--ledger', {str(path)!r}, "
        "'--account', 'acct', '--json']); "
        "print('LOADED' if 'matplotlib' in sys.modules else 'CLEAN', rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().endswith("CLEAN 0")


# -- the demo: its summary is this report, for its own run only ---------------------------------


def sql_fills(path: Path, after: int) -> list[tuple[str, D, D, D, D, str]]:
    """(side, price, amount, cost, fee, liquidity) of fills numbered above ``after``."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT side, price, amount, cost, fee, liquidity FROM fills WHERE seq > ? "
            "ORDER BY seq",
            (after,),
        ).fetchall()
    return [(s, D(p), D(a), D(c), D(f), liq) for s, p, a, c, f, liq in rows]


@pytest.mark.slow
async def test_second_demo_run_reports_its_own_fills_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "demo.sqlite3"
    quiet = {"enableRateLimit": False, "timeout_on_exit": 0}
    first = await run_demo(ledger=ledger, out=io.StringIO(), progress=False, client_config=quiet)
    out = io.StringIO()
    second = await run_demo(ledger=ledger, out=out, progress=False, client_config=quiet)
    assert first.paper is not None and second.paper is not None
    assert first.paper.first_seq == 1 and first.paper.last_seq is not None
    assert second.paper.first_seq == first.paper.last_seq + 1
    rows = sql_fills(ledger, first.paper.last_seq)
    assert len(rows) == second.paper.fills == len(second.fills) > 10

    # Independent figures from the ledger's rows.
    r = second.paper
    buys = [x for x in rows if x[0] == "buy"]
    sells = [x for x in rows if x[0] == "sell"]
    assert (r.buys.fills, r.buys.amount) == (len(buys), sum(x[2] for x in buys))
    assert (r.sells.fills, r.sells.amount) == (len(sells), sum(x[2] for x in sells))
    maker_fees = sum(x[4] for x in rows if x[5] == "maker")
    taker_fees = sum(x[4] for x in rows if x[5] == "taker")
    assert (r.maker.fees, r.taker.fees) == (maker_fees, taker_fees) and taker_fees > 0
    mid = second.last_mid
    assert mid is not None and r.mark == mid
    position = sum(x[2] for x in buys) - sum(x[2] for x in sells)
    net = sum(x[3] for x in sells) - sum(x[3] for x in buys) - maker_fees - taker_fees
    net += position * mid
    assert r.net == net
    # ... which is also end minus start equity from the balances, both valued at the mid
    start, end = second.start_balances, second.end_balances
    equity_change = (end["USD"].total - start["USD"].total) + (
        end["ETH"].total - start["ETH"].total
    ) * mid
    assert r.net == equity_change
    # the maximum drawdown, by brute force over every pair of points
    curve, cash, fees, held = [D(0)], D(0), D(0), D(0)
    for side, price, amount, cost, fee, _ in rows:
        cash += cost if side == "sell" else -cost
        held += amount if side == "buy" else -amount
        fees += fee
        curve.append(cash - fees + held * price)
    curve.append(cash - fees + held * mid)
    worst = max(curve[i] - curve[j] for i in range(len(curve)) for j in range(i, len(curve)))
    assert r.max_drawdown.amount == worst

    # The summary prints this run's figures, and the command it names gives the same report.
    text = out.getvalue()
    assert f"ledger fills #{r.first_seq} to #{r.last_seq}" in text
    assert f"{r.fills} fills" in text and f"{len(first.fills) + r.fills} fills" not in text
    command = text.split("(the same report: adapters ")[1].split(")")[0].split()
    capsys.readouterr()
    assert main([*command, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mark_source"] == "given price"  # the mid, passed as --mark
    assert {**doc, "mark_source": "last mid"} == r.to_dict()


def test_display_precision_follows_the_maker_prices_grid() -> None:
    # a MARKET order's VWAP (taker) is off the grid; maker fills sit at checked limit prices
    fills = [
        fill(1, B, "0.5", "2087.1825262", "4.17", T, 1),
        fill(2, S, "0.1", "2087.19", "0.83", M, 2),
        fill(3, S, "0.1", "2087.2", "0.83", M, 3),
    ]
    assert build_report(fills).price_places == 2
    assert build_report(fills[:1]).price_places == 7  # only the VWAP to go by
