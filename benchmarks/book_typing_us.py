"""book_typing_us: the cost of turning one 100x100 ccxt.pro book into the typed model.

ours: ``OrderBook.from_ccxt_live`` (what ``watch_order_book`` yields: float tuples copied
with ``itemgetter``, built with ``model_construct``). baseline: a frozen pydantic model whose
levels are ``Decimal`` pairs, built the obvious way (ccxt's levels handed to the model, which
validates them and turns every float into a ``Decimal``). A second line compares
``OrderBook.from_ccxt`` (the REST path, which checks every number with ``float()``) with the
same baseline. A third line prices the check every level gets where it enters the client
(``book_typing_us.level_check``: the adapter's client parsing the book's 200 levels, sent as
the venue's strings, against ccxt.pro's own parser; the copy above is not affected).

The ccxt book is a real ccxt.pro ``OrderBook`` filled through ``storeArray`` with 100 bids
and 100 asks (seeded prices and sizes). Rounds interleaved; medians in microseconds per
book; the ratio is ours / baseline, lower is better.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.pro
from _common import median, report
from pydantic import BaseModel, ConfigDict

from adapters.models import OrderBook
from adapters.venues import get_venue

LEVELS, ROUNDS, CALLS = 100, 25, 400


class DecimalBook(BaseModel):
    """The obvious typed book: Decimal levels, validated."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    timestamp: int | None = None
    nonce: int | None = None


def decimal_book(book: Any) -> DecimalBook:
    # pydantic turns each float into a Decimal (through its string, so 0.1 stays 0.1)
    return DecimalBook(
        symbol=book["symbol"],
        bids=[(level[0], level[1]) for level in book["bids"]],
        asks=[(level[0], level[1]) for level in book["asks"]],
        timestamp=book["timestamp"],
        nonce=book["nonce"],
    )


def ccxt_book() -> Any:
    rng = random.Random(100)
    book = ccxt.pro.bitstamp().order_book({})
    mid = 2087.5
    for i in range(LEVELS):
        book["bids"].storeArray([round(mid - 0.5 - i * 0.07, 2), round(rng.uniform(0.01, 9), 8)])
        book["asks"].storeArray([round(mid + 0.5 + i * 0.07, 2), round(rng.uniform(0.01, 9), 8)])
    book["symbol"], book["timestamp"], book["nonce"] = "ETH/USD", 1772723362377, 1772723362377013
    return book


def per_call_us(convert: Callable[[Any], Any], book: Any) -> float:
    start = time.perf_counter()
    for _ in range(CALLS):
        convert(book)
    return (time.perf_counter() - start) / CALLS * 1e6


def parse_levels_us(client: Any, levels: list[list[str]]) -> float:
    """Microseconds for ``client`` to parse every level of ``levels`` once."""
    parse = client.parse_order_book_bid_ask
    start = time.perf_counter()
    for _ in range(CALLS):
        for level in levels:
            parse(level)
    return (time.perf_counter() - start) / CALLS * 1e6


def main() -> None:
    book = ccxt_book()
    live = OrderBook.from_ccxt_live(book)
    checked = OrderBook.from_ccxt(book)
    baseline = decimal_book(book)
    assert len(live.bids) == len(live.asks) == LEVELS and live == checked
    assert [(Decimal(repr(p)), Decimal(repr(a))) for p, a in live.bids] == list(baseline.bids)
    ours, rest, base = [], [], []
    for _ in range(ROUNDS):
        ours.append(per_call_us(OrderBook.from_ccxt_live, book))
        rest.append(per_call_us(OrderBook.from_ccxt, book))
        base.append(per_call_us(decimal_book, book))
    report("book_typing_us", median(ours), median(base), "us/book", levels=f"{LEVELS}x{LEVELS}")
    report(
        "book_typing_us.from_ccxt",
        median(rest),
        median(base),
        "us/book",
        levels=f"{LEVELS}x{LEVELS}",
    )
    levels = [[repr(p), repr(a)] for side in ("bids", "asks") for p, a in book[side]]
    checked, raw = get_venue("bitstamp").client_class()(), ccxt.pro.bitstamp()
    assert checked.parse_order_book_bid_ask(levels[0]) == raw.parse_order_book_bid_ask(levels[0])
    ours, base = [], []
    for _ in range(ROUNDS):
        ours.append(parse_levels_us(checked, levels))
        base.append(parse_levels_us(raw, levels))
    report("book_typing_us.level_check", median(ours), median(base), "us/book",
           levels=f"{LEVELS}x{LEVELS}")  # fmt: skip


if __name__ == "__main__":
    main()
