"""Shared machinery of the stream benchmarks: a replayed venue session, a replay server in
its own process, and the three consumers compared (raw ccxt.pro, the typed stream, the paper
exchange's typed stream).

The sessions are the derived recordings repeated until they are long enough to time
(``adapters.replay.repeat_diff_session`` / ``repeat_depth_session``): Bitstamp
``diff_order_book_ethusd`` deltas (a REST snapshot first, as ccxt.pro fetches it) and BitMart
``spot/depth/increase100`` updates (raw-deflate compressed, as the venue sends them, compressed
once before the server starts so that the server is not the bottleneck).

Timing is race-free by construction: the timed part of the session is followed by one more
run of the same recording, so a consumer that was busy when the last timed frame was handled
(ccxt.pro wakes only pending watchers, so such a frame wakes nobody) is woken by the frames
after it, and the clock stops at the first book at or past the last timed frame. Nothing
waits on a timer for the session's end.
"""

from __future__ import annotations

import asyncio
import functools
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

from _common import ROOT, median, report
from aiohttp import web

from adapters import Credentials, OrderRequest, open_exchange
from adapters.replay import Frame, Recording, deflate_raw
from adapters.venues import get_venue
from adapters.venues.bitmart.replay import repeat_depth_session
from adapters.venues.bitstamp.replay import bitstamp_book, repeat_diff_session

VENUES = ("bitstamp", "bitmart")
SYMBOL = {"bitstamp": "ETH/USD", "bitmart": "ETH/USDT"}
CONFIG = {"enableRateLimit": False, "timeout_on_exit": 0}
WS = ROOT / "cassettes"
#: The derived BitMart session and ccxt's BitMart markets ship with the package.
SESSIONS = ROOT / "adapters" / "sessions"
#: Server frames sent before the server holds the session back for the client's first book
#: (Bitstamp's first book takes seven deltas and a REST snapshot).
HOLD = 20
#: A step bound only for a broken run (a consumer that never gets its book): a healthy run
#: never comes near it, and hitting it is reported as an error, not as a figure.
STUCK_S = 30.0


# -- the session ------------------------------------------------------------------------------


@functools.cache
def recording(venue: str, runs: int) -> Recording:
    """The venue's derived session with its data played ``runs`` times."""
    if venue == "bitstamp":
        rec = Recording.load(WS / "bitstamp/ws/diff_order_book_derived.jsonl")
        return repeat_diff_session(rec, runs)
    rec = Recording.load(SESSIONS / "bitmart/depth_increase100_derived.jsonl")
    return repeat_depth_session(rec, runs)


@functools.cache
def positions(venue: str, runs: int) -> list[int]:
    """Where each data frame leaves the book: Bitstamp's microtimestamp (ccxt's nonce),
    BitMart's ``ms_t`` (ccxt's timestamp)."""
    out = []
    for frame in recording(venue, runs).data_frames():
        data = frame.json()["data"]
        out.append(int(data["microtimestamp"]) if venue == "bitstamp" else int(data[0]["ms_t"]))
    return out


def book_position(venue: str) -> Callable[[Any], int]:
    """The position of a ccxt book (a mapping) or a typed :class:`OrderBook`."""
    key = "nonce" if venue == "bitstamp" else "timestamp"

    def where(book: Any) -> int:
        value = book[key] if isinstance(book, dict) else getattr(book, key)
        return int(value or 0)

    return where


def _rest_file(path: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _ws_frame(frame: Frame) -> bytes:
    """``frame`` as a server WebSocket frame on the wire (RFC 6455 5.2: FIN, opcode, length,
    no mask)."""
    payload, opcode = (frame.data, 0x2) if frame.data is not None else (
        (frame.text or "").encode("utf-8"), 0x1)  # fmt: skip
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, size))
    elif size < 1 << 16:
        head = bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big")
    return head + payload


