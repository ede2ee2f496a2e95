"""Build the WebSocket recordings under cassettes/<exchange>/ws/.

Two jobs, both deterministic:

``python scripts/derive_ws_sessions.py``
    Re-derive the long sessions (``*_derived.jsonl``) from the seed frames copied into
    ``cassettes/<exchange>/ws/seeds/``. Reads nothing outside the repository.

``python scripts/derive_ws_sessions.py --check``
    Derive in memory and compare with the shipped files; exit 1 on any difference.

``python scripts/derive_ws_sessions.py --from-reference /work/shared/reference``
    (Run by hand.) Copy the captured frames from the reference folder into recordings and
    seeds, then derive. The project never reads the reference folder at run or test time.

Derivation rules (also written into each derived file's meta header):

* Bitstamp ``diff_order_book_ethusd``: frame 0 is the captured diff frame, unchanged. The price
  grid is the set of bid and ask prices of that frame (bids stay below asks, so the book never
  crosses); the size pool is its non-zero amounts. The REST snapshot the session needs has one
  level at every grid price, sized from the pool, stamped 1.5 s before frame 0. Each further
  frame advances the microtimestamp by 20-250 ms and touches 1-5 bid and 1-5 ask grid prices:
  a present level is removed (amount ``"0.00000000"``) with probability 0.25 while the side
  keeps more than 3 levels, otherwise it gets pool size x U{0.50..1.50}, 6 decimals.
* BitMart ``spot/depth/increase100:ETH_USDT``: frame 0 is the captured snapshot (version 4),
  unchanged. The price grid extends its best bid (23105) downward and best ask (23200) upward
  by the level gaps of the captured ccxt depth5 book, repeated (20 levels a side); the size pool
  is every size of the captured depth frames. Each ``update`` has version + 1 and ms_t + 60-140
  ms; each side, with probability 0.85, gets 1-4 grid prices: a present level is removed
  (size ``"0"``) with probability 0.2 while the side keeps more than 2 levels, otherwise it
  gets pool size x U{0.50..1.50}, 5 decimals.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import random
import sys
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.replay import Frame, FrameDir, Recording, compact_json  # noqa: E402

CASSETTES = ROOT / "cassettes"
SCRIPT = "scripts/derive_ws_sessions.py"
P = ParamSpec("P")
R = TypeVar("R")

BITSTAMP_SEED = CASSETTES / "bitstamp" / "ws" / "seeds" / "diff_order_book_ethusd.json"
BITSTAMP_DERIVED = CASSETTES / "bitstamp" / "ws" / "diff_order_book_derived.jsonl"
BITSTAMP_SNAPSHOT = CASSETTES / "bitstamp" / "ws" / "rest" / "order_book_ethusd_derived.json"
BITMART_SEED = CASSETTES / "bitmart" / "ws" / "seeds" / "depth_increase100_eth_usdt.json"
#: Shipped with the package (the README's offline stream example replays it).
BITMART_SHIPPED = ROOT / "adapters" / "sessions" / "bitmart"
BITMART_DERIVED = BITMART_SHIPPED / "depth_increase100_derived.jsonl"

BITSTAMP_RNG_SEED = 20260305
BITMART_RNG_SEED = 20231026
N_UPDATES = 300


# A fixed decimal context: the output must not depend on whatever context the caller (or
# another test in the same process) has set.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


def _fixed_context(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(_CONTEXT):
            return func(*args, **kwargs)

    return wrapper


def _scaled(rng: random.Random, pool: list[str], quantum: str) -> str:
    base = Decimal(rng.choice(pool))
    factor_percent = rng.randint(50, 150)
    q = Decimal(quantum)
    with localcontext(_CONTEXT):
        value = (base * Decimal(factor_percent) / Decimal(100)).quantize(q)
    if value <= 0:
        value = q
    return f"{value:f}"


# --------------------------------------------------------------------------------------------
# Bitstamp


@_fixed_context
def derive_bitstamp(
    seed: dict[str, Any], n_frames: int = N_UPDATES, rng_seed: int = BITSTAMP_RNG_SEED
) -> tuple[Recording, dict[str, Any]]:
    """Derive the Bitstamp diff_order_book session and the REST snapshot it starts from."""
    rng = random.Random(rng_seed)
    subscribe = seed["sent"][0]
    ack, first = seed["frames"][0], seed["frames"][1]
    data0 = first["data"]
    bid_grid = [str(level[0]) for level in data0["bids"]]
    ask_grid = [str(level[0]) for level in data0["asks"]]
    pool = [str(level[1]) for level in data0["bids"] + data0["asks"] if Decimal(str(level[1])) != 0]
    micro0 = int(data0["microtimestamp"])
    snap_micro = micro0 - 1_500_000
    snapshot = {
        "timestamp": str(snap_micro // 1_000_000),
        "microtimestamp": str(snap_micro),
        "bids": [[p, _scaled(rng, pool, "0.00000001")] for p in bid_grid],
        "asks": [[p, _scaled(rng, pool, "0.00000001")] for p in ask_grid],
    }
    books: dict[str, dict[Decimal, str]] = {
        "bids": {Decimal(p): a for p, a in snapshot["bids"]},
        "asks": {Decimal(p): a for p, a in snapshot["asks"]},
    }

    def apply(side: str, levels: list[list[str]]) -> None:
        for price, amount in levels:
            if Decimal(amount) == 0:
                books[side].pop(Decimal(price), None)
            else:
                books[side][Decimal(price)] = amount

    apply("bids", [[str(x[0]), str(x[1])] for x in data0["bids"]])
    apply("asks", [[str(x[0]), str(x[1])] for x in data0["asks"]])

    frames = [
        Frame.sent_json(subscribe, 0.0),
        Frame.recv_json(ack, 0.0),
        Frame.recv_json(first, 0.0),
    ]
    micro = micro0
    for _ in range(1, n_frames):
        micro += rng.randint(20_000, 250_000)
        sides: dict[str, list[list[str]]] = {}
        for side, grid in (("bids", bid_grid), ("asks", ask_grid)):
            levels: list[list[str]] = []
            for price in rng.sample(grid, rng.randint(1, 5)):
                key = Decimal(price)
                if key in books[side] and len(books[side]) > 3 and rng.random() < 0.25:
                    amount = "0.00000000"
                else:
                    amount = _scaled(rng, pool, "0.000001")
                levels.append([price, amount])
                apply(side, [[price, amount]])
            levels.sort(key=lambda lv: Decimal(lv[0]), reverse=(side == "bids"))
            sides[side] = levels
        message = {
            "data": {
                "timestamp": str(micro // 1_000_000),
                "microtimestamp": str(micro),
                "bids": sides["bids"],
                "asks": sides["asks"],
            },
            "channel": first["channel"],
            "event": "data",
        }
        frames.append(Frame.recv_json(message, round((micro - micro0) / 1_000_000, 6)))
    rule = __doc__.split("* Bitstamp", 1)[1].split("* BitMart", 1)[0].strip() if __doc__ else ""
    meta = {
        "source": seed["source"],
        "exchange": "bitstamp",
        "url": seed["url"],
        "derived_by": (
            f"{SCRIPT} derive_bitstamp(seed=cassettes/bitstamp/ws/seeds/"
            f"{BITSTAMP_SEED.name}, n_frames={n_frames}, rng_seed={rng_seed})"
        ),
        "rule": "Bitstamp " + " ".join(rule.split()),
        "rest_snapshot": "rest/" + BITSTAMP_SNAPSHOT.name,
        "note": "Frame 0 (after the ack) is the captured frame; the rest are synthetic.",
    }
    rest = {
        "source": "derived by "
        + SCRIPT
        + " from the seed frame (see meta.rule of "
        + BITSTAMP_DERIVED.name
        + ")",
        "method": "GET",
        "path": "/api/v2/order_book/ethusd/",
        "status": 200,
        "response": snapshot,
    }
    return Recording(frames=frames, meta=meta), rest


# --------------------------------------------------------------------------------------------
# BitMart


@_fixed_context
def derive_bitmart(
    seed: dict[str, Any], n_frames: int = N_UPDATES, rng_seed: int = BITMART_RNG_SEED
) -> Recording:
    """Derive the BitMart depth/increase100 session: captured snapshot, then updates."""
    rng = random.Random(rng_seed)
    subscribe = seed["sent"][0]
    ack, snap = seed["frames"][0], seed["frames"][1]
    element = snap["data"][0]
    book_ref = seed["gap_source_book"]
    ask_prices = [Decimal(str(x[0])) for x in book_ref["asks"]]
    bid_prices = [Decimal(str(x[0])) for x in book_ref["bids"]]
    gaps = [b - a for a, b in itertools.pairwise(ask_prices)]
    gaps += [a - b for a, b in itertools.pairwise(bid_prices)]
    best_ask = min(Decimal(str(x[0])) for x in element["asks"])
    best_bid = max(Decimal(str(x[0])) for x in element["bids"])
    levels_per_side = 20
    ask_grid, bid_grid = [best_ask], [best_bid]
    for i in range(levels_per_side - 1):
        ask_grid.append(ask_grid[-1] + gaps[i % len(gaps)])
        bid_grid.append(bid_grid[-1] - gaps[i % len(gaps)])
    grids = {
        "asks": [f"{p:.2f}" for p in ask_grid],
        "bids": [f"{p:.2f}" for p in bid_grid],
    }
    pool = [str(x[1]) for x in element["asks"] + element["bids"]]
    for extra in seed["size_source_books"]:
        pool += [str(x[1]) for x in extra["asks"] + extra["bids"]]

    books: dict[str, dict[Decimal, str]] = {
        "asks": {Decimal(str(p)): str(s) for p, s in element["asks"]},
        "bids": {Decimal(str(p)): str(s) for p, s in element["bids"]},
    }
    frames = [
        Frame.sent_json(subscribe, 0.0),
        Frame.recv_json(ack, 0.0),
        Frame.recv_json(snap, 0.0),
    ]
    ms0 = int(element["ms_t"])
    ms = ms0
    version = int(element["version"])
    for _ in range(1, n_frames):
        ms += rng.randint(60, 140)
        version += 1
        sides: dict[str, list[list[str]]] = {"asks": [], "bids": []}
        for side in ("asks", "bids"):
            if rng.random() >= 0.85:
                continue
            for price in rng.sample(grids[side], rng.randint(1, 4)):
                key = Decimal(price)
                if key in books[side] and len(books[side]) > 2 and rng.random() < 0.2:
                    size = "0"
                    books[side].pop(key)
                else:
                    size = _scaled(rng, pool, "0.00001")
                    books[side][key] = size
                sides[side].append([price, size])
            sides[side].sort(key=lambda lv: Decimal(lv[0]), reverse=(side == "bids"))
        if not sides["asks"] and not sides["bids"]:
            price = rng.choice(grids["asks"])
            size = _scaled(rng, pool, "0.00001")
            books["asks"][Decimal(price)] = size
            sides["asks"].append([price, size])
        message = {
            "data": [
                {
                    "asks": sides["asks"],
                    "bids": sides["bids"],
                    "ms_t": ms,
                    "symbol": element["symbol"],
                    "type": "update",
                    "version": version,
                }
            ],
            "table": snap["table"],
        }
        frames.append(Frame.recv_json(message, round((ms - ms0) / 1000, 6)))
    rule = __doc__.split("* BitMart", 1)[1].strip() if __doc__ else ""
    meta = {
        "source": seed["source"],
        "exchange": "bitmart",
        "url": seed["url"],
        "derived_by": (
            f"{SCRIPT} derive_bitmart(seed=cassettes/bitmart/ws/seeds/{BITMART_SEED.name}, "
            f"n_frames={n_frames}, rng_seed={rng_seed})"
        ),
        "rule": "BitMart " + " ".join(rule.split()),
        "note": "Frame 0 (after the ack) is the captured snapshot; the updates are synthetic.",
    }
    return Recording(frames=frames, meta=meta)


# --------------------------------------------------------------------------------------------
# Files


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def derived_files() -> dict[Path, str]:
    """Every derived file's path and expected text, computed from the shipped seeds."""
    bitstamp_seed = json.loads(BITSTAMP_SEED.read_text(encoding="utf-8"))
    bitmart_seed = json.loads(BITMART_SEED.read_text(encoding="utf-8"))
    bitstamp_rec, bitstamp_rest = derive_bitstamp(bitstamp_seed)
    return {
        BITSTAMP_DERIVED: bitstamp_rec.dumps(),
        BITSTAMP_SNAPSHOT: _json_text(bitstamp_rest),
        BITMART_DERIVED: derive_bitmart(bitmart_seed).dumps(),
    }


