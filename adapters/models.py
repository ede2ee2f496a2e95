"""Typed, frozen models for everything the adapters return or accept.

Money (prices, amounts, costs, fees) is ``Decimal``, converted from ccxt's values through
``str``: never through binary float arithmetic. Order books are the exception, by measurement:
ccxt already holds book levels as floats, so a book keeps float levels (copied, because ccxt
mutates its book in place) and offers Decimal accessors for the levels a caller reads.

Every model that comes from a venue keeps the venue's raw payload in ``info``; it is left
out of ``repr`` so printing a model never dumps a payload.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from .enums import OrderStatus, OrderType, Side
from .errors import InvalidOrderRequest
from .inputs import parse_decimal

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "Balance",
    "Balances",
    "Candle",
    "Fill",
    "Market",
    "Order",
    "OrderBook",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Side",
    "Ticker",
    "Trade",
    "TradingFee",
    "to_decimal",
    "trusted_constructor",
]


def to_decimal(value: Any) -> Decimal | None:
    """Convert a ccxt number (float, int, str, Decimal or None) to ``Decimal`` via ``str``."""
    if type(value) is float:  # what ccxt hands out nearly always: the short path
        return Decimal(repr(value))
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def _money(value: Any) -> Any:
    return to_decimal(value)


Money = Annotated[Decimal, BeforeValidator(_money)]
OptMoney = Annotated[Decimal | None, BeforeValidator(_money)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _VenueModel(_Model):
    info: Any = Field(default=None, repr=False)


class Market(_VenueModel):
    """One spot market. Fees are fractions (0.0015 means 0.15%)."""

    symbol: str
    venue_id: str
    base: str
    quote: str
    active: bool
    price_increment: OptMoney = None
    amount_increment: OptMoney = None
    min_amount: OptMoney = None
    min_cost: OptMoney = None
    maker_fee: OptMoney = None
    taker_fee: OptMoney = None

    def quantize_price(self, value: Decimal) -> Decimal:
        """``value`` at this market's price precision (the decimals of ``price_increment``),
        for display; unchanged when the market gives no increment."""
        return at_precision(value, self.price_increment)

    def quantize_amount(self, value: Decimal) -> Decimal:
        """``value`` at this market's amount precision (the decimals of
        ``amount_increment``), for display; unchanged when the market gives none."""
        return at_precision(value, self.amount_increment)


def at_precision(value: Decimal, increment: Decimal | None) -> Decimal:
    """``value`` rounded to as many decimals as ``increment`` has (``0.010`` -> 2; a whole
    step such as ``1.0`` or ``10`` -> none), for display."""
    # ccxt's increments are floats ("1.0" for whole units): count the significant decimals.
    exponent = increment.normalize().as_tuple().exponent if increment else None
    if not isinstance(exponent, int):  # no increment, or NaN/Infinity
        return value
    exponent = min(exponent, 0)
    try:
        return value.quantize(Decimal(1).scaleb(exponent))
    except ArithmeticError:  # more digits than the context holds: show it as it is
        return value


class TradingFee(_VenueModel):
    """The account's fee for one market, as fractions."""

    symbol: str
    maker: Money
    taker: Money


class Ticker(_VenueModel):
    """Best prices and 24h statistics."""

    symbol: str
    timestamp: int | None = None
    bid: OptMoney = None
    bid_volume: OptMoney = None
    ask: OptMoney = None
    ask_volume: OptMoney = None
    last: OptMoney = None
    open: OptMoney = None
    high: OptMoney = None
    low: OptMoney = None
    vwap: OptMoney = None
    base_volume: OptMoney = None
    quote_volume: OptMoney = None


Level = tuple[float, float]
_PRICE_AMOUNT = itemgetter(0, 1)


def _top(side: Any, depth: int | None) -> Any:
    """The best ``depth`` levels of a book side. ``list`` slicing bypasses the slice of
    ccxt.pro's ``OrderBookSide``, which is a Python loop."""
    if depth is None:
        return side
    return list.__getitem__(side, slice(0, depth)) if isinstance(side, list) else side[:depth]


