"""Stream settings (:class:`StreamPolicy`, :data:`DEFAULT_SILENCE`) and what a stream needs
of its exchange (:class:`StreamHost`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from ..capabilities import Capabilities, Stream
from ..models import Candle, Fill, Market, Order, Trade
from ..retry import backoff_seconds
from ..venues.base import Venue

__all__ = ["DEFAULT_SILENCE", "StreamHost", "StreamPolicy"]

#: Seconds without a frame after which the watchdog reconnects, per channel. None: no
#: watchdog (an account's orders, fills and balance are often quiet for hours; a dead
#: connection is still found by ccxt's ping/pong keep-alive, about 10 s).
DEFAULT_SILENCE: Mapping[Stream, float | None] = MappingProxyType(
    {
        # Books of listed markets change many times a minute; BitMart pushes every 100 ms.
        Stream.ORDER_BOOK: 30.0,
        # Quiet markets can go minutes without a trade.
        Stream.TRADES: 300.0,
        Stream.TICKER: 60.0,
        Stream.CANDLES: 120.0,
        Stream.ORDERS: None,
        Stream.MY_TRADES: None,
        Stream.BALANCE: None,
    }
)


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """How streams reconnect and when the watchdog trips: ``open_exchange(..., streams=...)``.

    After a failure the first reconnect starts within ``initial_backoff`` seconds (at
    random, so many clients do not reconnect in step); a failed attempt waits
    ``initial_backoff * 2**(n-1)`` (at most ``max_backoff``) plus up to ``jitter`` of that
    at random. ``reconnect_attempts`` attempts or ``reconnect_time`` seconds without data
    raise :class:`ExchangeUnavailable`. A stream reconnects at most ``reconnect_budget``
    times within any ``reconnect_window`` seconds, however well each new connection starts;
    one more raises :class:`ReconnectBudgetExceeded`. ``silence`` overrides
    :data:`DEFAULT_SILENCE` per channel (None disables the watchdog). Bitstamp candles are
    polled ``candle_poll_delay`` seconds after each candle boundary (``candle_poll_interval``
    replaces the candle length as the polling period, for tests). ``close_timeout`` bounds
    the cleanup of a stream.
    """

    reconnect_attempts: int = 8
    reconnect_time: float = 120.0
    # A healthy feed reconnects a few times a day (venue maintenance, a silent channel);
    # 30 within 5 minutes is a connection that keeps failing.
    reconnect_budget: int = 30
    reconnect_window: float = 300.0
    initial_backoff: float = 0.25
    max_backoff: float = 10.0
    jitter: float = 0.5
    silence: Mapping[Stream, float | None] = field(default_factory=dict)
    candle_poll_delay: float = 2.0
    candle_poll_interval: float | None = None
    close_timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.reconnect_attempts < 1:
            raise ValueError("reconnect_attempts must be at least 1")
        if self.reconnect_budget < 1:
            raise ValueError(f"reconnect_budget must be at least 1, got {self.reconnect_budget}")
        if not (math.isfinite(self.reconnect_window) and self.reconnect_window > 0):
            raise ValueError(f"reconnect_window must be > 0 seconds, got {self.reconnect_window}")
        numbers = [self.reconnect_time, self.initial_backoff, self.max_backoff, self.jitter,
                   self.candle_poll_delay, self.close_timeout]  # fmt: skip
        numbers += [v for v in self.silence.values() if v is not None]
        if self.candle_poll_interval is not None:
            numbers.append(self.candle_poll_interval)
        if not all(math.isfinite(n) and n >= 0 for n in numbers):
            raise ValueError("stream policy times must be finite and >= 0")

    def silence_timeout(self, stream: Stream) -> float | None:
        """The watchdog's silence timeout for ``stream`` (None: no watchdog)."""
        if stream in self.silence:
            return self.silence[stream]
        return DEFAULT_SILENCE.get(stream)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed reconnect attempt ``attempt`` (1-based)."""
        return backoff_seconds(attempt, self.initial_backoff, self.max_backoff, self.jitter)


class StreamHost(Protocol):
    """What a stream needs of the exchange it runs on (:class:`adapters.exchange.Exchange`
    provides it; streams never import it, so the exchange can import them)."""

    @property
    def id(self) -> str: ...
    @property
    def client(self) -> Any: ...
    @property
    def venue(self) -> Venue: ...
    @property
    def stream_policy(self) -> StreamPolicy | None: ...
    def capabilities(self) -> Capabilities: ...
    def require_credentials(self) -> None: ...
    async def market(self, symbol: str) -> Market: ...
    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = ..., since: int | None = ..., limit: int | None = ...
    ) -> list[Candle]: ...
    async def fetch_trades(
        self, symbol: str, since: int | None = ..., limit: int | None = ...
    ) -> list[Trade]: ...
    async def fetch_my_trades(
        self, symbol: str | None = ..., since: int | None = ..., limit: int | None = ...
    ) -> list[Fill]: ...
    async def fetch_open_orders(self, symbol: str | None = ...) -> list[Order]: ...
    async def fetch_order(self, order_id: str, symbol: str) -> Order: ...
