"""Re-record the REST cassettes LIVE against Bitstamp and BitMart (needs internet).

Meant for a developer with network access and real API keys; never run by the tests.
It replays nothing: every call goes to the exchange and is written to a fresh
cassette under ``--out`` (default ``build/live-cassettes``), one cassette per call
with the market-loading requests first, like ``scripts/build_cassettes.py`` does from
the reference payloads. Compare the output with ``cassettes/`` by hand before
adopting anything, and regenerate the expected values if you do.

Levels, each opt-in:

* default: public calls only (markets, ticker, order book, trades, OHLCV, BitMart time);
* ``--private``: read-only signed calls (balance, fees, open orders, my trades,
  Bitstamp websockets token);
* ``--private --i-understand-this-places-orders``: also creates REAL limit and
  post-only orders far below the market (the same arguments as the cassettes), then
  cancels and fetches them; every order created is cancelled in a ``finally``;
* ``--include-market-orders`` (with the two above): also a REAL Bitstamp market buy,
  which fills and spends money.

Error cassettes are not recorded live: provoking them safely is not possible.

Credentials come from ``.env`` (python-dotenv) or the environment: BITSTAMP_API_KEY,
BITSTAMP_API_SECRET, BITMART_API_KEY, BITMART_API_SECRET, BITMART_API_MEMO.

WebSocket sessions (``--ws``): each typed stream named by ``--ws-streams`` runs for
``--seconds`` through the adapter (``Exchange.watch_*``) while a relay on 127.0.0.1 sits
between ccxt.pro and the venue and writes every frame, both ways, to
``<out>/<exchange>/ws/<stream>_live.jsonl`` in the format of ``cassettes/<exchange>/ws``
(``adapters.replay.Recording``): BitMart's raw-deflate frames are stored inflated (replay them
with ``compress=True``), JSON is re-serialised compactly. Private streams (orders, my_trades,
balance) need ``--private``. REST calls the streams make (markets, Bitstamp's websockets token
and book snapshots) go to the venue directly and are not recorded here.

Scrubbing (:class:`Scrubber`, one for REST and WebSocket): only ``Content-Type`` survives
on requests and responses (auth headers are also filtered by ``filter_headers``: no keys,
signatures, cookies, nonces or header timestamps). Every field whose name says it is secret
(``adapters.redact.is_sensitive_key``: keys, secrets, tokens, signatures, passphrases,
passwords, memos, user and account ids...) is replaced with ``0`` / ``"scrubbed"``, lists and
objects under such a name leaf by leaf, wherever it is: URL query strings, form bodies, JSON
at any depth, ``name=value`` / ``name: value`` in text bodies and frames. Then every known
secret (the credentials, and identity values seen under such names, e.g. the session token
and the user id, which reappear in private channel names) and every signature-shaped run (64
hex digits) is replaced wherever it appears. WebSocket frames go through the same, both
ways. The written files are finally searched for the real key, secret and memo and deleted
if any is found.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import ccxt
import ccxt.pro
import vcr
import yaml
from dotenv import dotenv_values

from adapters import Credentials, capabilities, open_exchange
from adapters.exchange import Exchange
from adapters.redact import SIGNATURE, Redactor, is_identity_key, is_sensitive_key
from adapters.replay import compact_json
from adapters.replay.relay import WsRecorder

REPO_ROOT = Path(__file__).resolve().parent.parent
MATCH_ON = ["method", "uri", "body"]
KEPT_HEADERS = {"content-type"}
AUTH_HEADERS = [
    "X-Auth",
    "X-Auth-Signature",
    "X-Auth-Nonce",
    "X-Auth-Timestamp",
    "X-Auth-Version",
    "X-BM-KEY",
    "X-BM-SIGN",
    "X-BM-TIMESTAMP",
    "X-BM-BROKER-ID",
    "Authorization",
    "Cookie",
    "Set-Cookie",
]
SCRUBBED = "scrubbed"
ENV_KEYS: dict[str, dict[str, str]] = {
    "bitstamp": {"apiKey": "BITSTAMP_API_KEY", "secret": "BITSTAMP_API_SECRET"},
    "bitmart": {
        "apiKey": "BITMART_API_KEY",
        "secret": "BITMART_API_SECRET",
        "uid": "BITMART_API_MEMO",
    },
}
PUBLIC = {"load_markets", "fetch_ticker", "fetch_order_book", "fetch_trades", "fetch_ohlcv"}
PUBLIC |= {"fetch_time"}
PRIVATE_READ = {
    "fetch_balance",
    "fetch_trading_fee",
    "fetch_open_orders",
    "fetch_my_trades",
    "private_post_websockets_token",
}


def _load_build_module() -> ModuleType:
    # Reuse the call list and the spot-only BitMart client of the offline build so
    # both scripts record the same calls; loaded by path because scripts/ is not a package.
    path = Path(__file__).resolve().with_name("build_cassettes.py")
    spec = importlib.util.spec_from_file_location("build_cassettes", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_cassettes", module)
    spec.loader.exec_module(module)
    return module


build = _load_build_module()


# --------------------------------------------------------------------------- scrubbing


class Scrubber:
    """Takes secrets out of what is recorded: vcrpy's requests and responses
    (:meth:`request`, :meth:`response`), WebSocket frames (call it) and URLs (:meth:`url`).

    ``secrets`` maps each known secret text to its replacement.
    """

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        #: secret text -> replacement; longer first so a secret inside another goes too
        self.secrets: dict[str, str] = {}
        for secret, replacement in (secrets or {}).items():
            self.add(secret, replacement)
        self._fields = Redactor(mask=SCRUBBED)

    def add(self, secret: str | None, replacement: str = SCRUBBED) -> None:
        """Also replace ``secret`` wherever it appears (e.g. the user id once it is known)."""
        if secret and len(secret) >= 4 and secret not in (SCRUBBED, "0"):
            self.secrets[secret] = replacement
            self.secrets = dict(sorted(self.secrets.items(), key=lambda kv: -len(kv[0])))

    # -- text

    def known(self, text: str) -> str:
        """``text`` with every known secret and signature-shaped run replaced (BitMart's
        WebSocket login sends its signature as a bare list element)."""
        for secret, replacement in self.secrets.items():
            text = text.replace(secret, replacement)
        return SIGNATURE.sub(SCRUBBED, text)

    def binary(self, data: bytes) -> bytes:
        """Bytes that are no text: the known secrets replaced."""
        for secret, replacement in self.secrets.items():
            data = data.replace(secret.encode(), replacement.encode())
        return data

    def text(self, text: str) -> str:
        """Free text: ``name=value`` / ``name: value`` / quoted fields, then known secrets."""
        masked = self._fields.fields(text)
        if masked != text:
            for value in self._fields.learned:
                self.add(value)
        return self.known(masked)

    def __call__(self, frame: str) -> str:
        """A WebSocket frame (either way): JSON field by field, anything else as text."""
        try:
            obj = json.loads(frame)
        except ValueError:
            return self.text(frame)
        if not isinstance(obj, dict | list):
            return self.text(frame)
        return self.known(compact_json(self.json(obj)))

    # -- structures

    def json(self, value: Any) -> Any:
        """``value`` with sensitive fields replaced at any depth, keeping JSON types; the
        identity values replaced are remembered as known secrets."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if is_sensitive_key(str(key)):
                    if is_identity_key(str(key)) and isinstance(item, str | int):
                        self.add(str(item), "0" if isinstance(item, int) else SCRUBBED)
                    out[key] = _scrub_leaves(item)
                else:
                    out[key] = self.json(item)
            return out
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, str):
            return self.text(value)  # a URL or embedded JSON may carry a field of its own
        return value

    def pairs(self, encoded: str) -> str:
        """A query string or form body with sensitive values replaced; the rest byte for byte."""
        parts = []
        for part in encoded.split("&"):
            name, sep, _ = part.partition("=")
            parts.append(
                f"{name}={SCRUBBED}" if sep and is_sensitive_key(unquote_plus(name)) else part
            )
        return self.known("&".join(parts))

    def url(self, url: str) -> str:
        """``url`` with its query string scrubbed and known secrets replaced (path included)."""
        parts = urlsplit(url)
        query = self.pairs(parts.query) if parts.query else ""
        return self.known(urlunsplit(parts._replace(query=query)))

    def body(self, body: bytes | str | None, content_type: str) -> bytes | str | None:
        """A request or response body: JSON, form-encoded, or text. An unchanged body is
        returned as it was (same bytes, same serialisation)."""
        if not body:
            return body
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
        except UnicodeDecodeError:
            return self.binary(body) if isinstance(body, bytes) else body
        scrubbed: str
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict | list):
            cleaned = self.json(parsed)
            scrubbed = text if cleaned == parsed else compact_json(cleaned)
            scrubbed = self.known(scrubbed)
        elif "x-www-form-urlencoded" in content_type:
            scrubbed = self.pairs(text)
        else:
            scrubbed = self.text(text)
        if scrubbed == text:
            return body
        return scrubbed.encode("utf-8") if isinstance(body, bytes) else scrubbed

    # -- vcrpy hooks

    def request(self, request: Any) -> Any:
        """vcrpy ``before_record_request``: Content-Type only; URL and body scrubbed."""
        request.headers = _only_kept_headers(request.headers)
        request.uri = self.url(request.uri)
        content_type = str(request.headers.get("Content-Type", "")).lower()
        request.body = self.body(request.body, content_type)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """vcrpy ``before_record_response``: Content-Type only; body scrubbed."""
        response["headers"] = _only_kept_headers(response["headers"])
        content_type = " ".join(response["headers"].get("Content-Type", [])).lower()
        body = response.get("body", {})
        if "string" in body:
            body["string"] = self.body(body["string"], content_type)
        return response


