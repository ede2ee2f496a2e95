"""Feeding the paper engine from a ccxt.pro client, exactly as ccxt applied the data.

The paper exchange's client is the venue's ccxt.pro class with three narrow taps:

* its order books are ccxt's own ``OrderBook`` with sides that also note every level ccxt
  stores (and every reset), in order;
* its trade caches are ccxt's ``ArrayCache`` that also note every trade appended;
* after each WebSocket message is handled, :meth:`EngineFeed.after_message` runs.

The notes form one journal in the order ccxt made the changes, after ccxt's own
snapshot/delta synchronisation, with no second parse of the venue's frames: runs of ccxt's
own level lists, no copy per level. After each message the feed asks one cheap question: can
what just arrived touch a resting order (the book's best ask at or below the best resting
bid, or the best bid at or above the best resting ask, or a trade at or through one)? Only
then, or before any order operation, is the journal applied to the engine, in order, with
resting orders checked after every run of levels and before every trade. A journal that
grows long without touching anything fills nothing when applied and leaves the engine's book
equal to ccxt's, so it is dropped instead: the engine copies ccxt's book once, before it next
acts, and until then the book's sides are ccxt's own classes, which note nothing. So a book
update that cannot touch an order costs what it costs in ccxt.

The taps rely on ccxt.pro's ``order_book()`` factory, ``OrderBookSide.storeArray`` and its
``_index`` (the side's sorted prices), ``ArrayCache.append`` and ``handle_message``, which both
venues use in the pinned ccxt range.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ccxt.async_support.base.ws.cache import ArrayCache
from ccxt.async_support.base.ws.order_book import OrderBook as CcxtOrderBook
from ccxt.async_support.base.ws.order_book_side import Asks, Bids

from ..enums import Side
from .engine import NOTHING, BookSnapshot, Engine, EngineResult

__all__ = ["EngineFeed", "Journal", "tap_client_class"]

log = logging.getLogger("adapters.paper")

RESET, TRADE = 1, 2


class Journal:
    """What ccxt changed since the feed last applied it, in order.

    ``entries`` holds runs of book levels, ``(book, is_bid, levels, side)``, where ``levels``
    are the very lists ccxt parsed (``[price, amount]``; no copy per level), and markers,
    ``(None, RESET, book, None)`` and ``(None, TRADE, trade, None)``. A side appends to its
    open run until the journal moves on to another book or a marker, which closes every
    open run: so the runs of one book between two markers are one stretch of entries, and
    each side's levels stay in ccxt's order.

    A level list ccxt stored may later be updated in place by ccxt; it is read when the
    journal is applied, so it then shows a later amount of its own price, which the run
    also holds after it. The book comes out the same, and a new level is a price our own
    fills never took from (see :meth:`Engine.on_book_sides`).
    """

    __slots__ = ("cut", "entries")

    def __init__(self) -> None:
        self.entries: list[tuple[Any, Any, Any, Any]] = []
        #: Where the runs still open start in ``entries``.
        self.cut = 0

    def open_run(self, side: Any) -> None:
        """Start ``side``'s run (its ``_pending`` list, empty so far)."""
        entries = self.entries
        if len(entries) > self.cut and entries[-1][0] is not side._book:
            self.close_runs()
        entries.append((side._book, side.side, side._pending, side))

    def close_runs(self) -> None:
        """Give every open run's side a fresh list: later levels start a new run."""
        entries = self.entries
        for entry in entries[self.cut :]:
            if entry[0] is not None:
                entry[3]._pending = []
        self.cut = len(entries)

    def mark(self, kind: int, item: Any) -> None:
        """Append a reset or a trade marker."""
        self.close_runs()
        self.entries.append((None, kind, item, None))
        self.cut = len(self.entries)

    def clear(self) -> None:
        """Forget everything (after it has been applied)."""
        self.close_runs()
        self.entries.clear()
        self.cut = 0


_store_ask = Asks.storeArray
_store_bid = Bids.storeArray


def _note(side: Any, level: list[Any]) -> None:
    if not side._pending:
        side._journal.open_run(side)
    side._pending.append(level)


class _TapAsks(Asks):  # type: ignore[misc]
    _journal: Journal
    _book: Any
    _pending: list[Any]

    def storeArray(self, delta: Any) -> None:
        _store_ask(self, delta)
        pending = self._pending
        if not pending:
            self._journal.open_run(self)
        pending.append(delta)

    def limit(self) -> None:
        level: Any
        for level in list.__getitem__(self, slice(self._depth, None)):
            _note(self, [level[0], 0.0])
        Asks.limit(self)


