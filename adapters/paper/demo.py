"""The paper-trading demo: a small market-making run on ``bitstamp_paper_trade``.

``python -m adapters paper demo`` (or ``scripts/paper_demo.py``) runs it offline on the
recorded Bitstamp session shipped with the package (no network, no keys, about a second, on
the virtual clock of :mod:`adapters.paper.clock`: the same summary every run), or on any
recorded session (``--session``); ``--live`` runs the same strategy on the live public feed.

The strategy quotes one LIMIT_MAKER on each side of ETH/USD: it joins the best bid and ask,
or steps one tick inside when the spread is wider than a tick, and re-prices (cancel, then
place) whenever the best prices move away from its quotes. Once, partway through, it sends a
MARKET buy. At the end it cancels what is still open and prints a summary: orders, fills,
fees, balances and the PnL marked to the last mid (``paper report``'s figures, for this
run's fills only).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

from ..console import MarketFormat, render_table
from ..enums import OrderType, Side
from ..errors import AdapterError, InsufficientFunds, OrderNotFound, OrderRejected
from ..models import Balance, Fill, Market, Order, OrderBook, OrderRequest
from .convert import fill_from_record
from .engine import plain
from .exchange import PaperExchange
from .ledger import MEMORY
from .render import render_report
from .report import PaperReport, build_report
from .session import DEMO_SESSION

__all__ = ["DemoConfig", "DemoReport", "run_demo"]

SYMBOL = "ETH/USD"


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """What the demo trades, where, and for how long.

    Sizes are quote values, turned into base amounts at the first mid price and rounded to
    one significant figure (on ETH/USD at 2087: quotes of 0.1 ETH, a MARKET buy of 0.5 ETH
    and 2 ETH to start with), so the same strategy suits any symbol.
    """

    exchange: str = "bitstamp"
    symbol: str = SYMBOL
    #: A recorded session: the name of one shipped with the package, or a ``.jsonl`` path.
    session: str | Path = DEMO_SESSION
    quote_value: Decimal = Decimal("200")
    market_value: Decimal = Decimal("1000")
    #: The account starts with this much quote, and base worth ``base_value``.
    quote_funds: Decimal = Decimal("10000")
    base_value: Decimal = Decimal("4000")
    #: The MARKET order goes out after this many book updates.
    market_after: int = 120
    #: ``"max"``: the recording on a virtual clock (same fills every run, as fast as the code
    #: runs); a number: the recording's own clock that many times faster (1 = real time).
    speed: float | Literal["max"] = "max"
    #: Live runs stop after this many seconds.
    live_seconds: float = 30.0


@dataclass(slots=True)
class DemoReport:
    """What happened: every order state the strategy saw, the fills, balances and PnL."""

    exchange: str
    source: str
    ledger: str
    orders: dict[str, Order] = field(default_factory=dict)
    placed: list[Order] = field(default_factory=list)
    canceled: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    market_order: Order | None = None
    rejected: int = 0
    unfunded: int = 0
    book_updates: int = 0
    start_balances: dict[str, Balance] = field(default_factory=dict)
    end_balances: dict[str, Balance] = field(default_factory=dict)
    first_mid: Decimal | None = None
    last_mid: Decimal | None = None
    seconds: float = 0.0
    #: This run's fills only (the ledger may hold earlier runs'), marked to the last mid.
    paper: PaperReport | None = None
    ledger_path: str | None = None
    #: The traded market: its increments format the summary's numbers.
    market: Market | None = None


async def run_demo(
    *,
    live: bool = False,
    ledger: str | Path | None = None,
    config: DemoConfig | None = None,
    out: IO[str] | None = None,
    progress: bool = True,
    client_config: dict[str, Any] | None = None,
) -> DemoReport:
    """Run the demo strategy and return its :class:`DemoReport` (the summary is printed).

    Offline by default: the recorded session replays through a 127.0.0.1 server to the real
    ccxt.pro client. ``ledger`` keeps the paper account in that SQLite file; by default it
    lives in memory and nothing is left behind.
    """
    cfg = config or DemoConfig()
    stream = out if out is not None else sys.stdout

    def say(text: str) -> None:
        if progress:
            print(text, file=stream, flush=True)

    quote = cfg.symbol.split("/")[1]
    exchange = PaperExchange(
        cfg.exchange,
        source=None if live else cfg.session,
        speed=None if live else cfg.speed,
        ledger=MEMORY if ledger is None else ledger,
        account="demo",
        initial_balances={quote: cfg.quote_funds},
        config=client_config,
    )
    where = "live public feed" if live else f"recorded session {Path(cfg.session).stem}"
    if not live and cfg.speed != "max":
        where += f" at {cfg.speed:g}x its own clock"
    report = DemoReport(
        exchange=exchange.id,
        source=where,
        ledger="in memory (nothing is saved; --ledger PATH keeps it)"
        if ledger is None
        else str(ledger),
        ledger_path=None if ledger is None else str(ledger),
    )
    started = time.monotonic()
    async with exchange as ex:
        say(f"paper demo on {ex.id} {cfg.symbol}: {report.source}; ledger {report.ledger}")
        await ex.watch_market(cfg.symbol)
        # Fill numbers keep counting across runs in one ledger: this run's start after it.
        before = ex.engine.counters[1]
        strategy = _Strategy(ex, cfg, report, say)
        await strategy.run(live)
        await strategy.finish()
        report.end_balances = (await ex.fetch_balance()).assets
        records = [f for f in ex.ledger.fills(cfg.symbol) if f.seq > before]
        report.fills = [fill_from_record(f) for f in records]
        report.paper = build_report(
            records, symbol=cfg.symbol, mark=report.last_mid, mark_source="last mid"
        )
        for order_id in list(report.orders):
            report.orders[order_id] = await ex.fetch_order(order_id, cfg.symbol)
    report.seconds = time.monotonic() - started
    print(summary(report, cfg), file=stream, flush=True)
    say(f"ran in {report.seconds:.1f} s")
    return report


class _Strategy:
    """Two LIMIT_MAKER quotes that follow the best prices, and one MARKET order."""

    def __init__(
        self,
        ex: PaperExchange,
        cfg: DemoConfig,
        report: DemoReport,
        say: Callable[[str], None],
    ) -> None:
        self.ex, self.cfg, self.report, self.say = ex, cfg, report, say
        self.quotes: dict[Side, Order | None] = {Side.BUY: None, Side.SELL: None}
        self.tick = Decimal("0.01")
        self.quote_size = self.market_size = Decimal(0)
        self.market_sent = False
        self.next_progress = 0.0

    async def begin(self, mid: Decimal) -> None:
        """Size the orders at the first mid; fund a new account's base; note the balances."""
        market = await self.ex.market(self.cfg.symbol)
        self.report.market = market
        self.tick = market.price_increment or self.tick
        step = market.amount_increment

        def amount(value: Decimal) -> Decimal:
            raw = value / mid
            one_figure = raw.quantize(Decimal(1).scaleb(raw.adjusted()))
            if step:
                one_figure = max(step, (one_figure / step).to_integral_value() * step)
            return max(one_figure, market.min_amount or Decimal(0)).normalize()

        self.quote_size = amount(self.cfg.quote_value)
        self.market_size = amount(self.cfg.market_value)
        base = self.cfg.symbol.split("/")[0]
        if not any(currency == base for currency, _ in self.ex.ledger.deposits()):
            await self.ex.deposit(base, amount(self.cfg.base_value))  # a new account
        self.report.start_balances = (await self.ex.fetch_balance()).assets

    async def run(self, live: bool) -> None:
        deadline = time.monotonic() + self.cfg.live_seconds if live else None
        books = self._books(deadline) if live or self.cfg.speed != "max" else self._every_book()
        async for book in books:
            mid = book.mid
            if mid is None:
                continue
            if self.report.first_mid is None:
                self.report.first_mid = mid
                await self.begin(mid)
            self.report.book_updates += 1
            self.report.last_mid = mid
            await self._step(book)
            self._progress(book, deadline)

    async def _every_book(self) -> AsyncIterator[OrderBook]:
        """Every book, in order: on the virtual clock the recording waits for the strategy,
        and the stream ends with the recording."""
        async for book in self.ex.watch_order_book(self.cfg.symbol, depth=5):
            yield book

    async def _books(self, deadline: float | None) -> AsyncIterator[OrderBook]:
        """The newest book each time the strategy is free to act on one.

        ``watch_order_book`` runs in its own task so that the strategy, while it places
        and cancels, never holds the stream up; it then acts on the newest book only.
        """
        latest: asyncio.Queue[OrderBook] = asyncio.Queue()

        async def pump() -> None:
            async for book in self.ex.watch_order_book(self.cfg.symbol, depth=5):
                latest.put_nowait(book)

        task = asyncio.get_running_loop().create_task(pump())
        session = self.ex.session
        try:
            while deadline is None or time.monotonic() < deadline:
                try:
                    book = await asyncio.wait_for(latest.get(), 0.25)
                except TimeoutError:
                    if task.done():
                        task.result()  # the stream's error, if it failed
                        return
                    if session is not None and session.finished:
                        return  # the recording is over and its last book was seen
                    continue
                while not latest.empty():
                    book = latest.get_nowait()
                yield book
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _step(self, book: OrderBook) -> None:
        best_bid, best_ask = book.best_bid, book.best_ask
        if best_bid is None or best_ask is None:
            return
        inside = best_ask - best_bid > self.tick
        wanted = {
            Side.BUY: best_bid + self.tick if inside else best_bid,
            Side.SELL: best_ask - self.tick if inside else best_ask,
        }
        for side, price in wanted.items():
            await self._quote(side, price)
        if not self.market_sent and self.report.book_updates >= self.cfg.market_after:
            self.market_sent = True
            # Where the venue takes no MARKET orders (BitMart), a LIMIT at the best ask
            # takes liquidity the same way, up to that price.
            market_ok = self.ex.capabilities().supports(OrderType.MARKET)
            request = OrderRequest(
                symbol=self.cfg.symbol,
                side=Side.BUY,
                type=OrderType.MARKET if market_ok else OrderType.LIMIT,
                amount=self.market_size,
                price=None if market_ok else best_ask,
            )
            try:
                order = await self.ex.create_order(request)
            except InsufficientFunds as exc:
                self.say(f"  taker buy not funded: {exc}")
                self.report.unfunded += 1
                return
            self._seen(order, placed=True)
            self.report.market_order = order
            amount = plain(order.amount or Decimal(0))
            self.say(
                f"  {request.type.value} buy {amount} {self.cfg.symbol}: "
                f"{order.status.value}, average {order.average}, fee {order.fee} "
                f"{order.fee_currency}"
            )

    async def _quote(self, side: Side, price: Decimal) -> None:
        current = self.quotes[side]
        if current is not None:
            fresh = await self.ex.fetch_order(current.id, self.cfg.symbol)
            self._seen(fresh)
            if fresh.status.is_final:
                current = None
            elif fresh.price == price:
                return
            else:
                with contextlib.suppress(OrderNotFound):
                    canceled = await self.ex.cancel_order(current.id, self.cfg.symbol)
                    self._seen(canceled, canceled=True)
                current = None
        request = OrderRequest(
            symbol=self.cfg.symbol,
            side=side,
            type=OrderType.LIMIT_MAKER,
            amount=self.quote_size,
            price=price,
        )
        try:
            order = await self.ex.create_order(request)
        except OrderRejected:
            self.report.rejected += 1
            order = None
        except InsufficientFunds:
            self.report.unfunded += 1
            order = None
        if order is not None:
            self._seen(order, placed=True)
        self.quotes[side] = order

    def _seen(self, order: Order, *, placed: bool = False, canceled: bool = False) -> None:
        self.report.orders[order.id] = order
        if placed:
            self.report.placed.append(order)
        if canceled:
            self.report.canceled.append(order)

    def _progress(self, book: OrderBook, deadline: float | None) -> None:
        session = self.ex.session
        if session is not None and session.server is not None:
            total = len(session.data_frames)
            share = len(session.server.delivered_data()) / total if total else 1.0
        elif deadline is not None:
            share = 1 - max(0.0, deadline - time.monotonic()) / self.cfg.live_seconds
        else:
            share = 0.0
        if share + 1e-9 < self.next_progress and self.report.book_updates > 1:
            return
        self.next_progress = min(1.0, share + 0.2)
        filled = sum(1 for o in self.report.orders.values() if o.filled)
        self.say(
            f"  [{share:4.0%}] book {book.best_bid} / {book.best_ask}  updates "
            f"{self.report.book_updates}  orders {len(self.report.placed)}  "
            f"with fills {filled}"
        )

    async def finish(self) -> None:
        for order in await self.ex.fetch_open_orders(self.cfg.symbol):
            with contextlib.suppress(AdapterError):
                self._seen(await self.ex.cancel_order(order.id, self.cfg.symbol), canceled=True)