def _scrub_leaves(value: Any) -> Any:
    """Every leaf of ``value`` replaced, keeping its JSON type family (and the structure)."""
    if isinstance(value, dict):
        return {k: _scrub_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_leaves(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return 0
    return SCRUBBED


def _only_kept_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}


def make_recorder(scrub: Scrubber) -> vcr.VCR:
    """The vcrpy configuration for live recording."""
    return vcr.VCR(
        record_mode="all",
        match_on=MATCH_ON,
        filter_headers=AUTH_HEADERS,
        before_record_request=scrub.request,
        before_record_response=scrub.response,
    )


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class LiveCall:
    """One live call to record into ``<out>/<exchange>/<name>.yaml``."""

    exchange: str
    name: str
    method: str
    args: tuple[Any, ...]


def read_credentials(env_file: Path) -> dict[str, dict[str, str]]:
    """Credentials per exchange from ``.env`` (or the environment); missing ones are omitted."""
    values = {**dotenv_values(env_file), **os.environ} if env_file.exists() else dict(os.environ)
    found: dict[str, dict[str, str]] = {}
    for exchange, keys in ENV_KEYS.items():
        creds = {field: values.get(var) or "" for field, var in keys.items()}
        if all(creds.values()):
            found[exchange] = creds
    return found


def planned_calls(exchanges: Sequence[str], private: bool, orders: bool) -> list[LiveCall]:
    """The non-chained calls to record, taken from the offline build's specs."""
    allowed = PUBLIC | (PRIVATE_READ if private else set())
    calls = []
    for spec in build.SPECS:
        if spec.exchange in exchanges and not spec.is_error and spec.method in allowed:
            calls.append(LiveCall(spec.exchange, spec.name, spec.method, spec.args))
    return calls


def order_specs(exchanges: Sequence[str], market: bool) -> list[LiveCall]:
    """The order-creating calls (limit and post-only, optionally market) from the specs."""
    names = {"create_order_limit", "create_order_limit_maker"} | (
        {"create_order_market"} if market else set()
    )
    return [
        LiveCall(s.exchange, s.name, s.method, s.args)
        for s in build.SPECS
        if s.exchange in exchanges and s.name in names
    ]


def make_live_client(exchange: str, credentials: Mapping[str, str]) -> Any:
    """A real ccxt.pro client (spot-only markets for BitMart, like the adapter)."""
    base = build.SpotOnlyBitmart if exchange == "bitmart" else ccxt.pro.bitstamp
    return base({"enableRateLimit": True, **credentials})


def _annotate(path: Path, call: LiveCall) -> None:
    # Same layout as the offline cassettes: a header comment and a sources list.
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document["sources"] = [
        {
            "interaction": i,
            "request": f"{x['request']['method']} {x['request']['uri']}",
            "reference_file": "live",
            "source": f"live recording {stamp} by scripts/record_cassettes.py",
            "status": x["response"]["status"]["code"],
        }
        for i, x in enumerate(document["interactions"])
    ]
    header = (
        f"# vcrpy cassette: {call.exchange} {call.method}{call.args!r} recorded live {stamp}.\n"
        "# Auth headers filtered, ids/tokens scrubbed by scripts/record_cassettes.py.\n"
    )
    path.write_text(
        header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=10_000),
        encoding="utf-8",
    )


