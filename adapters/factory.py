"""``open_exchange``: the one way in, for live and paper trading alike.

The exchange id is resolved once here (to its connector card); the live
:class:`~adapters.exchange.Exchange` or the :class:`~adapters.paper.exchange.PaperExchange`
gets the resolved id and the options. Both implement :class:`~adapters.protocol.ExchangeAPI`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, overload

from .capabilities import capabilities
from .credentials import Credentials
from .exchange import Exchange
from .paper.clock import Pace, Speed
from .paper.engine import Number, QueueModel
from .paper.exchange import PaperExchange
from .paper.ledger import Ledger
from .retry import RetryPolicy
from .streams import StreamPolicy

__all__ = ["PaperOptions", "PaperTradeId", "open_exchange"]

#: The paper trading ids; ``open_exchange`` returns a :class:`PaperExchange` for them.
PaperTradeId = Literal["bitstamp_paper_trade", "bitmart_paper_trade"]


@dataclass(frozen=True, slots=True)
class PaperOptions:
    """What only paper trading takes (see :class:`~adapters.paper.exchange.PaperExchange`)."""

    source: str | os.PathLike[str] | None = None
    replay_pace: Pace = None
    speed: Speed | None = None
    ledger: Ledger | str | os.PathLike[str] | None = None
    account: str = "default"
    initial_balances: Mapping[str, Number] | None = None
    maker_fee: Number | None = None
    taker_fee: Number | None = None
    queue: QueueModel | str = QueueModel.CONSERVATIVE

    def given(self) -> list[str]:
        """The names of the options set to something other than their default."""
        return [f.name for f in fields(self) if getattr(self, f.name) != f.default]

    def as_kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments (values as given, not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@overload
def open_exchange(  # type: ignore[overload-overlap]  # a paper id is also a str
    exchange_id: PaperTradeId,
    *,
    credentials: Credentials | None = ...,
    paper: bool = ...,
    env_file: str | os.PathLike[str] | None = ...,
    retry: RetryPolicy | None = ...,
    streams: StreamPolicy | None = ...,
    timeout_ms: int = ...,
    config: Mapping[str, Any] | None = ...,
    client_order_id_prefix: str = ...,
    source: str | os.PathLike[str] | None = ...,
    replay_pace: Pace = ...,
    speed: Speed | None = ...,
    ledger: Ledger | str | os.PathLike[str] | None = ...,
    account: str = ...,
    initial_balances: Mapping[str, Number] | None = ...,
    maker_fee: Number | None = ...,
    taker_fee: Number | None = ...,
    queue: QueueModel | str = ...,
) -> PaperExchange: ...


@overload
def open_exchange(
    exchange_id: str,
    *,
    credentials: Credentials | None = ...,
    paper: Literal[True],
    env_file: str | os.PathLike[str] | None = ...,
    retry: RetryPolicy | None = ...,
    streams: StreamPolicy | None = ...,
    timeout_ms: int = ...,
    config: Mapping[str, Any] | None = ...,
    client_order_id_prefix: str = ...,
    source: str | os.PathLike[str] | None = ...,
    replay_pace: Pace = ...,
    speed: Speed | None = ...,
    ledger: Ledger | str | os.PathLike[str] | None = ...,
    account: str = ...,
    initial_balances: Mapping[str, Number] | None = ...,
    maker_fee: Number | None = ...,
    taker_fee: Number | None = ...,
    queue: QueueModel | str = ...,
) -> PaperExchange: ...


@overload
def open_exchange(
    exchange_id: str,
    *,
    credentials: Credentials | None = ...,
    paper: Literal[False] = ...,
    env_file: str | os.PathLike[str] | None = ...,
    retry: RetryPolicy | None = ...,
    streams: StreamPolicy | None = ...,
    timeout_ms: int = ...,
    config: Mapping[str, Any] | None = ...,
    client_order_id_prefix: str = ...,
) -> Exchange: ...


@overload
def open_exchange(
    exchange_id: str,
    *,
    credentials: Credentials | None = ...,
    paper: bool,
    env_file: str | os.PathLike[str] | None = ...,
    retry: RetryPolicy | None = ...,
    streams: StreamPolicy | None = ...,
    timeout_ms: int = ...,
    config: Mapping[str, Any] | None = ...,
    client_order_id_prefix: str = ...,
    source: str | os.PathLike[str] | None = ...,
    replay_pace: Pace = ...,
    speed: Speed | None = ...,
    ledger: Ledger | str | os.PathLike[str] | None = ...,
    account: str = ...,
    initial_balances: Mapping[str, Number] | None = ...,
    maker_fee: Number | None = ...,
    taker_fee: Number | None = ...,
    queue: QueueModel | str = ...,
) -> Exchange | PaperExchange: ...


def open_exchange(
    exchange_id: str,
    *,
    credentials: Credentials | None = None,
    paper: bool = False,
    env_file: str | os.PathLike[str] | None = None,
    retry: RetryPolicy | None = None,
    streams: StreamPolicy | None = None,
    timeout_ms: int = 10_000,
    config: Mapping[str, Any] | None = None,
    client_order_id_prefix: str = "",
    source: str | os.PathLike[str] | None = None,
    replay_pace: Pace = None,
    speed: Speed | None = None,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    account: str = "default",
    initial_balances: Mapping[str, Number] | None = None,
    maker_fee: Number | None = None,
    taker_fee: Number | None = None,
    queue: QueueModel | str = QueueModel.CONSERVATIVE,
) -> Exchange | PaperExchange:
    """Open a typed adapter for ``exchange_id`` (``bitstamp``, ``bitmart`` or ``*_paper_trade``).

    Use it as an async context manager so the connection is closed::

        async with open_exchange("bitstamp") as ex:
            ticker = await ex.fetch_ticker("BTC/USD")

    Credentials come from ``credentials``, else the environment, else ``env_file``
    (default ``./.env``). Public calls need none. ``retry`` and ``streams`` are the REST
    retry and the stream reconnect/watchdog policies.

    ``paper=True`` (or a ``*_paper_trade`` id) returns a
    :class:`~adapters.paper.exchange.PaperExchange`: the same interface with simulated
    orders, needing no keys. Only paper trading takes ``source`` (a recorded session to
    replay instead of the live public feed) and ``replay_pace`` or ``speed``,
    ``ledger``/``account``, ``initial_balances``, ``maker_fee``/``taker_fee`` and ``queue``;
    see ``PaperExchange``.
    """
    caps = capabilities(exchange_id)
    options = PaperOptions(
        source=source,
        replay_pace=replay_pace,
        speed=speed,
        ledger=ledger,
        account=account,
        initial_balances=initial_balances,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        queue=queue,
    )
    if paper or caps.paper:
        return PaperExchange(
            caps,
            **options.as_kwargs(),
            retry=retry,
            streams=streams,
            timeout_ms=timeout_ms,
            config=config,
            client_order_id_prefix=client_order_id_prefix,
        )
    given = options.given()
    if given:
        raise TypeError(
            f"{', '.join(given)}: paper trading options; pass paper=True or use "
            f"{caps.paper_trade_id}"
        )
    return Exchange(
        caps,
        credentials=credentials,
        env_file=env_file,
        retry=retry,
        streams=streams,
        timeout_ms=timeout_ms,
        config=config,
        client_order_id_prefix=client_order_id_prefix,
    )
