"""Build the REST vcrpy cassettes for Bitstamp and BitMart from reference payloads.

Run by hand (it is the only project file allowed to read the shared reference)::

    python scripts/build_cassettes.py --reference ../shared/reference

For every cassette it:

1. runs the installed ccxt 4.5.70 (``ccxt.pro``, async) with its ``fetch`` replaced
   by a stub that records the request ccxt sends and answers it with a reference
   payload, so the request side is exactly what ccxt produces, never hand-written;
2. cross-checks those requests with ``<exchange>/ccxt-requests.json`` wherever that
   file holds the same call;
3. writes the cassette (request side without any auth header, response bodies
   serialised compactly from the reference payloads, sources listed inside);
4. replays the written cassette through the *unpatched* ccxt with vcrpy
   (``record_mode='none'``) and records the parsed result or the exception class in
   ``cassettes/<exchange>/expected/<name>.json``; results that have a counterpart in
   ``ccxt-requests.json`` must match it or the build fails;
5. regenerates the REST part of ``cassettes/README.md``.

The output is deterministic: running it twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import http
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ccxt.pro
import vcr
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CASSETTE_ROOT = REPO_ROOT / "cassettes"
# Public payloads found outside the shared reference, kept in the project with their source
# in the same file format; a Reply names them as "payloads/<exchange>/<name>.json".
PROJECT_PAYLOADS = REPO_ROOT / "scripts"
README_PATH = CASSETTE_ROOT / "README.md"
WS_HEADING = "## WebSocket recordings"

CCXT_VERSION = "4.5.70"
DUMMY_CREDENTIALS: dict[str, dict[str, str]] = {
    "bitstamp": {"apiKey": "testApiKey", "secret": "testSecret"},
    "bitmart": {"apiKey": "testApiKey", "secret": "testSecret", "uid": "testMemo"},
}
# Matchers used by the replay tests; the build validates with the same list so a
# cassette that builds also replays.
REPLAY_MATCH_ON = ["method", "scheme", "host", "port", "path", "query", "body"]
# Only this request header is kept: vcrpy's body matcher decides how to compare
# bodies (form / JSON / raw) from it, and it carries no secret.
KEPT_REQUEST_HEADERS = ("Content-Type",)
RESPONSE_HEADERS = {"Content-Type": ["application/json"]}


class SpotOnlyBitmart(ccxt.pro.bitmart):  # type: ignore[misc]
    """ccxt.pro bitmart that loads spot markets only, like the project's adapter.

    Stock ccxt 4.5.70 also requests the contract list on api-cloud-v2, which the
    spot adapter skips; the cassettes follow the adapter.
    """

    async def fetch_markets(self, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Return the spot markets only (no contract endpoint request)."""
        markets: list[dict[str, Any]] = await self.fetch_spot_markets(params or {})
        return markets


@dataclass(frozen=True)
class Reply:
    """A reference payload used as the response to one request.

    ``status`` overrides the reference status; it is required for error payloads
    whose reference gives none, and ``status_note`` then says where it comes from.
    """

    ref: str
    status: int | None = None
    status_note: str = ""


@dataclass(frozen=True)
class Spec:
    """One cassette: a single ccxt call and the replies for the requests it makes."""

    exchange: str
    name: str
    method: str
    args: tuple[Any, ...] = ()
    path: str | None = None
    reply: Reply | None = None
    loads_markets: bool = True
    same_request_as: str | None = None
    expected_from: str | None = None
    expected_edits: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        """Whether the cassette answers the call with an error payload."""
        return self.name.startswith("error_")

    @property
    def call(self) -> str:
        """The call written the way ccxt-requests.json writes it."""
        return f"{self.method}({', '.join(repr(a) for a in self.args)})"


@dataclass
class Captured:
    """A request ccxt handed to ``fetch`` while building."""

    method: str
    url: str
    body: str | None
    content_type: str | None
    reply: Reply


MARKET_REPLIES: dict[str, dict[str, Reply]] = {
    "bitstamp": {"/api/v2/markets/": Reply("bitstamp/rest/markets.json")},
    "bitmart": {
        "/account/v1/currencies": Reply("bitmart/rest/account_v1_currencies.json"),
        "/spot/v1/symbols/details": Reply("bitmart/rest/spot_v1_symbols_details.json"),
    },
}

BS_LIMIT = ("BTC/USD", "limit", "buy", 0.001, 20000)
BS_LIMIT_CALL = "create_order('BTC/USD', 'limit', 'buy', 0.001, 20000)"
BS_ORDER_STATUS = "/api/v2/order_status/"
BS_BUY = "/api/v2/buy/btcusd/"
BS_BALANCES = "/api/v2/account_balances/"
BM_SUBMIT = "/spot/v2/submit_order"
BM_CANCEL = "/spot/v3/cancel_order"
BM_LIMIT = ("BTC/USDT", "limit", "buy", 0.1, 50)
BM_LIMIT_MAKER = ("BTC/USDT", "limit_maker", "buy", 0.1, 50)
BM_SMALL = ("BTC/USDT", "limit", "buy", 0.0001, 50)
BM_ONLY_BTC = (
    "Symbol changed to BTC/USDT: rest/spot_v1_symbols_details.json lists only BTC_USDT,"
    " so {orig} is not a loaded market."
)

# Why the HTTP status of each error payload whose reference gives none is what it
# is. ccxt picks the exception from the body (handle_errors runs before
# handle_http_status_code), and the build checks that forcing 200 raises the same.
BS_AUTH_403 = (
    "assumed 403: reference README says Bitstamp auth errors (code API000x) come with HTTP 403"
)
BS_PREFIX = "from the response_code prefix ({code})"
BS_FIELD_KEYED = (
    "ccxt 4.5.70 raises plain ExchangeError here: handle_errors reads only reason.__all__,"
    " not field-keyed reasons such as reason.amount."
)


def bs_doc(code: str) -> str:
    """Status note for a Bitstamp payload mapped to a documented response_code class."""
    return (
        f"assumed {code.split('.')[0]}: no status in the source; Bitstamp's documented"
        f" response_code for this error is {code}"
    )


