"""The suite is offline, and no cassette or fixture carries anything secret-shaped."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from .conftest import CASSETTES, DUMMY_KEY, DUMMY_MEMO, DUMMY_SECRET, ROOT

#: Header names whose values would be credentials or signatures.
_AUTH_HEADERS = re.compile(
    r"(x-auth(-signature|-nonce|-timestamp)?|x-bm-(key|sign|timestamp)|authorization|cookie"
    r"|set-cookie|x-mbx-apikey)\s*[:=]",
    re.IGNORECASE,
)
#: Public sample values printed in BitMart's WebSocket login documentation (sample key and
#: its documented signature), kept in the login recording so the frame stays verbatim.
_PUBLIC_DOC_VECTORS = {"3ceeb7e1b8cb165a975e28a2e2dfaca4d30b358873c0351c1a071d8c83314556"}
_FILES = sorted(
    p
    # the shipped package data (adapters/sessions) too
    for base in (CASSETTES, ROOT / "tests", ROOT / "adapters")
    for p in base.rglob("*")
    if p.is_file() and p.suffix in {".yaml", ".yml", ".json", ".jsonl"}
)


def test_there_are_cassettes_to_scan() -> None:
    assert len([p for p in _FILES if p.suffix == ".yaml"]) >= 40


@pytest.mark.parametrize("path", _FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_secrets_in_recorded_data(path: Path) -> None:
    text = path.read_text(errors="replace")
    assert not _AUTH_HEADERS.search(text), f"auth header recorded in {path}"
    for dummy in (DUMMY_KEY, DUMMY_SECRET, DUMMY_MEMO):
        assert dummy not in text, f"test credential {dummy!r} leaked into {path}"
    # A 64-hex-digit run is what an HMAC-SHA256 signature looks like.
    signatures = set(re.findall(r"\b[0-9a-f]{64}\b", text)) - _PUBLIC_DOC_VECTORS
    assert not signatures, f"signature-like value in {path}"


def test_sockets_to_the_internet_are_blocked() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(Exception) as info:
        s.connect(("93.184.216.34", 443))
    assert "blocked" in str(info.value).lower() or "socket" in type(info.value).__name__.lower()


def test_env_file_is_git_ignored() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    example = (ROOT / ".env.example").read_text()
    for var in ("BITSTAMP_API_KEY", "BITSTAMP_API_SECRET", "BITMART_API_KEY",
                "BITMART_API_SECRET", "BITMART_API_MEMO"):  # fmt: skip
        assert f"{var}=" in example
