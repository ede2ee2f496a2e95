"""Credential values as people paste them: surrounding whitespace and newlines dropped, a
blank value absent, and no value quoted by the error for a bad argument."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from adapters import Credentials, MissingCredentials
from adapters.credentials import load_credentials


def test_a_key_with_a_trailing_newline_in_the_environment_is_trimmed() -> None:
    # `export BITSTAMP_API_KEY="$(cat key.txt)"` keeps no newline, but `read`-style tooling
    # and copy-paste do; the venue then refuses every signature.
    creds = load_credentials(
        "bitstamp", environ={"BITSTAMP_API_KEY": " abc123\n", "BITSTAMP_API_SECRET": "\tdef\r\n"}
    )
    assert creds.ccxt_config("bitstamp") == {"apiKey": "abc123", "secret": "def"}


def test_a_quoted_value_with_spaces_in_the_env_file_is_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "keys.env"
    path.write_text(
        "BITMART_API_KEY=\" k1 \"\nBITMART_API_SECRET='s1\n'\nBITMART_API_MEMO= m1 \n",
        encoding="utf-8",
    )
    creds = load_credentials("bitmart", env_file=path, environ={})
    assert creds.ccxt_config("bitmart") == {"apiKey": "k1", "secret": "s1", "uid": "m1"}


def test_a_blank_variable_is_missing_and_the_env_file_still_counts(tmp_path: Path) -> None:
    env = {"BITSTAMP_API_KEY": "   ", "BITSTAMP_API_SECRET": " \n"}
    creds = load_credentials("bitstamp", environ=env)
    with pytest.raises(MissingCredentials) as info:
        creds.require("bitstamp")
    assert list(info.value.missing) == ["BITSTAMP_API_KEY", "BITSTAMP_API_SECRET"]
    path = tmp_path / "keys.env"
    path.write_text("BITSTAMP_API_KEY=fromfile\nBITSTAMP_API_SECRET=s\n", encoding="utf-8")
    from_file = load_credentials("bitstamp", env_file=path, environ=env)
    assert from_file.ccxt_config("bitstamp") == {"apiKey": "fromfile", "secret": "s"}


@pytest.mark.parametrize(
    "value", [" k ", "k\n", SecretStr(" k\n")], ids=["spaces", "newline", "SecretStr"]
)
def test_credentials_built_in_code_are_trimmed(value: Any) -> None:
    assert Credentials(api_key=value, api_secret="s").ccxt_config("bitstamp")["apiKey"] == "k"
    assert Credentials(api_key="  ", api_secret="s").present() == {"api_secret"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": 424242424242},
        {"api_key": "k", "apiKey": "MISSPELT-SECRET"},
        {"api_secret": ["LISTED-SECRET"]},
    ],
    ids=["int", "misspelt", "list"],
)
def test_a_bad_argument_error_never_quotes_the_value(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        Credentials(**kwargs)
    for secret in ("424242424242", "MISSPELT-SECRET", "LISTED-SECRET"):
        assert secret not in str(info.value) and secret not in repr(info.value)


async def test_credentials_given_in_ccxt_config_count_for_private_calls() -> None:
    """The ccxt habit: the client signed with them, yet every private call raised
    MissingCredentials ("set BITSTAMP_API_KEY ...") before sending."""
    from adapters import open_exchange

    from .conftest import DUMMY_KEY, DUMMY_SECRET, TEST_CONFIG, replay

    config = {**TEST_CONFIG, "apiKey": DUMMY_KEY, "secret": DUMMY_SECRET}
    async with open_exchange("bitstamp", config=config) as ex:
        with replay("bitstamp", "fetch_balance"):
            balances = await ex.fetch_balance()
    assert balances.assets  # rest/balance.json answered
    ex.require_credentials()


def test_credentials_in_config_go_over_the_environment() -> None:
    from adapters.credentials import resolve_credentials

    env = Credentials(api_key="env-key", api_secret="env-secret")
    merged = resolve_credentials("bitstamp", env, None, {"apiKey": " cfg-key\n"})
    assert merged.ccxt_config("bitstamp") == {"apiKey": "cfg-key", "secret": "env-secret"}