SPECS: tuple[Spec, ...] = (
    # ------------------------------------------------------------------ Bitstamp
    Spec(
        "bitstamp",
        "load_markets",
        "load_markets",
        same_request_as="load_markets(True)",
        expected_from="load_markets(True)",
    ),
    Spec(
        "bitstamp",
        "fetch_ticker",
        "fetch_ticker",
        ("BTC/USDT",),
        "/api/v2/ticker/btcusdt/",
        Reply("bitstamp/rest/ticker.json"),
        same_request_as="fetch_ticker('BTC/USDT')",
        expected_from="fetch_ticker('BTC/USDT')",
    ),
    Spec(
        "bitstamp",
        "fetch_order_book",
        "fetch_order_book",
        ("BTC/USD",),
        "/api/v2/order_book/btcusd/",
        Reply("bitstamp/rest/order_book.json"),
        same_request_as="fetch_order_book('BTC/USD')",
        expected_from="fetch_order_book('BTC/USD')",
    ),
    Spec(
        "bitstamp",
        "fetch_trades",
        "fetch_trades",
        ("BTC/USDT",),
        "/api/v2/transactions/btcusdt/",
        Reply("bitstamp/rest/transactions.json"),
        same_request_as="fetch_trades('BTC/USDT', None, 1)",
        expected_from="fetch_trades('BTC/USDT', None, 1)",
        notes=(
            "ccxt-requests.json called it with limit=1; the wire request is identical (ccxt does"
            " not send the limit).",
        ),
    ),
    Spec(
        "bitstamp",
        "fetch_ohlcv",
        "fetch_ohlcv",
        ("BTC/USDT", "1h", None, 1),
        "/api/v2/ohlc/btcusdt/",
        Reply("bitstamp/rest/ohlc.json"),
        same_request_as="fetch_ohlcv('BTC/USDT', '1h', None, 1)",
        expected_from="fetch_ohlcv('BTC/USDT', '1h', None, 1)",
    ),
    Spec(
        "bitstamp",
        "fetch_balance",
        "fetch_balance",
        (),
        BS_BALANCES,
        Reply("bitstamp/rest/account_balances.json"),
        same_request_as="fetch_balance()",
        expected_from="fetch_balance()",
    ),
    Spec(
        "bitstamp",
        "fetch_trading_fee",
        "fetch_trading_fee",
        ("BTC/USD",),
        "/api/v2/fees/trading/",
        Reply("bitstamp/rest/fees_trading.json"),
        same_request_as="fetch_trading_fee('BTC/USD')",
        expected_from="fetch_trading_fee('BTC/USD')",
    ),
    Spec(
        "bitstamp",
        "create_order_limit",
        "create_order",
        (*BS_LIMIT, {"clientOrderId": "t1"}),
        BS_BUY,
        Reply("bitstamp/rest/buy_limit_order_hummingbot.json"),
        expected_from=BS_LIMIT_CALL,
        notes=(
            "Response is a hummingbot fixture (COINALPHA/HBOT, id 28), not a capture of this"
            " request; ccxt-requests.json used the same file for the call without clientOrderId.",
        ),
    ),
    Spec(
        "bitstamp",
        "create_order_limit_maker",
        "create_order",
        (*BS_LIMIT, {"clientOrderId": "t2", "moc_order": True}),
        BS_BUY,
        Reply("bitstamp/rest/buy_limit_order_hummingbot.json"),
        notes=(
            "Borrowed from buy_limit_order_hummingbot.json (same endpoint and shape): no"
            " moc_order response exists in the reference.",
        ),
    ),
    Spec(
        "bitstamp",
        "create_order_market",
        "create_order",
        ("BTC/USD", "market", "buy", 0.001, None, {"clientOrderId": "t3"}),
        "/api/v2/buy/market/btcusd/",
        Reply("bitstamp/rest/buy_limit_order_hummingbot.json"),
        notes=(
            "Borrowed from buy_limit_order_hummingbot.json (the closest real order-create"
            " response): no market order response exists in the reference.",
        ),
    ),
    Spec(
        "bitstamp",
        "cancel_order",
        "cancel_order",
        ("1453282316578816", "BTC/USD"),
        "/api/v2/cancel_order/",
        Reply("bitstamp/rest/cancel_order.json"),
        same_request_as="cancel_order('1453282316578816', 'BTC/USD')",
        expected_from="cancel_order('1453282316578816', 'BTC/USD')",
    ),
    Spec(
        "bitstamp",
        "fetch_order",
        "fetch_order",
        ("1429545880227846", "ETH/USDT"),
        BS_ORDER_STATUS,
        Reply("bitstamp/rest/order_status_finished.json"),
        same_request_as="fetch_order('1429545880227846', 'ETH/USDT')",
        expected_from="fetch_order('1429545880227846', 'ETH/USDT')",
    ),
    Spec(
        "bitstamp",
        "fetch_open_orders",
        "fetch_open_orders",
        (),
        "/api/v2/open_orders/all/",
        Reply("bitstamp/rest/open_orders_all.json"),
        same_request_as="fetch_open_orders()",
        expected_from="fetch_open_orders()",
    ),
    Spec(
        "bitstamp",
        "fetch_my_trades",
        "fetch_my_trades",
        ("ETH/USDT", None, 10),
        "/api/v2/user_transactions/ethusdt/",
        Reply("bitstamp/rest/user_transactions_trade.json"),
        same_request_as="fetch_my_trades('ETH/USDT', None, 10)",
        expected_from="fetch_my_trades('ETH/USDT', None, 10)",
    ),
    Spec(
        "bitstamp",
        "fetch_tickers",
        "fetch_tickers",
        (),
        "/api/v2/ticker/",
        Reply("payloads/bitstamp/ticker_all.json"),
        notes=(
            "Element from ccxt's fetch_tickers comment, wrapped in a list (see the payload's"
            " note); no all-tickers capture exists in the reference.",
        ),
    ),
    Spec(
        "bitstamp",
        "cancel_all_orders",
        "cancel_all_orders",
        ("BTC/USD",),
        "/api/v2/cancel_all_orders/btcusd/",
        Reply("bitstamp/rest/cancel_all_orders.json"),
        same_request_as="cancel_all_orders('BTC/USD')",
        expected_from="cancel_all_orders('BTC/USD')",
    ),
    Spec(
        "bitstamp",
        "websockets_token",
        "private_post_websockets_token",
        (),
        "/api/v2/websockets_token/",
        Reply("bitstamp/rest/websockets_token.json"),
        loads_markets=False,
        notes=(
            "Implicit API method: ccxt does not load markets first, so the cassette holds one"
            " request.",
        ),
    ),
    # Bitstamp errors
    Spec(
        "bitstamp",
        "error_order_not_found",
        "fetch_order",
        ("1429545880227846", "ETH/USDT"),
        BS_ORDER_STATUS,
        Reply("bitstamp/rest/error_order_not_found.json", 404, bs_doc("404.002")),
        same_request_as="fetch_order('1429545880227846', 'ETH/USDT')",
    ),
    Spec(
        "bitstamp",
        "error_order_not_found_cancel_order",
        "cancel_order",
        ("1453282316578816", "BTC/USD"),
        "/api/v2/cancel_order/",
        Reply("bitstamp/rest/error_order_not_found.json", 404, bs_doc("404.002")),
        same_request_as="cancel_order('1453282316578816', 'BTC/USD')",
        notes=("Captured on order_status; the reference note says cancel_order returns the same.",),
    ),
    Spec(
        "bitstamp",
        "error_minimum_order_size",
        "create_order",
        ("BTC/EUR", "limit", "buy", 0.0001, 20000),
        "/api/v2/buy/btceur/",
        Reply("bitstamp/rest/error_minimum_order_size.json", 400, bs_doc("400.020")),
        notes=("Attached to a 2 EUR BTC/EUR order because the message names a 5 EUR minimum.",),
    ),
    Spec(
        "bitstamp",
        "error_decimal_places",
        "create_order",
        BS_LIMIT,
        BS_BUY,
        Reply("bitstamp/rest/error_decimal_places.json", 400, bs_doc("400.026")),
        same_request_as=BS_LIMIT_CALL,
        notes=(BS_FIELD_KEYED,),
    ),
    Spec(
        "bitstamp",
        "error_price_out_of_range",
        "create_order",
        BS_LIMIT,
        BS_BUY,
        Reply("bitstamp/rest/error_price_out_of_range.json", 400, BS_PREFIX.format(code="400.021")),
        same_request_as=BS_LIMIT_CALL,
    ),
    Spec(
        "bitstamp",
        "error_trading_unavailable",
        "create_order",
        BS_LIMIT,
        BS_BUY,
        Reply(
            "bitstamp/rest/error_trading_unavailable.json", 403, BS_PREFIX.format(code="403.004")
        ),
        same_request_as=BS_LIMIT_CALL,
    ),
    Spec(
        "bitstamp",
        "error_insufficient_funds_order_v1_2017",
        "create_order",
        BS_LIMIT,
        BS_BUY,
        Reply("bitstamp/rest/error_insufficient_funds_order_v1_2017.json", 400, bs_doc("400.009")),
        same_request_as=BS_LIMIT_CALL,
        notes=(
            'Legacy v1-era {"error": ...} shape captured on /api/buy/; attached to the v2 buy.',
        ),
    ),
    Spec(
        "bitstamp",
        "error_insufficient_funds_withdraw",
        "create_order",
        BS_LIMIT,
        BS_BUY,
        Reply("bitstamp/rest/error_insufficient_funds_withdraw.json", 400, bs_doc("400.009")),
        same_request_as=BS_LIMIT_CALL,
        notes=(
            "Borrowed from a withdrawal error (v2 shape; no v2 order-placement capture exists).",
            BS_FIELD_KEYED,
        ),
    ),
    Spec(
        "bitstamp",
        "error_invalid_signature",
        "fetch_balance",
        (),
        BS_BALANCES,
        Reply("bitstamp/rest/error_invalid_signature.json"),
        same_request_as="fetch_balance()",
        notes=("Captured on /api/v2/balance/; attached to account_balances.",),
    ),
    Spec(
        "bitstamp",
        "error_invalid_nonce",
        "fetch_balance",
        (),
        BS_BALANCES,
        Reply("bitstamp/rest/error_invalid_nonce.json"),
        same_request_as="fetch_balance()",
        notes=("Captured on /api/v2/balance/; attached to account_balances.",),
    ),
    Spec(
        "bitstamp",
        "error_api_key_not_found",
        "fetch_balance",
        (),
        BS_BALANCES,
        Reply("bitstamp/rest/error_api_key_not_found.json", 403, BS_AUTH_403),
        same_request_as="fetch_balance()",
        notes=("Captured on /api/v2/balance/; attached to account_balances.",),
    ),
    Spec(
        "bitstamp",
        "error_no_permission",
        "fetch_balance",
        (),
        BS_BALANCES,
        Reply(
            "bitstamp/rest/error_no_permission.json",
            403,
            "assumed 403 Forbidden: a permission error; the source gives no status",
        ),
        same_request_as="fetch_balance()",
        notes=("Source saw it on a deposit-address endpoint; attached to account_balances.",),
    ),
    Spec(
        "bitstamp",
        "error_maintenance",
        "fetch_ticker",
        ("BTC/USDT",),
        "/api/v2/ticker/btcusdt/",
        Reply(
            "bitstamp/rest/error_maintenance.json",
            503,
            "assumed 503 Service Unavailable: no source gives the maintenance status",
        ),
        same_request_as="fetch_ticker('BTC/USDT')",
    ),
    # ------------------------------------------------------------------- BitMart
    Spec(
        "bitmart",
        "load_markets",
        "load_markets",
        notes=(
            "Spot-only market loading (adapter override): currencies + spot symbols; no"
            " contract request.",
        ),
    ),
    Spec(
        "bitmart",
        "fetch_ticker",
        "fetch_ticker",
        ("BTC/USDT",),
        "/spot/quotation/v3/ticker",
        Reply("bitmart/rest/ticker.json"),
        same_request_as="fetch_ticker('BTC/USDT')",
        expected_from="fetch_ticker('BTC/USDT')",
    ),
    Spec(
        "bitmart",
        "fetch_order_book",
        "fetch_order_book",
        ("BTC/USDT",),
        "/spot/quotation/v3/books",
        Reply("bitmart/rest/books.json"),
        same_request_as="fetch_order_book('BTC/USDT')",
        expected_from="fetch_order_book('BTC/USDT')",
    ),
    Spec(
        "bitmart",
        "fetch_trades",
        "fetch_trades",
        ("BTC/USDT", None, 1),
        "/spot/quotation/v3/trades",
        Reply("bitmart/rest/trades.json"),
        expected_from="fetch_trades('LTC/USDT', None, 1)",
        expected_edits={"symbol": "BTC/USDT"},
        notes=(
            BM_ONLY_BTC.format(orig="LTC/USDT"),
            "The response row names LTC_USDT; ccxt labels it BTC/USDT (the requested market wins).",
        ),
    ),
    Spec(
        "bitmart",
        "fetch_ohlcv",
        "fetch_ohlcv",
        ("BTC/USDT", "1h", None, 1),
        "/spot/quotation/v3/klines",
        Reply("bitmart/rest/klines.json"),
        same_request_as="fetch_ohlcv('BTC/USDT', '1h', None, 1)",
        expected_from="fetch_ohlcv('BTC/USDT', '1h', None, 1)",
    ),
    Spec(
        "bitmart",
        "fetch_balance",
        "fetch_balance",
        (),
        "/spot/v1/wallet",
        Reply("bitmart/rest/spot_v1_wallet.json"),
        same_request_as="fetch_balance()",
        expected_from="fetch_balance()",
    ),
    Spec(
        "bitmart",
        "fetch_trading_fee",
        "fetch_trading_fee",
        ("BTC/USDT",),
        "/spot/v1/trade_fee",
        Reply("bitmart/rest/spot_v1_trade_fee.json"),
        expected_from="fetch_trading_fee('ETH/USDT')",
        expected_edits={"symbol": "ETH_USDT"},
        notes=(
            BM_ONLY_BTC.format(orig="ETH/USDT"),
            "The response names ETH_USDT, which is not a loaded market, so ccxt returns the raw id"
            " as the symbol.",
        ),
    ),
    Spec(
        "bitmart",
        "create_order_limit",
        "create_order",
        (*BM_LIMIT, {"clientOrderId": "t1"}),
        BM_SUBMIT,
        Reply("bitmart/rest/submit_order_limit.json"),
        expected_from="create_order('LTC/USDT', 'limit', 'buy', 0.1, 50)",
        expected_edits={"symbol": "BTC/USDT"},
        notes=(
            BM_ONLY_BTC.format(orig="LTC/USDT"),
            "Response (only an order_id) was captured for the LTC_USDT limit buy without"
            " client_order_id.",
        ),
    ),
    Spec(
        "bitmart",
        "create_order_limit_maker",
        "create_order",
        (*BM_LIMIT_MAKER, {"clientOrderId": "t2"}),
        BM_SUBMIT,
        Reply("bitmart/rest/submit_order_limit.json"),
        notes=(
            BM_ONLY_BTC.format(orig="LTC/USDT"),
            "Borrowed from submit_order_limit.json (same endpoint, same {order_id} shape): no"
            " limit_maker response exists in the reference.",
        ),
    ),
    Spec(
        "bitmart",
        "cancel_order",
        "cancel_order",
        ("209628171087991494", "BTC/USDT"),
        BM_CANCEL,
        Reply("bitmart/rest/cancel_order.json"),
        expected_from="cancel_order('209628171087991494', 'LTC/USDT')",
        expected_edits={"symbol": "BTC/USDT"},
        notes=(BM_ONLY_BTC.format(orig="LTC/USDT"),),
    ),
    Spec(
        "bitmart",
        "fetch_order",
        "fetch_order",
        ("183347420821295423", "BTC/USDT"),
        "/spot/v4/query/order",
        Reply("bitmart/rest/query_order_new.json"),
        same_request_as="fetch_order('183347420821295423', 'BTC/USDT')",
        expected_from="fetch_order('183347420821295423', 'BTC/USDT')",
    ),
    Spec(
        "bitmart",
        "fetch_open_orders",
        "fetch_open_orders",
        ("BTC/USDT",),
        "/spot/v4/query/open-orders",
        Reply("bitmart/rest/query_open_orders.json"),
        same_request_as="fetch_open_orders('BTC/USDT')",
        expected_from="fetch_open_orders('BTC/USDT')",
    ),
    Spec(
        "bitmart",
        "fetch_my_trades",
        "fetch_my_trades",
        ("BTC/USDT", None, 1),
        "/spot/v4/query/trades",
        Reply("bitmart/rest/query_trades.json"),
        expected_from="fetch_my_trades('LTC/USDT', None, 1)",
        expected_edits={"symbol": "BTC/USDT"},
        notes=(
            BM_ONLY_BTC.format(orig="LTC/USDT"),
            "The response row names LTC_USDT; ccxt labels it BTC/USDT (the requested market wins).",
        ),
    ),
    Spec(
        "bitmart",
        "fetch_tickers",
        "fetch_tickers",
        (),
        "/spot/quotation/v3/tickers",
        Reply("bitmart/rest/tickers.json"),
        notes=(
            "The one ticker row names AFIN_USDT, not a loaded market; ccxt keys it by the"
            " symbol it derives from the id.",
        ),
    ),
    Spec(
        "bitmart",
        "cancel_all_orders",
        "cancel_all_orders",
        ("BTC/USDT",),
        "/spot/v4/cancel_all",
        Reply("bitmart/rest/cancel_all.json"),
        same_request_as="cancel_all_orders('BTC/USDT')",
        expected_from="cancel_all_orders('BTC/USDT')",
    ),
    Spec(
        "bitmart",
        "fetch_closed_orders",
        "fetch_closed_orders",
        ("BTC/USDT", None, 1),
        "/spot/v4/query/history-orders",
        Reply("bitmart/rest/query_history_orders.json"),
        expected_from="fetch_closed_orders('LTC/USDT', None, 1)",
        expected_edits={"symbol": "BTC/USDT"},
        notes=(
            BM_ONLY_BTC.format(orig="LTC/USDT"),
            "The response row names LTC_USDT; ccxt labels it BTC/USDT (the requested market wins).",
        ),
    ),
    Spec(
        "bitmart",
        "fetch_time",
        "fetch_time",
        (),
        "/system/time",
        Reply("bitmart/rest/system_time.json"),
        loads_markets=False,
        same_request_as="fetch_time()",
        expected_from="fetch_time()",
        notes=("ccxt does not load markets for fetch_time; host api-cloud-v2.bitmart.com.",),
    ),
    # BitMart errors
    Spec(
        "bitmart",
        "error_balance_not_enough",
        "create_order",
        BM_LIMIT,
        BM_SUBMIT,
        Reply("bitmart/rest/error_balance_not_enough.json"),
    ),
    Spec(
        "bitmart",
        "error_post_only_would_match_high",
        "create_order",
        BM_LIMIT_MAKER,
        BM_SUBMIT,
        Reply("bitmart/rest/error_post_only_would_match_high.json"),
    ),
    Spec(
        "bitmart",
        "error_post_only_would_match_low",
        "create_order",
        BM_LIMIT_MAKER,
        BM_SUBMIT,
        Reply("bitmart/rest/error_post_only_would_match_low.json"),
    ),
    Spec(
        "bitmart",
        "error_min_notional",
        "create_order",
        BM_SMALL,
        BM_SUBMIT,
        Reply("bitmart/rest/error_min_notional.json"),
        notes=("Attached to a 0.005 USDT order so the request really is below the minimum.",),
    ),
    Spec(
        "bitmart",
        "error_min_notional_1000",
        "create_order",
        BM_SMALL,
        BM_SUBMIT,
        Reply("bitmart/rest/error_min_notional_1000.json"),
        notes=("Attached to a 0.005 USDT order so the request really is below the minimum.",),
    ),
    Spec(
        "bitmart",
        "error_kyc_restricted",
        "create_order",
        BM_LIMIT,
        BM_SUBMIT,
        Reply("bitmart/rest/error_kyc_restricted.json"),
    ),
    Spec(
        "bitmart",
        "error_order_does_not_exist",
        "cancel_order",
        ("209628171087991494", "BTC/USDT"),
        BM_CANCEL,
        Reply("bitmart/rest/error_order_does_not_exist.json"),
    ),
    Spec(
        "bitmart",
        "error_order_does_not_exist_fetch_order",
        "fetch_order",
        ("183347420821295423", "BTC/USDT"),
        "/spot/v4/query/order",
        Reply("bitmart/rest/error_order_does_not_exist.json"),
        same_request_as="fetch_order('183347420821295423', 'BTC/USDT')",
        notes=("Source path is cancel_order; the reference index lists it for cancel and query.",),
    ),
    Spec(
        "bitmart",
        "error_order_already_canceled",
        "cancel_order",
        ("209628171087991494", "BTC/USDT"),
        BM_CANCEL,
        Reply("bitmart/rest/error_order_already_canceled.json"),
    ),
    Spec(
        "bitmart",
        "error_sign_wrong",
        "fetch_balance",
        (),
        "/spot/v1/wallet",
        Reply("bitmart/rest/error_sign_wrong.json"),
        same_request_as="fetch_balance()",
        notes=("Live capture was on POST /spot/v2/submit_order; attached to the wallet read.",),
    ),
    Spec(
        "bitmart",
        "error_bad_request",
        "fetch_ohlcv",
        ("BTC/USDT", "1h", None, 1),
        "/spot/quotation/v3/klines",
        Reply("bitmart/rest/error_bad_request.json"),
        same_request_as="fetch_ohlcv('BTC/USDT', '1h', None, 1)",
        notes=(
            "Attached to klines because the message ('to is empty') is about a klines parameter.",
        ),
    ),
    Spec(
        "bitmart",
        "error_net_error",
        "fetch_ticker",
        ("BTC/USDT",),
        "/spot/quotation/v3/ticker",
        Reply(
            "bitmart/rest/error_net_error.json",
            500,
            "assumed 500: BitMart docs give HTTP 500 for 'server exception, BitMart service"
            " problem'; the 70003 row's status was not found",
        ),
        same_request_as="fetch_ticker('BTC/USDT')",
    ),
)


