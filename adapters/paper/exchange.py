"""``PaperExchange``: the :class:`~adapters.protocol.ExchangeAPI` interface with simulated orders.

Built by composition: a market-data source (an :class:`~adapters.exchange.Exchange` without
keys, whose ccxt.pro client carries the paper taps) plus the engine. Market data (markets,
ticker, books, trades, candles) comes from the venue's public API, or from a recorded
session replayed to that same client when ``source`` names one.
Orders, balances, fills and order streams are simulated by :class:`~adapters.paper.engine.Engine`
and kept in a :class:`~adapters.paper.ledger.Ledger`.

Orders go through the live pipeline's own checks (:meth:`Exchange.validate_order`: capability
table, market rules, client order id), so MARKET on ``bitmart_paper_trade`` raises
:class:`UnsupportedOrderType` exactly as live. The engine is fed by the client's order books
and trades as ccxt applies them (see :mod:`adapters.paper.feed`), after every WebSocket message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from ..capabilities import Capabilities, Method, capabilities
from ..ccxt_args import create_order_args
from ..credentials import Credentials
from ..enums import OrderStatus
from ..errors import ExchangeUnavailable, OrderNotFound, OrderRejected
from ..exchange import Exchange
from ..inputs import parse_currency, parse_decimal, parse_order_id, parse_symbols, parse_window
from ..models import (
    Balance,
    Balances,
    Candle,
    Fill,
    Market,
    Order,
    OrderBook,
    OrderRequest,
    Ticker,
    Trade,
    TradingFee,
)
from ..protocol import Params
from ..retry import RetryPolicy
from ..streams import StreamPolicy
from ..venues import Venue, get_venue
from .clock import Pace, Speed, pace_for_speed, read_queue, read_stream
from .convert import balance_from_state, balances_from_states, fill_from_record, order_from_state
from .convert import window as in_window
from .engine import (
    CancelOrder,
    Engine,
    EngineResult,
    MarketSpec,
    Number,
    PlaceOrder,
    QueueModel,
    to_dec,
)
from .feed import EngineFeed, tap_client_class
from .ledger import MEMORY, Ledger, LedgerError, check_account
from .options import check_paper_options, check_traded
from .session import RecordedSession

__all__ = ["LedgerFailed", "PaperExchange"]

log = logging.getLogger("adapters.paper")
T = TypeVar("T")

#: How long an order waits for the first order book of its market.
BOOK_WAIT_S = 15.0
# Final orders kept in memory before older ones are left to the ledger alone.
_KEEP_CLOSED = 1000


class LedgerFailed(LedgerError):
    """A ledger write failed; the paper account refuses further work rather than drift."""


class PaperExchange:
    """Paper trading with the same interface as :class:`~adapters.exchange.Exchange`
    (both implement :class:`~adapters.protocol.ExchangeAPI`).

    Use :func:`adapters.open_exchange` (``paper=True`` or a ``*_paper_trade`` id). Arguments
    beyond the live ones:

    ``source``
        a recorded session (the name of one shipped in ``adapters/sessions/<exchange>/``,
        or a ``.jsonl`` path) replayed instead of the live public API; ``replay_pace`` is
        its offered rate in frames per second (``"recorded"`` follows the recording's
        clock, ``None`` sends as fast as the client reads).
    ``speed``
        instead of ``replay_pace``: ``"max"``, the virtual clock of :mod:`adapters.paper.clock`
        (the same fills every run); a number, the recording's clock that much faster.
    ``ledger``
        a :class:`Ledger`, a file path, or ``":memory:"``; by default one file per exchange
        and ``account`` under the user's state directory.
    ``initial_balances``
        ``{"USD": "10000"}``: funds a new account (one with no deposits yet); an existing
        account keeps its balances (use :meth:`fund` to change them).
    ``maker_fee`` / ``taker_fee``
        fee fractions for every market (``Decimal("0.001")`` is 0.1%), instead of the
        market's own.
    ``queue``
        ``"conservative"`` (default) or ``"optimistic"``, see :class:`QueueModel`.
    """

    def __init__(
        self,
        exchange_id: str | Capabilities,
        *,
        source: str | os.PathLike[str] | None = None,
        replay_pace: Pace = None,
        speed: Speed | None = None,
        ledger: Ledger | str | os.PathLike[str] | None = None,
        account: str = "default",
        initial_balances: Mapping[str, Number] | None = None,
        maker_fee: Number | None = None,
        taker_fee: Number | None = None,
        queue: QueueModel | str = QueueModel.CONSERVATIVE,
        retry: RetryPolicy | None = None,
        streams: StreamPolicy | None = None,
        timeout_ms: int = 10_000,
        config: Mapping[str, Any] | None = None,
        client_order_id_prefix: str = "",
    ) -> None:
        card = capabilities(exchange_id).paper_twin()  # resolved once; the card is passed on
        paper_id = card.id
        options = check_paper_options(
            initial_balances=initial_balances,
            maker_fee=maker_fee,
            taker_fee=taker_fee,
            queue=queue,
            replay_pace=replay_pace,
        )
        check_account(account)
        self._venue: Venue = get_venue(card)
        # The market-data source: the venue's own client class with the paper taps. Paper
        # trading never signs anything: no keys are loaded, even if the environment holds some.
        self._market_data = Exchange(
            card,
            credentials=Credentials(),
            retry=retry,
            streams=streams,
            timeout_ms=timeout_ms,
            config=config,
            client_order_id_prefix=client_order_id_prefix,
            client_class=tap_client_class(self._venue.client_class()),
        )
        self._client: Any = self._market_data.client
        #: A fresh client order id carrying the ``client_order_id_prefix`` (as live).
        self.new_client_order_id: Callable[[], str] = self._market_data.new_client_order_id
        self._client_order_id_prefix = client_order_id_prefix
        self.account = account
        self._fee_override = (options.maker_fee, options.taker_fee)
        self._engine = Engine(queue=options.queue)
        self._feed = EngineFeed(self._client, self._engine, self._commit)
        self._client.paper_after_message = self._feed.after_message
        self._session = None if source is None else RecordedSession(os.fspath(source), self._venue)
        self._replay = pace_for_speed(speed, options.replay_pace, recorded=source is not None)
        self._clock = self._replay.clock
        if isinstance(ledger, Ledger):
            self._ledger, self._owns_ledger = ledger, False
        elif ledger is None:
            self._ledger, self._owns_ledger = Ledger.open_default(paper_id, account), True
        else:
            path = MEMORY if str(ledger) == MEMORY else Path(ledger)
            self._ledger = Ledger(path, exchange_id=paper_id, account=account)
            self._owns_ledger = True
        self._initial_balances = options.initial_balances
        self._started = False
        self._start_lock = asyncio.Lock()
        self._feeds: dict[str, list[asyncio.Task[None]]] = {}
        self._order_watchers: list[tuple[str | None, asyncio.Queue[Order]]] = []
        self._fill_watchers: list[tuple[str | None, asyncio.Queue[Fill]]] = []
        self._balance_watchers: list[asyncio.Queue[Balances]] = []
        self._failure: BaseException | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> PaperExchange:
        try:
            await self._ready()
        except BaseException:
            # ``async with`` does not call __aexit__ when __aenter__ fails.
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the market feeds, close the client, the replay server and the ledger."""
        if self._closed:
            return
        self._closed = True
        tasks = [t for ts in self._feeds.values() for t in ts]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._feed.drain()
        await self._market_data.close()
        if self._session is not None:
            await self._session.close()
        if self._owns_ledger:
            self._ledger.close()

    def __repr__(self) -> str:
        where = f"session {self._session.name}" if self._session else "live market data"
        return f"<PaperExchange {self.id} account={self.account} {where}>"

    @property
    def id(self) -> str:
        """The paper exchange id (``bitstamp_paper_trade``)."""
        return self._market_data.id

    @property
    def client(self) -> Any:
        """The ccxt.pro client the market data comes through."""
        return self._client

    @property
    def venue(self) -> Venue:
        """The venue module's facts and translations."""
        return self._venue

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of the market-data reads."""
        return self._market_data.retry

    @property
    def stream_policy(self) -> StreamPolicy | None:
        """The reconnect and watchdog settings of the market-data streams."""
        return self._market_data.stream_policy

    def capabilities(self) -> Capabilities:
        """This exchange's connector card (the paper one)."""
        return self._market_data.capabilities()

    @property
    def engine(self) -> Engine:
        """The matching engine (for inspection; trade through the exchange's methods)."""
        return self._engine

    @property
    def ledger(self) -> Ledger:
        """The account's ledger."""
        return self._ledger

    @property
    def session(self) -> RecordedSession | None:
        """The recorded session market data comes from, or None for the live venue."""
        return self._session

    @property
    def market_time(self) -> int | None:
        """The timestamp (ms) of the latest book or trade applied to the engine."""
        return self._feed.market_time

    async def _ready(self) -> None:
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            if self._session is not None:
                await self._session.start(self._client, self._replay)
            markets = await self._market_data.load_markets()
            for market in markets.values():
                self._engine.add_market(self._spec(market))
            self._currencies = {c for m in markets.values() for c in (m.base, m.quote)}
            check_traded(self._initial_balances, self._currencies, self.id, "initial_balances key")
            if self._initial_balances:
                self._ledger.fund_new_account(self._initial_balances)
            self._restore()
            self._started = True

    def _restore(self) -> None:
        state = self._ledger.load()
        known = self._engine.symbols
        orders = [o for o in state.open_orders if o.symbol in known]
        for lost in (o for o in state.open_orders if o.symbol not in known):
            log.warning(
                "%s: open paper order %s is for %s, which the venue no longer lists; "
                "it stays in the ledger, untouched",
                self.id,
                lost.id,
                lost.symbol,
            )
        self._engine.restore(balances=state.balances, open_orders=orders, counters=state.counters)

    def _spec(self, market: Market) -> MarketSpec:
        """The engine's view of a market: fees from the override, else the market's, else
        the venue's default trading fees in ccxt (for markets listed without fees)."""
        maker, taker = self._fee_override
        trading = (getattr(self._client, "fees", None) or {}).get("trading") or {}

        def pick(override: Decimal | None, own: Decimal | None, key: str) -> Decimal:
            if override is not None:
                return override
            if own is not None:
                return own
            return to_dec(str(trading.get(key) or 0))

        return MarketSpec(
            symbol=market.symbol,
            base=market.base,
            quote=market.quote,
            maker_fee=pick(maker, market.maker_fee, "maker"),
            taker_fee=pick(taker, market.taker_fee, "taker"),
        )

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise LedgerFailed(
                f"{self.id}: a ledger write failed ({self._failure!r}); the paper account "
                "stops here so it never drifts from its ledger. Reopen the exchange to "
                "continue from the last committed state."
            )

    # -- market data ----------------------------------------------------------------------------

    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """The venue's markets (from the recorded session when there is one)."""
        await self._ready()
        markets = await self._market_data.load_markets(reload)
        if reload:
            for market in markets.values():
                self._engine.add_market(self._spec(market))
        return markets

    async def market(self, symbol: str) -> Market:
        """One market; raises :class:`UnknownSymbol` with close matches."""
        await self.load_markets()
        return await self._market_data.market(symbol)

    async def fetch_ticker(self, symbol: str, params: Params = None) -> Ticker:
        """The venue's ticker (from the recorded session when there is one)."""
        await self._ready()
        return await self._market_data.fetch_ticker(symbol, params)

    async def fetch_tickers(
        self, symbols: Iterable[str] | None = None, params: Params = None
    ) -> dict[str, Ticker]:
        """The venue's tickers; a recorded session answers its own market's (the default)."""
        self.capabilities().require_method(Method.FETCH_TICKERS)
        await self._ready()
        if self._session is None:
            return await self._market_data.fetch_tickers(symbols, params)
        wanted = filter(None, [self._session.symbol]) if symbols is None else parse_symbols(symbols)
        return {t.symbol: t for t in [await self.fetch_ticker(s, params) for s in wanted]}

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: Params = None
    ) -> OrderBook:
        """The venue's order book (from the recorded session when there is one)."""
        await self._ready()
        return await self._market_data.fetch_order_book(symbol, limit, params)

    async def fetch_trades(
        self, symbol: str, since: int | None = None, limit: int | None = None, params: Params = None
    ) -> list[Trade]:
        """The venue's public trades (from the recorded session when there is one)."""
        await self._ready()
        return await self._market_data.fetch_trades(symbol, since, limit, params)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None,
        limit: int | None = None, params: Params = None,
    ) -> list[Candle]:  # fmt: skip
        """The venue's candles (from the recorded session when there is one)."""
        await self._ready()
        return await self._market_data.fetch_ohlcv(symbol, timeframe, since, limit, params)

    async def validate_order(self, request: OrderRequest) -> Market:
        """The live pipeline's checks before sending (capabilities, market rules, client
        order id); returns the market."""
        if isinstance(request, OrderRequest):
            # The capability table first, before any market data is fetched (as live).
            self.capabilities().require(request.type)
            await self._ready()
        return await self._market_data.validate_order(request)

    async def watch_market(self, symbol: str) -> None:
        """Start feeding ``symbol``'s book and trades to the engine; wait for the first book.

        Orders do this themselves; call it early to have the book ready before the first one.
        """
        symbol = (await self.market(symbol)).symbol
        if symbol not in self._feeds:
            loop = asyncio.get_running_loop()
            self._feeds[symbol] = [
                loop.create_task(self._follow(symbol, "order book")),
                loop.create_task(self._follow(symbol, "trades")),
            ]
        deadline = time.monotonic() + BOOK_WAIT_S
        while not self._engine.has_book(symbol):
            self._feed.drain()
            if self._engine.has_book(symbol):
                break
            if time.monotonic() > deadline:
                raise ExchangeUnavailable(
                    f"{self.id}: no order book for {symbol} after {BOOK_WAIT_S:.0f} s; "
                    "paper orders need the market's book"
                )
            if self._clock is None:
                await asyncio.sleep(0.005)
            elif not await self._clock.next_change():  # checked after every frame
                raise ExchangeUnavailable(f"{self.id}: the session ended before a {symbol} book")

    async def _follow(self, symbol: str, what: str) -> None:
        """Keep one subscription alive; the data itself reaches the engine through the taps."""
        watch = self._client.watch_order_book if what == "order book" else self._client.watch_trades
        failures = 0
        while True:
            try:
                await watch(symbol)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                wait = min(5.0, 0.1 * 2 ** min(failures, 6))
                level = logging.WARNING if failures in (1, 10) else logging.DEBUG
                log.log(level, "%s %s %s stream: %s: %s; resubscribing in %.1fs",
                        self.id, symbol, what, type(exc).__name__, exc, wait)  # fmt: skip
                await asyncio.sleep(wait)
            # A Bitstamp snapshot lands outside a message (ccxt fetches it over REST).
            self._feed.after_message()

    # -- orders ---------------------------------------------------------------------------------

    def _now(self) -> int:
        if self._session is not None and self._feed.market_time is not None:
            # A replay runs on the recording's clock so that its results are reproducible.
            return self._feed.market_time
        return int(time.time() * 1000)

    async def create_order(self, *args: Any, **kwargs: Any) -> Order:
        """Place a simulated order through the live pipeline's checks (an :class:`OrderRequest`
        or ccxt's arguments; params left to pass through have no venue here and are ignored).

        Raises what live raises before sending (:class:`UnsupportedOrderType`,
        :class:`UnknownSymbol`, :class:`InvalidOrderRequest`), :class:`InsufficientFunds`
        when the account cannot fund it (nothing changes), and :class:`OrderRejected` for a
        LIMIT_MAKER that would cross (the rejected order is kept in the ledger)."""
        self._check_usable()
        venue_params, new_id = self._venue.order_params, self.new_client_order_id
        request, _ = create_order_args(self.id, args, kwargs, venue_params, new_id)
        market = await self.validate_order(request)
        # The market's own spelling from here on ("eth/usd" is ETH/USD).
        request = request.model_copy(update={"symbol": market.symbol})
        await self.watch_market(request.symbol)
        self._feed.drain()
        event = PlaceOrder(
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            amount=request.amount,
            price=request.price,
            timestamp=self._now(),
            client_order_id=request.client_order_id,
        )
        mark = self._market_mark(request.symbol)
        result = self._engine.place(event)
        self._commit(result)
        self._check_usable()
        state = result.orders[0]
        if state.status is OrderStatus.REJECTED:
            raise OrderRejected(f"{self.id}: order {state.id} rejected: {state.reason}")
        return order_from_state(state, mark)

    async def cancel_order(self, order_id: str, symbol: str, params: Params = None) -> Order:
        """Cancel a simulated order; a finished one is returned in its final state."""
        self._check_usable()
        order_id, symbol = parse_order_id(order_id), (await self.market(symbol)).symbol
        self._feed.drain()
        mark = self._market_mark(symbol)
        try:
            result = self._engine.cancel(CancelOrder(order_id, self._now()))
        except OrderNotFound:
            saved = self._ledger.order(order_id)
            if saved is None or saved.symbol != symbol:
                raise OrderNotFound(f"{self.id}: no paper order {order_id} on {symbol}") from None
            if saved.status.is_final:
                return order_from_state(saved)
            raise
        self._commit(result)
        self._check_usable()
        return order_from_state(result.orders[0], mark)

    async def cancel_all_orders(self, symbol: str | None, params: Params = None) -> list[Order]:
        """Cancel every open simulated order in ``symbol`` (``None``: every market)."""
        self.capabilities().require_method(Method.CANCEL_ALL_ORDERS)
        symbol = await self._settled(symbol, None, None)
        still_open = self._engine.orders(open_only=True, symbol=symbol)
        return [await self.cancel_order(o.id, o.symbol) for o in still_open]

    async def _settled(self, symbol: str | None, since: Any, limit: Any) -> str | None:
        """The window checked, ready, market events applied; ``symbol`` in the market's spelling."""
        parse_window(since, limit)
        if symbol is not None:
            symbol = (await self.market(symbol)).symbol
        else:
            await self._ready()
        self._feed.drain()
        return symbol

    def _market_mark(self, symbol: str) -> dict[str, Any]:
        """Which market data the engine had applied: the book's nonce and the last trade id.

        Put in the ``info`` of the order returned by :meth:`create_order` and
        :meth:`cancel_order`, so a run can be checked against its recording afterwards.
        """
        book = self._client.orderbooks.get(symbol) if self._client.orderbooks else None
        trades = self._client.trades.get(symbol) if self._client.trades else None
        last = trades[-1] if trades else None
        return {
            "book_nonce": None if book is None else book.get("nonce"),
            "last_trade_id": None if last is None else last.get("id"),
        }

    async def fetch_order(self, order_id: str, symbol: str, params: Params = None) -> Order:
        """One simulated order by id, open or finished."""
        order_id, symbol = parse_order_id(order_id), (await self.market(symbol)).symbol
        self._feed.drain()
        saved = self._ledger.order(order_id)
        if saved is None or saved.symbol != symbol:
            raise OrderNotFound(f"{self.id}: no paper order {order_id} on {symbol}")
        return order_from_state(saved)

    async def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Order:
        """The simulated order placed with ``client_order_id``."""
        symbol = (await self.market(symbol)).symbol
        self._feed.drain()
        saved = self._ledger.order_by_client_id(client_order_id)
        if saved is None or saved.symbol != symbol:
            raise OrderNotFound(
                f"{self.id}: no paper order with client order id {client_order_id!r}"
            )
        return order_from_state(saved)

    async def fetch_open_orders(
        self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:  # fmt: skip
        """Open simulated orders, for one symbol or all."""
        symbol = await self._settled(symbol, since, limit)
        orders = [order_from_state(o) for o in self._engine.orders(open_only=True, symbol=symbol)]
        return in_window(orders, since, limit)

    async def fetch_closed_orders(
        self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:  # fmt: skip
        """Finished simulated orders, oldest first; refused where the venue has no history."""
        self.capabilities().require_method(Method.FETCH_CLOSED_ORDERS)
        symbol = await self._settled(symbol, since, limit)
        saved = [o for o in self._ledger.orders(symbol=symbol) if o.status.is_final]
        return in_window([order_from_state(o) for o in saved], since, limit)

    async def fetch_orders(
        self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:  # fmt: skip
        """Every simulated order; refused as live refuses it (neither venue offers it)."""
        self.capabilities().require_method(Method.FETCH_ORDERS)
        symbol = await self._settled(symbol, since, limit)
        saved = self._ledger.orders(symbol=symbol)
        return in_window([order_from_state(o) for o in saved], since, limit)

    async def fetch_my_trades(
        self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
        params: Params = None,
    ) -> list[Fill]:  # fmt: skip
        """The simulated fills, oldest first."""
        symbol = await self._settled(symbol, since, limit)
        return [fill_from_record(f) for f in self._ledger.fills(symbol, since=since, limit=limit)]

    async def fetch_balance(self, params: Params = None) -> Balances:
        """The paper account's balances: ``used`` is what open orders lock."""
        await self._ready()
        self._feed.drain()
        return balances_from_states(self._engine.balances().values())

    async def fetch_trading_fee(self, symbol: str, params: Params = None) -> TradingFee:
        """The maker/taker fractions the paper account is charged on ``symbol``."""
        symbol = (await self.market(symbol)).symbol
        spec = self._engine.market(symbol)
        return TradingFee(symbol=symbol, maker=spec.maker_fee, taker=spec.taker_fee)

    # -- account --------------------------------------------------------------------------------

    async def fund(self, currency: str, amount: Number) -> Balance:
        """Set ``currency``'s total to ``amount`` (it cannot go below what orders lock)."""
        cur, total = parse_currency(currency), parse_decimal(amount, "amount", sign="non-negative")
        await self._ready()
        self._check_usable()
        check_traded([cur], self._currencies.union(self._engine.balances()), self.id)
        # The ledger first: if it cannot write, the engine has not moved either.
        self._ledger.fund(cur, total)
        state = self._engine.deposit(cur, total - self._engine.balance(cur).total)
        return balance_from_state(state)

    async def deposit(self, currency: str, amount: Number) -> Balance:
        """Add ``amount`` (negative takes out, down to the free balance) to ``currency``."""
        cur, change = parse_currency(currency), parse_decimal(amount, "amount", sign="any")
        await self._ready()
        self._check_usable()
        check_traded([cur], self._currencies.union(self._engine.balances()), self.id)
        self._ledger.deposit(cur, change)
        state = self._engine.deposit(cur, change)
        return balance_from_state(state)

    async def reset(self) -> None:
        """Start the account over: no orders, fills or balances (the ledger too)."""
        await self._ready()
        self._feed.drain()
        self._ledger.reset()
        self._restore()

    def export_fills_csv(self, target: str | os.PathLike[str]) -> int:
        """Write every fill of the account as CSV; returns the number of fills."""
        return self._ledger.export_fills_csv(Path(target))

    # -- streams --------------------------------------------------------------------------------

    async def watch_order_book(
        self, symbol: str, limit: int | None = None, *, depth: int | None = None
    ) -> AsyncIterator[OrderBook]:
        """The live stream of :meth:`Exchange.watch_order_book`; the market also feeds the
        paper engine (and, for a recorded session, both channels start together)."""
        await self.watch_market(symbol)
        books = self._market_data.watch_order_book(symbol, limit, depth=depth)
        async for book in read_stream(books, self._clock):
            yield book

    async def watch_trades(self, symbol: str) -> AsyncIterator[Trade]:
        """The live stream of :meth:`Exchange.watch_trades`; the market also feeds the engine."""
        await self.watch_market(symbol)
        async for trade in read_stream(self._market_data.watch_trades(symbol), self._clock):
            yield trade

    def watch_ticker(self, symbol: str) -> AsyncIterator[Ticker]:
        """The live stream of :meth:`Exchange.watch_ticker` (market data only)."""
        return self._when_ready(self._market_data.watch_ticker(symbol))

    def watch_candles(self, symbol: str, timeframe: str = "1m") -> AsyncIterator[Candle]:
        """The live stream of :meth:`Exchange.watch_candles` (market data only)."""
        return self._when_ready(self._market_data.watch_candles(symbol, timeframe))

    #: ccxt's name for :meth:`watch_candles`.
    watch_ohlcv = watch_candles

    async def _when_ready(self, stream: AsyncIterator[T]) -> AsyncIterator[T]:
        # The stream was made (and its arguments checked) by the caller; it starts once the
        # market-data source is ready (a recorded session points the client at its server).
        try:
            await self._ready()
            async for item in read_stream(stream, self._clock):
                yield item
        finally:
            await _aclose(stream)

    async def watch_balance(self) -> AsyncIterator[Balances]:
        """The paper account's balances each time an order or fill changes them."""
        queue: asyncio.Queue[Balances] = asyncio.Queue()
        self._balance_watchers.append(queue)
        try:
            async for item in read_queue(queue, self._clock):
                yield item
        finally:
            self._balance_watchers.remove(queue)

    async def watch_orders(self, symbol: str | None = None) -> AsyncIterator[Order]:
        """Every change to a simulated order (placement, fill, cancel), as it happens."""
        symbol = await self._settled(symbol, None, None)  # "eth/usd" watches ETH/USD
        queue: asyncio.Queue[Order] = asyncio.Queue()
        entry = (symbol, queue)
        self._order_watchers.append(entry)
        try:
            async for item in read_queue(queue, self._clock):
                yield item
        finally:
            self._order_watchers.remove(entry)

    async def watch_my_trades(self, symbol: str | None = None) -> AsyncIterator[Fill]:
        """Every simulated fill, as it happens."""
        symbol = await self._settled(symbol, None, None)  # "eth/usd" watches ETH/USD
        queue: asyncio.Queue[Fill] = asyncio.Queue()
        entry = (symbol, queue)
        self._fill_watchers.append(entry)
        try:
            async for item in read_queue(queue, self._clock):
                yield item
        finally:
            self._fill_watchers.remove(entry)

    # -- the one place results land -------------------------------------------------------------

    def _commit(self, result: EngineResult) -> None:
        """Write one event's result to the ledger (one transaction) and tell the watchers."""
        if not result:
            return
        if self._failure is not None:
            return
        try:
            self._ledger.record(result, self._engine.counters)
        except Exception as exc:
            # The engine has moved past its ledger: stop rather than trade on unrecorded state.
            self._failure = exc
            log.error("%s: ledger write failed: %r; the paper account stops", self.id, exc)
            return
        if self._order_watchers:
            for state in result.orders:
                order = order_from_state(state)
                for symbol, queue in self._order_watchers:
                    if symbol is None or symbol == order.symbol:
                        queue.put_nowait(order)
        if self._fill_watchers:
            for record in result.fills:
                fill = fill_from_record(record)
                for wanted, fills in self._fill_watchers:
                    if wanted is None or wanted == fill.symbol:
                        fills.put_nowait(fill)
        if self._balance_watchers and result.balances:
            snapshot = balances_from_states(self._engine.balances().values())
            for balances in self._balance_watchers:
                balances.put_nowait(snapshot)
        if result.fills and self._engine.order_count > 2 * _KEEP_CLOSED:
            self._engine.forget_closed_orders()


async def _aclose(stream: AsyncIterator[Any]) -> None:
    """Close a stream the caller stopped reading (rather than leave it to the GC)."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
