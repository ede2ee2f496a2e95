"""Capability tables: the cards as data, enforced, and checked against ccxt (drift alarm)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from adapters import (
    OrderType,
    UnknownExchange,
    UnsupportedOrderType,
    capabilities,
    supported_exchanges,
)
from adapters.capabilities import Component, Stream


def test_supported_exchanges() -> None:
    assert supported_exchanges() == ("bitmart", "bitstamp")


@pytest.mark.parametrize(
    ("exchange", "types"),
    [
        ("bitstamp", {OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.MARKET}),
        ("bitmart", {OrderType.LIMIT, OrderType.LIMIT_MAKER}),
    ],
)
def test_order_types_match_the_connector_cards(exchange: str, types: set[OrderType]) -> None:
    for card in (capabilities(exchange), capabilities(f"{exchange}_paper_trade")):
        assert card.order_types == types
        assert all(card.supports(t) for t in types)
        assert card.exchange_type == "CEX" and card.market_type == "CLOB"
        assert card.connection == "WebSocket"
        assert card.spot_connector is Component.AVAILABLE
        assert card.perp_connector is Component.NOT_AVAILABLE
        assert card.perp_candles is Component.NOT_BUILT


def test_require_names_exchange_and_allowed_types() -> None:
    card = capabilities("bitmart")
    assert not card.supports("market")
    with pytest.raises(UnsupportedOrderType, match=r"bitmart .*MARKET.*LIMIT, LIMIT_MAKER"):
        card.require(OrderType.MARKET)
    assert card.require("limit_maker") is OrderType.LIMIT_MAKER


def test_paper_ids_and_unknown_ids() -> None:
    paper = capabilities("bitstamp_paper_trade")
    assert paper.paper and paper.id == "bitstamp_paper_trade" and paper.exchange_id == "bitstamp"
    with pytest.raises(UnknownExchange, match="bitstamp"):
        capabilities("bitstmp")


def test_credentials_and_streams() -> None:
    assert [c.env_var for c in capabilities("bitmart").credentials] == [
        "BITMART_API_KEY",
        "BITMART_API_SECRET",
        "BITMART_API_MEMO",
    ]
    assert capabilities("bitmart").credentials[2].ccxt_field == "uid"
    assert Stream.TICKER in capabilities("bitmart").streams
    assert Stream.TICKER not in capabilities("bitstamp").streams


def test_every_fact_has_a_source() -> None:
    for exchange in supported_exchanges():
        card = capabilities(exchange).to_dict()
        for fact in ("order_types", "limit_maker_on_the_wire", "credentials", "streams"):
            assert card["sources"][fact], (exchange, fact)
        json.dumps(card)  # JSON-ready


def test_capability_query_does_not_import_ccxt() -> None:
    code = (
        "import sys, adapters; adapters.capabilities('bitmart'); "
        "from adapters import cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ccxt', 'pydantic')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_capabilities_command_imports_no_network_stack() -> None:
    # The whole command, parser included: the paper commands' parser once pulled in the
    # replay server (aiohttp) and made the offline answer five times slower.
    code = (
        "import contextlib, io, sys; from adapters.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['capabilities', 'bitmart', '--json']) == 0\n"
        "heavy = ('ccxt', 'pydantic', 'aiohttp', 'yaml')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- drift alarm: our table against what ccxt 4.5.70 says it can do -------------------------

_CCXT_HAS = {
    OrderType.LIMIT: "createLimitOrder",
    OrderType.MARKET: "createMarketOrder",
}


@pytest.mark.parametrize("exchange", ["bitstamp", "bitmart"])
def test_ccxt_can_still_do_every_type_we_claim(exchange: str) -> None:
    """Fails loudly if a ccxt upgrade drops an order type the card promises."""
    import ccxt.pro

    client = getattr(ccxt.pro, exchange)()
    card = capabilities(exchange)
    for order_type in card.order_types:
        if order_type is OrderType.LIMIT_MAKER:
            # LIMIT_MAKER is post-only; ccxt advertises it as timeInForce PO.
            po = client.features["spot"]["createOrder"]["timeInForce"]["PO"]
            assert po, f"ccxt {ccxt.__version__} no longer offers post-only on {exchange}"
        else:
            assert client.has[_CCXT_HAS[order_type]], (
                f"ccxt {ccxt.__version__} can no longer place {order_type} on {exchange}"
            )


def test_where_we_are_stricter_than_ccxt_we_say_why() -> None:
    import ccxt.pro

    # ccxt would send BitMart MARKET orders; the BitMart connector card does not list
    # MARKET, so the adapter refuses them. The card's source must say so.
    assert ccxt.pro.bitmart().has["createMarketOrder"] is True
    card = capabilities("bitmart")
    assert OrderType.MARKET not in card.order_types
    assert "stricter than ccxt" in card.sources["order_types"]


def test_missing_ccxt_exchange_class_names_the_needed_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ccxt.pro

    from adapters import UnsupportedFeature, open_exchange

    # What ccxt >= 4.5.71 looks like: no ccxt.pro.bitmart.
    monkeypatch.delattr(ccxt.pro, "bitmart")
    with pytest.raises(UnsupportedFeature, match=r"has no ccxt\.pro\.bitmart.*ccxt==4\.5\.70"):
        open_exchange("bitmart")


@pytest.mark.parametrize("installed", ["4.5.64", "4.5.71"])
def test_another_ccxt_release_is_refused_naming_the_pinned_one(
    monkeypatch: pytest.MonkeyPatch, installed: str
) -> None:
    import ccxt

    from adapters import UnsupportedFeature, open_exchange

    # 4.5.64 still has BitMart, but lays out what the stream fixes patch differently.
    monkeypatch.setattr(ccxt, "__version__", installed)
    with pytest.raises(UnsupportedFeature) as info:
        open_exchange("bitstamp")
    assert f"ccxt {installed}" in str(info.value)
    assert "ccxt==4.5.70 exactly" in str(info.value)
