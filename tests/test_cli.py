"""The command line: output, exit codes (0 ok, 1 exchange error, 2 bad input), no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

from adapters.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_capabilities_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "capabilities")
    assert code == 0
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert "LIMIT, LIMIT_MAKER, MARKET" in rows["order types"]
    assert "bitmart" in out.splitlines()[0] and "bitstamp" in out.splitlines()[0]


def test_capabilities_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "capabilities", "bitmart", "--json")
    card = json.loads(out)
    assert code == 0 and card["order_types"] == ["LIMIT", "LIMIT_MAKER"]
    assert card["credentials"][2] == {
        "name": "memo",
        "env_var": "BITMART_API_MEMO",
        "ccxt_field": "uid",
    }
    code, out, _ = run(capsys, "capabilities", "--json")
    assert [c["id"] for c in json.loads(out)] == ["bitmart", "bitstamp"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["capabilities", "kraken"], "unknown exchange 'kraken'"),
        (
            ["order", "bitmart", "buy", "BTC/USDT", "1", "--type", "market"],
            "does not support MARKET",
        ),
        (["order", "bitstamp", "buy", "BTC/USD", "1"], "price is required"),
        (["order", "bitstamp", "buy", "BTC/USD", "-1", "--price", "5"], "greater than 0"),
        (["order", "bitstamp", "hold", "BTC/USD", "1"], "invalid choice"),
        (["order", "bitstamp", "buy", "BTC/USD", "1", "--price", "5"], "BITSTAMP_API_KEY"),
        (["book", "bitstamp", "BTC/USD", "--depth", "0"], "positive whole number"),
        (["frobnicate"], "invalid choice"),
        (["cancel", "bitstamp", "", "BTC/USD"], "expected an order id"),
        (["cancel", "bitstamp", "12 34", "BTC/USD"], "expected an order id"),
        ([], "required"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err
    assert "Traceback" not in err


def test_module_entry_point_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "adapters", "capabilities", "bitstamp", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["id"] == "bitstamp"


@pytest.mark.parametrize("path", [(), ("paper",)])
def test_version(capsys: pytest.CaptureFixture[str], path: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*path, "--version"])
    out = capsys.readouterr().out
    prog = " ".join(("adapters", *path))
    assert done.value.code == 0
    assert out == f"{prog} {version('typed-spot-adapters')} (typed-spot-adapters)\n"