async def record_one(
    call: LiveCall, credentials: Mapping[str, str], out: Path, recorder: vcr.VCR
) -> Any:
    """Record one call into a fresh cassette; return the ccxt result (exceptions propagate)."""
    path = out / call.exchange / f"{call.name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    client = make_live_client(call.exchange, credentials)
    try:
        with recorder.use_cassette(str(path)):
            return await getattr(client, call.method)(*call.args)
    finally:
        await client.close()
        if path.exists():
            _annotate(path, call)
            print(f"recorded {path}")


async def record_orders(
    creates: Sequence[LiveCall],
    credentials: Mapping[str, Mapping[str, str]],
    out: Path,
    recorder: vcr.VCR,
) -> None:
    """Create each order, record cancel/fetch of the first, and always cancel what was created."""
    created: list[tuple[LiveCall, str]] = []
    try:
        for call in creates:
            order = await record_one(call, credentials[call.exchange], out, recorder)
            if call.name != "create_order_market":
                created.append((call, str(order["id"])))
        recorded_cancel: set[str] = set()
        for call, order_id in list(created):
            if call.exchange in recorded_cancel:
                continue
            symbol = call.args[0]
            cancel = LiveCall(call.exchange, "cancel_order", "cancel_order", (order_id, symbol))
            await record_one(cancel, credentials[call.exchange], out, recorder)
            created.remove((call, order_id))
            recorded_cancel.add(call.exchange)
            fetch = LiveCall(call.exchange, "fetch_order", "fetch_order", (order_id, symbol))
            await record_one(fetch, credentials[call.exchange], out, recorder)
    finally:
        for call, order_id in created:
            client = make_live_client(call.exchange, credentials[call.exchange])
            try:
                await client.cancel_order(order_id, call.args[0])
                print(f"cancelled {call.exchange} order {order_id} (not recorded)")
            except ccxt.BaseError as exc:
                print(f"could not cancel {call.exchange} order {order_id}: {exc!r}")
            finally:
                await client.close()


