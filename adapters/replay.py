"""Recorded WebSocket sessions and an offline replay server for ccxt.pro clients.

A recording is a JSON-lines file (``<name>.jsonl``; shipped ones in ``adapters/sessions/``)::

    {"meta": {"source": "...", "exchange": "bitmart", "url": "wss://...", "derived_by": "..."}}
    {"dir": "sent", "t": 0.0, "text": "{\\"op\\":\\"subscribe\\",...}"}
    {"dir": "recv", "t": 0.0, "text": "{\\"event\\":\\"subscribe\\",...}"}
    {"dir": "recv", "t": 0.1, "b64": "..."}

``sent`` lines are what the client sent, ``recv`` lines what the server sent back; ``t`` is
seconds relative to the start of the session. The header line is optional.

:class:`ReplayServer` serves such recordings to a real ccxt.pro client on 127.0.0.1 so that
streams can be tested offline with ccxt's own parsing: it waits for the client's subscribe and
login frames before sending what followed them, can drop the connection, go silent, refuse
connections, compress frames the way BitMart does, pace frames, and serves the REST calls the
client makes on the side (markets, order-book snapshot, websocket token).

This module is standalone on purpose: it does not import the rest of ``adapters`` so the paper
trading demo and the tests can use it without pulling in any venue code. Pointing a client at
the server is the venue's business: ``adapters.venues.get_venue(id).point_at(client, http_url,
ws_url)`` knows where each ccxt client keeps its URLs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import random
import socket
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import WSMsgType, web

__all__ = [
    "ClientFrame",
    "Frame",
    "FrameDir",
    "Recording",
    "ReplayServer",
    "RestHandler",
    "RestRequest",
    "RestResponse",
    "ResumeHook",
    "bitmart_book_resume",
    "bitmart_books",
    "bitstamp_book",
    "bitstamp_snapshot_route",
    "compact_json",
    "deflate_raw",
    "frame_keys",
    "inflate_raw",
    "is_reply",
    "repeat_depth_session",
    "repeat_diff_session",
    "seeded_drop_points",
]

FrameDir = Literal["sent", "recv"]


# --------------------------------------------------------------------------------------------
# Compression helpers


def deflate_raw(data: bytes) -> bytes:
    """Compress ``data`` as one complete raw-DEFLATE stream (no zlib header, wbits=-15).

    BitMart's ``ws-manager-compress`` hosts send data frames like this as binary frames and
    ccxt.pro inflates each frame on its own with ``zlib.decompress(data, -15)``, so every frame
    must be a finished stream (hence a fresh compressor per frame).
    """
    compressor = zlib.compressobj(level=6, method=zlib.DEFLATED, wbits=-15)
    return compressor.compress(data) + compressor.flush()


def inflate_raw(data: bytes) -> bytes:
    """Inverse of :func:`deflate_raw`."""
    return zlib.decompress(data, -15)


# --------------------------------------------------------------------------------------------
# Recording format


@dataclass(frozen=True, slots=True)
class Frame:
    """One WebSocket frame of a recording: exactly one of ``text`` and ``data`` is set."""

    dir: FrameDir
    t: float
    text: str | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.data is None):
            raise ValueError("a Frame needs exactly one of text or data")
        if self.dir not in ("sent", "recv"):
            raise ValueError(f"bad frame direction {self.dir!r}")

    @classmethod
    def recv_json(cls, obj: Any, t: float = 0.0) -> Frame:
        """A server frame holding ``obj`` serialised as compact JSON (key order kept)."""
        return cls("recv", t, text=compact_json(obj))

    @classmethod
    def sent_json(cls, obj: Any, t: float = 0.0) -> Frame:
        """A client frame holding ``obj`` serialised as compact JSON (key order kept)."""
        return cls("sent", t, text=compact_json(obj))

    @property
    def is_binary(self) -> bool:
        """True for binary frames (stored as ``b64`` in the file)."""
        return self.data is not None

    def payload(self) -> str | bytes:
        """The frame as it goes on the wire."""
        if self.text is not None:
            return self.text
        assert self.data is not None
        return self.data

    def decoded_text(self) -> str:
        """The frame's text; binary frames are raw-inflated when they are compressed."""
        if self.text is not None:
            return self.text
        assert self.data is not None
        try:
            return inflate_raw(self.data).decode("utf-8")
        except zlib.error:
            return self.data.decode("utf-8")

    def json(self) -> Any:
        """The frame parsed as JSON (``None`` when it is not JSON, e.g. a text ``ping``)."""
        try:
            return json.loads(self.decoded_text())
        except ValueError:
            return None

    def to_obj(self) -> dict[str, Any]:
        """The frame as one line object of the ``.jsonl`` format."""
        obj: dict[str, Any] = {"dir": self.dir, "t": self.t}
        if self.text is not None:
            obj["text"] = self.text
        else:
            assert self.data is not None
            obj["b64"] = base64.b64encode(self.data).decode("ascii")
        return obj

    @classmethod
    def from_obj(cls, obj: Mapping[str, Any]) -> Frame:
        """Parse one line object of the ``.jsonl`` format."""
        direction = obj["dir"]
        if direction not in ("sent", "recv"):
            raise ValueError(f"bad frame direction {direction!r}")
        t = float(obj["t"])
        if "text" in obj:
            return cls(direction, t, text=str(obj["text"]))
        return cls(direction, t, data=base64.b64decode(obj["b64"], validate=True))


