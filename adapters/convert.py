"""ccxt -> model converters: reading the venues' answers (REST and streams alike).

Each converter takes what ccxt returned and builds the typed model. A converter raises
``LookupError``/``TypeError``/``ValueError`` on an answer that lost its content;
:func:`read_answer` turns that into :class:`~adapters.errors.UnreadableAnswer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from .enums import OrderStatus, OrderType, Side
from .errors import AdapterError, UnreadableAnswer
from .models import (
    Balance,
    Balances,
    Candle,
    Fill,
    Market,
    Order,
    OrderRequest,
    Ticker,
    Trade,
    TradingFee,
    to_decimal,
    trusted_constructor,
)

__all__ = [
    "OrderReader",
    "balances_from_ccxt",
    "candle_from_ccxt",
    "check_client_order_id_echo",
    "checked_balances",
    "fill_from_ccxt",
    "market_from_ccxt",
    "order_from_ccxt",
    "priced",
    "read_answer",
    "ticker_from_ccxt",
    "trade_from_ccxt",
    "trading_fee_from_ccxt",
]

T = TypeVar("T")


class OrderReader(Protocol):
    """What reads a venue's own order fields (``Venue.read_order``, in the venue module)."""

    def read_order(self, order: Mapping[str, Any]) -> dict[str, Any]: ...


_CCXT_TYPES = {
    "limit": OrderType.LIMIT,
    "market": OrderType.MARKET,
    "limit_maker": OrderType.LIMIT_MAKER,
}
_CCXT_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def read_answer(exchange_id: str, what: str, convert: Callable[[], T]) -> T:
    """Run a ccxt -> model conversion; an answer with missing fields or wrong types
    becomes a typed error, never a ``KeyError``/``TypeError`` from inside the adapter."""
    try:
        return convert()
    except AdapterError:
        raise
    except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        text = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise UnreadableAnswer(
            f"{exchange_id}: unreadable answer to {what}: {type(exc).__name__}: {text}"
        ) from exc


def market_from_ccxt(m: Mapping[str, Any]) -> Market:
    """A ccxt market as a :class:`Market`."""
    precision = m.get("precision") or {}
    limits = m.get("limits") or {}
    return Market(
        symbol=m["symbol"],
        venue_id=str(m["id"]),
        base=m["base"],
        quote=m["quote"],
        active=m.get("active") is not False,
        price_increment=precision.get("price"),
        amount_increment=precision.get("amount"),
        min_amount=(limits.get("amount") or {}).get("min"),
        min_cost=(limits.get("cost") or {}).get("min"),
        maker_fee=m.get("maker"),
        taker_fee=m.get("taker"),
        info=m.get("info"),
    )


def priced(ticker: Ticker) -> Ticker:
    """``ticker``, or ``ValueError`` when it carries neither bid nor ask."""
    # Both venues always send bid and ask; ccxt fills a missing ``last`` from other fields
    # (BitMart: open * (1 + fluctuation)), so ``last`` alone proves nothing.
    if ticker.bid is None and ticker.ask is None:
        raise ValueError("the ticker answer carries neither bid nor ask")
    return ticker


def checked_balances(raw: Mapping[str, Any]) -> Balances:
    """:func:`balances_from_ccxt`, or ``ValueError`` for a row that carries no amount."""
    # ccxt turns a row it cannot read into a currency with no numbers at all; a real
    # balance row always carries some.
    sides = [raw.get(k) or {} for k in ("free", "used", "total")]
    for currency in set().union(*sides):
        if all(side.get(currency) is None for side in sides):
            raise ValueError(f"the balance of {currency!r} carries no amount")
    return balances_from_ccxt(raw)


def _dec(value: Any) -> Decimal:
    return to_decimal(value) or Decimal(0)


# Model field and ccxt key, in the order ``Ticker`` declares the fields.
_TICKER_FIELDS = (
    ("bid", "bid"),
    ("bid_volume", "bidVolume"),
    ("ask", "ask"),
    ("ask_volume", "askVolume"),
    ("last", "last"),
    ("open", "open"),
    ("high", "high"),
    ("low", "low"),
    ("vwap", "vwap"),
    ("base_volume", "baseVolume"),
    ("quote_volume", "quoteVolume"),
)