class OrderBook(_Model):
    """An order book snapshot: bids and asks best-first as ``(price, amount)`` float tuples.

    Floats because ccxt holds its books as floats (Decimal would add cost, not precision);
    use :meth:`bid`, :meth:`ask`, :attr:`best_bid` and friends for Decimal values.
    """

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    timestamp: int | None = None
    nonce: int | None = None

    @classmethod
    def from_ccxt(cls, book: Mapping[str, Any], depth: int | None = None) -> OrderBook:
        """Copy a ccxt book (a REST answer, or ccxt.pro's live book) without validation cost.

        Every number goes through ``float()``, so a malformed answer (a level without a
        price) raises instead of making a book up. For ccxt.pro's live book, whose levels
        ccxt keeps as floats itself, :meth:`from_ccxt_live` is cheaper.
        """
        bids, asks = _top(book["bids"], depth), _top(book["asks"], depth)
        return _construct_book(
            book["symbol"],
            tuple((float(lv[0]), float(lv[1])) for lv in bids),
            tuple((float(lv[0]), float(lv[1])) for lv in asks),
            book.get("timestamp"),
            book.get("nonce"),
        )

    @classmethod
    def from_ccxt_live(cls, book: Mapping[str, Any], depth: int | None = None) -> OrderBook:
        """Copy ccxt.pro's live book (what ``watch_order_book`` returns) for a stream.

        ccxt.pro stores every level as a float list ``[price, amount]`` (sometimes with a
        third element, a count or an order id) and changes those lists in place, so each
        level is copied into a new tuple. ``itemgetter`` does that in C, and the model is
        filled the way ``model_construct`` fills it minus its per-field loop: a 100x100 book
        takes about 15 us, an 18x18 one about 5 us, against 24 us and 8 us with ``float()``
        calls and ``model_construct`` (``benchmarks/book_typing_us.py``).
        """
        bids, asks = _top(book["bids"], depth), _top(book["asks"], depth)
        return _construct_book(
            book["symbol"],
            tuple(map(_PRICE_AMOUNT, bids)),
            tuple(map(_PRICE_AMOUNT, asks)),
            book.get("timestamp"),
            book.get("nonce"),
        )

    def bid(self, index: int = 0) -> tuple[Decimal, Decimal]:
        """The ``index``-th best bid as ``(price, amount)`` Decimals."""
        price, amount = self.bids[index]
        return Decimal(repr(price)), Decimal(repr(amount))

    def ask(self, index: int = 0) -> tuple[Decimal, Decimal]:
        """The ``index``-th best ask as ``(price, amount)`` Decimals."""
        price, amount = self.asks[index]
        return Decimal(repr(price)), Decimal(repr(amount))

    @property
    def best_bid(self) -> Decimal | None:
        """Best bid price, or None on an empty side."""
        return Decimal(repr(self.bids[0][0])) if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        """Best ask price, or None on an empty side."""
        return Decimal(repr(self.asks[0][0])) if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        """Mid price, or None if a side is empty."""
        if not self.bids or not self.asks:
            return None
        return (Decimal(repr(self.bids[0][0])) + Decimal(repr(self.asks[0][0]))) / 2

    def levels(self, side: Side) -> Iterator[tuple[Decimal, Decimal]]:
        """That side's levels as Decimals, best first: bids for ``BUY``, asks for ``SELL``."""
        for price, amount in self.bids if side is Side.BUY else self.asks:
            yield Decimal(repr(price)), Decimal(repr(amount))


def trusted_constructor(model: type[M]) -> Callable[[dict[str, Any]], M]:
    """``model.model_construct`` without its generic per-field loop, for values the caller
    has already converted: ``build({field: value, ...})`` with every field, in the order the
    model declares them (``model.model_fields``).

    pydantic v2 keeps a model in four slots; filling them directly gives the same object
    (checked here against ``model_construct`` once, when the constructor is made) in a
    fraction of the time. A pydantic that stores models differently fails the check and
    gets ``model_construct``.
    """
    fields = frozenset(model.model_fields)
    new, put = object.__new__, object.__setattr__

    def construct(values: dict[str, Any]) -> M:
        obj = new(model)
        put(obj, "__dict__", values)
        put(obj, "__pydantic_fields_set__", fields)
        put(obj, "__pydantic_extra__", None)
        put(obj, "__pydantic_private__", None)
        return obj

    def checked(values: dict[str, Any]) -> M:
        return model.model_construct(**values)

    sample = {name: f"sample {name}" for name in model.model_fields}
    try:
        built, reference = construct(dict(sample)), checked(sample)
        same = built.__getstate__() == reference.__getstate__() and repr(built) == repr(reference)
    except Exception:
        same = False
    return construct if same else checked


_build_book = trusted_constructor(OrderBook)


