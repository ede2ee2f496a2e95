"""Every order status each venue documents, and the amounts ccxt 4.5.70 drops, end to end.

REST payloads go through the real ccxt call (``fetch_order``, ``fetch_open_orders``,
``cancel_order``) with only the HTTP layer answered from ``tests/data/order_statuses.json``;
stream payloads go through ccxt's own stream parser and the converter the stream uses. Each
payload names its source in that file; expected values are the payload's own strings.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import ExchangeError, Order, OrderStatus, UnknownOrderStatus, UnreadableAnswer
from adapters.exchange import Exchange, order_from_ccxt
from adapters.venues.bitmart.venue import ORDER_STATUSES as BITMART_STATUSES
from adapters.venues.bitstamp.venue import ORDER_STATUSES as BITSTAMP_STATUSES

from .conftest import CASSETTES

Make = Callable[..., Exchange]
DATA = json.loads((Path(__file__).parent / "data" / "order_statuses.json").read_text())

#: Where each venue answers each call (the paths ccxt 4.5.70 requests).
PATHS = {
    ("bitstamp", "fetch_order"): "/api/v2/order_status/",
    ("bitstamp", "fetch_open_orders"): "/api/v2/open_orders/all/",
    ("bitstamp", "cancel_order"): "/api/v2/cancel_order/",
    ("bitmart", "fetch_order"): "/spot/v4/query/order",
    ("bitmart", "fetch_open_orders"): "/spot/v4/query/open-orders",
}


def _market_answers(exchange: str) -> dict[str, Any]:
    """The venue's market-list answers, by URL path, from the ``load_markets`` cassette."""
    doc = yaml.safe_load((CASSETTES / exchange / "load_markets.yaml").read_text())
    return {
        urlsplit(i["request"]["uri"]).path: json.loads(i["response"]["body"]["string"])
        for i in doc["interactions"]
    }


def answer(ex: Exchange, path: str | None = None, payload: Any = None) -> list[str]:
    """Answer ``ex``'s HTTP requests: ``payload`` at ``path``, the markets from the cassette;
    returns the paths requested."""
    routes = _market_answers(ex.id)
    if path is not None:
        routes[path] = payload
    asked: list[str] = []

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        got = urlsplit(url).path
        asked.append(got)
        assert got in routes, f"unexpected request {method} {url}"
        return copy.deepcopy(routes[got])

    ex.client.fetch = fetch
    return asked


async def rest_order(ex: Exchange, case: Mapping[str, Any]) -> Order:
    """The adapter's order for a REST case."""
    path = PATHS[(ex.id, case["call"])]
    asked = answer(ex, path, case["payload"])
    if case["call"] == "fetch_order":
        order = await ex.fetch_order(case["id"], case["symbol"])
    elif case["call"] == "cancel_order":
        order = await ex.cancel_order(case["id"], case["symbol"])
    else:
        (order,) = await ex.fetch_open_orders()
    assert path in asked
    return order


async def stream_order(ex: Exchange, frame: Mapping[str, Any]) -> Order:
    """The adapter's order for a stream frame, parsed as ccxt.pro's ``handle_orders`` does."""
    answer(ex)
    await ex.load_markets()
    client = ex.client
    if ex.id == "bitstamp":
        data = dict(frame["data"], event=frame["event"])
        market = client.market(frame["symbol"]) if "symbol" in frame else None
        raw = client.parse_ws_order(data, market)
    else:
        raw = client.parse_ws_order(frame["data"][0])
    return order_from_ccxt(raw, venue=ex.venue)


def check(order: Order, expect: Mapping[str, Any], case: Mapping[str, Any]) -> None:
    assert order.id == case["id"]
    assert order.status is OrderStatus(expect["status"])
    for field in ("amount", "filled", "remaining", "cost", "average", "price"):
        if field in expect:
            want = expect[field]
            assert getattr(order, field) == (None if want is None else Decimal(want)), field
    if "client_order_id" in expect:
        assert order.client_order_id == expect["client_order_id"]
    check_invariants(order)


def check_invariants(order: Order) -> None:
    """``filled + remaining == amount`` when all three are known; a FILLED order has nothing
    remaining (an order that ended otherwise keeps its unexecuted part as ``remaining``)."""
    if None not in (order.amount, order.filled, order.remaining):
        assert order.filled + order.remaining == order.amount  # type: ignore[operator]
    if order.status is OrderStatus.FILLED:
        assert order.remaining == 0
    for value in (order.amount, order.filled, order.remaining):
        assert value is None or value >= 0


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


