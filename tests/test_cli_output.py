"""The command line's output checked field by field against the cassettes' venue payloads
(``--json`` with no float anywhere, the tables' places and alignment), the masking of
credentials in ``-v`` output, and both venues. ``tests/test_cli_json.py`` has the rest.

Expected values are read from the cassette's venue payload (the response ccxt parsed), not
from the adapter.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from typing import Any

import pytest
import yaml

from adapters import factory
from adapters.cli import main

from .conftest import CASSETTES, DUMMY_KEY, DUMMY_MEMO, DUMMY_SECRET, TEST_CONFIG, replay

TICKER_KEYS = ["symbol", "timestamp", "bid", "bid_volume", "ask", "ask_volume", "last",
               "open", "high", "low", "vwap", "base_volume", "quote_volume"]  # fmt: skip
MARKET_KEYS = ["symbol", "venue_id", "base", "quote", "active", "price_increment",
               "amount_increment", "min_amount", "min_cost", "maker_fee", "taker_fee"]  # fmt: skip
ORDER_KEYS = ["id", "client_order_id", "symbol", "side", "type", "status", "price", "amount",
              "filled", "remaining", "average", "cost", "fee", "fee_currency", "timestamp",
              "last_update_timestamp"]  # fmt: skip


def payload(exchange: str, cassette: str, uri_part: str) -> Any:
    """The venue's JSON answer, in ``cassette``, to the request whose URI has ``uri_part``."""
    data = yaml.safe_load((CASSETTES / exchange / f"{cassette}.yaml").read_text())
    (body,) = [
        i["response"]["body"]["string"]
        for i in data["interactions"]
        if uri_part in i["request"]["uri"]
    ]
    return json.loads(body)


def no_floats(text: str) -> Any:
    """``json.loads`` that fails on any float: Decimals must be strings."""

    def refuse(number: str) -> Any:
        raise AssertionError(f"a float in the JSON output: {number}")

    return json.loads(text, parse_float=refuse)


