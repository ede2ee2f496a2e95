"""Issue 11, input at the boundary of the live adapter: checked before any request.

Book limits and depths, symbols, ``.env`` files and credentials are checked before the
ccxt call, so bad input never reaches the venue (the replayed cassette counts zero plays)
and always comes back as a typed error naming the value.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from adapters import (
    AdapterError,
    ExchangeClosed,
    InvalidInput,
    MissingCredentials,
    OrderRequest,
    UnknownSymbol,
    open_exchange,
)
from adapters.exchange import Exchange
from adapters.paper.session import DEMO_SESSION

from .conftest import replay

ROOT = Path(__file__).resolve().parent.parent

# -- order book limits and depths --------------------------------------------------------------

#: Not a count of levels at all: refused before any request on both venues.
BAD_LIMITS: list[Any] = [0, -1, True, "5", 2.5, D("5")]


@pytest.mark.parametrize("exchange_id", ["bitstamp", "bitmart"])
@pytest.mark.parametrize("limit", BAD_LIMITS, ids=repr)
async def test_fetch_order_book_refuses_a_bad_limit_before_sending(
    make_exchange: Callable[..., Exchange], exchange_id: str, limit: Any
) -> None:
    ex = make_exchange(exchange_id)
    symbol = "BTC/USD" if exchange_id == "bitstamp" else "BTC/USDT"
    with replay(exchange_id, "fetch_order_book") as cassette:
        with pytest.raises(InvalidInput, match="limit"):
            await ex.fetch_order_book(symbol, limit)
        assert cassette.play_count == 0


@pytest.mark.parametrize("limit", [51, 10**9])
async def test_bitmart_book_limits_stop_at_its_documented_maximum(
    make_exchange: Callable[..., Exchange], limit: int
) -> None:
    # ccxt 4.5.70 bitmart.fetch_order_book puts the limit on the wire: "default 35, max 50"
    # for GET /spot/quotation/v3/books.
    ex = make_exchange("bitmart")
    with replay("bitmart", "fetch_order_book") as cassette:
        with pytest.raises(InvalidInput, match="1 to 50"):
            await ex.fetch_order_book("BTC/USDT", limit)
        assert cassette.play_count == 0


async def test_bitstamp_sends_no_limit_so_a_large_one_is_the_whole_book(
    make_exchange: Callable[..., Exchange],
) -> None:
    # Bitstamp's order_book endpoint takes no limit (ccxt 4.5.70 sends only the pair): the
    # adapter cuts the answer, and 10**9 levels is simply all of them.
    ex = make_exchange("bitstamp")
    with replay("bitstamp", "fetch_order_book") as cassette:
        whole = await ex.fetch_order_book("BTC/USD")
        huge = await ex.fetch_order_book("BTC/USD", 10**9)
        one = await ex.fetch_order_book("BTC/USD", 1)
        sent = [r.uri for r in cassette.requests if "order_book" in r.uri]
    assert (huge.bids, huge.asks) == (whole.bids, whole.asks)
    assert (one.bids, one.asks) == (whole.bids[:1], whole.asks[:1])
    assert sent and not any("limit" in uri for uri in sent)


@pytest.mark.parametrize("depth", ["5", 0, -3, True, 2.5])
def test_watch_order_book_refuses_a_bad_depth_with_a_typed_error(
    make_exchange: Callable[..., Exchange], depth: Any
) -> None:
    ex = make_exchange("bitstamp")
    with pytest.raises(InvalidInput, match="depth"):
        ex.watch_order_book("BTC/USD", depth)


@pytest.mark.parametrize("symbol", [None, 5, "", b"BTC/USD"], ids=repr)
async def test_fetch_ticker_refuses_a_symbol_that_is_not_text(
    make_exchange: Callable[..., Exchange], symbol: Any
) -> None:
    ex = make_exchange("bitstamp")
    with replay("bitstamp", "fetch_ticker") as cassette:
        with pytest.raises(InvalidInput, match="symbol"):
            await ex.fetch_ticker(symbol)
        assert cassette.play_count == 0


async def test_a_symbol_in_another_case_reaches_ccxt_normalised(
    make_exchange: Callable[..., Exchange],
) -> None:
    ex = make_exchange("bitstamp")
    with replay("bitstamp", "fetch_ticker"):
        ticker = await ex.fetch_ticker("btc/usdt")
    # the cassette's BTC/USDT ticker (see test_venue_bitstamp)
    assert ticker.symbol == "BTC/USDT" and ticker.last == D("73285")
    with replay("bitstamp", "load_markets"), pytest.raises(UnknownSymbol, match="BTC/USD"):
        await ex.fetch_ticker("btc/usdx")


# -- private calls check credentials first -----------------------------------------------------

PRIVATE: dict[str, Callable[[Exchange], Any]] = {
    "cancel_order": lambda ex: ex.cancel_order("123", "BTC/USD"),
    "fetch_order": lambda ex: ex.fetch_order("123", "BTC/USD"),
    "fetch_open_orders(symbol)": lambda ex: ex.fetch_open_orders("BTC/USD"),
    "fetch_my_trades(symbol)": lambda ex: ex.fetch_my_trades("BTC/USD"),
    "fetch_trading_fee": lambda ex: ex.fetch_trading_fee("BTC/USD"),
    "fetch_order_by_client_id": lambda ex: ex.fetch_order_by_client_id("abc123", "BTC/USD"),
}


@pytest.mark.parametrize("call", list(PRIVATE))
async def test_private_calls_check_credentials_before_loading_markets(
    make_exchange: Callable[..., Exchange], call: str
) -> None:
    ex = make_exchange("bitstamp", credentials=None)
    # Offline: no cassette at all, so loading markets would be ExchangeUnavailable.
    with pytest.raises(MissingCredentials, match="BITSTAMP_API_KEY"):
        await PRIVATE[call](ex)


async def test_paper_orders_take_a_symbol_in_another_case() -> None:
    async with open_exchange(
        "bitstamp",
        paper=True,
        ledger=":memory:",
        source=DEMO_SESSION,
        config={"enableRateLimit": False, "timeout_on_exit": 0},
        initial_balances={"USD": "10000"},
    ) as ex:
        request = OrderRequest(
            symbol="eth/usd", side="buy", type="limit", amount="0.5", price="100"
        )
        placed = await ex.create_order(request)
        assert placed.symbol == "ETH/USD"
        assert (await ex.fetch_order(placed.id, "Eth/Usd")).id == placed.id
        assert [o.id for o in await ex.fetch_open_orders("eth/usd")] == [placed.id]
        assert (await ex.cancel_order(placed.id, "eth/usd")).status.value == "canceled"


async def test_a_closed_exchange_refuses_calls_instead_of_reopening() -> None:
    # ccxt reopens its HTTP session on the next call after close(); the adapter refuses
    # instead. Were a request attempted, pytest-socket's refusal would surface as
    # ExchangeUnavailable, so ExchangeClosed also shows nothing was sent.
    ex = open_exchange("bitstamp")
    await ex.close()
    with pytest.raises(ExchangeClosed, match="bitstamp exchange was closed"):
        await ex.fetch_ticker("BTC/USD")
    with pytest.raises(ExchangeClosed):
        await ex.load_markets()
    assert isinstance(ExchangeClosed("x"), AdapterError)