REST = [(v, c) for v in ("bitstamp", "bitmart") for c in DATA[v]["rest"]]
STREAM = [(v, c) for v in ("bitstamp", "bitmart") for c in DATA[v]["stream"]]


@pytest.mark.parametrize(("venue", "case"), REST, ids=[f"{v}: {c['name']}" for v, c in REST])
async def test_rest_payload(make_exchange: Make, venue: str, case: dict[str, Any]) -> None:
    check(await rest_order(make_exchange(venue), case), case["expect"], case)


@pytest.mark.parametrize(("venue", "case"), STREAM, ids=[f"{v}: {c['name']}" for v, c in STREAM])
async def test_stream_payload(make_exchange: Make, venue: str, case: dict[str, Any]) -> None:
    frame = dict(case["payload"], symbol=case["symbol"])
    check(await stream_order(make_exchange(venue), frame), case["expect"], case)


def test_every_documented_status_has_a_payload() -> None:
    """The status tables and the payloads cover each other: no documented status untested."""
    seen: dict[str, set[str]] = {"bitstamp": set(), "bitmart": set()}
    for venue in seen:
        for case in DATA[venue]["rest"] + DATA[venue]["stream"]:
            payload = case["payload"]
            items = payload if isinstance(payload, list) else [payload]
            for item in items:
                body = item.get("data", item) if venue == "bitmart" else item
                for obj in body if isinstance(body, list) else [body]:
                    for key in ("status", "state", "order_state"):
                        if isinstance(obj, dict) and obj.get(key) is not None:
                            seen[venue].add(str(obj[key]))
    assert set(BITSTAMP_STATUSES) <= seen["bitstamp"]
    assert set(BITMART_STATUSES) <= seen["bitmart"]


# -- undocumented statuses: a typed error naming the venue and the status -------------------


async def test_bitstamp_undocumented_status_is_a_typed_error(make_exchange: Make) -> None:
    case = DATA["bitstamp"]["rest"][0]
    ex = make_exchange("bitstamp")
    answer(ex, PATHS[("bitstamp", "fetch_order")], dict(case["payload"], status="Suspended"))
    with pytest.raises(UnknownOrderStatus, match=r"bitstamp.*'Suspended'") as info:
        await ex.fetch_order(case["id"], case["symbol"])
    assert (info.value.exchange, info.value.status) == ("bitstamp", "Suspended")
    assert isinstance(info.value, UnreadableAnswer)


async def test_bitmart_undocumented_status_is_a_typed_error(make_exchange: Make) -> None:
    case = DATA["bitmart"]["rest"][0]
    payload = copy.deepcopy(case["payload"])
    payload["data"]["state"] = "expired"
    ex = make_exchange("bitmart")
    answer(ex, PATHS[("bitmart", "fetch_order")], payload)
    with pytest.raises(UnknownOrderStatus, match=r"bitmart.*'expired'") as info:
        await ex.fetch_order(case["id"], case["symbol"])
    assert (info.value.exchange, info.value.status) == ("bitmart", "expired")


async def test_bitmart_undocumented_numeric_state_on_the_stream(make_exchange: Make) -> None:
    frame = copy.deepcopy(DATA["bitmart"]["stream"][1]["payload"])
    frame["data"][0]["state"] = "9"
    with pytest.raises(UnknownOrderStatus, match="'9'"):
        await stream_order(make_exchange("bitmart"), frame)


async def test_bitstamp_undocumented_stream_event(make_exchange: Make) -> None:
    frame = dict(DATA["bitstamp"]["stream"][1]["payload"], event="order_paused")
    frame["symbol"] = "LTC/USD"
    with pytest.raises(UnknownOrderStatus, match="'order_paused'"):
        await stream_order(make_exchange("bitstamp"), frame)


async def test_an_unknown_ccxt_status_is_never_read_as_the_default(make_exchange: Make) -> None:
    """Without the venue's payload (the paper engine, a plain ccxt dict) a status outside
    ccxt's unified set used to become OPEN on streams and creates: now it is an error."""
    ex = make_exchange("bitstamp")
    with pytest.raises(ValueError, match="'canceling'"):
        order_from_ccxt({"id": "1", "symbol": "BTC/USD", "status": "canceling"})
    with pytest.raises(ValueError, match="no status"):
        order_from_ccxt({"id": "1", "symbol": "BTC/USD"}, default_status=None, venue=ex.venue)


# -- amounts: properties over the venues' documented shapes ---------------------------------

_units = st.integers(min_value=0, max_value=10**12)