def summary(report: DemoReport, cfg: DemoConfig) -> str:
    """The end-of-run tables as text; the fills, fees and PnL part is ``paper report``'s."""
    base = cfg.symbol.split("/")[0]
    statuses = Counter(o.status.value for o in report.orders.values())
    kinds = Counter(o.type.value for o in report.placed if o.type is not None)
    lines = ["", f"paper demo summary ({report.exchange}, {report.source})", ""]
    lines.append(
        "orders: placed "
        + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        + "; now "
        + ", ".join(f"{v} {k}" for k, v in sorted(statuses.items()))
        + f"; LIMIT_MAKER rejected {report.rejected}; not funded {report.unfunded}"
    )
    fmt = MarketFormat.of(report.market)
    market = report.market_order
    if market is not None:
        how = (
            "VWAP of the levels it took"
            if market.type is OrderType.MARKET
            else f"at most the best ask {market.price}: {report.exchange} takes no MARKET orders"
        )
        lines.append(
            f"the {market.type.value if market.type else ''} buy of {fmt.amount(market.amount)} "
            f"{base} filled {fmt.amount(market.filled)} at {fmt.price(market.average)} ({how})"
        )
    currencies = sorted(set(report.start_balances) | set(report.end_balances))
    empty = Balance(currency="-")
    balance_rows = []
    for c in currencies:
        start = report.start_balances.get(c, empty).total
        end = report.end_balances.get(c, empty).total
        balance_rows.append([c, *fmt.balance_cells(c, (start, end, end - start))])
    lines += ["", render_table(["balance", "start", "end", "change"], balance_rows), ""]
    paper = report.paper
    if paper is None or paper.mark is None:
        lines.append(f"PnL: {'no mid price was seen' if paper is not None else 'not computed'}")
    else:
        lines.append(render_report(paper))
        if paper.fills and report.ledger_path is not None:
            venue = report.exchange.removesuffix("_paper_trade")
            lines.append(
                f"(the same report: adapters paper report {venue} "
                f"--ledger {report.ledger_path} --account demo --since-seq {paper.first_seq} "
                f"--mark {plain(paper.mark)})"
            )
    lines.append(f"{report.book_updates} book updates; ledger {report.ledger}")
    return "\n".join(lines)
