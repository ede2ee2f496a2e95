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
login frames before sending what followed them, compresses frames the way BitMart does, paces
frames, and serves the REST calls the client makes on the side (markets, order-book snapshot,
websocket token). The paper trading twin replays its recorded sessions through it.

The faults tests inject (dropping the connection at a frame, going silent, refusing or no
longer accepting connections) live with the tests, in ``tests/replay_faults.py``, as a
subclass using this server's hooks.

This module is standalone on purpose: it does not import the rest of ``adapters``. What is
venue-specific lives in the venue's folder: pointing a client at the server
(``Venue.point_at``), the REST routes a session needs (``Venue.replay_routes``) and the frames
sent on a reconnect (``Venue.replay_resume``), built on the book helpers here.
"""

from __future__ import annotations

from .recording import (
    Frame,
    FrameDir,
    Recording,
    apply_levels,
    classify_frames,
    compact_json,
    deflate_raw,
    frame_keys,
    inflate_raw,
    is_reply,
    sorted_levels,
)
from .server import ClientFrame, ReplayServer, RestHandler, RestRequest, RestResponse, ResumeHook

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
    "apply_levels",
    "classify_frames",
    "compact_json",
    "deflate_raw",
    "frame_keys",
    "inflate_raw",
    "is_reply",
    "sorted_levels",
]
