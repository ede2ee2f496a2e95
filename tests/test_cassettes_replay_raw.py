"""Replay every REST cassette through raw ccxt.pro 4.5.70 (no adapter code involved).

Each ``cassettes/<exchange>/expected/<name>.json`` names its cassette, the ccxt call,
and either the parsed result (``info`` stripped) or the ccxt exception class the
call must raise. ``scripts/build_cassettes.py`` wrote those files; their ``basis``
field says where each value comes from (ccxt's own result in the reference
``ccxt-requests.json``, or a labelled snapshot where the reference has none).
These tests only read files inside the repository, never the shared reference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import pytest
import vcr
import yaml

CASSETTE_ROOT = Path(__file__).resolve().parent.parent / "cassettes"
EXCHANGES = ("bitstamp", "bitmart")
MATCH_ON = ["method", "scheme", "host", "port", "path", "query", "body"]
DUMMY_CREDENTIALS: dict[str, dict[str, str]] = {
    "bitstamp": {"apiKey": "testApiKey", "secret": "testSecret"},
    "bitmart": {"apiKey": "testApiKey", "secret": "testSecret", "uid": "testMemo"},
}
# The only header cassettes may carry, on either side.
ALLOWED_HEADERS = {"content-type"}


class SpotOnlyBitmart(ccxt.pro.bitmart):  # type: ignore[misc]
    """ccxt.pro bitmart with the adapter's single override: spot markets only."""

    async def fetch_markets(self, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Load spot markets without the contract endpoint, as the adapter does."""
        markets: list[dict[str, Any]] = await self.fetch_spot_markets(params or {})
        return markets


def _expected_files() -> list[Path]:
    return sorted(p for ex in EXCHANGES for p in (CASSETTE_ROOT / ex / "expected").glob("*.json"))


def _cassette_files() -> list[Path]:
    return sorted(p for ex in EXCHANGES for p in (CASSETTE_ROOT / ex).glob("*.yaml"))


def _case_id(path: Path) -> str:
    exchange = path.parent.parent.name if path.parent.name == "expected" else path.parent.name
    return f"{exchange}/{path.stem}"


def _client(exchange: str, spot_only: bool) -> Any:
    base = SpotOnlyBitmart if spot_only else getattr(ccxt.pro, exchange)
    client = base({"enableRateLimit": False, **DUMMY_CREDENTIALS[exchange]})
    # close() sleeps 250 ms by default; across ~50 cases that alone would break the time budget.
    client.timeout_on_exit = 0
    return client


def _strip_info(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_info(v) for k, v in value.items() if k != "info"}
    if isinstance(value, list | tuple):
        return [_strip_info(v) for v in value]
    return value


def _view(method: str, result: Any) -> Any:
    # load_markets returns the market dict; the reference compares its symbols.
    if method == "load_markets":
        return list(result)
    return json.loads(json.dumps(_strip_info(result)))


def test_ccxt_is_the_recorded_version() -> None:
    """The cassettes and expected values describe ccxt 4.5.70 exactly."""
    assert ccxt.__version__ == "4.5.70"


def test_every_cassette_has_an_expected_outcome() -> None:
    """Each cassette is covered by one expected file and vice versa."""
    cassettes = {_case_id(p) for p in _cassette_files()}
    expected = {_case_id(p) for p in _expected_files()}
    assert cassettes, "no cassettes found"
    assert cassettes == expected


@pytest.mark.parametrize("cassette", _cassette_files(), ids=_case_id)
def test_cassette_has_no_secrets_and_names_its_sources(cassette: Path) -> None:
    """No auth header, cookie or dummy credential is recorded; every response has a source."""
    text = cassette.read_text(encoding="utf-8")
    for secret in ("testApiKey", "testSecret", "testMemo"):
        assert secret not in text
    document = yaml.safe_load(text)
    interactions = document["interactions"]
    for interaction in interactions:
        for side in ("request", "response"):
            names = {name.lower() for name in interaction[side]["headers"]}
            assert names <= ALLOWED_HEADERS, f"{side} headers {names}"
    sources = document["sources"]
    assert [s["interaction"] for s in sources] == list(range(len(interactions)))
    for source in sources:
        assert source["source"] and source["reference_file"]


def _replay_cases() -> list[Any]:
    cases = []
    for path in _expected_files():
        spec = json.loads(path.read_text(encoding="utf-8"))
        cassette = path.parent.parent / spec["cassette"]
        cases.append(pytest.param(spec, str(cassette), id=_case_id(path)))
    return cases


@pytest.mark.parametrize(("spec", "cassette"), _replay_cases())
@pytest.mark.asyncio
async def test_replay_through_raw_ccxt(spec: dict[str, Any], cassette: str) -> None:
    """Raw ccxt sends exactly the recorded requests and parses or raises as expected."""
    client = _client(spec["exchange"], spec["spot_only_markets"])
    recorder = vcr.VCR(record_mode="none", match_on=MATCH_ON)
    try:
        with recorder.use_cassette(cassette) as recorded:
            call = getattr(client, spec["method"])
            if "raises" in spec:
                expected_class = getattr(ccxt, spec["raises"])
                with pytest.raises(expected_class) as caught:
                    await call(*spec["args"])
                # Exact class, not a subclass: this is the input of the error mapping tests.
                assert type(caught.value) is expected_class
            else:
                result = await call(*spec["args"])
                assert _view(spec["method"], result) == spec["result"]
            assert recorded.all_played, "ccxt skipped a recorded request"
    finally:
        await client.close()
