"""What both command lines share: plain-text tables and the usage error (exit 2)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["UsageError", "render_table"]


class UsageError(Exception):
    """Bad command-line input; the message is the one line shown to the user."""


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
