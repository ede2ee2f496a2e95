"""Deterministic replay (``speed="max"``), any recorded session in the demo, and
``adapters record``: a live public session recorded through a relay, rehearsed offline
against a replay server on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters import open_exchange
from adapters.cli import main
from adapters.models import Fill
from adapters.paper.demo import DemoConfig, DemoReport, run_demo, summary
from adapters.paper.exchange import PaperExchange
from adapters.paper.record import record_session
from adapters.paper.session import DEMO_SESSION, RecordedSession
from adapters.replay import Recording, ReplayServer
from adapters.venues import get_venue
from adapters.venues.bitstamp.replay import bitstamp_book

QUIET = {"enableRateLimit": False, "timeout_on_exit": 0}


def essentials(fills: list[Fill]) -> list[tuple[object, ...]]:
    """What a fill is, without the client order id (random by design, as live)."""
    return [
        (f.id, f.order_id, f.side, f.price, f.amount, f.cost, f.fee, f.taker_or_maker,
         f.timestamp)
        for f in fills
    ]  # fmt: skip


async def demo(config: DemoConfig | None = None) -> tuple[DemoReport, str]:
    out = io.StringIO()
    report = await run_demo(config=config, out=out, progress=False, client_config=QUIET)
    return report, out.getvalue()


@pytest.mark.slow
async def test_two_runs_give_the_same_fills_and_summary() -> None:
    first, text_one = await demo()
    second, text_two = await demo()
    assert len(first.fills) > 50 and first.market_order is not None
    assert essentials(first.fills) == essentials(second.fills)
    assert text_one == text_two
    assert summary(first, DemoConfig()) == summary(second, DemoConfig())
    # every book of the recording reached the strategy: none was skipped while it acted
    session = RecordedSession(DEMO_SESSION, get_venue("bitstamp"))
    books = [f for f in session.data_frames if json.loads(f.text or "{}").get("event") == "data"]
    assert first.book_updates <= len(books) and first.book_updates > len(books) * 0.9


async def test_streams_end_with_the_recording() -> None:
    session = RecordedSession(DEMO_SESSION, get_venue("bitstamp"))
    recorded = [
        str(obj["data"]["id"])
        for obj in (json.loads(f.text or "{}") for f in session.data_frames)
        if obj.get("event") == "trade"
    ]
    async with open_exchange(
        "bitstamp", paper=True, source=DEMO_SESSION, speed="max", ledger=":memory:", config=QUIET
    ) as ex:
        seen = []
        async for trade in ex.watch_trades("ETH/USD"):
            seen.append(trade.id)
            assert len(seen) <= len(recorded)
        assert ex.session is not None and ex.session.finished
    # The stream starts once the book is up (Bitstamp's needs a few deltas and a snapshot);
    # from there it has every recorded trade, once, in order, and then it ends.
    assert len(seen) > len(recorded) * 0.9
    assert seen == recorded[len(recorded) - len(seen) :]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"speed": "max"}, "speed is for a recorded session"),
        ({"source": DEMO_SESSION, "speed": 0}, "positive factor"),
        ({"source": DEMO_SESSION, "speed": "fast"}, "positive factor"),
        ({"source": DEMO_SESSION, "speed": 1, "replay_pace": 10.0}, "not both"),
    ],
)
def test_bad_speed_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PaperExchange("bitstamp", ledger=":memory:", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["paper", "demo", "--speed", "0"], "expected 'max' or a positive number"),
        (["paper", "demo", "--speed", "fast"], "expected 'max' or a positive number"),
        (["paper", "demo", "--exchange", "bitmart"], "--exchange needs --session FILE"),
        (["paper", "demo", "--session", "nope"], "no recorded bitstamp session 'nope'"),
        (["record", "bitstamp", "ETH/USD", "--out", "x.jsonl", "--seconds", "0"], "above 0"),
        (["record", "bitstamp", "ETH/USD", "--out", "x.json"], "must name a .jsonl file"),
        (["record", "nowhere", "ETH/USD", "--out", "x.jsonl"], "nowhere"),
    ],
)
def test_bad_demo_and_record_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2 and message in err


async def test_demo_on_another_exchanges_session() -> None:
    # BitMart takes no MARKET orders: the demo's taker buy is a LIMIT at the best ask
    cfg = DemoConfig(exchange="bitmart", session="depth_increase100_derived", symbol="ETH/USDT")
    report, text = await demo(cfg)
    market = report.market_order
    assert market is not None and market.type is not None and market.type.value == "LIMIT"
    assert "bitmart_paper_trade takes no MARKET orders" in text
    assert report.paper is not None and report.paper.taker.fills == 1


@pytest.mark.slow
async def test_a_recorded_session_replays_in_the_demo(tmp_path: Path) -> None:
    source = RecordedSession(DEMO_SESSION, get_venue("bitstamp"))
    # Paced like a venue, so ccxt takes its REST snapshot early on, as it does live.
    async with ReplayServer(source.recording, rest=source.rest, pace=400.0) as srv:
        done = await record_session(
            "bitstamp", "ETH/USD", seconds=3.0, out=tmp_path / "eth.jsonl",
            upstream=srv.ws_url, http_url=srv.http_url,
        )  # fmt: skip
        delivered = srv.delivered_data()
    assert done.path == tmp_path / "eth.jsonl" and done.snapshot is not None
    written = Recording.load(done.path)
    assert written.meta["symbol"] == "ETH/USD" and "ETH/USD" in written.meta["markets"]
    assert written.meta["rest_snapshot"] == done.snapshot.name
    # The relay kept every data frame the server sent, in order (acks aside).
    recv = [f.json() for f in written.recv]
    data = [r for r in recv if r.get("event") in ("data", "trade")]
    assert data == [f.json() for f in delivered] and len(data) == len(source.data_frames)
    # The snapshot ccxt took plus the recorded deltas give the source's final book.
    snapshot = json.loads(done.snapshot.read_text(encoding="utf-8"))
    assert snapshot["path"] == "/api/v2/order_book/ethusd/"
    initial = json.loads(
        (source.path.parent / str(source.recording.meta["rest_snapshot"])).read_text("utf-8")
    )["response"]
    assert bitstamp_book(snapshot["response"], written.data_frames(), "ethusd") == bitstamp_book(
        initial, source.data_frames, "ethusd"
    )

    # The demo runs on the file (found by path, with the market it carries), the same way twice.
    once, text = await demo(DemoConfig(session=done.path))
    twice, _ = await demo(DemoConfig(session=done.path))
    assert f"recorded session {done.path.stem}" in text
    assert len(once.fills) > 10 and essentials(once.fills) == essentials(twice.fills)


@pytest.mark.slow
async def test_a_real_time_speed_follows_the_recordings_clock() -> None:
    # 50x the recording's own clock: the strategy reacts to a moving market, as live, so only
    # what does not depend on timing is checked.
    report, text = await demo(DemoConfig(speed=50))
    assert "recorded session paper_demo_ethusd_derived at 50x its own clock" in text
    assert report.paper is not None and report.paper.fills > 10
    assert report.market_order is not None and report.market_order.filled == D("0.5")
