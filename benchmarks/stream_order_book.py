"""stream_order_book: books per second delivered by the typed ``watch_order_book`` stream
versus a raw ccxt.pro ``watch_order_book`` loop, on the same recorded session.

The sessions are the derived ones, repeated until they are long enough to time
(``adapters.replay.repeat_diff_session`` / ``repeat_depth_session``): Bitstamp
``diff_order_book_ethusd`` deltas (a REST snapshot first, as ccxt.pro fetches it) and BitMart
``depth/increase100`` updates (raw-deflate compressed, as the venue sends them). A
:class:`~adapters.replay.ReplayServer` on 127.0.0.1 serves them from its own process (a venue
is not on the client's CPU) at a fixed offered rate (10,000 frames/s) and unpaced. The server
holds the session back until the client has its first book (for Bitstamp that takes seven
deltas and a REST snapshot), then the clock starts.

Both sides use the venue's ccxt.pro class with the adapter's fixes, so the difference is the
typed layer alone: the stream's loop, watchdog bookkeeping and the copy of every book into an
``OrderBook``. ccxt.pro wakes a watcher once per batch of frames it handles, so neither side
sees every frame; books per second is books handed to the caller, from the release of the
session to the book carrying its last change (``frames_per_s`` is how fast the client got
through the session). Unpaced, ccxt drains whole socket buffers at once, so books per second
counts batches and moves a lot from run to run; ``frames_per_s`` is the throughput there.
Rounds alternate; medians. Target at the paced rate: ratio (ours / raw) >= 0.9.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from _common import ROOT, median, report

from adapters import Credentials, open_exchange
from adapters.replay import Recording, RestResponse
from adapters.streams import StreamPolicy
from adapters.venues import get_venue
from adapters.venues.bitmart.replay import repeat_depth_session
from adapters.venues.bitstamp.replay import bitstamp_snapshot_route, repeat_diff_session
from tests.replay_faults import FaultyReplayServer

ROUNDS = 5
PACED = 10_000.0
REPEATS = 27  # about 8,000 frames a session
HOLD = 20  # frames the server sends before it waits for the client's first book
CONFIG = {"enableRateLimit": False, "timeout_on_exit": 0}
WS = ROOT / "cassettes"
#: The last frame may land while nobody waits (ccxt wakes only pending watchers): after this
#: long without a book the live book is checked instead.
STEP_TIMEOUT = 1.0


def rest_file(path: Any) -> RestResponse:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return RestResponse(doc.get("status") or 200, doc["response"])


def session(exchange: str) -> tuple[Recording, dict[str, Any]]:
    """The recording and its REST routes."""
    if exchange == "bitstamp":
        rec = repeat_diff_session(
            Recording.load(WS / "bitstamp/ws/diff_order_book_derived.jsonl"), REPEATS
        )
        start = json.loads((WS / "bitstamp/ws/rest/order_book_ethusd_derived.json").read_text())
        rest = {
            "GET /api/v2/markets/": rest_file(WS / "bitstamp/ws/rest/markets.json"),
            "GET /api/v2/order_book/ethusd/": bitstamp_snapshot_route(start["response"], "ethusd"),
        }
        return rec, rest
    rec = repeat_depth_session(
        Recording.load(WS / "bitmart/ws/depth_increase100_derived.jsonl"), REPEATS
    )
    return rec, {}


SYMBOL = {"bitstamp": "ETH/USD", "bitmart": "ETH/USDT"}


def position(exchange: str) -> Callable[[Any], int]:
    """Where a ccxt book is in the session: Bitstamp's nonce, BitMart's timestamp."""
    key = "nonce" if exchange == "bitstamp" else "timestamp"
    return lambda book: int(book[key] or 0)


def final_position(exchange: str, rec: Recording) -> int:
    last = rec.data_frames()[-1].json()["data"]
    if exchange == "bitstamp":
        return int(last["microtimestamp"])
    return int(last[0]["ms_t"])


# -- the server, in its own process ----------------------------------------------------------


def serve(exchange: str, pace: float | None, conn: Connection) -> None:
    asyncio.run(_serve(exchange, pace, conn))


async def _serve(exchange: str, pace: float | None, conn: Connection) -> None:
    rec, rest = session(exchange)
    loop = asyncio.get_running_loop()
    async with FaultyReplayServer(
        rec, rest=rest, pace=pace, compress=exchange == "bitmart", silent_after=HOLD
    ) as srv:
        conn.send(srv.port)
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            if command == "go":
                for _ in range(10_000):  # the hold starts after HOLD frames; "go" may be early
                    if srv.silent:
                        break
                    await asyncio.sleep(0.001)
                srv.resume_sending()


class Server:
    """A replay server process for one run."""

    def __init__(self, exchange: str, pace: float | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(exchange, pace, child), daemon=True)

    async def __aenter__(self) -> Server:
        self.process.start()
        loop = asyncio.get_running_loop()
        port = await loop.run_in_executor(None, self.conn.recv)
        self.http_url, self.ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.conn.send("stop")
        await asyncio.get_running_loop().run_in_executor(None, self.process.join, 10)

    def go(self) -> None:
        self.conn.send("go")


def prepare(exchange: str, client: Any, srv: Server) -> None:
    get_venue(exchange).point_at(client, srv.http_url, srv.ws_url)
    if exchange == "bitmart":
        markets = json.loads((WS / "bitmart/ws/markets.spot.json").read_text(encoding="utf-8"))
        client.set_markets(list(markets.values()))


# -- the two clients --------------------------------------------------------------------------


async def measure(
    next_book: Callable[[], Any],
    live_position: Callable[[], int],
    where: Callable[[Any], int],
    final: int,
    srv: Server,
    frames: int,
) -> tuple[float, float]:
    """(books/s, frames/s) from the release of the session to its last change."""
    await asyncio.wait_for(next_book(), 10.0)  # the first book: the session is held until then
    srv.go()
    start = time.perf_counter()
    books, last = 0, start
    while True:
        try:
            book = await asyncio.wait_for(next_book(), STEP_TIMEOUT)
        except TimeoutError:
            assert live_position() >= final, "the client stopped before the session's end"
            break
        books, last = books + 1, time.perf_counter()
        if where(book) >= final:
            break
    elapsed = last - start
    return books / elapsed, frames / elapsed


async def raw_run(exchange: str, pace: float | None) -> tuple[float, float]:
    rec, _ = session(exchange)
    where, symbol = position(exchange), SYMBOL[exchange]
    client = get_venue(exchange).client_class()(dict(CONFIG))
    async with Server(exchange, pace) as srv:
        prepare(exchange, client, srv)
        try:
            return await measure(
                lambda: client.watch_order_book(symbol),
                lambda: where(client.orderbooks[symbol]),
                where, final_position(exchange, rec), srv, len(rec.data_frames()),
            )  # fmt: skip
        finally:
            await client.close()


async def typed_run(exchange: str, pace: float | None) -> tuple[float, float]:
    rec, _ = session(exchange)
    where, symbol = position(exchange), SYMBOL[exchange]
    ex = open_exchange(exchange, credentials=Credentials(), config=dict(CONFIG))
    ex.stream_policy = StreamPolicy()
    key = "nonce" if exchange == "bitstamp" else "timestamp"
    async with Server(exchange, pace) as srv:
        prepare(exchange, ex.client, srv)
        stream = ex.watch_order_book(symbol)
        try:
            return await measure(
                lambda: anext(stream),
                lambda: where(ex.client.orderbooks[symbol]),
                lambda book: int(getattr(book, key) or 0),
                final_position(exchange, rec), srv, len(rec.data_frames()),
            )  # fmt: skip
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await ex.close()


async def main() -> None:
    for exchange in ("bitstamp", "bitmart"):
        for pace in (PACED, None):
            ours, base = [], []
            for _ in range(ROUNDS):
                base.append(await raw_run(exchange, pace))
                ours.append(await typed_run(exchange, pace))
            report(
                f"stream_order_book.{exchange}.{'paced_10k' if pace else 'unpaced'}",
                median([b for b, _ in ours]),
                median([b for b, _ in base]),
                "books/s",
                offered="10000 frames/s" if pace else "unpaced",
                frames=len(session(exchange)[0].data_frames()),
                frames_per_s={
                    "ours": round(median([f for _, f in ours])),
                    "baseline": round(median([f for _, f in base])),
                },
            )


if __name__ == "__main__":
    asyncio.run(main())
