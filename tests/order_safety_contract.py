"""The venue contract's order-safety suite: no duplicate order, none lost.

Against the fault-injecting fake venue (tests/fakevenue.py), which speaks each venue's wire
format on 127.0.0.1 and can accept an order and then drop the answer, answer late, answer
5xx or 429. :class:`~tests.venue_contract.VenueContract` includes it; a venue's test module
supplies ``EXCHANGE`` and ``ORDER_SYMBOL``. Every loop here is bounded by a count, and each
test by the retry policy's time bounds and pytest-timeout.
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from adapters import (
    AdapterError,
    AuthenticationFailed,
    ExchangeUnavailable,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    RateLimited,
    Side,
)
from adapters.retry import RetryPolicy

from .fakevenue import NETWORK_FAULTS, FakeVenue

__all__ = ["OrderSafetyContract"]


def report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Write to the terminal even when pytest captures output (the counts are the point)."""
    with capsys.disabled():
        print(f"\n{text}")


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
        # The venue does NOT refuse a repeated client order id here, so a blind re-send would
        # show up as a duplicate order instead of being absorbed by the venue.
        policy = RetryPolicy(
            attempts=10, max_time=5.0, initial_backoff=0.002, max_backoff=0.02,
            order_attempts=8, settle=0.0,
        )  # fmt: skip
        async with FakeVenue(
            exchange_id, seed=20261122, fault_rate=0.3, fault_kinds=NETWORK_FAULTS,
            fault_groups=("create", "query"), delay=0.25, unique_client_ids=False,
        ) as venue:  # fmt: skip
            ex = venue.exchange(policy=policy, timeout_ms=150)
            started = time.monotonic()
            placed = []
            try:
                for i in range(200):
                    placed.append(await ex.create_order(self.limit(f"0.00{100 + i}")))
            finally:
                await ex.close()
            elapsed = time.monotonic() - started

        at_venue = Counter(o.client_order_id for o in venue.orders)
        duplicates = sum(n - 1 for n in at_venue.values())
        returned = {o.client_order_id: o for o in placed}
        lost = len(set(at_venue) ^ set(returned))
        create_faults = Counter(r.fault for r in venue.requests if r.group == "create" and r.fault)
        lookup_faults = Counter(r.fault for r in venue.requests if r.group == "query" and r.fault)
        report(capsys, f"[{exchange_id}] create_order x{len(placed)} in {elapsed:.2f}s: "
               f"venue holds {len(venue.orders)} orders, duplicates {duplicates}, lost {lost}; "
               f"sends {venue.count('create')}, lookups {venue.count('query')}; "
               f"faults on create {dict(sorted(create_faults.items()))}, "
               f"on lookups {dict(sorted(lookup_faults.items()))}")  # fmt: skip

        assert len(placed) == 200
        assert len(venue.orders) == 200
        assert duplicates == 0
        assert lost == 0
        for order in venue.orders:
            assert returned[order.client_order_id].id == order.id
        assert set(create_faults) == set(NETWORK_FAULTS), "every kind of fault was exercised"

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_the_count_catches_a_re_send_without_lookup(
        self, exchange_id: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Guard for the test above: with the lookup broken into "never found", the same faults
        do produce duplicates, so zero duplicates there is the adapter's doing."""
        async with FakeVenue(exchange_id, unique_client_ids=False, delay=0.25) as venue:
            ex = venue.exchange(timeout_ms=150)

            async def never_found(*_: Any) -> None:
                return None

            monkeypatch.setattr(ex.venue, "fetch_order_by_client_id", never_found)
            try:
                for fault in ("drop", "delay", "accept_5xx"):
                    venue.script("create", fault)
                    await ex.create_order(self.limit())
            finally:
                await ex.close()
        assert len(venue.orders) == 6  # each of the three orders placed twice

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    @pytest.mark.parametrize("fault", ["drop", "delay", "accept_5xx"])
    async def test_lost_answer_is_looked_up_not_resent(self, exchange_id: str, fault: str) -> None:
        async with FakeVenue(exchange_id, unique_client_ids=False, delay=0.25) as venue:
            ex = venue.exchange(timeout_ms=150)
            venue.script("create", fault)
            try:
                order = await ex.create_order(self.limit())
            finally:
                await ex.close()
        assert [o.id for o in venue.orders] == [order.id]
        assert order.client_order_id == venue.orders[0].client_order_id
        assert order.status is OrderStatus.OPEN
        assert (venue.count("create"), venue.count("query")) == (1, 1)

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_not_found_is_re_sent_with_the_same_client_order_id(
        self, exchange_id: str
    ) -> None:
        async with FakeVenue(exchange_id, unique_client_ids=False) as venue:
            ex = venue.exchange()
            venue.script("create", "5xx", "5xx")  # two sends that the venue never took
            try:
                order = await ex.create_order(self.limit())
            finally:
                await ex.close()
        sends = [r.body for r in venue.requests if r.group == "create"]
        key = "client_order_id"
        assert len(sends) == 3 and len({s[key] for s in sends}) == 1
        assert [o.id for o in venue.orders] == [order.id]
        assert venue.count("query") == 2

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_re_sends_are_bounded(self, exchange_id: str) -> None:
        policy = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, order_attempts=3, settle=0.0)
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange(policy=policy)
            venue.script("create", *["5xx"] * 10)
            try:
                with pytest.raises(ExchangeUnavailable) as info:
                    await ex.create_order(self.limit())
            finally:
                await ex.close()
        assert info.value.client_order_id is not None
        assert "was not placed" in str(info.value)
        assert (venue.count("create"), venue.count("query"), len(venue.orders)) == (3, 3, 0)

    @pytest.mark.faults
    @pytest.mark.timeout(60)
    async def test_unreachable_venue_raises_with_the_client_order_id(
        self, exchange_id: str
    ) -> None:
        policy = RetryPolicy(attempts=3, max_time=2.0, initial_backoff=0.001, settle=0.0)
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange(policy=policy, client_order_id_prefix="bot7")
            venue.script("create", "drop")
            venue.script("query", *["5xx"] * 10)
            try:
                with pytest.raises(ExchangeUnavailable) as info:
                    await ex.create_order(self.limit())
                cid = info.value.client_order_id
                assert cid is not None and cid.startswith("bot7")
                assert venue.count("create") == 1, "never re-sent while the outcome is unknown"
                venue.unscript("query")
                # The caller reconciles later with the id the error carried.
                found = await ex.fetch_order_by_client_id(cid, self.ORDER_SYMBOL)
            finally:
                await ex.close()
        assert [(o.id, o.client_order_id) for o in venue.orders] == [(found.id, cid)]

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
    async def test_client_order_ids_unique_within_limits_with_prefix(
        self, exchange_id: str
    ) -> None:
        async with FakeVenue(exchange_id) as venue:
            ex = venue.exchange(client_order_id_prefix="strat9")
            try:
                orders = [await ex.create_order(self.limit()) for _ in range(50)]
            finally:
                await ex.close()
        ids = [o.client_order_id for o in orders]
        assert len(set(ids)) == 50
        for cid in ids:
            assert cid is not None and cid.startswith("strat9")
            assert cid.isalnum() and len(cid) <= 32  # BitMart's limit: 32 letters/digits
        sent = [r.body.get("client_order_id") for r in venue.requests if r.group == "create"]
        assert sent == ids

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
