"""``Exchange``: the typed adapter over one ccxt.pro client (open it with
:func:`adapters.factory.open_exchange`).

All order placement goes through one pipeline (:meth:`Exchange.create_order`): the request
model validates itself, then the capability table, the market rules, the venue translation
and the client order id, and only then the ccxt call. Anything that fails before the ccxt
call raises a typed error and sends nothing. Answers become models through
:mod:`adapters.convert`; streams run in :mod:`adapters.streams`.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from decimal import Decimal
from functools import partial
from types import TracebackType
from typing import Any, TypeVar, overload

from . import streams
from .capabilities import Capabilities, capabilities
from .ccxt_args import book_depth, cancel_params, create_order_args, params_dict
from .convert import (
    candle_from_ccxt,
    check_client_order_id_echo,
    checked_balances,
    market_from_ccxt,
    order_from_ccxt,
    priced,
    read_answer,
    same_order,
    ticker_from_ccxt,
    trade_from_ccxt,
    trading_fee_from_ccxt,
)
from .credentials import Credentials, resolve_credentials
from .enums import OrderStatus, OrderType, Side
from .errors import (
    AdapterError,
    AuthenticationFailed,
    ClockSkew,
    ExchangeClosed,
    ExchangeUnavailable,
    InvalidOrderRequest,
    OrderNotFound,
    OrderOutcomeUnknown,
    OrderRejected,
    RateLimited,
    UnknownSymbol,
    from_ccxt,
)
from .inputs import parse_count, parse_order_id, parse_symbol, parse_window
from .lists import ListCalls
from .models import (
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
from .protocol import Params
from .redact import redact_client
from .retry import RetryPolicy, never_sent, outcome_unknown, parse_retry_after
from .rules import check_market_rules
from .streams import StreamPolicy, Watch
from .venues import Venue, get_venue

__all__ = ["Exchange"]

log = logging.getLogger("adapters")
T = TypeVar("T")


class Exchange(ListCalls):
    """Typed access to one exchange. Use through :func:`open_exchange`."""

    def __init__(
        self,
        exchange_id: str | Capabilities,
        *,
        credentials: Credentials | None = None,
        env_file: str | os.PathLike[str] | None = None,
        retry: RetryPolicy | None = None,
        streams: StreamPolicy | None = None,
        timeout_ms: int = 10_000,
        config: Mapping[str, Any] | None = None,
        client_order_id_prefix: str = "",
        client_class: type[Any] | None = None,
    ) -> None:
        """See :func:`adapters.open_exchange`. ``client_class`` replaces the venue's ccxt.pro
        class (the paper exchange passes the same class with its market-data taps)."""
        self._caps = capabilities(exchange_id)  # resolved once; the card is passed on
        self._venue: Venue = get_venue(self._caps)
        # Checked now (alphanumeric, leaves room for uniqueness) so a bad prefix fails at
        # open time, not on the first order.
        self._venue.new_client_order_id(client_order_id_prefix)
        self._client_order_id_prefix = client_order_id_prefix
        self._credentials = resolve_credentials(self._caps, credentials, env_file, config)
        self.retry = retry or RetryPolicy()
        #: Reconnect, backoff and watchdog settings of this exchange's streams; None means
        #: ``StreamPolicy()``. Read when a stream starts.
        self.stream_policy: StreamPolicy | None = streams
        log.debug(
            "%s: timeout %d ms; retry policy: %s; client order id prefix %r",
            self._caps.id, timeout_ms, self.retry.describe(), client_order_id_prefix,
        )  # fmt: skip
        secrets = self._credentials.ccxt_config(self._caps)
        client_config: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            **secrets,
            **(config or {}),
        }
        self._client: Any = (client_class or self._venue.client_class())(client_config)
        # ccxt logs each request's headers (the API key among them) at DEBUG, and prints them
        # (and every frame) with ``verbose``.
        redact_client(self._client, session=lambda: self._venue.session_secrets(self._client))
        self._markets: dict[str, Market] | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Exchange:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the ccxt client's HTTP session and WebSocket connections; later calls raise
        :class:`~adapters.errors.ExchangeClosed` (ccxt would quietly open a new session)."""
        self._closed = True
        await self._client.close()

    def __repr__(self) -> str:
        return f"<Exchange {self._caps.id}>"

    @property
    def id(self) -> str:
        """The exchange id."""
        return self._caps.id

    @property
    def client(self) -> Any:
        """The underlying ccxt.pro client (for what this adapter does not cover)."""
        return self._client

    @property
    def venue(self) -> Venue:
        """The venue module's facts and translations."""
        return self._venue

    def capabilities(self) -> Capabilities:
        """This exchange's connector card."""
        return self._caps

    def require_credentials(self) -> None:
        """Raise :class:`MissingCredentials` unless this exchange holds API keys (checked
        before any private call or stream sends anything)."""
        self._credentials.require(self._caps)

    # -- plumbing --------------------------------------------------------------------------

    def _error(self, exc: BaseException, client_order_id: str | None = None) -> AdapterError:
        return from_ccxt(
            exc,
            exchange=self._caps.id,
            classify=self._venue.classify_error,
            client_order_id=client_order_id,
        )

    async def _once(
        self, call: Callable[[], Awaitable[T]], *, client_order_id: str | None = None
    ) -> T:
        """One venue call with its errors mapped to the adapter's tree.

        A clock or nonce refusal (:class:`ClockSkew`) re-syncs the client's time offset
        once and sends the call once more. The venue refused the first request outright,
        so even an order cannot be placed twice this way.
        """
        try:
            return await self._call(call, client_order_id)
        except ClockSkew as exc:
            await self._resync_clock(exc)
        return await self._call(call, client_order_id)

    async def _call(self, call: Callable[[], Awaitable[T]], client_order_id: str | None) -> T:
        if self._closed:
            raise ExchangeClosed(f"this {self._caps.id} exchange was closed; open a new one")
        try:
            return await call()
        except AdapterError:
            raise
        except Exception as exc:
            err = self._error(exc, client_order_id)
            if isinstance(err, RateLimited) and err.retry_after is None:
                # ccxt keeps no headers on its exceptions; the client holds the last ones.
                headers = getattr(self._client, "last_response_headers", None)
                err.retry_after = parse_retry_after(headers)
            raise err from exc

    async def _resync_clock(self, refusal: ClockSkew) -> None:
        try:
            offset = await self._venue.resync_clock(self._client)
        except Exception as exc:  # the one retry still carries a fresh nonce and timestamp
            log.warning("%s refused the request time (%s); clock re-sync failed: %s",
                        self._caps.id, refusal, type(exc).__name__)  # fmt: skip
            return
        if offset is None:
            log.warning("%s refused the request time (%s); no venue clock to re-sync from",
                        self._caps.id, refusal)  # fmt: skip
        else:
            log.warning("%s refused the request time (%s); the local clock is %+d ms off "
                        "the venue's, now compensated", self._caps.id, refusal, offset)  # fmt: skip

    def _parse(self, what: str, convert: Callable[[], T]) -> T:
        return read_answer(self._caps.id, what, convert)

    def _read(
        self, what: str, call: Callable[[], Awaitable[T]], *, private: bool = False
    ) -> Coroutine[Any, Any, T]:
        """An idempotent call: credentials checked, transient errors retried (no own frame)."""
        if private:
            self._credentials.require(self._caps)
        log.debug("%s %s", self._caps.id, what)
        return self.retry.run(
            lambda: self._once(call),
            what=f"{self._caps.id} {what}",
            try_timeout=self._client.timeout / 1000,
        )

    # -- markets ---------------------------------------------------------------------------

    async def load_markets(self, reload: bool = False) -> dict[str, Market]:
        """All spot markets by unified symbol (``BTC/USD``); cached after the first call."""
        if self._markets is None or reload:
            raw = await self._read("load_markets", lambda: self._client.load_markets(reload))

            def spot_markets() -> dict[str, Market]:
                markets = {
                    symbol: market_from_ccxt(m)
                    for symbol, m in raw.items()
                    if m.get("spot", m.get("type") == "spot")
                }
                if not markets:  # a venue without markets is an answer that lost its content
                    raise ValueError("the venue listed no spot markets")
                return markets

            self._markets = self._parse("load_markets", spot_markets)
        return self._markets

    async def market(self, symbol: str) -> Market:
        """One market, in any case (``"eth/usd"`` finds ETH/USD; its ``symbol`` is the
        spelling to send). Raises :class:`InvalidInput` for what is no symbol at all (None, a
        number) and :class:`UnknownSymbol` with close matches."""
        if self._markets is not None and type(symbol) is str and symbol in self._markets:
            return self._markets[symbol]  # a key is a symbol: nothing for parse_symbol to refuse
        parse_symbol(symbol)
        markets = await self.load_markets()
        found = markets.get(symbol) or markets.get(symbol.upper())
        if found is None:
            close = difflib.get_close_matches(symbol.upper(), list(markets), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownSymbol(
                f"{self._caps.id} has no market {symbol!r}{hint}", suggestions=close
            )
        return found

    # -- public market data ----------------------------------------------------------------

    async def fetch_ticker(self, symbol: str, params: Params = None) -> Ticker:
        """Best bid/ask, last price and 24h statistics."""
        symbol, kw = (await self.market(symbol)).symbol, params_dict(params)
        t = await self._read(
            f"fetch_ticker {symbol}", lambda: self._client.fetch_ticker(symbol, kw)
        )
        return self._parse("fetch_ticker", lambda: priced(ticker_from_ccxt(t)))

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: Params = None
    ) -> OrderBook:
        """An order book snapshot, best levels first (at most ``limit`` a side).

        ``limit`` is a whole number from 1 to the venue's maximum (BitMart 50; Bitstamp
        sends no limit, the book is cut here); anything else raises :class:`InvalidInput`
        before any request.
        """
        if limit is not None:
            limit = parse_count(limit, "limit", maximum=self._venue.book_limit_max)
        symbol, kw = (await self.market(symbol)).symbol, params_dict(params)
        book = await self._read(
            f"fetch_order_book {symbol}", lambda: self._client.fetch_order_book(symbol, limit, kw)
        )
        return self._parse("fetch_order_book", lambda: OrderBook.from_ccxt(book, limit))

    async def fetch_trades(
        self, symbol: str, since: int | None = None, limit: int | None = None, params: Params = None
    ) -> list[Trade]:
        """Recent public trades, oldest first."""
        since, limit = parse_window(since, limit)
        symbol, extra = (await self.market(symbol)).symbol, params_dict(params)
        raw = await self._read(
            f"fetch_trades {symbol}", lambda: self._client.fetch_trades(symbol, since, limit, extra)
        )
        return self._parse("fetch_trades", lambda: [trade_from_ccxt(t) for t in raw])

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None,
        limit: int | None = None, params: Params = None,
    ) -> list[Candle]:  # fmt: skip
        """Candles, oldest first. ``timeframe`` is ccxt's (``1m``, ``1h``, ``1d``...)."""
        since, limit = parse_window(since, limit)
        symbol = (await self.market(symbol)).symbol
        timeframes = self._client.timeframes or {}
        if timeframe not in timeframes:
            raise InvalidOrderRequest(
                f"{self._caps.id} has no {timeframe!r} candles; use one of {', '.join(timeframes)}"
            )
        raw = await self._read(
            f"fetch_ohlcv {symbol} {timeframe}",
            lambda: self._client.fetch_ohlcv(symbol, timeframe, since, limit, params_dict(params)),
        )
        return self._parse(
            "fetch_ohlcv", lambda: [candle_from_ccxt(symbol, timeframe, row) for row in raw]
        )

    # -- private reads ---------------------------------------------------------------------

    async def fetch_balance(self, params: Params = None) -> Balances:
        """Free, used and total balance per currency."""
        raw = await self._read(
            "fetch_balance", lambda: self._client.fetch_balance(params_dict(params)), private=True
        )
        return self._parse("fetch_balance", lambda: checked_balances(raw))

    async def fetch_trading_fee(self, symbol: str, params: Params = None) -> TradingFee:
        """The account's maker/taker fee for ``symbol``, as fractions (0.0015 = 0.15%)."""
        # Credentials before the market list: without keys, no request at all.
        self.require_credentials()
        symbol = (await self.market(symbol)).symbol
        raw = await self._read(
            f"fetch_trading_fee {symbol}",
            lambda: self._client.fetch_trading_fee(symbol, params_dict(params)),
            private=True,
        )
        scale = self._venue.fee_scale
        return self._parse("fetch_trading_fee", lambda: trading_fee_from_ccxt(symbol, raw, scale))

    async def fetch_order(self, order_id: str, symbol: str, params: Params = None) -> Order:
        """One order by the venue's id."""
        self.require_credentials()
        order_id, symbol = parse_order_id(order_id), (await self.market(symbol)).symbol
        raw = await self._read(
            f"fetch_order {order_id}",
            lambda: self._client.fetch_order(order_id, symbol, params_dict(params)),
            private=True,
        )
        return self._parse(
            "fetch_order",
            lambda: order_from_ccxt(raw, symbol=symbol, default_status=None, venue=self._venue),
        )

    # -- orders ----------------------------------------------------------------------------

    def new_client_order_id(self) -> str:
        """A fresh client order id within this venue's limits that starts with the
        ``client_order_id_prefix`` given to :func:`open_exchange`: pass it as
        ``OrderRequest(..., client_order_id=ex.new_client_order_id())``."""
        return self._venue.new_client_order_id(self._client_order_id_prefix)

    async def validate_order(self, request: OrderRequest) -> Market:
        """Run every check of the pipeline that needs no order request on the wire.

        Raises :class:`UnsupportedOrderType`, :class:`MissingCredentials`,
        :class:`UnknownSymbol` or :class:`InvalidOrderRequest` (also for a client order id
        the venue would refuse, or one without this exchange's ``client_order_id_prefix``);
        returns the market.
        """
        if not isinstance(request, OrderRequest):
            raise InvalidOrderRequest(
                f"create_order takes an OrderRequest, got {type(request).__name__}"
            )
        self._caps.require(request.type)
        if not self._caps.paper:
            self._credentials.require(self._caps.id)
        market = await self.market(request.symbol)
        check_market_rules(request, market)
        self._venue.check_client_order_id(request.client_order_id)
        prefix = self._client_order_id_prefix
        if prefix and not request.client_order_id.startswith(prefix):
            raise InvalidOrderRequest(
                f"client_order_id {request.client_order_id!r} lacks this exchange's prefix "
                f"{prefix!r}; build the request with client_order_id=ex.new_client_order_id()"
            )
        return market

    @overload
    async def create_order(self, request: OrderRequest, /) -> Order: ...

    @overload
    async def create_order(
        self, symbol: str, type: str | OrderType, side: str | Side,
        amount: Decimal | float | int | str, price: Decimal | float | int | str | None = None,
        params: Params = None,
    ) -> Order: ...  # fmt: skip

    async def create_order(self, *args: Any, **kwargs: Any) -> Order:
        """Place an order (an :class:`OrderRequest`, or ccxt's arguments made into one by
        :mod:`adapters.ccxt_args`) through the one pipeline; a request that may have reached
        the venue is never sent again.

        Steps: request validation (by the model) -> capability check -> market rules ->
        venue translation -> client order id -> ccxt call -> typed ``Order``.

        The client order id is ``request.client_order_id``, fixed before anything is sent.
        The same request is sent again (at most ``retry.order_attempts`` sends) only when a
        send provably placed nothing: the connection failed before the request was written,
        or the venue answered with a rate limit. After any other failure the order may exist
        (a loaded venue acts late), so the venue is asked for the client order id, with
        backoff, for ``retry.order_lookup_window`` seconds: found, it is returned; else
        :class:`OrderOutcomeUnknown` names it for :meth:`fetch_order_by_client_id`. "Client
        order id already exists" is looked up the same way (:class:`OrderRejected` if it
        names a different order). A cancelled call is reconciled by the same id.
        """
        request, extra = create_order_args(
            self._caps.id, args, kwargs, self._venue.order_params, self.new_client_order_id
        )
        market = await self.validate_order(request)
        # The market's own spelling reaches ccxt ("eth/usd" is sent as ETH/USD).
        request = request.model_copy(update={"symbol": market.symbol})
        ccxt_type, wire = self._venue.order_args(request)
        params = {**extra, **wire}  # the pipeline's own wire fields win
        client_order_id = request.client_order_id
        params["clientOrderId"] = client_order_id
        amount = str(request.amount)
        price = None if request.price is None else str(request.price)
        what = f"{self._caps.id} create_order {client_order_id}"
        log.debug(
            "%s %s %s %s amount=%s price=%s",
            what, request.symbol, request.side.value, ccxt_type, amount, price,
        )  # fmt: skip

        async def send() -> Any:
            # Every send gets its own copy: the same request, the same client order id.
            return await self._client.create_order(
                request.symbol, ccxt_type, request.side.value, amount, price, dict(params)
            )

        try:
            return await self._place(what, send, request)
        except asyncio.CancelledError as exc:
            log.warning("%s: cancelled; the order may be at the venue: reconcile with "
                        "fetch_order_by_client_id(%r)", what, client_order_id)  # fmt: skip
            exc.add_note(f"client_order_id={client_order_id}")  # for a ccxt-shaped call's id
            raise

    async def _place(
        self, what: str, send: Callable[[], Awaitable[Any]], request: OrderRequest
    ) -> Order:
        policy, client_order_id = self.retry, request.client_order_id
        attempt = 0
        while True:
            attempt += 1
            try:
                raw = await self._once(send, client_order_id=client_order_id)
                convert = partial(
                    order_from_ccxt,
                    raw,
                    request=request,
                    client_order_id=client_order_id,
                    venue=self._venue,
                )
                return self._parse("create_order", convert)
            except RateLimited as exc:
                if attempt == policy.order_attempts or (exc.retry_after or 0) > policy.max_time:
                    raise
                wait = policy.backoff(attempt, exc.retry_after)
                log.debug("%s: rate limited, nothing placed; sending again in %.3fs (%d/%d)",
                          what, wait, attempt, policy.order_attempts)  # fmt: skip
            except AdapterError as exc:
                if self._venue.says_duplicate_client_id(exc.__cause__ or exc):
                    log.debug("%s: the venue already has this client order id", what)
                    return await self._await_outcome(request, exc, taken=True)
                if never_sent(exc):
                    if attempt == policy.order_attempts:
                        raise ExchangeUnavailable(
                            f"{self._caps.id}: order {client_order_id} was not placed: "
                            f"{attempt} sends could not connect to the venue (last: "
                            f"{type(exc).__name__}: {exc})",
                            client_order_id=client_order_id,
                        ) from exc
                    wait = policy.backoff(attempt)
                    log.debug("%s: the request never left (%s); sending again in %.3fs "
                              "(%d/%d)", what, type(exc).__name__, wait, attempt,
                              policy.order_attempts)  # fmt: skip
                elif outcome_unknown(exc):
                    log.debug("%s: outcome unknown (%s); asking the venue for up to %gs, "
                              "never sending again", what, type(exc).__name__,
                              policy.order_lookup_window)  # fmt: skip
                    return await self._await_outcome(request, exc)
                else:
                    raise
            await asyncio.sleep(wait)

    async def _await_outcome(
        self, request: OrderRequest, cause: AdapterError, *, taken: bool = False
    ) -> Order:
        """The venue's order under the request's client order id, asked for with backoff
        until ``retry.order_lookup_window`` seconds have passed.

        ``taken``: the venue refused the send because it holds an order under this id (so
        this send placed nothing). Raises :class:`OrderOutcomeUnknown` when the window ends
        without the venue showing the order, or when the venue refuses to be asked.
        """
        policy, client_order_id = self.retry, request.client_order_id
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.order_lookup_window
        if policy.settle:
            await asyncio.sleep(min(policy.settle, policy.order_lookup_window))
        lookups = 0
        last: AdapterError | None = None
        while True:
            lookups += 1
            retry_after: float | None = None
            try:
                found = await self._lookup(request)
            except AuthenticationFailed as exc:  # asking again cannot help
                last = exc
                break
            except AdapterError as exc:
                last = exc
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            else:
                last = None
                if found is not None:
                    order, same = found
                    if same:
                        log.debug("%s create_order %s: the venue has it as %s (lookup %d)",
                                  self._caps.id, client_order_id, order.id, lookups)  # fmt: skip
                        return order
                    other = (
                        f"client order id {client_order_id} already belongs to order "
                        f"{order.id} ({order.side.value} {order.amount} {order.symbol})"
                    )
                    if taken:
                        raise OrderRejected(f"{self._caps.id}: {other}; nothing placed")
                    raise OrderOutcomeUnknown(
                        f"{self._caps.id}: {other}; whether this send placed another order "
                        "under the same id is unknown",
                        client_order_id=client_order_id,
                    ) from cause
                log.debug("%s create_order %s: the venue has no such order (lookup %d)",
                          self._caps.id, client_order_id, lookups)  # fmt: skip
            wait = min(policy.backoff(lookups, retry_after), deadline - loop.time())
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        why = (
            "the venue says an order with this id exists"
            if taken
            else f"the send failed ({type(cause).__name__}) after the request may have "
            "reached the venue"
        )
        seen = (
            "showed no such order"
            if last is None
            else f"could not get an answer (last: {type(last).__name__}: {last})"
        )
        raise OrderOutcomeUnknown(
            f"{self._caps.id}: the outcome of order {client_order_id} is unknown: {why}, and "
            f"{lookups} lookups within {policy.order_lookup_window:g}s {seen}. It was not "
            "sent again (the venue may still act on it); reconcile with "
            f"fetch_order_by_client_id({client_order_id!r}, {request.symbol!r})",
            client_order_id=client_order_id,
        ) from (last or cause)

    async def _lookup(self, request: OrderRequest) -> tuple[Order, bool] | None:
        """One ask for the order under the request's client order id: the order and whether
        it matches the request (a caller-chosen id may name an older, different order), or
        None when the venue says it has none."""
        venue, client, client_order_id = self._venue, self._client, request.client_order_id
        raw = await self._once(
            lambda: venue.fetch_order_by_client_id(client, client_order_id, request.symbol),
            client_order_id=client_order_id,
        )
        if raw is None:
            return None
        check_client_order_id_echo(self._caps.id, raw, client_order_id)
        same = self._parse("order lookup", lambda: same_order(venue.read_order(raw), request))
        order = self._parse(
            "order lookup",
            lambda: order_from_ccxt(
                raw,
                request=request,
                client_order_id=client_order_id,
                default_status=None,
                venue=venue,
            ),
        )
        return order, same

    async def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Order:
        """The order the venue holds under ``client_order_id``.

        This is how to reconcile after :meth:`create_order` raised
        :class:`ExchangeUnavailable` (its ``client_order_id`` names the order). Raises
        :class:`OrderNotFound` when the venue says it has no such order.
        """
        self.require_credentials()
        self._venue.check_client_order_id(client_order_id)
        symbol = (await self.market(symbol)).symbol
        venue, client = self._venue, self._client
        raw = await self._read(
            f"fetch_order_by_client_id {client_order_id}",
            lambda: venue.fetch_order_by_client_id(client, client_order_id, symbol),
            private=True,
        )
        if raw is None:
            raise OrderNotFound(
                f"{self._caps.id} has no order with client order id {client_order_id!r}"
            )
        check_client_order_id_echo(self._caps.id, raw, client_order_id)
        return self._parse(
            "fetch_order_by_client_id",
            lambda: order_from_ccxt(
                raw,
                symbol=symbol,
                client_order_id=client_order_id,
                default_status=None,
                venue=venue,
            ),
        )

    async def cancel_order(self, order_id: str, symbol: str, params: Params = None) -> Order:
        """Cancel an order; returns the order as the venue reports it after the cancel.

        Transient failures are retried (cancelling twice is harmless). When the venue
        refuses because the order is already filled or cancelled, the order is fetched and
        returned in that final state; the venue's error is raised only if the order cannot
        be found or is not final.
        """
        order_id, extra = parse_order_id(order_id), cancel_params(self._caps.id, params)
        self.require_credentials()
        symbol, client = (await self.market(symbol)).symbol, self._client
        try:
            raw = await self.retry.run(
                lambda: self._once(lambda: client.cancel_order(order_id, symbol, extra)),
                what=f"{self._caps.id} cancel_order {order_id}",
            )
        except (OrderNotFound, OrderRejected) as exc:
            final = await self._final_state(order_id, symbol)
            if final is None:
                raise
            log.debug("%s cancel_order %s: %s; already %s", self._caps.id, order_id,
                      type(exc).__name__, final.status.value)  # fmt: skip
            return final
        return self._parse(
            "cancel_order",
            lambda: order_from_ccxt(
                raw, symbol=symbol, default_status=OrderStatus.CANCELED, venue=self._venue
            ),
        )

    async def _final_state(self, order_id: str, symbol: str) -> Order | None:
        try:
            order = await self.fetch_order(order_id, symbol)
        except AdapterError as exc:
            log.debug("%s: order %s not fetched after a refused cancel (%s)", self._caps.id,
                      order_id, type(exc).__name__)  # fmt: skip
            return None
        return order if order.status.is_final else None

    # -- streams (adapters.streams: reconnect, watchdog, typed items) -----------------------

    def watch_order_book(
        self, symbol: str, limit: int | None = None, *, depth: int | None = None
    ) -> AsyncIterator[OrderBook]:
        """``async for book in ex.watch_order_book("BTC/USD")``: a copy of the book each time
        it changes, at most ``limit`` (or ``depth``) levels a side; rebuilt after reconnects."""
        return streams.watch_order_book(self, symbol, book_depth(limit, depth))

    def watch_trades(self, symbol: str) -> Watch[Trade]:
        """Every public trade of ``symbol``, one at a time, oldest first. After a reconnect
        the venue's recent trades fill what was missed as far as they reach back; the
        stream's ``gaps`` (and a log line) say where they did not."""
        return streams.watch_trades(self, symbol)

    def watch_ticker(self, symbol: str) -> AsyncIterator[Ticker]:
        """Tickers as the venue pushes them; raises :class:`UnsupportedFeature` where the
        venue has no ticker channel (Bitstamp)."""
        return streams.watch_ticker(self, symbol)

    def watch_candles(self, symbol: str, timeframe: str = "1m") -> AsyncIterator[Candle]:
        """Candles as they form; the same ``timestamp`` comes again while the candle changes.
        BitMart: kline channel; Bitstamp: ``fetch_ohlcv`` polled on each candle boundary."""
        return streams.watch_candles(self, symbol, timeframe)

    watch_ohlcv = watch_candles  # ccxt's name (one Candle an item, not ccxt's list of rows)

    def watch_orders(self, symbol: str | None = None) -> Watch[Order]:
        """The account's orders each time one changes. Needs credentials (checked before
        anything is sent); Bitstamp needs a ``symbol``. After a reconnect, the open orders
        and the orders delivered before the drop are fetched over REST; each change missed
        comes once, before the live updates resume."""
        return streams.watch_orders(self, symbol)

    def watch_my_trades(self, symbol: str | None = None) -> Watch[Fill]:
        """Each execution of the account's orders, once. Needs credentials; Bitstamp needs
        a ``symbol``. After a reconnect, the fills since the last one delivered are fetched
        over REST and the missed ones come once, oldest first, before the live fills."""
        return streams.watch_my_trades(self, symbol)

    def watch_balance(self) -> AsyncIterator[Balances]:
        """The account's balances each time they change (BitMart). Needs credentials."""
        return streams.watch_balance(self)
