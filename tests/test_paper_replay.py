"""The offline demo, checked against the recording it ran on.

The demo runs on the recorded Bitstamp session through the replay server and the real ccxt.pro
client. Then, from the recording alone (the REST snapshot plus the frames, rebuilt with
``adapters.replay.bitstamp_book``), this test works out what the MARKET order and a resting
LIMIT_MAKER order should have filled, and compares with the ledger. Which frames each order
saw is fixed by the book nonce and last trade id the exchange reports when it places and
cancels an order.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from adapters.models import Fill, Order
from adapters.paper.demo import DemoReport, run_demo
from adapters.paper.session import DEMO_SESSION, shipped_sessions
from adapters.replay import Frame, Recording
from adapters.venues.bitstamp.replay import bitstamp_book

WS = shipped_sessions("bitstamp")
PAIR = "ethusd"
TAKER = D("0.004")  # ccxt 4.5.70's Bitstamp ETH/USD market fees: 0.4% maker and taker
MAKER = D("0.004")


def best_prices(initial: dict[str, Any], frames: list[Frame]) -> list[tuple[D | None, D | None]]:
    """Best bid and ask after each frame, kept as plain dicts (checked against the replay's
    own ``bitstamp_book`` at the end)."""
    bids = {D(p): D(a) for p, a in initial["bids"]}
    asks = {D(p): D(a) for p, a in initial["asks"]}
    micro = int(initial["microtimestamp"])
    out: list[tuple[D | None, D | None]] = []
    for frame in frames:
        obj = frame.json()
        data = obj["data"]
        if obj["event"] == "data" and int(data["microtimestamp"]) > micro:
            for levels, side in ((data["bids"], bids), (data["asks"], asks)):
                for p, a in levels:
                    if D(a):
                        side[D(p)] = D(a)
                    else:
                        side.pop(D(p), None)
        out.append((max(bids) if bids else None, min(asks) if asks else None))
    final = bitstamp_book(initial, frames, PAIR)
    assert out[-1] == (D(final["bids"][0][0]), D(final["asks"][0][0]))
    return out


def recording() -> tuple[dict[str, Any], list[Frame]]:
    rec = Recording.load(WS / f"{DEMO_SESSION}.jsonl")
    snapshot_file = WS / str(rec.meta["rest_snapshot"])
    initial = json.loads(snapshot_file.read_text(encoding="utf-8"))["response"]
    return initial, rec.data_frames()


def cut(frames: list[Frame], mark: dict[str, Any]) -> tuple[int, int]:
    """Indices of the last book frame and the last trade frame applied at ``mark``.

    They are separate: ccxt.pro takes Bitstamp's book from a REST snapshot that can be
    ahead of the trades still in flight, so the book and the trades each have their own cut.
    """
    book_cut = trade_cut = -1
    for i, frame in enumerate(frames):
        obj = frame.json()
        data = obj["data"]
        if obj["event"] == "data" and int(data["microtimestamp"]) == mark["book_nonce"]:
            book_cut = i
        if obj["event"] == "trade" and str(data["id"]) == str(mark["last_trade_id"]):
            trade_cut = i
    assert book_cut >= 0, mark
    assert trade_cut >= 0 or mark["last_trade_id"] is None, mark
    return book_cut, trade_cut


def side_levels(book: dict[str, Any], key: str) -> list[tuple[D, D]]:
    return [(D(p), D(a)) for p, a in book[key]]


async def demo(tmp_path: Path) -> tuple[DemoReport, list[Fill]]:
    out = io.StringIO()
    report = await run_demo(
        ledger=tmp_path / "demo.sqlite3",
        out=out,
        progress=False,
        client_config={"enableRateLimit": False, "timeout_on_exit": 0},
    )
    assert "paper demo summary" in out.getvalue()
    return report, report.fills


@pytest.mark.slow
async def test_demo_fills_match_an_independent_replay_of_the_recording(tmp_path: Path) -> None:
    report, fills = await demo(tmp_path)
    initial, frames = recording()

    # -- the MARKET buy: walk the asks of the book as it was when the order went in -------
    market = report.market_order
    assert market is not None and market.amount is not None
    book = bitstamp_book(initial, frames[: cut(frames, market.info)[0] + 1], PAIR)
    left, cost = market.amount, D(0)
    assert left is not None
    for price, size in side_levels(book, "asks"):
        take = min(left, size)
        cost += take * price
        left -= take
        if not left:
            break
    assert left == 0  # the book was deep enough
    (fill,) = [f for f in fills if f.order_id == market.id]
    assert (fill.amount, fill.cost, fill.fee) == (market.amount, cost, cost * TAKER)
    assert fill.price == (cost / market.amount).quantize(fill.price)
    assert fill.taker_or_maker == "taker"

    # -- resting LIMIT_MAKER orders filled by trades: re-run the queue rules by hand ------
    tops = best_prices(initial, frames)
    checked = skipped = 0
    for placed in report.placed:
        if (
            placed.type is None
            or placed.type.value != "LIMIT_MAKER"
            or placed.id not in {f.order_id for f in fills}
        ):
            continue
        final = report.orders[placed.id]
        expected = expected_trade_fills(placed, final, report, initial, frames, tops)
        if expected is None:
            skipped += 1  # the book crossed this order: the trade-only hand model does not apply
            continue
        got = [
            (f.price, f.amount, f.taker_or_maker, f.fee) for f in fills if f.order_id == placed.id
        ]
        assert got == expected, placed.id
        checked += 1
    assert checked >= 3, f"only {checked} resting orders to compare ({skipped} crossed)"


def expected_trade_fills(
    placed: Order,
    final: Order,
    report: DemoReport,
    initial: dict[str, Any],
    frames: list[Frame],
    tops: list[tuple[D | None, D | None]],
) -> list[tuple[D, D, str, D]] | None:
    """The fills the rules give a resting order, from the recording (None if crossed)."""
    assert placed.price is not None and placed.amount is not None
    book_start, trade_start = cut(frames, placed.info)
    cancels = [o for o in report.canceled if o.id == placed.id]
    book_end, trade_end = cut(frames, cancels[0].info) if cancels else (len(frames),) * 2
    buy = placed.side.value == "buy"
    book = bitstamp_book(initial, frames[: book_start + 1], PAIR)
    own = dict(side_levels(book, "bids" if buy else "asks"))
    queue = own.get(placed.price, D(0))  # visible size ahead when it joined
    # The book must never cross the order while it rests (that fill rule is not modelled here).
    for i in range(book_start + 1, min(book_end + 1, len(frames))):
        if frames[i].json()["event"] != "data":
            continue
        best_bid, best_ask = tops[i]
        if (
            (best_ask is not None and best_ask <= placed.price)
            if buy
            else (best_bid is not None and best_bid >= placed.price)
        ):
            return None
    left = placed.amount
    out: list[tuple[D, D, str, D]] = []
    for i in range(trade_start + 1, min(trade_end + 1, len(frames))):
        obj = frames[i].json()
        if obj["event"] != "trade":
            continue
        data = obj["data"]
        price, amount = D(data["price_str"]), D(data["amount_str"])
        aggressor_sells = data["type"] == 1
        if buy != aggressor_sells:
            continue  # a buyer does not hit our bid, a seller does not lift our ask
        if (price > placed.price) if buy else (price < placed.price):
            continue  # not at or through our price
        reach = amount
        if price == placed.price:
            if reach <= queue:
                queue -= reach
                continue
            reach -= queue
        queue = D(0)
        take = min(left, reach)
        out.append((placed.price, take, "maker", placed.price * take * MAKER))
        left -= take
        if not left:
            break
    assert final.filled == placed.amount - left
    return out