def compact_json(obj: Any) -> str:
    """JSON without whitespace and with key order kept, the way the venues send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class Recording:
    """A recorded WebSocket session: an optional ``meta`` header and frames in order."""

    frames: list[Frame]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sent(self) -> list[Frame]:
        """The client frames."""
        return [f for f in self.frames if f.dir == "sent"]

    @property
    def recv(self) -> list[Frame]:
        """The server frames."""
        return [f for f in self.frames if f.dir == "recv"]

    @property
    def exchange(self) -> str | None:
        """``meta['exchange']`` when present."""
        value = self.meta.get("exchange")
        return value if isinstance(value, str) else None

    @classmethod
    def loads(cls, text: str) -> Recording:
        """Parse the ``.jsonl`` text of a recording."""
        frames: list[Frame] = []
        meta: dict[str, Any] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"line {number}: not JSON: {exc}") from exc
            if not isinstance(obj, dict):
                raise ValueError(f"line {number}: expected a JSON object")
            if "meta" in obj:
                if frames or meta:
                    raise ValueError(f"line {number}: the meta header must be the first line")
                meta = dict(obj["meta"])
                continue
            frames.append(Frame.from_obj(obj))
        return cls(frames=frames, meta=meta)

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a recording from a ``.jsonl`` file."""
        return cls.loads(Path(path).read_text(encoding="utf-8"))

    def dumps(self) -> str:
        """Serialise to ``.jsonl`` text (stable: dumping a loaded file gives the same bytes)."""
        lines = []
        if self.meta:
            lines.append(json.dumps({"meta": self.meta}, ensure_ascii=False))
        lines.extend(json.dumps(f.to_obj(), ensure_ascii=False) for f in self.frames)
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the recording to ``path`` (parent directories are created)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.dumps(), encoding="utf-8")

    def data_frames(self) -> list[Frame]:
        """The server frames that are not replies to a client request (see :func:`is_reply`)."""
        return [f for f, reply in _classify(self.frames) if f.dir == "recv" and not reply]

    def reply_map(self) -> dict[str, str]:
        """Map the match key of each client frame to the text of the reply that follows it.

        Useful as ``auto_reply`` for keep-alive exchanges that may happen at any time, e.g. the
        Bitstamp ``bts:heartbeat`` request and its reply.
        """
        replies: dict[str, str] = {}
        pending: frozenset[str] = frozenset()
        for frame, reply in _classify(self.frames):
            if frame.dir == "sent":
                pending = frame_keys(frame.decoded_text())
            elif reply and pending:
                for key in pending:
                    replies.setdefault(key, frame.decoded_text())
                pending = frozenset()
        return replies


# --------------------------------------------------------------------------------------------
# Matching client frames and classifying server frames

