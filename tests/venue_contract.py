"""The shared venue test suite: every typed method, replayed from cassettes; the order book
stream through 50 dropped connections; order safety under faults
(:mod:`tests.order_safety_contract`).

A venue test module subclasses :class:`VenueContract` and fills in ``EXCHANGE`` and
``EXPECT`` with values read from the source payloads (the strings the venue sent), and
:meth:`VenueContract.book_session` with a recorded book session, so a third venue gets the
same coverage by writing one small module of fixtures and expected values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal

import pytest

from adapters import (
    Credentials,
    InvalidOrderRequest,
    MissingCredentials,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    UnknownSymbol,
    UnsupportedFeature,
    UnsupportedOrderType,
)
from adapters.capabilities import Method
from adapters.exchange import Exchange
from adapters.models import OrderBook
from adapters.replay import Recording, RestHandler, RestResponse
from adapters.streams import StreamPolicy

from .conftest import replay, requests_to
from .order_safety_contract import OrderSafetyContract
from .replay_faults import FaultyReplayServer
from .streams_support import float_levels, point, take_until

D = Decimal


def raw(method: str, *args: Any) -> Callable[[Exchange], Awaitable[Any]]:
    """A call on the raw ccxt client, errors mapped by the adapter's one mapping."""

    def call(ex: Exchange) -> Awaitable[Any]:
        return ex._once(lambda: getattr(ex.client, method)(*args))

    return call


#: Enough attempts that several drops in a row (before a book could be rebuilt) never
#: exhaust them, and a reconnect budget above the 50 drops of a second or two; backoffs
#: stay in milliseconds.
DROPS_POLICY = StreamPolicy(
    reconnect_attempts=30, initial_backoff=0.002, max_backoff=0.01, close_timeout=0.5,
    reconnect_budget=100,
)  # fmt: skip


@dataclass(frozen=True)
class BookSession:
    """A venue's recorded order-book session for the stream contract.

    ``drops`` are the server-frame indices after which the connection is dropped (leave
    enough frames after each for the venue's book to be rebuilt); ``is_last`` tells the
    book of the session's last frame; ``expected`` is the book folded from the recording by
    the venue's replay helper (``{"bids": [[price, amount], ...], "asks": ...}``);
    ``is_subscribe`` tells the client's subscribe frames.
    """

    recording: Recording
    symbol: str
    drops: list[int]
    is_last: Callable[[OrderBook], bool]
    expected: Mapping[str, Any]
    is_subscribe: Callable[[Any], bool]
    rest: Mapping[str, RestResponse | RestHandler] | None = None
    compress: bool = False


