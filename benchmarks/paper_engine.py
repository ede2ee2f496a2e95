"""paper_engine: the paper engine's throughput against the raw ccxt.pro stream, same recording.

The recording is the demo's Bitstamp session (``diff_order_book_ethusd`` deltas and
``live_trades_ethusd`` trades), repeated with shifted timestamps. The paper account holds 100
resting orders (50 bids below the book, 50 asks above it). Two measurements, each the median
of interleaved rounds:

``paper_engine.events_per_s``
    ours: the pure engine alone, fed the recording as ``BookDelta``/``PublicTrade`` events
    (built before timing); baseline: the raw ccxt.pro client handling the same frames, in
    books per second. Both in one process, no sockets.
``paper_engine.stream_books_per_s``
    ours: the paper client (the venue's ccxt.pro class with the paper taps) handling every
    frame and feeding the engine after each one; baseline: the raw ccxt.pro class handling
    the same frames. This is the paper stream's cost on top of ccxt.pro; target ratio >= 0.8.

End to end over a socket, with the typed stream on top: ``paper_stream``.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

from _common import ROOT, median, report

from adapters.enums import OrderType, Side
from adapters.paper.engine import (
    BookDelta,
    BookSnapshot,
    Engine,
    Event,
    MarketSpec,
    PlaceOrder,
    PublicTrade,
)
from adapters.paper.feed import EngineFeed, tap_client_class
from adapters.replay import Recording
from adapters.venues import get_venue

SYMBOL, PAIR = "ETH/USD", "ethusd"
WS = ROOT / "adapters" / "sessions" / "bitstamp"
SESSION = WS / "paper_demo_ethusd_derived.jsonl"
REPEAT = 8  # copies of the session in the long recording
ROUNDS = 5
SPEC = MarketSpec(SYMBOL, "ETH", "USD", Decimal("0.004"), Decimal("0.004"))
CONFIG = {"enableRateLimit": False, "timeout_on_exit": 0}


# -- the recording ------------------------------------------------------------------------------


def long_session() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The REST snapshot and the data frames repeated ``REPEAT`` times."""
    rec = Recording.load(SESSION)
    snapshot = json.loads((WS / str(rec.meta["rest_snapshot"])).read_text())["response"]
    data = [f.json() for f in rec.data_frames()]
    first = int(data[0]["data"]["microtimestamp"])
    span = int(data[-1]["data"]["microtimestamp"]) - first + 100_000
    trade_ids = [f["data"]["id"] for f in data if f["event"] == "trade"]
    id_span = max(trade_ids) - min(trade_ids) + 1
    frames: list[dict[str, Any]] = []
    for k in range(REPEAT):
        for obj in data:
            copy = json.loads(json.dumps(obj))
            d = copy["data"]
            micro = int(d["microtimestamp"]) + k * span
            d["microtimestamp"], d["timestamp"] = str(micro), str(micro // 1_000_000)
            if copy["event"] == "trade":
                d["id"] += k * id_span
            frames.append(copy)
    return snapshot, frames


def book_frames(frames: list[dict[str, Any]]) -> int:
    return sum(1 for f in frames if f["event"] == "data")


def resting_orders(engine: Engine, best_bid: Decimal, best_ask: Decimal) -> None:
    for i in range(50):
        engine.place(PlaceOrder(SYMBOL, Side.BUY, OrderType.LIMIT, Decimal("0.01"),
                                best_bid - Decimal("0.50") - Decimal(i) / 100, 0))  # fmt: skip
        engine.place(PlaceOrder(SYMBOL, Side.SELL, OrderType.LIMIT, Decimal("0.01"),
                                best_ask + Decimal("0.50") + Decimal(i) / 100, 0))  # fmt: skip


def paper_engine(snapshot: dict[str, Any]) -> Engine:
    engine = Engine([SPEC], balances={"USD": "1000000", "ETH": "1000"})
    engine.apply(BookSnapshot(SYMBOL, snapshot["bids"], snapshot["asks"], 0))
    resting_orders(engine, Decimal(snapshot["bids"][0][0]), Decimal(snapshot["asks"][0][0]))
    return engine


# -- in-process: raw ccxt.pro handle_message versus engine / paper client -------------------------


class _Client:
    """Stands in for ccxt's websocket client: handle_message only resolves futures on it."""

    subscriptions: dict[str, Any] = {}

    def resolve(self, *args: Any) -> None:
        pass

    def reject(self, *args: Any) -> None:
        pass


async def prepared(cls: type[Any], snapshot: dict[str, Any]) -> Any:
    """A client with markets loaded and the book initialised from ``snapshot``."""
    markets = json.loads(_markets_body())
    client = cls(dict(CONFIG))

    async def markets_answer(params: Any = None) -> Any:
        return markets

    client.publicGetMarkets = markets_answer
    await client.load_markets()
    for channel in (f"diff_order_book_{PAIR}", f"live_trades_{PAIR}"):
        ack = {"event": "bts:subscription_succeeded", "channel": channel, "data": {}}
        client.handle_message(_Client(), ack)
    book = client.parse_order_book(snapshot, SYMBOL, int(snapshot["timestamp"]) * 1000)
    book["nonce"] = int(snapshot["microtimestamp"])
    client.orderbooks[SYMBOL].reset(book)
    return client


def _markets_body() -> str:
    import yaml

    doc = yaml.safe_load((ROOT / "cassettes" / "bitstamp" / "load_markets.yaml").read_text())
    body: str = doc["interactions"][0]["response"]["body"]["string"]
    return body


def handle_all(client: Any, texts: list[str], start_nonce: int) -> float:
    handle, fake, loads = client.handle_message, _Client(), json.loads
    client.orderbooks[SYMBOL]["nonce"] = start_nonce
    begin = time.perf_counter()
    for text in texts:
        handle(fake, loads(text))
    return time.perf_counter() - begin


def engine_events(frames: list[dict[str, Any]]) -> list[Event]:
    events: list[Event] = []
    for f in frames:
        d = f["data"]
        if f["event"] == "data":
            ts = int(d["microtimestamp"]) // 1000
            events.append(BookDelta(SYMBOL, [tuple(x) for x in d["bids"]],
                                    [tuple(x) for x in d["asks"]], ts))  # fmt: skip
        else:
            side = Side.BUY if d["type"] == 0 else Side.SELL
            events.append(PublicTrade(SYMBOL, d["price"], d["amount"], side,
                                      int(d["microtimestamp"]) // 1000, str(d["id"])))  # fmt: skip
    return events


async def in_process(snapshot: dict[str, Any], frames: list[dict[str, Any]]) -> None:
    texts = [json.dumps(f, separators=(",", ":")) for f in frames]
    books = book_frames(frames)
    start_nonce = int(snapshot["microtimestamp"])
    base_cls = get_venue("bitstamp").client_class()
    raw = await prepared(base_cls, snapshot)
    tapped = await prepared(tap_client_class(base_cls), snapshot)
    engine = paper_engine(snapshot)
    feed = EngineFeed(tapped, engine, lambda result: None)
    feed.drain()
    tapped.paper_after_message = feed.after_message
    events = engine_events(frames)
    pure = paper_engine(snapshot)
    apply = pure.apply
    try:
        handle_all(raw, texts, start_nonce), handle_all(tapped, texts, start_nonce)  # warm-up
        raw_s, tap_s, pure_s = [], [], []
        for _ in range(ROUNDS):
            raw_s.append(handle_all(raw, texts, start_nonce))
            tap_s.append(handle_all(tapped, texts, start_nonce))
            begin = time.perf_counter()
            for event in events:
                apply(event)
            pure_s.append(time.perf_counter() - begin)
        assert len(engine.orders(open_only=True)) == 100, "the resting orders must stay resting"
        report("paper_engine.events_per_s", len(events) / median(pure_s),
               books / median(raw_s), "events/s (baseline: ccxt.pro books/s)",
               events=len(events), resting_orders=100)  # fmt: skip
        report("paper_engine.stream_books_per_s", books / median(tap_s), books / median(raw_s),
               "books/s", frames=len(texts), resting_orders=100, target_ratio=0.8)  # fmt: skip
    finally:
        await raw.close()
        await tapped.close()


async def main() -> None:
    snapshot, frames = long_session()
    await in_process(snapshot, frames)


if __name__ == "__main__":
    asyncio.run(main())
