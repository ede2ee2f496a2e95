"""The adapter's error tree and the one mapping from ccxt exceptions to it.

Every error a caller sees is an :class:`AdapterError`. Errors raised by the adapter itself
(bad input, unsupported order type) are raised before any request is sent. Errors that come
from the venue keep the original ccxt exception as ``__cause__``.

This module imports nothing heavy at import time so that capability queries stay instant;
ccxt is imported inside :func:`from_ccxt`, which only runs once a client exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "AdapterError",
    "AuthenticationFailed",
    "ClockSkew",
    "ExchangeError",
    "ExchangeUnavailable",
    "InsufficientFunds",
    "InvalidInput",
    "InvalidOrderRequest",
    "MissingCredentials",
    "OrderNotFound",
    "OrderOutcomeUnknown",
    "OrderRejected",
    "RateLimited",
    "UnknownExchange",
    "UnknownOrderStatus",
    "UnknownSymbol",
    "UnreadableAnswer",
    "UnsupportedFeature",
    "UnsupportedOrderType",
    "VenueClassifier",
    "from_ccxt",
    "payload_messages",
    "venue_payload",
]


class AdapterError(Exception):
    """Base of every error raised by this package."""


class InvalidInput(AdapterError, ValueError):
    """An argument is invalid (a number, a currency code, an option); nothing was sent or
    written. The message names the value and what would be accepted."""


class InvalidOrderRequest(InvalidInput):
    """The order request is invalid; nothing was sent."""


class UnsupportedOrderType(InvalidOrderRequest):
    """The exchange does not take this order type (per the capability table); nothing was sent."""


class UnknownSymbol(InvalidOrderRequest):
    """The symbol is not a market of this exchange; ``suggestions`` lists close matches."""

    def __init__(self, message: str, *, suggestions: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.suggestions: tuple[str, ...] = tuple(suggestions)


class UnsupportedFeature(AdapterError):
    """The exchange (or this adapter for it) does not offer the requested feature."""


class ExchangeClosed(AdapterError, RuntimeError):
    """The exchange was closed; a closed one sends nothing (open a new one)."""


class MissingCredentials(AdapterError):
    """A private call was made without the credentials it needs; nothing was sent."""

    def __init__(self, message: str, *, missing: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.missing: tuple[str, ...] = tuple(missing)


class ExchangeError(AdapterError):
    """The venue answered with an error that has no more specific class."""


class AuthenticationFailed(ExchangeError):
    """The venue refused the credentials (bad key, signature, permission)."""


class InsufficientFunds(ExchangeError):
    """The account cannot fund the order."""


class UnreadableAnswer(ExchangeError):
    """The venue answered, but the answer lacks fields or carries wrong types."""


class UnknownOrderStatus(UnreadableAnswer):
    """The venue reported an order status it has not documented: nothing is guessed.

    ``exchange`` and ``status`` (as the venue sent it) name what to add to the venue's
    status table once the venue documents it.
    """

    def __init__(self, message: str, *, exchange: str, status: str) -> None:
        super().__init__(message)
        self.exchange = exchange
        self.status = status


class OrderNotFound(ExchangeError):
    """The venue does not know this order."""


class OrderRejected(ExchangeError):
    """The venue rejected the order (post-only would match, minimums, precision...)."""


class ClockSkew(ExchangeError):
    """The venue refused the request's timestamp or nonce."""