def trading_fee_from_ccxt(symbol: str, raw: Mapping[str, Any], scale: Decimal) -> TradingFee:
    """A ccxt trading fee as a :class:`TradingFee`; ``scale`` turns the venue's figures
    into fractions."""
    return TradingFee(
        symbol=symbol,
        maker=_dec(raw.get("maker")) * scale,
        taker=_dec(raw.get("taker")) * scale,
        info=raw.get("info"),
    )


def ticker_from_ccxt(t: Mapping[str, Any]) -> Ticker:
    """A ccxt ticker as a :class:`Ticker`.

    Every field is a price or a size: one that is not a finite number of 0 or more makes
    the answer unreadable (``ValueError``), as a book level or a balance does. Every field
    is converted here, so pydantic's validation pass would only repeat it (it was a quarter
    of the call's cost), and so would ``model_construct``'s per-field loop (another third):
    the model is filled directly. A float, what ccxt nearly always hands out, is checked
    as a float (a NaN fails the comparison) before its text becomes a ``Decimal``.
    """
    get = t.get
    fields: dict[str, Any] = {"info": get("info"), "symbol": t["symbol"],
                              "timestamp": get("timestamp")}  # fmt: skip
    for name, key in _TICKER_FIELDS:
        raw = get(key)
        if raw is None:
            fields[name] = None
        elif type(raw) is float and 0.0 <= raw < _INF:
            fields[name] = Decimal(repr(raw))
        else:
            value = to_decimal(raw)
            if value is not None and (not value.is_finite() or value < 0):
                raise ValueError(
                    f"the ticker's {name} is {value}, not a finite number of 0 or more"
                )
            fields[name] = value
    return _build_ticker(fields)


_INF = float("inf")
_build_ticker = trusted_constructor(Ticker)


def trade_from_ccxt(t: Mapping[str, Any]) -> Trade:
    """A ccxt public trade as a :class:`Trade`."""
    side = t.get("side")
    return Trade(
        symbol=t["symbol"],
        id=None if t.get("id") is None else str(t["id"]),
        timestamp=t.get("timestamp"),
        side=Side(side) if side else None,
        price=t["price"],
        amount=t["amount"],
        cost=t.get("cost"),
        info=t.get("info"),
    )


def candle_from_ccxt(symbol: str, timeframe: str, row: list[Any]) -> Candle:
    """A ccxt OHLCV row ``[ts, o, h, l, c, v]`` as a :class:`Candle`."""
    return Candle(
        symbol=symbol,
        timeframe=timeframe,
        timestamp=int(row[0]),
        open=row[1],
        high=row[2],
        low=row[3],
        close=row[4],
        volume=row[5] if len(row) > 5 else None,
    )


def balances_from_ccxt(raw: Mapping[str, Any]) -> Balances:
    """ccxt's balance structure as :class:`Balances`."""
    free, used, total = raw.get("free") or {}, raw.get("used") or {}, raw.get("total") or {}
    assets = {
        cur: Balance(
            currency=cur,
            free=_dec(free.get(cur)),
            used=_dec(used.get(cur)),
            total=_dec(total.get(cur)),
        )
        for cur in sorted(set(free) | set(used) | set(total))
    }
    return Balances(assets=assets, timestamp=raw.get("timestamp"), info=raw.get("info"))


