"""ccxt-shaped order arguments: params are translated into the request or refused, never sent
around the capability table."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from adapters import InvalidOrderRequest, OrderType, Side, UnsupportedOrderType
from adapters.ccxt_args import ParamRole, order_request_from_ccxt

#: Bitstamp's own maker-or-cancel flag and order-kind flags (ccxt passes them to the wire;
#: reference bitstamp/ccxt-requests.json shows moc_order=true on /api/v2/buy/).
BITSTAMP = {
    "moc_order": ParamRole.POST_ONLY,
    "client_order_id": ParamRole.CLIENT_ORDER_ID,
    "ioc_order": ParamRole.REFUSED,
}


def make(*args: Any, params: dict[str, Any] | None = None) -> Any:
    return order_request_from_ccxt("bitstamp", *args, params=params, venue_params=BITSTAMP)


def test_a_plain_limit_order() -> None:
    request, rest = make("BTC/USD", "limit", "buy", 0.001, 20000)
    assert (request.symbol, request.side, request.type) == ("BTC/USD", Side.BUY, OrderType.LIMIT)
    assert (request.amount, request.price) == (D("0.001"), D("20000"))
    assert request.client_order_id and rest == {}  # none given: the request made a fresh one


def test_floats_are_read_as_typed() -> None:
    request, _ = make("BTC/USD", "limit", "sell", 0.1, 0.3)
    assert (request.amount, request.price) == (D("0.1"), D("0.3"))


@pytest.mark.parametrize(
    "params",
    [{"postOnly": True}, {"timeInForce": "PO"}, {"moc_order": True}, {"postOnly": "true"}],
)
def test_post_only_on_a_limit_order_is_limit_maker(params: dict[str, Any]) -> None:
    request, rest = make("BTC/USD", "limit", "buy", "0.001", "20000", params=params)
    assert request.type is OrderType.LIMIT_MAKER and rest == {}


@pytest.mark.parametrize("params", [{"postOnly": False}, {"timeInForce": "GTC"}])
def test_what_a_limit_order_already_is_changes_nothing(params: dict[str, Any]) -> None:
    request, rest = make("BTC/USD", "limit", "buy", "0.001", "20000", params=params)
    assert request.type is OrderType.LIMIT and rest == {}


def test_ioc_on_a_market_order_is_what_it_already_is() -> None:
    request, _ = make("BTC/USD", "market", "buy", "0.001", params={"timeInForce": "IOC"})
    assert request.type is OrderType.MARKET


@pytest.mark.parametrize(
    ("order_type", "params", "match"),
    [
        ("limit", {"timeInForce": "IOC"}, "timeInForce 'IOC'"),
        ("limit", {"timeInForce": "FOK"}, "timeInForce 'FOK'"),
        ("market", {"postOnly": True}, "cannot be post-only"),
        ("market", {"timeInForce": "PO"}, "timeInForce 'PO'"),
        ("limit", {"triggerPrice": 19000}, "triggerPrice"),
        ("limit", {"stopLossPrice": 19000}, "stopLossPrice"),
        ("limit", {"ioc_order": True}, "ioc_order"),
        ("stop_limit", {}, "unknown order type 'stop_limit'"),
    ],
)
def test_what_the_table_does_not_list_is_refused(
    order_type: str, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(UnsupportedOrderType, match=match) as info:
        make("BTC/USD", order_type, "buy", "0.001", "20000", params=params)
    assert "bitstamp" in str(info.value)


@pytest.mark.parametrize("key", ["type", "side", "amount", "price", "symbol"])
def test_params_cannot_replace_an_argument(key: str) -> None:
    with pytest.raises(InvalidOrderRequest, match=f"replace the {key} argument"):
        make("BTC/USD", "limit", "buy", "0.001", "20000", params={key: "x"})


def test_client_order_id_by_either_name() -> None:
    for params in ({"clientOrderId": "abc1"}, {"client_order_id": "abc1"}):
        request, rest = make("BTC/USD", "limit", "buy", "0.001", "20000", params=params)
        assert request.client_order_id == "abc1" and rest == {}
    with pytest.raises(InvalidOrderRequest, match="two different client order ids"):
        make(
            "BTC/USD", "limit", "buy", "0.001", "20000",
            params={"clientOrderId": "a1", "client_order_id": "b2"},
        )  # fmt: skip


def test_other_params_pass_through_untouched() -> None:
    _, rest = make("BTC/USD", "limit", "buy", "0.001", "20000", params={"stpMode": "none"})
    assert rest == {"stpMode": "none"}


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("BTC/USD", "limit", "buy", True, "20000"), "amount must be a number"),
        (("BTC/USD", "limit", "buy", "-1", "20000"), "amount"),
        (("BTC/USD", "limit", "buy", "0.001", None), "price is required"),
        (("BTC/USD", "market", "buy", "0.001", "20000"), "price is not accepted"),
        (("BTC/USD", "limit", "hold", "0.001", "20000"), "side"),
    ],
)
def test_bad_arguments_are_invalid_requests(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(InvalidOrderRequest, match=match):
        make(*args)


def test_a_post_only_flag_must_be_a_boolean() -> None:
    with pytest.raises(InvalidOrderRequest, match="true or false"):
        make("BTC/USD", "limit", "buy", "0.001", "20000", params={"postOnly": "yes"})


@pytest.mark.parametrize(
    "params", [{"post_only": True}, {"PostOnly": 1}, {"MOC_ORDER": "true"}, {"time-in-force": "PO"}]
)
def test_post_only_in_any_spelling_is_limit_maker(params: dict[str, Any]) -> None:
    request, rest = make("BTC/USD", "limit", "buy", "0.001", "20000", params=params)
    assert request.type is OrderType.LIMIT_MAKER and rest == {}


def test_an_absent_time_in_force_changes_nothing() -> None:
    # ccxt callers pass {"timeInForce": None} for "the default"; ccxt reads it so too.
    request, rest = make("BTC/USD", "limit", "buy", "0.001", "20000", params={"timeInForce": None})
    assert request.type is OrderType.LIMIT and rest == {}


def test_client_order_id_comes_from_the_exchange_when_params_give_none() -> None:
    def fresh() -> str:
        return "bot1fresh"

    made, _ = order_request_from_ccxt(
        "bitstamp", "BTC/USD", "limit", "buy", "0.001", "20000", new_client_order_id=fresh
    )
    given, _ = order_request_from_ccxt(
        "bitstamp", "BTC/USD", "limit", "buy", "0.001", "20000", {"clientOrderId": "bot1mine"},
        new_client_order_id=fresh,
    )  # fmt: skip
    assert (made.client_order_id, given.client_order_id) == ("bot1fresh", "bot1mine")
