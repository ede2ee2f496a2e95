"""A logger for a ccxt client that masks the client's credentials in every record."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

__all__ = ["RedactingLogger"]


class RedactingLogger:
    """A logger for the ccxt client that masks this client's credentials in every record."""

    def __init__(self, logger: logging.Logger, secrets: Iterable[str]) -> None:
        self._logger = logger
        self._secrets = tuple(s for s in secrets if s)

    def _emit(self, level: int, msg: object, *args: object) -> None:
        if not self._logger.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        self._logger.log(level, "%s", text)

    def debug(self, msg: object, *args: object, **_: object) -> None:
        self._emit(logging.DEBUG, msg, *args)

    def info(self, msg: object, *args: object, **_: object) -> None:
        self._emit(logging.INFO, msg, *args)

    def warning(self, msg: object, *args: object, **_: object) -> None:
        self._emit(logging.WARNING, msg, *args)

    def error(self, msg: object, *args: object, **_: object) -> None:
        self._emit(logging.ERROR, msg, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)