class BuildError(RuntimeError):
    """Raised when a cassette cannot be built exactly and honestly."""


# ---------------------------------------------------------- reference access


class Reference:
    """Read-only access to the shared reference folder (build time only)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, dict[str, Any]] = {}
        self.requests = {
            ex: self._load_json(f"{ex}/ccxt-requests.json") for ex in DUMMY_CREDENTIALS
        }
        for ex, data in self.requests.items():
            if data.get("ccxt_version") != CCXT_VERSION:
                raise BuildError(f"{ex}/ccxt-requests.json is for ccxt {data.get('ccxt_version')}")

    def _load_json(self, rel: str) -> dict[str, Any]:
        with (self.root / rel).open(encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
        return data

    def rest(self, rel: str) -> dict[str, Any]:
        """The parsed ``<exchange>/rest/<name>.json`` file (or ``payloads/...`` in the project)."""
        if rel not in self._cache:
            if rel.startswith("payloads/"):
                with (PROJECT_PAYLOADS / rel).open(encoding="utf-8") as fh:
                    self._cache[rel] = json.load(fh)
            else:
                self._cache[rel] = self._load_json(rel)
        return self._cache[rel]

    def ccxt_call(self, exchange: str, call: str) -> dict[str, Any]:
        """The entry of ccxt-requests.json for exactly this call string."""
        for entry in self.requests[exchange]["calls"]:
            if entry["call"] == call:
                found: dict[str, Any] = entry
                return found
        raise BuildError(f"{exchange}: no call {call!r} in ccxt-requests.json")


def resolve_status(ref: Reference, reply: Reply, is_error: bool) -> tuple[int, str]:
    """HTTP status for a reply, and a note when it is not the reference's own."""
    given = ref.rest(reply.ref).get("status")
    if given is not None:
        if reply.status is not None and reply.status != given:
            raise BuildError(
                f"{reply.ref}: status override {reply.status} contradicts reference {given}"
            )
        return int(given), ""
    if reply.status is not None:
        return reply.status, reply.status_note
    if is_error:
        raise BuildError(
            f"{reply.ref}: error payload without status needs an explicit, explained status"
        )
    return 200, "reference status null; 200 for a success payload"