class _TapBids(Bids):  # type: ignore[misc]
    _journal: Journal
    _book: Any
    _pending: list[Any]

    def storeArray(self, delta: Any) -> None:
        _store_bid(self, delta)
        pending = self._pending
        if not pending:
            self._journal.open_run(self)
        pending.append(delta)

    def limit(self) -> None:
        level: Any
        for level in list.__getitem__(self, slice(self._depth, None)):
            _note(self, [level[0], 0.0])
        Bids.limit(self)


class _TapBook(CcxtOrderBook):  # type: ignore[misc]
    _journal: Journal

    def reset(self, snapshot: Any = None) -> None:
        self._journal.mark(RESET, self)
        _tap_sides(self)  # the levels after a reset are journaled again
        CcxtOrderBook.reset(self, snapshot or {})


def _tap_sides(book: Any) -> None:
    """Have ``book``'s sides note their levels again (see :func:`_untap_sides`)."""
    asks, bids = book["asks"], book["bids"]
    if type(asks) is Asks:
        asks.__class__ = _TapAsks
    if type(bids) is Bids:
        bids.__class__ = _TapBids


def _untap_sides(book: Any) -> None:
    """Make ``book``'s sides ccxt's own classes again: they note nothing and cost nothing
    more than in ccxt (same instance layout, so the class can be swapped back and forth)."""
    asks, bids = book["asks"], book["bids"]
    if type(asks) is _TapAsks:
        asks.__class__ = Asks
    if type(bids) is _TapBids:
        bids.__class__ = Bids


def _tap_book(journal: Journal, snapshot: Any, depth: Any) -> _TapBook:
    snapshot = dict(snapshot or {})
    asks, bids = _TapAsks([], depth), _TapBids([], depth)
    shell = {k: v for k, v in snapshot.items() if k not in ("asks", "bids")}
    book = _TapBook({**shell, "asks": asks, "bids": bids}, depth)
    for side in (asks, bids):
        side._journal = journal
        side._book = book
        side._pending = []
    book._journal = journal
    if snapshot.get("asks") or snapshot.get("bids"):
        book.reset(snapshot)
    return book


class _TapTrades(ArrayCache):  # type: ignore[misc]
    _journal: Journal
    _recent: list[Any]

    def append(self, item: Any) -> None:
        ArrayCache.append(self, item)
        self._journal.mark(TRADE, item)
        self._recent.append(item)


