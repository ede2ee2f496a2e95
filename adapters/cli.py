"""The ``adapters`` command (also ``python -m adapters``); see :data:`DESCRIPTION`."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .capabilities import Capabilities, capabilities, supported_exchanges
from .console import (
    HelpFormatter,
    MarketFormat,
    UsageError,
    VersionAction,
    add_command,
    add_json_flag,
    error_causes,
    fmt_number,
    json_text,
    log_to_stderr,
    render_table,
)
from .errors import AdapterError, InvalidInput, MissingCredentials, UnknownExchange
from .redact import Redactor

if TYPE_CHECKING:
    from .models import Order
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
        row("optional methods", lambda c: ", ".join(sorted(m.value for m in c.methods))),
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
        markets = list((await ex.load_markets()).values())
        if args.json:
            return json_text(markets)
        rows = []
        for m in markets:
            fmt = MarketFormat.of(m)
            rows.append([m.symbol, m.venue_id, "yes" if m.active else "no",
                         fmt_number(m.price_increment), fmt_number(m.amount_increment),
                         fmt.amount(m.min_amount), fmt.money(m.quote, m.min_cost),
                         fmt_number(m.maker_fee), fmt_number(m.taker_fee)])  # fmt: skip
        headers = ["symbol", "venue id", "active", "price step", "amount step", "min amount"]
        return render_table([*headers, "min cost", "maker fee", "taker fee"], rows)

    return _run(args, body)


_TICKER_PRICES = ("bid", "ask", "last", "open", "high", "low", "vwap")
_TICKER_SIZES = (("bid size", "bid_volume"), ("ask size", "ask_volume"))


def _cmd_ticker(args: argparse.Namespace) -> int:
    async def body(ex: Exchange) -> str:
        t = await ex.fetch_ticker(args.symbol)
        if args.json:
            return json_text(t)
        m = await ex.market(args.symbol)
        sizes = [(label, getattr(t, f)) for label, f in _TICKER_SIZES]
        sizes.append((f"volume ({m.base})", t.base_volume))
        fmt = MarketFormat.of(m).fitted(
            prices=[getattr(t, f) for f in _TICKER_PRICES], amounts=[v for _, v in sizes]
        )
        rows = [[f, fmt.price(getattr(t, f))] for f in _TICKER_PRICES]
        rows += [[label, fmt.amount(v)] for label, v in sizes]
        rows.append([f"volume ({m.quote})", fmt.money(m.quote, t.quote_volume)])
        return render_table(["field", "value"], rows)

    return _run(args, body)


def _cmd_book(args: argparse.Namespace) -> int:
    from .enums import Side

    async def body(ex: Exchange) -> str:
        book = await ex.fetch_order_book(args.symbol, args.depth)
        if args.json:
            return json_text(book)
        levels = [*book.levels(Side.BUY), *book.levels(Side.SELL)]
        # A level off the market's grid (a payload older than the venue's increments)
        # widens its column instead of being rounded away.
        fmt = MarketFormat.of(await ex.market(args.symbol)).fitted(
            prices=[p for p, _ in levels], amounts=[a for _, a in levels]
        )
        rows = []
        for i in range(max(len(book.bids), len(book.asks))):
            bid = book.bid(i) if i < len(book.bids) else (None, None)
            ask = book.ask(i) if i < len(book.asks) else (None, None)
            rows.append(
                [fmt.amount(bid[1]), fmt.price(bid[0]), fmt.price(ask[0]), fmt.amount(ask[1])]
            )
        return render_table(["bid size", "bid", "ask", "ask size"], rows)

    return _run(args, body)


def _cmd_balance(args: argparse.Namespace) -> int:
    async def body(ex: Exchange) -> str:
        balances = (await ex.fetch_balance()).nonzero()
        if args.json:
            return json_text(balances)
        fmt = MarketFormat.of(None, (await ex.load_markets()).values())
        rows = [
            [b.currency, *fmt.balance_cells(b.currency, (b.free, b.used, b.total))]
            for b in balances.values()
        ]
        return render_table(["currency", "free", "used", "total"], rows)

    return _run(args, body)


async def _order_table(ex: Exchange, o: Order) -> str:
    fmt = MarketFormat.of(await ex.market(o.symbol)).fitted(
        prices=[o.price, o.average], amounts=[o.amount, o.filled, o.remaining]
    )
    fee = fmt.money(o.fee_currency, o.fee) + (f" {o.fee_currency}" if o.fee_currency else "")
    rows = [
        ["id", o.id], ["client order id", o.client_order_id or "-"], ["symbol", o.symbol],
        ["side", o.side.value], ["type", o.type.value if o.type else "-"],
        ["status", o.status.value], ["price", fmt.price(o.price)],
        ["amount", fmt.amount(o.amount)], ["filled", fmt.amount(o.filled)],
        ["remaining", fmt.amount(o.remaining)], ["average", fmt.price(o.average)],
        ["cost", fmt.money(None, o.cost)], ["fee", fee],
    ]  # fmt: skip
    return render_table(["field", "value"], rows)


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
        return json_text(o) if args.json else await _order_table(ex, o)

    return _run(args, body)


def _cmd_cancel(args: argparse.Namespace) -> int:
    async def body(ex: Exchange) -> str:
        o = await ex.cancel_order(args.id, args.symbol)
        return json_text(o) if args.json else await _order_table(ex, o)

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


def _seconds(value: str) -> float:
    try:
        number = float(value) if value.isascii() else 0.0
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {value!r}")
    return number


def _cmd_record(args: argparse.Namespace) -> int:
    import asyncio

    from .paper.record import record_session

    if not args.out.endswith(".jsonl"):
        raise UsageError(f"--out must name a .jsonl file, got {args.out!r}")
    done = asyncio.run(
        record_session(args.exchange, args.symbol, seconds=args.seconds, out=args.out)
    )
    extra = f" and {done.snapshot}" if done.snapshot else ""
    print(
        f"recorded {done.path}{extra}: {done.frames} frames ({done.books} books, {done.trades} "
        f"trades); replay it: adapters paper demo --exchange {args.exchange} "
        f"--session {done.path}"
    )
    return EXIT_OK


DESCRIPTION = """\
Typed Bitstamp and BitMart spot adapters over ccxt, from the command line.