def _eight(units: int) -> str:
    """A Bitstamp amount string with 8 decimals, as the venue writes them."""
    return f"{Decimal(units).scaleb(-8):.8f}"


_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(
    fills=st.lists(st.integers(min_value=1, max_value=10**10), max_size=4),
    left=_units,
    status=st.sampled_from(["Open", "Canceled", "Expired", "Cancel pending", "In Queue"]),
)
async def test_bitstamp_order_status_amounts(
    make_exchange: Make, fills: list[int], left: int, status: str
) -> None:
    """``order_status``: filled is the sum of the fills, remaining is ``amount_remaining``
    and the amount their sum, whatever the (non-final or unfilled-ending) status."""
    base = DATA["bitstamp"]["rest"][0]["payload"]
    tx = base["transactions"][0]
    payload = dict(
        base,
        status=status,
        amount_remaining=_eight(left),
        transactions=[dict(tx, eth=_eight(f), tid=tx["tid"] + i) for i, f in enumerate(fills)],
    )
    ex = make_exchange("bitstamp")
    answer(ex, PATHS[("bitstamp", "fetch_order")], payload)
    order = await ex.fetch_order(str(base["id"]), "ETH/USDT")
    filled = sum((Decimal(_eight(f)) for f in fills), Decimal(0))
    assert (order.filled, order.remaining) == (filled, Decimal(_eight(left)))
    assert order.amount == filled + Decimal(_eight(left))
    if BITSTAMP_STATUSES[status] is OrderStatus.OPEN:
        assert order.status is (OrderStatus.PARTIALLY_FILLED if fills else OrderStatus.OPEN)
    check_invariants(order)


@_SETTINGS
@given(at_create=st.integers(min_value=1, max_value=10**12), data=st.data())
async def test_bitstamp_open_orders_amounts(
    make_exchange: Make, at_create: int, data: st.DataObject
) -> None:
    """``open_orders``: ``amount`` is what is still open, ``amount_at_create`` the order."""
    left = data.draw(st.integers(min_value=1, max_value=at_create))
    entry = dict(
        DATA["bitstamp"]["rest"][7]["payload"][0],
        amount=_eight(left),
        amount_at_create=_eight(at_create),
    )
    ex = make_exchange("bitstamp")
    answer(ex, PATHS[("bitstamp", "fetch_open_orders")], [entry])
    (order,) = await ex.fetch_open_orders()
    assert order.amount == Decimal(_eight(at_create))
    assert order.remaining == Decimal(_eight(left))
    assert order.filled == Decimal(_eight(at_create - left))
    assert order.status is (OrderStatus.OPEN if left == at_create else OrderStatus.PARTIALLY_FILLED)
    check_invariants(order)


@_SETTINGS
@given(at_create=st.integers(min_value=1, max_value=10**12), data=st.data())
async def test_bitstamp_stream_amounts(
    make_exchange: Make, at_create: int, data: st.DataObject
) -> None:
    """``private-my_orders``: every event keeps ``filled + remaining == amount``; an
    ``order_deleted`` with nothing open is a fill, with something open a cancel."""
    traded = data.draw(st.integers(min_value=0, max_value=at_create))
    event = data.draw(st.sampled_from(["order_created", "order_changed", "order_deleted"]))
    frame = copy.deepcopy(DATA["bitstamp"]["stream"][1]["payload"])
    frame["event"], frame["symbol"] = event, "LTC/USD"
    frame["data"].update(
        amount_str=_eight(at_create - traded),
        amount_traded=_eight(traded),
        amount_at_create=_eight(at_create),
    )
    order = await stream_order(make_exchange("bitstamp"), frame)
    assert order.amount == Decimal(_eight(at_create))
    assert order.filled == Decimal(_eight(traded))
    if event == "order_deleted":
        done = traded == at_create
        assert order.status is (OrderStatus.FILLED if done else OrderStatus.CANCELED)
    else:
        assert order.status is (OrderStatus.PARTIALLY_FILLED if traded else OrderStatus.OPEN)
    check_invariants(order)


