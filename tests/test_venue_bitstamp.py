"""Bitstamp through the shared venue suite. Expected values are the captured payload strings
(see cassettes/README.md for each payload's source)."""

from __future__ import annotations

from decimal import Decimal as D

from adapters import (
    AuthenticationFailed,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrderRequest,
    OrderNotFound,
    OrderRejected,
    OrderStatus,
    Side,
    UnsupportedOrderType,
)
from adapters.capabilities import Method
from adapters.errors import ClockSkew
from adapters.venues.bitstamp.replay import bitstamp_book, bitstamp_snapshot_route

from .replay_faults import seeded_drop_points
from .streams_support import bitstamp_long_session, bitstamp_rest, bitstamp_snapshot, data
from .venue_contract import BookSession, VenueContract, raw

# The error cassettes hold ccxt's bare create_order (no client order id), so these replay
# through the raw client and the adapter's one error mapping.
_create = raw("create_order", "BTC/USD", "limit", "buy", 0.001, 20000)
# BTC/EUR 0.0001 @ 20000 is below the 10 EUR minimum: the adapter's own market check would
# refuse it before sending, so only the raw client can provoke the venue's answer.
_raw_create_btceur = raw("create_order", "BTC/EUR", "limit", "buy", 0.0001, 20000)


class TestBitstamp(VenueContract):
    EXCHANGE = "bitstamp"
    ORDER_SYMBOL = "BTC/USD"
    ORDER_PATH = "/api/v2/buy/"
    EXPECT = {
        "load_markets": {
            "symbols": ["BTC/USD", "BTC/EUR", "ETH/USDT", "LINK/USD"],
            "symbol": "BTC/USD",
            # markets.json btcusd: base_decimals 8, counter_decimals 0, minimum_order_value "10"
            "market": {
                "venue_id": "btcusd",
                "active": True,
                "price_increment": D("1"),
                "amount_increment": D("0.00000001"),
                "min_cost": D("10"),
            },
        },
        "fetch_ticker": {
            "symbol": "BTC/USDT",
            "fields": {
                "timestamp": 1710328241000,
                "last": D("73285"),
                "bid": D("73353"),
                "ask": D("73367"),
                "high": D("73656"),
                "low": D("68626"),
                "open": D("71448"),
                "vwap": D("70853"),
                "base_volume": D("135.29692054"),
            },
        },
        "fetch_order_book": {
            "symbol": "BTC/USD",
            "timestamp": 1583652948955,  # microtimestamp "1583652948955826" in ms
            "bids": [
                (D("8750.00"), D("1.33685271")),
                (D("8749.39"), D("0.077")),
                (D("8746.98"), D("0.074")),
            ],
            "asks": [
                (D("8754.10"), D("1.51995636")),
                (D("8754.71"), D("1.4")),
                (D("8754.72"), D("2.5")),
            ],
        },
        "fetch_trades": {
            "symbol": "BTC/USDT",
            # type "0" is a buy on Bitstamp
            "first": {
                "id": "326595342",
                "price": D("73254"),
                "amount": D("0.00055284"),
                "side": Side.BUY,
                "timestamp": 1710327533000,
            },
        },
        "fetch_ohlcv": {
            "symbol": "BTC/USDT",
            "row": (1710327600000, D("73241"), D("73293"), D("73240"), D("73285"), D("0.01076655")),
        },
        "fetch_balance": {"assets": {"USDT": (D("7.00000"), D("0.00000"), D("7.00000"))}},
        # fees_trading.json: maker "0.15000" and taker "0.16000" are percent
        "fetch_trading_fee": {"symbol": "BTC/USD", "maker": D("0.0015"), "taker": D("0.0016")},
        "fetch_order": {
            "id": "1429545880227846",
            "symbol": "ETH/USDT",
            # status "Finished", amount_remaining "0.00000000", one 0.005 ETH transaction
            "fields": {"status": OrderStatus.FILLED, "remaining": D("0"), "filled": D("0.005")},
        },
        "fetch_open_orders": {
            "count": 1,
            "first": {
                "id": "2814205012",
                "price": D("0.00008012"),
                "amount": D("15"),
                "side": Side.BUY,
                "status": OrderStatus.OPEN,
            },
        },
        "fetch_my_trades": {
            "symbol": "ETH/USDT",
            "limit": 10,
            "first": {
                "id": "209895701",
                "order_id": "1429545880227846",
                "price": D("4451.25"),
                "amount": D("0.005"),
                "fee": D("0.11128"),
            },
        },
        "create_order_limit": {
            "id": "28",
            "request": {
                "symbol": "BTC/USD",
                "side": "buy",
                "type": "LIMIT",
                "amount": "0.001",
                "price": "20000",
                "client_order_id": "t1",
            },
        },
        "create_order_limit_maker": {
            "wire_marker": "moc_order=true",
            "request": {
                "symbol": "BTC/USD",
                "side": "buy",
                "type": "LIMIT_MAKER",
                "amount": "0.001",
                "price": "20000",
                "client_order_id": "t2",
            },
        },
        "cancel_order": {"id": "1453282316578816", "symbol": "BTC/USD"},
        "unsupported_types": [],
        # payloads/bitstamp/ticker_all.json (the element of ccxt's fetch_tickers comment):
        # "pair": "BTC/USD", "timestamp": "1686068944", "last": "26216", "bid": "26208", ...
        "fetch_tickers": {
            "path": "/api/v2/ticker/",
            "tickers": {
                "BTC/USD": {
                    "timestamp": 1686068944000,
                    "last": D("26216"),
                    "bid": D("26208"),
                    "ask": D("26211"),
                    "high": D("26252"),
                    "low": D("25350"),
                    "open": D("25730"),
                    "vwap": D("25681"),
                    "base_volume": D("3563.13819902"),
                }
            },
            "loaded_symbol": "BTC/USD",
            "of_loaded_symbol": ["BTC/USD"],
        },
        # ccxt 4.5.70 bitstamp.has: fetchTickers and cancelAllOrders, no order history.
        "methods": {Method.FETCH_TICKERS, Method.CANCEL_ALL_ORDERS},
        # rest/cancel_all_orders.json: "canceled": [{"id": 1453282316578816,
        # "amount": "0.02035278", "price": "2100.45", "type": 0, ...}]; type 0 is a buy.
        "cancel_all_orders": {
            "symbol": "BTC/USD",
            "path": "/api/v2/cancel_all_orders/btcusd/",
            "orders": [("1453282316578816", Side.BUY, D("2100.45"), D("0.02035278"))],
        },
        # Bitstamp API v2 buy/sell flags that make orders the table does not list.
        "venue_order_flags": {
            **dict.fromkeys(
                ["ioc_order", "fok_order", "gtd_order", "daily_order", "IOC_ORDER"],
                UnsupportedOrderType,
            ),
            # The market in the order URL (/api/v2/buy/{pair}/); ccxt lets params replace it.
            "pair": InvalidOrderRequest,
        },
        "errors": {
            "error_api_key_not_found": (lambda ex: ex.fetch_balance(), AuthenticationFailed),
            "error_invalid_signature": (lambda ex: ex.fetch_balance(), AuthenticationFailed),
            "error_no_permission": (lambda ex: ex.fetch_balance(), AuthenticationFailed),
            "error_invalid_nonce": (lambda ex: ex.fetch_balance(), ClockSkew),
            "error_maintenance": (lambda ex: ex.fetch_ticker("BTC/USDT"), ExchangeUnavailable),
            "error_order_not_found": (
                lambda ex: ex.fetch_order("1429545880227846", "ETH/USDT"),
                OrderNotFound,
            ),
            "error_order_not_found_cancel_order": (
                lambda ex: ex.cancel_order("1453282316578816", "BTC/USD"),
                OrderNotFound,
            ),
            "error_insufficient_funds_order_v1_2017": (_create, InsufficientFunds),
            "error_insufficient_funds_withdraw": (_create, InsufficientFunds),
            "error_decimal_places": (_create, OrderRejected),
            "error_price_out_of_range": (_create, OrderRejected),
            "error_trading_unavailable": (_create, AuthenticationFailed),
            "error_minimum_order_size": (_raw_create_btceur, OrderRejected),
        },
    }

    def book_session(self) -> BookSession:
        rec = bitstamp_long_session(repeats=5)  # 1500 diffs
        snapshot = bitstamp_snapshot()
        diffs = data(rec)
        final = int(diffs[-1]["data"]["microtimestamp"])
        route = bitstamp_snapshot_route(snapshot, "ethusd")
        return BookSession(
            recording=rec,
            symbol="ETH/USD",
            # each reconnect needs snapshotDelay + 1 = 7 deltas before its REST snapshot
            drops=seeded_drop_points(seed=2024, first=10, last=len(diffs) - 20, count=50),
            is_last=lambda b: b.nonce == final,
            expected=bitstamp_book(snapshot, rec.frames, "ethusd"),
            is_subscribe=lambda m: m["event"] == "bts:subscribe",
            rest=bitstamp_rest({"GET /api/v2/order_book/ethusd/": route}),
        )