def _construct_book(symbol: Any, bids: Any, asks: Any, timestamp: Any, nonce: Any) -> OrderBook:
    return _build_book({"symbol": symbol, "bids": bids, "asks": asks,
                        "timestamp": timestamp, "nonce": nonce})  # fmt: skip


class Trade(_VenueModel):
    """A public trade."""

    symbol: str
    id: str | None = None
    timestamp: int | None = None
    side: Side | None = None
    price: Money
    amount: Money
    cost: OptMoney = None


class Candle(_Model):
    """One OHLCV candle; ``timestamp`` is the candle's open time in ms."""

    symbol: str
    timeframe: str
    timestamp: int
    open: Money
    high: Money
    low: Money
    close: Money
    volume: OptMoney = None


class Balance(_Model):
    """One currency's balance."""

    currency: str
    free: Money = Decimal(0)
    used: Money = Decimal(0)
    total: Money = Decimal(0)


class Balances(_VenueModel):
    """All balances of the account, keyed by currency code."""

    assets: dict[str, Balance]
    timestamp: int | None = None

    def __getitem__(self, currency: str) -> Balance:
        return self.assets.get(currency.upper(), Balance(currency=currency.upper()))

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.assets)

    def nonzero(self) -> dict[str, Balance]:
        """Only the currencies with a non-zero total."""
        return {k: v for k, v in self.assets.items() if v.total != 0}


class Order(_VenueModel):
    """An order as the venue (or the paper engine) reports it."""

    id: str
    client_order_id: str | None = None
    symbol: str
    side: Side
    type: OrderType | None = None
    status: OrderStatus
    price: OptMoney = None
    amount: OptMoney = None
    filled: OptMoney = None
    remaining: OptMoney = None
    average: OptMoney = None
    cost: OptMoney = None
    fee: OptMoney = None
    fee_currency: str | None = None
    timestamp: int | None = None
    last_update_timestamp: int | None = None


class Fill(_VenueModel):
    """One execution of one of our orders (a "my trade")."""

    id: str
    order_id: str | None = None
    client_order_id: str | None = None
    symbol: str
    side: Side | None = None
    price: Money
    amount: Money
    cost: OptMoney = None
    fee: OptMoney = None
    fee_currency: str | None = None
    taker_or_maker: str | None = None
    timestamp: int | None = None


def _new_client_order_id() -> str:
    # 32 random hex digits (128 bits): letters and digits only, the form every supported
    # venue takes (each venue module checks its own rule before anything is sent).
    return secrets.token_hex(16)


class OrderRequest(_Model):
    """What the caller wants placed. Validated on construction.

    ``amount`` and ``price`` take ``Decimal`` or numeric strings; floats are refused so no
    binary rounding reaches the exchange. ``price`` is required for LIMIT and LIMIT_MAKER
    and refused for MARKET. Invalid input raises :class:`InvalidOrderRequest`.

    ``client_order_id`` names the order at the venue before anything is sent: the caller's,
    or a fresh random one generated here when none (or None) is given. Keep the request:
    whatever happens to ``create_order`` (an error, or the task cancelled), its
    ``client_order_id`` finds the order with ``fetch_order_by_client_id``. A new request
    gets a new id; sending the same request twice asks for the same order.
    """

    symbol: str = Field(min_length=3, max_length=40)
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    client_order_id: str = Field(default_factory=_new_client_order_id, min_length=1)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidOrderRequest(_summarise(exc)) from None

    @model_validator(mode="before")
    @classmethod
    def _check_inputs(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("client_order_id") is None:
            data.pop("client_order_id", None)  # None means "generate one"
        for key, parse in (("side", Side.parse), ("type", OrderType.parse)):
            if isinstance(data.get(key), str):
                data[key] = parse(data[key])
        if data.get("amount") is None:
            raise ValueError("amount is required")
        data["amount"] = parse_decimal(data["amount"], "amount")
        price = data.get("price")
        data["price"] = None if price is None else parse_decimal(price, "price")
        order_type = data.get("type")
        if order_type in (OrderType.LIMIT, OrderType.LIMIT_MAKER) and data["price"] is None:
            raise ValueError(f"price is required for {order_type.value} orders")
        if order_type is OrderType.MARKET and data["price"] is not None:
            raise ValueError("price is not accepted for MARKET orders; omit it")
        return data

    @property
    def notional(self) -> Decimal | None:
        """``price * amount`` when there is a price."""
        return None if self.price is None else self.price * self.amount


def _summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "invalid order request: " + "; ".join(parts)