class Venue:
    """A venue that sends a recorded session as fast as the client reads it (or at ``pace``
    frames per second), from frames encoded for the wire beforehand: a server that costs
    next to nothing per frame, so that the client's cost is what is measured.

    It answers the client's first frame (the subscribe) with the recording's replies, sends
    ``HOLD`` data frames, waits for :meth:`release` (``hold``) and sends the rest. REST:
    Bitstamp's markets and the order-book snapshot, folded from the frames sent so far (what
    the venue's book was at that moment).
    """

    def __init__(self, venue: str, runs: int, pace: float | None, hold: bool) -> None:
        rec = recording(venue, runs)
        if venue == "bitmart":  # BitMart compresses every frame (raw deflate)
            rec = Recording([Frame(f.dir, f.t, data=deflate_raw(f.payload().encode()))
                             if f.dir == "recv" and f.text else f for f in rec.frames])  # type: ignore[union-attr]  # fmt: skip
        data = rec.data_frames()
        is_data = {id(f) for f in data}
        self.replies = b"".join(_ws_frame(f) for f in rec.recv if id(f) not in is_data)
        self.wire = [_ws_frame(f) for f in data]
        self.data, self.venue, self.pace, self.hold = data, venue, pace, hold
        self.sent = 0
        self.released = asyncio.Event()
        if not hold:
            self.released.set()
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)  # loopback only
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def release(self) -> None:
        self.released.set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._stream(request)
        if request.path == "/api/v2/markets/":
            return web.json_response(_rest_file(WS / "bitstamp/ws/rest/markets.json")["response"])
        if request.path == "/api/v2/order_book/ethusd/":
            start = _rest_file(WS / "bitstamp/ws/rest/order_book_ethusd_derived.json")
            book = bitstamp_book(start["response"], self.data[: self.sent], "ethusd")
            return web.json_response(book)
        return web.json_response({"error": "no route"}, status=404)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        transport = request.transport
        assert transport is not None
        await ws.receive()  # the subscribe
        transport.write(self.replies)
        reader = asyncio.get_running_loop().create_task(self._drain_client(ws))
        try:
            await self._send(transport, HOLD)
            await self.released.wait()
            await self._send(transport, len(self.wire))
            await reader  # until the client goes
        finally:
            reader.cancel()
        return ws

    async def _send(self, transport: asyncio.BaseTransport, upto: int) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        clock, begin, first = time.monotonic, time.monotonic(), self.sent
        while self.sent < upto and not transport.is_closing():
            if self.pace is None:
                end = min(upto, self.sent + 256)
            else:  # the frames due by now, then a short sleep (bursts of about 1 ms)
                due = first + int((clock() - begin) * self.pace) + 1
                end = min(upto, max(due, self.sent))
            transport.write(b"".join(self.wire[self.sent : end]))
            self.sent = end
            # The client reads slower than this writes: wait for the buffer to empty (a raw
            # transport has no drain() to await).
            while transport.get_write_buffer_size() > 1 << 20:  # noqa: ASYNC110
                await asyncio.sleep(0.0005)
            await asyncio.sleep(0 if self.pace is None else 0.0005)

    async def _drain_client(self, ws: web.WebSocketResponse) -> None:
        async for _ in ws:  # later subscribes (the paper client's trades) get no answer
            pass


# -- the server, in its own process (a venue is not on the client's CPU) ---------------------


def _serve(conn: Connection) -> None:
    asyncio.run(_serve_commands(conn))


