"""Reads under injected faults, rate limits, clock skew, and the retry policy itself."""

from __future__ import annotations

import email.utils
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from adapters import (
    AuthenticationFailed,
    ExchangeUnavailable,
    OrderRequest,
    OrderType,
    RateLimited,
    Side,
)
from adapters.errors import ClockSkew
from adapters.exchange import Exchange
from adapters.retry import RetryPolicy, parse_retry_after

from .fakevenue import DUMMY, NETWORK_FAULTS, FakeVenue

pytestmark = [pytest.mark.faults, pytest.mark.timeout(60)]

SYMBOL = {"bitstamp": "BTC/USD", "bitmart": "BTC/USDT"}
VENUES = list(SYMBOL)
READ_GROUPS = ("ticker", "book", "balance", "query")


def reads(ex: Exchange, symbol: str, order_id: str) -> list[Callable[[], Awaitable[Any]]]:
    """One of each read the fake venue serves."""
    return [
        lambda: ex.fetch_ticker(symbol),
        lambda: ex.fetch_order_book(symbol, 2),
        ex.fetch_balance,
        lambda: ex.fetch_order(order_id, symbol),
    ]


async def place_one(ex: Exchange, symbol: str) -> str:
    request = OrderRequest(symbol=symbol, side=Side.BUY, type=OrderType.LIMIT,
                           amount=Decimal("0.001"), price=Decimal("20000"))  # fmt: skip
    return (await ex.create_order(request)).id


