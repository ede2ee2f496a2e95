"""ccxt-shaped order arguments: ``create_order(symbol, type, side, amount, price, params)``
turned into an :class:`OrderRequest` for the one pipeline, and ``params`` screened.

A ccxt user can change the kind of order through ``params`` (``postOnly``, ``timeInForce``,
a venue flag such as Bitstamp's ``moc_order``). Here such a param never reaches the wire
around the capability table: it is translated into the request (``postOnly`` on a limit
order makes it LIMIT_MAKER) or refused with :class:`UnsupportedOrderType` /
:class:`InvalidOrderRequest`, before anything is sent. Params the adapter does not govern
pass through to ccxt unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .enums import OrderType, Side
from .errors import InvalidOrderRequest, UnsupportedOrderType
from .models import OrderRequest

__all__ = [
    "UNIFIED_PARAMS",
    "ParamRole",
    "book_depth",
    "cancel_params",
    "create_order_args",
    "order_request_from_ccxt",
    "params_dict",
]


class ParamRole(StrEnum):
    """What an order param means to the pipeline."""

    #: A post-only flag: a true value makes a LIMIT order LIMIT_MAKER.
    POST_ONLY = "post_only"
    #: The client order id, under another name.
    CLIENT_ORDER_ID = "client_order_id"
    #: Would make an order the capability table does not list: refused.
    REFUSED = "refused"
    #: A wire field the pipeline fills from the call's arguments: refused.
    WIRE_FIELD = "wire_field"


#: ccxt's unified order params that the pipeline governs (venues add their own names).
UNIFIED_PARAMS: Mapping[str, ParamRole] = {
    "postOnly": ParamRole.POST_ONLY,
    "clientOrderId": ParamRole.CLIENT_ORDER_ID,
    # Trigger, bracket, margin and quote-amount orders are outside the spot table.
    **dict.fromkeys(
        [
            "triggerPrice", "stopPrice", "stopLossPrice", "takeProfitPrice", "stopLoss",
            "takeProfit", "trailingAmount", "trailingPercent", "trailingTriggerPrice",
            "reduceOnly", "marginMode", "leverage", "cost", "hedged", "quoteOrderQty",
        ],
        ParamRole.REFUSED,
    ),
}  # fmt: skip

#: Params that would replace an argument of the call itself.
_ARGUMENTS = ("symbol", "type", "side", "amount", "price")


def _spelling(key: str) -> str:
    """The key without case, ``_`` or ``-``: ``post_only``, ``PostOnly`` and ``postOnly`` are
    one param here. A venue or ccxt may read another spelling than the one listed (ccxt
    4.5.70's BitMart reads ``trigger_price`` beside ``triggerPrice``), so a governed param is
    recognised in every spelling, never passed through in one the table does not know."""
    return key.replace("_", "").replace("-", "").lower()


_TRUE = (True, 1, "true", "True", "TRUE")
_FALSE = (False, 0, None, "false", "False", "FALSE")


def order_request_from_ccxt(
    exchange: str,
    symbol: str,
    type: str | OrderType,
    side: str | Side,
    amount: Decimal | float | int | str,
    price: Decimal | float | int | str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    venue_params: Mapping[str, ParamRole] | None = None,
    new_client_order_id: Callable[[], str] | None = None,
) -> tuple[OrderRequest, dict[str, Any]]:
    """The :class:`OrderRequest` for a ccxt-shaped call, and the params left to pass through.

    ``type`` is ccxt's (``"limit"``, ``"market"``; ``"limit_maker"`` is accepted too).
    ``amount`` and ``price`` may be floats, as ccxt users write them: a float is read
    through its shortest ``repr`` (``0.1`` is ``Decimal("0.1")``), as ccxt itself does.
    ``venue_params`` names the venue's own order params and their roles; a governed param
    is recognised in any case and with or without ``_``/``-`` (``post_only``, ``Type``).
    ``new_client_order_id`` makes the id when the params give none (the exchange's, which
    carries its ``client_order_id_prefix``); the request holds it before anything is sent.

    Raises :class:`UnsupportedOrderType` for a param that would make an order the table
    does not list, and :class:`InvalidOrderRequest` for anything else wrong; nothing is sent.
    """
    rest = dict(params or {})
    roles = {_spelling(k): r for k, r in {**UNIFIED_PARAMS, **(venue_params or {})}.items()}
    arguments = {_spelling(k): k for k in _ARGUMENTS}
    for key in rest:
        if not isinstance(key, str):
            raise InvalidOrderRequest(f"params keys must be strings, got {key!r}")
        if _spelling(key) in arguments:
            name = arguments[_spelling(key)]
            raise InvalidOrderRequest(
                f"params[{key!r}] would replace the {name} argument; pass it as the argument"
            )
    try:
        order_type = OrderType.parse(type)
    except ValueError as exc:
        raise UnsupportedOrderType(f"{exchange}: {exc}") from None

    post_only = False
    client_ids: dict[str, str] = {}
    for key in [k for k in rest if _spelling(k) in roles]:
        value = rest.pop(key)
        role = roles[_spelling(key)]
        if role is ParamRole.WIRE_FIELD:
            raise InvalidOrderRequest(
                f"{exchange}: params[{key!r}] is filled from the call's arguments (symbol, "
                "side, amount, price); pass the value as an argument (nothing sent)"
            )
        if role is ParamRole.REFUSED:
            raise UnsupportedOrderType(
                f"{exchange}: params[{key!r}] would place an order outside the capability "
                f"table; it takes {_table_hint()} orders only (nothing sent)"
            )
        if role is ParamRole.POST_ONLY:
            post_only = _flag(key, value) or post_only
        elif value is not None:
            client_ids[key] = str(value)
    for key in [k for k in rest if _spelling(k) == "timeinforce"]:
        post_only = _time_in_force(exchange, order_type, rest.pop(key)) or post_only

    if post_only:
        if order_type is OrderType.MARKET:
            raise UnsupportedOrderType(
                f"{exchange}: a MARKET order cannot be post-only; use a limit order with "
                "postOnly (LIMIT_MAKER)"
            )
        order_type = OrderType.LIMIT_MAKER
    if len(set(client_ids.values())) > 1:
        raise InvalidOrderRequest(f"params give two different client order ids: {client_ids}")
    client_order_id = next(iter(client_ids.values()), None)
    if client_order_id is None and new_client_order_id is not None:
        client_order_id = new_client_order_id()

    request = OrderRequest(
        symbol=symbol,
        side=side,
        type=order_type,
        amount=_number("amount", amount),
        price=None if price is None else _number("price", price),
        client_order_id=client_order_id,
    )
    return request, rest


def create_order_args(
    exchange: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    venue_params: Mapping[str, ParamRole] | None = None,
    new_client_order_id: Callable[[], str] | None = None,
) -> tuple[OrderRequest, dict[str, Any]]:
    """The request and pass-through params of a ``create_order`` call in either shape:
    ``create_order(request)`` or ccxt's ``create_order(symbol, type, side, amount, price=None,
    params=None)``. Wrong arguments raise ``TypeError``, as a wrong call does in Python."""
    if len(args) == 1 and not kwargs and isinstance(args[0], OrderRequest):
        return args[0], {}
    if not kwargs and len(args) == 1:
        raise InvalidOrderRequest(
            f"create_order takes an OrderRequest or ccxt's (symbol, type, side, amount, "
            f"price=None, params=None), got {type(args[0]).__name__}"
        )
    if set(kwargs) == {"request"} and not args:
        return create_order_args(exchange, (kwargs["request"],), {})

    def ccxt_shape(
        symbol: str,
        type: str | OrderType,
        side: str | Side,
        amount: Decimal | float | int | str,
        price: Decimal | float | int | str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> tuple[OrderRequest, dict[str, Any]]:
        return order_request_from_ccxt(
            exchange, symbol, type, side, amount, price, params,
            venue_params=venue_params, new_client_order_id=new_client_order_id,
        )  # fmt: skip

    return ccxt_shape(*args, **kwargs)


def _table_hint() -> str:
    return "LIMIT (good till cancelled), LIMIT_MAKER (post-only) and MARKET"


def _flag(key: str, value: Any) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidOrderRequest(f"params[{key!r}] must be true or false, got {value!r}")


def _time_in_force(exchange: str, order_type: OrderType, value: Any) -> bool:
    """Whether ``timeInForce`` asks for post-only; refuses what the table does not list."""
    if value is None:  # ccxt reads an absent time in force the same way
        return False
    tif = str(value).upper()
    if tif == "PO" and order_type is not OrderType.MARKET:
        return True
    # What each type already is: a limit order rests until cancelled, a market order
    # executes at once and never rests.
    if (tif == "GTC" and order_type is not OrderType.MARKET) or (
        tif == "IOC" and order_type is OrderType.MARKET
    ):
        return False
    raise UnsupportedOrderType(
        f"{exchange}: timeInForce {value!r} on a {order_type.value} order is not in the "
        f"capability table; it takes {_table_hint()} orders only (nothing sent)"
    )


def _number(field: str, value: Decimal | float | int | str) -> Decimal | str:
    if isinstance(value, bool):
        raise InvalidOrderRequest(f"{field} must be a number, got {value!r}")
    if isinstance(value, float):
        # repr gives the shortest string that reads back as the same float: what was typed.
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    return value


#: Params with which ccxt 4.5.70 would cancel another order than the one named: Bitstamp's
#: ``id`` replaces the order id in the body, BitMart's ``clientOrderId`` /
#: ``client_order_id`` cancels by client id instead of the order id; a market param moves it.
_CANCEL_TARGETS = frozenset(
    _spelling(k) for k in ("id", "orderId", "clientOrderId", "symbol", "pair")
)


def cancel_params(exchange: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` for ``cancel_order`` / ``cancel_all_orders``, refused
    (:class:`InvalidOrderRequest`, nothing sent) when one would make the venue cancel
    other orders than the call's ``order_id`` / ``symbol`` name."""
    extra = params_dict(params)
    for key in extra:
        if isinstance(key, str) and _spelling(key) in _CANCEL_TARGETS:
            raise InvalidOrderRequest(
                f"{exchange}: params[{key!r}] would cancel another order than the arguments "
                "name; pass the order id or symbol as the argument (nothing sent)"
            )
    return extra


def params_dict(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` as the fresh dict ccxt expects (``None`` is ``{}``)."""
    return dict(params or {})


def book_depth(limit: int | None, depth: int | None) -> int | None:
    """One book depth from ccxt's ``limit`` and the older ``depth`` keyword."""
    if limit is not None and depth is not None and limit != depth:
        raise InvalidOrderRequest(f"limit={limit} and depth={depth} disagree; give one")
    return limit if limit is not None else depth