class RateLimited(ExchangeError):
    """The venue asked us to slow down; ``retry_after`` is in seconds when the venue said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ExchangeUnavailable(AdapterError):
    """The venue could not be reached or did not answer in time.

    From ``create_order``, ``client_order_id`` names the order: as a plain
    ``ExchangeUnavailable``, no send reached the venue (nothing placed); as
    :class:`OrderOutcomeUnknown`, one may have.
    """

    def __init__(self, message: str, *, client_order_id: str | None = None) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id


class OrderOutcomeUnknown(ExchangeUnavailable):
    """A ``create_order`` may or may not have placed the order, and the venue did not say
    within the lookup window.

    The request may have reached the venue, so it was not sent again. ``client_order_id``
    (always set) names the order: reconcile with ``fetch_order_by_client_id`` later, never by
    sending the request again (Bitstamp does not promise to refuse a repeated client id).
    """

    client_order_id: str

    def __init__(self, message: str, *, client_order_id: str) -> None:
        super().__init__(message, client_order_id=client_order_id)


class ReconnectBudgetExceeded(ExchangeUnavailable):
    """A stream reconnected more often than its :class:`~adapters.streams.StreamPolicy`
    allows (``reconnect_budget`` reconnects within ``reconnect_window`` seconds): each
    connection works for a moment and fails again, so more reconnects would only hammer the
    venue. ``budget``, ``window`` and ``reconnects`` (counted within the window) say which."""

    def __init__(self, message: str, *, budget: int, window: float, reconnects: int) -> None:
        super().__init__(message)
        self.budget = budget
        self.window = window
        self.reconnects = reconnects


#: A venue's own reading of an error payload: the adapter class to raise, or None to fall
#: back to ccxt's classification.
VenueClassifier = Callable[[Mapping[str, Any]], "type[AdapterError] | None"]


def venue_payload(message: str) -> dict[str, Any] | None:
    """Extract the JSON payload ccxt embeds in its exception text (``"<id> {...}"``)."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        payload = json.loads(message[start:])
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def payload_messages(payload: Mapping[str, Any]) -> list[str]:
    """The human-readable messages in a venue error payload, however nested.

    Venues put them under ``message``/``reason``/``error``, as a string, a list, or a
    field-keyed dict of lists (Bitstamp: ``{"reason": {"amount": ["..."]}}``).
    """
    out: list[str] = []

    def walk(value: Any, field: str | None) -> None:
        if isinstance(value, str):
            if value:
                out.append(f"{field}: {value}" if field and field != "__all__" else value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, str(key))
        elif isinstance(value, list):
            for item in value:
                walk(item, field)

    for key in ("message", "reason", "error", "msg"):
        walk(payload.get(key), None)
    return out


def _reason(payload: Mapping[str, Any] | None, fallback: str) -> str:
    if not payload:
        return fallback
    messages = payload_messages(payload)
    if not messages:
        return fallback
    code = payload.get("code") or payload.get("response_code")
    text = "; ".join(messages)
    return f"{text} (code {code})" if code not in (None, "") else text


def _ccxt_table() -> list[tuple[type[BaseException], type[AdapterError]]]:
    import ccxt  # deferred: only reached once a ccxt client exists

    # Order matters: subclasses before their bases (ccxt's tree nests them).
    return [
        (ccxt.InsufficientFunds, InsufficientFunds),
        (ccxt.OrderNotFound, OrderNotFound),
        (ccxt.InvalidNonce, ClockSkew),
        (ccxt.AuthenticationError, AuthenticationFailed),
        (ccxt.PermissionDenied, AuthenticationFailed),
        (ccxt.AccountSuspended, AuthenticationFailed),
        (ccxt.BadSymbol, UnknownSymbol),
        (ccxt.InvalidOrder, OrderRejected),
        # ccxt could not read the answer (or the client's own checks refused a value in it).
        (ccxt.BadResponse, UnreadableAnswer),
        (ccxt.RateLimitExceeded, RateLimited),
        (ccxt.DDoSProtection, RateLimited),
        (ccxt.NetworkError, ExchangeUnavailable),
        (ccxt.ExchangeNotAvailable, ExchangeUnavailable),
        (ccxt.OnMaintenance, ExchangeUnavailable),
    ]


def from_ccxt(
    exc: BaseException,
    *,
    exchange: str,
    classify: VenueClassifier | None = None,
    client_order_id: str | None = None,
) -> AdapterError:
    """Translate a ccxt exception into the adapter's tree.

    The venue's classifier (reading the venue's own error code) wins over ccxt's class,
    because ccxt's mapping is coarse for some codes (BitMart 50034 is a post-only reject,
    ccxt calls it a plain ``InvalidOrder``). The caller raises the result ``from exc``.
    """
    if isinstance(exc, AdapterError):
        return exc
    text = str(exc)
    payload = venue_payload(text)
    cls: type[AdapterError] | None = classify(payload) if (classify and payload) else None
    if cls is None:
        cls = next((ours for theirs, ours in _ccxt_table() if isinstance(exc, theirs)), None)
    if cls is None:
        cls = ExchangeError
    message = f"{exchange}: {_reason(payload, text or type(exc).__name__)}"
    if cls is ExchangeUnavailable:
        return ExchangeUnavailable(message, client_order_id=client_order_id)
    if cls is RateLimited:
        return RateLimited(message, retry_after=_retry_after(exc))
    return cls(message)


def _retry_after(exc: BaseException) -> float | None:
    # ccxt does not expose response headers on the exception; the retry policy reads
    # Retry-After from the client's last_response_headers instead.
    return getattr(exc, "retry_after", None)


class UnknownExchange(AdapterError, ValueError):
    """The exchange id is not one this package supports."""