def report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print(f"\n{text}")


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_reads_under_30_percent_faults_all_succeed_in_bound(
    exchange_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = RetryPolicy(attempts=10, max_time=3.0, initial_backoff=0.002, max_backoff=0.02)
    symbol = SYMBOL[exchange_id]
    async with FakeVenue(exchange_id, seed=5, delay=0.25) as venue:
        ex = venue.exchange(policy=policy, timeout_ms=150)
        slowest = 0.0
        try:
            order_id = await place_one(ex, symbol)
            venue.fault_rate, venue.fault_groups = 0.3, frozenset(READ_GROUPS)
            calls = reads(ex, symbol, order_id)
            for i in range(120):
                started = time.monotonic()
                await calls[i % len(calls)]()
                slowest = max(slowest, time.monotonic() - started)
        finally:
            await ex.close()
    faults = Counter(r.fault for r in venue.requests if r.fault)
    sent = sum(1 for r in venue.requests if r.group in READ_GROUPS)
    report(capsys, f"[{exchange_id}] 120 reads at 30% faults: all succeeded, {sent} requests, "
           f"slowest {slowest:.3f}s (bound {policy.max_time}s); faults "
           f"{dict(sorted(faults.items()))}")  # fmt: skip
    assert slowest <= policy.max_time
    assert set(faults) == set(NETWORK_FAULTS)
    assert sent == 120 + sum(faults.values())  # each fault cost exactly one more request


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_reads_under_100_percent_faults_fail_unavailable_in_bound(
    exchange_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = RetryPolicy(attempts=4, max_time=1.0, initial_backoff=0.01, max_backoff=0.05)
    symbol = SYMBOL[exchange_id]
    async with FakeVenue(exchange_id, seed=11, delay=0.25) as venue:
        ex = venue.exchange(policy=policy, timeout_ms=150)
        slowest = 0.0
        try:
            order_id = await place_one(ex, symbol)
            venue.fault_rate, venue.fault_groups = 1.0, frozenset(READ_GROUPS)
            for call in reads(ex, symbol, order_id) * 2:
                before = len(venue.requests)
                started = time.monotonic()
                with pytest.raises(ExchangeUnavailable) as info:
                    await call()
                slowest = max(slowest, time.monotonic() - started)
                sent = venue.requests[before:]
                # aiohttp itself re-sends a GET once when the server closed a kept-alive
                # connection (never a POST): those are not the adapter's tries.
                transparent = sum(1 for r in sent if r.fault == "drop" and r.method == "GET")
                assert 2 <= len(sent) - transparent <= policy.attempts
                assert "no answer after" in str(info.value)
        finally:
            await ex.close()
    report(capsys, f"[{exchange_id}] 8 reads at 100% faults: all ExchangeUnavailable, slowest "
           f"{slowest:.3f}s (bound {policy.max_time}s)")  # fmt: skip
    # The bound is the policy's; scheduling adds a little.
    assert slowest <= policy.max_time + 0.2


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_total_time_bound_holds_when_the_client_timeout_is_longer(exchange_id: str) -> None:
    policy = RetryPolicy(attempts=50, max_time=0.5, initial_backoff=0.01)
    async with FakeVenue(exchange_id, delay=5.0) as venue:
        ex = venue.exchange(policy=policy, timeout_ms=10_000)
        try:
            await ex.load_markets()
            venue.script("ticker", *["delay"] * 5)
            started = time.monotonic()
            with pytest.raises(ExchangeUnavailable):
                await ex.fetch_ticker(SYMBOL[exchange_id])
            elapsed = time.monotonic() - started
        finally:
            await ex.close()
    assert 0.5 <= elapsed < 0.8
    assert venue.count("ticker") == 1


@pytest.mark.parametrize("exchange_id", VENUES)
@pytest.mark.parametrize("fault", ["rate_limit", "http_429"])
async def test_read_rate_limit_honours_retry_after(exchange_id: str, fault: str) -> None:
    async with FakeVenue(exchange_id, retry_after="0.3") as venue:
        ex = venue.exchange()
        try:
            await ex.load_markets()
            venue.script("ticker", fault)
            started = time.monotonic()
            ticker = await ex.fetch_ticker(SYMBOL[exchange_id])
            elapsed = time.monotonic() - started
        finally:
            await ex.close()
    assert ticker.last is not None
    assert elapsed >= 0.3
    assert venue.count("ticker") == 2


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_read_rate_limit_beyond_the_budget_raises_rate_limited(exchange_id: str) -> None:
    async with FakeVenue(exchange_id, retry_after="600") as venue:
        ex = venue.exchange()
        try:
            await ex.load_markets()
            venue.script("ticker", "rate_limit")
            started = time.monotonic()
            with pytest.raises(RateLimited) as info:
                await ex.fetch_ticker(SYMBOL[exchange_id])
        finally:
            await ex.close()
    assert time.monotonic() - started < 0.5
    assert info.value.retry_after == 600
    assert venue.count("ticker") == 1


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_read_rejection_is_not_retried(exchange_id: str) -> None:
    async with FakeVenue(exchange_id) as venue:
        ex = venue.exchange()
        venue.script("balance", "auth")
        try:
            with pytest.raises(AuthenticationFailed):
                await ex.fetch_balance()
        finally:
            await ex.close()
    assert venue.count("balance") == 1


# -- clock skew --------------------------------------------------------------------------------


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_clock_skew_resyncs_once_and_retries_once(
    exchange_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The venue's clock is ten minutes ahead of ours: far outside both venues' windows.
    async with FakeVenue(exchange_id, clock_offset_ms=600_000) as venue:
        ex = venue.exchange()
        try:
            with caplog.at_level(logging.WARNING, logger="adapters"):
                await ex.fetch_balance()
            assert venue.count("balance") == 2  # refused once, then accepted
            order_id = await place_one(ex, SYMBOL[exchange_id])
            await ex.fetch_balance()
        finally:
            await ex.close()
    assert venue.count("balance") == 3  # the offset is kept: no more refusals
    assert venue.count("create") == 1 and venue.orders[0].id == order_id
    offset = ex.client.options["timeDifference"]
    assert -601_500 <= offset <= -598_500
    if exchange_id == "bitmart":
        assert venue.count("time") == 1  # ccxt's load_time_difference: GET /system/time
    assert any("now compensated" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_clock_skew_that_persists_is_raised_after_one_retry(exchange_id: str) -> None:
    # The venue checks against a clock ten minutes ahead but reports ours: re-sync cannot help.
    async with FakeVenue(exchange_id, clock_offset_ms=600_000, reported_clock_offset_ms=0) as venue:
        ex = venue.exchange()
        try:
            with pytest.raises(ClockSkew):
                await ex.fetch_balance()
            with pytest.raises(ClockSkew):
                await ex.create_order(
                    OrderRequest(
                        symbol=SYMBOL[exchange_id],
                        side="buy",
                        type="limit",
                        amount="0.001",
                        price="20000",
                    )
                )
        finally:
            await ex.close()
    assert venue.count("balance") == 2
    assert venue.count("create") == 2 and venue.count("query") == 0 and not venue.orders


# -- logs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_policy_and_retries_logged_at_debug_without_secrets(
    exchange_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeVenue(exchange_id) as venue:
        with caplog.at_level(logging.DEBUG):
            ex = venue.exchange()
            try:
                venue.script("ticker", "5xx", "rate_limit")
                await ex.fetch_ticker(SYMBOL[exchange_id])
                venue.script("create", "drop")
                await place_one(ex, SYMBOL[exchange_id])
            finally:
                await ex.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("adapters"))
    assert "retry policy: reads: 6 tries within 3s" in ours
    assert "retrying in" in ours and "outcome unknown" in ours and "the venue has it" in ours
    assert "ccxt.base.exchange" in {r.name for r in caplog.records}  # ccxt's request log too
    secrets = [DUMMY.api_key, DUMMY.api_secret, DUMMY.memo]
    for secret in secrets:
        assert secret is not None
        assert secret.get_secret_value() not in text


# -- the policy ----------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, jitter=0.5)
    for attempt, base in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)):
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(base <= w <= base * 1.5 for w in waits)
        assert max(waits) > min(waits)  # jitter, so clients do not retry in step
    assert policy.backoff(1, retry_after=2.5) == 2.5


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"order_attempts": 0}, {"max_time": 0}, {"initial_backoff": -1},
     {"jitter": float("nan")}, {"settle": float("inf")}],
)  # fmt: skip
def test_policy_refuses_unbounded_or_nonsense_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_parse_retry_after() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    parsed = parse_retry_after({"Retry-After": later})
    assert parsed is not None and 28 <= parsed <= 31
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "-5"}) == 0.0
    assert parse_retry_after({"Retry-After": "nan"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None