def check_no_secrets(out: Path, credentials: Mapping[str, Mapping[str, str]]) -> list[Path]:
    """Delete and return every written cassette or WebSocket recording that still contains a
    real credential."""
    leaked = []
    secrets = [v for creds in credentials.values() for v in creds.values() if len(v) >= 4]
    for path in sorted([*out.rglob("*.yaml"), *out.rglob("*.jsonl")]):
        text = path.read_text(encoding="utf-8")
        if any(secret in text for secret in secrets):
            path.unlink()
            leaked.append(path)
    return leaked


# --------------------------------------------------------------------------- WebSocket sessions

WS_STREAMS = ("order_book", "trades", "ticker", "candles", "orders", "my_trades", "balance")
PRIVATE_STREAMS = frozenset({"orders", "my_trades", "balance"})
DEFAULT_SYMBOLS = {"bitstamp": "ETH/USD", "bitmart": "ETH/USDT"}


def ws_origin(exchange: str) -> str:
    """The venue's WebSocket URL as ccxt.pro 4.5.70 has it (BitMart: the spot compress host)."""
    client = make_live_client(exchange, {})
    api = client.urls["api"]["ws"]
    url = api if isinstance(api, str) else client.implode_hostname(api["spot"]["public"])
    return str(url)


def _watch(ex: Any, stream: str, symbol: str, timeframe: str) -> Any:
    if stream in ("balance",):
        return ex.watch_balance()
    if stream in ("orders", "my_trades") and ex.venue.id == "bitmart":
        return getattr(ex, f"watch_{stream}")()
    if stream == "candles":
        return ex.watch_candles(symbol, timeframe)
    return getattr(ex, f"watch_{stream}")(symbol)


