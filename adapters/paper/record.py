"""Recording a live public session: ``adapters record EXCHANGE SYMBOL --seconds N --out FILE``.

:func:`record_session` records what a paper exchange reads, the order book and the public
trades of one symbol, through a :class:`~adapters.replay.relay.WsRecorder` on 127.0.0.1, into
a session that ``adapters paper demo --session FILE`` and ``PaperExchange(source=FILE)``
replay: the frames, the market (so the file needs nothing else), and the REST order book
ccxt took to start the book (Bitstamp's stream sends deltas only), in a file beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..capabilities import Stream, capabilities
from ..credentials import Credentials
from ..errors import InvalidInput
from ..exchange import Exchange
from ..replay.relay import WsRecorder

__all__ = ["RecordedFile", "record_session"]


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """What :func:`record_session` wrote."""

    path: Path
    frames: int
    books: int
    trades: int
    snapshot: Path | None


async def record_session(
    exchange_id: str,
    symbol: str,
    *,
    seconds: float,
    out: str | Path,
    upstream: str | None = None,
    http_url: str | None = None,
) -> RecordedFile:
    """Record ``symbol``'s order book and public trades on ``exchange_id`` for ``seconds``.

    Public data only: no keys are loaded or sent. ``upstream`` and ``http_url`` replace the
    venue's WebSocket origin and REST base (to rehearse against a local replay server).
    """
    if not seconds > 0:
        raise InvalidInput(f"seconds must be above 0, got {seconds}")
    live_id = capabilities(exchange_id).exchange_id
    target = Path(out)
    if target.suffix != ".jsonl":
        raise InvalidInput(f"the session file must end in .jsonl, got {target.name!r}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ex = Exchange(live_id, credentials=Credentials())  # public data: never any keys
    snapshots: list[tuple[str, Any]] = []
    counts = {"books": 0, "trades": 0}
    try:
        if http_url is not None:
            ex.venue.point_at(ex.client, http_url, None)
        market = await ex.market(symbol)
        origin = upstream or ex.venue.stream_topic(ex.client, Stream.ORDER_BOOK, symbol).url
        async with WsRecorder(origin) as relay:
            ex.venue.point_at(ex.client, None, relay.ws_url)
            _keep_book_snapshots(ex.client, snapshots)

            async def follow(kind: str, stream: Any) -> None:
                async with contextlib.aclosing(stream):
                    async for _ in stream:
                        counts[kind] += 1

            tasks = [
                asyncio.ensure_future(follow("books", ex.watch_order_book(market.symbol))),
                asyncio.ensure_future(follow("trades", ex.watch_trades(market.symbol))),
            ]
            done, _ = await asyncio.wait(tasks, timeout=seconds)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for task in done:
                task.result()  # a stream that failed before the time was up
            meta: dict[str, Any] = {
                "source": f"live recording {stamp} by 'adapters record {exchange_id} "
                f"{market.symbol} --seconds {seconds:g}' ({counts['books']} books, "
                f"{counts['trades']} trades)",
                "exchange": live_id,
                "symbol": market.symbol,
                "url": sorted(set(relay.urls)),
                "markets": {market.symbol: ex.client.markets[market.symbol]},
                "derived_by": "recorded live through a 127.0.0.1 relay; raw-deflate frames "
                "stored inflated",
            }
            snapshot = None
            if snapshots:
                # The first: the one the book started from (a later one would follow a
                # reconnect, and the replay rebuilds that from the first and the deltas).
                path, response = snapshots[0]
                snapshot = target.with_name(f"{target.stem}.order_book.json")
                meta["rest_snapshot"] = snapshot.name
                doc = {
                    "source": f"the REST order book ccxt fetched during the recording ({stamp})",
                    "method": "GET",
                    "path": path,
                    "status": 200,
                    "response": response,
                }
                target.parent.mkdir(parents=True, exist_ok=True)
                snapshot.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            recording = relay.recording(meta)
    finally:
        await ex.close()
    recording.save(target)
    return RecordedFile(target, len(recording.frames), counts["books"], counts["trades"], snapshot)


def _keep_book_snapshots(client: Any, into: list[tuple[str, Any]]) -> None:
    """Note the venue's REST answers to every order-book fetch the client makes (Bitstamp's
    book stream starts from one): the replay serves the snapshot back, so the recorded deltas
    apply to the same book. Which answers are a book's is ccxt's to say (whatever
    ``fetch_order_book`` fetched), not a URL pattern."""
    fetch, fetch_order_book = client.fetch, client.fetch_order_book
    in_book_fetch: contextvars.ContextVar[bool] = contextvars.ContextVar("book", default=False)

    async def book(*args: Any, **kwargs: Any) -> Any:
        token = in_book_fetch.set(True)
        try:
            return await fetch_order_book(*args, **kwargs)
        finally:
            in_book_fetch.reset(token)

    async def noting(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        answer = await fetch(url, method, headers, body)
        if in_book_fetch.get() and isinstance(answer, dict):
            into.append((urlsplit(url).path, answer))
        return answer

    client.fetch_order_book = book
    client.fetch = noting