@pytest.fixture(autouse=True)
def _cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The dummy credentials in the environment (as a user's would be) and the test ccxt
    settings (no rate-limit sleeps, no pause on close) for what the CLI opens."""
    monkeypatch.setenv("BITSTAMP_API_KEY", DUMMY_KEY)
    monkeypatch.setenv("BITSTAMP_API_SECRET", DUMMY_SECRET)
    monkeypatch.setenv("BITMART_API_KEY", DUMMY_KEY)
    monkeypatch.setenv("BITMART_API_SECRET", DUMMY_SECRET)
    monkeypatch.setenv("BITMART_API_MEMO", DUMMY_MEMO)
    real = factory.open_exchange

    def opener(exchange_id: str, **kw: Any) -> Any:
        return real(exchange_id, config=TEST_CONFIG, **kw)

    monkeypatch.setattr(factory, "open_exchange", opener)
    # -v configures the package's loggers: leave them as they were for the next test
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers))
             for n in ("adapters", "ccxt")}  # fmt: skip
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def go(exchange: str, cassette: str, *argv: str) -> tuple[int, str, str]:
        with replay(exchange, cassette):
            code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return go


def test_ticker_json_bitstamp(run: Run) -> None:
    code, out, err = run("bitstamp", "fetch_ticker", "ticker", "bitstamp", "BTC/USDT", "--json")
    assert code == 0, err
    venue = payload("bitstamp", "fetch_ticker", "/ticker/")
    doc = no_floats(out)
    assert list(doc) == TICKER_KEYS
    assert doc["symbol"] == "BTC/USDT"
    assert doc["timestamp"] == int(venue["timestamp"]) * 1000
    for key, venue_key in [("bid", "bid"), ("ask", "ask"), ("last", "last"), ("open", "open"),
                           ("high", "high"), ("low", "low"), ("vwap", "vwap"),
                           ("base_volume", "volume")]:  # fmt: skip
        assert isinstance(doc[key], str) and D(doc[key]) == D(venue[venue_key]), key
    # Bitstamp sends no quote volume; ccxt derives it as base volume x vwap.
    assert D(doc["quote_volume"]) == D(venue["volume"]) * D(venue["vwap"])
    assert doc["bid_volume"] is None and doc["ask_volume"] is None


def test_ticker_json_bitmart(run: Run) -> None:
    code, out, err = run("bitmart", "fetch_ticker", "ticker", "bitmart", "BTC/USDT", "--json")
    assert code == 0, err
    venue = payload("bitmart", "fetch_ticker", "/ticker")["data"]
    doc = no_floats(out)
    assert list(doc) == TICKER_KEYS
    for key, venue_key in [("bid", "bid_px"), ("bid_volume", "bid_sz"), ("ask", "ask_px"),
                           ("ask_volume", "ask_sz"), ("last", "last"), ("high", "high_24h"),
                           ("low", "low_24h"), ("base_volume", "v_24h"),
                           ("quote_volume", "qv_24h")]:  # fmt: skip
        assert D(doc[key]) == D(venue[venue_key]), key


def test_book_json(run: Run) -> None:
    # Bitstamp only: BitMart sends --depth as limit=, which its cassette's request lacks.
    code, out, err = run("bitstamp", "fetch_order_book", "book", "bitstamp", "BTC/USD", "--json")
    assert code == 0, err
    venue = payload("bitstamp", "fetch_order_book", "/order_book/")
    doc = no_floats(out)
    assert list(doc) == ["symbol", "timestamp", "bids", "asks"]
    for side in ("bids", "asks"):
        assert all(isinstance(x, str) for level in doc[side] for x in level)
        got = [[D(p), D(a)] for p, a in doc[side]]
        assert got == [[D(p), D(a)] for p, a in venue[side]], side


def test_book_json_depth(run: Run) -> None:
    code, out, _ = run(
        "bitstamp", "fetch_order_book", "book", "bitstamp", "BTC/USD", "--depth", "2", "--json"
    )
    venue = payload("bitstamp", "fetch_order_book", "/order_book/")
    doc = no_floats(out)
    assert code == 0 and [D(p) for p, _ in doc["bids"]] == [D(p) for p, _ in venue["bids"][:2]]


def test_markets_json(run: Run) -> None:
    code, out, err = run("bitstamp", "load_markets", "markets", "bitstamp", "--json")
    assert code == 0, err
    # spot markets only: the payload's perpetuals are left out
    venue = [
        v for v in payload("bitstamp", "load_markets", "/markets/") if v["market_type"] == "SPOT"
    ]
    doc = no_floats(out)
    assert [m["symbol"] for m in doc] == [v["name"] for v in venue]
    for m, v in zip(doc, venue, strict=True):
        assert list(m) == MARKET_KEYS
        assert m["venue_id"] == v["market_symbol"]
        assert D(m["price_increment"]) == D(1).scaleb(-v["counter_decimals"])
        assert D(m["amount_increment"]) == D(1).scaleb(-v["base_decimals"])
        assert D(m["min_cost"]) == D(v["minimum_order_value"])
    # ccxt hands the increment over as the float 1e-08: written out, never "1E-8"
    assert doc[0]["symbol"] == "BTC/USD" and doc[0]["amount_increment"] == "0.00000001"


@pytest.mark.parametrize(
    ("exchange", "path"), [("bitstamp", "/account_balances/"), ("bitmart", "/wallet")]
)
def test_balance_json(run: Run, exchange: str, path: str) -> None:
    code, out, err = run(exchange, "fetch_balance", "balance", exchange, "--json")
    assert code == 0, err
    venue = payload(exchange, "fetch_balance", path)
    rows = venue if exchange == "bitstamp" else venue["data"]["wallet"]
    doc = no_floats(out)
    # the non-zero balances, by currency
    held = [r for r in rows if D(r["total"]) != 0]
    assert sorted(doc) == sorted((r.get("currency") or r["id"]).upper() for r in held)
    for row in held:
        asset = doc[(row.get("currency") or row["id"]).upper()]
        assert list(asset) == ["currency", "free", "used", "total"]
        assert D(asset["free"]) == D(row["available"])
        assert D(asset["used"]) == D(row.get("reserved") or row["frozen"])
        assert D(asset["total"]) == D(row["total"])


def test_order_json(run: Run) -> None:
    code, out, err = run(
        "bitstamp", "create_order_limit",
        "order", "bitstamp", "buy", "BTC/USD", "0.001", "--price", "20000",
        "--client-order-id", "t1", "--json",
    )  # fmt: skip
    assert code == 0, err
    venue = payload("bitstamp", "create_order_limit", "/buy/btcusd/")
    doc = no_floats(out)
    assert list(doc) == ORDER_KEYS
    assert doc["id"] == str(venue["id"]) and doc["client_order_id"] == "t1"
    assert (doc["side"], doc["type"], doc["status"]) == ("buy", "LIMIT", "open")
    # The fixture answers with its own price and amount (see cassettes/README.md).
    assert D(doc["price"]) == D(venue["price"]) and D(doc["amount"]) == D(venue["amount"])


def test_cancel_json(run: Run) -> None:
    venue = payload("bitstamp", "cancel_order", "/cancel_order/")
    code, out, err = run(
        "bitstamp", "cancel_order", "cancel", "bitstamp", str(venue["id"]), "BTC/USD", "--json"
    )
    assert code == 0, err
    doc = no_floats(out)
    assert list(doc) == ORDER_KEYS
    assert doc["id"] == str(venue["id"]) and doc["status"] == "canceled"
    assert D(doc["price"]) == D(venue["price"]) and D(doc["amount"]) == D(venue["amount"])


def test_tables_quantise_to_the_market(run: Run) -> None:
    """BTC/USD on Bitstamp: amounts in 8 places (base_decimals), prices in the column's
    widest (the 2020 book has cents, the market file says whole dollars)."""
    code, out, _ = run("bitstamp", "fetch_order_book", "book", "bitstamp", "BTC/USD")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["bid", "size", "bid", "ask", "ask", "size"]
    venue = payload("bitstamp", "fetch_order_book", "/order_book/")
    first = lines[2].split()
    assert first == [venue["bids"][0][1], venue["bids"][0][0], venue["asks"][0][0],
                     venue["asks"][0][1]]  # fmt: skip
    # right-aligned: every row of a column ends at the same place
    assert len({len(line) for line in lines[2:]}) == 1


def test_ticker_table_has_no_float_noise(run: Run) -> None:
    code, out, _ = run("bitstamp", "fetch_ticker", "ticker", "bitstamp", "BTC/USDT")
    rows = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in out.splitlines()[2:])
    venue = payload("bitstamp", "fetch_ticker", "/ticker/")
    # BTC/USDT: counter_decimals 0, base_decimals 8 in the markets payload
    assert code == 0 and rows["last"] == venue["last"]
    assert rows["volume (BTC)"] == venue["volume"]
    # 135.29692054 x 70853 = 9586192.71...: whole USDT, as the market's prices
    assert rows["volume (USDT)"] == "9586193"
    assert rows["bid size"] == "-"


def test_balance_table_uses_the_currency_places(run: Run) -> None:
    code, out, _ = run("bitmart", "fetch_balance", "balance", "bitmart")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    # BTC: BTC/USDT's amount increment (5 places); USDT: its price increment (2 places,
    # rounded down from 19.62994956); ADA has no market: as many places as its figures need.
    assert code == 0
    assert rows["BTC"] == ["0.00039", "0.00000", "0.00039"]
    assert rows["USDT"] == ["19.62", "0.00", "19.62"]
    assert rows["ADA"] == ["0.7109166", "0.0000000", "0.7109166"]


# -- errors and -v ----------------------------------------------------------------------------


def test_exchange_error_is_one_line_and_verbose_adds_the_cause(run: Run) -> None:
    argv = ["cancel", "bitstamp", "1453282316578816", "BTC/USD"]
    code, out, err = run("bitstamp", "error_order_not_found_cancel_order", *argv)
    assert code == 1 and out == ""
    assert err == "adapters: error: bitstamp: Order not found.\n"
    code, _, err = run("bitstamp", "error_order_not_found_cancel_order", *argv, "-v")
    venue = payload("bitstamp", "error_order_not_found_cancel_order", "/cancel_order/")
    lines = err.splitlines()
    assert code == 1 and lines[0] == "adapters: error: bitstamp: Order not found."
    assert lines[1].startswith("  caused by ccxt.base.errors.OrderNotFound: bitstamp")
    assert venue["reason"] in lines[1]
    assert "Traceback" not in err


def test_verbose_before_the_command_works_too(run: Run) -> None:
    argv = ["-v", "cancel", "bitstamp", "1453282316578816", "BTC/USD"]
    code, _, err = run("bitstamp", "error_order_not_found_cancel_order", *argv)
    assert code == 1 and "caused by ccxt.base.errors.OrderNotFound" in err


def test_cause_chain_masks_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters import cli
    from adapters.errors import ExchangeUnavailable

    def failing(args: Any) -> int:
        try:
            try:
                raise ValueError(f"header X-Auth: BITSTAMP {DUMMY_KEY}\nsecond line")
            except ValueError as inner:
                raise RuntimeError("signing failed") from inner
        except RuntimeError as outer:
            raise ExchangeUnavailable(f"bitstamp: {DUMMY_SECRET} unavailable") from outer

    monkeypatch.setattr(cli, "_cmd_balance", failing)
    code = main(["balance", "bitstamp", "-v"])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == "adapters: error: bitstamp: *** unavailable"
    assert lines[1] == "  caused by RuntimeError: signing failed"
    assert lines[2].startswith("  caused by ValueError: header X-Auth: ***")
    assert lines[2].endswith("second line") and len(lines) == 3
    assert DUMMY_KEY not in err and DUMMY_SECRET not in err


def test_debug_log_shows_requests_without_secrets(run: Run) -> None:
    code, out, err = run("bitstamp", "fetch_balance", "balance", "bitstamp", "-vv")
    assert code == 0 and "USDT" in out
    debug = [line for line in err.splitlines() if line.startswith("DEBUG ccxt")]
    assert any("account_balances" in line for line in debug), err
    assert DUMMY_KEY not in err and DUMMY_SECRET not in err
    assert "'X-Auth': '***'" in err  # the header that carried the key, masked


def test_without_verbose_nothing_is_logged(run: Run) -> None:
    code, _, err = run("bitstamp", "fetch_balance", "balance", "bitstamp")
    assert code == 0 and err == ""
