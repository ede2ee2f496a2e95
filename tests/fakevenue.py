"""A fault-injecting fake Bitstamp / BitMart spot venue on 127.0.0.1, for the safety tests.

It speaks the endpoints the adapter uses for orders (create, query by id and by client order
id, cancel) plus markets, ticker, order book, balance and (BitMart) server time, in the
venues' real wire shapes, and holds the orders it accepted so a test can count them.

Wire shapes are copied from ``../shared/reference`` at the time of writing (tests never read
that folder); each constant names its source file there, and that file names the original
source (ccxt 4.5.70 sample responses, ccxt's static test data, BitMart's docs). Where no
capture exists the payload is built from the venue's documented codes and ccxt 4.5.70's
exception-table comments, and says so.

Faults, chosen per request from a seeded ``random.Random`` (or scripted per endpoint group):

- ``drop``: the venue does the work (an order is placed), then closes the connection.
- ``delay``: the venue does the work, then answers after ``delay`` seconds (past the
  client's timeout).
- ``late``: the venue reads the whole request, sits on it for ``late`` seconds (past the
  client's timeout, and past a quick lookup), then does the work and answers into the closed
  connection: a loaded venue. Not in ``NETWORK_FAULTS``; the order tests add it.
- ``accept_5xx``: the venue does the work, then a gateway answers 502 with an HTML page.
- ``5xx``: 503 HTML page; nothing done.
- ``rate_limit``: the venue's own rate-limit error (Bitstamp ``400.002``, BitMart ``30013``
  with HTTP 429) and a ``Retry-After`` header; nothing done.
- ``http_429``: a bare 429 with ``Retry-After`` and a text body; nothing done.
- ``reject`` / ``auth``: a definite refusal (the venue's order rejection / bad API key);
  nothing done.
- malformed answers, after doing the work: ``truncated`` JSON, ``html`` (200 with a web
  page), ``empty`` body, JSON ``null``, ``missing_fields``, ``wrong_types``.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from adapters import Credentials, open_exchange
from adapters.exchange import Exchange
from adapters.retry import RetryPolicy

NETWORK_FAULTS = ("drop", "delay", "accept_5xx", "5xx", "rate_limit", "http_429")
#: What creates meet in the order tests: the network faults and a venue that acts late.
ORDER_FAULTS = (*NETWORK_FAULTS, "late")
#: Faults after which the venue has done the work (an order placed or cancelled).
AFTER_WORK = ("drop", "delay", "accept_5xx")
MALFORMED = ("truncated", "html", "empty", "null", "missing_fields", "wrong_types")
REFUSALS = ("reject", "auth")

# Definite refusals, verbatim from the reference captures named.
_REFUSAL = {
    ("bitstamp", "reject"): (400, {"status": "error", "reason": {"__all__": [
        "Minimum order size is 5.0 EUR."]}}),  # bitstamp/rest/error_minimum_order_size.json
    ("bitstamp", "auth"): (403, {"status": "error", "reason": "API key not found",
                                 "code": "API0001"}),  # bitstamp/rest/error_api_key_not_found.json
    ("bitmart", "reject"): (400, {"message": "param not match : size * price >=5",
                                  "code": 51011, "trace": "525e1d27bfd34d60b2d90ba13a7c0aa9.74"
                                  ".16696421352220797", "data": {}}),  # bitmart error_min_notional
    ("bitmart", "auth"): (401, {"trace": "9c86bb5a7d8c4a619be12c78f93f59e2.74.17365023000776832",
                                "code": 30005, "data": {},
                                "message": "Header X-BM-SIGN is wrong"}),  # error_sign_wrong.json
}  # fmt: skip

DUMMY = Credentials(api_key="fakeVenueKey123", api_secret="fakeVenueSecret456", memo="fakeMemo789")

#: Tiny waits so the fault tests stay fast; the bounds are still real bounds.
FAST = RetryPolicy(
    attempts=6,
    max_time=3.0,
    initial_backoff=0.005,
    max_backoff=0.05,
    jitter=0.5,
    order_attempts=4,
    settle=0.0,
    order_lookup_window=1.0,
)

_HTML_503 = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
_HTML_503 += "<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
_HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>"
_HTML_502 += "<center><h1>502 Bad Gateway</h1></center></body></html>"
_HTML_200 = "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>"
_HTML_200 += "<p>We'll be back soon.</p></body></html>"

# -- Bitstamp wire data ------------------------------------------------------------------------

# bitstamp/rest/markets.json (elements verbatim: BTC/USD, ETH/USD, BTC/USDT).
BITSTAMP_MARKETS = [
    {"name": "BTC/USD", "market_symbol": "btcusd", "base_currency": "BTC", "base_decimals": 8,
     "counter_currency": "USD", "counter_decimals": 0, "minimum_order_value": "10",
     "trading": "Enabled", "instant_order_counter_decimals": 2,
     "instant_and_market_orders": "Enabled", "description": "Bitcoin / U.S. dollar",
     "market_type": "SPOT"},
    {"name": "ETH/USD", "market_symbol": "ethusd", "base_currency": "ETH", "base_decimals": 6,
     "counter_currency": "USD", "counter_decimals": 2, "minimum_order_value": "10.00",
     "trading": "Enabled", "instant_order_counter_decimals": 2,
     "instant_and_market_orders": "Enabled", "description": "Ethereum / U.S. dollar",
     "market_type": "SPOT"},
    {"name": "BTC/USDT", "market_symbol": "btcusdt", "base_currency": "BTC", "base_decimals": 8,
     "counter_currency": "USDT", "counter_decimals": 0, "minimum_order_value": "10",
     "trading": "Enabled", "instant_order_counter_decimals": 2,
     "instant_and_market_orders": "Enabled", "description": "Bitcoin / Tether",
     "market_type": "SPOT"},
]  # fmt: skip
# bitstamp/rest/ticker.json
BITSTAMP_TICKER = {
    "timestamp": "1710328241", "open": "71448", "high": "73656", "low": "68626",
    "last": "73285", "volume": "135.29692054", "vwap": "70853", "bid": "73353", "ask": "73367",
    "side": "0", "open_24": "72144", "percent_change_24": "1.58",
}  # fmt: skip
# bitstamp/rest/order_book.json
BITSTAMP_BOOK = {
    "timestamp": "1583652948", "microtimestamp": "1583652948955826",
    "bids": [["8750.00", "1.33685271"], ["8749.39", "0.07700000"]],
    "asks": [["8754.10", "1.51995636"], ["8754.71", "1.40000000"]],
}  # fmt: skip
# bitstamp/rest/account_balances.json
BITSTAMP_BALANCES = [{"currency": "usdt", "total": "7.00000", "available": "7.00000",
                      "reserved": "0.00000"}]  # fmt: skip
#: First order id: the cancel_order.json capture's id (order ids are large integers).
BITSTAMP_FIRST_ID = 1453282316578816

# -- BitMart wire data -------------------------------------------------------------------------

# bitmart/rest/account_v1_currencies.json
BITMART_CURRENCIES = {
    "message": "OK", "code": 1000, "trace": "619294ecef584282b26a3be322b1e01f.66.17403093228242229",
    "data": {"currencies": [{
        "currency": "BTC", "name": "Bitcoin", "recharge_minsize": "0.00000001",
        "contract_address": None, "network": "BTC", "withdraw_enabled": True,
        "deposit_enabled": True, "withdraw_minsize": "0.0003", "withdraw_minfee": "9.61",
        "withdraw_fee_estimate": "9.61", "withdraw_fee": "0.0001"}]},
}  # fmt: skip
# bitmart/rest/spot_v1_symbols_details.json
BITMART_SYMBOLS = {
    "message": "OK", "code": 1000, "trace": "a67c9146-086d-4d3f-9897-5636a9bb26e1",
    "data": {"symbols": [{
        "symbol": "BTC_USDT", "symbol_id": 53, "base_currency": "BTC", "quote_currency": "USDT",
        "base_min_size": "0.000010000000000000000000000000",
        "base_max_size": "100000000.000000000000000000000000000000",
        "price_min_precision": -1, "price_max_precision": 2, "quote_increment": "0.00001",
        "expiration": "NA", "min_buy_amount": "5.000000000000000000000000000000",
        "min_sell_amount": "5.000000000000000000000000000000", "trade_status": "trading"}]},
}  # fmt: skip
# bitmart/rest/ticker.json
BITMART_TICKER = {
    "code": "1000", "trace": "328fc9dcd3c84888bf573d4038eee4be.108.17172400530034865",
    "message": "success",
    "data": {"symbol": "BTC_USDT", "last": "71257.99", "v_24h": "8222.21532",
             "qv_24h": "583939083.43", "open_24h": "70892.25", "high_24h": "71660.00",
             "low_24h": "70119.89", "fluctuation": "0.00516", "bid_px": "71257.99",
             "bid_sz": "0.00531", "ask_px": "71258", "ask_sz": "0.00398",
             "ts": "1717737574061"},
}  # fmt: skip
# bitmart/rest/books.json (first two levels a side kept)
BITMART_BOOK = {
    "code": 1000, "message": "success",
    "data": {"ts": "1695264191808", "symbol": "BTC_USDT",
             "asks": [["26942.57", "0.06492"], ["26942.73", "0.05447"]],
             "bids": [["26942.45", "0.00074"], ["26941.53", "0.00371"]]},
    "trace": "430a7f69581d4258a8e4b424dfb10782.73.16952341919017619",
}  # fmt: skip
# bitmart/rest/spot_v1_wallet.json (two rows kept)
BITMART_WALLET = {
    "message": "OK", "code": "1000",
    "trace": "d536b57d32174fa688417c03c10826f2.116.17230279959966225",
    "data": {"wallet": [
        {"id": "USDT", "name": "Tether USD", "available": "19.62994956", "frozen": "0.00000000",
         "total": "19.62994956"},
        {"id": "BTC", "name": "Bitcoin", "available": "0.00039000", "frozen": "0.00000000",
         "total": "0.00039000"}]},
}  # fmt: skip
#: First order id: the submit_order_limit.json capture's id.
BITMART_FIRST_ID = 209626977087068257

#: Clock windows: Bitstamp's X-Auth nonce/timestamp is valid 150 s (its API docs); BitMart's
#: X-BM-TIMESTAMP must be "within a minute" (ccxt 4.5.70's comment on code 30007).
CLOCK_WINDOW_MS = {"bitstamp": 150_000, "bitmart": 60_000}


@dataclass
class Logged:
    """One request as the venue saw it."""

    method: str
    path: str
    group: str
    body: dict[str, Any]
    fault: str | None = None


@dataclass
class VenueOrder:
    """An order the venue accepted."""

    id: str
    client_order_id: str | None
    symbol: str
    side: str
    type: str
    amount: str | None
    price: str | None
    status: str = "open"  # open | filled | canceled
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))


class FakeVenue:
    """The fake venue. Use ``async with FakeVenue("bitstamp") as venue:``."""

    def __init__(
        self,
        exchange_id: str,
        *,
        seed: int = 0,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] = NETWORK_FAULTS,
        fault_groups: Iterable[str] = ("create", "query", "cancel", "ticker"),
        delay: float = 0.4,
        late: float = 0.5,
        retry_after: str | None = "0.01",
        clock_offset_ms: int = 0,
        reported_clock_offset_ms: int | None = None,
        unique_client_ids: bool = True,
    ) -> None:
        assert exchange_id in ("bitstamp", "bitmart")
        self.exchange_id = exchange_id
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        self.fault_groups = frozenset(fault_groups)
        self.delay = delay
        self.late = late
        self.retry_after = retry_after
        self.clock_offset_ms = clock_offset_ms
        #: What the venue tells about its clock (Date header, /system/time), when it lies.
        self.reported_clock_offset_ms = reported_clock_offset_ms
        #: Both venues have an error code for a taken client order id (Bitstamp 400.019,
        #: BitMart 50042), but Bitstamp guarantees no check; False accepts repeats, so a
        #: re-send of an order the venue already took shows up as a second order.
        self.unique_client_ids = unique_client_ids
        self.orders: list[VenueOrder] = []
        self.requests: list[Logged] = []
        self.faults: Counter[str] = Counter()
        self._script: dict[str, list[str]] = {}
        self._next_id = BITSTAMP_FIRST_ID if exchange_id == "bitstamp" else BITMART_FIRST_ID
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (``port``, or a free one); returns the base URL."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Handlers of delayed answers may still be sleeping at shutdown: do not wait long.
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeVenue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> str:
        """Serve from a background thread's event loop (for code that runs ``asyncio.run``)."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._thread_loop = loop
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fakevenue", daemon=True)
        self._thread.start()
        assert ready.wait(10), "fake venue did not start"
        return self.url

    def stop_thread(self) -> None:
        """Stop a venue started with :meth:`start_in_thread`."""
        if self._thread_loop is not None and self._thread is not None:
            self._thread_loop.call_soon_threadsafe(self._thread_loop.stop)
            self._thread.join(10)

    # -- test controls -----------------------------------------------------------------------

    def script(self, group: str, *faults: str | None) -> None:
        """Force the faults (None: none) of the next requests of ``group``, in order."""
        self._script.setdefault(group, []).extend(f or "" for f in faults)

    def unscript(self, group: str) -> None:
        """Drop the faults still queued for ``group``."""
        self._script.pop(group, None)

    def fill(self, order_id: str) -> None:
        """Mark an open order filled, as if the market traded through it."""
        self.order(order_id).status = "filled"

    def order(self, order_id: str) -> VenueOrder:
        """The venue's order by id."""
        return next(o for o in self.orders if o.id == str(order_id))

    async def quiet(self, within: float = 5.0) -> None:
        """Wait (at most ``within`` seconds) until no request is being handled, so late work
        has landed before a test counts orders."""
        async with asyncio.timeout(within):
            await self._idle.wait()

    def count(self, group: str) -> int:
        """Requests received for an endpoint group."""
        return sum(1 for r in self.requests if r.group == group)

    def exchange(
        self,
        *,
        policy: RetryPolicy = FAST,
        timeout_ms: int = 200,
        credentials: Credentials = DUMMY,
        **kw: Any,
    ) -> Exchange:
        """An adapter pointed at this venue (no ccxt rate limiter, short timeouts)."""
        config = {"enableRateLimit": False, "timeout_on_exit": 0, **kw.pop("config", {})}
        ex = open_exchange(
            self.exchange_id,
            credentials=credentials,
            retry=policy,
            timeout_ms=timeout_ms,
            config=config,
            **kw,
        )
        ex.venue.point_at(ex.client, http_url=self.url)
        return ex

    # -- plumbing ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def _draw(self, group: str) -> str | None:
        queued = self._script.get(group)
        if queued:
            return queued.pop(0) or None
        if group in self.fault_groups and self.fault_rate and self.rng.random() < self.fault_rate:
            return self.rng.choice(self.fault_kinds)
        return None

    def _reported_ms(self) -> int:
        offset = self.reported_clock_offset_ms
        return self._now_ms() if offset is None else int(time.time() * 1000) + offset

    def _headers(self) -> dict[str, str]:
        return {"Date": email.utils.formatdate(self._reported_ms() / 1000, usegmt=True)}

    def _json(self, payload: Any, status: int = 200) -> web.Response:
        return web.Response(
            text=json.dumps(payload, separators=(",", ":")),
            status=status,
            content_type="application/json",
            headers=self._headers(),
        )

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._answer(request)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        raw_body = await request.read()
        body: dict[str, Any] = {}
        if raw_body:
            if request.content_type == "application/json":
                loaded = json.loads(raw_body)
                body = loaded if isinstance(loaded, dict) else {}
            else:
                body = dict((await request.post()).items())
        route = (
            self._bitstamp_route(request)
            if self.exchange_id == "bitstamp"
            else self._bitmart_route(request)
        )
        group, work, private = route
        fault = self._draw(group)
        self.requests.append(Logged(request.method, request.path, group, body, fault))
        if fault:
            self.faults[fault] += 1
        if group == "unknown":
            return web.Response(status=404, text="Not Found", headers=self._headers())
        if private and (clock := self._clock_error(request)) is not None:
            return clock
        if fault == "5xx":
            return web.Response(status=503, text=_HTML_503, content_type="text/html")
        if fault in ("rate_limit", "http_429"):
            return self._rate_limited(fault)
        if fault in REFUSALS:
            status, refusal = _REFUSAL[self.exchange_id, fault]
            return self._json(refusal, status)
        if fault == "late":
            # The client gave up on this request; the venue still takes it, later.
            await asyncio.sleep(self.late)
        status, payload = work(request, body)
        if fault == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200, text="")
        if fault == "delay":
            await asyncio.sleep(self.delay)
        if fault == "accept_5xx":
            return web.Response(status=502, text=_HTML_502, content_type="text/html")
        if fault in MALFORMED:
            return self._malformed(fault, payload)
        return self._json(payload, status)

    def _rate_limited(self, fault: str) -> web.Response:
        headers = self._headers()
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        if fault == "http_429":
            return web.Response(status=429, text="Too Many Requests", headers=headers)
        if self.exchange_id == "bitstamp":
            # Documented code and explanation (no captured payload exists); the envelope is
            # Bitstamp's error shape {"status": "error", "reason": ..., "response_code": ...}.
            payload: dict[str, Any] = {
                "status": "error",
                "reason": "Request rejected due to exceeded rate limit.",
                "response_code": "400.002",
            }
            status = 400
        else:
            # Code, message and HTTP status from ccxt 4.5.70's BitMart exception table.
            payload = {"message": "Request too many requests", "code": 30013,
                       "trace": "fake-rate-limit", "data": {}}  # fmt: skip
            status = 429
        return web.Response(
            text=json.dumps(payload), status=status, content_type="application/json",
            headers=headers,
        )  # fmt: skip

    def _malformed(self, fault: str, payload: Any) -> web.Response:
        headers = self._headers()
        if fault == "truncated":
            text = json.dumps(payload)
            return web.Response(text=text[: max(1, len(text) // 2)], headers=headers,
                                content_type="application/json")  # fmt: skip
        if fault == "html":
            return web.Response(text=_HTML_200, content_type="text/html", headers=headers)
        if fault == "empty":
            return web.Response(text="", content_type="application/json", headers=headers)
        if fault == "null":
            return web.Response(text="null", content_type="application/json", headers=headers)
        if fault == "missing_fields":
            return self._json(_strip(payload))
        assert fault == "wrong_types", fault
        return self._json(_mistype(payload))

    def _clock_error(self, request: web.Request) -> web.Response | None:
        header = "X-Auth-Timestamp" if self.exchange_id == "bitstamp" else "X-BM-TIMESTAMP"
        stamp = request.headers.get(header)
        if stamp is None or not stamp.isdigit():
            return None
        if abs(int(stamp) - self._now_ms()) <= CLOCK_WINDOW_MS[self.exchange_id]:
            return None
        if self.exchange_id == "bitstamp":
            # The code is Bitstamp's documented API0017; no captured payload exists, so the
            # envelope is the captured auth-error shape (error_invalid_nonce.json).
            return self._json({"status": "error", "reason": "Invalid timestamp",
                               "code": "API0017"}, 403)  # fmt: skip
        # Code, message and HTTP status from ccxt 4.5.70's BitMart exception table.
        return self._json({"message": "Header X-BM-TIMESTAMP range. Within a minute",
                           "code": 30007, "trace": "fake-clock", "data": {}}, 401)  # fmt: skip

    # -- Bitstamp ----------------------------------------------------------------------------

    def _bitstamp_route(self, request: web.Request) -> tuple[str, Any, bool]:
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["api", "v2"]:
            return "unknown", None, False
        rest = parts[2:]
        if rest == ["markets"]:
            return "markets", lambda r, b: (200, BITSTAMP_MARKETS), False
        if len(rest) == 2 and rest[0] == "ticker":
            return "ticker", lambda r, b: (200, BITSTAMP_TICKER), False
        if len(rest) == 2 and rest[0] == "order_book":
            return "book", lambda r, b: (200, BITSTAMP_BOOK), False
        if rest == ["account_balances"]:
            return "balance", lambda r, b: (200, BITSTAMP_BALANCES), True
        if rest and rest[0] in ("buy", "sell") and len(rest) in (2, 3):
            kind = "market" if len(rest) == 3 and rest[1] == "market" else "limit"
            pair = rest[-1]
            return "create", lambda r, b: self._bitstamp_create(rest[0], kind, pair, b), True
        if rest == ["order_status"]:
            return "query", lambda r, b: self._bitstamp_status(b), True
        if rest == ["cancel_order"]:
            return "cancel", lambda r, b: self._bitstamp_cancel(b), True
        return "unknown", None, False

    def _bitstamp_symbol(self, pair: str) -> str:
        return next(m["name"] for m in BITSTAMP_MARKETS if m["market_symbol"] == pair)

    def _bitstamp_create(
        self, side: str, kind: str, pair: str, body: Mapping[str, Any]
    ) -> tuple[int, Any]:
        cid = body.get("client_order_id")
        if self.unique_client_ids and cid and any(o.client_order_id == cid for o in self.orders):
            # Documented response code and explanation; validation-error envelope as in the
            # captured error_minimum_order_size.json.
            return 400, {"status": "error",
                         "reason": {"__all__": ["Provided client_order_id already exists."]},
                         "response_code": "400.019"}  # fmt: skip
        order = VenueOrder(self._new_id(), cid, self._bitstamp_symbol(pair), side, kind,
                           body.get("amount"), body.get("price"))  # fmt: skip
        self.orders.append(order)
        # Shape of buy_limit_order_hummingbot.json (market, datetime with micros, string
        # type "0"/"1", client_order_id).
        return 200, {
            "id": order.id,
            "market": order.symbol,
            "datetime": _bitstamp_datetime(order.created_ms),
            "type": "0" if side == "buy" else "1",
            "price": order.price or "0",
            "amount": order.amount,
            "client_order_id": cid or "",
        }

    def _bitstamp_find(self, body: Mapping[str, Any]) -> VenueOrder | None:
        if body.get("client_order_id"):
            return next(
                (o for o in self.orders if o.client_order_id == body["client_order_id"]), None
            )
        return next((o for o in self.orders if o.id == str(body.get("id"))), None)

    def _bitstamp_status(self, body: Mapping[str, Any]) -> tuple[int, Any]:
        order = self._bitstamp_find(body)
        if order is None:
            # error_order_not_found.json
            return 404, {"status": "error", "reason": "Order not found."}
        status = {"open": "Open", "filled": "Finished", "canceled": "Canceled"}[order.status]
        base, quote = (c.lower() for c in order.symbol.split("/"))
        transactions = []
        if order.status == "filled":
            # Transaction row shape of order_status_finished.json.
            price = order.price or "73285"
            quote_amount = str(Decimal(price) * Decimal(order.amount or "0"))
            transactions.append({
                "fee": "0.01", "price": price, "datetime": _bitstamp_datetime(order.created_ms),
                quote: quote_amount, "tid": 209895701, base: order.amount, "type": 2,
            })  # fmt: skip
        return 200, {
            "id": int(order.id),
            "datetime": _bitstamp_datetime(order.created_ms),
            "type": "0" if order.side == "buy" else "1",
            "status": status,
            "market": order.symbol,
            "transactions": transactions,
            "amount_remaining": "0.00000000" if order.status == "filled" else order.amount,
            "client_order_id": order.client_order_id or "",
        }

    def _bitstamp_cancel(self, body: Mapping[str, Any]) -> tuple[int, Any]:
        order = self._bitstamp_find(body)
        if order is None or order.status != "open":
            # Bitstamp cancels open orders only; anything else is "Order not found."
            # (error_order_not_found.json notes cancel_order answers the same).
            return 404, {"status": "error", "reason": "Order not found."}
        order.status = "canceled"
        # cancel_order.json: integer id and type.
        return 200, {"id": int(order.id), "amount": order.amount, "price": order.price,
                     "type": 0 if order.side == "buy" else 1, "market": order.symbol}  # fmt: skip

    # -- BitMart -----------------------------------------------------------------------------

    def _bitmart_route(self, request: web.Request) -> tuple[str, Any, bool]:
        path = request.path
        if path == "/account/v1/currencies":
            return "markets", lambda r, b: (200, BITMART_CURRENCIES), False
        if path == "/spot/v1/symbols/details":
            return "markets", lambda r, b: (200, BITMART_SYMBOLS), False
        if path == "/system/time":
            # system_time.json, with this venue's clock.
            return "time", lambda r, b: (200, self._server_time()), False
        if path == "/spot/quotation/v3/ticker":
            return "ticker", lambda r, b: (200, BITMART_TICKER), False
        if path == "/spot/quotation/v3/books":
            return "book", lambda r, b: (200, BITMART_BOOK), False
        if path == "/spot/v1/wallet":
            return "balance", lambda r, b: (200, BITMART_WALLET), True
        if path == "/spot/v2/submit_order":
            return "create", lambda r, b: self._bitmart_create(b), True
        if path in ("/spot/v4/query/client-order", "/spot/v4/query/order"):
            return "query", lambda r, b: self._bitmart_query(b), True
        if path == "/spot/v3/cancel_order":
            return "cancel", lambda r, b: self._bitmart_cancel(b), True
        return "unknown", None, False

    def _server_time(self) -> dict[str, Any]:
        return {"message": "OK", "code": 1000, "trace": "fake-trace",
                "data": {"server_time": self._reported_ms()}}  # fmt: skip

    def _envelope(self, data: Any) -> dict[str, Any]:
        # submit_order_docs.json / query_order_new.json envelope.
        return {"code": 1000, "message": "OK", "trace": "fake-trace", "data": data}

    def _bitmart_error(self, code: int, message: str) -> tuple[int, Any]:
        # error_order_does_not_exist.json shape.
        return 400, {"message": message, "code": code, "trace": "fake-trace", "data": {}}

    def _bitmart_create(self, body: Mapping[str, Any]) -> tuple[int, Any]:
        cid = body.get("client_order_id")
        if self.unique_client_ids and cid and any(o.client_order_id == cid for o in self.orders):
            # Code and message from ccxt 4.5.70's BitMart exception table.
            return self._bitmart_error(50042, "clientOrderId is duplicate")
        symbol = str(body.get("symbol", "")).replace("_", "/")
        order = VenueOrder(self._new_id(), cid, symbol, str(body.get("side")),
                           str(body.get("type")), body.get("size"), body.get("price"))  # fmt: skip
        self.orders.append(order)
        return 200, self._envelope({"order_id": order.id})

    def _bitmart_find(self, body: Mapping[str, Any]) -> VenueOrder | None:
        if body.get("clientOrderId"):
            return next(
                (o for o in self.orders if o.client_order_id == body["clientOrderId"]), None
            )
        key = body.get("orderId") or body.get("order_id")
        return next((o for o in self.orders if o.id == str(key)), None)

    def _bitmart_query(self, body: Mapping[str, Any]) -> tuple[int, Any]:
        order = self._bitmart_find(body)
        if order is None:
            return self._bitmart_error(50005, "Order Id not found")
        filled = order.status == "filled"
        # query_order_new.json / query_order_filled_docs.json
        return 200, self._envelope({
            "orderId": order.id, "clientOrderId": order.client_order_id or order.id,
            "symbol": order.symbol.replace("/", "_"), "side": order.side, "orderMode": "spot",
            "type": order.type, "state": {"open": "new", "filled": "filled",
                                          "canceled": "canceled"}[order.status],
            "price": order.price or "0.00", "priceAvg": order.price if filled else "0.00",
            "size": order.amount, "filledSize": order.amount if filled else "0.00000",
            "notional": "5.28000000", "filledNotional": "5.28000000" if filled else "0.00000000",
            "createTime": order.created_ms, "updateTime": order.created_ms,
        })  # fmt: skip

    def _bitmart_cancel(self, body: Mapping[str, Any]) -> tuple[int, Any]:
        order = self._bitmart_find(body)
        if order is None:
            return self._bitmart_error(50032, "Order does not exist")
        if order.status == "canceled":
            return self._bitmart_error(50030, "Order is already canceled")
        if order.status == "filled":
            return self._bitmart_error(50031, "Order is already completed")
        order.status = "canceled"
        return 200, self._envelope({"result": True})  # cancel_order.json


def _bitstamp_datetime(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}000"


_KEY_FIELDS = {
    "id", "orderId", "order_id", "status", "state", "symbol", "market", "name",
    "market_symbol", "last", "bid", "ask", "bid_px", "ask_px", "bids", "asks", "symbols",
    "currencies", "result", "base_currency", "counter_currency", "quote_currency",
    "currency", "available", "total", "wallet",
}  # fmt: skip


def _strip(payload: Any) -> Any:
    """The answer without its key fields (envelopes kept, so the venue looks healthy)."""
    if isinstance(payload, list):
        return [_strip(item) for item in payload]
    if not isinstance(payload, dict):
        return payload
    if "data" in payload and "code" in payload:
        return {**payload, "data": _strip(payload["data"])}
    return {k: _strip(v) for k, v in payload.items() if k not in _KEY_FIELDS}


def _mistype(payload: Any) -> Any:
    """The answer with every value replaced by one of the wrong type."""
    if isinstance(payload, list):
        return [_mistype(item) for item in payload]
    if not isinstance(payload, dict):
        return payload
    if "data" in payload and "code" in payload:
        return {**payload, "data": _mistype(payload["data"])}
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, str):
            out[key] = {"unexpected": [value]}
        elif isinstance(value, bool) or value is None:
            out[key] = "not-a-bool"
        elif isinstance(value, int | float):
            out[key] = [value, "x"]
        else:
            out[key] = "NaN-" + json.dumps(copy.deepcopy(value))[:20]
    return out
