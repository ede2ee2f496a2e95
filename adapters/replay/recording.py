"""Recorded WebSocket sessions: the JSON-lines format (:class:`Recording`, :class:`Frame`),
matching client frames, telling replies from data, and folding book levels."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Frame",
    "FrameDir",
    "Recording",
    "apply_levels",
    "classify_frames",
    "compact_json",
    "deflate_raw",
    "frame_keys",
    "inflate_raw",
    "is_reply",
    "sorted_levels",
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
        return [f for f, reply in classify_frames(self.frames) if f.dir == "recv" and not reply]

    def reply_map(self) -> dict[str, str]:
        """Map the match key of each client frame to the text of the reply that follows it.

        Useful as ``auto_reply`` for keep-alive exchanges that may happen at any time, e.g. the
        Bitstamp ``bts:heartbeat`` request and its reply.
        """
        replies: dict[str, str] = {}
        pending: frozenset[str] = frozenset()
        for frame, reply in classify_frames(self.frames):
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


def classify_frames(frames: Sequence[Frame]) -> list[tuple[Frame, bool]]:
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


def apply_levels(side: dict[Decimal, list[str]], levels: Iterable[Any]) -> None:
    # Levels are absolute: the amount replaces the level, zero removes it. The original strings
    # are kept so that snapshots look like the venue's own output.
    for level in levels:
        price, amount = str(level[0]), str(level[1])
        key = _dec(price)
        if _dec(amount) == 0:
            side.pop(key, None)
        else:
            side[key] = [price, amount]


def sorted_levels(side: dict[Decimal, list[str]], descending: bool) -> list[list[str]]:
    return [side[k] for k in sorted(side, reverse=descending)]
