"""The one retry policy: bounded, exponential backoff with jitter, reads only.

Only transient failures are retried (the venue unreachable, timeouts, rate limits). Venue
rejections (bad request, insufficient funds, authentication) never are. ``create_order``
never goes through this policy: placing an order is not idempotent, see
:meth:`adapters.exchange.Exchange.create_order`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)

from .errors import ExchangeUnavailable, RateLimited

__all__ = ["RetryPolicy"]

log = logging.getLogger("adapters.retry")
T = TypeVar("T")

TRANSIENT: tuple[type[Exception], ...] = (ExchangeUnavailable, RateLimited)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How idempotent reads retry transient failures.

    ``attempts`` bounds the tries and ``max_time`` (seconds) the total time; whichever comes
    first ends the retries and the last error is raised.
    """

    attempts: int = 4
    max_time: float = 20.0
    initial_backoff: float = 0.25
    max_backoff: float = 4.0
    #: Fraction of each backoff added at random so many clients do not retry in step.
    jitter: float = 0.5

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try ``attempt + 1`` (honours a venue's ``Retry-After``)."""
        base: float = min(self.max_backoff, self.initial_backoff * 2.0 ** (attempt - 1))
        wait = base + random.uniform(0, base * self.jitter)
        return max(wait, retry_after) if retry_after is not None else wait

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after: float | None = exc.retry_after if isinstance(exc, RateLimited) else None
        return self.backoff(state.attempt_number, retry_after)

    def _log(self, what: str) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.debug(
                "%s failed (attempt %d/%d: %s); retrying in %.2fs",
                what,
                state.attempt_number,
                self.attempts,
                type(exc).__name__,
                wait,
            )

        return before_sleep

    async def run(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Await ``call()``, retrying transient adapter errors within the bounds."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_time),
            wait=self._wait,
            before_sleep=self._log(what),
            reraise=True,
        )

        async def attempt() -> T:
            # tenacity awaits only what it recognises as a coroutine function; a lambda
            # returning a coroutine would come back un-awaited.
            return await call()

        return await retrying(attempt)
