"""Bitstamp: the venue's facts and translations (``venue``), its WebSocket fixes (``ws``)
and its REST answers on the replay server (``replay``)."""

from __future__ import annotations

from .venue import BitstampVenue

__all__ = ["BitstampVenue"]
