"""The calls of :class:`~adapters.exchange.Exchange` that answer lists: several markets'
tickers, the account's orders (open, closed, all) and fills, and cancel-all.

A mixin of ``Exchange`` (the class is long enough); its methods use the exchange's one read
path (``_read``: credentials first, transient errors retried) and its one answer check
(``_parse``). The optional ones (:class:`~adapters.capabilities.Method`) raise
:class:`~adapters.errors.UnsupportedFeature` before anything is sent where the venue lacks
them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, Protocol, TypeVar

from .capabilities import Capabilities, Method
from .ccxt_args import cancel_params, params_dict
from .convert import fill_from_ccxt, order_from_ccxt, ticker_from_ccxt
from .enums import OrderStatus
from .inputs import parse_symbols, parse_window
from .models import Fill, Market, Order, Ticker
from .protocol import Params
from .retry import RetryPolicy
from .venues import Venue

__all__ = ["ListCalls"]

T = TypeVar("T")


class _Core(Protocol):
    """What the mixin uses of the exchange it is mixed into."""

    _caps: Capabilities
    _client: Any
    _venue: Venue
    retry: RetryPolicy

    def require_credentials(self) -> None: ...
    async def market(self, symbol: str) -> Market: ...
    def _parse(self, what: str, convert: Callable[[], T]) -> T: ...
    async def _read(
        self, what: str, call: Callable[[], Awaitable[T]], *, private: bool = False
    ) -> T: ...
    async def _once(
        self, call: Callable[[], Awaitable[T]], *, client_order_id: str | None = None
    ) -> T: ...
    async def _orders(
        self, method: str, symbol: str | None, since: int | None, limit: int | None, params: Params
    ) -> list[Order]: ...


class ListCalls:
    """Tickers, order and fill lists, cancel-all (mixed into ``Exchange``)."""

    async def fetch_tickers(
        self: _Core, symbols: Iterable[str] | None = None, params: Params = None
    ) -> dict[str, Ticker]:
        """Tickers of several markets in one request, by symbol (``None``: every ticker the
        venue sends; an empty list: none, and nothing is sent). Unknown symbols raise before
        anything is sent; a market the venue sent no ticker for is absent."""
        self._caps.require_method(Method.FETCH_TICKERS)
        asked = parse_symbols(symbols)
        if asked is not None and not asked:
            return {}  # ccxt would read an empty list as "every market"
        wanted = None
        if asked is not None:
            wanted = list(dict.fromkeys([(await self.market(s)).symbol for s in asked]))
        kw = params_dict(params)
        raw = await self._read("fetch_tickers", lambda: self._client.fetch_tickers(wanted, kw))
        return self._parse(
            "fetch_tickers", lambda: {k: ticker_from_ccxt(t) for k, t in raw.items()}
        )

    async def fetch_open_orders(
        self: _Core,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:
        """Open orders, for one symbol or all."""
        return await self._orders("fetch_open_orders", symbol, since, limit, params)

    async def fetch_closed_orders(
        self: _Core,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:
        """Orders no longer open (filled, cancelled), from the venue's order history;
        :class:`UnsupportedFeature` where it keeps none (Bitstamp), before sending."""
        return await self._orders(Method.FETCH_CLOSED_ORDERS, symbol, since, limit, params)

    async def fetch_orders(
        self: _Core,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]:
        """Open and closed orders in one list. Neither venue offers it (nor does ccxt 4.5.70
        for them): :class:`UnsupportedFeature` before sending."""
        return await self._orders(Method.FETCH_ORDERS, symbol, since, limit, params)

    async def _orders(
        self: _Core,
        method: str,
        symbol: str | None,
        since: int | None,
        limit: int | None,
        params: Params,
    ) -> list[Order]:
        """One of ccxt's order lists; an optional one (a :class:`Method`) is checked first."""
        if isinstance(method, Method):
            self._caps.require_method(method)
        since, limit = parse_window(since, limit)
        self.require_credentials()
        if symbol is not None:
            symbol = (await self.market(symbol)).symbol
        call, kw = getattr(self._client, method), params_dict(params)
        raw = await self._read(method, lambda: call(symbol, since, limit, kw), private=True)
        # An open-orders answer may leave the status out; a history entry may not.
        status = OrderStatus.OPEN if method == "fetch_open_orders" else None
        convert = partial(order_from_ccxt, default_status=status, venue=self._venue)
        return self._parse(method, lambda: [convert(o, symbol=symbol) for o in raw])

    async def fetch_my_trades(
        self: _Core,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Fill]:
        """The account's own executions (fills)."""
        since, limit = parse_window(since, limit)
        self.require_credentials()
        if symbol is not None:
            symbol = (await self.market(symbol)).symbol
        kw = params_dict(params)
        raw = await self._read(
            "fetch_my_trades",
            lambda: self._client.fetch_my_trades(symbol, since, limit, kw),
            private=True,
        )
        return self._parse("fetch_my_trades", lambda: [fill_from_ccxt(t) for t in raw])

    async def cancel_all_orders(
        self: _Core, symbol: str | None, params: Params = None
    ) -> list[Order]:
        """Cancel every open order in ``symbol`` (``None``, said explicitly: in every market).

        Returns the orders the venue reports cancelled: Bitstamp lists them; BitMart's answer
        names none (``{"code": 1000, "data": {}}``), so there the list is empty. A venue
        answer that says not every order was cancelled (Bitstamp ``success: false``) raises
        :class:`~adapters.errors.ExchangeError`. Transient failures are retried (cancelling
        twice is harmless).
        """
        self._caps.require_method(Method.CANCEL_ALL_ORDERS)
        kw = cancel_params(self._caps.id, params)  # a market param would cancel elsewhere
        self.require_credentials()
        if symbol is not None:
            symbol = (await self.market(symbol)).symbol
        client, venue = self._client, self._venue
        raw = await self.retry.run(
            lambda: self._once(lambda: venue.cancel_all_orders(client, symbol, kw)),
            what=f"{self._caps.id} cancel_all_orders {symbol or '(all markets)'}",
        )
        cancelled = partial(
            order_from_ccxt, symbol=symbol, default_status=OrderStatus.CANCELED, venue=self._venue
        )
        # ccxt wraps an answer that names no order as one order without an id.
        return self._parse("cancel_all_orders", lambda: [cancelled(o) for o in raw if o.get("id")])