# --------------------------------------------------- capture (stubbed fetch)


def make_client(exchange: str, base: type | None = None) -> Any:
    """A ccxt.pro client with dummy credentials and no rate limiting."""
    if base is None:
        base = SpotOnlyBitmart if exchange == "bitmart" else ccxt.pro.bitstamp
    client = base({"enableRateLimit": False, **DUMMY_CREDENTIALS[exchange]})
    # ccxt sleeps 250 ms in close(); nothing here needs that grace period.
    client.timeout_on_exit = 0
    return client


def capture_base(exchange: str) -> type:
    """A client class whose ``fetch`` records the request and answers from the reference."""
    base: type = SpotOnlyBitmart if exchange == "bitmart" else ccxt.pro.bitstamp

    class Capturing(base):  # type: ignore[misc]
        capture_replies: dict[str, Reply]
        capture_reference: Reference
        captured: list[Captured]

        async def fetch(
            self,
            url: str,
            method: str = "GET",
            headers: dict[str, str] | None = None,
            body: str | None = None,
        ) -> Any:
            path = urlsplit(url).path
            if path not in self.capture_replies:
                raise BuildError(f"unexpected request {method} {url}")
            reply = self.capture_replies[path]
            content_type = None
            for key, value in (headers or {}).items():
                if key.lower() == "content-type":
                    content_type = value
            self.captured.append(Captured(method, url, body, content_type, reply))
            return copy.deepcopy(self.capture_reference.rest(reply.ref)["response"])

    return Capturing


