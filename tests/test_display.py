"""What the command lines show: one JSON document with exact Decimal strings, and numbers
quantised to the market's increments or the currency's precision."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal as D

from adapters import Market, OrderBook, OrderStatus, OrderType, Side
from adapters.console import MarketFormat, currency_places
from adapters.display import json_document, jsonable
from adapters.exchange import Exchange
from adapters.models import Order, Ticker

from .conftest import replay


def _market(price: str | None, amount: str | None) -> Market:
    return Market(
        symbol="ETH/USD", venue_id="ethusd", base="ETH", quote="USD", active=True,
        price_increment=None if price is None else D(price),
        amount_increment=None if amount is None else D(amount),
    )  # fmt: skip


def test_decimals_are_exact_strings_and_info_is_left_out() -> None:
    t = Ticker(symbol="BTC/USD", bid=D("73353"), ask=D("1E-8"), info={"raw": 1.5})
    doc = json.loads(json_document(t))
    assert doc["bid"] == "73353" and doc["ask"] == "0.00000001"
    assert "info" not in doc and doc["last"] is None


def test_enums_are_their_values() -> None:
    order = Order(
        id="1", symbol="BTC/USD", side=Side.SELL, type=OrderType.LIMIT_MAKER,
        status=OrderStatus.PARTIALLY_FILLED, price=D("20000"), amount=D("0.5"),
    )  # fmt: skip
    doc = jsonable(order)
    assert (doc["side"], doc["type"], doc["status"]) == ("sell", "LIMIT_MAKER", "partially_filled")
    assert doc["price"] == "20000" and doc["amount"] == "0.5"


async def test_a_book_shows_its_levels_as_the_decimals_it_reads(
    make_exchange: Callable[..., Exchange],
) -> None:
    ex = make_exchange("bitstamp")
    with replay("bitstamp", "fetch_order_book"):
        book = await ex.fetch_order_book("BTC/USD", 3)
    doc = jsonable(book)
    assert isinstance(book, OrderBook)
    assert doc["bids"] == [[format(p, "f"), format(a, "f")] for p, a in book.levels(Side.BUY)]
    assert doc["bids"][0] == [format(book.bid(0)[0], "f"), format(book.bid(0)[1], "f")]
    assert len(doc["asks"]) == len(book.asks) and doc["timestamp"] == book.timestamp


def test_market_precision_follows_the_increments() -> None:
    m = _market("0.01", "0.000001")
    assert str(m.quantize_price(D("11213.91254883824"))) == "11213.91"
    assert str(m.quantize_amount(D("4.1744"))) == "4.174400"
    # ccxt gives whole-unit steps as floats ("1.0"): no decimals, and never an exponent.
    whole = _market("1.0", None)
    assert str(whole.quantize_price(D("73285.0"))) == "73285"
    assert whole.quantize_amount(D("4.17440")) == D("4.17440")  # no increment: unchanged


async def test_currency_precision_from_the_venue_markets(
    make_exchange: Callable[..., Exchange],
) -> None:
    ex = make_exchange("bitstamp")
    with replay("bitstamp", "load_markets"):
        markets = await ex.load_markets()
    places = currency_places(markets.values())
    # markets.json: base_decimals 8 for BTC, 6 for ETH; the finest counter_decimals of the
    # USD spot markets is 2 (ltcusd, ethusd, linkusd), of the USDT ones 5 (xrpusdt).
    assert (places["BTC"], places["ETH"], places["USD"], places["USDT"]) == (8, 6, 2, 5)
    fmt = MarketFormat(currencies=places)
    assert fmt.balance_cells("USD", [D("11213.91254883824")]) == ["11213.91"]
    assert fmt.balance_cells("ETH", [D("4.1744")]) == ["4.174400"]
    # a currency no market counts in: the fewest places that show its figures exactly
    assert fmt.balance_cells("XYZ", [D("100.200"), D("100")]) == ["100.2", "100.0"]
