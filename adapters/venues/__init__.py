"""Venues: one folder per exchange holding only what differs (see the README, "Adding a venue")."""

from __future__ import annotations

from ..capabilities import Capabilities, capabilities
from .base import Venue
from .bitmart import BitmartVenue
from .bitstamp import BitstampVenue

__all__ = ["Venue", "get_venue"]

_VENUES: dict[str, Venue] = {v.id: v for v in (BitstampVenue(), BitmartVenue())}


def get_venue(exchange_id: str | Capabilities) -> Venue:
    """The venue for a live or paper exchange id (or its resolved card); raises
    ``UnknownExchange``."""
    return _VENUES[capabilities(exchange_id).exchange_id]