@_SETTINGS
@given(
    size=st.integers(min_value=1, max_value=10**12),
    data=st.data(),
    state=st.sampled_from(sorted(BITMART_STATUSES)),
    stream=st.booleans(),
)
async def test_bitmart_amounts(
    make_exchange: Make, size: int, data: st.DataObject, state: str, stream: bool
) -> None:
    """v4 queries and the orders channel: size, filled size and notional are the venue's
    strings; the average is the notional over the filled size; nothing filled, no average."""
    filled = data.draw(st.integers(min_value=0, max_value=size))
    if BITMART_STATUSES[state] is OrderStatus.FILLED:
        filled = size
    price = data.draw(st.integers(min_value=1, max_value=10**6))
    amount, done = Decimal(size).scaleb(-5), Decimal(filled).scaleb(-5)
    notional = done * price
    ex = make_exchange("bitmart")
    if stream:
        frame = copy.deepcopy(DATA["bitmart"]["stream"][0]["payload"])
        fields = frame["data"][0]
        fields.pop("order_state")
        fields.update(state=state, size=str(amount), filled_size=str(done))
        fields["filled_notional"] = str(notional)
        order = await stream_order(ex, frame)
    else:
        payload = copy.deepcopy(DATA["bitmart"]["rest"][0]["payload"])
        payload["data"].update(
            state=state, size=str(amount), filledSize=str(done), filledNotional=str(notional)
        )
        payload["data"]["priceAvg"] = str(price) if filled else "0.00"
        answer(ex, PATHS[("bitmart", "fetch_order")], payload)
        order = await ex.fetch_order(payload["data"]["orderId"], "BTC/USDT")
    assert (order.amount, order.filled, order.cost) == (amount, done, notional)
    assert order.average == (Decimal(price) if filled else None)
    check_invariants(order)


CANCEL_ALL = json.loads(
    (Path(__file__).parent / "data" / "bitstamp_cancel_all_orders.json").read_text()
)


async def test_bitstamp_cancel_all_reads_the_answers_success(make_exchange: Make) -> None:
    """ccxt 4.5.70 drops ``success``; a ``false`` (some orders were not cancelled) read as a
    plain list would tell the caller that nothing is left open."""
    path = "/api/v2/cancel_all_orders/btcusd/"
    ex = make_exchange("bitstamp")
    answer(ex, path, CANCEL_ALL["complete"]["payload"])
    (done,) = await ex.cancel_all_orders("BTC/USD")
    assert (done.id, done.status, done.amount) == ("1453282316578816", OrderStatus.CANCELED,
                                                  Decimal("0.02035278"))  # fmt: skip
    asked = answer(ex, path, CANCEL_ALL["not_all"]["payload"])
    with pytest.raises(ExchangeError, match="not every order was cancelled") as info:
        await ex.cancel_all_orders("BTC/USD")
    assert "1453282316578816" in str(info.value)
    assert asked == [path]  # a refusal is not retried: the venue answered


async def test_bitmart_cancel_refused_as_not_revocable_returns_the_final_order(
    make_exchange: Make,
) -> None:
    """BitMart 50036 "Cancel failed, order is not revocable status" (code and message from
    ccxt 4.5.70's BitMart exception table): the order is final, so the cancel answers with
    it, as for "already cancelled" / "already completed"."""
    ex = make_exchange("bitmart")
    (filled,) = [c for c in DATA["bitmart"]["rest"] if c["name"] == "v4 state filled (docs)"]
    asked = answer(ex, PATHS[("bitmart", "fetch_order")], filled["payload"])
    answered = ex.client.fetch

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        if urlsplit(url).path == "/spot/v3/cancel_order":
            asked.append("/spot/v3/cancel_order")
            refusal = {"message": "Cancel failed, order is not revocable status",
                       "code": 50036, "trace": "t", "data": {}}  # fmt: skip
            ex.client.handle_errors(
                400, "Bad Request", url, method, {}, json.dumps(refusal), refusal, None, None
            )
        return await answered(url, method, headers, body)

    ex.client.fetch = fetch
    order = await ex.cancel_order(filled["id"], filled["symbol"])
    assert (order.id, order.status) == (filled["id"], OrderStatus.FILLED)
    assert asked[-2:] == ["/spot/v3/cancel_order", PATHS[("bitmart", "fetch_order")]]


async def test_reconciling_by_client_id_never_returns_another_clients_order(
    make_exchange: Make,
) -> None:
    """The reconciliation read after an unknown outcome checks the echoed client order id,
    as the create's own lookup does: an order under another id is not the one asked for."""
    ex = make_exchange("bitmart")
    (new,) = [c for c in DATA["bitmart"]["rest"] if c["name"] == "v4 state new"]
    answer(ex, "/spot/v4/query/client-order", new["payload"])
    assert new["payload"]["data"]["clientOrderId"] == "183347420821295423"
    found = await ex.fetch_order_by_client_id("183347420821295423", new["symbol"])
    assert found.id == new["id"]
    with pytest.raises(UnreadableAnswer, match="answered about '183347420821295423'"):
        await ex.fetch_order_by_client_id("abc123", new["symbol"])
