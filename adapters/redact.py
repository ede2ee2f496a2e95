"""Where ccxt's logs and ``verbose`` output go through a :class:`Redactor`: a logger for the
ccxt client, and its ``log`` (``print``) replacement."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .redaction import Redactor

__all__ = ["RedactingLogger", "redacting_print"]


class RedactingLogger:
    """A logger for the ccxt client that masks secrets (:class:`Redactor`) in every record."""

    def __init__(self, logger: logging.Logger, redact: Redactor) -> None:
        self._logger = logger
        self._redact = redact

    def log(self, level: int, msg: object, *args: object, **_: object) -> None:
        """Log ``msg % args`` at ``level``, masked."""
        if self._logger.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self._logger.log(level, "%s", self._redact(text))

    def debug(self, msg: object, *args: object, **_: object) -> None:
        self.log(logging.DEBUG, msg, *args)

    def info(self, msg: object, *args: object, **_: object) -> None:
        self.log(logging.INFO, msg, *args)

    def warning(self, msg: object, *args: object, **_: object) -> None:
        self.log(logging.WARNING, msg, *args)

    def error(self, msg: object, *args: object, **_: object) -> None:
        self.log(logging.ERROR, msg, *args)

    def exception(self, msg: object, *args: object, **_: object) -> None:
        self.log(logging.ERROR, msg, *args)

    def critical(self, msg: object, *args: object, **_: object) -> None:
        self.log(logging.CRITICAL, msg, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


def redacting_print(redact: Redactor) -> Callable[..., None]:
    """ccxt's ``verbose`` output (``Exchange.log``: a bare ``print``), masked."""

    def log(*args: object) -> None:
        print(redact(" ".join(str(a) for a in args)))

    return log