async def capture_requests(ref: Reference, spec: Spec) -> list[Captured]:
    """Run the call against the stubbed fetch and return what ccxt sent, in order."""
    replies = dict(MARKET_REPLIES[spec.exchange]) if spec.loads_markets else {}
    if spec.path is not None and spec.reply is not None:
        replies[spec.path] = spec.reply
    client = make_client(spec.exchange, capture_base(spec.exchange))
    client.capture_replies = replies
    client.capture_reference = ref
    client.captured = []
    try:
        await getattr(client, spec.method)(*copy.deepcopy(spec.args))
    except BuildError:
        raise
    except Exception:
        # Error payloads are meant to make ccxt raise; only the captured requests matter.
        if not spec.is_error:
            raise
    finally:
        await client.close()
    captured: list[Captured] = client.captured
    seen = [urlsplit(c.url).path for c in captured]
    if sorted(set(seen)) != sorted(replies) or len(seen) != len(set(seen)):
        raise BuildError(
            f"{spec.exchange}/{spec.name}: requests {seen} do not match replies {sorted(replies)}"
        )
    return captured


def cross_check(ref: Reference, spec: Spec, captured: list[Captured]) -> None:
    """Compare captured requests with ccxt-requests.json where it has the same call."""

    def wire(entry: Mapping[str, Any]) -> tuple[str, str, str | None, str | None]:
        return (
            entry["method"],
            entry["url"],
            entry["body"],
            entry.get("headers", {}).get("Content-Type"),
        )

    own = [(c.method, c.url, c.body, c.content_type) for c in captured]
    n_markets = len(MARKET_REPLIES[spec.exchange]) if spec.loads_markets else 0
    if spec.loads_markets:
        # The reference entry for load_markets also holds the contract request the
        # spot-only client never sends, so compare the spot part only.
        market_ref = [
            wire(r) for r in ref.ccxt_call(spec.exchange, "load_markets(True)")["requests"]
        ]
        if own[:n_markets] != market_ref[:n_markets]:
            raise BuildError(
                f"{spec.exchange}/{spec.name}: market requests {own[:n_markets]} != {market_ref}"
            )
    if spec.same_request_as and spec.method != "load_markets":
        ref_wire = [wire(r) for r in ref.ccxt_call(spec.exchange, spec.same_request_as)["requests"]]
        if own[n_markets:] != ref_wire:
            raise BuildError(
                f"{spec.exchange}/{spec.name}: {own[n_markets:]} != ccxt-requests.json {ref_wire}"
            )


