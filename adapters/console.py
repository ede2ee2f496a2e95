"""What both command lines share: plain-text tables and help, the usage error (exit 2),
``--json`` output, and what ``-v`` shows (the error's causes, log lines on stderr)."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

__all__ = [
    "HelpFormatter",
    "UsageError",
    "add_command",
    "add_json_flag",
    "error_causes",
    "json_text",
    "log_to_stderr",
    "render_table",
]


class UsageError(Exception):
    """Bad command-line input; the message is the one line shown to the user."""


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written; each option's default shown where it has one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "%(default)" not in text
            and action.default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


def add_command(
    sub: Any, name: str, summary: str, description: str = ""
) -> argparse.ArgumentParser:
    """A sub-command with plain-text help: the summary, then the longer description."""
    text = f"{summary}." + (f"\n\n{textwrap.fill(description, 78)}" if description else "")
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=text, formatter_class=HelpFormatter
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS,
        help="show the error's causes; -v logs at INFO, -vv at DEBUG",
    )  # fmt: skip
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON document (Decimals as strings) instead of a table",
    )  # fmt: skip


def json_text(value: Any) -> str:
    """``--json`` output: one JSON document, Decimals as exact strings (see
    :func:`adapters.display.json_document`)."""
    from .display import json_document  # deferred: pydantic; tables and help start faster

    return json_document(value)


def error_causes(exc: BaseException) -> list[str]:
    """One line per link of ``exc``'s cause chain, innermost last."""
    lines: list[str] = []
    seen = {id(exc)}
    link = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        text = " ".join(str(link).split())
        kind = f"{type(link).__module__}.{type(link).__qualname__}"
        lines.append(f"  caused by {kind}: {text[:500]}" if text else f"  caused by {kind}")
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return lines


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines to whatever ``sys.stderr`` is when they are written."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def log_to_stderr(verbose: int) -> None:
    """``-v``: the package's (and ccxt's) log lines on stderr, INFO or, with -vv, DEBUG."""
    if not verbose:
        return
    level = logging.INFO if verbose == 1 else logging.DEBUG
    for name in ("adapters", "ccxt"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
