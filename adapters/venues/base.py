"""What a venue module provides: the small set of facts and translations that differ.

Everything generic (validation, error mapping, model conversion) lives in
:mod:`adapters.exchange`; a venue subclass overrides only what its exchange does
differently. Adding a third exchange means one more small module like ``bitstamp.py``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from ..capabilities import Capabilities, capabilities
from ..enums import OrderType
from ..errors import AdapterError, InvalidOrderRequest, payload_messages
from ..models import OrderRequest

__all__ = ["Venue"]

_ALNUM = re.compile(r"^[A-Za-z0-9]+$")


class Venue:
    """Per-venue facts and translations. Subclasses set the class attributes."""

    id: ClassVar[str]
    #: The ccxt.pro class name (``ccxt.pro.<name>``) the client subclasses.
    ccxt_name: ClassVar[str]
    #: Longest client order id the venue takes.
    client_order_id_max_len: ClassVar[int] = 32
    #: Multiply the venue's reported trading-fee figures by this to get fractions.
    fee_scale: ClassVar[Decimal] = Decimal(1)
    #: Venue error codes (as strings) that map to a specific adapter error.
    error_codes: ClassVar[Mapping[str, type[AdapterError]]] = {}
    #: Venue error messages (exact, as the venue sends them) mapped like ``error_codes``.
    error_messages: ClassVar[Mapping[str, type[AdapterError]]] = {}

    @property
    def capabilities(self) -> Capabilities:
        """This venue's connector card."""
        return capabilities(self.id)

    def client_class(self) -> type[Any]:
        """The ccxt.pro client class, with this venue's narrow fixes applied."""
        import ccxt.pro

        base: type[Any] | None = getattr(ccxt.pro, self.ccxt_name, None)
        if base is None:
            from ..errors import UnsupportedFeature

            raise UnsupportedFeature(
                f"the installed ccxt {getattr(ccxt, '__version__', '?')} has no "
                f"ccxt.pro.{self.ccxt_name}; this package needs ccxt>=4.5.60,<4.5.71 "
                "(ccxt removed BitMart in 4.5.71): pip install 'ccxt>=4.5.60,<4.5.71'"
            )
        return self.patch_client_class(base)

    def patch_client_class(self, base: type[Any]) -> type[Any]:
        """Return ``base`` or a subclass overriding broken ccxt methods."""
        return base

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
        if not 1 <= len(client_order_id) <= self.client_order_id_max_len or not _ALNUM.match(
            client_order_id
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

    def point_at(self, client: Any, http_url: str | None = None, ws_url: str | None = None) -> None:
        """Send the client's REST and/or WebSocket traffic to other base URLs (tests, replay)."""
        raise NotImplementedError