# ---------------------------------------------------------- cassette writing


def cassette_path(spec: Spec) -> Path:
    """Where the cassette of a spec lives."""
    return CASSETTE_ROOT / spec.exchange / f"{spec.name}.yaml"


def expected_path(spec: Spec) -> Path:
    """Where the expected outcome of a spec lives."""
    return CASSETTE_ROOT / spec.exchange / "expected" / f"{spec.name}.json"


def compact_json(payload: Any) -> str:
    """Serialise a payload without whitespace, keeping key order and values."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def build_cassette(
    ref: Reference, spec: Spec, captured: list[Captured], force_status: int | None = None
) -> str:
    """The YAML text of one cassette (vcrpy format version 1 plus a ``sources`` list)."""
    interactions = []
    sources = []
    for index, req in enumerate(captured):
        rest = ref.rest(req.reply.ref)
        payload = rest["response"]
        if payload is None:
            raise BuildError(f"{req.reply.ref} has no full response envelope")
        status, status_note = resolve_status(
            ref, req.reply, spec.is_error and req.reply is spec.reply
        )
        if force_status is not None:
            status = force_status
        headers = {"Content-Type": [req.content_type]} if req.content_type else {}
        interactions.append(
            {
                "request": {
                    "body": req.body,
                    "headers": headers,
                    "method": req.method,
                    "uri": req.url,
                },
                "response": {
                    "body": {"string": compact_json(payload)},
                    # A fresh copy per interaction: shared objects would become YAML aliases.
                    "headers": copy.deepcopy(RESPONSE_HEADERS),
                    "status": {"code": status, "message": http.HTTPStatus(status).phrase},
                },
            }
        )
        entry = {
            "interaction": index,
            "request": f"{req.method} {req.url}",
            "reference_file": req.reply.ref,
            "source": rest["source"],
            "status": status,
        }
        if status_note:
            entry["status_note"] = status_note
        sources.append(entry)
    document = {"interactions": interactions, "version": 1, "sources": sources}
    header = [
        f"# vcrpy cassette: {spec.exchange} {spec.call} through ccxt.pro {CCXT_VERSION} (async).",
        "# Generated by scripts/build_cassettes.py from reference payloads; do not edit by hand.",
        "# Requests are what ccxt itself sent; auth headers are not recorded. Response sources are",
        "# in the top-level 'sources' list (vcrpy ignores that key). See cassettes/README.md.",
    ]
    body: str = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False
    )
    return "\n".join(header) + "\n" + body


# ------------------------------------------------ replay (real ccxt + vcrpy)


def strip_info(value: Any) -> Any:
    """Drop ccxt's raw ``info`` members at every depth, as ccxt-requests.json does."""
    if isinstance(value, dict):
        return {k: strip_info(v) for k, v in value.items() if k != "info"}
    if isinstance(value, list | tuple):
        return [strip_info(v) for v in value]
    return value


