"""Issue 11, ``.env`` files: ``~`` expanded, a missing ``env_file`` is an error, and a file that
cannot be read (or is not UTF-8) gives one line naming it, on every command, public ones too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters import Credentials, InvalidInput, open_exchange
from adapters.cli import main

from .conftest import DUMMY


def test_env_file_expands_the_home_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "x.env").write_text(
        "BITSTAMP_API_KEY=fromfile\nBITSTAMP_API_SECRET=s3cret\n", encoding="utf-8"
    )
    ex = open_exchange("bitstamp", env_file="~/keys/x.env")
    assert ex.client.apiKey == "fromfile"


def test_an_env_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.env"
    with pytest.raises(InvalidInput, match=r"nope\.env"):
        open_exchange("bitstamp", env_file=missing)


def _bad_env(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / ".env"
    if kind == "invalid utf-8":
        path.write_bytes(b"BITSTAMP_API_SECRET=topsecret\nBITSTAMP_API_KEY=\xff\xfe\n")
    elif kind == "a directory":
        path.mkdir()
    else:
        path.write_text("BITSTAMP_API_KEY=k\n", encoding="utf-8")
        path.chmod(0)
    return path


ENV_KINDS = ["invalid utf-8", "a directory", "unreadable"]


def _skip_unreadable_as_root(kind: str) -> None:
    if kind == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads a mode-000 file")


@pytest.mark.parametrize("kind", ENV_KINDS)
def test_a_bad_env_file_is_a_typed_error_naming_it(tmp_path: Path, kind: str) -> None:
    _skip_unreadable_as_root(kind)
    path = _bad_env(tmp_path, kind)
    with pytest.raises(InvalidInput) as caught:
        open_exchange("bitstamp", env_file=path)
    assert str(path) in str(caught.value)
    assert "topsecret" not in str(caught.value), "the file holds secrets: never quoted"


@pytest.mark.parametrize("kind", ENV_KINDS)
@pytest.mark.parametrize(
    "argv", [["ticker", "bitstamp", "BTC/USD"], ["markets", "bitmart"], ["balance", "bitstamp"]]
)
def test_a_bad_dot_env_gives_one_line_on_every_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, argv: list[str]
) -> None:
    _skip_unreadable_as_root(kind)
    path = _bad_env(tmp_path, kind)  # ./.env: conftest runs each test in tmp_path
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and str(path) in err, err


def test_credentials_object_needs_no_env_file() -> None:
    # Explicit credentials do not read ./.env at all, even a bad one.
    Path(".env").write_bytes(b"\xff")
    ex = open_exchange("bitstamp", credentials=DUMMY)
    assert ex.client.apiKey == "testApiKey"
    assert Credentials().present() == set()
