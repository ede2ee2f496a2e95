"""WebSocket fixes both venue clients share, and what a stream needs to know to let go of a
subscription.

ccxt 4.5.70's stream machinery has two venue-independent faults that make a stream hang:

* an exception inside a message handler kills ``Client.receive_loop`` (it runs as a done
  callback, where nobody sees the error), so every ``watch_*`` on that socket waits forever;
* after a server close frame ``Client.on_close`` runs twice, and ``Exchange.on_close`` deletes
  ``clients[url]`` by URL, so the second call removes the client a caller has re-subscribed
  with in between; that client keeps its socket and its futures are never resolved.

And one that starves REST calls: closing a connection waits up to 10 s (aiohttp's default)
for the peer's answering close frame, holding one of the session's 100 connection slots,
which REST calls share; a peer that never answers and a stream that keeps reconnecting use
them all up.

:func:`with_stream_fixes` returns a subclass of a venue client that turns handler exceptions
into a connection error the caller sees (:class:`StreamResync`, so the stream reconnects and
rebuilds), lets only the current client of a URL unregister itself, and closes connections
without waiting on the peer for more than :data:`CLOSE_WAIT` seconds.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt

__all__ = ["CLOSE_WAIT", "StreamResync", "StreamSilent", "StreamTopic", "with_stream_fixes"]

log = logging.getLogger("adapters.streams")


class StreamResync(ccxt.NetworkError):  # type: ignore[misc]
    """The stream's data can no longer be trusted on this connection (a book gap, a snapshot
    that does not fit, a frame that cannot be read, the venue asking to reconnect): the
    connection is dropped so that the stream reconnects, resubscribes and rebuilds."""


class StreamSilent(StreamResync):
    """The watchdog saw no frame on a channel for longer than its silence timeout."""


@dataclass(frozen=True, slots=True)
class StreamTopic:
    """One venue subscription as ccxt.pro keeps it, for tearing it down.

    ``url`` is the key of the ccxt client in ``exchange.clients``, ``subscribe_hash`` the key
    ccxt put in ``client.subscriptions`` (while it is there, ccxt never subscribes again),
    and ``unsubscribe`` the frame that ends the subscription on the venue's side.
    """

    url: str
    subscribe_hash: str
    unsubscribe: dict[str, Any] | None = None


def with_stream_fixes(base: type[Any]) -> type[Any]:
    """``base`` with a message-handler safety net and the stale-client guard (see module)."""

    base_handle_message = base.handle_message  # per frame: no super() lookup

    class StreamFixes(base):  # type: ignore[misc]
        #: Masks secrets in a frame quoted in a log or an error; the adapter's Exchange sets
        #: its :class:`~adapters.redact.Redactor` (a private channel names the user id).
        redact: Callable[[str], str] = str

        def handle_message(self, client: Any, message: Any) -> Any:
            try:
                return base_handle_message(self, client, message)
            except Exception as exc:
                # Raised here, the error would end ccxt's receive loop silently; as a
                # connection error it reaches every watcher, which reconnects.
                text = self.redact(str(message))
                log.warning("%s: frame handler failed (%s: %s) on %.200s", self.id,
                            type(exc).__name__, exc, text)  # fmt: skip
                error = StreamResync(
                    f"{self.id}: cannot read a frame ({type(exc).__name__}: {exc}): {text:.200}"
                )
                error.__cause__ = exc
                client.on_error(error)
                return None

        def client(self, url: str) -> Any:
            # ccxt builds its WebSocket clients itself: the bounded close goes on each one.
            ws = super().client(url)
            if "aiohttp_close" not in vars(ws):
                ws.aiohttp_close = functools.partial(_bounded_close, ws)
            return ws

        def on_close(self, client: Any, error: Any) -> None:
            if self.clients.get(client.url) is client:
                super().on_close(client, error)

        def on_error(self, client: Any, error: Any) -> None:
            if self.clients.get(client.url) is client:
                super().on_error(client, error)

    StreamFixes.__name__ = StreamFixes.__qualname__ = base.__name__
    return StreamFixes


#: Seconds a closing connection waits for the peer's answering close frame before the TCP
#: connection is dropped. aiohttp waits 10 s, holding one of the session's 100 connection
#: slots (shared with REST calls) all along; a peer that never answers, and a stream that
#: reconnects often, would starve the REST calls of the same client.
CLOSE_WAIT = 0.25


async def _bounded_close(ws: Any) -> None:
    """ccxt's ``Client.aiohttp_close`` with the wait for the peer bounded (see CLOSE_WAIT)."""
    connection = ws.connection
    if connection is not None and not connection.closed:
        try:
            # In this task, as ccxt's own close (no extra task delays the close frame); on
            # the timeout aiohttp closes the response, which releases the connection.
            async with asyncio.timeout(CLOSE_WAIT):
                await connection.close()
        except Exception as exc:  # TimeoutError included: the connection is released either way
            log.debug("closing %s: %s", ws.url, type(exc).__name__)
    if ws.ping_looper:
        ws.ping_looper.cancel()