def _recording_from_reference(
    ref: Path,
    exchange: str,
    parts: list[tuple[str, str, int | None]],
    note: str | None = None,
) -> Recording:
    """Assemble a recording from reference files.

    ``parts`` is a list of ``(file, "sent"|"frames", index)``; ``index`` None takes all.
    """
    frames: list[Frame] = []
    sources: list[str] = []
    url = None
    for name, key, index in parts:
        doc = json.loads((ref / exchange / "ws" / name).read_text(encoding="utf-8"))
        url = url or doc.get("url")
        items = doc.get(key, [])
        chosen = list(enumerate(items)) if index is None else [(index, items[index])]
        for pos, item in chosen:
            frame_source = doc.get("source", "")
            if "frame_sources" in doc and key == "frames":
                frame_source = doc["frame_sources"][pos]
            label = f"{exchange}/ws/{name} {key}[{pos}]: {frame_source}"
            if label not in sources:
                sources.append(label)
            direction: FrameDir = "sent" if key == "sent" else "recv"
            frames.append(Frame(direction, 0.0, text=compact_json(item)))
    meta: dict[str, Any] = {
        "source": sources[0] if len(sources) == 1 else sources,
        "exchange": exchange,
        "url": url,
        "derived_by": (
            f"copied by {SCRIPT} --from-reference: frames verbatim from the reference files "
            "named in source (JSON re-serialised compactly, key order and values unchanged); "
            "timing was not captured, so t is 0"
        ),
    }
    if note:
        meta["note"] = note
    return Recording(frames=frames, meta=meta)


