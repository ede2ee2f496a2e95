"""What a venue module provides: the small set of facts and translations that differ.

Everything generic (validation, error mapping, model conversion) lives in
:mod:`adapters.exchange` and :mod:`adapters.convert`; a venue subclass overrides only what
its exchange does differently. Adding a third exchange means one more folder like
``venues/bitstamp/`` (README, "Adding a venue").
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..capabilities import Stream
from ..ccxt_args import ParamRole
from ..enums import OrderStatus, OrderType
from ..errors import (
    AdapterError,
    InvalidOrderRequest,
    UnknownOrderStatus,
    UnsupportedFeature,
    payload_messages,
    venue_payload,
)
from ..models import OrderRequest, to_decimal
from ..replay import Recording, RestHandler, RestResponse, ResumeHook

if TYPE_CHECKING:
    from .ws import StreamTopic

__all__ = ["Venue"]

#: The one ccxt release this package runs on (pyproject.toml and constraints.txt pin it).
CCXT_VERSION = "4.5.70"

# Matched with fullmatch: "$" would also accept a trailing newline ("abc\n").
_ALNUM = re.compile(r"[A-Za-z0-9]+")


class Venue:
    """Per-venue facts and translations. Subclasses set the class attributes."""

    id: ClassVar[str]
    #: The ccxt.pro class name (``ccxt.pro.<name>``) the client subclasses.
    ccxt_name: ClassVar[str]
    #: Longest client order id the venue takes.
    client_order_id_max_len: ClassVar[int] = 32
    #: Most levels a side ``fetch_order_book(limit=...)`` may ask for; None: the venue takes
    #: no limit on the wire (the adapter cuts the book), so any count of 1 or more.
    book_limit_max: ClassVar[int | None] = None
    #: Multiply the venue's reported trading-fee figures by this to get fractions.
    fee_scale: ClassVar[Decimal] = Decimal(1)
    #: Venue error codes (as strings) that map to a specific adapter error.
    error_codes: ClassVar[Mapping[str, type[AdapterError]]] = {}
    #: Venue error messages (exact, as the venue sends them) mapped like ``error_codes``.
    error_messages: ClassVar[Mapping[str, type[AdapterError]]] = {}
    #: Error codes / exact messages with which a lookup by client order id says "no such
    #: order". Only these count as "not found": anything else leaves the outcome unknown.
    not_found_codes: ClassVar[frozenset[str]] = frozenset()
    not_found_messages: ClassVar[frozenset[str]] = frozenset()
    #: Error codes with which a create says "this client order id is taken" (the order exists).
    duplicate_client_id_codes: ClassVar[frozenset[str]] = frozenset()
    #: Every order status the venue documents, as its payloads spell it, and what it means
    #: here. OPEN stands for "working": the converter reports PARTIALLY_FILLED when
    #: something was filled. Each venue module cites the document of each entry.
    order_statuses: ClassVar[Mapping[str, OrderStatus]] = {}
    #: Streams: private channels are per market (a symbol is required), and candles come
    #: from polling ``fetch_ohlcv`` (no candle channel).
    private_streams_per_market: ClassVar[bool] = False
    candles_by_polling: ClassVar[bool] = False
    #: ccxt subscription keys on a connection that are not data subscriptions (a login).
    auth_subscriptions: ClassVar[frozenset[str]] = frozenset()
    #: The venue's own order params that the pipeline governs (ccxt passes them to the wire
    #: as they are): translated into the request, or refused (see ``adapters.ccxt_args``).
    order_params: ClassVar[Mapping[str, ParamRole]] = {}

    def client_class(self) -> type[Any]:
        """The ccxt.pro client class, with this venue's narrow fixes applied."""
        import ccxt.pro

        installed = getattr(ccxt, "__version__", "?")
        base: type[Any] | None = getattr(ccxt.pro, self.ccxt_name, None)
        # The stream fixes patch 4.5.70's internals: another release may lack the venue
        # (BitMart left in 4.5.71) or lay the patched methods out differently.
        if base is None or installed != CCXT_VERSION:
            missing = f"has no ccxt.pro.{self.ccxt_name}; " if base is None else ""
            raise UnsupportedFeature(
                f"the installed ccxt {installed} {missing}this package needs "
                f"ccxt=={CCXT_VERSION} exactly (the last release with BitMart; ccxt removed it "
                f"in 4.5.71): pip install 'ccxt=={CCXT_VERSION}', or reinstall with the "
                "README's command (pip install -c constraints.txt ...)"
            )
        return self.patch_client_class(_checked_book_levels(_json_answers_only(base)))

    def patch_client_class(self, base: type[Any]) -> type[Any]:
        """Return ``base`` or a subclass overriding broken ccxt methods."""
        return base

    def session_secrets(self, client: Any) -> tuple[str, ...]:
        """Secrets the ccxt client obtained during the session (masked in logs)."""
        return ()

    def order_args(self, request: OrderRequest) -> tuple[str, dict[str, Any]]:
        """The ccxt ``type`` argument and extra ``params`` for ``request``."""
        if request.type is OrderType.MARKET:
            return "market", {}
        return "limit", {}

    def new_client_order_id(self, prefix: str = "") -> str:
        """A fresh client order id within the venue's limits, starting with ``prefix``."""
        self.check_client_order_id(prefix or "x")
        room = self.client_order_id_max_len - len(prefix)
        if room < 12:
            raise InvalidOrderRequest(
                f"client order id prefix {prefix!r} leaves {room} characters; "
                f"{self.id} ids are at most {self.client_order_id_max_len} characters and "
                "at least 12 are needed for uniqueness"
            )
        return prefix + secrets.token_hex(16)[:room]

    def check_client_order_id(self, client_order_id: str) -> None:
        """Raise :class:`InvalidOrderRequest` if the venue would refuse this client order id."""
        if (
            not isinstance(client_order_id, str)
            or not 1 <= len(client_order_id) <= self.client_order_id_max_len
            or not _ALNUM.fullmatch(client_order_id)
        ):
            raise InvalidOrderRequest(
                f"client_order_id {client_order_id!r} is invalid for {self.id}: use 1 to "
                f"{self.client_order_id_max_len} letters or digits"
            )

    def classify_error(self, payload: Mapping[str, Any]) -> type[AdapterError] | None:
        """Read the venue's own error code or message; None defers to ccxt's class."""
        for key in ("code", "response_code"):
            code = payload.get(key)
            if code is not None and str(code) in self.error_codes:
                return self.error_codes[str(code)]
        for text in payload_messages(payload):
            if text in self.error_messages:
                return self.error_messages[text]
        return None

    # -- orders: what ccxt lost, read back from the venue's own payload -------------------

    def read_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """ccxt's order dict with the venue's own status and amounts from ``info``.

        ``status`` becomes an :class:`OrderStatus` when the payload carries the venue's
        status (a status the venue has not documented raises
        :class:`UnknownOrderStatus`); amounts recovered from ``info`` are ``Decimal``.
        A venue module overrides this to read its payloads, then calls this base, which
        completes what follows from the rest (``amount = filled + remaining``...).
        """
        return complete_amounts(dict(order))

    def order_status(self, raw: Any) -> OrderStatus:
        """The :class:`OrderStatus` of the venue's status ``raw``; raise
        :class:`UnknownOrderStatus` naming it when the venue has not documented it."""
        found = self.order_statuses.get(str(raw))
        if found is None:
            known = ", ".join(repr(k) for k in self.order_statuses)
            raise UnknownOrderStatus(
                f"{self.id} reported order status {raw!r}, which {self.id} does not "
                f"document (documented: {known}); the order's state is unknown",
                exchange=self.id,
                status=str(raw),
            )
        return found

    def point_at(self, client: Any, http_url: str | None = None, ws_url: str | None = None) -> None:
        """Send the client's REST and/or WebSocket traffic to other base URLs (tests, replay)."""
        raise NotImplementedError

    # -- replay (recorded sessions, adapters.replay) ------------------------------------------

    def replay_routes(
        self, recording: Recording, folder: Path
    ) -> dict[str, RestResponse | RestHandler]:
        """REST routes computed from a recorded session (files it names lie in ``folder``),
        beside the shipped markets answer; none by default."""
        return {}

    def replay_resume(self) -> ResumeHook | None:
        """What the venue sends a client that reconnects mid-session, before the next live
        frame (None: nothing extra)."""
        return None

    # -- streams ---------------------------------------------------------------------------

    def stream_topic(
        self, client: Any, stream: Stream, symbol: str | None, timeframe: str | None = None
    ) -> StreamTopic:
        """The ccxt.pro subscription behind one typed stream, for tearing it down."""
        raise NotImplementedError

    # -- order safety: lookup by client order id, reading the venue's answers, clock -------

    async def fetch_order_by_client_id(
        self, client: Any, client_order_id: str, symbol: str
    ) -> dict[str, Any] | None:
        """Ask the venue for the order with ``client_order_id``: a ccxt order dict, or None
        when the venue definitely says it has none. Raises ccxt's errors otherwise."""
        raise NotImplementedError

    async def cancel_all_orders(
        self, client: Any, symbol: str | None, params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """ccxt's ``cancel_all_orders``: the orders the venue reports cancelled. A venue whose
        answer can also say "not every order was cancelled" overrides this to raise then."""
        orders: list[dict[str, Any]] = await client.cancel_all_orders(symbol, params)
        return orders

    def says_not_found(self, exc: BaseException) -> bool:
        """True when ``exc`` (a ccxt error) is the venue's definite "no such order"."""
        payload = venue_payload(str(exc))
        if not payload:
            return False
        if _codes(payload) & self.not_found_codes:
            return True
        return any(text in self.not_found_messages for text in payload_messages(payload))

    def says_duplicate_client_id(self, exc: BaseException) -> bool:
        """True when ``exc`` (a ccxt error) says the client order id is already in use."""
        payload = venue_payload(str(exc))
        return bool(payload and _codes(payload) & self.duplicate_client_id_codes)

    async def resync_clock(self, client: Any) -> int | None:
        """Measure how far the local clock is ahead of the venue's (ms) and make the client
        sign with venue time from now on; None when the venue gives no time to compare."""
        return None


def decimal_field(info: Mapping[str, Any], *keys: str) -> Decimal | None:
    """The first of ``keys`` present in ``info`` as a ``Decimal`` (the venue's own string,
    without ccxt's float rounding); None when none is present or it is empty."""
    for key in keys:
        value = info.get(key)
        if value is not None and value != "":
            return to_decimal(value)
    return None


def complete_amounts(order: dict[str, Any]) -> dict[str, Any]:
    """Fill ``amount``, ``filled`` and ``remaining`` from each other where one is missing,
    in ``Decimal``, so that ``filled + remaining == amount``; a FILLED order has nothing
    remaining. Returns ``order`` (changed in place)."""
    amount, filled, remaining = (
        to_decimal(order.get(key)) for key in ("amount", "filled", "remaining")
    )
    if order.get("status") is OrderStatus.FILLED:
        if remaining is None:
            remaining = Decimal(0)
        if filled is None and amount is not None:
            filled = amount - remaining
    if amount is None and filled is not None and remaining is not None:
        amount = filled + remaining
    elif filled is None and amount is not None and remaining is not None:
        filled = amount - remaining
    elif amount is not None and filled is not None:
        remaining = amount - filled
    order.update(amount=amount, filled=filled, remaining=remaining)
    return order


def _codes(payload: Mapping[str, Any]) -> set[str]:
    return {str(payload[k]) for k in ("code", "response_code") if payload.get(k) is not None}


_INF = float("inf")


def book_level_error(exchange: str, level: Any) -> Exception:
    """ccxt's ``BadResponse`` for a book level that is not market data.

    The one rule for the venues' prices and sizes: a book level's price must be a finite
    number above 0 and its size a finite number, 0 or more (0 removes a level in an
    update); anything else is an unreadable answer, as a NaN balance is. Checked once,
    where a level enters the ccxt client (REST books, stream snapshots and updates), so
    copying a book for the caller costs nothing more. The check itself is written out
    where the level is parsed (a comparison chain; ``None`` raises ``TypeError``).
    """
    import ccxt

    error: Exception = ccxt.BadResponse(
        f"{exchange} sent the order book level {level!r:.80}: a price must be a finite "
        "number above 0 and a size a finite number, 0 or more"
    )
    return error


def _checked_book_levels(base: type[Any]) -> type[Any]:
    """``base`` whose order book levels are checked as ccxt parses them
    (``parse_order_book_bid_ask``: REST books and Bitstamp's stream); see
    :func:`book_level_error`."""

    class CheckedBookLevels(base):  # type: ignore[misc]
        def parse_order_book_bid_ask(
            self, bidask: Any, priceKey: Any = 0, amountKey: Any = 1, countOrIdKey: Any = 2
        ) -> Any:
            # What ccxt's parse gives (``[price, amount]``, then the level's count or order
            # id as an int when it has one), with the level checked. Written out because it
            # runs for every level of every book: ccxt's looks the count up through an
            # exception on every two-element level.
            try:
                price, amount = float(bidask[priceKey]), float(bidask[amountKey])
            except (LookupError, TypeError, ValueError):  # no price or no size
                raise book_level_error(self.id, bidask) from None
            if not (0.0 < price < _INF and 0.0 <= amount < _INF):
                raise book_level_error(self.id, bidask)
            if isinstance(bidask, dict):
                extra = bidask.get(countOrIdKey)
            elif isinstance(countOrIdKey, int) and 0 <= countOrIdKey < len(bidask):
                extra = bidask[countOrIdKey]
            else:
                return [price, amount]
            if extra is None:
                return [price, amount]
            try:
                return [price, amount, int(float(extra))]
            except (TypeError, ValueError, OverflowError):  # ccxt drops a count it cannot read
                return [price, amount]

    CheckedBookLevels.__name__ = CheckedBookLevels.__qualname__ = base.__name__
    return CheckedBookLevels


def _json_answers_only(base: type[Any]) -> type[Any]:
    """``base`` whose REST calls fail unless the venue answered with JSON.

    ccxt hands a body it cannot decode (truncated JSON, a proxy's HTML page) to the parser as
    a string, which then yields orders and tickers full of None. Both venues answer every
    REST call with JSON, so anything else means the answer was lost on the way: ccxt's
    ``ExchangeNotAvailable`` says exactly that, and the order flow treats it as an unknown
    outcome.
    """
    import ccxt

    class JsonAnswersOnly(base):  # type: ignore[misc]
        # Checked in ccxt's synchronous error hook, which ``fetch`` calls with the decoded
        # body (None when it was not JSON), rather than by wrapping ``fetch``: a coroutine
        # frame less on every request. ccxt's own order is kept: the venue's error payload
        # first, then the HTTP status (a 429 or 502 with a web page stays a rate limit or
        # an outage), and only then "not JSON".
        def handle_errors(
            self,
            code: Any,
            reason: Any,
            url: str,
            method: str,
            headers: Any,
            body: Any,
            response: Any,
            request_headers: Any,
            request_body: Any,
        ) -> Any:
            handled = super().handle_errors(
                code, reason, url, method, headers, body, response, request_headers, request_body
            )
            if response is None:
                self.handle_http_status_code(code, reason, url, method, body)
                start = body[:60] if isinstance(body, str | bytes) else type(body).__name__
                raise ccxt.ExchangeNotAvailable(
                    f"{self.id} {method} {url}: the answer is not JSON (starts {start!r})"
                )
            return handled

    JsonAnswersOnly.__name__ = JsonAnswersOnly.__qualname__ = base.__name__
    return JsonAnswersOnly
