"""The virtual clock of a recorded session (``speed="max"``): the recording moves only while
the strategy waits for the market.

The replay server asks :meth:`VirtualClock.turn` before each data frame. The turn comes when

* the paper client has handled every frame sent so far (ccxt parsed it and the engine applied
  it),
* nothing the client started is still running (a REST call, a task ccxt spawned, such as
  Bitstamp's book snapshot), and
* something reads the market (a stream of the paper exchange, or ``watch_market``, is waiting
  for its next item) and nothing has moved for :attr:`VirtualClock.SETTLE` turns of the event
  loop, so whoever the last frame woke has acted and is waiting again.

The strategy therefore acts on every update before the next one exists: the same recording
and strategy give the same orders and fills on every run, and the recording runs as fast as
the code does. A strategy that never waits on a stream (one that polls with ``fetch_*``)
stops the clock; run it at a real-time speed instead.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ..errors import InvalidInput

__all__ = [
    "Replay",
    "SessionOver",
    "Speed",
    "VirtualClock",
    "pace_for_speed",
    "read_queue",
    "read_stream",
]

T = TypeVar("T")
#: ``"max"`` (the virtual clock) or a factor of the recording's own clock.
Speed = float | Literal["max"]
Pace = float | Literal["recorded"] | None


@dataclass(frozen=True, slots=True)
class Replay:
    """How a recorded session is served: the server's ``pace`` and ``speed`` factor, and the
    virtual clock when there is one."""

    pace: Pace = None
    speed: float = 1.0
    clock: VirtualClock | None = None


def pace_for_speed(speed: Speed | None, replay_pace: Pace, *, recorded: bool) -> Replay:
    """The :class:`Replay` for ``speed``: ``None`` keeps ``replay_pace``; ``"max"`` is the
    virtual clock (frames unpaced, taken in lockstep); a number is the recording's clock that
    many times faster."""
    if speed is None:
        return Replay(replay_pace)
    if not recorded:
        raise InvalidInput("speed is for a recorded session: pass source= as well")
    if replay_pace is not None:
        raise InvalidInput("pass speed or replay_pace, not both")
    if speed == "max":
        return Replay(None, 1.0, VirtualClock())
    if isinstance(speed, int | float) and not isinstance(speed, bool) and 0 < speed < math.inf:
        return Replay("recorded", float(speed))
    raise InvalidInput(
        f"speed must be 'max' or a positive factor of the recording's clock, got {speed!r}"
    )


class SessionOver(Exception):
    """The recorded session has no more frames: the stream that was waiting ends."""


class VirtualClock:
    """Lockstep between a replay server and the paper client reading it (one event loop)."""

    #: Event-loop turns with nothing moving before the clock moves on. Waking a reader takes a
    #: few turns (future callbacks, task steps): the demo gives the same fills from 2 up, and
    #: differs at 0 and 1. 8 leaves a margin and costs microseconds per frame.
    SETTLE = 8

    def __init__(self) -> None:
        self._readers = 0
        self._moves = 0
        self._moved = asyncio.Event()
        self._client: Any = None
        self._frames_out: Callable[[], int] = lambda: 0
        self._finished: Callable[[], bool] = lambda: False

    def bind(
        self, client: Any, frames_out: Callable[[], int], finished: Callable[[], bool]
    ) -> None:
        """Follow ``client`` (a tapped ccxt.pro client) against a server that has sent
        ``frames_out()`` frames and is ``finished()`` once its recording is played."""
        self._client = client
        self._frames_out = frames_out
        self._finished = finished
        client.paper_on_change = self.moved

    def moved(self) -> None:
        """Something changed (a frame handled, a call done, a reader came or went)."""
        self._moves += 1
        self._moved.set()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Mark the caller as waiting for the market while the block runs."""
        self._readers += 1
        self.moved()
        try:
            yield
        finally:
            self._readers -= 1
            self.moved()

    @property
    def over(self) -> bool:
        """The recording is played and the client has handled all of it."""
        return self._finished() and self._idle()

    def _idle(self) -> bool:
        client = self._client
        if client is None:
            return False
        return bool(client.paper_handled >= self._frames_out() and client.paper_busy == 0)

    async def changed(self) -> None:
        """Wait until something moves."""
        self._moved.clear()
        await self._moved.wait()

    async def next_change(self) -> bool:
        """Wait, as a reader, until something moves; False when the recording is over."""
        if self.over:
            return False
        with self.reading():
            await self.changed()
        return True

    async def _settled(self) -> bool:
        moves = self._moves
        for _ in range(self.SETTLE):
            await asyncio.sleep(0)
        return moves == self._moves

    async def turn(self) -> None:
        """Return when the next recorded frame may be sent (the replay server's gate)."""
        await self._until(lambda: bool(self._readers) and self._idle())

    async def _until(self, ready: Callable[[], bool]) -> None:
        """Return once ``ready()`` holds and nothing moved for :attr:`SETTLE` turns."""
        while True:
            if not ready():
                await self.changed()
            elif await self._settled() and ready():
                return

    async def read(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``'s result, waited for as a reader; :class:`SessionOver` when the
        recording ends first."""
        with self.reading():
            item = asyncio.ensure_future(awaitable)
            end = asyncio.ensure_future(self._until(lambda: self.over))
            try:
                await asyncio.wait({item, end}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                end.cancel()
                if not item.done():
                    item.cancel()
                for task in (item, end):
                    # Only waited for here; item's outcome is read below.
                    with suppress(asyncio.CancelledError, Exception):
                        await task
            if item.cancelled():
                raise SessionOver
            return item.result()


async def read_stream(stream: AsyncIterator[T], clock: VirtualClock | None) -> AsyncIterator[T]:
    """``stream``'s items; on ``clock`` each wait is a reader's and the stream ends with the
    recording. ``stream`` is closed when this ends."""
    try:
        while True:
            try:
                yield await (stream.__anext__() if clock is None else clock.read(anext(stream)))
            except (StopAsyncIteration, SessionOver):
                return
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def read_queue(queue: asyncio.Queue[T], clock: VirtualClock | None) -> AsyncIterator[T]:
    """``queue``'s items as they come; on ``clock`` the stream ends with the recording."""
    while True:
        try:
            yield await (queue.get() if clock is None else clock.read(queue.get()))
        except SessionOver:
            return
