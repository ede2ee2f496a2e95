"""Bitstamp on the replay server: the REST answers a recorded session needs beside its
WebSocket frames, computed from what has been replayed so far.

Bitstamp's book channel sends deltas only, so ccxt fetches a REST snapshot: it is served with
every delta delivered so far applied (never older than a delta ccxt cached, as on the venue).
Ticker, public trades and candles are computed from the replayed trades.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ...replay import (
    Frame,
    Recording,
    ReplayServer,
    RestHandler,
    RestRequest,
    RestResponse,
    apply_levels,
    classify_frames,
    sorted_levels,
)

__all__ = ["bitstamp_book", "bitstamp_snapshot_route", "repeat_diff_session", "session_routes"]


def session_routes(recording: Recording, folder: Path) -> dict[str, RestResponse | RestHandler]:
    """The REST routes of a recorded session whose header names a ``rest_snapshot`` (a file
    in ``folder``): the order-book snapshot, ticker, public trades and candles of its pair."""
    snapshot_name = recording.meta.get("rest_snapshot")
    if not isinstance(snapshot_name, str):
        return {}
    doc = json.loads((folder / snapshot_name).read_text(encoding="utf-8"))
    path = str(doc["path"])
    pair = path.rstrip("/").rsplit("/", 1)[-1]
    initial: dict[str, Any] = doc["response"]
    symbol = recording.meta.get("symbol")
    return {
        f"GET {path}": bitstamp_snapshot_route(initial, pair),
        f"GET /api/v2/ticker/{pair}/": _bitstamp_ticker(initial, pair),
        f"GET /api/v2/transactions/{pair}/": _bitstamp_transactions(pair),
        f"GET /api/v2/ohlc/{pair}/": _bitstamp_ohlc(
            pair, symbol if isinstance(symbol, str) else None
        ),
    }


def bitstamp_book(initial: Mapping[str, Any], frames: Iterable[Frame], pair: str) -> dict[str, Any]:
    """The Bitstamp REST order-book response after applying ``diff_order_book_<pair>`` frames.

    ``initial`` is a ``/api/v2/order_book/<pair>/`` response; only data frames newer than its
    ``microtimestamp`` are applied (as ccxt does). The result carries the timestamp and
    microtimestamp of the last applied frame, so ccxt.pro treats it as taken right after it.
    """
    channel = "diff_order_book_" + pair
    bids: dict[Decimal, list[str]] = {}
    asks: dict[Decimal, list[str]] = {}
    apply_levels(bids, initial.get("bids", []))
    apply_levels(asks, initial.get("asks", []))
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
        apply_levels(bids, data.get("bids", []))
        apply_levels(asks, data.get("asks", []))
        micro = frame_micro
        timestamp = str(data.get("timestamp", micro // 1_000_000))
    return {
        "timestamp": timestamp,
        "microtimestamp": str(micro),
        "bids": sorted_levels(bids, descending=True),
        "asks": sorted_levels(asks, descending=False),
    }


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


def repeat_diff_session(recording: Recording, repeats: int) -> Recording:
    """A longer Bitstamp ``diff_order_book`` session: the data frames of ``recording``
    played ``repeats`` times in a row, each run shifted in time after the previous one.

    Diff levels are absolute amounts, so a repeated run is a valid diff stream and a fold of
    the result (:func:`bitstamp_book`) is well defined. For tests and benchmarks that need
    many frames; the result says so in ``meta['note']`` and is never written as a cassette.
    """
    head = [f for f, reply in classify_frames(recording.frames) if f.dir == "sent" or reply]
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


def _frames(server: ReplayServer, channel: str, event: str) -> list[dict[str, Any]]:
    out = []
    for frame in server.delivered_data():
        obj = frame.json()
        if isinstance(obj, dict) and obj.get("channel") == channel and obj.get("event") == event:
            data = obj.get("data")
            if isinstance(data, dict):
                out.append(data)
    return out


def _bitstamp_ticker(initial: Mapping[str, Any], pair: str) -> RestHandler:
    frozen = copy.deepcopy(dict(initial))

    def handler(server: ReplayServer, request: RestRequest) -> RestResponse:
        book = bitstamp_book(frozen, server.delivered_data(), pair)
        trades = _frames(server, f"live_trades_{pair}", "trade")
        prices = [Decimal(t["price_str"]) for t in trades]
        volume = sum((Decimal(t["amount_str"]) for t in trades), Decimal(0))
        notional = sum(
            (Decimal(t["price_str"]) * Decimal(t["amount_str"]) for t in trades), Decimal(0)
        )
        bid = book["bids"][0][0] if book["bids"] else None
        ask = book["asks"][0][0] if book["asks"] else None
        last = str(prices[-1]) if prices else None
        body = {
            "timestamp": book["timestamp"],
            "open": str(prices[0]) if prices else last,
            "high": str(max(prices)) if prices else last,
            "low": str(min(prices)) if prices else last,
            "last": last,
            "volume": str(volume),
            "vwap": str((notional / volume).quantize(Decimal("0.01"))) if volume else None,
            "bid": bid,
            "ask": ask,
            "side": "0" if trades and trades[-1].get("type") == 0 else "1",
            "open_24": str(prices[0]) if prices else last,
            "percent_change_24": None,
        }
        return RestResponse(200, body)

    return handler


def _bitstamp_transactions(pair: str) -> RestHandler:
    def handler(server: ReplayServer, request: RestRequest) -> RestResponse:
        trades = _frames(server, f"live_trades_{pair}", "trade")
        body = [
            {
                "date": t["timestamp"],
                "tid": str(t["id"]),
                "amount": t["amount_str"],
                "type": str(t["type"]),
                "price": t["price_str"],
            }
            for t in reversed(trades)  # the venue lists the newest first
        ]
        return RestResponse(200, body)

    return handler


def _bitstamp_ohlc(pair: str, symbol: str | None) -> RestHandler:
    def handler(server: ReplayServer, request: RestRequest) -> RestResponse:
        query = parse_qs(request.query)
        step = int(query.get("step", ["60"])[0])
        candles: dict[int, list[Decimal]] = {}
        for t in _frames(server, f"live_trades_{pair}", "trade"):
            start = int(t["timestamp"]) // step * step
            price, amount = Decimal(t["price_str"]), Decimal(t["amount_str"])
            c = candles.get(start)
            if c is None:
                candles[start] = [price, price, price, price, amount]
            else:
                c[1], c[2], c[3], c[4] = max(c[1], price), min(c[2], price), price, c[4] + amount
        ohlc = [
            {
                "timestamp": str(start),
                "open": str(o),
                "high": str(h),
                "low": str(lo),
                "close": str(c),
                "volume": str(v),
            }
            for start, (o, h, lo, c, v) in sorted(candles.items())
        ]
        return RestResponse(200, {"data": {"pair": symbol or pair, "ohlc": ohlc}})

    return handler
