"""BitMart: the venue's facts and translations (``venue``), its WebSocket fixes (``ws``)
and its book replay helpers (``replay``)."""

from __future__ import annotations

from .venue import BitmartVenue

__all__ = ["BitmartVenue"]
