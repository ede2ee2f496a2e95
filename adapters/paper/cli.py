"""``adapters paper ...``: the demo and the paper account's ledger from the command line.

``adapters.cli`` calls :func:`add_paper_commands` with its sub-parsers. The ledger commands
(``fund``, ``reset``, ``balances``, ``fills``) work on the ledger file alone, offline. Bad
input exits 2 with one line (through ``adapters.cli``'s parser); ledger and exchange errors
(a damaged or unwritable ledger included) are :class:`~adapters.errors.AdapterError` and
exit 1 with their message. ``balances`` and ``fills`` only read, so they run beside a
writer.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..capabilities import capabilities
from ..console import UsageError, render_table
from ..errors import InvalidInput, UnknownExchange
from ..inputs import parse_currency, parse_decimal
from .engine import plain
from .ledger import Ledger

__all__ = ["add_paper_commands"]


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


def add_paper_commands(subparsers: Any) -> None:
    """Add ``paper demo|fund|reset|balances|fills`` to an argparse sub-parsers object."""
    paper = subparsers.add_parser(
        "paper", help="paper trading: the demo, and the paper account's funds and fills"
    )
    sub = paper.add_subparsers(dest="paper_command", required=True, parser_class=type(paper))

    def account_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("exchange", type=_paper_id, help="bitstamp or bitmart (paper account)")
        p.add_argument("--account", default="default", help="account name (default: default)")
        p.add_argument("--ledger", type=Path, help="ledger file (default: the user state dir)")

    p = sub.add_parser(
        "demo", help="run the paper-trading demo (offline on a recorded session by default)"
    )
    p.add_argument("--live", action="store_true", help="use the live public feed instead")
    p.add_argument("--ledger", type=Path, help="keep the paper account in this SQLite file")
    p.add_argument("--quiet", action="store_true", help="print the summary only")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("fund", help="set a currency's balance: paper fund bitstamp USD 10000")
    account_options(p)
    p.add_argument("currency", type=_currency)
    p.add_argument("amount", type=_amount)
    p.set_defaults(func=_cmd_fund)

    p = sub.add_parser("reset", help="start the paper account over (orders, fills, balances)")
    account_options(p)
    p.set_defaults(func=_cmd_reset)

    p = sub.add_parser("balances", help="the paper account's balances")
    account_options(p)
    p.set_defaults(func=_cmd_balances)

    p = sub.add_parser("fills", help="export the paper account's fills as CSV")
    account_options(p)
    p.add_argument("--csv", required=True, help="file to write ('-' for standard output)")
    p.set_defaults(func=_cmd_fills)


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

    from .demo import run_demo  # deferred: the demo needs ccxt, the ledger commands do not

    asyncio.run(run_demo(live=args.live, ledger=args.ledger, progress=not args.quiet))
    return 0


def _cmd_fund(args: argparse.Namespace) -> int:
    with _ledger(args) as ledger:
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
        rows = [
            [b.currency, plain(b.free), plain(b.locked), plain(b.total)] for b in ledger.balances()
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


def _cmd_fills(args: argparse.Namespace) -> int:
    with _ledger(args, readonly=True) as ledger:
        if args.csv == "-":
            count = ledger.export_fills_csv(sys.stdout)
        else:
            try:
                count = ledger.export_fills_csv(Path(args.csv))
            except OSError as exc:
                raise UsageError(f"cannot write {args.csv}: {exc.strerror or exc}") from None
            print(f"wrote {count} fills to {args.csv}  [{ledger.path}]")
    return 0
