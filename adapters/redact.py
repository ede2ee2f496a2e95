"""Masking secrets in text the adapter does not control: ccxt's logs and verbose output.

ccxt writes request headers (``X-Auth: BITSTAMP <key>``, ``X-BM-KEY``, signatures) and whole
answers (Bitstamp's WebSocket token and user id) into its DEBUG log, and with ``verbose``
prints the same, plus every WebSocket frame, with ``print``. A :class:`Redactor` masks, in
any such text:

* the value of every field whose name says it is secret (:func:`is_sensitive_key`), in
  JSON, Python ``repr``, form/query (``name=value``) and header (``Name: value``) notation;
* every value it was given (the credentials) or has masked before under an identity key
  (a session token, a user id), wherever it appears again, e.g. in a private channel name;
* anything shaped like an HMAC-SHA256 signature (64 hex digits), positional ones included
  (BitMart's WebSocket login sends its signature as a bare list element).

The same rules scrub recorded cassettes (``scripts/record_cassettes.py``).

:class:`RedactingLogger` (the ccxt client's logger) and :func:`redacting_print` (its ``log``,
which ``verbose`` prints through) apply a :class:`Redactor`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "MASK",
    "SIGNATURE",
    "RedactingLogger",
    "Redactor",
    "is_identity_key",
    "is_sensitive_key",
    "redact_client",
    "redacting_print",
]

MASK = "***"

# Compared against the field name lower-cased with separators removed, so ``api_key``,
# ``apiKey``, ``X-Api-Key`` and ``API-KEY`` are one name.
_SECRET_WORDS = (
    "secret",
    "token",
    "passphrase",
    "password",
    "passwd",
    "signature",
    "auth",  # X-Auth*, Authorization, Bitstamp's WebSocket "auth"
    "credential",
    "session",
    "cookie",
    "memo",
    "listenkey",
)
_SECRET_SUFFIXES = ("key", "sign")  # apiKey, X-BM-KEY, accessKey; sign, X-BM-SIGN
_SECRET_NAMES = frozenset(
    {"uid", "userid", "accountid", "subaccountid", "tradeaccountid", "nonce", "email", "address"}
)
#: Names whose values identify the account or session and may reappear elsewhere (a user id
#: inside a private channel name), so a masked value is remembered and masked everywhere.
_IDENTITY_WORDS = ("token", "uid", "userid", "accountid", "listenkey", "session", "memo")
_NOT_REMEMBERED = frozenset({"true", "false", "null", "none", MASK, "scrubbed"})
#: Learned values kept at most (the oldest go first): a session mints a handful, and each
#: one is searched for in every line masked afterwards.
_MAX_LEARNED = 64
_MIN_LEARNED_LEN = 4

#: A field name, optionally quoted (also as ``\"`` inside a JSON string), then ``:`` or
#: ``=``, then a list or object (masked whole), a quoted value or a bare one. A bare value
#: may start with an auth scheme word (``Authorization: Bearer x``, ``X-Auth: BITSTAMP key``)
#: so the credential after the space goes too. A name starts only where no name character
#: precedes it, so a long run of letters is scanned once, not once per position.
_FIELD = re.compile(
    r"""(?<![A-Za-z0-9_.\-])(?P<kq>\\*["']?)(?P<key>[A-Za-z][A-Za-z0-9_.\-]*)(?P=kq)\s*[:=]\s*"""
    r"""(?:(?P<open>[\[{])|(?P<vq>\\*["'])(?P<quoted>.*?)(?P=vq)"""
    r"""|(?P<bare>(?:(?:Bearer|Basic|Digest|BITSTAMP|HMAC|Token|ApiKey)\s+)?"""
    r"""[^\s"'&,;{}\[\]()<>]+))"""
)
#: What an HMAC-SHA256 signature in hex looks like.
SIGNATURE = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_sensitive_key(name: str) -> bool:
    """Whether a field called ``name`` (header, form, query or JSON key) holds a secret."""
    n = _norm(name)
    return (
        n in _SECRET_NAMES
        or n.endswith(_SECRET_SUFFIXES)
        or any(word in n for word in _SECRET_WORDS)
    )


def is_identity_key(name: str) -> bool:
    """Whether ``name``'s value identifies the account or session (and may be reused)."""
    n = _norm(name)
    return any(word in n for word in _IDENTITY_WORDS)


class Redactor:
    """Masks secrets in text (see the module docstring); remembers identity values it masks.

    ``secrets`` are masked wherever they appear; so is whatever ``session()`` returns when
    a text is masked (values a session obtains later, such as a WebSocket token and the
    user id that comes with it); ``mask`` replaces each secret value.
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        session: Callable[[], Iterable[str]] | None = None,
        mask: str = MASK,
    ) -> None:
        self.mask = mask
        self._session = session
        self._fixed = tuple(s for s in secrets if s)
        self._learned: dict[str, None] = {}
        self._known: tuple[str, ...] = self._fixed

    def learn(self, value: str) -> None:
        """Mask ``value`` from now on, wherever it appears (bounded; oldest forgotten first)."""
        value = value.strip()
        if len(value) < _MIN_LEARNED_LEN or value.lower() in _NOT_REMEMBERED:
            return
        self._learned.pop(value, None)
        self._learned[value] = None
        while len(self._learned) > _MAX_LEARNED:
            del self._learned[next(iter(self._learned))]
        # Longest first, so a secret containing another is masked whole.
        self._known = tuple(sorted({*self._fixed, *self._learned}, key=len, reverse=True))

    @property
    def learned(self) -> tuple[str, ...]:
        """The identity values remembered so far, oldest first."""
        return tuple(self._learned)

    def __call__(self, text: str) -> str:
        """``text`` with sensitive fields, known secrets and signatures masked."""
        return self.known(self.fields(text))

    def fields(self, text: str) -> str:
        """``text`` with the value of every sensitive field masked (identity values learnt)."""
        out: list[str] = []
        pos = 0
        while (match := _FIELD.search(text, pos)) is not None:
            key = match.group("key")
            if not is_sensitive_key(key):
                # Resume right after the name: the "value" of a harmless field may hold a
                # sensitive one (``url: https://h/p?token=x``).
                out.append(text[pos : match.end("key")])
                pos = match.end("key")
                continue
            if match.group("open") is not None:
                out.append(text[pos : match.start("open")])
                out.append(self.mask)
                pos = _closing(text, match.start("open"))
                continue
            group = "quoted" if match.group("vq") is not None else "bare"
            value = match.group(group)
            if is_identity_key(key):
                self.learn(value)
            out.append(text[pos : match.start(group)])
            out.append(self.mask if value else value)
            pos = match.end(group)
        out.append(text[pos:])
        return "".join(out)

    def known(self, text: str) -> str:
        """``text`` with the known secrets and signature-shaped runs masked."""
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, self.mask)
        if self._session is not None:
            current = (s for s in self._session() if s and len(s) >= _MIN_LEARNED_LEN)
            for secret in sorted(current, key=len, reverse=True):
                text = text.replace(secret, self.mask)
        return SIGNATURE.sub(self.mask, text)


def _closing(text: str, start: int) -> int:
    """The index after the bracket closing the one at ``start`` (the end of ``text`` if it
    never closes: a cut-off value is masked to the end). Brackets inside quotes count not."""
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


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
        # ccxt calls this twice a request; checked here so that costs no further call.
        if self._logger.isEnabledFor(logging.DEBUG):
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


def redact_client(client: Any, *, session: Callable[[], Iterable[str]] | None = None) -> Redactor:
    """Mask secrets in everything a ccxt client logs or prints: its logger (DEBUG request
    logs; a logger given in its config is wrapped the same way), its ``verbose`` output, and
    frames the stream fixes quote (``client.redact``). The secrets are the client's
    credentials however they were given (``credentials`` or ``config``) and ``session()``'s.
    """
    fields = getattr(client, "requiredCredentials", None) or {}
    given = [v for v in (getattr(client, k, None) for k in fields) if isinstance(v, str) and v]
    redact = Redactor(given, session=session)
    client.logger = RedactingLogger(client.logger, redact)
    # ``verbose`` prints through ``log``, past the logger; each WebSocket client copies the
    # method when it is created.
    client.log = redacting_print(redact)
    client.redact = redact
    return redact
