"""The one retry policy: bounded, exponential backoff with jitter.

Idempotent reads (and cancels, whose repeat is harmless) retry transient failures: the venue
unreachable, a timeout, a rate limit. Venue rejections (bad request, insufficient funds,
authentication) never are. ``create_order`` is never retried by this loop: it sends again only
when a send provably placed nothing, and otherwise asks the venue for its client order id;
the knobs it uses (``order_attempts``, ``settle``, ``order_lookup_window``) live here so the
whole policy is configured in one place. See :meth:`adapters.exchange.Exchange.create_order`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)

from .errors import AdapterError, ExchangeUnavailable, RateLimited, UnreadableAnswer

__all__ = [
    "RetryPolicy",
    "backoff_seconds",
    "bounded_retrying",
    "never_sent",
    "parse_retry_after",
    "short",
]

log = logging.getLogger("adapters.retry")
T = TypeVar("T")

TRANSIENT: tuple[type[Exception], ...] = (ExchangeUnavailable, RateLimited)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the adapter retries. Pass one to ``open_exchange(..., retry=RetryPolicy(...))``.

    Reads: at most ``attempts`` tries and ``max_time`` seconds in all (each try is cut at the
    time left), waiting ``initial_backoff * 2**(n-1)`` (capped at ``max_backoff``) plus up
    to ``jitter`` of that at random between tries, or longer when the venue sent
    ``Retry-After``. A read that runs out of tries or time raises
    :class:`~adapters.errors.ExchangeUnavailable` chained to the last failure; a rate limit
    whose ``Retry-After`` does not fit in the time left raises
    :class:`~adapters.errors.RateLimited` at once, with ``retry_after`` set.

    Orders: one ``create_order`` is sent at most ``order_attempts`` times, always with the
    same client order id, and again only when the send provably placed nothing (the
    connection failed before the request was written, or a rate-limit answer). When the
    outcome is unknown the request is never sent again: ``settle`` seconds later the venue is
    asked for the client order id, with the backoff above between lookups, until
    ``order_lookup_window`` seconds after the failure; then
    :class:`~adapters.errors.OrderOutcomeUnknown`. The window is how late a loaded venue may
    act on a request and still be seen; a lookup started inside it may take one client
    timeout more.
    """

    attempts: int = 4
    max_time: float = 20.0
    initial_backoff: float = 0.25
    max_backoff: float = 4.0
    #: Fraction of each backoff added at random so many clients do not retry in step.
    jitter: float = 0.5
    order_attempts: int = 3
    settle: float = 0.5
    order_lookup_window: float = 20.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.order_attempts < 1:
            raise ValueError("attempts and order_attempts must be at least 1")
        numbers = (self.max_time, self.initial_backoff, self.max_backoff, self.jitter, self.settle,
                   self.order_lookup_window)  # fmt: skip
        if not all(math.isfinite(n) and n >= 0 for n in numbers) or self.max_time == 0:
            raise ValueError(
                "max_time must be > 0 and backoffs, jitter, settle and order_lookup_window "
                f"finite and >= 0; got {self!r}"
            )

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try ``attempt`` (1-based); honours ``Retry-After``."""
        wait = backoff_seconds(attempt, self.initial_backoff, self.max_backoff, self.jitter)
        return max(wait, retry_after) if retry_after is not None else wait

    def describe(self) -> str:
        """One line for logs (the policy holds no secrets)."""
        return (
            f"reads: {self.attempts} tries within {self.max_time:g}s, backoff "
            f"{self.initial_backoff:g}s..{self.max_backoff:g}s +{self.jitter:.0%} jitter; "
            f"orders: {self.order_attempts} sends, settle {self.settle:g}s, lookups within "
            f"{self.order_lookup_window:g}s"
        )

    async def run(
        self, call: Callable[[], Awaitable[T]], *, what: str, try_timeout: float | None = None
    ) -> T:
        """Await ``call()``, retrying transient adapter errors within the bounds.

        ``try_timeout`` is the seconds after which ``call`` times out by itself (the ccxt
        client's timeout); a try that fits in the time left then needs no extra timer.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_time
        # The first try runs outside tenacity, in this frame, with no closures built:
        # nearly every call succeeds first time, and each extra object or coroutine frame
        # on the way to ccxt is paid again at every suspension of the request.
        try:
            # The whole budget is left: the clock was read a moment ago.
            if try_timeout is not None and try_timeout < self.max_time:
                return await call()
            return await self._bounded_try(call, what, deadline)
        except TRANSIENT as exc:
            first_error: BaseException = exc

        # tenacity numbers the retries from 1, so the overall try number is one more.
        def tries(state: RetryCallState) -> int:
            return state.attempt_number + 1

        def wait_after(number: int, exc: BaseException | None) -> float:
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            return self.backoff(number, retry_after)

        def wait(state: RetryCallState) -> float:
            return wait_after(tries(state), state.outcome.exception() if state.outcome else None)

        def out_of_budget(number: int, sleep: float) -> bool:
            # A sleep that would overrun the total time ends the retries now, not after it.
            return number >= self.attempts or loop.time() + sleep >= deadline

        def stop(state: RetryCallState) -> bool:
            return out_of_budget(tries(state), getattr(state, "upcoming_sleep", 0.0))

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.debug(
                "%s: %s on try %d/%d (%s); retrying in %.3fs",
                what,
                type(exc).__name__,
                tries(state),
                self.attempts,
                short(exc),
                state.upcoming_sleep,
            )

        def give_up(state: RetryCallState) -> NoReturn:
            exc = state.outcome.exception() if state.outcome else None
            assert exc is not None  # tenacity only gives up after a failure
            fail(exc, tries(state))

        def fail(exc: BaseException, number: int) -> NoReturn:
            left = deadline - loop.time()
            if isinstance(exc, RateLimited) and (exc.retry_after or 0) > left:
                log.debug("%s: rate limited for %.3fs, more than the %.3fs left", what,
                          exc.retry_after, max(left, 0.0))  # fmt: skip
                raise exc
            log.debug("%s: giving up after %d tries (%s)", what, number,
                      type(exc).__name__)  # fmt: skip
            raise ExchangeUnavailable(
                f"{what}: no answer after {number} tries in "
                f"{self.max_time - max(left, 0.0):.2f}s; last error: {type(exc).__name__}: "
                f"{short(exc)}"
            ) from exc

        async def attempt() -> T:
            if try_timeout is not None and try_timeout < deadline - loop.time():
                return await call()
            return await self._bounded_try(call, what, deadline)

        first_wait = wait_after(1, first_error)
        if out_of_budget(1, first_wait):
            fail(first_error, 1)
        log.debug("%s: %s on try 1/%d (%s); retrying in %.3fs", what,
                  type(first_error).__name__, self.attempts, short(first_error),
                  first_wait)  # fmt: skip
        await asyncio.sleep(first_wait)

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT),
            stop=stop,
            wait=wait,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )
        return await retrying(attempt)

    async def _bounded_try(self, call: Callable[[], Awaitable[T]], what: str, deadline: float) -> T:
        """One try cut at the time left before ``deadline``, so the total bound holds even
        when the client timeout is longer than the policy's budget."""
        left = deadline - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(max(left, 0.001)):
                return await call()
        except TimeoutError as exc:
            raise ExchangeUnavailable(
                f"{what}: no answer within the {self.max_time:g}s retry budget"
            ) from exc


