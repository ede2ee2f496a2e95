"""The replay server with the faults tests inject: dropped connections, silence, refused and
closed listeners, unanswered pings.

``FaultyReplayServer`` is :class:`adapters.replay.ReplayServer` (which the paper twin uses at
run time) plus these controls, through the server's hooks. Its ``resume`` defaults to the
recording's venue's own reconnect frames (``Venue.replay_resume``), as a venue would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from aiohttp import web

from adapters.replay import Frame, Recording, ReplayServer, RestHandler, RestResponse, ResumeHook
from adapters.venues import get_venue

__all__ = ["CLOSE_HOLD", "FaultyReplayServer", "seeded_drop_points", "venue_resume"]

#: Seconds an ``ignore_close`` server holds a connection whose close frame it left unanswered.
CLOSE_HOLD = 30.0


def venue_resume(recording: Recording | Mapping[str, Recording] | None) -> ResumeHook | None:
    """The reconnect frames of the venue a recording was made on (None: none, or unknown)."""
    recordings = (
        [recording] if isinstance(recording, Recording) else list((recording or {}).values())
    )
    venues = {r.exchange for r in recordings if r.exchange is not None}
    if len(venues) != 1:
        return None
    return get_venue(venues.pop()).replay_resume()


class FaultyReplayServer(ReplayServer):
    """:class:`ReplayServer` with fault controls.

    ``drop_after`` closes the connection right after delivering the server frame with that
    index (counting ``recv`` lines from 0; each index drops once) and ``drop_mode`` says how:
    ``"close"`` sends a close frame, ``"abort"`` cuts the TCP connection like a network
    failure. ``lost_per_drop`` makes the venue publish that many data frames while the
    client is away: the next connection starts after them, and :attr:`missed` lists them
    (a REST route can serve them, as a venue's history would). ``silent_after`` stops all
    output, pongs included, after that index;
    :meth:`go_silent` / :meth:`resume_sending` do it by hand. ``answer_pings=False`` leaves
    client pings unanswered. ``ignore_close=True`` never answers a client's close frame: the
    connection stays open (counted in :attr:`active_connections`) until the client drops the
    TCP connection, or for :data:`CLOSE_HOLD` seconds at most. :attr:`refuse` rejects
    WebSocket handshakes with HTTP 503; :meth:`stop_listening` closes the listening socket
    until :meth:`start_listening`.
    """

    def __init__(
        self,
        recording: Recording | Mapping[str, Recording] | None = None,
        *,
        rest: Mapping[str, RestResponse | RestHandler] | None = None,
        compress: bool = False,
        drop_after: int | Iterable[int] | None = None,
        drop_mode: Literal["close", "abort"] = "close",
        silent_after: int | None = None,
        pace: float | Literal["recorded"] | None = None,
        resume: ResumeHook | Literal["auto"] | None = "auto",
        auto_reply: Mapping[str, str] | None = None,
        answer_pings: bool = True,
        lost_per_drop: int = 0,
        ignore_close: bool = False,
    ) -> None:
        super().__init__(
            recording,
            rest=rest,
            compress=compress,
            pace=pace,
            resume=venue_resume(recording) if resume == "auto" else resume,
            auto_reply=auto_reply,
        )
        if drop_after is None:
            self._drop_after: frozenset[int] = frozenset()
        elif isinstance(drop_after, int):
            self._drop_after = frozenset({drop_after})
        else:
            self._drop_after = frozenset(drop_after)
        self._dropped: set[tuple[str, int]] = set()
        self.drop_mode: Literal["close", "abort"] = drop_mode
        self.lost_per_drop = lost_per_drop
        #: Data frames published while no client was connected (see ``lost_per_drop``).
        self.missed: list[Frame] = []
        self._silent_after = silent_after
        self.answer_pings = answer_pings
        self.ignore_close = ignore_close
        #: When True, WebSocket handshakes are rejected with HTTP 503 (REST still answers).
        self.refuse = False
        self._silent = asyncio.Event()  # set while silent
        self._unsilenced = asyncio.Event()
        self._unsilenced.set()

    # ---- controls ------------------------------------------------------------------------

    def go_silent(self) -> None:
        """Stop sending anything, protocol pongs included, until :meth:`resume_sending`."""
        self._silent.set()
        self._unsilenced.clear()

    def resume_sending(self) -> None:
        """End a :meth:`go_silent` period."""
        self._silent.clear()
        self._unsilenced.set()

    @property
    def silent(self) -> bool:
        """True while the server is silent."""
        return self._silent.is_set()

    async def stop_listening(self) -> None:
        """Simulate the server going away: drop connections and close the listening socket.

        New connections then fail with "connection refused" until :meth:`start_listening`.
        """
        await self.drop()
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def start_listening(self) -> None:
        """Listen again on the same port after :meth:`stop_listening`."""
        if self._runner is None:
            raise RuntimeError("server not started")
        if self._site is None:
            self._site = web.TCPSite(self._runner, self.host, self._port, reuse_address=True)
            await self._site.start()

    # ---- hooks ---------------------------------------------------------------------------

    def _accepts(self, request: web.Request) -> bool:
        return not self.refuse

    def _may_send(self) -> bool:
        return not self.silent

    def _answers_ping(self) -> bool:
        return self.answer_pings and not self.silent

    async def _gate(self) -> None:
        await self._unsilenced.wait()

    def _answers_close(self) -> bool:
        return not self.ignore_close

    async def _read(self, stream: Any, conn: Any) -> None:
        await super()._read(stream, conn)
        transport = conn.request.transport
        if not self.ignore_close or transport is None:
            return
        # The client's close frame went unanswered: hold the connection like a peer that
        # never answers, until the client drops it (longer than aiohttp's 10 s close wait).
        # Polled: aiohttp offers a handler no event for a lost TCP connection.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_HOLD):
                while not transport.is_closing():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)

    async def _after_frame(self, stream: Any, conn: Any, recv_index: int) -> bool:
        if self._silent_after is not None and recv_index == self._silent_after:
            self.go_silent()
        key = (stream.path, recv_index)
        if recv_index in self._drop_after and key not in self._dropped:
            self._dropped.add(key)
            self._publish_while_away(stream)  # first: closing may cancel this task
            await self._close_connection(conn)
            return True
        return False

    def _publish_while_away(self, stream: Any) -> None:
        # Data frames skipped by moving the stream's cursor past them: the next connection
        # joins after them, as it would join a live feed that went on without it.
        index, lost = stream.cursor, 0
        while lost < self.lost_per_drop and index < len(stream.classified):
            frame, reply = stream.classified[index]
            if frame.dir == "sent":
                break  # the next connection must still say it
            if not reply:
                self.missed.append(frame)
                lost += 1
            index += 1
        stream.cursor = index

    def published_data(self) -> list[Frame]:
        """Data frames the venue published so far: delivered, or missed while away."""
        return [*self.delivered_data(), *self.missed]

    async def _close_connection(self, conn: Any) -> None:
        if self.drop_mode != "abort":
            await super()._close_connection(conn)
            return
        conn.closed = True
        conn.changed.set()
        self._connections.discard(conn)
        # No close frame: the TCP connection just goes away, like a network failure.
        transport = conn.request.transport
        if transport is not None:
            transport.abort()


def seeded_drop_points(seed: int, first: int, last: int, count: int) -> list[int]:
    """``count`` distinct server-frame indices in ``[first, last]``, chosen from ``seed``.

    For fault tests that drop the connection several times; pick ``last`` so that enough
    frames remain after the final drop (a Bitstamp client needs ``snapshotDelay`` + 1 deltas
    after each reconnect before it asks for a snapshot).
    """
    if count > last - first + 1:
        raise ValueError("not enough indices in range")
    rng = random.Random(seed)
    return sorted(rng.sample(range(first, last + 1), count))
