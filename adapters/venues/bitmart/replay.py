"""BitMart on the replay server: books folded from ``depth/increase`` frames, and the fresh
snapshot the venue sends when a client reconnects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ...replay import Frame, Recording, apply_levels, classify_frames, sorted_levels

__all__ = ["bitmart_book_resume", "bitmart_books", "repeat_depth_session"]


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
            apply_levels(asks, element.get("asks", []))
            apply_levels(bids, element.get("bids", []))
            last["ms_t"] = element.get("ms_t")
            last["version"] = element.get("version")
    return {
        symbol: {
            "asks": sorted_levels(asks, descending=False),
            "bids": sorted_levels(bids, descending=True),
            "ms_t": last.get("ms_t"),
            "symbol": symbol,
            "type": "snapshot",
            "version": last.get("version"),
        }
        for symbol, (asks, bids, last) in state.items()
    }


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


def repeat_depth_session(recording: Recording, repeats: int) -> Recording:
    """A longer BitMart ``depth/increase`` session: the first data frame (the snapshot), then
    the updates of ``recording`` played ``repeats`` times with ``version`` and ``ms_t``
    counting on, so a client sees one unbroken sequence. See :func:`repeat_diff_session`.
    """
    head = [f for f, reply in classify_frames(recording.frames) if f.dir == "sent" or reply]
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