async def record_ws_session(
    exchange: str,
    stream: str,
    symbol: str,
    *,
    seconds: float,
    out: Path,
    credentials: Mapping[str, str] | None = None,
    timeframe: str = "1m",
    upstream: str | None = None,
    http_url: str | None = None,
    prepare: Callable[[Exchange], None] | None = None,
) -> Path:
    """Run one typed stream for ``seconds`` through a recording relay; write the session.

    ``upstream`` and ``http_url`` replace the venue's WebSocket origin and REST base, and
    ``prepare`` is called with the adapter before it starts (for a local rehearsal against
    :class:`adapters.replay.ReplayServer`).
    """
    creds = dict(credentials or {})
    scrub = Scrubber({v: SCRUBBED for v in creds.values()})
    origin = upstream or ws_origin(exchange)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    items = 0
    async with WsRecorder(origin, scrub) as relay:
        ex = open_exchange(
            exchange,
            credentials=Credentials(
                api_key=creds.get("apiKey"), api_secret=creds.get("secret"), memo=creds.get("uid")
            ),
        )
        try:
            ex.venue.point_at(ex.client, http_url, relay.ws_url)
            if prepare is not None:
                prepare(ex)
            iterator = _watch(ex, stream, symbol, timeframe)
            try:
                async with asyncio.timeout(seconds):
                    async for _ in iterator:
                        items += 1
            except TimeoutError:
                pass
            finally:
                await iterator.aclose()
            # Known only once the session ran: Bitstamp's token and the account's user id.
            scrub.add(str(ex.client.options.get("wsSessionToken") or ""))
            scrub.add(str(ex.client.options.get("userId") or ""), "0")
        finally:
            await ex.close()
        urls = sorted({scrub.url(url) for url in relay.urls})
        meta = {
            "source": f"live recording {stamp} by scripts/record_cassettes.py --ws "
            f"({exchange} {stream} {symbol}, {seconds:g}s, {items} typed items)",
            "exchange": exchange,
            "url": urls[0] if len(urls) == 1 else urls,
            "derived_by": "recorded live through a 127.0.0.1 relay; JSON re-serialised "
            "compactly; raw-deflate frames stored inflated; scrubbed: auth tokens, login "
            "keys and signatures, ids, user id, credentials",
        }
        recording = relay.recording(meta)
    path = out / exchange / "ws" / f"{stream}_live.jsonl"
    recording.save(path)
    print(f"recorded {path} ({len(recording.frames)} frames, {items} items)")
    return path


async def run_ws(args: argparse.Namespace) -> int:
    """Record the WebSocket sessions the flags ask for."""
    exchanges = list(build.DUMMY_CREDENTIALS) if args.exchange == "all" else [args.exchange]
    credentials = read_credentials(args.env_file)
    streams = [s.strip() for s in args.ws_streams.split(",") if s.strip()]
    failures = 0
    for exchange in exchanges:
        caps = capabilities(exchange)
        for stream in streams:
            if stream in PRIVATE_STREAMS and not (args.private and exchange in credentials):
                print(f"skip {exchange} {stream}: private (needs --private and credentials)")
                continue
            if stream not in {s.value for s in caps.streams}:
                print(f"skip {exchange} {stream}: not a stream of {exchange}")
                continue
            symbol = args.symbol or DEFAULT_SYMBOLS[exchange]
            try:
                await record_ws_session(
                    exchange,
                    stream,
                    symbol,
                    seconds=args.seconds,
                    out=args.out,
                    credentials=credentials.get(exchange),
                    timeframe=args.timeframe,
                )
            except Exception as exc:  # one stream failing does not stop the others
                failures += 1
                print(f"{exchange} {stream} failed: {type(exc).__name__}: {exc}")
    leaked = check_no_secrets(args.out, credentials)
    for path in leaked:
        print(f"DELETED {path}: it contained a real credential", file=sys.stderr)
    return 1 if leaked or failures else 0