class VenueContract(OrderSafetyContract):
    """Subclass with ``EXCHANGE``, ``EXPECT``, ``ORDER_PATH``, ``ORDER_SYMBOL`` and
    :meth:`book_session` to test one venue (REST methods, the book stream, order safety)."""

    EXCHANGE: ClassVar[str]
    #: Expected typed values, keyed by cassette name; each taken from the source payload.
    EXPECT: ClassVar[dict[str, dict[str, Any]]]
    #: URL fragment of the venue's order-placement endpoint(s).
    ORDER_PATH: ClassVar[str]

    @pytest.fixture
    def ex(self, make_exchange: Callable[..., Exchange]) -> Exchange:
        return make_exchange(self.EXCHANGE)

    def book_session(self) -> BookSession:
        """The venue's recorded order-book session (see :class:`BookSession`)."""
        raise NotImplementedError

    # -- streams -------------------------------------------------------------------------

    @pytest.mark.faults
    @pytest.mark.parametrize("mode", ["close", "abort"])
    async def test_order_book_survives_50_drops(
        self, make_exchange: Callable[..., Exchange], mode: Literal["close", "abort"]
    ) -> None:
        session = self.book_session()
        rec = session.recording
        async with FaultyReplayServer(
            rec,
            rest=session.rest,
            compress=session.compress,
            drop_after=session.drops,
            drop_mode=mode,
            pace=4000.0,
        ) as srv:
            ex = point(make_exchange(self.EXCHANGE), srv, DROPS_POLICY)
            books = await take_until(
                ex.watch_order_book(session.symbol), session.is_last, within=30.0
            )
            assert srv.connection_count == len(session.drops) + 1
            assert len(srv.delivered_data()) == len(rec.data_frames())
            subscribes = [m for m in srv.received_json() if session.is_subscribe(m)]
            assert len(subscribes) == len(session.drops) + 1
        assert books[-1].bids == float_levels(session.expected["bids"])
        assert books[-1].asks == float_levels(session.expected["asks"])
        nonces = [b.nonce or 0 for b in books]
        assert nonces == sorted(nonces)  # never a step back in time

    # -- market data ---------------------------------------------------------------------

    async def test_load_markets(self, ex: Exchange) -> None:
        exp = self.EXPECT["load_markets"]
        with replay(self.EXCHANGE, "load_markets"):
            markets = await ex.load_markets()
        assert set(exp["symbols"]) <= set(markets)
        m = markets[exp["symbol"]]
        for field, value in exp["market"].items():
            assert getattr(m, field) == value, field

    async def test_unknown_symbol_suggests_close_matches(self, ex: Exchange) -> None:
        exp = self.EXPECT["load_markets"]
        misspelt = exp["symbol"].replace("/", "")
        with replay(self.EXCHANGE, "load_markets"), pytest.raises(UnknownSymbol) as info:
            await ex.market(misspelt)
        assert exp["symbol"] in info.value.suggestions
        assert misspelt in str(info.value)

    async def test_fetch_ticker(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_ticker"]
        with replay(self.EXCHANGE, "fetch_ticker"):
            t = await ex.fetch_ticker(exp["symbol"])
        for field, value in exp["fields"].items():
            assert getattr(t, field) == value, field
        assert t.info is not None and "info" not in repr(t)

    async def test_fetch_order_book(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_order_book"]
        with replay(self.EXCHANGE, "fetch_order_book"):
            book = await ex.fetch_order_book(exp["symbol"])
        assert [book.bid(i) for i in range(len(book.bids))] == exp["bids"]
        assert [book.ask(i) for i in range(len(book.asks))] == exp["asks"]
        assert book.best_bid == exp["bids"][0][0] and book.best_ask == exp["asks"][0][0]
        assert book.timestamp == exp["timestamp"]

    async def test_fetch_trades(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_trades"]
        with replay(self.EXCHANGE, "fetch_trades"):
            trades = await ex.fetch_trades(exp["symbol"], limit=exp.get("limit"))
        first = trades[0]
        for field, value in exp["first"].items():
            assert getattr(first, field) == value, field

    async def test_fetch_ohlcv(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_ohlcv"]
        with replay(self.EXCHANGE, "fetch_ohlcv"):
            candles = await ex.fetch_ohlcv(exp["symbol"], "1h", limit=1)
        c = candles[0]
        assert (c.timestamp, c.open, c.high, c.low, c.close, c.volume) == exp["row"]

    async def test_fetch_tickers(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_tickers"]
        with replay(self.EXCHANGE, "fetch_tickers"):
            tickers = await ex.fetch_tickers()
        assert sorted(tickers) == sorted(exp["tickers"])
        for symbol, fields in exp["tickers"].items():
            for field, value in fields.items():
                assert getattr(tickers[symbol], field) == value, (symbol, field)

    async def test_fetch_tickers_of_some_symbols(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_tickers"]
        with replay(self.EXCHANGE, "fetch_tickers"):
            tickers = await ex.fetch_tickers([exp["loaded_symbol"]])
        assert sorted(tickers) == exp["of_loaded_symbol"]

    async def test_fetch_tickers_unknown_symbol_sends_nothing(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_tickers"]
        with replay(self.EXCHANGE, "fetch_tickers") as cassette:
            with pytest.raises(UnknownSymbol):
                await ex.fetch_tickers([exp["loaded_symbol"], "NOPE/USD"])
            assert requests_to(cassette, exp["path"]) == 0

    # -- private reads -------------------------------------------------------------------

    async def test_fetch_balance(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_balance"]
        with replay(self.EXCHANGE, "fetch_balance"):
            balances = await ex.fetch_balance()
        for currency, (free, used, total) in exp["assets"].items():
            b = balances[currency]
            assert (b.free, b.used, b.total) == (free, used, total), currency

    async def test_fetch_trading_fee_is_a_fraction(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_trading_fee"]
        with replay(self.EXCHANGE, "fetch_trading_fee"):
            fee = await ex.fetch_trading_fee(exp["symbol"])
        assert (fee.maker, fee.taker) == (exp["maker"], exp["taker"])

    async def test_fetch_order(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_order"]
        with replay(self.EXCHANGE, "fetch_order"):
            order = await ex.fetch_order(exp["id"], exp["symbol"])
        for field, value in exp["fields"].items():
            assert getattr(order, field) == value, field

    async def test_fetch_open_orders(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_open_orders"]
        with replay(self.EXCHANGE, "fetch_open_orders"):
            orders = await ex.fetch_open_orders(exp.get("symbol"))
        assert len(orders) == exp["count"]
        for field, value in exp["first"].items():
            assert getattr(orders[0], field) == value, field

    async def test_fetch_closed_orders(self, ex: Exchange) -> None:
        exp = self.EXPECT.get("fetch_closed_orders")
        if exp is None:
            pytest.skip(f"{self.EXCHANGE} keeps no order history (see test_optional_methods)")
        with replay(self.EXCHANGE, "fetch_closed_orders"):
            orders = await ex.fetch_closed_orders(exp["symbol"], limit=exp["limit"])
        assert len(orders) == exp["count"]
        for field, value in exp["first"].items():
            assert getattr(orders[0], field) == value, field

    def test_optional_methods_are_what_ccxt_offers(self, ex: Exchange) -> None:
        """The card's optional methods are exactly the ones ccxt 4.5.70 implements for the
        venue (its ``has``), so a ccxt upgrade that changes them fails here."""
        camel = {
            Method.FETCH_TICKERS: "fetchTickers",
            Method.FETCH_ORDERS: "fetchOrders",
            Method.FETCH_CLOSED_ORDERS: "fetchClosedOrders",
            Method.CANCEL_ALL_ORDERS: "cancelAllOrders",
        }
        offered = {m for m in Method if ex.client.has.get(camel[m])}
        assert ex.capabilities().methods == offered == self.EXPECT["methods"]

    async def test_optional_methods_the_venue_lacks_send_nothing(self, ex: Exchange) -> None:
        lacking = sorted(set(Method) - ex.capabilities().methods)
        calls = {
            Method.FETCH_TICKERS: lambda: ex.fetch_tickers(),
            Method.FETCH_ORDERS: lambda: ex.fetch_orders(self.EXPECT["load_markets"]["symbol"]),
            Method.FETCH_CLOSED_ORDERS: lambda: ex.fetch_closed_orders(),
            Method.CANCEL_ALL_ORDERS: lambda: ex.cancel_all_orders(None),
        }
        for method in lacking:
            with replay(self.EXCHANGE, "load_markets") as cassette:
                with pytest.raises(UnsupportedFeature, match=f"does not offer {method.value}"):
                    await calls[method]()
                assert cassette.play_count == 0, method

    async def test_fetch_my_trades(self, ex: Exchange) -> None:
        exp = self.EXPECT["fetch_my_trades"]
        with replay(self.EXCHANGE, "fetch_my_trades"):
            fills = await ex.fetch_my_trades(exp["symbol"], limit=exp["limit"])
        for field, value in exp["first"].items():
            assert getattr(fills[0], field) == value, field

    async def test_private_call_without_credentials_sends_nothing(
        self, make_exchange: Callable[..., Exchange]
    ) -> None:
        ex = make_exchange(self.EXCHANGE, credentials=None)
        with replay(self.EXCHANGE, "load_markets") as cassette:
            with pytest.raises(MissingCredentials) as info:
                await ex.fetch_balance()
            assert cassette.play_count == 0
        card = ex.capabilities()
        assert list(info.value.missing) == [c.env_var for c in card.credentials]
        for var in info.value.missing:
            assert var in str(info.value)

    # -- orders --------------------------------------------------------------------------

    def request(self, name: str, **override: Any) -> OrderRequest:
        spec = {**self.EXPECT[name]["request"], **override}
        return OrderRequest(**spec)

    async def test_create_limit_order(self, ex: Exchange) -> None:
        exp = self.EXPECT["create_order_limit"]
        with replay(self.EXCHANGE, "create_order_limit") as cassette:
            order = await ex.create_order(self.request("create_order_limit"))
            assert requests_to(cassette, self.ORDER_PATH) == 1
        assert order.id == exp["id"]
        assert order.client_order_id == exp["request"]["client_order_id"]
        assert order.type is OrderType.LIMIT and order.side is Side.BUY
        assert order.status is OrderStatus.OPEN

    async def test_limit_maker_on_the_wire(self, ex: Exchange) -> None:
        exp = self.EXPECT["create_order_limit_maker"]
        with replay(self.EXCHANGE, "create_order_limit_maker") as cassette:
            order = await ex.create_order(self.request("create_order_limit_maker"))
            sent = [r for r in cassette.requests if self.ORDER_PATH in r.uri]
        assert len(sent) == 1
        body = sent[0].body.decode() if isinstance(sent[0].body, bytes) else sent[0].body
        assert exp["wire_marker"] in body
        assert order.type is OrderType.LIMIT_MAKER

    async def test_cancel_order(self, ex: Exchange) -> None:
        exp = self.EXPECT["cancel_order"]
        with replay(self.EXCHANGE, "cancel_order"):
            order = await ex.cancel_order(exp["id"], exp["symbol"])
        assert order.id == exp["id"]
        assert order.status is OrderStatus.CANCELED

    @pytest.mark.parametrize(
        "params",
        [{"id": "1"}, {"order_id": "1"}, {"clientOrderId": "abc1"}, {"client_order_id": "abc1"},
         {"symbol": "ETH/USD"}],
    )  # fmt: skip
    async def test_cancel_params_cannot_name_another_order(
        self, ex: Exchange, params: dict[str, Any]
    ) -> None:
        """ccxt 4.5.70 lets Bitstamp's ``id`` replace the order id and BitMart's
        ``clientOrderId`` cancel by client id: the order cancelled would not be the one named."""
        exp = self.EXPECT["cancel_order"]
        with replay(self.EXCHANGE, "cancel_order") as cassette:
            with pytest.raises(InvalidOrderRequest, match="another order"):
                await ex.cancel_order(exp["id"], exp["symbol"], params)
            assert cassette.play_count == 0

    async def test_cancel_all_orders(self, ex: Exchange) -> None:
        exp = self.EXPECT["cancel_all_orders"]
        with replay(self.EXCHANGE, "cancel_all_orders") as cassette:
            orders = await ex.cancel_all_orders(exp["symbol"])
            assert requests_to(cassette, exp["path"]) == 1
        assert [(o.id, o.side, o.price, o.amount) for o in orders] == exp["orders"]
        assert all(o.status is OrderStatus.CANCELED for o in orders)

    @pytest.mark.parametrize("params", [{"symbol": "ETH/USD"}, {"pair": "ethusd"}])
    async def test_cancel_all_params_cannot_name_another_market(
        self, ex: Exchange, params: dict[str, Any]
    ) -> None:
        """ccxt 4.5.70 lets a ``pair`` param replace Bitstamp's market in the cancel-all URL."""
        exp = self.EXPECT["cancel_all_orders"]
        with replay(self.EXCHANGE, "cancel_all_orders") as cassette:
            with pytest.raises(InvalidOrderRequest, match="another order"):
                await ex.cancel_all_orders(exp["symbol"], params)
            assert cassette.play_count == 0

    async def test_cancel_all_orders_without_credentials_sends_nothing(
        self, make_exchange: Callable[..., Exchange]
    ) -> None:
        ex = make_exchange(self.EXCHANGE, credentials=Credentials())
        with replay(self.EXCHANGE, "cancel_all_orders") as cassette:
            with pytest.raises(MissingCredentials):
                await ex.cancel_all_orders(self.EXPECT["cancel_all_orders"]["symbol"])
            assert cassette.play_count == 0

    # -- ccxt-shaped calls ---------------------------------------------------------------

    def ccxt_args(self, name: str) -> tuple[Any, ...]:
        """``(symbol, type, side, amount, price, params)`` for the cassette's request."""
        r = self.EXPECT[name]["request"]
        return (r["symbol"], "limit", r["side"], float(r["amount"]), float(r["price"]),
                {"clientOrderId": r["client_order_id"]})  # fmt: skip

    async def test_ccxt_shaped_create_order_is_the_same_order(self, ex: Exchange) -> None:
        exp = self.EXPECT["create_order_limit"]
        with replay(self.EXCHANGE, "create_order_limit") as cassette:
            order = await ex.create_order(*self.ccxt_args("create_order_limit"))
            assert requests_to(cassette, self.ORDER_PATH) == 1
        assert (order.id, order.type) == (exp["id"], OrderType.LIMIT)
        assert order.client_order_id == exp["request"]["client_order_id"]

    async def test_ccxt_post_only_is_limit_maker_on_the_wire(self, ex: Exchange) -> None:
        exp = self.EXPECT["create_order_limit_maker"]
        symbol, _, side, amount, price, params = self.ccxt_args("create_order_limit_maker")
        with replay(self.EXCHANGE, "create_order_limit_maker") as cassette:
            order = await ex.create_order(
                symbol, "limit", side, amount, price, {**params, "postOnly": True}
            )
            sent = [r for r in cassette.requests if self.ORDER_PATH in r.uri]
        assert len(sent) == 1 and order.type is OrderType.LIMIT_MAKER
        body = sent[0].body.decode() if isinstance(sent[0].body, bytes) else sent[0].body
        assert exp["wire_marker"] in body and "postOnly" not in body

    @pytest.mark.parametrize(
        "post_only", [{"post_only": True}, {"PostOnly": "true"}, {"time_in_force": "po"}]
    )
    async def test_ccxt_post_only_in_other_spellings_is_limit_maker_on_the_wire(
        self, ex: Exchange, post_only: dict[str, Any]
    ) -> None:
        """ccxt reads only ``postOnly``; another spelling passed through would reach the
        venue beside a plain limit order, around the table."""
        exp = self.EXPECT["create_order_limit_maker"]
        symbol, _, side, amount, price, params = self.ccxt_args("create_order_limit_maker")
        with replay(self.EXCHANGE, "create_order_limit_maker") as cassette:
            order = await ex.create_order(symbol, "limit", side, amount, price,
                                          {**params, **post_only})  # fmt: skip
            sent = [r for r in cassette.requests if self.ORDER_PATH in r.uri]
        assert len(sent) == 1 and order.type is OrderType.LIMIT_MAKER
        body = sent[0].body.decode() if isinstance(sent[0].body, bytes) else sent[0].body
        assert exp["wire_marker"] in body and next(iter(post_only)) not in body

    @pytest.mark.parametrize(
        ("params", "error"),
        [
            ({"timeInForce": "IOC"}, UnsupportedOrderType),
            ({"timeInForce": "FOK"}, UnsupportedOrderType),
            ({"triggerPrice": 40}, UnsupportedOrderType),
            # Other spellings of governed params (ccxt 4.5.70's BitMart reads trigger_price).
            ({"trigger_price": 40}, UnsupportedOrderType),
            ({"stopPrice": 40}, UnsupportedOrderType),
            ({"time_in_force": "IOC"}, UnsupportedOrderType),
            ({"TimeInForce": "fok"}, UnsupportedOrderType),
            ({"cost": 10}, UnsupportedOrderType),
            ({"quoteOrderQty": 10}, UnsupportedOrderType),
            ({"type": "market"}, InvalidOrderRequest),
            ({"Type": "market"}, InvalidOrderRequest),
            ({"SIDE": "sell"}, InvalidOrderRequest),
            ({"Amount": "5"}, InvalidOrderRequest),
            ({"postOnly": "sometimes"}, InvalidOrderRequest),
        ],
    )
    async def test_ccxt_params_the_table_governs_send_nothing(
        self, ex: Exchange, params: dict[str, Any], error: type[Exception]
    ) -> None:
        symbol, _, side, amount, price, own = self.ccxt_args("create_order_limit")
        with replay(self.EXCHANGE, "create_order_limit") as cassette:
            with pytest.raises(error):
                await ex.create_order(symbol, "limit", side, amount, price, {**own, **params})
            assert cassette.play_count == 0

    async def test_venue_order_flags_are_screened_too(self, ex: Exchange) -> None:
        symbol, _, side, amount, price, own = self.ccxt_args("create_order_limit")
        for flag, error in self.EXPECT["venue_order_flags"].items():
            with replay(self.EXCHANGE, "create_order_limit") as cassette:
                with pytest.raises(error, match=flag):
                    await ex.create_order(symbol, "limit", side, amount, price, {**own, flag: 1})
                assert cassette.play_count == 0, flag

    @pytest.mark.parametrize(
        ("override", "message"),
        [
            ({"symbol": "NOPE/USD"}, "no market"),
            ({"amount": "0.000000001"}, "amount increment"),
            ({"amount": "0.00001"}, "minimum"),
            ({"client_order_id": "has spaces!"}, "client_order_id"),
        ],
    )
    async def test_bad_orders_send_nothing(
        self, ex: Exchange, override: dict[str, str], message: str
    ) -> None:
        with replay(self.EXCHANGE, "create_order_limit") as cassette:
            with pytest.raises(InvalidOrderRequest, match=message):
                await ex.create_order(self.request("create_order_limit", **override))
            assert requests_to(cassette, self.ORDER_PATH) == 0

    async def test_unsupported_types_send_nothing(self, ex: Exchange) -> None:
        card = ex.capabilities()
        unsupported = sorted(set(OrderType) - card.order_types)
        assert unsupported == self.EXPECT["unsupported_types"]
        for order_type in unsupported:
            with replay(self.EXCHANGE, "load_markets") as cassette:
                with pytest.raises(UnsupportedOrderType) as info:
                    await ex.create_order(
                        self.request("create_order_limit", type=order_type, price=None)
                    )
                assert cassette.play_count == 0
            assert self.EXCHANGE in str(info.value)
            for allowed in card.order_type_names:
                assert allowed in str(info.value)

    async def test_order_without_credentials_sends_nothing(
        self, make_exchange: Callable[..., Exchange]
    ) -> None:
        ex = make_exchange(self.EXCHANGE, credentials=Credentials())
        with replay(self.EXCHANGE, "create_order_limit") as cassette:
            with pytest.raises(MissingCredentials):
                await ex.create_order(self.request("create_order_limit"))
            assert cassette.play_count == 0

    # -- errors --------------------------------------------------------------------------

    async def test_error_mapping(self, ex: Exchange) -> None:
        """Each real error payload, replayed, maps to the adapter error the venue meant."""
        for name, (call, expected) in self.EXPECT["errors"].items():
            with replay(self.EXCHANGE, name), pytest.raises(expected) as info:
                await call(ex)
            # The ccxt original is kept on the chain (a retried read wraps the last failure).
            chain, cause = [], info.value.__cause__
            while cause is not None:
                chain.append(cause)
                cause = cause.__cause__
            assert any(type(c).__module__.startswith("ccxt") for c in chain), name
            assert str(info.value).startswith(self.EXCHANGE), name
