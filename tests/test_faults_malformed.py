"""Malformed venue answers give typed errors, never a KeyError or TypeError from inside.

Each read is answered with the same malformation every time (so a retry cannot paper over
it) and must raise an :class:`AdapterError`. A create whose answer is malformed may still
have placed the order: the adapter must then find that order (once at the venue), or raise
:class:`OrderOutcomeUnknown` carrying the client order id; never place it twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from adapters import (
    AdapterError,
    OrderOutcomeUnknown,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from adapters.exchange import Exchange
from adapters.retry import RetryPolicy

from .fakevenue import MALFORMED, FakeVenue

pytestmark = [pytest.mark.faults, pytest.mark.timeout(60)]

SYMBOL = {"bitstamp": "BTC/USD", "bitmart": "BTC/USDT"}
VENUES = list(SYMBOL)
POLICY = RetryPolicy(attempts=3, max_time=2.0, initial_backoff=0.001, max_backoff=0.005,
                     order_attempts=3, settle=0.0, order_lookup_window=0.1)  # fmt: skip
PERSISTENT = 50  # more answers than any bounded retry (or lookup window) asks for

READS: dict[str, Callable[[Exchange, str, str], Awaitable[Any]]] = {
    "ticker": lambda ex, symbol, oid: ex.fetch_ticker(symbol),
    "book": lambda ex, symbol, oid: ex.fetch_order_book(symbol, 2),
    "balance": lambda ex, symbol, oid: ex.fetch_balance(),
    "query": lambda ex, symbol, oid: ex.fetch_order(oid, symbol),
    "cancel": lambda ex, symbol, oid: ex.cancel_order(oid, symbol),
}


def request(exchange_id: str) -> OrderRequest:
    return OrderRequest(symbol=SYMBOL[exchange_id], side=Side.BUY, type=OrderType.LIMIT,
                        amount=Decimal("0.001"), price=Decimal("20000"))  # fmt: skip


@pytest.mark.parametrize("exchange_id", VENUES)
@pytest.mark.parametrize("kind", MALFORMED)
async def test_malformed_markets_answer_is_a_typed_error(exchange_id: str, kind: str) -> None:
    # ccxt caches Bitstamp's market list, so this runs on a client that has none yet.
    async with FakeVenue(exchange_id) as venue:
        ex = venue.exchange(policy=POLICY)
        venue.script("markets", *[kind] * PERSISTENT)
        try:
            with pytest.raises(AdapterError):
                await ex.load_markets()
            with pytest.raises(AdapterError):
                await ex.fetch_ticker(SYMBOL[exchange_id])
        finally:
            await ex.close()
    assert venue.count("ticker") == 0  # no market list, no symbol check, nothing sent


@pytest.mark.parametrize("exchange_id", VENUES)
@pytest.mark.parametrize("group", list(READS))
@pytest.mark.parametrize("kind", MALFORMED)
async def test_malformed_read_answer_is_a_typed_error(
    exchange_id: str, group: str, kind: str
) -> None:
    symbol = SYMBOL[exchange_id]
    async with FakeVenue(exchange_id) as venue:
        ex = venue.exchange(policy=POLICY)
        try:
            order_id = (await ex.create_order(request(exchange_id))).id
            venue.script(group, *[kind] * PERSISTENT)
            try:
                result = await READS[group](ex, symbol, order_id)
            except AdapterError:
                result = None
        finally:
            await ex.close()
    if result is not None:
        # Only two answers are not errors, both true to the venue's state:
        if group == "cancel":
            # the venue did cancel before garbling its answer; the adapter fetched the
            # final state after ccxt read the answer as "not cancelled".
            assert result.status is OrderStatus.CANCELED and result.id == order_id
            assert venue.orders[0].status == "canceled"
        elif group == "book":
            # ccxt reads a book without "bids"/"asks" as an empty book (a state a market
            # can be in): nothing is made up.
            assert kind == "missing_fields"
            assert result.bids == () and result.asks == ()
        else:
            # Likewise a BitMart wallet that is missing or not a list reads as an empty
            # account.
            assert (exchange_id, group) == ("bitmart", "balance")
            assert kind in ("missing_fields", "wrong_types")
            assert result.assets == {}


@pytest.mark.parametrize("exchange_id", VENUES)
@pytest.mark.parametrize("kind", MALFORMED)
async def test_malformed_create_answer_finds_the_order_once(exchange_id: str, kind: str) -> None:
    async with FakeVenue(exchange_id, unique_client_ids=False) as venue:
        ex = venue.exchange(policy=POLICY)
        venue.script("create", kind)
        try:
            order = await ex.create_order(request(exchange_id))
        finally:
            await ex.close()
    assert [(o.id, o.client_order_id) for o in venue.orders] == [(order.id, order.client_order_id)]
    assert venue.count("create") == 1


@pytest.mark.parametrize("exchange_id", VENUES)
@pytest.mark.parametrize("kind", MALFORMED)
async def test_malformed_create_and_lookups_raise_with_the_client_order_id(
    exchange_id: str, kind: str
) -> None:
    async with FakeVenue(exchange_id, unique_client_ids=False) as venue:
        ex = venue.exchange(policy=POLICY)
        venue.script("create", kind)
        venue.script("query", *[kind] * PERSISTENT)
        try:
            with pytest.raises(OrderOutcomeUnknown) as info:
                await ex.create_order(request(exchange_id))
        finally:
            await ex.close()
    assert [o.client_order_id for o in venue.orders] == [info.value.client_order_id]
    assert venue.count("query") < PERSISTENT
    assert venue.count("create") == 1  # an unreadable lookup is never taken for "not found"
