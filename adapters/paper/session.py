"""Recorded market sessions for paper trading: replayed to the real ccxt.pro client.

A session is a WebSocket recording (``<name>.jsonl``, the format of :mod:`adapters.replay`)
plus the REST answers the client asks for on the side:

* the markets, from ``markets.yaml`` beside the shipped sessions (the venue's REST answers in
  vcrpy format);
* what the venue computes from the replayed frames (``Venue.replay_routes``: for Bitstamp the
  order-book snapshot, ticker, public trades and candles), and the frames it sends a client
  that reconnects (``Venue.replay_resume``: BitMart's fresh book snapshot).

:class:`RecordedSession` starts a :class:`~adapters.replay.ReplayServer` on 127.0.0.1 and
points the client's REST and WebSocket URLs at it, so market data goes through exactly the
ccxt parsing a live session uses.

Shipped sessions are package data (``adapters/sessions/<exchange>/``), found with
:mod:`importlib.resources`, so they work from an installed wheel as from a checkout.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..capabilities import capabilities
from ..errors import AdapterError
from ..replay import Frame, Recording, ReplayServer, RestHandler, RestResponse
from ..venues import Venue
from .clock import Pace, Replay

__all__ = [
    "DEMO_SESSION",
    "Pace",
    "RecordedSession",
    "SessionNotFound",
    "find_session",
    "shipped_sessions",
]
#: The recorded session the offline demo runs on.
DEMO_SESSION = "paper_demo_ethusd_derived"


class SessionNotFound(AdapterError, FileNotFoundError):
    """No recorded session by that name or path."""


def shipped_sessions(exchange_id: str) -> Path:
    """The folder of the sessions the package ships for ``exchange_id`` (or its paper twin)."""
    live = capabilities(exchange_id).exchange_id
    root = files("adapters").joinpath("sessions", live)
    # An installed wheel is unpacked, so this is a real folder; a zipped install is not
    # supported (the replay server and ccxt read files by path).
    if not isinstance(root, Path):
        raise SessionNotFound(f"recorded sessions need adapters installed as files, not {root!r}")
    return root


def find_session(source: str | Path, exchange_id: str) -> Path:
    """The file ``source`` names: a path, or the name of a session shipped with the package.

    ``find_session("paper_demo_ethusd_derived", "bitstamp")`` is the demo's session;
    ``find_session("markets.spot.json", "bitmart")`` a file shipped beside the sessions.
    """
    folder = shipped_sessions(exchange_id)
    live = folder.name
    candidates = [Path(source).expanduser()]
    name = str(source)
    if not name.endswith(".jsonl"):
        candidates.append(folder / f"{name}.jsonl")
    candidates.append(folder / name)
    for path in candidates:
        if path.is_file():
            return path
    shipped = sorted(p.stem for p in folder.glob("*.jsonl"))
    raise SessionNotFound(
        f"no recorded {live} session {name!r}; shipped sessions: "
        f"{', '.join(shipped) or 'none'} (or pass a path to a .jsonl recording)"
    )


class RecordedSession:
    """One recorded session and the REST routes that go with it."""

    def __init__(self, source: str | Path, venue: Venue) -> None:
        self.venue = venue
        self.exchange_id = venue.id
        self.path = find_session(source, self.exchange_id)
        self.recording = Recording.load(self.path)
        if self.recording.exchange not in (None, self.exchange_id):
            raise SessionNotFound(
                f"{self.path.name} is a {self.recording.exchange} session, not {self.exchange_id}"
            )
        self.name = self.path.stem
        self.server: ReplayServer | None = None
        self._data_frames: list[Frame] | None = None
        self.rest = self._rest_routes()

    def __repr__(self) -> str:
        return f"<RecordedSession {self.exchange_id}/{self.name}>"

    @property
    def symbol(self) -> str | None:
        """The session's symbol, when its header names one."""
        value = self.recording.meta.get("symbol")
        return value if isinstance(value, str) else None

    @property
    def data_frames(self) -> list[Frame]:
        """The server frames that carry market data, in order."""
        if self._data_frames is None:
            # Worked out once: a virtual clock asks whether the session is over every frame.
            self._data_frames = self.recording.data_frames()
        return self._data_frames

    async def start(self, client: Any, replay: Replay | None = None) -> ReplayServer:
        """Serve the session on 127.0.0.1 and point ``client`` at it (idempotent).

        ``replay`` is the pace (unpaced by default) and, for a virtual clock, the clock: the
        server then waits for its turn before each data frame.

        The client is given the markets the recording's header carries (``adapters record``
        writes them), or else those of a ``markets.spot.json`` (ccxt's own unified markets)
        beside the session or beside the shipped ones: the REST markets answer may not list
        the session's symbol (BitMart's lists BTC/USDT only, its recorded book is ETH/USDT).
        """
        if self.server is None:
            recorded = self.recording.meta.get("markets")
            markets_file = self.path.parent / "markets.spot.json"
            if not markets_file.is_file():
                markets_file = shipped_sessions(self.exchange_id) / "markets.spot.json"
            if isinstance(recorded, dict):
                client.set_markets(list(recorded.values()))
            elif markets_file.is_file():
                markets = json.loads(markets_file.read_text(encoding="utf-8"))
                client.set_markets(list(markets.values()))
            replay = replay or Replay()
            server = ReplayServer(
                self.recording,
                rest=self.rest,
                pace=replay.pace,
                speed=replay.speed,
                resume=self.venue.replay_resume(),
            )
            clock = replay.clock
            if clock is not None:
                clock.bind(client, lambda: server.frames_out, lambda: self.finished)
                server.gate = clock.turn
            await server.start()
            self.server = server
            self.venue.point_at(client, server.http_url, server.ws_url)
        return self.server

    async def wait_finished(self) -> None:
        """Wait until every recorded frame has been sent (bound it with ``asyncio.timeout``)."""
        if self.server is None:
            raise RuntimeError("the session has not been started")
        await self.server.wait_finished()

    @property
    def finished(self) -> bool:
        """True once every recorded frame has been sent."""
        server = self.server
        if server is None:
            return False
        return len(server.delivered_data()) >= len(self.data_frames)

    async def close(self) -> None:
        """Stop the replay server."""
        if self.server is not None:
            await self.server.close()
            self.server = None

    # -- REST -----------------------------------------------------------------------------------

    def _rest_routes(self) -> dict[str, RestResponse | RestHandler]:
        routes: dict[str, RestResponse | RestHandler] = dict(_cassette_routes(self.exchange_id))
        routes.update(self.venue.replay_routes(self.recording, self.path.parent))
        return routes


def _cassette_routes(exchange_id: str) -> dict[str, RestResponse]:
    """Static routes from the shipped ``markets.yaml`` (vcrpy format)."""
    path = shipped_sessions(exchange_id) / "markets.yaml"
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    routes: dict[str, RestResponse] = {}
    for interaction in doc.get("interactions", []):
        request, response = interaction["request"], interaction["response"]
        parts = urlsplit(request["uri"])
        key = f"{request['method']} {parts.path}" + (f"?{parts.query}" if parts.query else "")
        body = response["body"]["string"]
        routes[key] = RestResponse(int(response["status"]["code"]), body)
    return routes