# Events that answer a client request; they are sent again on every connection, because a
# reconnecting client sends its subscribe/login again and waits for the answer.
_REPLY_EVENTS = frozenset(
    {
        "bts:subscription_succeeded",
        "bts:unsubscription_succeeded",
        "bts:heartbeat",
        "subscribe",
        "unsubscribe",
        "login",
        "access",
    }
)
# Errors count as replies only right after a client frame (e.g. BitMart 30013 after a login).
_ERROR_EVENTS = frozenset({"bts:error", "error"})
# BitMart logins carry key, timestamp and signature: they never match byte for byte.
_LOGIN_OPS = frozenset({"login", "access"})


def frame_keys(text: str) -> frozenset[str]:
    """The match keys of a client frame: what a recording's ``sent`` line has to agree on.

    Ids, timestamps, signatures and auth tokens differ between runs, so frames are matched on
    the operation and the channel: ``"subscribe:spot/trade:ETH_USDT"`` (one key per BitMart
    topic, so a multi-topic subscribe satisfies several recorded ones),
    ``"bts:subscribe:diff_order_book_ethusd"``, ``"login"``. Non-JSON text matches itself.
    """
    try:
        obj = json.loads(text)
    except ValueError:
        return frozenset({"raw:" + text})
    if not isinstance(obj, dict):
        return frozenset({"raw:" + text})
    op = obj.get("op", obj.get("action", obj.get("event")))
    op_name = str(op)
    if op_name in _LOGIN_OPS:
        return frozenset({op_name})
    args = obj.get("args")
    if isinstance(args, list) and args:
        return frozenset(f"{op_name}:{arg}" for arg in args)
    data = obj.get("data")
    if isinstance(data, dict):
        channel = data.get("channel")
        if isinstance(channel, str) and channel:
            return frozenset({f"{op_name}:{channel}"})
    return frozenset({op_name})


def is_reply(obj: Any, follows_client_frame: bool = True) -> bool:
    """True when a server frame answers a client request rather than carrying market data.

    Replies (subscription acks, login acks, heartbeat replies, and errors that directly follow
    a client frame) are sent again on every connection; everything else is a data frame and is
    delivered once over the whole life of the server.
    """
    if not isinstance(obj, dict):
        return False
    if "table" in obj or ("group" in obj and "data" in obj):
        return False
    event = obj.get("event", obj.get("action"))
    if event in _REPLY_EVENTS:
        return True
    return bool(event in _ERROR_EVENTS and follows_client_frame)


def _classify(frames: Sequence[Frame]) -> list[tuple[Frame, bool]]:
    """Pair every frame with whether it is a reply (sent frames are never replies)."""
    out: list[tuple[Frame, bool]] = []
    in_reply_run = False
    for frame in frames:
        if frame.dir == "sent":
            in_reply_run = True
            out.append((frame, False))
            continue
        reply = is_reply(frame.json(), in_reply_run)
        in_reply_run = in_reply_run and reply
        out.append((frame, reply))
    return out


# --------------------------------------------------------------------------------------------
# Order-book state derived from frames (used for REST snapshots, resume frames and tests)


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def _apply_levels(side: dict[Decimal, list[str]], levels: Iterable[Any]) -> None:
    # Levels are absolute: the amount replaces the level, zero removes it. The original strings
    # are kept so that snapshots look like the venue's own output.
    for level in levels:
        price, amount = str(level[0]), str(level[1])
        key = _dec(price)
        if _dec(amount) == 0:
            side.pop(key, None)
        else:
            side[key] = [price, amount]


def _sorted_side(side: dict[Decimal, list[str]], descending: bool) -> list[list[str]]:
    return [side[k] for k in sorted(side, reverse=descending)]


