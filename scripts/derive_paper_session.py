"""Derive the recorded Bitstamp session the offline paper demo runs on.

``python scripts/derive_paper_session.py``          write the session files
``python scripts/derive_paper_session.py --check``  derive in memory, exit 1 if they differ

Output (both derived, deterministic, byte-identical on every run):

* ``cassettes/bitstamp/ws/paper_demo_ethusd_derived.jsonl``: one WebSocket session with
  ``diff_order_book_ethusd`` and ``live_trades_ethusd``, in the replay format of
  :mod:`adapters.replay`;
* ``cassettes/bitstamp/ws/rest/paper_demo_order_book_ethusd_derived.json``: the REST order
  book the session starts from (ccxt.pro fetches it after the first deltas).

Inputs are the captured frames already copied into the repository (nothing outside it is read):
the real ``diff_order_book_ethusd`` frame of 2026-03-05 (``ws/seeds/diff_order_book_ethusd.json``)
and the real ``live_trades_ethusd`` frame (``ws/live_trades.jsonl``), both from the
JKorf/Bitstamp.Net test captures named in their ``source``.

Why derived: the captures hold one book frame and one trade, and a demo needs a market that
moves, trades through resting orders and refills. The rules, also written into the meta
header of the session:

* The REST snapshot holds the captured frame's levels; the levels the frame deletes (amount
  ``0.00000000``) are given a size from the frame's own size pool, so frame 0 (the captured
  frame, unchanged) really deletes them. It is stamped 1.5 s before frame 0.
* Then 420 steps, each 40-160 ms of market time after the previous one. With probability 0.3
  a step is a taker order: side buy with probability 0.5 + drift (drift is one of -0.35, 0,
  +0.35, redrawn every 60 steps), size = a pool size x U{0.05..0.60}; it walks the opposite
  side and prints one ``live_trades`` frame per level it touched (price and amount of that
  level, trade ids counting up from the captured trade's), then one diff frame with the new
  sizes of those levels. Otherwise it is maker activity: 1-4 changes on random sides, each
  adding a level 0-6 ticks behind the best (or one tick inside the spread when the spread is
  wider than a tick), resizing a level (x U{0.5..1.5}) or removing one (while the side keeps
  more than 6 levels). A side below 8 levels is refilled at its far end. Sizes have 6
  decimals like the captured frame; removals are written ``0.00000000`` like the capture.
* The recorded ``t`` is the market time in seconds since the first frame.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.replay import Frame, Recording, compact_json  # noqa: E402

WS = ROOT / "cassettes" / "bitstamp" / "ws"
SEED_BOOK = WS / "seeds" / "diff_order_book_ethusd.json"
SEED_TRADE = WS / "live_trades.jsonl"
# The demo's session is package data: the offline demo runs from an installed wheel.
SHIPPED = ROOT / "adapters" / "sessions" / "bitstamp"
SESSION = SHIPPED / "paper_demo_ethusd_derived.jsonl"
SNAPSHOT = SHIPPED / "rest" / "paper_demo_order_book_ethusd_derived.json"
SCRIPT = "scripts/derive_paper_session.py"

RNG_SEED = 20260305
STEPS = 420
PAIR = "ethusd"
TICK = Decimal("0.01")
SIZE_Q = Decimal("0.000001")
ZERO_TEXT = "0.00000000"

Side = dict[Decimal, Decimal]


def _rule() -> str:
    doc = __doc__ or ""
    return doc[doc.index("* The REST snapshot") :].strip()


def _load_seeds() -> tuple[dict[str, Any], dict[str, Any], str, str]:
    book_seed = json.loads(SEED_BOOK.read_text(encoding="utf-8"))
    book_frame = next(f for f in book_seed["frames"] if f.get("event") == "data")
    trade_rec = Recording.load(SEED_TRADE)
    trade_frame = next(
        f.json()
        for f in trade_rec.recv
        if isinstance(f.json(), dict) and f.json().get("event") == "trade"
    )
    # The seed recording names the files it was copied from ("<file> frames[0]: <public
    # source>"); the shipped session names only the public sources, once each.
    cited = trade_rec.meta.get("source", [])
    public = sorted({str(s).split(": ", 1)[-1] for s in cited})
    return book_frame, trade_frame, str(book_seed["source"]), "; ".join(public)


class Market:
    """The derived market: a Bitstamp-shaped book and a frame writer."""

    def __init__(self, rng: random.Random, pool: list[Decimal], micro: int, trade: dict[str, Any]):
        self.rng = rng
        self.pool = pool
        self.micro = micro
        self.bids: Side = {}
        self.asks: Side = {}
        self.trade_id = int(trade["id"])
        self.buy_order_id = int(trade["buy_order_id"])
        self.sell_order_id = int(trade["sell_order_id"])
        self.frames: list[Frame] = []
        self.t0 = micro

    # -- helpers --------------------------------------------------------------------------------

    def size(self, low: str = "0.5", high: str = "1.5") -> Decimal:
        base = self.rng.choice(self.pool)
        factor = Decimal(self.rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))) / 100
        return max(SIZE_Q, (base * factor).quantize(SIZE_Q))

    def best_bid(self) -> Decimal:
        return max(self.bids)

    def best_ask(self) -> Decimal:
        return min(self.asks)

    def t(self) -> float:
        return round((self.micro - self.t0) / 1_000_000, 6)

    def emit_diff(self, bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal]) -> None:
        def levels(changes: dict[Decimal, Decimal], descending: bool) -> list[list[str]]:
            out = []
            for price in sorted(changes, reverse=descending):
                amount = changes[price]
                out.append([f"{price:.2f}", ZERO_TEXT if amount == 0 else f"{amount:.6f}"])
            return out

        data = {
            "timestamp": str(self.micro // 1_000_000),
            "microtimestamp": str(self.micro),
            "bids": levels(bids, True),
            "asks": levels(asks, False),
        }
        obj = {"data": data, "channel": f"diff_order_book_{PAIR}", "event": "data"}
        self.frames.append(Frame(dir="recv", t=self.t(), text=compact_json(obj)))

    def emit_trade(self, price: Decimal, amount: Decimal, taker_buys: bool) -> None:
        self.trade_id += 1
        if taker_buys:
            self.buy_order_id += 7
        else:
            self.sell_order_id += 7
        number: float | int = int(price) if price == price.to_integral_value() else float(price)
        data = {
            "id": self.trade_id,
            "timestamp": str(self.micro // 1_000_000),
            "amount": float(amount),
            "amount_str": f"{amount:.6f}",
            "price": number,
            "price_str": f"{price:.2f}",
            "type": 0 if taker_buys else 1,
            "microtimestamp": str(self.micro),
            "buy_order_id": self.buy_order_id,
            "sell_order_id": self.sell_order_id,
        }
        obj = {"data": data, "channel": f"live_trades_{PAIR}", "event": "trade"}
        self.frames.append(Frame(dir="recv", t=self.t(), text=compact_json(obj)))

    # -- steps ----------------------------------------------------------------------------------

    def taker(self, buy: bool) -> None:
        book = self.asks if buy else self.bids
        left = self.size("0.05", "0.60")
        changed: dict[Decimal, Decimal] = {}
        for price in sorted(book, reverse=not buy):
            if left <= 0:
                break
            take = min(left, book[price])
            self.emit_trade(price, take, buy)
            book[price] -= take
            left -= take
            changed[price] = book[price]
            if book[price] == 0:
                del book[price]
        bids: dict[Decimal, Decimal] = {} if buy else changed
        asks: dict[Decimal, Decimal] = changed if buy else {}
        if not self.bids:
            price = self.best_ask() - TICK
            self.bids[price] = bids[price] = self.size()
        if not self.asks:
            price = self.best_bid() + TICK
            self.asks[price] = asks[price] = self.size()
        bids.update(self.refill_side(self.bids, True))
        asks.update(self.refill_side(self.asks, False))
        self.emit_diff(bids, asks)

    def maker(self) -> None:
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for _ in range(self.rng.randint(1, 4)):
            is_bid = self.rng.random() < 0.5
            book, changes = (self.bids, bids) if is_bid else (self.asks, asks)
            op = self.rng.random()
            if op < 0.4:
                spread_ticks = int((self.best_ask() - self.best_bid()) / TICK)
                if spread_ticks > 1 and self.rng.random() < 0.5:
                    price = self.best_bid() + TICK if is_bid else self.best_ask() - TICK
                else:
                    behind = TICK * self.rng.randint(0, 6)
                    price = self.best_bid() - behind if is_bid else self.best_ask() + behind
                book[price] = self.size()
                changes[price] = book[price]
            elif op < 0.75 or len(book) <= 6:
                price = self.rng.choice(sorted(book))
                factor = Decimal(self.rng.randint(50, 150)) / 100
                book[price] = max(SIZE_Q, (book[price] * factor).quantize(SIZE_Q))
                changes[price] = book[price]
            else:
                price = self.rng.choice(sorted(book))
                del book[price]
                changes[price] = Decimal(0)
        bids.update(self.refill_side(self.bids, True))
        asks.update(self.refill_side(self.asks, False))
        self.emit_diff(bids, asks)

    def refill_side(self, book: Side, is_bid: bool) -> dict[Decimal, Decimal]:
        added: dict[Decimal, Decimal] = {}
        while len(book) < 8:
            far = (
                min(book) - TICK * self.rng.randint(1, 5)
                if is_bid
                else max(book) + TICK * self.rng.randint(1, 5)
            )
            book[far] = self.size()
            added[far] = book[far]
        return added


def derive() -> tuple[str, str]:
    """The session's ``.jsonl`` text and the REST snapshot's JSON text."""
    book_frame, trade_frame, book_source, trade_source = _load_seeds()
    data = book_frame["data"]
    pool = [Decimal(a) for _, a in data["bids"] + data["asks"] if Decimal(a) > 0]
    rng = random.Random(RNG_SEED)
    first_micro = int(data["microtimestamp"])
    market = Market(rng, pool, first_micro, trade_frame["data"])

    snapshot_bids: dict[Decimal, str] = {}
    snapshot_asks: dict[Decimal, str] = {}
    for levels, target in ((data["bids"], snapshot_bids), (data["asks"], snapshot_asks)):
        for price, amount in levels:
            value = Decimal(amount)
            target[Decimal(price)] = amount if value > 0 else f"{market.size():.6f}"
    snapshot_micro = first_micro - 1_500_000
    snapshot = {
        "timestamp": str(snapshot_micro // 1_000_000),
        "microtimestamp": str(snapshot_micro),
        "bids": [[f"{p:.2f}", snapshot_bids[p]] for p in sorted(snapshot_bids, reverse=True)],
        "asks": [[f"{p:.2f}", snapshot_asks[p]] for p in sorted(snapshot_asks)],
    }
    # The book after frame 0 (the captured frame, sent unchanged).
    for levels, book in ((data["bids"], market.bids), (data["asks"], market.asks)):
        for price, amount in levels:
            if Decimal(amount) > 0:
                book[Decimal(price)] = Decimal(amount)
    market.frames.append(Frame(dir="recv", t=0.0, text=compact_json(book_frame)))

    drift = 0.0
    for step in range(STEPS):
        if step % 60 == 0:
            drift = rng.choice([-0.35, 0.0, 0.35])
        market.micro += rng.randint(40, 160) * 1000
        if rng.random() < 0.3:
            market.taker(buy=rng.random() < 0.5 + drift)
        else:
            market.maker()

    subscribe = [
        Frame.sent_json({"event": "bts:subscribe", "data": {"channel": f"diff_order_book_{PAIR}"}}),
        Frame.recv_json(
            {
                "event": "bts:subscription_succeeded",
                "channel": f"diff_order_book_{PAIR}",
                "data": {},
            }
        ),
        Frame.sent_json({"event": "bts:subscribe", "data": {"channel": f"live_trades_{PAIR}"}}),
        Frame.recv_json(
            {"event": "bts:subscription_succeeded", "channel": f"live_trades_{PAIR}", "data": {}}
        ),
    ]
    meta = {
        "source": [f"diff_order_book seed: {book_source}", f"live_trades seed: {trade_source}"],
        "exchange": "bitstamp",
        "symbol": "ETH/USD",
        "url": "wss://ws.bitstamp.net",
        "derived_by": f"{SCRIPT} (rng_seed={RNG_SEED}, steps={STEPS})",
        "rule": _rule(),
        "rest_snapshot": "rest/" + SNAPSHOT.name,
        "note": "Frame 0 after the acks is the captured diff frame; every later frame is derived.",
    }
    session = Recording(frames=subscribe + market.frames, meta=meta).dumps()
    rest = {
        "source": f"derived by {SCRIPT} from the captured frame (see the session's meta.rule)",
        "method": "GET",
        "path": f"/api/v2/order_book/{PAIR}/",
        "status": 200,
        "response": snapshot,
    }
    return session, json.dumps(rest, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare with the shipped files")
    args = parser.parse_args(argv)
    session, rest = derive()
    if args.check:
        same = (
            SESSION.read_text(encoding="utf-8") == session
            and SNAPSHOT.read_text(encoding="utf-8") == rest
        )
        print("paper demo session is up to date" if same else "paper demo session differs")
        return 0 if same else 1
    SESSION.write_text(session, encoding="utf-8")
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(rest, encoding="utf-8")
    print(f"wrote {SESSION.relative_to(ROOT)} and {SNAPSHOT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
