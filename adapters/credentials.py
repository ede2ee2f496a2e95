"""API credentials from arguments, the environment, or a ``.env`` file.

Secrets are :class:`pydantic.SecretStr`: they never appear in ``repr``, ``str``, logs or
exception text. The only place the plain value is read is :meth:`Credentials.ccxt_config`,
whose result goes straight into the ccxt client.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from .capabilities import Capabilities, capabilities
from .errors import InvalidInput, MissingCredentials

__all__ = ["Credentials", "load_credentials", "resolve_credentials"]


class Credentials(BaseModel):
    """API key, secret and (BitMart) memo. All three are secret.

    Surrounding whitespace is dropped (a key pasted with its newline would sign every
    request wrongly) and a blank value counts as absent. A bad argument's error never
    quotes the value.
    """

    # hide_input_in_errors: pydantic would otherwise quote the value (a secret passed as
    # bytes, or under a misspelt name like apiKey=) in its ValidationError.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    memo: SecretStr | None = None

    @field_validator("api_key", "api_secret", "memo", mode="before")
    @classmethod
    def _trimmed(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    def present(self) -> set[str]:
        """Names of the fields that hold a non-empty value."""
        return {
            name
            for name in ("api_key", "api_secret", "memo")
            if (value := getattr(self, name)) is not None and value.get_secret_value()
        }

    def missing_for(self, exchange_id: str | Capabilities) -> list[str]:
        """Env variable names of the fields ``exchange_id`` needs that are absent."""
        have = self.present()
        return [f.env_var for f in capabilities(exchange_id).credentials if f.name not in have]

    def require(self, exchange_id: str | Capabilities) -> None:
        """Raise :class:`MissingCredentials` naming the variables missing for a private call."""
        missing = self.missing_for(exchange_id)
        if missing:
            name = exchange_id if isinstance(exchange_id, str) else exchange_id.id
            raise MissingCredentials(
                f"{name}: this call needs credentials; set {', '.join(missing)} "
                "in the environment or a .env file, or pass credentials=Credentials(...)",
                missing=missing,
            )

    def ccxt_config(self, exchange_id: str | Capabilities) -> dict[str, str]:
        """The ccxt constructor fields (``apiKey``, ``secret``, ``uid``) for what is present."""
        config: dict[str, str] = {}
        for spec in capabilities(exchange_id).credentials:
            value = getattr(self, spec.name)
            if value is not None and value.get_secret_value():
                config[spec.ccxt_field] = value.get_secret_value()
        return config


def load_credentials(
    exchange_id: str | Capabilities,
    *,
    env_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """Read ``exchange_id``'s credentials from the environment, then from a ``.env`` file.

    Real environment variables win over the file (python-dotenv's non-overriding rule).
    ``env_file`` (``~`` expanded) must exist; by default ``.env`` in the current directory
    is read when there is one. A file that cannot be read, or is not UTF-8 text, raises
    :class:`InvalidInput` naming it (never quoting it: it holds secrets). Missing values
    stay ``None``: public calls need none, private calls check with
    :meth:`Credentials.require` before sending anything.
    """
    env = dict(os.environ if environ is None else environ)
    path = _env_file_path(env_file)
    file_values = {} if path is None else _read_env_file(path)
    values: dict[str, SecretStr | None] = {}
    for spec in capabilities(exchange_id).credentials:
        # A blank variable (spaces only) is unset: the .env file may still give the value.
        raw = (env.get(spec.env_var) or "").strip() or (file_values.get(spec.env_var) or "")
        values[spec.name] = SecretStr(raw) if raw else None
    return Credentials(**values)


def _env_file_path(env_file: str | os.PathLike[str] | None) -> Path | None:
    """The ``.env`` file to read, or None (no ``env_file`` and no ``./.env``)."""
    if env_file is None:
        default = Path.cwd() / ".env"
        return default if default.exists() else None
    path = Path(env_file).expanduser()
    if not path.exists():
        raise InvalidInput(
            f"env_file {os.fspath(env_file)!r} does not exist ({path}); pass the path of an "
            "existing .env file, or leave env_file out to read ./.env when there is one"
        )
    return path


def _read_env_file(path: Path) -> dict[str, str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"cannot read {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    return dotenv_values(stream=io.StringIO(text))


def resolve_credentials(
    exchange_id: str | Capabilities,
    credentials: Credentials | None,
    env_file: str | os.PathLike[str] | None,
    config: Mapping[str, Any] | None,
) -> Credentials:
    """The credentials the client will sign with: ``credentials`` (else
    :func:`load_credentials`), with the ones given the ccxt way in ``config``
    (``{"apiKey": ..., "secret": ...}``) put over them, as the client applies ``config``
    last; the checks before a private call count those too."""
    base = credentials or load_credentials(exchange_id, env_file=env_file)
    given = {
        spec.name: value
        for spec in capabilities(exchange_id).credentials
        if isinstance(value := (config or {}).get(spec.ccxt_field), str) and value.strip()
    }
    if not given:
        return base
    return Credentials(**{name: getattr(base, name) for name in Credentials.model_fields} | given)