def bitstamp_book(initial: Mapping[str, Any], frames: Iterable[Frame], pair: str) -> dict[str, Any]:
    """The Bitstamp REST order-book response after applying ``diff_order_book_<pair>`` frames.

    ``initial`` is a ``/api/v2/order_book/<pair>/`` response; only data frames newer than its
    ``microtimestamp`` are applied (as ccxt does). The result carries the timestamp and
    microtimestamp of the last applied frame, so ccxt.pro treats it as taken right after it.
    """
    channel = "diff_order_book_" + pair
    bids: dict[Decimal, list[str]] = {}
    asks: dict[Decimal, list[str]] = {}
    _apply_levels(bids, initial.get("bids", []))
    _apply_levels(asks, initial.get("asks", []))
    timestamp = str(initial.get("timestamp", "0"))
    micro = int(str(initial.get("microtimestamp", "0")))
    for frame in frames:
        obj = frame.json()
        if not isinstance(obj, dict) or obj.get("channel") != channel:
            continue
        if obj.get("event") != "data" or not isinstance(obj.get("data"), dict):
            continue
        data = obj["data"]
        frame_micro = int(str(data.get("microtimestamp", "0")))
        if frame_micro <= micro:
            continue
        _apply_levels(bids, data.get("bids", []))
        _apply_levels(asks, data.get("asks", []))
        micro = frame_micro
        timestamp = str(data.get("timestamp", micro // 1_000_000))
    return {
        "timestamp": timestamp,
        "microtimestamp": str(micro),
        "bids": _sorted_side(bids, descending=True),
        "asks": _sorted_side(asks, descending=False),
    }


def bitmart_books(frames: Iterable[Frame]) -> dict[str, dict[str, Any]]:
    """BitMart ``spot/depth/increase*`` books per symbol after the given frames.

    A ``snapshot`` element resets the symbol's book, an ``update`` element applies absolute
    levels (size ``"0"`` removes). Each result is shaped like a data element of the channel:
    ``{"asks", "bids", "ms_t", "symbol", "type": "snapshot", "version"}``.
    """
    state: dict[str, tuple[dict[Decimal, list[str]], dict[Decimal, list[str]], dict[str, Any]]]
    state = {}
    for frame in frames:
        obj = frame.json()
        if not isinstance(obj, dict):
            continue
        table = obj.get("table")
        if not isinstance(table, str) or "depth/increase" not in table:
            continue
        data = obj.get("data")
        if not isinstance(data, list):
            continue
        for element in data:
            if not isinstance(element, dict):
                continue
            symbol = str(element.get("symbol"))
            if element.get("type") == "snapshot" or symbol not in state:
                state[symbol] = ({}, {}, {})
            asks, bids, last = state[symbol]
            _apply_levels(asks, element.get("asks", []))
            _apply_levels(bids, element.get("bids", []))
            last["ms_t"] = element.get("ms_t")
            last["version"] = element.get("version")
    return {
        symbol: {
            "asks": _sorted_side(asks, descending=False),
            "bids": _sorted_side(bids, descending=True),
            "ms_t": last.get("ms_t"),
            "symbol": symbol,
            "type": "snapshot",
            "version": last.get("version"),
        }
        for symbol, (asks, bids, last) in state.items()
    }


def repeat_diff_session(recording: Recording, repeats: int) -> Recording:
    """A longer Bitstamp ``diff_order_book`` session: the data frames of ``recording``
    played ``repeats`` times in a row, each run shifted in time after the previous one.

    Diff levels are absolute amounts, so a repeated run is a valid diff stream and a fold of
    the result (:func:`bitstamp_book`) is well defined. For tests and benchmarks that need
    many frames; the result says so in ``meta['note']`` and is never written as a cassette.
    """
    head = [f for f, reply in _classify(recording.frames) if f.dir == "sent" or reply]
    diffs = [f.json() for f in recording.data_frames()]
    first = int(diffs[0]["data"]["microtimestamp"])
    span = int(diffs[-1]["data"]["microtimestamp"]) - first + 1_000
    frames = list(head)
    for run in range(repeats):
        for diff in diffs:
            micro = int(diff["data"]["microtimestamp"]) + run * span
            body = {**diff["data"], "microtimestamp": str(micro), "timestamp": str(micro // 10**6)}
            frames.append(Frame.recv_json({**diff, "data": body}, t=(micro - first) / 1e6))
    note = f"{recording.meta.get('note', '')} [data frames repeated {repeats} times]".strip()
    return Recording(frames=frames, meta={**recording.meta, "note": note})


def repeat_depth_session(recording: Recording, repeats: int) -> Recording:
    """A longer BitMart ``depth/increase`` session: the first data frame (the snapshot), then
    the updates of ``recording`` played ``repeats`` times with ``version`` and ``ms_t``
    counting on, so a client sees one unbroken sequence. See :func:`repeat_diff_session`.
    """
    head = [f for f, reply in _classify(recording.frames) if f.dir == "sent" or reply]
    snapshot, *updates = [f.json() for f in recording.data_frames()]
    first, last = updates[0]["data"][0], updates[-1]["data"][0]
    versions = int(last["version"]) - int(first["version"]) + 1
    span = int(last["ms_t"]) - int(first["ms_t"]) + 100
    frames = [*head, Frame.recv_json(snapshot)]
    for run in range(repeats):
        for update in updates:
            element = update["data"][0]
            moved = {
                **element,
                "ms_t": int(element["ms_t"]) + run * span,
                "version": int(element["version"]) + run * versions,
            }
            t = (moved["ms_t"] - int(first["ms_t"])) / 1e3
            frames.append(Frame.recv_json({**update, "data": [moved]}, t=t))
    note = f"{recording.meta.get('note', '')} [updates repeated {repeats} times]".strip()
    return Recording(frames=frames, meta={**recording.meta, "note": note})


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


def bitstamp_snapshot_route(initial: Mapping[str, Any], pair: str) -> RestHandler:
    """A REST route for ``GET /api/v2/order_book/<pair>/`` computed from what was streamed.

    The response is ``initial`` with every ``diff_order_book_<pair>`` frame delivered so far
    (over all connections) applied, stamped with the last frame's microtimestamp. ccxt.pro
    fetches it after caching ``snapshotDelay`` deltas; since it is never older than a cached
    delta, ``get_cache_index`` finds the cut point and a rebuilt book (also after a reconnect)
    is exactly the venue's book.
    """
    frozen = copy.deepcopy(dict(initial))

    def handler(server: ReplayServer, request: RestRequest) -> RestResponse:
        return RestResponse(200, bitstamp_book(frozen, server.delivered_data(), pair))

    return handler


def bitmart_book_resume(delivered: Sequence[Frame]) -> list[Frame]:
    """On a BitMart reconnect, send a fresh ``snapshot`` per book like the venue does.

    The snapshot holds the book after every ``depth/increase`` frame delivered so far, with the
    last version, so the updates that follow continue it.
    """
    frames: list[Frame] = []
    tables: dict[str, str] = {}
    for frame in delivered:
        obj = frame.json()
        if isinstance(obj, dict) and isinstance(obj.get("table"), str):
            table = obj["table"]
            if "depth/increase" in table:
                for element in obj.get("data") or []:
                    if isinstance(element, dict):
                        tables[str(element.get("symbol"))] = table
    for symbol, book in bitmart_books(delivered).items():
        frames.append(Frame.recv_json({"data": [book], "table": tables[symbol]}))
    return frames


def _auto_resume(recording: Recording) -> ResumeHook | None:
    return bitmart_book_resume if recording.exchange == "bitmart" else None


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
        self.classified = _classify(recording.frames)
        recv_index = 0
        self.recv_index: list[int] = []
        for frame in recording.frames:
            self.recv_index.append(recv_index)
            if frame.dir == "recv":
                recv_index += 1
        self.cursor = 0  # index of the first recording frame not yet delivered
        self.delivered: list[Frame] = []  # data frames, once each
        self.log: list[Frame] = []  # everything sent, in order, with re-sent replies
        self.dropped: set[int] = set()
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
    ``resume`` frames (by default, for BitMart, a fresh book snapshot) are sent on a reconnect
    before the first frame it had not seen; :meth:`delivered_data` lists each data frame once.

    ``drop_after`` closes the connection right after delivering the server frame with that
    index (counting ``recv`` lines from 0; each index drops once). ``silent_after`` stops all
    output, pongs included, after that index. ``pace`` is an offered rate in data frames per
    second, ``"recorded"`` to follow the ``t`` values, or ``None`` to send as fast as possible.
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
        drop_after: int | Iterable[int] | None = None,
        drop_mode: Literal["close", "abort"] = "close",
        silent_after: int | None = None,
        pace: float | Literal["recorded"] | None = None,
        resume: ResumeHook | Literal["auto"] | None = "auto",
        auto_reply: Mapping[str, str] | None = None,
        answer_pings: bool = True,
    ) -> None:
        if isinstance(pace, float | int) and pace <= 0:
            raise ValueError("pace must be a positive rate in frames per second")
        if recording is None:
            recordings: dict[str, Recording] = {}
        elif isinstance(recording, Recording):
            recordings = {"*": recording}
        else:
            recordings = dict(recording)
        self._streams: dict[str, _Stream] = {}
        for path, rec in recordings.items():
            hook = _auto_resume(rec) if resume == "auto" else resume
            self._streams[path] = _Stream(path, rec, hook)
        self._rest: dict[str, RestResponse | RestHandler] = dict(rest or {})
        self.compress = compress
        if drop_after is None:
            self._drop_after: frozenset[int] = frozenset()
        elif isinstance(drop_after, int):
            self._drop_after = frozenset({drop_after})
        else:
            self._drop_after = frozenset(drop_after)
        self.drop_mode: Literal["close", "abort"] = drop_mode
        self._silent_after = silent_after
        self.pace = pace
        self.auto_reply: dict[str, str] = dict(auto_reply or {})
        self.answer_pings = answer_pings
        # Loopback only, by design: nothing here may be reachable from outside the machine.
        self.host = "127.0.0.1"
        #: When True, WebSocket handshakes are rejected with HTTP 503 (REST still answers).
        self.refuse = False
        #: Every frame the client sent, over all connections.
        self.received: list[ClientFrame] = []
        #: Every REST request received.
        self.rest_requests: list[RestRequest] = []
        #: Number of WebSocket connections accepted so far.
        self.connection_count = 0
        self._silent = asyncio.Event()  # set while silent
        self._unsilenced = asyncio.Event()
        self._unsilenced.set()
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

    async def drop(self) -> None:
        """Close every open WebSocket connection now (per ``drop_mode``)."""
        for conn in list(self._connections):
            await self._close_connection(conn)

    async def wait_finished(self, path: str | None = None) -> None:
        """Wait until every server frame of the recording(s) has been delivered.

        Bound it with ``asyncio.wait_for``/``asyncio.timeout``: it waits for the client.
        """
        streams = [s for s in self._streams.values() if path is None or s.path == path]
        await asyncio.gather(*(s.finished.wait() for s in streams))

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
        if self.refuse or stream is None:
            return web.Response(status=503, text="replay server refuses connections")
        # autoping=False: pings are answered by hand so that a silent server stays silent.
        ws = web.WebSocketResponse(autoping=False, compress=False, timeout=1.0)
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
                if self.answer_pings and not self.silent:
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
                if reply is not None and not self.silent:
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
                            await asyncio.sleep(frame.t - prev_t)
                        prev_t = frame.t
                    elif self.pace is not None:
                        paced += 1
                        delay = pace_start + paced / float(self.pace) - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                await self._unsilenced.wait()
                if conn.closed:
                    raise _ConnectionClosed
                await self._send_frame(conn, frame)
                stream.log.append(frame)
                if index >= stream.cursor:
                    stream.cursor = index + 1
                    if not reply:
                        stream.delivered.append(frame)
                recv_index = stream.recv_index[index]
                if self._silent_after is not None and recv_index == self._silent_after:
                    self.go_silent()
                if recv_index in self._drop_after and recv_index not in stream.dropped:
                    stream.dropped.add(recv_index)
                    await self._close_connection(conn)
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
            await self._unsilenced.wait()
            await self._send_frame(conn, extra)
            stream.log.append(extra)

    async def _send_frame(self, conn: _Connection, frame: Frame) -> None:
        if frame.data is not None:
            await conn.ws.send_bytes(frame.data)
        else:
            assert frame.text is not None
            await self._send_text(conn, frame.text)

    async def _send_text(self, conn: _Connection, text: str) -> None:
        if self.compress:
            await conn.ws.send_bytes(deflate_raw(text.encode("utf-8")))
        else:
            await conn.ws.send_str(text)

    async def _close_connection(self, conn: _Connection) -> None:
        conn.closed = True
        conn.changed.set()
        self._connections.discard(conn)
        if self.drop_mode == "abort":
            # No close frame: the TCP connection just goes away, like a network failure.
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            return
        with contextlib.suppress(Exception):
            await conn.ws.close(code=1001, message=b"replay: connection dropped")

    def _now(self) -> float:
        return round(time.monotonic() - self._t0, 6)


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
