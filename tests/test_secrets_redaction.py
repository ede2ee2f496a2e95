"""Secrets stay out of ccxt's ``verbose`` output and DEBUG log (issue 11, "Secrets").

ccxt prints request headers and bodies, answers and WebSocket frames with ``print`` when
``verbose`` is on, past any logger; and it logs the answer of Bitstamp's
``websockets_token`` call (the session token and the user id) at DEBUG. The adapter runs
both through :class:`adapters.redact.Redactor`; these tests drive real private sessions
against a replay server on 127.0.0.1 and search what was printed and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable

import pytest

from adapters import Credentials
from adapters.exchange import Exchange
from adapters.redact import Redactor, is_sensitive_key
from adapters.replay import Frame, Recording, ReplayServer

from .conftest import DUMMY_KEY, DUMMY_MEMO, DUMMY_SECRET
from .streams_support import (
    BITSTAMP_WS,
    bitmart_wallet,
    bitstamp_rest,
    point,
    recording,
    take,
    until,
)

Make = Callable[..., Exchange]

_TOKEN_FILE = json.loads((BITSTAMP_WS / "rest" / "websockets_token.json").read_text())
TOKEN = _TOKEN_FILE["response"]["token"]
USER_ID = str(_TOKEN_FILE["response"]["user_id"])
#: What an HMAC-SHA256 signature looks like (Bitstamp's X-Auth-Signature, BitMart's sign).
SIGNATURE = re.compile(r"\b[0-9a-fA-F]{64}\b")


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked"
    assert not SIGNATURE.search(text), f"signature leaked: {SIGNATURE.search(text)}"


async def bitstamp_private_session(ex: Exchange) -> None:
    rec = recording("bitstamp", "private_my_orders")
    async with ReplayServer(rec, rest=bitstamp_rest()) as srv:
        point(ex, srv)
        (order,) = await take(ex.watch_orders("LTC/USD"), 1)
    assert order.symbol == "LTC/USD"


async def bitmart_private_session(ex: Exchange) -> None:
    rec = recording("bitmart", "user_balance")
    async with ReplayServer(rec, rest={"GET /spot/v1/wallet": bitmart_wallet()}) as srv:
        point(ex, srv)
        await ex.fetch_balance()
        assert len(await take(ex.watch_balance(), 1)) == 1


# -- verbose -------------------------------------------------------------------------------------


async def test_bitstamp_verbose_prints_no_key_signature_token_or_user_id(
    make_exchange: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = make_exchange("bitstamp", config={"verbose": True})
    await bitstamp_private_session(ex)
    out = capsys.readouterr().out
    # verbose still shows the traffic: the signed request, the answer and the frames sent
    assert "fetch Request: bitstamp POST" in out and "/api/v2/websockets_token/" in out
    assert "'X-Auth': '***'" in out and "'X-Auth-Signature': '***'" in out
    assert '"token":"***","user_id":***' in out
    assert "'channel': 'private-my_orders_ltcusd-***', 'auth': '***'" in out
    assert_clean(out, DUMMY_KEY, DUMMY_SECRET, TOKEN, USER_ID)


async def test_bitmart_verbose_prints_no_key_or_login_signature(
    make_exchange: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = make_exchange("bitmart", config={"verbose": True})
    await bitmart_private_session(ex)
    out = capsys.readouterr().out
    assert "'X-BM-KEY': '***'" in out and "'X-BM-SIGN': '***'" in out
    assert "sending {'op': 'login', 'args': ['***', '" in out  # the timestamp stays
    assert_clean(out, DUMMY_KEY, DUMMY_SECRET, DUMMY_MEMO)


async def test_credentials_given_in_config_are_masked_too(
    make_exchange: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    key, secret = "cfgKey7Q2w9E", "cfgSecret4R8t1Y"
    ex = make_exchange(
        "bitstamp",
        credentials=Credentials(),
        config={"verbose": True, "apiKey": key, "secret": secret},
    )
    # the adapter signs nothing without ``credentials``; its ccxt client does, with these
    rec = recording("bitstamp", "private_my_orders")
    async with ReplayServer(rec, rest=bitstamp_rest()) as srv:
        point(ex, srv)
        answer = await ex.client.private_post_websockets_token()
    assert answer["token"] == TOKEN
    out = capsys.readouterr().out
    assert "/api/v2/websockets_token/" in out
    assert_clean(out, key, secret, TOKEN, USER_ID)


# -- DEBUG log ---------------------------------------------------------------------------------


async def test_bitstamp_websocket_token_and_user_id_not_in_debug_log(
    make_exchange: Make, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await bitstamp_private_session(make_exchange("bitstamp"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "websockets_token/, Response: 200" in text  # the answer was logged, masked
    assert_clean(text, DUMMY_KEY, DUMMY_SECRET, TOKEN, USER_ID)


async def test_bitmart_debug_log_has_no_key_or_signature(
    make_exchange: Make, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await bitmart_private_session(make_exchange("bitmart"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/spot/v1/wallet, Request:" in text
    assert_clean(text, DUMMY_KEY, DUMMY_SECRET, DUMMY_MEMO)


async def test_a_logger_given_in_config_is_wrapped(make_exchange: Make) -> None:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    own = logging.getLogger("test.own_ccxt_logger")
    own.setLevel(logging.DEBUG)
    own.addHandler(Collect())
    own.propagate = False
    try:
        await bitstamp_private_session(make_exchange("bitstamp", config={"logger": own}))
    finally:
        own.handlers.clear()
    text = "\n".join(records)
    assert "websockets_token" in text
    assert_clean(text, DUMMY_KEY, DUMMY_SECRET, TOKEN, USER_ID)


# -- the Redactor, notation by notation ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Python repr of a header dict, as ccxt logs it
        ("{'X-Auth': 'BITSTAMP k', 'Accept': 'x'}", "{'X-Auth': '***', 'Accept': 'x'}"),
        # JSON, quoted and bare values
        ('{"valid_sec":60,"token":"t0k3n","user_id":4848701}',
         '{"valid_sec":60,"token":"***","user_id":***}'),
        # query string and form body
        ("/p?symbol=BTC&listenKey=abc&signature=zz", "/p?symbol=BTC&listenKey=***&signature=***"),
        ("amount=1&api_secret=s3&price=2", "amount=1&api_secret=***&price=2"),
        # header lines, with an auth scheme word before the credential
        ("Authorization: Bearer eyJ.x\nX-Other: 1", "Authorization: ***\nX-Other: 1"),
        # lists and objects under a sensitive name go whole
        ('{"passphrase": ["a", "b"], "n": {"apiSecret": {"x": "}"}}, "price": "1"}',
         '{"passphrase": ***, "n": {"apiSecret": ***}, "price": "1"}'),
        # JSON inside a JSON string
        ('{"text": "{\\"ws_token\\":\\"zz9\\"}"}', '{"text": "{\\"ws_token\\":\\"***\\"}"}'),
        # a harmless field's value may hold a sensitive one
        ("url: wss://h/ws?access_token=q1", "url: wss://h/ws?access_token=***"),
        # a positional signature
        ("['k', '1', '" + "ab" * 32 + "']", "['k', '1', '***']"),
        # nothing sensitive: unchanged
        ('{"id":"1463471322288128","price":"1000.00","side":"buy"}',
         '{"id":"1463471322288128","price":"1000.00","side":"buy"}'),
    ],
)  # fmt: skip
def test_redactor_masks_every_notation(text: str, expected: str) -> None:
    assert Redactor()(text) == expected


def test_redactor_masks_given_secrets_and_remembers_identity_values() -> None:
    redact = Redactor(["liveKey123"])
    assert redact("GET /x key liveKey123 in a path") == "GET /x key *** in a path"
    assert redact('{"user_id":4848701}') == '{"user_id":***}'
    # learnt: the user id goes from the private channel name of a later frame too
    assert redact("private-my_orders_ltcusd-4848701") == "private-my_orders_ltcusd-***"


def test_redactor_remembers_a_bounded_number_of_values() -> None:
    redact = Redactor(["fixedSecret"])
    for n in range(1000):
        redact(f'{{"token":"tok{n:06d}"}}')
    assert redact("tok000999 tok000000 fixedSecret") == "*** tok000000 ***"


@pytest.mark.parametrize(
    "name",
    ["apiKey", "api_key", "X-BM-KEY", "X-Auth", "X-Auth-Signature", "X-BM-SIGN", "secret",
     "api_secret", "apiSecret", "passphrase", "password", "access_token", "listenKey",
     "ws_token", "token", "auth", "user_id", "userId", "uid", "memo", "Cookie", "Set-Cookie"],
)  # fmt: skip
def test_sensitive_names(name: str) -> None:
    assert is_sensitive_key(name)


@pytest.mark.parametrize(
    "name",
    ["id", "order_id", "client_order_id", "symbol", "price", "amount", "side", "type", "status",
     "timestamp", "datetime", "channel", "event", "data", "Content-Type", "market_symbol"],
)  # fmt: skip
def test_harmless_names(name: str) -> None:
    assert not is_sensitive_key(name)


async def test_a_private_frame_quoted_in_a_warning_names_no_user_id(
    make_exchange: Make, caplog: pytest.LogCaptureFixture
) -> None:
    # A frame on the private channel (named after the user id) whose data ccxt cannot read:
    # the stream logs it and drops the connection. Logging is at WARNING, so the redactor
    # never saw the token answer: the user id is known from the session, not learnt.
    rec = recording("bitstamp", "private_my_orders")
    good = rec.frames[2].json()
    assert USER_ID in good["channel"]
    unreadable = Frame.recv_json({**good, "data": "not an order"})
    session = Recording(frames=[*rec.frames[:2], unreadable, *rec.frames[2:]], meta=rec.meta)
    with caplog.at_level(logging.WARNING):
        async with ReplayServer(session, rest=bitstamp_rest()) as srv:
            stream = point(make_exchange("bitstamp"), srv).watch_orders("LTC/USD")
            pending = asyncio.ensure_future(anext(stream))
            try:
                await until(lambda: "frame handler failed" in caplog.text)
            finally:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending
                await stream.aclose()  # type: ignore[attr-defined]
    quoted = [r.getMessage() for r in caplog.records if "frame handler failed" in r.getMessage()]
    assert "'channel': 'private-my_orders_ltcusd-***'" in quoted[0]
    assert_clean(caplog.text, TOKEN, USER_ID)
