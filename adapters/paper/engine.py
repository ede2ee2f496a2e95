"""The paper-trading matching engine: pure, deterministic, no I/O and no clock.

Events go in (book snapshots and deltas, public trades, order placements and cancels, each
with its own timestamp) and order updates, fills and balance changes come out as an
:class:`EngineResult`. The same event sequence always gives the same results, byte for byte:
ids come from counters, iteration follows insertion or price order, and all money is
``Decimal`` computed in a private context.

The rules (the README's "Paper trading" section gives the reasoning):

* MARKET walks the opposite side level by level; the fill is one taker fill at the VWAP of the
  levels taken. What the visible book cannot fill is cancelled and the order says so.
* A LIMIT that crosses fills its crossing part at once as taker, at book prices up to its
  limit; the rest rests as maker at the limit price.
* A LIMIT_MAKER that would cross at placement is rejected (status ``rejected``).
* A resting order fills as maker, at its own price, from public trades that print at or
  through it (only trades whose aggressor is on the other side count) and when the opposite
  best crosses it. Queue position: joining a level with visible size Q ahead means Q must
  trade at that price first (``QueueModel.CONSERVATIVE``); ``OPTIMISTIC`` ignores the queue.
* Liquidity our own taker fills took from a visible level is remembered until that level
  changes below it or is removed, so two orders cannot both take the same visible size.
* Funds lock on placement: quote plus a fee reserve (the larger of the maker and taker rates)
  for buys, base for sells. An order the account cannot fund raises
  :class:`~adapters.errors.InsufficientFunds` and changes nothing. Fees are charged in the
  quote currency, as both venues do.

Book levels are kept as floats, like ccxt keeps them: ordering needs no more, and a level's
exact decimal value is recovered with ``Decimal(repr(x))`` when a fill uses it (prices and
sizes have at most 15 significant digits). Everything that is money (fills, fees, balances,
locks) is ``Decimal``.

A book level is a finite price above zero and a finite size, zero or more (zero removes the
level); a public trade, a finite price and size above zero. Anything else (NaN, infinity, a
price of 0 or -1) is not market data: the engine ignores it and counts it in
:attr:`Engine.ignored`, so nothing ever fills at such a price. The adapter refuses these
values where they enter (the ccxt client); this is the engine's own guard.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, KeysView, Mapping, Sequence
from decimal import Decimal, localcontext
from typing import Any

from ..enums import OrderStatus, OrderType, Side
from ..errors import InsufficientFunds, InvalidOrderRequest, OrderNotFound, UnknownSymbol
from .records import (
    AVERAGE_CONTEXT,
    MONEY_CONTEXT,
    NOTHING,
    ONE,
    ZERO,
    BalanceState,
    BookDelta,
    BookSnapshot,
    CancelOrder,
    EngineResult,
    Event,
    FillRecord,
    Liquidity,
    MarketSpec,
    Number,
    OrderState,
    PlaceOrder,
    PublicTrade,
    QueueModel,
    float_to_dec,
    plain,
    to_dec,
)
from .state import Batch, RestingOrder, SymbolState, crossed

# The records are re-exported: the engine's callers name them as its inputs and outputs.
__all__ = [
    "NOTHING",
    "BalanceState",
    "BookDelta",
    "BookSnapshot",
    "CancelOrder",
    "Engine",
    "EngineResult",
    "Event",
    "FillRecord",
    "Liquidity",
    "MarketSpec",
    "Number",
    "OrderState",
    "PlaceOrder",
    "PublicTrade",
    "QueueModel",
    "plain",
    "to_dec",
]

_INF = float("inf")


# -- the engine -------------------------------------------------------------------------------


class Engine:
    """The matching engine for one paper account.

    ``markets`` are the markets orders may use (more can be added with :meth:`add_market`).
    ``balances`` are the starting totals. ``queue`` picks the queue model. ``id_prefix``
    starts every order id (fills are ``<order id>-<n>``).
    """

    def __init__(
        self,
        markets: Iterable[MarketSpec] = (),
        *,
        balances: Mapping[str, Number] | None = None,
        queue: QueueModel | str = QueueModel.CONSERVATIVE,
        id_prefix: str = "P",
    ) -> None:
        self.queue = QueueModel(queue)
        self.id_prefix = id_prefix
        self._symbols: dict[str, SymbolState] = {}
        # Markets with resting orders: the only ones market data can fill.
        self._resting: dict[str, SymbolState] = {}
        #: Changes whenever the set of resting orders changes (see :meth:`resting_tops`).
        self.resting_version = 0
        #: Book levels and public trades ignored as not market data (see the module doc).
        self.ignored = 0
        self._orders: dict[str, RestingOrder] = {}
        self._totals: dict[str, Decimal] = {}
        self._locked: dict[str, Decimal] = {}
        self._order_seq = 0
        self._fill_seq = 0
        self._handlers: dict[type, Callable[[Any], EngineResult]] = {
            BookDelta: self.on_book_delta,
            BookSnapshot: self.on_book_snapshot,
            PublicTrade: self.on_trade,
            PlaceOrder: self.place,
            CancelOrder: self.cancel,
        }
        for spec in markets:
            self.add_market(spec)
        for currency, amount in (balances or {}).items():
            self.deposit(currency, to_dec(amount))

    # -- configuration and account ------------------------------------------------------------

    def add_market(self, spec: MarketSpec) -> None:
        """Make ``spec.symbol`` tradable (replacing its fees if it is already known)."""
        known = self._symbols.get(spec.symbol)
        if known is None:
            self._symbols[spec.symbol] = SymbolState(spec)
        else:
            known.spec = spec

    def market(self, symbol: str) -> MarketSpec:
        """The spec of a known market; raises :class:`UnknownSymbol`."""
        return self._sym(symbol).spec

    @property
    def symbols(self) -> KeysView[str]:
        """The symbols the engine trades (a live view, cheap to test membership on)."""
        return self._symbols.keys()

    def deposit(self, currency: str, amount: Decimal) -> BalanceState:
        """Add ``amount`` (negative withdraws, down to the free balance) to ``currency``."""
        cur = currency.upper()
        total = self._totals.get(cur, ZERO) + amount
        locked = self._locked.get(cur, ZERO)
        if total < locked:
            raise InsufficientFunds(
                f"cannot withdraw {plain(-amount)} {cur}: only {plain(self.balance(cur).free)} "
                "is free"
            )
        self._totals[cur] = total
        self._locked.setdefault(cur, ZERO)
        return self.balance(cur)

    def balance(self, currency: str) -> BalanceState:
        """One currency's balance (zero if never seen)."""
        cur = currency.upper()
        return BalanceState(cur, self._totals.get(cur, ZERO), self._locked.get(cur, ZERO))

    def balances(self) -> dict[str, BalanceState]:
        """Every currency the account has touched, sorted by code."""
        return {cur: self.balance(cur) for cur in sorted(self._totals)}

    def order(self, order_id: str) -> OrderState:
        """One order by id; raises :class:`OrderNotFound`."""
        found = self._orders.get(order_id)
        if found is None:
            raise OrderNotFound(f"paper order {order_id!r} does not exist")
        return found.state(self._quote(found.symbol))

    def orders(self, *, open_only: bool = False, symbol: str | None = None) -> list[OrderState]:
        """Orders in placement order, optionally only open ones or one symbol's."""
        return [
            o.state(self._quote(o.symbol))
            for o in self._orders.values()
            if (not open_only or not o.status.is_final) and (symbol is None or o.symbol == symbol)
        ]

    @property
    def order_count(self) -> int:
        """Orders held in memory (open and recently closed), without building their states."""
        return len(self._orders)

    def forget_closed_orders(self) -> int:
        """Drop final orders from memory (the ledger keeps them); returns how many."""
        closed = [oid for oid, o in self._orders.items() if o.status.is_final]
        for oid in closed:
            del self._orders[oid]
        return len(closed)

    @property
    def counters(self) -> tuple[int, int]:
        """``(last order number, last fill number)``, for the ledger."""
        return self._order_seq, self._fill_seq

    def restore(
        self,
        *,
        balances: Iterable[BalanceState],
        open_orders: Iterable[OrderState],
        counters: tuple[int, int],
    ) -> None:
        """Reload an account saved by the ledger: balances, open orders and id counters.

        Locks are taken from the saved balances as they are; the open orders' own ``locked``
        figures are kept so that later fills and cancels release the right amounts.
        """
        self._orders.clear()
        self._totals = {b.currency: b.total for b in balances}
        self._locked = {b.currency: b.locked for b in balances}
        for st in self._symbols.values():
            st.rest_bids.clear()
            st.rest_bid_keys.clear()
            st.rest_asks.clear()
            st.rest_ask_keys.clear()
        self._resting.clear()
        self.resting_version += 1
        self._order_seq, self._fill_seq = counters
        for saved in open_orders:
            sym = self._sym(saved.symbol)
            ev = PlaceOrder(
                saved.symbol,
                saved.side,
                saved.type,
                saved.amount,
                saved.price,
                saved.created,
                saved.client_order_id,
            )
            order = RestingOrder(_order_number(saved.id, self.id_prefix), saved.id, ev)
            order.filled, order.cost, order.fee = saved.filled, saved.cost, saved.fee
            order.status, order.updated, order.reason = saved.status, saved.updated, saved.reason
            order.locked, order.queue_ahead = saved.locked, saved.queue_ahead
            order.lock_per_unit = self._lock_per_unit(sym.spec, order)
            self._orders[order.id] = order
            self._rest(sym, order)

    # -- market data --------------------------------------------------------------------------

    def book_top(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """``(best bid, best ask)`` as the engine sees the book."""
        st = self._sym(symbol)
        bid, ask = st.bids.best(), st.asks.best()
        return (
            None if bid is None else float_to_dec(bid),
            None if ask is None else float_to_dec(ask),
        )

    def resting_tops(self) -> list[tuple[str, float | None, float | None]]:
        """``(symbol, best resting bid, best resting ask)`` for markets with resting orders.

        A feed uses it to tell, cheaply, whether new market data can touch any order: a book
        whose best ask is above every resting bid and best bid below every resting ask, and
        trades outside that range, change nothing but the book.
        """
        return [
            (
                symbol,
                st.rest_bids[0].price_f if st.rest_bids else None,
                st.rest_asks[0].price_f if st.rest_asks else None,
            )
            for symbol, st in self._resting.items()
        ]

    def holds_taken(self, symbol: str) -> bool:
        """True while our own taker fills hold size taken from ``symbol``'s visible levels."""
        return bool(self._sym(symbol).took_bids or self._sym(symbol).took_asks)

    def has_book(self, symbol: str) -> bool:
        """True once a snapshot or delta for ``symbol`` has been applied."""
        return self._sym(symbol).has_book

    # -- events -------------------------------------------------------------------------------

    def apply(self, event: Event) -> EngineResult:
        """Apply any event; see the ``on_*``, :meth:`place` and :meth:`cancel` methods."""
        return self._handlers[type(event)](event)

    def on_book_snapshot(self, ev: BookSnapshot) -> EngineResult:
        """Replace the book; resting orders it crosses fill as maker."""
        st = self._sym(ev.symbol)
        self.ignored += st.bids.replace(ev.bids) + st.asks.replace(ev.asks)
        st.took_bids.clear()
        st.took_asks.clear()
        st.has_book = True
        return self._cross_resting(st, ev.timestamp)

    def on_book_delta(self, ev: BookDelta) -> EngineResult:
        """Apply absolute level updates; resting orders the book now crosses fill as maker."""
        self._sym(ev.symbol)  # UnknownSymbol for a market the engine does not trade
        bids = [(float(p), float(a)) for p, a in ev.bids]
        asks = [(float(p), float(a)) for p, a in ev.asks]
        return self.on_book_sides(ev.symbol, ((True, bids), (False, asks)), ev.timestamp)

    def on_book_levels(
        self, symbol: str, levels: Sequence[tuple[Any, bool, float, float]], timestamp: int
    ) -> EngineResult:
        """Apply ``(tag, is_bid, price, amount)`` levels (tag ignored), as :meth:`on_book_sides`."""
        sides = [(s, [(p, a) for _, b, p, a in levels if bool(b) is s]) for s in (True, False)]
        return self.on_book_sides(symbol, sides, timestamp)

    def on_book_sides(
        self,
        symbol: str,
        sides: Iterable[tuple[bool, Iterable[Sequence[float]]]],
        timestamp: int,
    ) -> EngineResult:
        """Apply ``(is_bid, levels)`` runs of ``[price, amount]`` levels, each side's in order,
        then fill what the book crosses (the feed's hot path: ccxt's own level lists, one call
        per run of levels of one book; resting orders are checked once, at the end).
        """
        st = self._symbols[symbol]
        took_any = bool(st.took_bids or st.took_asks)
        ignored = 0
        for is_bid, levels in sides:
            side = st.bids if is_bid else st.asks
            amounts, keys, took = side.amounts, side.keys, st.took_bids if is_bid else st.took_asks
            sign = -1.0 if is_bid else 1.0
            for level in levels:
                price, amount = level[0], level[1]
                if not (0.0 < price < _INF and 0.0 <= amount < _INF):
                    ignored += 1
                    continue
                if amount > 0:
                    if price not in amounts:
                        insort(keys, sign * price)
                    amounts[price] = amount
                elif price in amounts:
                    del amounts[price]
                    del keys[bisect_left(keys, sign * price)]
                if took_any and price in took:
                    if amount > 0:
                        took[price] = min(took[price], float_to_dec(amount))
                    else:
                        del took[price]
        self.ignored += ignored
        st.has_book = True
        if crossed(st):
            return self._cross_resting(st, timestamp)
        return NOTHING

    def on_trade(self, ev: PublicTrade) -> EngineResult:
        """A public trade: resting orders at or through its price fill as maker."""
        return self.trade(ev.symbol, ev.price, ev.amount, ev.side, ev.timestamp)

    def trade(
        self, symbol: str, price: Number, amount: Number, side: Side | None, timestamp: int
    ) -> EngineResult:
        """:meth:`on_trade` without the event object (the feed's fast path)."""
        st = self._sym(symbol)
        price_f = float(price)
        if not (0.0 < price_f < _INF and 0.0 < float(amount) < _INF):
            self.ignored += 1
            return NOTHING
        hit_bids = side is not Side.BUY and st.rest_bids and st.rest_bids[0].price_f >= price_f
        hit_asks = side is not Side.SELL and st.rest_asks and st.rest_asks[0].price_f <= price_f
        if not hit_bids and not hit_asks:
            return NOTHING
        batch = Batch()
        with localcontext(MONEY_CONTEXT):
            volume = to_dec(amount)
            if hit_bids:
                self._fill_from_trade(st, st.rest_bids, price_f, volume, timestamp, batch)
            if hit_asks:
                self._fill_from_trade(st, st.rest_asks, price_f, volume, timestamp, batch)
        return self._result(batch)

    def place(self, ev: PlaceOrder) -> EngineResult:
        """Place an order; see the module doc for the rules.

        Raises :class:`InsufficientFunds` (nothing changes), :class:`UnknownSymbol` or
        :class:`InvalidOrderRequest`. A LIMIT_MAKER that would cross comes back ``rejected``.
        """
        st = self._sym(ev.symbol)
        if ev.amount <= 0:
            raise InvalidOrderRequest(f"amount must be greater than 0, got {ev.amount}")
        if ev.type is OrderType.MARKET:
            if ev.price is not None:
                raise InvalidOrderRequest("price is not accepted for MARKET orders")
        elif ev.price is None or ev.price <= 0:
            raise InvalidOrderRequest(f"a {ev.type.value} order needs a price greater than 0")
        with localcontext(MONEY_CONTEXT):
            if ev.type is OrderType.MARKET:
                return self._place_market(st, ev)
            return self._place_limit(st, ev)

    def cancel(self, ev: CancelOrder) -> EngineResult:
        """Cancel an open order and release what it locked; raises :class:`OrderNotFound`."""
        order = self._orders.get(ev.order_id)
        if order is None:
            raise OrderNotFound(f"paper order {ev.order_id!r} does not exist")
        if order.status.is_final:
            raise OrderNotFound(
                f"paper order {ev.order_id!r} is already {order.status.value}; nothing to cancel"
            )
        st = self._symbols[order.symbol]
        batch = Batch()
        with localcontext(MONEY_CONTEXT):
            self._unrest(st, order)
            order.status = OrderStatus.CANCELED
            order.reason = "canceled by the user"
            order.updated = ev.timestamp
            self._release(st.spec, order, batch)
            batch.orders[order.id] = order
        return self._result(batch)

    # -- placement ----------------------------------------------------------------------------

    def _place_market(self, st: SymbolState, ev: PlaceOrder) -> EngineResult:
        spec = st.spec
        take = self._walk(st, ev.side, ev.amount, None)
        qty = sum((q for _, q, _ in take), ZERO)
        cost = sum((p * q for p, q, _ in take), ZERO)
        fee = cost * spec.taker_fee
        if ev.side is Side.BUY:
            self._require(spec.quote, cost + fee, ev)
        else:
            self._require(spec.base, ev.amount, ev)
        batch = Batch()
        order = self._new_order(ev)
        if take:
            self._consume(st, ev.side, take)
            # A market order is one taker fill at the VWAP of the levels it took.
            vwap = AVERAGE_CONTEXT.divide(cost, qty)
            self._fill(st, order, vwap, qty, Liquidity.TAKER, ev.timestamp, batch, cost=cost)
        if order.filled == order.amount:
            order.status = OrderStatus.FILLED
        else:
            order.status = OrderStatus.CANCELED
            order.reason = (
                f"visible book exhausted after {plain(order.filled)} of {plain(order.amount)}; "
                "the unfilled remainder was canceled"
                if order.filled
                else "no visible liquidity; the order was canceled unfilled"
            )
        batch.orders[order.id] = order
        return self._result(batch)

    def _place_limit(self, st: SymbolState, ev: PlaceOrder) -> EngineResult:
        spec = st.spec
        assert ev.price is not None
        if ev.side is Side.BUY:
            lock = ev.price * ev.amount * (ONE + spec.fee_reserve)
            self._require(spec.quote, lock, ev)
        else:
            lock = ev.amount
            self._require(spec.base, lock, ev)
        batch = Batch()
        order = self._new_order(ev)
        batch.orders[order.id] = order
        limit_f = order.price_f
        take = self._walk(st, ev.side, ev.amount, limit_f)
        if ev.type is OrderType.LIMIT_MAKER and take:
            best = take[0][0]
            relation = "<=" if ev.side is Side.BUY else ">="
            opposite = "ask" if ev.side is Side.BUY else "bid"
            order.status = OrderStatus.REJECTED
            order.reason = (
                f"LIMIT_MAKER would take liquidity (best {opposite} {best} {relation} "
                f"{ev.side.value} price {ev.price}); rejected as the venue would"
            )
            return self._result(batch)
        order.locked = lock
        order.lock_per_unit = self._lock_per_unit(spec, order)
        self._lock(spec.quote if ev.side is Side.BUY else spec.base, lock, batch)
        if take:
            self._consume(st, ev.side, take)
            for price, qty, _ in take:
                self._fill(st, order, price, qty, Liquidity.TAKER, ev.timestamp, batch)
        if order.filled == order.amount:
            order.status = OrderStatus.FILLED
            self._release(spec, order, batch)
            return self._result(batch)
        if self.queue is QueueModel.CONSERVATIVE:
            own = st.bids if ev.side is Side.BUY else st.asks
            visible = own.amounts.get(limit_f)
            order.queue_ahead = ZERO if visible is None else float_to_dec(visible)
        self._rest(st, order)
        return self._result(batch)

    def _walk(
        self, st: SymbolState, side: Side, amount: Decimal, limit_f: float | None
    ) -> list[tuple[Decimal, Decimal, float]]:
        """The levels a taker on ``side`` would take, without changing anything."""
        book, took = (st.asks, st.took_asks) if side is Side.BUY else (st.bids, st.took_bids)
        out: list[tuple[Decimal, Decimal, float]] = []
        left = amount
        buy = side is Side.BUY
        for price_f, amount_f in book.levels():
            if limit_f is not None and (price_f > limit_f if buy else price_f < limit_f):
                break
            available = float_to_dec(amount_f)
            if took:
                available -= took.get(price_f, ZERO)
                if available <= 0:
                    continue
            qty = available if available < left else left
            out.append((float_to_dec(price_f), qty, price_f))
            left -= qty
            if not left:
                break
        return out

    def _consume(
        self, st: SymbolState, side: Side, take: Iterable[tuple[Decimal, Decimal, float]]
    ) -> None:
        took = st.took_asks if side is Side.BUY else st.took_bids
        for _, qty, price_f in take:
            took[price_f] = took.get(price_f, ZERO) + qty

    # -- resting orders -----------------------------------------------------------------------

    def _cross_resting(self, st: SymbolState, ts: int) -> EngineResult:
        """Fill resting orders the opposite best now reaches, against the crossing levels."""
        batch = Batch()
        with localcontext(MONEY_CONTEXT):
            for resting, side in ((st.rest_bids, Side.BUY), (st.rest_asks, Side.SELL)):
                for order in list(resting):
                    take = self._walk(st, side, order.remaining, order.price_f)
                    if not take:
                        break
                    self._consume(st, side, take)
                    qty = sum((q for _, q, _ in take), ZERO)
                    order.queue_ahead = ZERO
                    self._fill(st, order, _limit(order), qty, Liquidity.MAKER, ts, batch)
        return self._result(batch) if batch.orders else NOTHING

    def _fill_from_trade(
        self,
        st: SymbolState,
        resting: list[RestingOrder],
        price_f: float,
        volume: Decimal,
        ts: int,
        batch: Batch,
    ) -> None:
        """Share one trade's volume among resting orders in price-time priority.

        The volume reaching an order is the trade's amount less what our earlier orders
        filled; at the trade's own price it first works through the order's queue.
        """
        conservative = self.queue is QueueModel.CONSERVATIVE
        for order in list(resting):
            if volume <= 0:
                break
            if order.side is Side.BUY:
                if order.price_f < price_f:
                    break
                through = order.price_f > price_f
            else:
                if order.price_f > price_f:
                    break
                through = order.price_f < price_f
            reach = volume
            if not through and conservative and order.queue_ahead:
                if reach <= order.queue_ahead:
                    order.queue_ahead -= reach
                    batch.orders[order.id] = order
                    continue
                reach -= order.queue_ahead
            order.queue_ahead = ZERO
            qty = min(order.remaining, reach)
            self._fill(st, order, _limit(order), qty, Liquidity.MAKER, ts, batch)
            volume -= qty

    def _rest(self, st: SymbolState, order: RestingOrder) -> None:
        orders, keys = (
            (st.rest_bids, st.rest_bid_keys)
            if order.side is Side.BUY
            else (st.rest_asks, st.rest_ask_keys)
        )
        key = order.key()
        index = bisect_left(keys, key)
        keys.insert(index, key)
        orders.insert(index, order)
        self._resting[order.symbol] = st
        self.resting_version += 1

    def _unrest(self, st: SymbolState, order: RestingOrder) -> None:
        orders, keys = (
            (st.rest_bids, st.rest_bid_keys)
            if order.side is Side.BUY
            else (st.rest_asks, st.rest_ask_keys)
        )
        index = bisect_left(keys, order.key())
        if index < len(orders) and orders[index] is order:
            del keys[index]
            del orders[index]
            self.resting_version += 1
        if not st.rest_bids and not st.rest_asks:
            self._resting.pop(order.symbol, None)

    # -- money --------------------------------------------------------------------------------

    def _fill(
        self,
        st: SymbolState,
        order: RestingOrder,
        price: Decimal,
        qty: Decimal,
        liquidity: Liquidity,
        ts: int,
        batch: Batch,
        *,
        cost: Decimal | None = None,
    ) -> None:
        spec = st.spec
        if cost is None:
            cost = price * qty
        rate = spec.maker_fee if liquidity is Liquidity.MAKER else spec.taker_fee
        fee = cost * rate
        base, quote = spec.base, spec.quote
        totals = self._totals
        if order.side is Side.BUY:
            totals[base] = totals.get(base, ZERO) + qty
            totals[quote] = totals.get(quote, ZERO) - cost - fee
            if order.locked:
                release = min(order.locked, qty * order.lock_per_unit)
                self._unlock(quote, release, batch)
                order.locked -= release
        else:
            totals[base] = totals.get(base, ZERO) - qty
            totals[quote] = totals.get(quote, ZERO) + cost - fee
            if order.locked:
                release = min(order.locked, qty)
                self._unlock(base, release, batch)
                order.locked -= release
        self._locked.setdefault(base, ZERO)
        self._locked.setdefault(quote, ZERO)
        batch.currencies[base] = None
        batch.currencies[quote] = None
        order.filled += qty
        order.cost += cost
        order.fee += fee
        order.updated = ts
        self._fill_seq += 1
        batch.fills.append(
            FillRecord(
                seq=self._fill_seq,
                id=f"{order.id}-{self._fill_seq}",
                order_id=order.id,
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                side=order.side,
                price=price,
                amount=qty,
                cost=cost,
                fee=fee,
                fee_currency=quote,
                liquidity=liquidity,
                timestamp=ts,
            )
        )
        if order.type is not OrderType.MARKET:
            if order.filled == order.amount:
                order.status = OrderStatus.FILLED
                self._unrest(st, order)
                self._release(spec, order, batch)
            else:
                order.status = OrderStatus.PARTIALLY_FILLED
        batch.orders[order.id] = order

    def _lock_per_unit(self, spec: MarketSpec, order: RestingOrder) -> Decimal:
        if order.side is Side.BUY and order.price is not None:
            return order.price * (ONE + spec.fee_reserve)
        return ONE

    def _require(self, currency: str, amount: Decimal, ev: PlaceOrder) -> None:
        free = self._totals.get(currency, ZERO) - self._locked.get(currency, ZERO)
        if amount > free:
            raise InsufficientFunds(
                f"paper account cannot fund {ev.side.value} {plain(ev.amount)} {ev.symbol} "
                f"({ev.type.value}): needs {plain(amount)} {currency}, {plain(free)} free"
            )

    def _lock(self, currency: str, amount: Decimal, batch: Batch) -> None:
        self._locked[currency] = self._locked.get(currency, ZERO) + amount
        self._totals.setdefault(currency, ZERO)
        batch.currencies[currency] = None

    def _unlock(self, currency: str, amount: Decimal, batch: Batch) -> None:
        left = self._locked.get(currency, ZERO) - amount
        # An exact zero left by decimals (0E-11) is shown as plain 0.
        self._locked[currency] = left if left else ZERO
        batch.currencies[currency] = None

    def _release(self, spec: MarketSpec, order: RestingOrder, batch: Batch) -> None:
        if order.locked:
            self._unlock(spec.quote if order.side is Side.BUY else spec.base, order.locked, batch)
            order.locked = ZERO

    # -- plumbing -----------------------------------------------------------------------------

    def _new_order(self, ev: PlaceOrder) -> RestingOrder:
        self._order_seq += 1
        order = RestingOrder(self._order_seq, f"{self.id_prefix}{self._order_seq}", ev)
        self._orders[order.id] = order
        return order

    def _sym(self, symbol: str) -> SymbolState:
        st = self._symbols.get(symbol)
        if st is None:
            raise UnknownSymbol(
                f"the paper engine has no market {symbol!r}; known: "
                f"{', '.join(self._symbols) or 'none'}"
            )
        return st

    def _quote(self, symbol: str) -> str:
        return self._symbols[symbol].spec.quote

    def _result(self, batch: Batch) -> EngineResult:
        return EngineResult(
            orders=tuple(o.state(self._quote(o.symbol)) for o in batch.orders.values()),
            fills=tuple(batch.fills),
            balances=tuple(self.balance(c) for c in batch.currencies),
        )


def _limit(order: RestingOrder) -> Decimal:
    # Only LIMIT and LIMIT_MAKER orders rest, and both always carry a price.
    assert order.price is not None
    return order.price


def _order_number(order_id: str, prefix: str) -> int:
    digits = order_id.removeprefix(prefix)
    return int(digits) if digits.isdigit() else 0
