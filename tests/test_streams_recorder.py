"""The WebSocket recorder of ``scripts/record_cassettes.py``, rehearsed offline: its relay
sits between the adapter and a replay server on 127.0.0.1 (instead of the venue), and the
session it writes must hold the frames that went through, minus every secret.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from adapters.exchange import Exchange
from adapters.replay import Recording, compact_json

from .replay_faults import FaultyReplayServer
from .streams_support import (
    ROOT,
    bitmart_wallet,
    bitstamp_rest,
    data,
    recording,
    session_path,
)

TOKEN = "siPaT4m6VGQCdsDCVbLBemiphHQs552e"  # rest/websockets_token.json
USER_ID = "4848701"
LIVE = {"apiKey": "liveKeyA1b2C3d4", "secret": "liveSecretE5f6G7h8", "uid": "liveMemo9i0j"}


def load_script() -> ModuleType:
    path = ROOT / "scripts" / "record_cassettes.py"
    spec = importlib.util.spec_from_file_location("record_cassettes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("record_cassettes", module)
    spec.loader.exec_module(module)
    return module


script = load_script()


def bitmart_markets(ex: Exchange) -> None:
    markets = json.loads(session_path("bitmart", "markets.spot.json").read_text(encoding="utf-8"))
    ex.client.set_markets(list(markets.values()))


def texts(rec: Recording, direction: str) -> list[Any]:
    return [f.json() for f in rec.frames if f.dir == direction]


async def test_bitstamp_private_session_is_recorded_without_token_or_user_id(
    tmp_path: Path,
) -> None:
    rec = recording("bitstamp", "private_my_orders")
    async with FaultyReplayServer(rec, rest=bitstamp_rest()) as srv:
        path = await script.record_ws_session(
            "bitstamp", "orders", "LTC/USD", seconds=0.4, out=tmp_path,
            credentials={k: LIVE[k] for k in ("apiKey", "secret")},
            upstream=srv.ws_url, http_url=srv.http_url,
        )  # fmt: skip
    assert path == tmp_path / "bitstamp" / "ws" / "orders_live.jsonl"
    text = path.read_text(encoding="utf-8")
    for secret in (TOKEN, USER_ID, LIVE["apiKey"], LIVE["secret"]):
        assert secret not in text
    written = Recording.loads(text)
    assert written.meta["exchange"] == "bitstamp" and written.meta["url"].startswith("ws://127")
    assert texts(written, "sent") == [
        {
            "event": "bts:subscribe",
            "data": {"channel": "private-my_orders_ltcusd-0", "auth": "scrubbed"},
        }
    ]
    # what the venue sent, with the user id in the channel replaced
    expected = [json.loads(f.text.replace(USER_ID, "0")) for f in rec.recv if f.text]
    assert texts(written, "recv") == expected
    ts = [f.t for f in written.frames]
    assert ts == sorted(ts) and ts[0] == 0.0


async def test_bitmart_compressed_frames_are_stored_as_text(tmp_path: Path) -> None:
    rec = recording("bitmart", "ticker")
    async with FaultyReplayServer(rec, compress=True) as srv:
        path = await script.record_ws_session(
            "bitmart", "ticker", "ETH/USDT", seconds=0.4, out=tmp_path,
            upstream=srv.ws_url, prepare=bitmart_markets,
        )  # fmt: skip
    written = Recording.load(path)
    assert not any(f.is_binary for f in written.frames)
    assert [f.text for f in written.recv] == [compact_json(f.json()) for f in rec.recv]
    assert texts(written, "sent") == [{"op": "subscribe", "args": ["spot/ticker:ETH_USDT"]}]
    # the written session replays to the adapter like the shipped one
    assert written.data_frames()[0].json() == data(rec)[0]


async def test_bitmart_login_loses_key_and_signature(tmp_path: Path) -> None:
    rec = recording("bitmart", "user_balance")
    async with FaultyReplayServer(rec, rest={"GET /spot/v1/wallet": bitmart_wallet()}) as srv:
        path = await script.record_ws_session(
            "bitmart", "balance", "ETH/USDT", seconds=0.4, out=tmp_path, credentials=LIVE,
            upstream=srv.ws_url, http_url=srv.http_url, prepare=bitmart_markets,
        )  # fmt: skip
    text = path.read_text(encoding="utf-8")
    for secret in LIVE.values():
        assert secret not in text
    login, subscribe = texts(Recording.loads(text), "sent")
    assert login["op"] == "login" and login["args"][0] == login["args"][2] == "scrubbed"
    assert login["args"][1].isdigit()  # the timestamp stays
    assert subscribe == {"op": "subscribe", "args": ["spot/user/balance:BALANCE_UPDATE"]}


def test_scrubber_and_secret_check(tmp_path: Path) -> None:
    scrub = script.Scrubber({LIVE["apiKey"]: "scrubbed"})
    scrub.add(USER_ID, "0")
    frame = '{"channel":"private-my_trades_ethusd-4848701","data":{"user_id":4848701,"x":1}}'
    assert json.loads(scrub(frame)) == {
        "channel": "private-my_trades_ethusd-0",
        "data": {"user_id": 0, "x": 1},
    }
    assert scrub("ping " + LIVE["apiKey"]) == "ping scrubbed"
    leaky = tmp_path / "bitstamp" / "ws" / "x_live.jsonl"
    leaky.parent.mkdir(parents=True)
    leaky.write_text(LIVE["secret"])
    assert script.check_no_secrets(tmp_path, {"bitstamp": LIVE}) == [leaky]
    assert not leaky.exists()


def test_command_line() -> None:
    with pytest.raises(SystemExit) as done:
        script.parse_args(["--help"])
    assert done.value.code == 0
    args = script.parse_args(["--ws", "--ws-streams", "order_book,balance", "--seconds", "5"])
    assert args.ws and args.seconds == 5.0 and args.ws_streams == "order_book,balance"
    with pytest.raises(SystemExit):
        script.parse_args(["--ws", "--ws-streams", "order_book,nope"])
