"""Shared test fixtures: offline replay of REST cassettes through the real adapter.

The suite never reaches the internet: pytest-socket allows connections to 127.0.0.1 only
(configured in pyproject), and REST calls are answered by vcrpy from ``cassettes/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import vcr
from vcr.cassette import Cassette

from adapters import Credentials, open_exchange
from adapters.exchange import Exchange
from adapters.retry import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"

#: Dummy credentials; the secret-scan test checks they never appear in a cassette.
DUMMY_KEY, DUMMY_SECRET, DUMMY_MEMO = "testApiKey", "testSecret", "testMemo"
DUMMY = Credentials(api_key=DUMMY_KEY, api_secret=DUMMY_SECRET, memo=DUMMY_MEMO)

#: Match on what the request means, never on auth headers (nonces and signatures change).
MATCH_ON = ["method", "scheme", "host", "port", "path", "query", "body"]

_VCR = vcr.VCR(
    record_mode="none",
    match_on=MATCH_ON,
    # The replay servers of the stream and fault tests live on 127.0.0.1.
    ignore_localhost=True,
    decode_compressed_response=True,
)


@contextmanager
def replay(exchange_id: str, name: str) -> Iterator[Cassette]:
    """Serve ``cassettes/<exchange>/<name>.yaml``; any unrecorded request fails the test."""
    path = CASSETTES / exchange_id / f"{name}.yaml"
    assert path.is_file(), f"missing cassette {path}"
    with _VCR.use_cassette(str(path), allow_playback_repeats=True) as cassette:
        yield cassette


def requests_to(cassette: Cassette, path_fragment: str) -> int:
    """How many replayed responses were for a URL containing ``path_fragment``."""
    return sum(
        count
        for (i, count) in ((i, cassette.play_counts[i]) for i in range(len(cassette.data)))
        if path_fragment in cassette.data[i][0].uri
    )


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real credentials or .env file of the developer's can leak into a test."""
    for var in ("BITSTAMP_API_KEY", "BITSTAMP_API_SECRET", "BITMART_API_KEY",
                "BITMART_API_SECRET", "BITMART_API_MEMO"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


#: ccxt settings for tests: no rate limiter sleeps, no 250 ms pause on close.
TEST_CONFIG: dict[str, Any] = {"enableRateLimit": False, "timeout_on_exit": 0}
#: The production bounds, with backoffs shrunk so replayed transient errors retry at once.
FAST_RETRY = RetryPolicy(initial_backoff=0.001, max_backoff=0.01)


@pytest.fixture
async def make_exchange() -> AsyncIterator[Callable[..., Exchange]]:
    """Factory for function-scoped adapters (a ccxt client cannot outlive its event loop)."""
    opened: list[Exchange] = []

    def make(exchange_id: str, *, credentials: Credentials | None = DUMMY, **kw: Any) -> Exchange:
        config = {**TEST_CONFIG, **kw.pop("config", {})}
        kw.setdefault("retry", FAST_RETRY)
        ex = open_exchange(
            exchange_id, credentials=credentials or Credentials(), config=config, **kw
        )
        opened.append(ex)
        return ex

    yield make
    for ex in opened:
        await ex.close()