def result_view(spec: Spec, result: Any) -> Any:
    """The JSON-comparable view of a call result."""
    if spec.method == "load_markets":
        return list(result)
    return json.loads(json.dumps(strip_info(result)))


async def replay(
    exchange: str, method: str, args: Sequence[Any], cassette: Path
) -> tuple[str, Any]:
    """Replay a cassette through unpatched ccxt.

    Returns ``('result', value)`` or ``('raises', exception class name)``.
    """
    recorder = vcr.VCR(record_mode="none", match_on=REPLAY_MATCH_ON)
    client = make_client(exchange)
    try:
        with recorder.use_cassette(str(cassette)) as cas:
            try:
                value = await getattr(client, method)(*copy.deepcopy(list(args)))
            except ccxt.BaseError as exc:
                outcome: tuple[str, Any] = ("raises", type(exc).__name__)
            else:
                outcome = ("result", value)
            if not cas.all_played:
                raise BuildError(f"{cassette}: not every interaction was played")
    finally:
        await client.close()
    return outcome


def expected_outcome(ref: Reference, spec: Spec, outcome: tuple[str, Any]) -> dict[str, Any]:
    """Check a replay outcome against the reference and describe what the tests expect."""
    kind, value = outcome
    if spec.is_error:
        if kind != "raises":
            raise BuildError(f"{spec.exchange}/{spec.name}: ccxt did not raise, returned {value!r}")
        return {
            "raises": value,
            "basis": "replay of this cassette through ccxt 4.5.70 (handle_errors)",
        }
    if kind != "result":
        raise BuildError(f"{spec.exchange}/{spec.name}: ccxt raised {value}")
    got = result_view(spec, value)
    if spec.expected_from is None:
        return {
            "result": got,
            "basis": "snapshot: replay of this cassette through ccxt 4.5.70;"
            " no reference result exists",
        }
    wanted = copy.deepcopy(
        ref.ccxt_call(spec.exchange, spec.expected_from)["ccxt_result_without_info"]
    )
    for item in wanted if isinstance(wanted, list) else [wanted]:
        if spec.expected_edits and isinstance(item, dict):
            item.update(spec.expected_edits)
    if got != wanted:
        raise BuildError(
            f"{spec.exchange}/{spec.name}: replay result differs from ccxt-requests.json"
            f" {spec.expected_from}:\n got    {got}\n wanted {wanted}"
        )
    basis = (
        f"ccxt_result_without_info of {spec.expected_from} in {spec.exchange}/ccxt-requests.json"
    )
    if spec.expected_from != spec.call:
        basis += f" (that entry's call differs from this cassette's {spec.call})"
    if spec.expected_edits:
        basis += f", with {json.dumps(dict(spec.expected_edits))} replaced (see notes)"
    return {"result": wanted, "basis": basis}


