"""``adapters paper ...``: the demo and the paper account's ledger from the command line.

``adapters.cli`` calls :func:`add_paper_commands` with its sub-parsers. The ledger commands
(``fund``, ``reset``, ``balances``, ``fills``, ``report``) work on the ledger file, offline
(the balances table takes each currency's precision from the markets shipped with the
package; ``report`` renders :mod:`adapters.paper.report` with :mod:`adapters.paper.render`
and :mod:`adapters.paper.plot`). Bad
input exits 2 with one line (through ``adapters.cli``'s parser); ledger and exchange errors
(a damaged or unwritable ledger included) are :class:`~adapters.errors.AdapterError` and
exit 1 with their message. ``balances`` and ``fills`` only read, so they run beside a
writer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..capabilities import capabilities
from ..console import (
    MarketFormat,
    UsageError,
    VersionAction,
    add_command,
    add_json_flag,
    currency_places,
    json_text,
    render_table,
)
from ..errors import AdapterError, InvalidInput, UnknownExchange
from ..inputs import parse_currency, parse_decimal
from .engine import plain
from .ledger import MEMORY, Ledger
from .options import check_traded

__all__ = ["add_paper_commands"]

log = logging.getLogger("adapters")


def _paper_id(value: str) -> str:
    try:
        return capabilities(value).paper_trade_id
    except UnknownExchange as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _currency(value: str) -> str:
    try:
        return parse_currency(value)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _amount(value: str) -> Decimal:
    try:
        return parse_decimal(value, "amount", sign="non-negative")
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _price(value: str) -> Decimal:
    try:
        return parse_decimal(value, "mark", sign="positive")
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _speed(value: str) -> float | str:
    if value == "max":
        return value
    try:
        number = float(value) if value.isascii() else 0.0
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected 'max' or a positive number (1 = real time), got {value!r}"
        )
    return number


def _seq(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a fill number of 1 or more, got {value!r}")
    return int(value)


def add_paper_commands(subparsers: Any) -> None:
    """Add ``paper demo|fund|reset|balances|fills|report`` to an argparse sub-parsers object."""
    paper = add_command(
        subparsers, "paper", "Paper trading: the demo, and the paper account's funds and fills",
        "The ledger commands (fund, reset, balances, fills, report) work on the ledger file, "
        "offline.",
    )  # fmt: skip
    paper.add_argument("--version", action=VersionAction)
    sub = paper.add_subparsers(
        dest="paper_command", required=True, parser_class=type(paper), metavar="COMMAND"
    )

    def account_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("exchange", type=_paper_id, help="bitstamp or bitmart (paper account)")
        p.add_argument("--account", default="default", help="account name")
        p.add_argument("--ledger", type=Path, help="ledger file (default: the user state dir)")

    p = add_command(
        sub, "demo", "Run the paper-trading demo (offline on a recorded session by default)"
    )
    p.add_argument("--live", action="store_true", help="use the live public feed instead")
    p.add_argument(
        "--exchange", type=_paper_id, help="bitstamp (default) or bitmart; needs --session"
    )
    p.add_argument("--symbol", help="the market to trade (default: the session's, or ETH/USD)")
    p.add_argument(
        "--session",
        metavar="FILE",
        help="a recorded session (.jsonl, e.g. from 'adapters record') instead of the demo's",
    )
    p.add_argument(
        "--speed",
        type=_speed,
        default="max",
        help="'max': as fast as the strategy reacts, the same fills every run; "
        "a number: the recording's own clock that many times faster (1 = real time)",
    )
    p.add_argument("--ledger", type=Path, help="keep the paper account in this SQLite file")
    p.add_argument("--quiet", action="store_true", help="print the summary only")
    p.set_defaults(func=_cmd_demo)

    p = add_command(
        sub, "fund", "Set a currency's balance", "Example: adapters paper fund bitstamp USD 10000"
    )
    account_options(p)
    p.add_argument("currency", type=_currency, help="currency code, e.g. USD")
    p.add_argument("amount", type=_amount, help="the new total, 0 or more")
    p.set_defaults(func=_cmd_fund)

    p = add_command(sub, "reset", "Start the paper account over (orders, fills, balances)")
    account_options(p)
    p.set_defaults(func=_cmd_reset)

    p = add_command(
        sub, "balances", "The paper account's balances",
        "Amounts are shown at each currency's precision, taken from the venue's markets "
        "shipped with the package (offline); --json gives the ledger's exact values.",
    )  # fmt: skip
    account_options(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_balances)

    p = add_command(sub, "fills", "The paper account's fills, as CSV or JSON")
    account_options(p)
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--csv", help="file to write ('-' for standard output)")
    out.add_argument(
        "--json", action="store_true", help="print one JSON document (Decimals as strings)"
    )
    p.set_defaults(func=_cmd_fills)

    p = add_command(
        sub, "report", "PnL, fees, volume and drawdown of the paper account's fills",
        "Offline and read-only, from the ledger alone. --plot draws equity over time (needs "
        "the plot extra: pip install 'typed-spot-adapters[plot]').",
    )  # fmt: skip
    account_options(p)
    p.add_argument("--symbol", help="the symbol to report (default: the only one traded)")
    p.add_argument(
        "--mark", type=_price, help="value the open position at this price (default: last fill)"
    )
    p.add_argument(
        "--since-seq",
        type=_seq,
        metavar="N",
        help="only fills numbered N or later (the demo's summary prints its run's numbers)",
    )
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="draw equity over time")
    add_json_flag(p)
    p.set_defaults(func=_cmd_report)


def _ledger(args: argparse.Namespace, *, readonly: bool = False) -> Ledger:
    """The account's ledger; ``readonly`` for the commands that only read it, which take no
    writer lock and so work while a paper exchange (the demo) writes. Failures are typed
    :class:`~adapters.paper.ledger.LedgerError` (one line, exit 1)."""
    if args.ledger is not None:
        return Ledger(
            args.ledger, exchange_id=args.exchange, account=args.account, readonly=readonly
        )
    return Ledger.open_default(args.exchange, args.account, readonly=readonly)


def _cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    # deferred: the demo needs ccxt, the ledger commands do not
    from ..venues import get_venue
    from .demo import DemoConfig, run_demo
    from .session import RecordedSession, SessionNotFound

    if args.exchange is not None and args.session is None and not args.live:
        raise UsageError("--exchange needs --session FILE (a recorded session of that exchange)")
    exchange = (args.exchange or "bitstamp_paper_trade").removesuffix("_paper_trade")
    defaults = DemoConfig()
    session = args.session if args.session is not None else defaults.session
    symbol = args.symbol
    if args.session is not None:
        try:
            recorded = RecordedSession(session, get_venue(exchange))
        except SessionNotFound as exc:
            raise UsageError(str(exc)) from None
        symbol = symbol or recorded.symbol
        if symbol is None:
            raise UsageError(f"{args.session} does not name its symbol: pass --symbol")
    if symbol is not None and (symbol.count("/") != 1 or not all(symbol.split("/"))):
        raise UsageError(f"expected a symbol like ETH/USD, got {symbol!r}")
    config = DemoConfig(
        exchange=exchange, symbol=symbol or defaults.symbol, session=session, speed=args.speed
    )
    progress = not args.quiet
    asyncio.run(run_demo(live=args.live, ledger=args.ledger, config=config, progress=progress))
    return 0


def _cmd_fund(args: argparse.Namespace) -> int:
    traded = _currency_places(args.exchange)  # offline: the markets shipped with the package
    with _ledger(args) as ledger:
        if traded:  # as PaperExchange.fund: a currency the account holds stays fundable
            held = {b.currency for b in ledger.balances()}
            check_traded([args.currency], traded.keys() | held, args.exchange)
        balance = ledger.fund(args.currency, args.amount)
        print(
            f"{args.exchange} ({args.account}): {balance.currency} total {plain(balance.total)}, "
            f"free {plain(balance.free)}, locked {plain(balance.locked)}  [{ledger.path}]"
        )
    return 0


def _cmd_reset(args: argparse.Namespace) -> int:
    with _ledger(args) as ledger:
        ledger.reset()
        print(f"{args.exchange} ({args.account}): ledger reset  [{ledger.path}]")
    return 0


def _cmd_balances(args: argparse.Namespace) -> int:
    with _ledger(args, readonly=True) as ledger:
        if args.json:
            balances = [
                {"currency": b.currency, "free": b.free, "locked": b.locked, "total": b.total}
                for b in ledger.balances()
            ]
            print(json_text(balances))
            print(f"[{ledger.path}]", file=sys.stderr)
            return 0
        states = ledger.balances()
        fmt = MarketFormat(currencies=_currency_places(args.exchange) if states else {})
        rows = [
            [b.currency, *fmt.balance_cells(b.currency, (b.free, b.locked, b.total))]
            for b in states
        ]
        if rows:
            print(render_table(["currency", "free", "locked", "total"], rows))
        else:
            live = args.exchange.removesuffix("_paper_trade")
            print(
                f"{args.exchange} ({args.account}): no balances; fund it with "
                f"'adapters paper fund {live} USD 10000'"
            )
        print(f"[{ledger.path}]", file=sys.stderr)
    return 0


def _currency_places(paper_id: str) -> dict[str, int]:
    """Each currency's display places, from the venue's markets as the paper twin loads them
    offline (the markets shipped beside its recorded sessions); none if there are none."""
    import asyncio

    from .exchange import PaperExchange  # deferred: ccxt, only when there is a table to show
    from .session import shipped_sessions

    sessions = sorted(shipped_sessions(paper_id).glob("*.jsonl"))
    if not sessions:
        return {}

    async def load() -> dict[str, int]:
        ex = PaperExchange(paper_id, source=sessions[0], ledger=MEMORY)
        try:
            return currency_places((await ex.load_markets()).values())
        finally:
            await ex.close()

    try:
        return asyncio.run(load())
    except AdapterError as exc:  # the table still shows, at the precision the ledger holds
        log.debug("%s: no market precision for the balances table: %s", paper_id, exc)
        return {}


def _cmd_fills(args: argparse.Namespace) -> int:
    with _ledger(args, readonly=True) as ledger:
        if args.json:
            print(json_text(ledger.fills()))
            print(f"[{ledger.path}]", file=sys.stderr)
            return 0
        if args.csv == "-":
            count = ledger.export_fills_csv(sys.stdout)
        else:
            try:
                count = ledger.export_fills_csv(Path(args.csv))
            except OSError as exc:
                raise UsageError(f"cannot write {args.csv}: {exc.strerror or exc}") from None
            print(f"wrote {count} fills to {args.csv}  [{ledger.path}]")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .render import render_report
    from .report import build_report

    with _ledger(args, readonly=True) as ledger:
        fills = [f for f in ledger.fills(args.symbol) if f.seq >= (args.since_seq or 0)]
        path = ledger.path
    symbols = sorted({f.symbol for f in fills})
    if args.symbol is None and len(symbols) > 1:
        raise UsageError(f"the ledger holds fills for {', '.join(symbols)}: pass --symbol")
    report = build_report(fills, symbol=args.symbol, mark=args.mark)
    if args.plot is not None:
        from .plot import plot_equity

        try:
            plot_equity(report, args.plot, title=f"{args.exchange} ({args.account})")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"cannot write {args.plot}: {exc.strerror or exc}") from None
    if args.json:
        print(json_text(report.to_dict()))
    else:
        print(render_report(report))
        if args.plot is not None:
            print(f"equity picture: {args.plot}")
    print(f"[{path}]", file=sys.stderr)
    return 0