class _TapTradeDict(dict[str, Any]):
    """ccxt's ``trades`` dict; an ``ArrayCache`` stored in it is swapped for a tapped one."""

    def __init__(self, journal: Journal, recent: list[Any], initial: Any = None) -> None:
        super().__init__()
        self._journal = journal
        self._recent = recent
        for key, value in dict(initial or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        if type(value) is ArrayCache:
            tapped = _TapTrades(value.max_size)
            tapped._journal = self._journal
            tapped._recent = self._recent
            for item in value:
                ArrayCache.append(tapped, item)
            value = tapped
        super().__setitem__(key, value)


def tap_client_class(base: type[Any]) -> type[Any]:
    """A subclass of the ccxt.pro class ``base`` whose books and trades feed a journal.

    Instances get ``paper_journal`` (the notes), ``paper_recent_trades`` (trades since the
    feed last looked) and ``paper_after_message`` (called after every WebSocket message).
    For a virtual clock they also count ``paper_handled`` (messages handled) and
    ``paper_busy`` (REST calls and tasks ccxt spawned, still running), and call
    ``paper_on_change`` when either moves.
    """

    base_handle_message = base.handle_message

    class PaperTap(base):  # type: ignore[misc]
        paper_journal: Journal
        paper_recent_trades: list[Any]
        paper_after_message: Callable[[], None] | None
        paper_handled: int
        paper_busy: int
        paper_on_change: Callable[[], None] | None

        def __init__(self, config: Any = None) -> None:
            self.paper_journal = Journal()
            self.paper_recent_trades = []
            self.paper_after_message = None
            self.paper_handled = self.paper_busy = 0
            self.paper_on_change = None
            super().__init__(config or {})

        def _paper_moved(self) -> None:
            hook = self.paper_on_change
            if hook is not None:
                hook()

        def spawn(self, method: Any, *args: Any) -> Any:
            # Bitstamp's book snapshot is fetched in a spawned task: a virtual clock must
            # not move on while it runs.
            self.paper_busy += 1

            async def tracked() -> Any:
                try:
                    return await method(*args)
                finally:
                    self.paper_busy -= 1
                    self._paper_moved()

            return super().spawn(tracked)

        async def fetch(self, *args: Any, **kwargs: Any) -> Any:
            self.paper_busy += 1
            try:
                return await super().fetch(*args, **kwargs)
            finally:
                self.paper_busy -= 1
                self._paper_moved()

        @property
        def trades(self) -> Any:
            return self.__dict__.get("_paper_trades")

        @trades.setter
        def trades(self, value: Any) -> None:
            if value is not None and not isinstance(value, _TapTradeDict):
                value = _TapTradeDict(self.paper_journal, self.paper_recent_trades, value)
            self.__dict__["_paper_trades"] = value

        def order_book(self, snapshot: Any = None, depth: Any = None) -> Any:
            return _tap_book(self.paper_journal, snapshot, depth)

        def handle_message(self, client: Any, message: Any) -> Any:
            try:
                return base_handle_message(self, client, message)
            finally:
                # Once per message: the hooks are looked up here rather than through
                # _paper_moved, one call fewer on the paper stream's hot path.
                hook = self.paper_after_message
                if hook is not None:
                    hook()
                self.paper_handled += 1
                hook = self.paper_on_change
                if hook is not None:
                    hook()

    PaperTap.__name__ = PaperTap.__qualname__ = base.__name__
    return PaperTap


class EngineFeed:
    """Applies a tapped client's journal to an engine; each non-empty result goes to ``sink``.

    Only symbols the engine knows are applied. A book reset becomes an empty snapshot
    followed by the levels ccxt stored after it; resting orders are checked against the
    book after every run of levels and before every trade, so fills follow the order the
    venue's messages came in. ``client`` is the tapped ccxt.pro client.
    """

    #: Apply (or drop, see :meth:`_defer`) the journal at least every this many messages,
    #: so that it never grows without bound. Small on purpose: the journal keeps ccxt's
    #: level lists alive, containers the garbage collector traverses again at each
    #: collection they outlive.
    MAX_PENDING = 40

    def __init__(
        self,
        client: Any,
        engine: Engine,
        sink: Callable[[EngineResult], None],
    ) -> None:
        self.client = client
        self.journal: Journal = client.paper_journal
        self._held = 0  # messages since the journal was last applied
        #: Markets whose engine book is behind ccxt's (see :meth:`_defer`), with ccxt's book.
        self._stale: dict[str, Any] = {}
        self.recent: list[Any] = client.paper_recent_trades
        self.engine = engine
        self.sink = sink
        #: The latest market timestamp (ms) seen in a book or a trade.
        self.market_time: int | None = None
        self.events = 0
        self._known = engine.symbols
        self._tops: list[tuple[str, float | None, float | None]] = []
        self._tops_version = -1
        self._watch: list[tuple[str, Any, list[float], list[float], Any, Any]] = []

    def after_message(self) -> None:
        """After each WebSocket message: apply the journal now only if it can touch an order.

        Written out in one function: it runs after every message, inside ccxt's receive loop.
        """
        if not self.journal.entries and not self._stale:
            return
        self._held += 1
        books = self.client.orderbooks
        if self._tops_version != self.engine.resting_version:
            self._watch = self._watch_list(books)
        for symbol, book, ask_keys, bid_keys, bid, minus_ask in self._watch:
            if books.get(symbol) is not book:  # ccxt made a new book (a resubscription)
                self._watch = self._watch_list(books)
                self._held -= 1
                return self.after_message()
            # ccxt's sorted price index of each side (bids as -price): plain lists, unlike
            # the sides themselves, whose len() and [] are Python methods.
            if (bid is not None and ask_keys and ask_keys[0] <= bid) or (
                minus_ask is not None and bid_keys and bid_keys[0] <= minus_ask
            ):
                return self.drain()
        if self.recent and self._trades_touch():
            self.drain()
        elif self._held >= self.MAX_PENDING:
            self._defer()
        elif self.recent:
            del self.recent[:]

    def _defer(self) -> None:
        """Clear a journal that cannot touch an order without applying its book levels.

        Applied in order, such a journal fills nothing: every message in it left the book
        short of every resting order. What it changes is the engine's copy of the books, and
        that copy is then ccxt's book as it is now. So the markets it changed are noted stale
        and :meth:`drain` copies ccxt's book into the engine, once, before the engine next
        acts. Not when our own fills hold size taken from a level (each update of it
        counts), when ccxt replaced a book, or when the journal holds a reset. Its trades
        are applied (they fill nothing either), and the books copied afterwards.
        (The engine's ``ignored`` count then counts the unusable levels of the copied book,
        not each update that carried one.)
        """
        journal = self.journal.entries
        known, books, engine = self._known, self.client.orderbooks, self.engine
        stale: list[tuple[str, Any]] = []
        trades: list[Any] = []
        last = None
        for book, kind, item, _ in journal:
            if book is None:
                if kind != TRADE:
                    return self.drain()
                trades.append(item)
                continue
            if book is last:
                continue
            last = book
            symbol = book["symbol"]
            if symbol in known:
                if (
                    books.get(symbol) is not book
                    or self._stale.get(symbol, book) is not book
                    or engine.holds_taken(symbol)
                ):
                    return self.drain()
                stale.append((symbol, book))
        self._held = 0
        self.journal.clear()
        del self.recent[:]
        for trade in trades:  # none reaches an order; the market's clock moves on
            self._trade(trade)
        for symbol, book in stale:
            self.events += 1
            self._stale[symbol] = book
            _untap_sides(book)  # until then, ccxt's updates of this book go unnoted
        for book in self._stale.values():
            self._stamp(book["timestamp"])

    def _catch_up(self) -> None:
        """Copy ccxt's book of each stale market into the engine (see :meth:`_defer`)."""
        stale, self._stale = self._stale, {}
        for symbol, book in stale.items():
            _tap_sides(book)
            stamp = self._stamp(book["timestamp"])
            result = self.engine.on_book_snapshot(
                BookSnapshot(
                    symbol,
                    [(level[0], level[1]) for level in list.__iter__(book["bids"])],
                    [(level[0], level[1]) for level in list.__iter__(book["asks"])],
                    stamp,
                )
            )
            if result is not NOTHING and result:
                self.sink(result)

    def _trades_touch(self) -> bool:
        tops = self._tops
        for trade in self.recent:
            price, side, symbol = trade.get("price"), trade.get("side"), trade.get("symbol")
            if price is None:
                continue
            for wanted, bid, ask in tops:
                if symbol != wanted:
                    continue
                if bid is not None and side != "buy" and price <= bid:
                    return True
                if ask is not None and side != "sell" and price >= ask:
                    return True
        return False

    def _watch_list(self, books: Any) -> list[tuple[str, Any, list[float], list[float], Any, Any]]:
        """Per market with resting orders: its ccxt book, the book's price indexes, the best
        resting bid and minus the best resting ask (what :meth:`after_message` compares)."""
        engine = self.engine
        self._tops = engine.resting_tops()
        self._tops_version = engine.resting_version
        out = []
        for symbol, bid, ask in self._tops:
            book = books.get(symbol)
            asks, bids = ([], []) if book is None else (book["asks"]._index, book["bids"]._index)
            out.append((symbol, book, asks, bids, bid, None if ask is None else -ask))
        return out

    def drain(self) -> None:
        """Apply everything noted since the last drain. Never raises into ccxt."""
        self._held = 0
        if self._stale:
            try:
                self._catch_up()
            except Exception:
                log.exception("paper engine feed failed; the market data step was skipped")
        journal = self.journal.entries
        if not journal:
            return
        # The hot path of the paper feed: it runs inside ccxt's receive loop. The runs of
        # levels of one book between two markers go to the engine in one call.
        engine = self.engine
        known = self._known
        sink = self.sink
        try:
            i, n = 0, len(journal)
            while i < n:
                book = journal[i][0]
                if book is not None:
                    j = i + 1
                    while j < n and journal[j][0] is book:
                        j += 1
                    symbol = book["symbol"]
                    if symbol in known:
                        stamp = book["timestamp"]
                        if stamp is not None and (
                            self.market_time is None or stamp > self.market_time
                        ):
                            self.market_time = stamp
                        self.events += 1
                        result = engine.on_book_sides(
                            symbol,
                            [(entry[1], entry[2]) for entry in journal[i:j]],
                            stamp or self.market_time or 0,
                        )
                        if result is not NOTHING and result:
                            sink(result)
                    i = j
                    continue
                _, kind, item, _ = journal[i]
                i += 1
                if kind == TRADE:
                    self._trade(item)
                elif item["symbol"] in known:
                    stamp = self._stamp(item["timestamp"])
                    result = engine.on_book_snapshot(BookSnapshot(item["symbol"], (), (), stamp))
                    if result is not NOTHING and result:
                        sink(result)
        except Exception:
            log.exception("paper engine feed failed; the market data step was skipped")
        finally:
            # Draining is synchronous: nothing can be appended while the loop runs.
            self.journal.clear()
            del self.recent[:]

    def _trade(self, trade: Any) -> None:
        symbol = trade.get("symbol")
        price, amount = trade.get("price"), trade.get("amount")
        if symbol not in self.engine.symbols or not price or not amount:
            return
        side = trade.get("side")
        self.events += 1
        result = self.engine.trade(
            symbol,
            price,
            amount,
            Side.BUY if side == "buy" else Side.SELL if side == "sell" else None,
            self._stamp(trade.get("timestamp")),
        )
        if result:
            self.sink(result)

    def _stamp(self, timestamp: Any) -> int:
        if timestamp is None:
            return self.market_time or 0
        stamp = int(timestamp)
        if self.market_time is None or stamp > self.market_time:
            self.market_time = stamp
        return stamp
