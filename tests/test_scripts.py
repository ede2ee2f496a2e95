"""The quick scripts in ``scripts/``: argparse, ``.env``, one line on error, and no live order
without a "yes"."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import DUMMY_KEY, DUMMY_SECRET, ROOT, replay, requests_to

BUY_PATH = "/api/v2/buy/"
#: The order of cassettes/bitstamp/create_order_limit_maker.yaml (client order id t2).
ORDER = ["bitstamp", "buy", "BTC/USD", "0.001", "--price", "20000", "--client-order-id", "t2"]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dotenv_keys(tmp_path: Path) -> None:
    """Bitstamp keys in ./.env only (the autouse fixture clears the environment and cds here)."""
    (tmp_path / ".env").write_text(
        f"BITSTAMP_API_KEY={DUMMY_KEY}\nBITSTAMP_API_SECRET={DUMMY_SECRET}\n", encoding="utf-8"
    )


def test_place_order_has_no_default_order(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _script("place_order").main([])
    assert info.value.code == 2
    assert "required" in capsys.readouterr().err


@pytest.mark.parametrize("stdin", ["", "n\n", "no\n", "maybe\n"])
def test_place_order_sends_nothing_without_a_yes(
    stdin: str,
    dotenv_keys: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with replay("bitstamp", "create_order_limit_maker") as cassette:
        code = _script("place_order").main([*ORDER, "--keep"])
        sent = requests_to(cassette, BUY_PATH)
    out, err = capsys.readouterr()
    assert code == 1 and sent == 0
    assert "buy 0.001 BTC/USD LIMIT_MAKER @ 20000" in out  # the summary it asked about
    assert err.strip() == "place_order.py: not confirmed; nothing sent"


def test_place_order_sends_after_yes_with_keys_from_dotenv(
    dotenv_keys: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    with replay("bitstamp", "create_order_limit_maker") as cassette:
        code = _script("place_order").main([*ORDER, "--keep"])
        sent = requests_to(cassette, BUY_PATH)
    out = capsys.readouterr().out
    # buy_limit_order_hummingbot.json: "id": 28 (the venue's id for the order)
    assert code == 0 and sent == 1
    assert "placed 28 (t2): open" in out


def test_place_order_yes_flag_skips_the_question(
    dotenv_keys: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with replay("bitstamp", "create_order_limit_maker") as cassette:
        code = _script("place_order").main([*ORDER, "--keep", "--yes"])
        sent = requests_to(cassette, BUY_PATH)
    assert code == 0 and sent == 1
    assert "Send this LIVE order" not in capsys.readouterr().out


def test_place_order_refuses_before_asking(
    dotenv_keys: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    with replay("bitmart", "load_markets") as cassette:
        code = _script("place_order").main(["bitmart", "buy", "BTC/USDT", "1", "--type", "market"])
    out, err = capsys.readouterr()
    assert code == 1 and cassette.play_count == 0
    assert "Send this LIVE order" not in out
    assert err.count("\n") == 1 and err.startswith("place_order.py: error: bitmart does not")


def test_place_order_missing_keys_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = _script("place_order").main([*ORDER, "--yes"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "BITSTAMP_API_KEY" in err and "Traceback" not in err


def test_ticker_prints_the_payload_values(capsys: pytest.CaptureFixture[str]) -> None:
    with replay("bitstamp", "fetch_ticker"):
        code = _script("ticker").main(["bitstamp", "BTC/USDT"])
    # bitstamp/rest/ticker.json: bid "73353", ask "73367", last "73285"; markets.json btcusdt:
    # counter_decimals 0, so prices show without decimals
    assert code == 0
    assert capsys.readouterr().out == "bitstamp BTC/USDT: bid 73353  ask 73367  last 73285\n"


def test_ticker_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with replay("bitstamp", "load_markets"):
        code = _script("ticker").main(["bitstamp", "BTCUSD"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("ticker.py: error: bitstamp has no market 'BTCUSD'; did you mean")


def test_capabilities_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert _script("capabilities").main(["bitmart"]) == 0
    assert "MARKET no" in capsys.readouterr().out
    assert _script("capabilities").main(["kraken"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("amount", ["١٢", "\uff11\uff12", "1_000", " 1 "])
def test_place_order_reads_the_amount_with_the_adapters_parser(
    amount: str, dotenv_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: argparse's Decimal() read "١٢" as 12 and "1_000" as 1000, and the summary
    # offered that order.
    args = ["bitstamp", "buy", "BTC/USD", amount, "--price", "20000", "--yes"]
    with replay("bitstamp", "create_order_limit_maker") as cassette:
        code = _script("place_order").main(args)
        assert requests_to(cassette, BUY_PATH) == 0
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "not a decimal number" in err


def test_ticker_interrupted_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script("ticker")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(script, "open_exchange", interrupted)
    assert script.main(["bitstamp", "BTC/USD"]) == 130  # before: the KeyboardInterrupt escaped
    assert capsys.readouterr().err == "ticker.py: interrupted\n"


def test_paper_demo_interrupted_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script("paper_demo")

    async def interrupted(**kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(script, "run_demo", interrupted)
    assert script.main(["--quiet"]) == 130  # before: the KeyboardInterrupt escaped
    assert capsys.readouterr().err == "paper_demo: interrupted\n"


@pytest.mark.parametrize("name", ["ticker", "place_order"])
def test_a_dotenv_that_is_not_utf8_is_one_line(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The scripts load the .env nearest their folder (the repo's); before, a bad one gave a
    # UnicodeDecodeError traceback.
    import dotenv
    import dotenv.main

    bad = tmp_path / "keys" / ".env"
    bad.parent.mkdir()
    bad.write_bytes(b"BITSTAMP_API_SECRET=topsecret\nBITSTAMP_API_KEY=\xff\xfe\n")
    for module in (dotenv, dotenv.main):
        monkeypatch.setattr(module, "find_dotenv", lambda *a, **k: str(bad))
    argv = {"ticker": ["bitstamp", "BTC/USD"], "place_order": ["bitstamp", "buy", "BTC/USD", "1"]}
    code = _script(name).main(argv[name])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and str(bad) in err
    assert "Traceback" not in err and "topsecret" not in err