def build_from_reference(ref: Path) -> dict[Path, str]:
    """The copied (non-derived) recordings, seeds and REST support files."""
    out: dict[Path, str] = {}
    bs = CASSETTES / "bitstamp" / "ws"
    bm = CASSETTES / "bitmart" / "ws"

    def rec(
        path: Path, exchange: str, parts: list[tuple[str, str, int | None]], note: str | None = None
    ) -> None:
        out[path] = _recording_from_reference(ref, exchange, parts, note).dumps()

    def session(exchange: str, name: str) -> list[tuple[str, str, int | None]]:
        # The reference lists client and server frames apart; each client frame is followed
        # by its ack (same order), then the data frames come.
        doc = json.loads((ref / exchange / "ws" / name).read_text(encoding="utf-8"))
        parts: list[tuple[str, str, int | None]] = []
        for i in range(len(doc["sent"])):
            parts += [(name, "sent", i), (name, "frames", i)]
        parts += [(name, "frames", i) for i in range(len(doc["sent"]), len(doc["frames"]))]
        return parts

    # Bitstamp
    rec(bs / "live_trades.jsonl", "bitstamp", session("bitstamp", "live_trades.json"))
    rec(
        bs / "diff_order_book.jsonl",
        "bitstamp",
        session("bitstamp", "diff_order_book.json"),
        "One diff frame: ccxt.pro needs snapshotDelay + 1 deltas before it fetches the REST "
        "snapshot, so replay it with options['watchOrderBook']['snapshotDelay'] = 0 and "
        "rest/order_book_ethusd_derived.json as the starting book.",
    )
    rec(
        bs / "private_my_orders.jsonl",
        "bitstamp",
        session("bitstamp", "private_my_orders.json"),
        "Needs rest/websockets_token.json (token and user_id match the channel).",
    )
    rec(
        bs / "control_request_reconnect.jsonl",
        "bitstamp",
        [
            ("live_trades.json", "sent", 0),
            ("live_trades.json", "frames", 0),
            ("control_events.json", "frames", 1),
            ("live_trades.json", "frames", 1),
        ],
        'Assembled session: a bts:request_reconnect (channel "") arrives before a trade.',
    )
    rec(
        bs / "control_error.jsonl",
        "bitstamp",
        [("private_my_orders.json", "sent", 0), ("control_events.json", "frames", 0)],
        'Assembled session: a private subscribe answered by bts:error 4009 (channel "").',
    )
    rec(
        bs / "control_heartbeat.jsonl",
        "bitstamp",
        [
            ("live_trades.json", "sent", 0),
            ("live_trades.json", "frames", 0),
            ("heartbeat.json", "sent", 0),
            ("heartbeat.json", "frames", 0),
            ("live_trades.json", "frames", 1),
        ],
        'Assembled session: the client sends bts:heartbeat, the reply (channel "") arrives '
        "before a trade.",
    )
    for name in ("markets.json", "websockets_token.json"):
        doc = json.loads((ref / "bitstamp" / "rest" / name).read_text(encoding="utf-8"))
        doc["copied_from"] = f"reference bitstamp/rest/{name} (unchanged)"
        out[bs / "rest" / name] = _json_text(doc)
    seed = json.loads((ref / "bitstamp" / "ws" / "diff_order_book.json").read_text("utf-8"))
    seed["copied_from"] = "reference bitstamp/ws/diff_order_book.json (unchanged)"
    out[BITSTAMP_SEED] = _json_text(seed)

    # BitMart
    for name in ("trade", "depth5", "depth_increase100", "ticker", "kline", "user_balance"):
        rec(bm / f"{name}.jsonl", "bitmart", session("bitmart", f"{name}.json"))
    rec(
        bm / "login_user_orders.jsonl",
        "bitmart",
        session("bitmart", "user_orders.json"),
        "Login args are the fixture's placeholders; the replay server matches a login on "
        "'op' only.",
    )
    rec(
        bm / "login_error.jsonl",
        "bitmart",
        [("login.json", "sent", 0), ("errors_and_control.json", "frames", 0)],
        "Assembled session: a login answered by error 30013 Invalid sign.",
    )
    control = _recording_from_reference(
        ref,
        "bitmart",
        [
            ("ticker.json", "sent", 0),
            ("ticker.json", "frames", 0),
            ("ticker.json", "frames", 1),
            ("errors_and_control.json", "frames", 1),
            ("errors_and_control.json", "frames", 2),
        ],
        "Assembled session: ticker subscription and data, then an unsolicited error 30039, then "
        "the client's unsubscribe and its ack. The unsubscribe request itself was not captured: "
        "it is written from the format documented in the note of the reference "
        'errors_and_control.json ({"op": "unsubscribe", "args": [topic]}).',
    )
    unsubscribe = {"op": "unsubscribe", "args": ["spot/ticker:ETH_USDT"]}
    control.frames.insert(len(control.frames) - 1, Frame.sent_json(unsubscribe, 0.0))
    out[bm / "errors_and_control.jsonl"] = control.dumps()
    trade_ex = json.loads((ref / "bitmart" / "ws" / "trade_examples.json").read_text("utf-8"))
    trade_ex["copied_from"] = "reference bitmart/ws/trade_examples.json (unchanged)"
    out[bm / "seeds" / "trade_examples.json"] = _json_text(trade_ex)
    markets = json.loads(
        (ref / "bitmart" / "ccxt-static" / "markets.spot.json").read_text(encoding="utf-8")
    )
    out[BITMART_SHIPPED / "markets.spot.json"] = _json_text(markets)
    inc = json.loads((ref / "bitmart" / "ws" / "depth_increase100.json").read_text("utf-8"))
    depth5 = json.loads((ref / "bitmart" / "ws" / "depth5.json").read_text("utf-8"))
    bm_seed = {
        "source": inc["source"],
        "url": inc["url"],
        "copied_from": "reference bitmart/ws/depth_increase100.json sent/frames (unchanged); "
        "gap_source_book = depth5.json data_objects[0]; size_source_books = depth5.json "
        "data_objects[0] and frames[1].data[0]",
        "gap_source_book_source": depth5["data_objects_source"],
        "size_source_books_source": [depth5["data_objects_source"], depth5["source"]],
        "sent": inc["sent"],
        "frames": inc["frames"],
        "gap_source_book": depth5["data_objects"][0],
        "size_source_books": [depth5["data_objects"][0], depth5["frames"][1]["data"][0]],
    }
    out[BITMART_SEED] = _json_text(bm_seed)
    return out


def _write(files: dict[Path, str]) -> None:
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print("wrote", path.relative_to(ROOT))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--from-reference", type=Path, help="copy captured frames first")
    args = parser.parse_args(argv)
    if args.from_reference is not None:
        _write(build_from_reference(args.from_reference))
    files = derived_files()
    if args.check:
        bad = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
        for path in bad:
            print("differs:", path.relative_to(ROOT))
        return 1 if bad else 0
    _write(files)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
