"""The ``adapters`` command (also ``python -m adapters``).

Bad input exits 2 with one line on stderr; exchange errors exit 1 with the typed error's
message; neither prints a traceback. ``capabilities`` never imports ccxt, so it is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .capabilities import Capabilities, capabilities, supported_exchanges
from .console import UsageError, render_table
from .errors import AdapterError, InvalidInput, MissingCredentials, UnknownExchange

if TYPE_CHECKING:
    from .protocol import ExchangeAPI as Exchange

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_EXCHANGE, EXIT_USAGE = 0, 1, 2
#: 128 + SIGPIPE: what a shell reports for a writer whose reader closed the pipe.
EXIT_BROKEN_PIPE = 141
#: Errors that mean the caller's input was wrong (exit 2), as opposed to the venue's (exit 1).
USAGE_ERRORS: tuple[type[Exception], ...] = (
    InvalidInput,
    MissingCredentials,
    UnknownExchange,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _card_rows(cards: Sequence[Capabilities]) -> list[list[str]]:
    def row(label: str, get: Callable[[Capabilities], str]) -> list[str]:
        return [label, *(get(c) for c in cards)]

    return [
        row("name", lambda c: c.name),
        row("exchange type", lambda c: c.exchange_type),
        row("market type", lambda c: c.market_type),
        row("connection", lambda c: c.connection),
        row("spot connector", lambda c: c.spot_connector.value),
        row("perp connector", lambda c: c.perp_connector.value),
        row("spot candles", lambda c: c.spot_candles.value),
        row("perp candles", lambda c: c.perp_candles.value),
        row("order types", lambda c: ", ".join(c.order_type_names)),
        row("LIMIT_MAKER on the wire", lambda c: c.limit_maker_on_the_wire),
        row("paper-trade id", lambda c: c.paper_trade_id),
        row("credentials", lambda c: ", ".join(f.env_var for f in c.credentials)),
        row("streams", lambda c: ", ".join(sorted(s.value for s in c.streams))),
    ]


def _cmd_capabilities(args: argparse.Namespace) -> int:
    ids = [args.exchange] if args.exchange else list(supported_exchanges())
    cards = [capabilities(i) for i in ids]
    if args.json:
        payload: Any = cards[0].to_dict() if args.exchange else [c.to_dict() for c in cards]
        print(json.dumps(payload, indent=2))
    else:
        print(render_table(["", *(c.id for c in cards)], _card_rows(cards)))
    return EXIT_OK


def _open(args: argparse.Namespace) -> Exchange:
    from .factory import open_exchange  # deferred: offline commands never import ccxt

    exchange_id: str = args.exchange
    return open_exchange(exchange_id, paper=bool(getattr(args, "paper", False)))


def _run(args: argparse.Namespace, body: Callable[[Exchange], Awaitable[str]]) -> int:
    import asyncio  # deferred: the offline commands start faster without it

    async def go() -> str:
        async with _open(args) as ex:
            return await body(ex)

    print(asyncio.run(go()))
    return EXIT_OK


def _cmd_markets(args: argparse.Namespace) -> int:
    async def body(ex: Exchange) -> str:
        markets = await ex.load_markets()
        rows = [
            [m.symbol, m.venue_id, "yes" if m.active else "no", m.price_increment,
             m.amount_increment, m.min_amount, m.min_cost]
            for m in markets.values()
        ]  # fmt: skip
        headers = ["symbol", "venue id", "active", "price step", "amount step", "min amount"]
        return render_table([*headers, "min cost"], rows)

    return _run(args, body)


def _cmd_ticker(args: argparse.Namespace) -> int:
    async def body(ex: Exchange) -> str:
        t = await ex.fetch_ticker(args.symbol)
        fields = ["bid", "ask", "last", "high", "low", "base_volume", "quote_volume"]
        return render_table(["field", "value"], [[f, getattr(t, f)] for f in fields])

    return _run(args, body)


def _cmd_book(args: argparse.Namespace) -> int:
    async def body(ex: Exchange) -> str:
        book = await ex.fetch_order_book(args.symbol, args.depth)
        rows = []
        for i in range(max(len(book.bids), len(book.asks))):
            bid = book.bid(i) if i < len(book.bids) else ("", "")
            ask = book.ask(i) if i < len(book.asks) else ("", "")
            rows.append([bid[1], bid[0], ask[0], ask[1]])
        return render_table(["bid size", "bid", "ask", "ask size"], rows)

    return _run(args, body)


def _cmd_balance(args: argparse.Namespace) -> int:
    async def body(ex: Exchange) -> str:
        balances = await ex.fetch_balance()
        rows = [[b.currency, b.free, b.used, b.total] for b in balances.nonzero().values()]
        return render_table(["currency", "free", "used", "total"], rows)

    return _run(args, body)


def _cmd_order(args: argparse.Namespace) -> int:
    from .models import OrderRequest

    # Validate before connecting: bad input must not open a connection.
    request = OrderRequest(
        symbol=args.symbol,
        side=args.side,
        type=args.type,
        amount=args.amount,
        price=args.price,
        client_order_id=args.client_order_id,
    )
    capabilities(args.exchange).require(request.type)

    async def body(ex: Exchange) -> str:
        o = await ex.create_order(request)
        rows = [
            [f, getattr(o, f)] for f in ("id", "client_order_id", "status", "filled", "average")
        ]
        return render_table(["field", "value"], rows)

    return _run(args, body)


def _cmd_cancel(args: argparse.Namespace) -> int:
    async def body(ex: Exchange) -> str:
        o = await ex.cancel_order(args.id, args.symbol)
        return f"order {o.id} {o.status.value}"

    return _run(args, body)


def _exchange_arg(value: str) -> str:
    try:
        return capabilities(value).id
    except UnknownExchange as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# Both venues' order ids are digits; ASCII letters, '-' and '_' leave room for a third venue.
# str.isalnum/isdigit would also take other scripts' letters and digits ("١٢").
_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_WHOLE = re.compile(r"[0-9]{1,9}")


def _order_id(value: str) -> str:
    if not _ORDER_ID.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"expected an order id (ASCII letters and digits), got {value!r}"
        )
    return value


def _positive_int(value: str) -> int:
    if not _WHOLE.fullmatch(value) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return int(value)


class _VersionAction(argparse.Action):
    """``--version``: read from the installed package's metadata only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from . import DISTRIBUTION, __version__

        print(f"{parser.prog} {__version__} ({DISTRIBUTION})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = _Parser(prog="adapters", description=__doc__)
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("capabilities", help="connector cards, offline (table or --json)")
    p.add_argument("exchange", nargs="?", type=_exchange_arg)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_capabilities)

    p = sub.add_parser("markets", help="list spot markets")
    p.add_argument("exchange", type=_exchange_arg)
    p.set_defaults(func=_cmd_markets)

    p = sub.add_parser("ticker", help="best prices and 24h statistics")
    p.add_argument("exchange", type=_exchange_arg)
    p.add_argument("symbol")
    p.set_defaults(func=_cmd_ticker)

    p = sub.add_parser("book", help="order book snapshot")
    p.add_argument("exchange", type=_exchange_arg)
    p.add_argument("symbol")
    p.add_argument("--depth", type=_positive_int, default=10)
    p.set_defaults(func=_cmd_book)

    p = sub.add_parser("balance", help="account balances (needs credentials)")
    p.add_argument("exchange", type=_exchange_arg)
    p.add_argument("--paper", action="store_true", help="the paper-trade account")
    p.set_defaults(func=_cmd_balance)

    p = sub.add_parser("order", help="place an order (needs credentials unless --paper)")
    p.add_argument("exchange", type=_exchange_arg)
    p.add_argument("side", choices=["buy", "sell"])
    p.add_argument("symbol")
    p.add_argument("amount", help="base amount, e.g. 0.001")
    p.add_argument("--type", default="limit", choices=["limit", "limit_maker", "market"])
    p.add_argument("--price", help="limit price (required for limit and limit_maker)")
    p.add_argument("--client-order-id", dest="client_order_id")
    p.add_argument("--paper", action="store_true", help="simulate on the paper-trade account")
    p.set_defaults(func=_cmd_order)

    p = sub.add_parser("cancel", help="cancel an order")
    p.add_argument("exchange", type=_exchange_arg)
    p.add_argument("id", type=_order_id)
    p.add_argument("symbol")
    p.add_argument("--paper", action="store_true")
    p.set_defaults(func=_cmd_cancel)

    try:
        from .paper.cli import add_paper_commands
    except ImportError:  # paper trading not installed in this build
        pass
    else:
        add_paper_commands(sub)
    return parser


def _fail(code: int, message: str) -> int:
    print(f"adapters: error: {message}", file=sys.stderr)
    return code


def _stop_writing_stdout() -> None:
    """Point standard output at the null device: its reader is gone, and the interpreter's
    own flush at exit would otherwise fail again and print a traceback."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a non-file (tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 exchange error, 2 bad input,
    141 when the reader of standard output went away, as ``| head`` does)."""
    try:
        args = build_parser().parse_args(argv)
        code: int = args.func(args)
        # Flushed here so a closed pipe surfaces below, not in the interpreter's exit.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _stop_writing_stdout()
        return EXIT_BROKEN_PIPE
    except UsageError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except USAGE_ERRORS as exc:
        return _fail(EXIT_USAGE, str(exc))
    except AdapterError as exc:
        return _fail(EXIT_EXCHANGE, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")


if __name__ == "__main__":
    raise SystemExit(main())
