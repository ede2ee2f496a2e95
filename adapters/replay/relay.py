"""A WebSocket relay on 127.0.0.1 that records what passes between a client and a venue.

``adapters record`` (:mod:`adapters.paper.record`) and ``scripts/record_cassettes.py --ws``
record live sessions with it, in the format of :class:`~adapters.replay.Recording`.
Standalone like the rest of :mod:`adapters.replay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import zlib
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp import WSMsgType, web

from .recording import Frame, FrameDir, Recording, inflate_raw

__all__ = ["KeepAll", "Scrub", "WsRecorder"]


class WsRecorder:
    """A WebSocket relay on 127.0.0.1 that records every frame between a client and the
    venue. Point the client's WebSocket URL at :attr:`ws_url`; each connection is relayed
    to ``upstream`` (scheme and host) with the client's own path and query. ``scrub`` (by
    default :class:`KeepAll`) is applied to each frame when :meth:`recording` is built."""

    def __init__(self, upstream: str, scrub: Scrub | None = None) -> None:
        parts = urlsplit(upstream)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.scrub: Scrub = scrub or KeepAll()
        #: (direction, seconds since the first connection, text or bytes)
        self.raw: list[tuple[FrameDir, float, str | bytes]] = []
        self.urls: list[str] = []
        self._t0: float | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.ws_url = ""

    async def __aenter__(self) -> WsRecorder:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._relay)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # loopback only: the relay is for this machine's client
        await web.SockSite(self._runner, sock).start()
        self.ws_url = f"ws://127.0.0.1:{sock.getsockname()[1]}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _note(self, direction: FrameDir, data: str | bytes) -> None:
        now = asyncio.get_running_loop().time()
        if self._t0 is None:
            self._t0 = now
        self.raw.append((direction, round(now - self._t0, 6), data))

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        target = self.origin + request.path_qs
        self.urls.append(target)
        upstream = await self._session.ws_connect(target, autoping=True, max_msg_size=0)
        client = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await client.prepare(request)

        async def pump(source: Any, sink: Any, direction: FrameDir) -> None:
            async for msg in source:
                if msg.type == WSMsgType.TEXT:
                    self._note(direction, msg.data)
                    await sink.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self._note(direction, msg.data)
                    await sink.send_bytes(msg.data)
                else:
                    break
            await sink.close()

        await asyncio.gather(
            pump(client, upstream, "sent"), pump(upstream, client, "recv"), return_exceptions=True
        )
        return client

    def recording(self, meta: dict[str, Any]) -> Recording:
        """The frames so far, scrubbed; compressed binary frames stored as their text.

        Scrubbed twice: an identity value (a user id) may first show under its own name
        in a later frame than one that carries it elsewhere (a channel name)."""
        texts: list[tuple[FrameDir, float, str | bytes]] = []
        for direction, t, data in self.raw:
            if isinstance(data, bytes):
                with contextlib.suppress(zlib.error, UnicodeDecodeError):
                    data = inflate_raw(data).decode("utf-8")
            texts.append((direction, t, data))
        for _, _, data in texts:
            if isinstance(data, str):
                self.scrub(data)
        frames = [
            Frame(direction, t, text=self.scrub(data))
            if isinstance(data, str)
            else Frame(direction, t, data=self.scrub.binary(data))
            for direction, t, data in texts
        ]
        return Recording(frames=frames, meta=meta)


class Scrub(Protocol):
    """What takes secrets out of recorded frames (``scripts/record_cassettes.py`` has one
    for private sessions; public data needs none)."""

    def __call__(self, text: str) -> str:
        """A text frame, scrubbed."""
        ...

    def binary(self, data: bytes) -> bytes:
        """A binary frame that is not compressed text, scrubbed."""
        ...


class KeepAll:
    """The scrubber of a public session: nothing in it is secret."""

    def __call__(self, text: str) -> str:
        """``text`` unchanged."""
        return text

    def binary(self, data: bytes) -> bytes:
        """``data`` unchanged."""
        return data