def order_from_ccxt(
    o: Mapping[str, Any],
    *,
    symbol: str | None = None,
    request: OrderRequest | None = None,
    client_order_id: str | None = None,
    default_status: OrderStatus | None = OrderStatus.OPEN,
    venue: OrderReader | None = None,
) -> Order:
    """A ccxt order as an :class:`Order`.

    ``venue`` first reads the venue's own status and the amounts ccxt dropped from the
    payload (``Venue.read_order``). Venues answer a create or cancel with a few fields
    only; what the venue did not echo is taken from the request that produced it.
    ``default_status`` is the status of an answer that carries none; None means an answer
    without a status is malformed (``ValueError``), as for order queries. A status that
    is neither the venue's nor ccxt's unified one is never guessed (``ValueError``).
    """
    if venue is not None:
        o = venue.read_order(o)
    order_id = o.get("id")
    if order_id is None or order_id == "":
        raise ValueError("the order answer carries no order id")
    filled = to_decimal(o.get("filled"))
    status = o.get("status")
    if not isinstance(status, OrderStatus):
        status = _ccxt_status(status, default_status)
    if status is OrderStatus.OPEN and filled:
        status = OrderStatus.PARTIALLY_FILLED
    order_type = _CCXT_TYPES.get(str(o.get("type")))
    if order_type is OrderType.LIMIT and o.get("postOnly"):
        order_type = OrderType.LIMIT_MAKER
    if request is not None:
        order_type = request.type
    side = o.get("side") or (request.side.value if request else None)
    fee = o.get("fee") or {}
    return Order(
        id=str(order_id),
        client_order_id=o.get("clientOrderId") or client_order_id,
        symbol=o.get("symbol") or (request.symbol if request else symbol) or "",
        side=Side(side) if side else Side.BUY,
        type=order_type,
        status=status,
        price=o.get("price")
        if o.get("price") is not None
        else (request.price if request else None),
        amount=o.get("amount")
        if o.get("amount") is not None
        else (request.amount if request else None),
        filled=filled,
        remaining=o.get("remaining"),
        average=o.get("average"),
        cost=o.get("cost"),
        fee=fee.get("cost"),
        fee_currency=fee.get("currency"),
        timestamp=o.get("timestamp"),
        last_update_timestamp=o.get("lastUpdateTimestamp"),
        info=o.get("info"),
    )


def check_client_order_id_echo(exchange_id: str, raw: Mapping[str, Any], wanted: str) -> None:
    """Raise :class:`UnreadableAnswer` when the venue's answer to a lookup by client order id
    is about another client order id: never read as the order asked for (or as "taken")."""
    echoed = raw.get("clientOrderId")
    if echoed not in (None, "", wanted):
        raise UnreadableAnswer(
            f"{exchange_id}: lookup of client order id {wanted} answered about {echoed!r}"
        )


def _ccxt_status(status: Any, default: OrderStatus | None) -> OrderStatus:
    """ccxt's unified order status as an :class:`OrderStatus` (``open`` before the
    filled amount is considered)."""
    if status is None or status == "":
        if default is None:
            raise ValueError("the order answer carries no status")
        return default
    if status == "open":
        return OrderStatus.OPEN
    found = _CCXT_STATUS.get(str(status))
    if found is None:
        raise ValueError(f"the order answer carries status {status!r}, which is not a known one")
    return found


def fill_from_ccxt(t: Mapping[str, Any]) -> Fill:
    """A ccxt "my trade" as a :class:`Fill`."""
    fee = t.get("fee") or {}
    side = t.get("side")
    return Fill(
        id=str(t["id"]),
        order_id=None if t.get("order") is None else str(t["order"]),
        client_order_id=t.get("clientOrderId"),
        symbol=t["symbol"],
        side=Side(side) if side else None,
        price=t["price"],
        amount=t["amount"],
        cost=t.get("cost"),
        fee=fee.get("cost"),
        fee_currency=fee.get("currency"),
        taker_or_maker=t.get("takerOrMaker"),
        timestamp=t.get("timestamp"),
        info=t.get("info"),
    )


def same_order(raw: Mapping[str, Any], request: OrderRequest) -> bool:
    """Whether the venue's order (``raw``, read by ``Venue.read_order``) under our client
    order id matches the request: a caller-chosen id may name an older, different order."""
    amount, price = to_decimal(raw.get("amount")), to_decimal(raw.get("price"))
    return (
        raw.get("symbol") in (None, request.symbol)
        and raw.get("side") in (None, request.side.value)
        and (amount is None or amount == request.amount)
        and (not price or request.price in (None, price))  # a market order's: its fills'
    )
