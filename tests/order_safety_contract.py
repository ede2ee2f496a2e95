"""The venue contract's order-safety suite: no duplicate order, none lost.

Against the fault-injecting fake venue (tests/fakevenue.py), which speaks each venue's wire
format on 127.0.0.1 and can accept an order and then drop the answer, answer late, act on it
only after the client gave up, answer 5xx or 429. :class:`~tests.venue_contract.VenueContract`
includes it; a venue's test module supplies ``EXCHANGE`` and ``ORDER_SYMBOL``. Every loop
here is bounded by a count, and each test by the retry policy's time bounds and
pytest-timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from adapters import (
    AdapterError,
    AuthenticationFailed,
    ExchangeUnavailable,
    InvalidOrderRequest,
    Order,
    OrderNotFound,
    OrderOutcomeUnknown,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    RateLimited,
    Side,
)
from adapters import exchange as exchange_module
from adapters.retry import RetryPolicy

from .fakevenue import ORDER_FAULTS, FakeVenue

__all__ = ["OrderSafetyContract"]


def report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Write to the terminal even when pytest captures output (the counts are the point)."""
    with capsys.disabled():
        print(f"\n{text}")


#: Lookups for a few tenths of a second: longer than the fake venue's ``late`` (so a late
#: order is still seen), short enough that an unknown outcome costs little test time.
WINDOW = 0.45


async def stop_venue(venue: FakeVenue) -> int:
    """Stop the venue and give the client a moment to see its kept-alive connection closed
    (a send into that socket would hit a reset: an ambiguous failure, rightly not re-sent).
    Returns the port, to start the venue there again."""
    port = int(venue.url.rsplit(":", 1)[1])
    await venue.stop()
    await asyncio.sleep(0.05)
    return port


async def start_later(venue: FakeVenue, port: int, after: float) -> None:
    await asyncio.sleep(after)
    await venue.start(port)