async def run(args: argparse.Namespace) -> int:
    """Record everything the flags allow."""
    if args.ws:
        return await run_ws(args)
    exchanges = list(build.DUMMY_CREDENTIALS) if args.exchange == "all" else [args.exchange]
    credentials = read_credentials(args.env_file)
    recorder = make_recorder(
        Scrubber({v: SCRUBBED for creds in credentials.values() for v in creds.values()})
    )
    out: Path = args.out
    failures = 0
    for call in planned_calls(exchanges, args.private, False):
        needs_keys = call.method not in PUBLIC
        if needs_keys and call.exchange not in credentials:
            print(f"skip {call.exchange}/{call.name}: no credentials in {args.env_file}")
            continue
        try:
            await record_one(call, credentials.get(call.exchange, {}), out, recorder)
        except ccxt.BaseError as exc:
            failures += 1
            print(f"{call.exchange}/{call.name} failed: {exc!r}")
    if args.private and args.i_understand_this_places_orders:
        creates = [
            c
            for c in order_specs(exchanges, args.include_market_orders)
            if c.exchange in credentials
        ]
        await record_orders(creates, credentials, out, recorder)
    leaked = check_no_secrets(out, credentials)
    for path in leaked:
        print(f"DELETED {path}: it contained a real credential", file=sys.stderr)
    return 1 if leaked or failures else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate the command line."""
    parser = argparse.ArgumentParser(
        description="Re-record the REST cassettes, or WebSocket sessions (--ws), live "
        "(internet needed; real keys for private calls).",
        epilog="Nothing here runs in the tests. See the module docstring for the safety levels.",
    )
    parser.add_argument("--exchange", choices=["bitstamp", "bitmart", "all"], default="all")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "live-cassettes")
    parser.add_argument("--env-file", type=Path, default=REPO_ROOT / ".env")
    parser.add_argument("--private", action="store_true", help="also record signed read-only calls")
    parser.add_argument(
        "--i-understand-this-places-orders",
        action="store_true",
        help="with --private: create REAL limit/post-only orders, then cancel them",
    )
    parser.add_argument(
        "--include-market-orders",
        action="store_true",
        help="with the two above: also a REAL Bitstamp market buy (it fills)",
    )
    ws = parser.add_argument_group("WebSocket sessions")
    ws.add_argument(
        "--ws", action="store_true", help="record WebSocket sessions instead of REST cassettes"
    )
    ws.add_argument(
        "--ws-streams",
        default="order_book,trades,ticker,candles",
        help=f"comma-separated, of: {', '.join(WS_STREAMS)} (private ones need --private)",
    )
    ws.add_argument("--seconds", type=float, default=30.0, help="how long each stream runs")
    ws.add_argument("--symbol", help="market (default ETH/USD on Bitstamp, ETH/USDT on BitMart)")
    ws.add_argument("--timeframe", default="1m", help="candle timeframe for the candles stream")
    args = parser.parse_args(argv)
    unknown = {s.strip() for s in args.ws_streams.split(",") if s.strip()} - set(WS_STREAMS)
    if unknown:
        parser.error(f"unknown --ws-streams: {', '.join(sorted(unknown))}")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.i_understand_this_places_orders and not args.private:
        parser.error("--i-understand-this-places-orders requires --private")
    if args.include_market_orders and not args.i_understand_this_places_orders:
        parser.error("--include-market-orders requires --i-understand-this-places-orders")
    return args


def main(argv: Sequence[str] | None = None, runner: Callable[..., Any] = asyncio.run) -> int:
    """Command-line entry point."""
    args = parse_args(argv)
    result: int = runner(run(args))
    return result


if __name__ == "__main__":
    sys.exit(main())