Bad input exits 2 with one line on stderr; exchange errors exit 1 with the error's
message; neither prints a traceback (-v adds the error's causes). Every data command
takes --json: one JSON document on stdout, Decimals as exact strings. 'capabilities'
works offline and starts instantly."""


def _exchange_positional(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "exchange", type=_exchange_arg, help=f"exchange id: {', '.join(supported_exchanges())}"
    )


def _symbol_positional(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("symbol", help="unified market symbol, e.g. BTC/USD")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = _Parser(prog="adapters", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="show the error's causes; -v logs at INFO, -vv at DEBUG",
    )  # fmt: skip
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )

    p = add_command(sub, "capabilities", "Connector cards, offline (a table or --json)")
    p.add_argument(
        "exchange", nargs="?", type=_exchange_arg,
        help="one exchange id (default: every supported exchange)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_capabilities)

    p = add_command(sub, "markets", "List the spot markets with their increments and minimums")
    _exchange_positional(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_markets)

    p = add_command(
        sub, "ticker", "Best prices and 24h statistics",
        "Prices (and the quote volume) are shown at the market's price increment, the base "
        "volume at its amount increment.",
    )  # fmt: skip
    _exchange_positional(p)
    _symbol_positional(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_ticker)

    p = add_command(sub, "book", "An order book snapshot, best levels first")
    _exchange_positional(p)
    _symbol_positional(p)
    p.add_argument("--depth", type=_positive_int, default=10, help="levels a side")
    add_json_flag(p)
    p.set_defaults(func=_cmd_book)

    p = add_command(
        sub, "balance", "Account balances (needs credentials unless --paper)",
        "Amounts are shown at each currency's precision: the finest increment the venue's "
        "markets use for it.",
    )  # fmt: skip
    _exchange_positional(p)
    p.add_argument("--paper", action="store_true", help="the paper-trade account")
    add_json_flag(p)
    p.set_defaults(func=_cmd_balance)

    p = add_command(
        sub, "order", "Place an order (needs credentials unless --paper)",
        "The order goes through the same pipeline as create_order: capability table, market "
        "rules and credentials are checked before anything is sent.",
    )  # fmt: skip
    _exchange_positional(p)
    p.add_argument("side", choices=["buy", "sell"], metavar="side", help="buy or sell")
    _symbol_positional(p)
    p.add_argument("amount", help="amount in the base currency, e.g. 0.001")
    p.add_argument(
        "--type", default="limit", choices=["limit", "limit_maker", "market"], help="order type"
    )
    p.add_argument("--price", help="limit price (required for limit and limit_maker)")
    p.add_argument(
        "--client-order-id", dest="client_order_id",
        help="your id for the order (default: a generated one)",
    )  # fmt: skip
    p.add_argument("--paper", action="store_true", help="simulate on the paper-trade account")
    add_json_flag(p)
    p.set_defaults(func=_cmd_order)

    p = add_command(sub, "cancel", "Cancel an order")
    _exchange_positional(p)
    p.add_argument("id", type=_order_id, help="the venue's order id")
    _symbol_positional(p)
    p.add_argument("--paper", action="store_true", help="on the paper-trade account")
    add_json_flag(p)
    p.set_defaults(func=_cmd_cancel)

    p = add_command(
        sub, "record", "Record a live public session (order book and trades) to replay offline",
        "Needs the internet, no keys. The file replays with 'adapters paper demo --session "
        "FILE' or PaperExchange(source=FILE).",
    )  # fmt: skip
    _exchange_positional(p)
    _symbol_positional(p)
    p.add_argument("--seconds", type=_seconds, default=60.0, help="how long to record")
    p.add_argument("--out", required=True, help="the session file to write (.jsonl)")
    p.set_defaults(func=_cmd_record)

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


def _message(exc: BaseException, verbose: int) -> str:
    """The error's message on one line; with ``-v``, one more line per cause. Any
    credential the command could have loaded is masked in both."""
    redact = Redactor(_known_secrets())
    first = redact(" ".join(str(exc).split()))
    return "\n".join([first, *error_causes(exc, redact)]) if verbose else first


def _known_secrets() -> list[str]:
    """Every credential the CLI could have loaded (environment or .env), to mask."""
    from .credentials import load_credentials

    secrets: list[str] = []
    try:
        for exchange_id in supported_exchanges():
            secrets += load_credentials(exchange_id).ccxt_config(exchange_id).values()
    except Exception:  # an unreadable .env must not turn an error report into a traceback
        return secrets
    return secrets


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
    verbose = 0
    try:
        args = build_parser().parse_args(argv)
        verbose = getattr(args, "verbose", 0) or 0
        log_to_stderr(verbose)
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
        return _fail(EXIT_USAGE, _message(exc, verbose))
    except AdapterError as exc:
        return _fail(EXIT_EXCHANGE, _message(exc, verbose))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")


if __name__ == "__main__":
    raise SystemExit(main())