def backoff_seconds(attempt: int, initial: float, maximum: float, jitter: float) -> float:
    """The wait after failed try ``attempt`` (1-based): ``initial * 2**(attempt-1)``, capped
    at ``maximum``, plus up to ``jitter`` of that at random (REST retries and stream
    reconnects alike)."""
    base: float = min(maximum, initial * 2.0 ** (attempt - 1))
    return base + random.uniform(0, base * jitter)


def bounded_retrying(
    *,
    attempts: int,
    seconds: float,
    wait: Callable[[int], float],
    retryable: Callable[[BaseException], bool],
    give_up: Callable[[RetryCallState], Any],
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    """A tenacity loop bounded by ``attempts`` tries and ``seconds`` in all, waiting
    ``wait(attempt)`` between tries and calling ``give_up`` when the bounds are reached."""
    return AsyncRetrying(
        stop=stop_after_attempt(attempts) | stop_after_delay(seconds),
        wait=lambda state: wait(state.attempt_number),
        retry=retry_if_exception(retryable),
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )


def never_sent(err: BaseException) -> bool:
    """Whether a failed send provably never reached the venue: the connection failed before
    the request was written.

    aiohttp raises ``ClientConnectorError`` (refused, unreachable, DNS, proxy, TLS handshake)
    and ``ConnectionTimeoutError`` only while it opens the connection, before ``req.send``;
    ccxt re-raises them ``from`` the original. Everything after the request was written (a
    read timeout, a dropped connection, a reset keep-alive socket) is not proof of anything.
    """
    import socket

    import aiohttp

    cause: BaseException | None = err.__cause__
    for _ in range(4):  # adapter error <- ccxt error <- aiohttp error: a short chain
        if cause is None:
            return False
        if isinstance(
            cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError | socket.gaierror
        ):
            return True
        cause = cause.__cause__
    return False


def parse_retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), else None."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def short(exc: BaseException | None, limit: int = 200) -> str:
    """An error's text cut to ``limit`` characters, for log lines and error messages."""
    text = str(exc) if exc is not None else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def outcome_unknown(err: AdapterError) -> bool:
    """Whether a failed create may still have placed the order (the answer was lost)."""
    if isinstance(err, ExchangeUnavailable | UnreadableAnswer):
        return True
    cause = err.__cause__
    if cause is None:
        return False
    import aiohttp
    import ccxt

    if isinstance(cause, ccxt.BadResponse) or not isinstance(cause, ccxt.BaseError):
        # ccxt could not read the answer, or its parser failed on it.
        return True
    # ccxt reports a body cut off mid-read as a bare ExchangeError from aiohttp's error.
    return isinstance(cause.__cause__, aiohttp.ClientError)
