"""``ExchangeAPI``: what an exchange offers, live or paper.

:class:`~adapters.exchange.Exchange` and :class:`~adapters.paper.exchange.PaperExchange`
both implement it (structurally: neither inherits from the other). Code that works with
either takes an ``ExchangeAPI``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self, overload

from .capabilities import Capabilities
from .enums import OrderType, Side
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

__all__ = ["ExchangeAPI", "Params"]

#: ccxt's extra request parameters: passed through on reads; screened on creates
#: (see :mod:`adapters.ccxt_args`).
Params = Mapping[str, Any] | None


class ExchangeAPI(Protocol):
    """The typed calls of one exchange (see :class:`~adapters.exchange.Exchange` for each)."""

    @property
    def id(self) -> str: ...
    def capabilities(self) -> Capabilities: ...
    def new_client_order_id(self) -> str: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def close(self) -> None: ...

    # market data (``params``: the venue's own request parameters, passed through to ccxt)
    async def load_markets(self, reload: bool = False) -> dict[str, Market]: ...
    async def market(self, symbol: str) -> Market: ...
    async def fetch_ticker(self, symbol: str, params: Params = None) -> Ticker: ...
    async def fetch_tickers(
        self, symbols: Iterable[str] | None = None, params: Params = None
    ) -> dict[str, Ticker]: ...
    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: Params = None
    ) -> OrderBook: ...
    async def fetch_trades(
        self, symbol: str, since: int | None = None, limit: int | None = None, params: Params = None
    ) -> list[Trade]: ...
    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Candle]: ...

    # account
    async def fetch_balance(self, params: Params = None) -> Balances: ...
    async def fetch_trading_fee(self, symbol: str, params: Params = None) -> TradingFee: ...
    async def fetch_order(self, order_id: str, symbol: str, params: Params = None) -> Order: ...
    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]: ...
    async def fetch_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]: ...
    async def fetch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Order]: ...
    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Params = None,
    ) -> list[Fill]: ...

    # orders: an OrderRequest, or ccxt's (symbol, type, side, amount, price, params)
    async def validate_order(self, request: OrderRequest) -> Market: ...
    @overload
    async def create_order(self, request: OrderRequest, /) -> Order: ...
    @overload
    async def create_order(
        self,
        symbol: str,
        type: str | OrderType,
        side: str | Side,
        amount: Decimal | float | int | str,
        price: Decimal | float | int | str | None = None,
        params: Params = None,
    ) -> Order: ...
    async def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Order: ...
    async def cancel_order(self, order_id: str, symbol: str, params: Params = None) -> Order: ...
    async def cancel_all_orders(self, symbol: str | None, params: Params = None) -> list[Order]: ...

    # streams
    def watch_order_book(
        self, symbol: str, limit: int | None = None, *, depth: int | None = None
    ) -> AsyncIterator[OrderBook]: ...
    def watch_trades(self, symbol: str) -> AsyncIterator[Trade]: ...
    def watch_ticker(self, symbol: str) -> AsyncIterator[Ticker]: ...
    def watch_candles(self, symbol: str, timeframe: str = "1m") -> AsyncIterator[Candle]: ...
    def watch_ohlcv(self, symbol: str, timeframe: str = "1m") -> AsyncIterator[Candle]: ...
    def watch_orders(self, symbol: str | None = None) -> AsyncIterator[Order]: ...
    def watch_my_trades(self, symbol: str | None = None) -> AsyncIterator[Fill]: ...
    def watch_balance(self) -> AsyncIterator[Balances]: ...
