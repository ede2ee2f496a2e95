"""The replay server: recorded sessions served to a real ccxt.pro client on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import WSMsgType, web

from .recording import Frame, Recording, classify_frames, compact_json, deflate_raw, frame_keys

__all__ = [
    "ClientFrame",
    "ReplayServer",
    "RestHandler",
    "RestRequest",
    "RestResponse",
    "ResumeHook",
]


# --------------------------------------------------------------------------------------------
# REST side


@dataclass(frozen=True, slots=True)
class RestRequest:
    """A REST request the server received."""

    method: str
    path: str
    query: str
    body: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class RestResponse:
    """A canned REST response: ``body`` is JSON-serialised unless it is already a ``str``."""

    status: int = 200
    body: Any = None
    content_type: str = "application/json"


RestHandler = Callable[["ReplayServer", RestRequest], RestResponse]
"""A computed REST route: called with the server (for its state) and the request."""

ResumeHook = Callable[[Sequence[Frame]], list[Frame]]
"""Called on a reconnect with the data frames delivered so far; returns frames to inject."""


# --------------------------------------------------------------------------------------------
# Replay server


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """A frame the client sent to the server."""

    connection: int
    path: str
    t: float
    text: str | None = None
    data: bytes | None = None

    def json(self) -> Any:
        """The frame parsed as JSON (``None`` when it is not JSON)."""
        try:
            return json.loads(self.text if self.text is not None else (self.data or b""))
        except ValueError:
            return None


class _ConnectionClosed(Exception):
    """The WebSocket went away while the server was waiting or sending."""


class _Connection:
    def __init__(self, number: int, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.number = number
        self.ws = ws
        self.request = request
        self.keys: Counter[str] = Counter()
        self.changed = asyncio.Event()
        self.closed = False

    def offer(self, keys: frozenset[str]) -> None:
        self.keys.update(keys)
        self.changed.set()

    async def expect(self, keys: frozenset[str]) -> None:
        # Wait until the client has sent frames carrying all keys; each key is used once.
        while True:
            if self.closed:
                raise _ConnectionClosed
            if all(self.keys[k] > 0 for k in keys):
                self.keys.subtract(keys)
                return
            self.changed.clear()
            await self.changed.wait()


class _Stream:
    """Delivery state of one recording, shared by the connections that replay it."""

    def __init__(self, path: str, recording: Recording, resume: ResumeHook | None) -> None:
        self.path = path
        self.recording = recording
        self.resume = resume
        self.classified = classify_frames(recording.frames)
        recv_index = 0
        self.recv_index: list[int] = []
        for frame in recording.frames:
            self.recv_index.append(recv_index)
            if frame.dir == "recv":
                recv_index += 1
        self.cursor = 0  # index of the first recording frame not yet delivered
        self.delivered: list[Frame] = []  # data frames, once each
        self.log: list[Frame] = []  # everything sent, in order, with re-sent replies
        self.finished = asyncio.Event()


class ReplayServer:
    """Serve recorded WebSocket sessions (and canned REST routes) on 127.0.0.1.

    Use as an async context manager::

        async with ReplayServer(recording, rest=routes, compress=False) as srv:
            get_venue("bitmart").point_at(client, srv.http_url, srv.ws_url)

    ``recording`` is one :class:`Recording` served on every WebSocket path, or a mapping of URL
    path (e.g. ``"/api"``, ``"/user"``) to recordings. Each recording is walked in order on each
    connection: a ``sent`` line waits until the client has sent a matching frame (see
    :func:`frame_keys`), ``recv`` lines are sent. Replies (see :func:`is_reply`) are sent on
    every connection. Data frames follow one timeline per recording, like a venue's feed: a
    connection gets the frames published after it joined (connections open at the same time
    all get them), so a reconnecting client resumes where the previous connection stopped.
    ``resume`` frames (the venue's, e.g. BitMart's fresh book snapshot: see
    ``Venue.replay_resume``) are sent on a reconnect before the first frame it had not seen;
    :meth:`delivered_data` lists each data frame once.

    ``pace`` is an offered rate in data frames per second, ``"recorded"`` to follow the ``t``
    values (``speed`` times faster), or ``None`` to send as fast as possible. ``gate``, when
    set, is awaited before each data frame: a consumer in the same event loop uses it to take
    the frames in lockstep (see :class:`adapters.paper.clock.VirtualClock`).
    ``compress`` sends text frames as raw-DEFLATE binary frames like BitMart's compress hosts.
    ``rest`` maps ``"METHOD /path"`` or ``"METHOD /path?query"`` to a :class:`RestResponse` or a
    :data:`RestHandler`. ``auto_reply`` maps client-frame match keys to a reply text sent at any
    time (for keep-alives).
    """

    def __init__(
        self,
        recording: Recording | Mapping[str, Recording] | None = None,
        *,
        rest: Mapping[str, RestResponse | RestHandler] | None = None,
        compress: bool = False,
        pace: float | Literal["recorded"] | None = None,
        speed: float = 1.0,
        gate: Callable[[], Awaitable[None]] | None = None,
        resume: ResumeHook | None = None,
        auto_reply: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(pace, float | int) and pace <= 0:
            raise ValueError("pace must be a positive rate in frames per second")
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive factor of the recorded clock, got {speed}")
        if recording is None:
            recordings: dict[str, Recording] = {}
        elif isinstance(recording, Recording):
            recordings = {"*": recording}
        else:
            recordings = dict(recording)
        self._streams: dict[str, _Stream] = {}
        for path, rec in recordings.items():
            self._streams[path] = _Stream(path, rec, resume)
        self._rest: dict[str, RestResponse | RestHandler] = dict(rest or {})
        self.compress = compress
        self.pace = pace
        self.speed = speed
        self.gate = gate
        #: Frames written to clients so far (data, replies and resume frames).
        self.frames_out = 0
        self.auto_reply: dict[str, str] = dict(auto_reply or {})
        # Loopback only, by design: nothing here may be reachable from outside the machine.
        self.host = "127.0.0.1"
        #: Every frame the client sent, over all connections.
        self.received: list[ClientFrame] = []
        #: Every REST request received.
        self.rest_requests: list[RestRequest] = []
        #: Number of WebSocket connections accepted so far.
        self.connection_count = 0
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._site: web.BaseSite | None = None
        self._port = 0
        self._t0 = time.monotonic()

    # ---- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind an ephemeral port on the loopback interface and start serving."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A short shutdown timeout: open WebSockets are closed by close() before cleanup.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._port = int(sock.getsockname()[1])
        self._site = web.SockSite(self._runner, sock)
        await self._site.start()
        self._t0 = time.monotonic()

    async def close(self) -> None:
        """Close every connection and stop the server."""
        await self.drop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    # ---- addresses -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        return self._port

    @property
    def http_url(self) -> str:
        """Base URL for REST, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def ws_url(self) -> str:
        """Base URL for WebSockets, e.g. ``ws://127.0.0.1:40123``."""
        return f"ws://127.0.0.1:{self._port}"

    # ---- state and controls --------------------------------------------------------------

    def delivered_data(self, path: str | None = None) -> list[Frame]:
        """Data frames delivered so far (each once), for one stream or all of them."""
        out: list[Frame] = []
        for stream in self._streams.values():
            if path is None or stream.path == path:
                out.extend(stream.delivered)
        return out

    def sent_log(self, path: str | None = None) -> list[Frame]:
        """Everything sent to clients, including re-sent replies and injected resume frames."""
        out: list[Frame] = []
        for stream in self._streams.values():
            if path is None or stream.path == path:
                out.extend(stream.log)
        return out

    @property
    def active_connections(self) -> int:
        """Number of WebSocket connections currently open."""
        return len(self._connections)

    def received_json(self) -> list[Any]:
        """The client frames parsed as JSON."""
        return [frame.json() for frame in self.received]

    async def drop(self) -> None:
        """Close every open WebSocket connection now."""
        for conn in list(self._connections):
            await self._close_connection(conn)

    async def wait_finished(self, path: str | None = None) -> None:
        """Wait until every server frame of the recording(s) has been delivered.

        Bound it with ``asyncio.wait_for``/``asyncio.timeout``: it waits for the client.
        """
        streams = [s for s in self._streams.values() if path is None or s.path == path]
        await asyncio.gather(*(s.finished.wait() for s in streams))

    # ---- hooks (the tests' fault controls override these; see tests/replay_faults.py) ------

    def _accepts(self, request: web.Request) -> bool:
        """Whether to accept this WebSocket handshake (else HTTP 503)."""
        return True

    def _may_send(self) -> bool:
        """Whether anything may be sent right now (auto replies are skipped otherwise)."""
        return True

    def _answers_ping(self) -> bool:
        """Whether a client ping is answered with a pong right now."""
        return self._may_send()

    def _answers_close(self) -> bool:
        """Whether a client's close frame is answered (aiohttp's ``autoclose``)."""
        return True

    async def _gate(self) -> None:
        """Awaited before each recorded frame is sent (holds output while it must not flow)."""

    async def _after_frame(self, stream: _Stream, conn: _Connection, recv_index: int) -> bool:
        """Called after server frame ``recv_index`` went out on ``conn``; True ends the
        connection's replay (the hook closed it)."""
        return False

    # ---- handlers ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._handle_ws(request)
        return await self._handle_rest(request)

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        rest_request = RestRequest(
            method=request.method,
            path=request.path,
            query=request.query_string,
            body=body,
            headers=dict(request.headers),
        )
        self.rest_requests.append(rest_request)
        route = None
        if rest_request.query:
            route = self._rest.get(f"{request.method} {request.path}?{rest_request.query}")
        if route is None:
            route = self._rest.get(f"{request.method} {request.path}")
        if route is None:
            return web.json_response(
                {"replay_error": "no route", "method": request.method, "path": request.path},
                status=404,
            )
        response = route if isinstance(route, RestResponse) else route(self, rest_request)
        text = response.body if isinstance(response.body, str) else compact_json(response.body)
        return web.Response(status=response.status, text=text, content_type=response.content_type)

    def _stream_for(self, path: str) -> _Stream | None:
        return self._streams.get(path, self._streams.get("*"))

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        stream = self._stream_for(request.path)
        if stream is None or not self._accepts(request):
            return web.Response(status=503, text="replay server refuses connections")
        # autoping=False: pings are answered by hand so that a silent server stays silent.
        ws = web.WebSocketResponse(
            autoping=False, autoclose=self._answers_close(), compress=False, timeout=1.0
        )
        await ws.prepare(request)
        self.connection_count += 1
        conn = _Connection(self.connection_count, ws, request)
        # Older connections are left open, as a venue would: a client that leaks a socket
        # keeps receiving the broadcast (see _play), it does not steal frames from the new one.
        self._connections.add(conn)
        writer = asyncio.get_running_loop().create_task(self._play(stream, conn))
        self._tasks.add(writer)
        writer.add_done_callback(self._tasks.discard)
        try:
            await self._read(stream, conn)
        finally:
            conn.closed = True
            conn.changed.set()
            self._connections.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
        return ws

    async def _read(self, stream: _Stream, conn: _Connection) -> None:
        async for msg in conn.ws:
            if msg.type == WSMsgType.PING:
                if self._answers_ping():
                    await conn.ws.pong(msg.data)
                continue
            if msg.type == WSMsgType.TEXT:
                text = str(msg.data)
                frame = ClientFrame(conn.number, stream.path, self._now(), text=text)
            elif msg.type == WSMsgType.BINARY:
                frame = ClientFrame(conn.number, stream.path, self._now(), data=bytes(msg.data))
                text = frame.data.decode("utf-8", "replace") if frame.data else ""
            else:
                continue
            self.received.append(frame)
            keys = frame_keys(text)
            for key in keys:
                reply = self.auto_reply.get(key)
                if reply is not None and self._may_send():
                    await self._send_text(conn, reply)
            conn.offer(keys)

    async def _play(self, stream: _Stream, conn: _Connection) -> None:
        # The venue's timeline is shared: a connection joins at the current cursor, skips data
        # frames published before it joined and then gets everything after, like a broadcast
        # (two open connections both receive the frames; each is recorded as delivered once).
        joined_at = stream.cursor
        injected = joined_at == 0 or stream.resume is None
        pace_start = time.monotonic()
        paced = 0
        prev_t: float | None = None
        try:
            for index, (frame, reply) in enumerate(stream.classified):
                if frame.dir == "sent":
                    await conn.expect(frame_keys(frame.decoded_text()))
                    continue
                if index < joined_at and not reply:
                    continue  # published before this connection joined
                if not injected and not reply:
                    injected = True
                    await self._inject(stream, conn)
                if not reply:
                    # Pacing applies to data frames; replies answer at once like a live venue.
                    if self.pace == "recorded":
                        if prev_t is not None and frame.t > prev_t:
                            await asyncio.sleep((frame.t - prev_t) / self.speed)
                        prev_t = frame.t
                    elif self.pace is not None:
                        paced += 1
                        delay = pace_start + paced / float(self.pace) - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    if self.gate is not None:
                        await self.gate()
                await self._gate()
                if conn.closed:
                    raise _ConnectionClosed
                await self._send_frame(conn, frame)
                stream.log.append(frame)
                if index >= stream.cursor:
                    stream.cursor = index + 1
                    if not reply:
                        stream.delivered.append(frame)
                if await self._after_frame(stream, conn, stream.recv_index[index]):
                    return
            if not injected:
                await self._inject(stream, conn)
            stream.finished.set()
        except (_ConnectionClosed, ConnectionError, RuntimeError):
            # The client went away mid-session; the next connection resumes from the cursor.
            return

    async def _inject(self, stream: _Stream, conn: _Connection) -> None:
        if stream.resume is None:
            return
        for extra in stream.resume(list(stream.delivered)):
            await self._gate()
            await self._send_frame(conn, extra)
            stream.log.append(extra)

    async def _send_frame(self, conn: _Connection, frame: Frame) -> None:
        if frame.data is not None:
            self.frames_out += 1
            await conn.ws.send_bytes(frame.data)
        else:
            assert frame.text is not None
            await self._send_text(conn, frame.text)

    async def _send_text(self, conn: _Connection, text: str) -> None:
        self.frames_out += 1
        if self.compress:
            await conn.ws.send_bytes(deflate_raw(text.encode("utf-8")))
        else:
            await conn.ws.send_str(text)

    async def _close_connection(self, conn: _Connection) -> None:
        conn.closed = True
        conn.changed.set()
        self._connections.discard(conn)
        with contextlib.suppress(Exception):
            await conn.ws.close(code=1001, message=b"replay: connection dropped")

    def _now(self) -> float:
        return round(time.monotonic() - self._t0, 6)