async def _serve_commands(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    server: Venue | None = None
    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        if command == "open":
            server = Venue(*args)
            await server.start()
            conn.send(server.port)
        elif command == "go" and server is not None:
            server.release()
            conn.send(None)
        elif command == "close":
            if server is not None:
                await server.close()
                server = None
            conn.send(None)
        elif command == "quit":
            return


class ServerProcess:
    """One replay server process for a whole benchmark; a fresh server per run."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.http_url = self.ws_url = ""

    def __enter__(self) -> ServerProcess:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.send(("quit",))
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()

    async def _ask(self, *command: Any) -> Any:
        self.conn.send(command)
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, self.conn.poll, STUCK_S)
        if not ready:
            raise TimeoutError(f"the replay server did not answer {command[0]!r}")
        return self.conn.recv()

    async def open(self, venue: str, runs: int, pace: float | None, hold: bool) -> None:
        port = await self._ask("open", venue, runs, pace, hold)
        self.http_url, self.ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"

    async def go(self) -> None:
        await self._ask("go")

    async def close(self) -> None:
        await self._ask("close")


# -- the consumers ------------------------------------------------------------------------------


def _point(venue: str, client: Any, srv: ServerProcess) -> None:
    get_venue(venue).point_at(client, srv.http_url, srv.ws_url)
    if venue == "bitmart":
        markets = json.loads((SESSIONS / "bitmart/markets.spot.json").read_text(encoding="utf-8"))
        client.set_markets(list(markets.values()))


class Consumer:
    """One way of reading books off the session. ``client`` is the ccxt.pro instance."""

    label = ""
    client: Any

    def __init__(self, venue: str) -> None:
        self.venue, self.symbol = venue, SYMBOL[venue]

    async def start(self, srv: ServerProcess) -> None:
        raise NotImplementedError

    async def next_book(self) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def live_position(self) -> int:
        book = (getattr(self.client, "orderbooks", None) or {}).get(self.symbol)
        return 0 if book is None else book_position(self.venue)(book)


class Raw(Consumer):
    """The unmodified ccxt.pro class (``ccxt.pro.<venue>``), what a user would otherwise use."""

    label = "raw ccxt.pro"

    async def start(self, srv: ServerProcess) -> None:
        import ccxt.pro

        self.client = getattr(ccxt.pro, self.venue)(dict(CONFIG))
        _point(self.venue, self.client, srv)

    async def next_book(self) -> Any:
        return await self.client.watch_order_book(self.symbol)

    async def close(self) -> None:
        await self.client.close()


class Typed(Consumer):
    """``Exchange.watch_order_book``: the adapter's client (with its fixes) and typed books."""

    label = "typed stream"
    depth: int | None = None

    async def start(self, srv: ServerProcess) -> None:
        self.ex = open_exchange(self.venue, credentials=Credentials(), config=dict(CONFIG))
        self.client = self.ex.client
        _point(self.venue, self.client, srv)
        self.stream = self.ex.watch_order_book(self.symbol, depth=self.depth)

    async def next_book(self) -> Any:
        return await anext(self.stream)

    async def close(self) -> None:
        await self.stream.aclose()  # type: ignore[attr-defined]
        await self.ex.close()


class Paper(Typed):
    """A paper exchange's ``watch_order_book`` with the engine fed every frame and
    ``RESTING`` resting orders (half bids under the book, half asks over it)."""

    label = "paper stream"
    RESTING = 100

    async def start(self, srv: ServerProcess) -> None:
        from adapters.paper.exchange import PaperExchange

        # Only currencies the venue's markets trade: the paper account refuses others.
        balances = {self.symbol.split("/")[1]: "100000000", "ETH": "100000"}
        self.ex = PaperExchange(self.venue, ledger=":memory:", config=dict(CONFIG),
                                initial_balances=balances)  # fmt: skip
        self.client = self.ex.client
        _point(self.venue, self.client, srv)
        self.stream = self.ex.watch_order_book(self.symbol)

    async def first_book(self) -> None:
        bid, ask = self.ex.engine.book_top(self.symbol)
        assert bid is not None and ask is not None
        for i in range(self.RESTING // 2):
            offset = Decimal("0.50") + Decimal(i) / 100
            for side, price in (("buy", bid - offset), ("sell", ask + offset)):
                await self.ex.create_order(OrderRequest(symbol=self.symbol, side=side,
                                           type="limit", amount="0.01", price=price))  # fmt: skip

    def check(self) -> None:
        resting = len(self.ex.engine.orders(open_only=True))
        assert resting == self.RESTING, f"{resting} resting orders, expected {self.RESTING}"


# -- one run -------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one run of one consumer measured."""

    frames: int
    wall_s: float
    cpu_s: float
    books: int
    #: Seconds from "ccxt has handled the latest frame" to "the book is in the caller's hands".
    latencies: list[float] = field(default_factory=list)

    @property
    def frames_per_s(self) -> float:
        """Frames per second of wall time."""
        return self.frames / self.wall_s

    @property
    def frames_per_cpu_s(self) -> float:
        """Frames per second of the client process's CPU time."""
        return self.frames / self.cpu_s


def _hook_handled(client: Any) -> list[float]:
    """Note when ccxt finished handling each frame (the last one is what a book shows).

    Set on the instance before the first watch: ccxt binds ``handle_message`` into its
    WebSocket client when it creates it.
    """
    handled = [0.0]
    handle, clock = client.handle_message, time.perf_counter

    def timed(ws: Any, message: Any) -> Any:
        result = handle(ws, message)
        handled[0] = clock()
        return result

    client.handle_message = timed
    return handled


async def run_once(
    consumer: Consumer,
    srv: ServerProcess,
    runs: int,
    timed_runs: int,
    pace: float | None,
    latency: bool = False,
) -> Run:
    """Play ``runs`` copies of the venue's session (the first ``timed_runs`` timed) to
    ``consumer``. Unpaced runs hold the session until the first book and time from its
    release; paced runs (for latency) stream from the start and sample every book after the
    first."""
    venue = consumer.venue
    where = book_position(venue)
    places = positions(venue, runs)
    final = places[len(places) * timed_runs // runs - 1]
    await srv.open(venue, runs, pace, hold=pace is None)
    try:
        await consumer.start(srv)
        handled = _hook_handled(consumer.client) if latency else None
        async with asyncio.timeout(STUCK_S):
            await consumer.next_book()  # the first book: the session is held until then
        if isinstance(consumer, Paper):
            await consumer.first_book()
        begin_position = consumer.live_position()
        clock, cpu = time.perf_counter, time.process_time
        samples: list[float] = []
        if pace is None:
            await srv.go()
        start, cpu_start, books = clock(), cpu(), 0
        while True:
            async with asyncio.timeout(STUCK_S):
                book = await consumer.next_book()
            now = clock()
            books += 1
            if handled is not None:
                samples.append(now - handled[0])
            if where(book) >= final:
                break
        wall, cpu_used = clock() - start, cpu() - cpu_start
        if isinstance(consumer, Paper):
            consumer.check()
        frames = sum(1 for p in places if begin_position < p <= final)
        return Run(frames, wall, cpu_used, books, samples)
    finally:
        try:
            await consumer.close()
        finally:
            await srv.close()


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


#: Unpaced sessions: about 30,000 frames timed, then one more run (see the module).
TIMED_RUNS = 100
RUNS = TIMED_RUNS + 1


async def compare(
    name: str, venue: str, ours_kind: type[Consumer], rounds: int = 7, **extra: object
) -> None:
    """Alternate rounds of ``ours_kind`` and raw ccxt.pro on the unpaced session; report
    frames per second of client CPU (see ``stream_throughput``)."""
    ours: list[Run] = []
    base: list[Run] = []
    with ServerProcess() as srv:
        await run_once(Raw(venue), srv, RUNS, TIMED_RUNS, None)  # warm-up, both processes
        for i in range(rounds):
            pair = [(Raw, base), (ours_kind, ours)]
            for kind, into in pair if i % 2 else reversed(pair):
                into.append(await run_once(kind(venue), srv, RUNS, TIMED_RUNS, None))
    ratios = sorted(
        o.frames_per_cpu_s / b.frames_per_cpu_s for o, b in zip(ours, base, strict=True)
    )
    report(
        name,
        median([r.frames_per_cpu_s for r in ours]),
        median([r.frames_per_cpu_s for r in base]),
        "frames/s (client CPU)",
        frames=ours[0].frames,
        wall_frames_per_s={
            "ours": round(median([r.frames_per_s for r in ours])),
            "baseline": round(median([r.frames_per_s for r in base])),
        },
        round_ratios=[round(ratios[0], 3), round(ratios[-1], 3)],
        client_cpu={
            "ours": round(median([r.cpu_s / r.wall_s for r in ours]), 2),
            "baseline": round(median([r.cpu_s / r.wall_s for r in base]), 2),
        },
        books={
            "ours": median([r.books for r in ours]),
            "baseline": median([r.books for r in base]),
        },
        **extra,
    )