class OrderSafetyContract:
    """Order safety of one venue: subclass with ``EXCHANGE`` and ``ORDER_SYMBOL``."""

    EXCHANGE: ClassVar[str]
    #: A market of the fake venue where 0.001 BTC at 20000 is a valid LIMIT order (above
    #: the minimum order value, on the price grid).
    ORDER_SYMBOL: ClassVar[str]

    @pytest.fixture
    def exchange_id(self) -> str:
        return self.EXCHANGE

    def limit(self, amount: str = "0.001", **kw: Any) -> OrderRequest:
        """A valid LIMIT buy of ``amount`` BTC at 20000 on :attr:`ORDER_SYMBOL`."""
        fields: dict[str, Any] = {
            "symbol": self.ORDER_SYMBOL,
            "side": Side.BUY,
            "type": OrderType.LIMIT,
            "amount": Decimal(amount),
            "price": Decimal("20000"),
        }
        fields.update(kw)
        return OrderRequest(**fields)

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_200_orders_under_random_faults(
        self, exchange_id: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # The venue does NOT refuse a repeated client order id here (Bitstamp promises no such
        # check), so a re-send of a request the venue took shows up as a duplicate order; and it
        # acts late on some creates, after the client's timeout and after a first lookup.
        policy = RetryPolicy(
            attempts=10, max_time=5.0, initial_backoff=0.002, max_backoff=0.02,
            order_attempts=8, settle=0.0, order_lookup_window=WINDOW,
        )  # fmt: skip
        async with FakeVenue(
            exchange_id, seed=20261122, fault_rate=0.3, fault_kinds=ORDER_FAULTS,
            fault_groups=("create", "query"), delay=0.25, late=0.25, unique_client_ids=False,
        ) as venue:  # fmt: skip
            ex = venue.exchange(policy=policy, timeout_ms=150)
            started = time.monotonic()
            placed: list[Order] = []
            unknown: list[str] = []
            try:
                for i in range(200):
                    request = self.limit(f"0.00{100 + i}")
                    try:
                        placed.append(await ex.create_order(request))
                    except OrderOutcomeUnknown as exc:
                        assert exc.client_order_id == request.client_order_id
                        unknown.append(exc.client_order_id)
                elapsed = time.monotonic() - started
                await venue.quiet()  # whatever the venue still sits on lands now
                venue.fault_rate = 0.0
                # The caller reconciles each unknown outcome by the id the error carried.
                reconciled: dict[str, bool] = {}
                for cid in unknown:
                    try:
                        await ex.fetch_order_by_client_id(cid, self.ORDER_SYMBOL)
                        reconciled[cid] = True
                    except OrderNotFound:
                        reconciled[cid] = False
            finally:
                await ex.close()

        at_venue = Counter(o.client_order_id for o in venue.orders)
        duplicates = sum(n - 1 for n in at_venue.values())
        returned = {o.client_order_id: o for o in placed}
        lost = len(set(at_venue) - set(returned) - set(unknown)) + len(
            set(returned) - set(at_venue)
        )
        create_faults = Counter(r.fault for r in venue.requests if r.group == "create" and r.fault)
        lookup_faults = Counter(r.fault for r in venue.requests if r.group == "query" and r.fault)
        report(capsys, f"[{exchange_id}] create_order x200 in {elapsed:.2f}s: returned "
               f"{len(placed)}, unknown outcomes {len(unknown)} (at the venue after all: "
               f"{sum(reconciled.values())}); venue holds {len(venue.orders)}, duplicates "
               f"{duplicates}, lost {lost}; sends {venue.count('create')}, lookups "
               f"{venue.count('query')}; faults on create {dict(sorted(create_faults.items()))}, "
               f"on lookups {dict(sorted(lookup_faults.items()))}")  # fmt: skip

        assert len(placed) + len(unknown) == 200
        assert duplicates == 0
        assert lost == 0
        for order in venue.orders:
            if order.client_order_id in returned:
                assert returned[order.client_order_id].id == order.id
        assert reconciled == {cid: cid in at_venue for cid in unknown}
        assert set(create_faults) == set(ORDER_FAULTS), "every kind of fault was exercised"
        assert unknown, "some outcomes stayed unknown (a 5xx places nothing, says nothing)"

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_the_count_catches_a_re_send_after_a_timeout(
        self, exchange_id: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Guard for the test above: a pipeline that takes a timeout for "never sent" and sends
        again does place a late order twice, so zero duplicates there is the adapter's doing."""
        monkeypatch.setattr(exchange_module, "never_sent", lambda err: True)
        async with FakeVenue(exchange_id, unique_client_ids=False, late=0.3) as venue:
            ex = venue.exchange(timeout_ms=150)
            venue.script("create", "late")
            try:
                order = await ex.create_order(self.limit())
                await venue.quiet()
            finally:
                await ex.close()
        assert [o.client_order_id for o in venue.orders] == [order.client_order_id] * 2

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    @pytest.mark.parametrize("fault", ["drop", "delay", "accept_5xx", "late"])
    async def test_lost_answer_is_looked_up_not_resent(self, exchange_id: str, fault: str) -> None:
        async with FakeVenue(exchange_id, unique_client_ids=False, delay=0.25, late=0.3) as venue:
            ex = venue.exchange(timeout_ms=150)
            venue.script("create", fault)
            request = self.limit()
            try:
                order = await ex.create_order(request)
                await venue.quiet()
            finally:
                await ex.close()
        assert [(o.id, o.client_order_id) for o in venue.orders] == [
            (order.id, request.client_order_id)
        ]
        assert order.status is OrderStatus.OPEN
        assert venue.count("create") == 1
        if fault == "late":
            # The first lookups come before the venue acts: "no such order" is not a licence to
            # send again; the later lookup finds it.
            assert venue.count("query") >= 2
        else:
            assert venue.count("query") == 1

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_no_answer_and_no_order_is_unknown_and_never_re_sent(
        self, exchange_id: str
    ) -> None:
        """A 5xx page says nothing about the order: the adapter asks until the window closes,
        then names the order by its client id instead of guessing."""
        policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, settle=0.0,
                             order_lookup_window=0.3)  # fmt: skip
        async with FakeVenue(exchange_id, unique_client_ids=False) as venue:
            ex = venue.exchange(policy=policy)
            await ex.load_markets()
            venue.script("create", "5xx")
            request = self.limit()
            started = time.monotonic()
            try:
                with pytest.raises(OrderOutcomeUnknown) as info:
                    await ex.create_order(request)
            finally:
                await ex.close()
        assert time.monotonic() - started >= 0.3
        assert isinstance(info.value, ExchangeUnavailable)
        assert info.value.client_order_id == request.client_order_id
        assert "fetch_order_by_client_id" in str(info.value)
        assert (venue.count("create"), len(venue.orders)) == (1, 0)
        assert venue.count("query") >= 3

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_request_that_never_left_is_sent_again(
        self, exchange_id: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Connection refused: the request was never written, so sending it again is safe."""
        policy = RetryPolicy(initial_backoff=0.02, max_backoff=0.05, order_attempts=30, settle=0.0,
                             order_lookup_window=0.3)  # fmt: skip
        async with FakeVenue(exchange_id, unique_client_ids=False) as venue:
            ex = venue.exchange(policy=policy)
            await ex.load_markets()
            request = self.limit()
            try:
                with caplog.at_level(logging.DEBUG, logger="adapters"):
                    restart = asyncio.create_task(start_later(venue, await stop_venue(venue), 0.15))
                    order = await ex.create_order(request)
                    await restart
            finally:
                await ex.close()
        assert [(o.id, o.client_order_id) for o in venue.orders] == [
            (order.id, request.client_order_id)
        ]
        assert (venue.count("create"), venue.count("query")) == (1, 0)
        assert "the request never left" in caplog.text

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_unreachable_venue_sends_are_bounded_and_nothing_placed(
        self, exchange_id: str
    ) -> None:
        policy = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, order_attempts=3, settle=0.0)
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange(policy=policy)
            await ex.load_markets()
            await stop_venue(venue)
            request = self.limit()
            try:
                with pytest.raises(ExchangeUnavailable) as info:
                    await ex.create_order(request)
            finally:
                await ex.close()
        assert not isinstance(info.value, OrderOutcomeUnknown)
        assert info.value.client_order_id == request.client_order_id
        assert "was not placed: 3 sends could not connect" in str(info.value)
        assert venue.count("create") == 0

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_venue_that_cannot_be_asked_names_the_order_for_later(
        self, exchange_id: str
    ) -> None:
        policy = RetryPolicy(attempts=3, max_time=2.0, initial_backoff=0.001, settle=0.0,
                             order_lookup_window=0.2)  # fmt: skip
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange(policy=policy, client_order_id_prefix="bot7")
            venue.script("create", "drop")
            venue.script("query", *["5xx"] * 200)
            request = self.limit(client_order_id=ex.new_client_order_id())
            try:
                with pytest.raises(OrderOutcomeUnknown) as info:
                    await ex.create_order(request)
                cid = info.value.client_order_id
                assert cid == request.client_order_id and cid.startswith("bot7")
                assert "could not get an answer" in str(info.value)
                assert venue.count("create") == 1, "never re-sent while the outcome is unknown"
                venue.unscript("query")
                # The caller reconciles later with the id the error carried.
                found = await ex.fetch_order_by_client_id(cid, self.ORDER_SYMBOL)
            finally:
                await ex.close()
        assert [(o.id, o.client_order_id) for o in venue.orders] == [(found.id, cid)]

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    @pytest.mark.parametrize("phase", ["send", "lookup"])
    async def test_cancelled_create_is_reconciled_with_the_id_the_caller_held(
        self, exchange_id: str, phase: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The task running create_order is cancelled while the venue sits on the request (or
        while the adapter is asking after it); the venue then places the order. The caller
        finds it with the client order id its request carried from the start."""
        policy = RetryPolicy(initial_backoff=0.05, max_backoff=0.05, settle=0.0,
                             order_lookup_window=5.0)  # fmt: skip
        async with FakeVenue(exchange_id, unique_client_ids=False, late=0.4) as venue:
            ex = venue.exchange(policy=policy, timeout_ms=100)
            await ex.load_markets()
            venue.script("create", "late")
            request = self.limit()
            seen = "create" if phase == "send" else "query"
            try:
                with caplog.at_level(logging.WARNING, logger="adapters"):
                    task = asyncio.create_task(ex.create_order(request))
                    for _ in range(200):  # until the venue has the request (or a lookup)
                        if venue.count(seen):
                            break
                        await asyncio.sleep(0.005)
                    assert venue.count(seen) and not venue.orders
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task
                await venue.quiet()
                found = await ex.fetch_order_by_client_id(request.client_order_id, request.symbol)
            finally:
                await ex.close()
        assert [(o.id, o.client_order_id) for o in venue.orders] == [
            (found.id, request.client_order_id)
        ]
        assert venue.count("create") == 1
        assert (
            f"reconcile with fetch_order_by_client_id('{request.client_order_id}')" in caplog.text
        )

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_cancelled_ccxt_shaped_create_names_its_generated_id(
        self, exchange_id: str
    ) -> None:
        """A ccxt-shaped call without clientOrderId never showed the caller its generated id:
        the cancellation carries it (a note on the CancelledError)."""
        policy = RetryPolicy(initial_backoff=0.05, max_backoff=0.05, settle=0.0,
                             order_lookup_window=5.0)  # fmt: skip
        async with FakeVenue(exchange_id, unique_client_ids=False, late=0.4) as venue:
            ex = venue.exchange(policy=policy, timeout_ms=100)
            await ex.load_markets()
            venue.script("create", "late")
            try:
                task = asyncio.create_task(
                    ex.create_order(self.ORDER_SYMBOL, "limit", "buy", "0.001", "20000")
                )
                for _ in range(200):  # until the venue has the request
                    if venue.count("create"):
                        break
                    await asyncio.sleep(0.005)
                task.cancel()
                with pytest.raises(asyncio.CancelledError) as info:
                    await task
                await venue.quiet()
                (note,) = info.value.__notes__
                cid = note.removeprefix("client_order_id=")
                found = await ex.fetch_order_by_client_id(cid, self.ORDER_SYMBOL)
            finally:
                await ex.close()
        assert [(o.id, o.client_order_id) for o in venue.orders] == [(found.id, cid)]

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_client_order_ids_unique_within_limits_with_prefix(
        self, exchange_id: str
    ) -> None:
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange(client_order_id_prefix="strat9")
            try:
                requests = [self.limit(client_order_id=ex.new_client_order_id())
                            for _ in range(50)]  # fmt: skip
                orders = [await ex.create_order(r) for r in requests]
                with pytest.raises(InvalidOrderRequest, match="lacks this exchange's prefix"):
                    await ex.create_order(self.limit())
            finally:
                await ex.close()
        ids = [o.client_order_id for o in orders]
        assert ids == [r.client_order_id for r in requests]
        assert len(set(ids)) == 50
        for cid in ids:
            assert cid is not None and cid.startswith("strat9")
            assert cid.isalnum() and len(cid) <= 32  # BitMart's limit: 32 letters/digits
        sent = [r.body.get("client_order_id") for r in venue.requests if r.group == "create"]
        assert sent == ids  # the request without the prefix was never sent

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    @pytest.mark.parametrize("fault", ["rate_limit", "http_429"])
    async def test_rate_limited_create_waits_retry_after_and_sends_again(
        self, exchange_id: str, fault: str
    ) -> None:
        async with FakeVenue(exchange_id, retry_after="0.3") as venue:
            ex = venue.exchange()
            await ex.load_markets()
            venue.script("create", fault)
            started = time.monotonic()
            try:
                order = await ex.create_order(self.limit())
            finally:
                await ex.close()
        assert time.monotonic() - started >= 0.3
        assert [o.id for o in venue.orders] == [order.id]
        # A rate-limit answer means nothing was taken: no lookup needed.
        assert (venue.count("create"), venue.count("query")) == (2, 0)

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_rate_limit_longer_than_the_budget_is_raised_at_once(
        self, exchange_id: str
    ) -> None:
        async with FakeVenue(exchange_id, retry_after="120") as venue:
            ex = venue.exchange()
            await ex.load_markets()
            venue.script("create", "rate_limit")
            started = time.monotonic()
            try:
                with pytest.raises(RateLimited) as info:
                    await ex.create_order(self.limit())
            finally:
                await ex.close()
        assert time.monotonic() - started < 1.0
        assert info.value.retry_after == 120
        assert venue.count("create") == 1 and not venue.orders

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    @pytest.mark.parametrize("fault", ["reject", "auth"])
    async def test_rejections_are_never_retried(self, exchange_id: str, fault: str) -> None:
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange()
            venue.script("create", fault)
            try:
                with pytest.raises(AdapterError) as info:
                    await ex.create_order(self.limit())
            finally:
                await ex.close()
        assert type(info.value) is (OrderRejected if fault == "reject" else AuthenticationFailed)
        assert (venue.count("create"), venue.count("query"), len(venue.orders)) == (1, 0, 0)

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_client_order_id_already_taken_returns_that_order(self, exchange_id: str) -> None:
        """A re-send whose first send did land gets "client order id exists" from the venue
        (Bitstamp 400.019, BitMart 50042); the adapter answers with the existing order."""
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange()
            try:
                first = await ex.create_order(self.limit(client_order_id="resend42"))
                again = await ex.create_order(self.limit(client_order_id="resend42"))
                with pytest.raises(OrderRejected, match="already belongs to order"):
                    # Bitstamp's order_status carries no amount, so the side tells them apart.
                    await ex.create_order(self.limit(side=Side.SELL, client_order_id="resend42"))
            finally:
                await ex.close()
        assert again.id == first.id and len(venue.orders) == 1
        assert venue.count("create") == 3

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_client_order_id_of_an_order_with_another_amount_is_not_ours(
        self, exchange_id: str
    ) -> None:
        """Same id, side, symbol and price, another amount: a different order. Bitstamp's
        order_status sends no amount (ccxt reads none); its amount_remaining and fills do."""
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange()
            try:
                first = await ex.create_order(self.limit("0.001", client_order_id="resend43"))
                with pytest.raises(OrderRejected, match="already belongs to order"):
                    await ex.create_order(self.limit("0.002", client_order_id="resend43"))
                venue.fill(first.id)
                with pytest.raises(OrderRejected, match="already belongs to order"):
                    await ex.create_order(self.limit("0.003", client_order_id="resend43"))
            finally:
                await ex.close()
        assert [o.id for o in venue.orders] == [first.id]

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_ccxt_shaped_create_on_a_prefixed_exchange_gets_a_prefixed_id(
        self, exchange_id: str
    ) -> None:
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange(client_order_id_prefix="strat9")
            try:
                order = await ex.create_order(self.ORDER_SYMBOL, "limit", "buy", 0.001, 20000)
                with pytest.raises(InvalidOrderRequest, match="lacks this exchange's prefix"):
                    await ex.create_order(self.ORDER_SYMBOL, "limit", "buy", 0.001, 20000,
                                          {"clientOrderId": "other1"})  # fmt: skip
            finally:
                await ex.close()
        sent = [r.body.get("client_order_id") for r in venue.requests if r.group == "create"]
        assert sent == [order.client_order_id]
        assert order.client_order_id is not None and order.client_order_id.startswith("strat9")

    # -- cancel ------------------------------------------------------------------------------------

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_cancel_of_filled_or_cancelled_order_returns_its_final_state(
        self, exchange_id: str
    ) -> None:
        symbol = self.ORDER_SYMBOL
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange()
            try:
                a = await ex.create_order(self.limit())
                b = await ex.create_order(self.limit())
                venue.fill(b.id)
                cancelled = await ex.cancel_order(a.id, symbol)
                again = await ex.cancel_order(a.id, symbol)
                filled = await ex.cancel_order(b.id, symbol)
                with pytest.raises(OrderNotFound):
                    await ex.cancel_order("1234567", symbol)
            finally:
                await ex.close()
        assert cancelled.status is OrderStatus.CANCELED and cancelled.id == a.id
        assert again.status is OrderStatus.CANCELED and again.id == a.id
        assert filled.status is OrderStatus.FILLED and filled.id == b.id
        assert filled.filled == Decimal("0.001")
        assert [o.status for o in venue.orders] == ["canceled", "filled"]

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_cancel_whose_answer_was_lost_is_retried_and_reports_cancelled(
        self, exchange_id: str
    ) -> None:
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange()
            try:
                order = await ex.create_order(self.limit())
                venue.script("cancel", "drop")
                cancelled = await ex.cancel_order(order.id, self.ORDER_SYMBOL)
            finally:
                await ex.close()
        assert cancelled.status is OrderStatus.CANCELED
        assert venue.count("cancel") == 2  # the dropped one (which did cancel) and the repeat
        assert venue.orders[0].status == "canceled"
