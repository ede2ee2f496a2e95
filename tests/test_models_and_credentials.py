"""Models (Decimal money, validation) and credentials (sources, secrecy)."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from adapters import Credentials, InvalidOrderRequest, MissingCredentials, OrderRequest, Ticker
from adapters.credentials import load_credentials
from adapters.models import OrderBook, to_decimal


def test_decimal_comes_from_str_not_float_arithmetic() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("0.000000010000000000") == Decimal("1E-8")
    assert to_decimal(None) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amount": 0.1, "price": "1"}, r"float; pass Decimal\('0.1'\)"),
        ({"amount": "nan", "price": "1"}, "finite"),
        ({"amount": "inf", "price": "1"}, "finite"),
        ({"amount": "0", "price": "1"}, "greater than 0"),
        ({"amount": "-1", "price": "1"}, "greater than 0"),
        ({"amount": "1"}, "price is required for LIMIT"),
        ({"amount": "1", "price": "1", "type": "market"}, "not accepted for MARKET"),
        ({"amount": True, "price": "1"}, "must be a number"),
        ({"amount": "abc", "price": "1"}, "not a decimal number"),
        ({"amount": "1", "price": "1", "side": "long"}, "buy or sell"),
        ({"amount": "1", "price": "1", "type": "stop"}, "LIMIT, LIMIT_MAKER, MARKET"),
    ],
)
def test_order_request_rejects_bad_input(fields: dict[str, object], message: str) -> None:
    spec: dict[str, object] = {"symbol": "BTC/USD", "side": "buy", "type": "limit", **fields}
    with pytest.raises(InvalidOrderRequest, match=message):
        OrderRequest(**spec)


def test_order_request_accepts_decimal_and_str() -> None:
    r = OrderRequest(symbol="BTC/USD", side="SELL", type="limit_maker", amount="0.5",
                     price=Decimal("20000.5"))  # fmt: skip
    assert r.amount == Decimal("0.5") and r.notional == Decimal("10000.25")
    market = OrderRequest(symbol="BTC/USD", side="buy", type="MARKET", amount=Decimal(1))
    assert market.price is None


def test_info_is_kept_but_not_printed() -> None:
    t = Ticker(symbol="BTC/USD", last="1", info={"secret_looking": "payload"})
    assert t.info == {"secret_looking": "payload"}
    assert "payload" not in repr(t) and "payload" not in str(t)


def test_order_book_copies_ccxt_levels() -> None:
    live = {"symbol": "BTC/USD", "bids": [[100.5, 1.0], [100.0, 2.0]], "asks": [[101.0, 3.0]]}
    book = OrderBook.from_ccxt(live, depth=1)
    live["bids"][0][1] = 99.0  # ccxt mutates its book in place
    assert book.bid(0) == (Decimal("100.5"), Decimal("1.0")) and len(book.bids) == 1
    assert book.mid == Decimal("100.75")


def test_ticker_is_filled_like_model_construct_and_stays_frozen() -> None:
    import ccxt

    from adapters.convert import ticker_from_ccxt

    # Bitstamp's ticker answer in cassettes/bitstamp/fetch_ticker.yaml, parsed by ccxt.
    answer = {
        "timestamp": "1710328241", "open": "71448", "high": "73656", "low": "68626",
        "last": "73285", "volume": "135.29692054", "vwap": "70853", "bid": "73353",
        "ask": "73367", "side": "0", "open_24": "72144", "percent_change_24": "1.58",
    }  # fmt: skip
    raw = ccxt.bitstamp().parse_ticker(answer, {"symbol": "BTC/USD"})
    ticker = ticker_from_ccxt(raw)
    assert (ticker.bid, ticker.ask, ticker.last) == (
        Decimal("73353"),
        Decimal("73367"),
        Decimal("73285"),
    )
    assert ticker.base_volume == Decimal("135.29692054") and ticker.timestamp == 1710328241000
    reference = Ticker.model_construct(
        **{name: getattr(ticker, name) for name in Ticker.model_fields}
    )
    assert ticker.__getstate__() == reference.__getstate__() and repr(ticker) == repr(reference)
    with pytest.raises(ValueError):
        ticker.bid = Decimal(1)  # type: ignore[misc]


# -- credentials -----------------------------------------------------------------------------


def test_env_file_is_read_and_real_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("BITMART_API_KEY=file-key\nBITMART_API_SECRET=file-secret\n")
    monkeypatch.setenv("BITMART_API_KEY", "env-key")
    creds = load_credentials("bitmart", env_file=env)
    assert creds.api_key is not None and creds.api_key.get_secret_value() == "env-key"
    assert creds.api_secret is not None and creds.api_secret.get_secret_value() == "file-secret"
    assert creds.missing_for("bitmart") == ["BITMART_API_MEMO"]
    with pytest.raises(MissingCredentials, match="BITMART_API_MEMO") as info:
        creds.require("bitmart")
    assert info.value.missing == ("BITMART_API_MEMO",)


def test_default_env_file_is_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BITSTAMP_API_KEY=k\nBITSTAMP_API_SECRET=s\n")
    creds = load_credentials("bitstamp")  # conftest chdirs into tmp_path
    assert creds.missing_for("bitstamp") == []
    assert creds.ccxt_config("bitstamp") == {"apiKey": "k", "secret": "s"}


def test_memo_is_ccxt_uid() -> None:
    creds = Credentials(api_key="k", api_secret="s", memo="m")
    assert creds.ccxt_config("bitmart") == {"apiKey": "k", "secret": "s", "uid": "m"}


def test_secrets_never_in_repr_str_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    creds = Credentials(api_key="AKIA-SECRET-KEY", api_secret="TOPSECRET", memo="MEMO-SECRET")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("adapters").debug("credentials %s %r", creds, creds)
    try:
        Credentials(api_key="AKIA-SECRET-KEY", api_secret=123)  # type: ignore[arg-type]
    except Exception as exc:
        error_text = str(exc)
    else:
        error_text = ""
    for text in (repr(creds), str(creds), caplog.text, error_text, creds.model_dump_json()):
        for secret in ("AKIA-SECRET-KEY", "TOPSECRET", "MEMO-SECRET"):
            assert secret not in text


def test_order_request_carries_a_client_order_id_from_construction() -> None:
    fields = {"symbol": "BTC/USD", "side": "buy", "type": "limit", "amount": "0.001",
              "price": "20000"}  # fmt: skip
    ids = {OrderRequest(**fields).client_order_id for _ in range(3)}
    assert len(ids) == 3
    for cid in ids:
        assert cid.isalnum() and cid.isascii() and len(cid) == 32
    assert OrderRequest(**fields, client_order_id=None).client_order_id not in ids
    assert OrderRequest(**fields, client_order_id="mine42").client_order_id == "mine42"
    with pytest.raises(InvalidOrderRequest):
        OrderRequest(**fields, client_order_id="")
