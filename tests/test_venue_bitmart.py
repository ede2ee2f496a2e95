"""BitMart through the shared venue suite. Expected values are the captured payload strings
(see cassettes/README.md for each payload's source)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters import (
    AuthenticationFailed,
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrderRequest,
    OrderNotFound,
    OrderRejected,
    OrderStatus,
    OrderType,
    Side,
    UnsupportedOrderType,
    open_exchange,
)
from adapters.capabilities import Method
from adapters.venues.bitmart.replay import bitmart_books

from .fakevenue import DUMMY
from .replay_faults import seeded_drop_points
from .streams_support import bitmart_long_session, data
from .venue_contract import BookSession, VenueContract, raw

# The error cassettes hold ccxt's bare create_order (no client order id), so these replay
# through the raw client and the adapter's one error mapping.
_create = raw("create_order", "BTC/USDT", "limit", "buy", 0.1, 50)
_create_maker = raw("create_order", "BTC/USDT", "limit_maker", "buy", 0.1, 50)
# 0.0001 BTC at 50 is below the 5 USDT minimum: the adapter would refuse it before sending.
_create_tiny = raw("create_order", "BTC/USDT", "limit", "buy", 0.0001, 50)


class TestBitmart(VenueContract):
    EXCHANGE = "bitmart"
    ORDER_SYMBOL = "BTC/USDT"
    ORDER_PATH = "/spot/v2/submit_order"
    EXPECT = {
        "load_markets": {
            "symbols": ["BTC/USDT"],
            "symbol": "BTC/USDT",
            # spot_v1_symbols_details.json: price_max_precision 2, quote_increment "0.00001"
            # (BitMart's name for the base step), base_min_size, min_buy_amount "5.0..."
            "market": {
                "venue_id": "BTC_USDT",
                "active": True,
                "price_increment": D("0.01"),
                "amount_increment": D("0.00001"),
                "min_amount": D("0.00001"),
                "min_cost": D("5"),
            },
        },
        "fetch_ticker": {
            "symbol": "BTC/USDT",
            "fields": {
                "timestamp": 1717737574061,
                "last": D("71257.99"),
                "bid": D("71257.99"),
                "bid_volume": D("0.00531"),
                "ask": D("71258"),
                "ask_volume": D("0.00398"),
                "high": D("71660.00"),
                "low": D("70119.89"),
                "open": D("70892.25"),
                "base_volume": D("8222.21532"),
                "quote_volume": D("583939083.43"),
            },
        },
        "fetch_order_book": {
            "symbol": "BTC/USDT",
            "timestamp": 1695264191808,
            "bids": [
                (D("26942.45"), D("0.00074")),
                (D("26941.53"), D("0.00371")),
                (D("26940.94"), D("0.08992")),
            ],
            "asks": [
                (D("26942.57"), D("0.06492")),
                (D("26942.73"), D("0.05447")),
                (D("26943.00"), D("0.07154")),
            ],
        },
        "fetch_trades": {
            "symbol": "BTC/USDT",
            "limit": 1,
            # positional array [symbol, ts, price, size, side]; BitMart sends no trade id
            "first": {
                "id": None,
                "price": D("83.4299"),
                "amount": D("0.218"),
                "side": Side.SELL,
                "timestamp": 1717238257307,
            },
        },
        "fetch_ohlcv": {
            "symbol": "BTC/USDT",
            "row": (
                1710327600000,
                D("73259.99"),
                D("73425.4"),
                D("73238.69"),
                D("73425.4"),
                D("94.52076"),
            ),
        },
        "fetch_balance": {
            "assets": {
                "USDT": (D("19.62994956"), D("0"), D("19.62994956")),
                "TRX": (D("0.00016"), D("0"), D("0.00016")),
            }
        },
        # spot_v1_trade_fee.json: rates are already fractions
        "fetch_trading_fee": {"symbol": "BTC/USDT", "maker": D("0.0025"), "taker": D("0.0025")},
        "fetch_order": {
            "id": "183347420821295423",
            "symbol": "BTC/USDT",
            "fields": {
                "status": OrderStatus.OPEN,  # state "new"
                "type": OrderType.LIMIT,
                "price": D("24000.00"),
                "amount": D("0.00022"),
                "filled": D("0"),
                "client_order_id": "183347420821295423",
            },
        },
        "fetch_open_orders": {
            "symbol": "BTC/USDT",
            "count": 1,
            "first": {
                "id": "183299373022163211",
                "price": D("25000.00"),
                "amount": D("0.00020"),
                "side": Side.BUY,
                "status": OrderStatus.OPEN,
            },
        },
        "fetch_my_trades": {
            "symbol": "BTC/USDT",
            "limit": 1,
            "first": {
                "id": "226559426091255813",
                "order_id": "229121051960828591",
                "price": D("68.2782"),
                "amount": D("0.087"),
                "fee": D("0.00594020"),
                "fee_currency": "USDT",
                "taker_or_maker": "taker",
            },
        },
        "create_order_limit": {
            "id": "209626977087068257",
            "request": {
                "symbol": "BTC/USDT",
                "side": "buy",
                "type": "LIMIT",
                "amount": "0.1",
                "price": "50",
                "client_order_id": "t1",
            },
        },
        "create_order_limit_maker": {
            "wire_marker": '"type":"limit_maker"',
            "request": {
                "symbol": "BTC/USDT",
                "side": "buy",
                "type": "LIMIT_MAKER",
                "amount": "0.1",
                "price": "50",
                "client_order_id": "t2",
            },
        },
        "cancel_order": {"id": "209628171087991494", "symbol": "BTC/USDT"},
        "unsupported_types": [OrderType.MARKET],
        # rest/tickers.json: one positional row ["AFIN_USDT", last "0.001047", v_24h "11110",
        # qv_24h "11.632170", open "0.001048", high "0.001048", low "0.001047", fluctuation,
        # bid_px "0.001029", bid_sz "5555", ask_px "0.001041", ask_sz "5297", ts]; AFIN_USDT is
        # not a loaded market, so ccxt keys it by the venue's id.
        "fetch_tickers": {
            "path": "/spot/quotation/v3/tickers",
            "tickers": {
                "AFIN_USDT": {
                    "timestamp": 1717122550482,
                    "last": D("0.001047"),
                    "open": D("0.001048"),
                    "high": D("0.001048"),
                    "low": D("0.001047"),
                    "bid": D("0.001029"),
                    "bid_volume": D("5555"),
                    "ask": D("0.001041"),
                    "ask_volume": D("5297"),
                    "base_volume": D("11110"),
                    "quote_volume": D("11.632170"),
                }
            },
            "loaded_symbol": "BTC/USDT",
            "of_loaded_symbol": [],  # the answer has no BTC_USDT row
        },
        # ccxt 4.5.70 bitmart.has: fetchTickers, fetchClosedOrders, cancelAllOrders;
        # fetchOrders False.
        "methods": {Method.FETCH_TICKERS, Method.FETCH_CLOSED_ORDERS, Method.CANCEL_ALL_ORDERS},
        # rest/cancel_all.json: {"code": 1000, "message": "OK", "data": {}}: no order named.
        "cancel_all_orders": {"symbol": "BTC/USDT", "path": "/spot/v4/cancel_all", "orders": []},
        # rest/query_history_orders.json: orderId "201060879563236943", side "sell", type
        # "market", state "filled", priceAvg "71.0566", size "0.100", filledSize "0.100",
        # filledNotional "7.10566000", createTime "1700215845644" (LTC_USDT, read as BTC/USDT).
        "fetch_closed_orders": {
            "symbol": "BTC/USDT",
            "limit": 1,
            "count": 1,
            "first": {
                "id": "201060879563236943",
                "client_order_id": "201060879563236943",
                "side": Side.SELL,
                "type": OrderType.MARKET,
                "status": OrderStatus.FILLED,
                "amount": D("0.100"),
                "filled": D("0.100"),
                "average": D("71.0566"),
                "cost": D("7.10566000"),
                "timestamp": 1700215845644,
            },
        },
        # submit_order fields: notional is a market buy by quote amount (not in the table);
        # size is the amount argument.
        # mode 4 is post-only to ccxt 4.5.70 (bitmart.create_spot_order_request).
        "venue_order_flags": {
            "notional": UnsupportedOrderType,
            "size": InvalidOrderRequest,
            "mode": UnsupportedOrderType,
        },
        "errors": {
            "error_balance_not_enough": (_create, InsufficientFunds),  # 50020
            "error_post_only_would_match_high": (_create_maker, OrderRejected),  # 50034
            "error_post_only_would_match_low": (_create_maker, OrderRejected),  # 50035
            "error_min_notional": (_create_tiny, OrderRejected),  # 51011
            "error_min_notional_1000": (_create_tiny, OrderRejected),  # 50029
            "error_kyc_restricted": (_create, AuthenticationFailed),  # 53001
            "error_sign_wrong": (lambda ex: ex.fetch_balance(), AuthenticationFailed),  # 30005
            "error_net_error": (lambda ex: ex.fetch_ticker("BTC/USDT"), ExchangeUnavailable),
            "error_bad_request": (
                lambda ex: ex.fetch_ohlcv("BTC/USDT", "1h", limit=1),
                ExchangeError,
            ),
            "error_order_does_not_exist": (
                lambda ex: ex.cancel_order("209628171087991494", "BTC/USDT"),
                OrderNotFound,
            ),
            "error_order_does_not_exist_fetch_order": (
                lambda ex: ex.fetch_order("183347420821295423", "BTC/USDT"),
                OrderNotFound,
            ),
        },
    }

    def book_session(self) -> BookSession:
        rec = bitmart_long_session(repeats=4)  # 1196 updates after the snapshot
        updates = data(rec)
        last = updates[-1]["data"][0]
        return BookSession(
            recording=rec,
            symbol="ETH/USDT",
            drops=seeded_drop_points(seed=7, first=5, last=len(updates) - 5, count=50),
            is_last=lambda b: b.timestamp == last["ms_t"],
            expected=bitmart_books(rec.frames)["ETH_USDT"],
            is_subscribe=lambda m: m.get("op") == "subscribe",
            compress=True,
        )


@pytest.mark.parametrize("prefix", ["bad-prefix", "x" * 25, "ü"])
def test_bad_prefix_is_refused_at_open(prefix: str) -> None:
    # BitMart's client order ids are at most 32 letters or digits; 12 are kept for uniqueness.
    with pytest.raises(InvalidOrderRequest):
        open_exchange("bitmart", credentials=DUMMY, client_order_id_prefix=prefix)