async def check_status_independent(
    ref: Reference, spec: Spec, captured: list[Captured], name: str
) -> None:
    """Confirm ccxt's exception comes from the body: same class with every status set to 200."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "forced.yaml"
        path.write_text(build_cassette(ref, spec, captured, force_status=200), encoding="utf-8")
        outcome = await replay(spec.exchange, spec.method, spec.args, path)
    if outcome != ("raises", name):
        raise BuildError(
            f"{spec.exchange}/{spec.name}: with HTTP 200 ccxt gives {outcome}, not {name}"
        )


# -------------------------------------------------------------------- README


def md(text: str) -> str:
    """Escape a table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def readme_text(
    ref: Reference, rows: list[tuple[Spec, list[Captured], dict[str, Any]]], ws_tail: str
) -> str:
    """The README: REST tables generated here, the WebSocket section preserved."""
    lines = [
        "# Cassettes",
        "",
        "REST cassettes (vcrpy YAML) for Bitstamp and BitMart, generated by",
        "`python scripts/build_cassettes.py --reference ../shared/reference` (run by hand; nothing",
        "reads the shared reference at test time). One cassette = one ccxt.pro 4.5.70 async call,",
        "including the market-loading requests ccxt makes before it, so each is self-contained.",
        "",
        "- **Requests** are exactly what the installed ccxt 4.5.70 sent (captured from its",
        "  `fetch`), cross-checked with `ccxt-requests.json` where it has the same call.",
        "  Credentials were the dummies `testApiKey` / `testSecret` / memo `testMemo`; no auth",
        "  header, cookie or user agent is recorded, only the request `Content-Type` (vcrpy's",
        "  body matcher reads it).",
        "- **Responses** are the reference `response` payloads, serialised with",
        "  `json.dumps(..., separators=(',', ':'))` (values, types and key order kept), with a",
        "  `Content-Type: application/json` header. Each cassette lists its sources in a top-level",
        "  `sources:` key, which vcrpy ignores.",
        "- **Project payloads**: a reference file named `payloads/<exchange>/<name>.json` is a",
        "  public payload found outside the shared reference, kept in `scripts/payloads/` in the",
        "  same format (its `source` and `note` say where it comes from and what was edited).",
        "- **BitMart markets** are loaded spot-only, as the adapter does (`fetch_markets` ->",
        "  `fetch_spot_markets`): `GET /account/v1/currencies` then",
        "  `GET /spot/v1/symbols/details`. The reference symbols list holds only `BTC_USDT`, so",
        "  every BitMart call uses BTC/USDT.",
        "- **Expected outcomes** are in `<exchange>/expected/<cassette>.json`: the call, and",
        "  either the parsed result (`info` stripped) or the ccxt exception class. `basis` says",
        "  whether the value is ccxt's own result from `ccxt-requests.json` or a snapshot of the",
        "  replay.",
        "- **Error statuses**: ccxt raises from the body (`handle_errors` runs before",
        "  `handle_http_status_code`); the build checks each error cassette raises the same class",
        "  with HTTP 200, so an assumed status never changes the exception.",
        "- Replay: `tests/test_cassettes_replay_raw.py`, match_on",
        f"  `{REPLAY_MATCH_ON}`.",
        "- Live re-recording (internet and real keys, never in tests):",
        "  `python scripts/record_cassettes.py --help`; it writes to `build/live-cassettes/`",
        "  for a manual comparison, public calls only unless `--private`, orders only with",
        "  `--i-understand-this-places-orders`.",
        "",
        "Market-loading interactions (first in every cassette except `websockets_token` and",
        "`fetch_time`):",
        "",
        "| exchange | request | reference file | original source |",
        "|---|---|---|---|",
    ]
    for exchange, replies in MARKET_REPLIES.items():
        for path, reply in replies.items():
            lines.append(
                f"| {exchange} | GET {path} | `{reply.ref}` | {md(ref.rest(reply.ref)['source'])} |"
            )
    for exchange in DUMMY_CREDENTIALS:
        lines += [
            "",
            f"## {exchange.capitalize()}",
            "",
            "| cassette | ccxt call | request | reference file | original source | HTTP status"
            " | notes (edits / borrowing) | ccxt raises |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for spec, captured, expected in rows:
            if spec.exchange != exchange:
                continue
            own = captured[-1] if spec.reply is not None else None
            if own is None:
                request = "; ".join(f"{c.method} {c.url}" for c in captured)
                ref_file = ", ".join(f"`{c.reply.ref}`" for c in captured)
                source = "see market-loading table"
                status = "200"
            else:
                request = f"{own.method} {own.url}" + (f" body `{own.body}`" if own.body else "")
                ref_file = f"`{own.reply.ref}`"
                source = ref.rest(own.reply.ref)["source"]
                code, note = resolve_status(ref, own.reply, spec.is_error)
                status = f"{code}" + (f" ({note})" if note else "")
            raises = f"`{expected['raises']}`" if "raises" in expected else ""
            lines.append(
                f"| `{exchange}/{spec.name}.yaml` | `{spec.call}` | {md(request)} | {ref_file}"
                f" | {md(source)} | {md(status)} | {md(' '.join(spec.notes))} | {raises} |"
            )
    lines += [
        "",
        "### Borrowed responses",
        "",
    ]
    for spec, _, _ in rows:
        for note in spec.notes:
            if note.startswith("Borrowed"):
                lines.append(f"- `{spec.exchange}/{spec.name}.yaml`: {note}")
    lines.append("")
    return "\n".join(lines) + "\n" + ws_tail


def preserved_ws_tail() -> str:
    """The WebSocket section owned by someone else, kept verbatim across rebuilds."""
    if README_PATH.exists():
        text = README_PATH.read_text(encoding="utf-8")
        at = text.find(WS_HEADING)
        if at >= 0:
            return text[at:]
    return f"{WS_HEADING}\n"


# ---------------------------------------------------------------------- main


async def build_all(ref: Reference) -> list[tuple[Spec, list[Captured], dict[str, Any]]]:
    """Build, write and validate every cassette; return rows for the README."""
    rows = []
    for spec in SPECS:
        captured = await capture_requests(ref, spec)
        cross_check(ref, spec, captured)
        path = cassette_path(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = build_cassette(ref, spec, captured)
        for secret in ("testApiKey", "testSecret", "testMemo"):
            if secret in text:
                raise BuildError(f"{path}: contains the dummy credential {secret}")
        path.write_text(text, encoding="utf-8")
        outcome = await replay(spec.exchange, spec.method, spec.args, path)
        expected = expected_outcome(ref, spec, outcome)
        if spec.is_error:
            await check_status_independent(ref, spec, captured, expected["raises"])
        document = {
            "cassette": f"{spec.name}.yaml",
            "exchange": spec.exchange,
            "method": spec.method,
            "args": list(spec.args),
            "call": spec.call,
            "spot_only_markets": spec.exchange == "bitmart",
            **expected,
        }
        out = expected_path(spec)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        rows.append((spec, captured, expected))
        label = expected.get("raises") or expected["basis"].split(":")[0]
        print(f"{spec.exchange}/{spec.name}.yaml: {len(captured)} interaction(s), {label}")
    return rows


def remove_stale() -> None:
    """Delete generated files no spec produces any more, so renames leave nothing behind."""
    wanted = {cassette_path(s) for s in SPECS} | {expected_path(s) for s in SPECS}
    for exchange in DUMMY_CREDENTIALS:
        folder = CASSETTE_ROOT / exchange
        for path in [*folder.glob("*.yaml"), *(folder / "expected").glob("*.json")]:
            if path not in wanted:
                path.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, required=True, help="path to shared/reference")
    args = parser.parse_args(argv)
    if ccxt.__version__ != CCXT_VERSION:
        print(f"ccxt {ccxt.__version__} installed, {CCXT_VERSION} required", file=sys.stderr)
        return 2
    ref = Reference(args.reference.resolve())
    remove_stale()
    try:
        rows = asyncio.run(build_all(ref))
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    README_PATH.write_text(readme_text(ref, rows, preserved_ws_tail()), encoding="utf-8")
    print(f"wrote {len(rows)} cassettes and {README_PATH.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
