"""Fuzzing: random order requests and random command lines against the fake venue.

Every input is either accepted (an order reaches the venue) or rejected with a typed error /
exit code 2, and a rejected input sends nothing: the fake venue's request log is the
witness. Hypothesis runs derandomised (a fixed example set per code version) so CI is stable.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adapters.exchange
import adapters.factory
from adapters import (
    InvalidOrderRequest,
    OrderRequest,
    OrderType,
    Side,
)
from adapters.cli import main
from adapters.retry import RetryPolicy

from .fakevenue import FakeVenue

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

SYMBOLS = ["BTC/USD", "ETH/USD", "BTC/USDT"]  # the fake venues' markets
VENUE_SYMBOLS = {"bitstamp": SYMBOLS, "bitmart": ["BTC/USDT"]}
POLICY = RetryPolicy(attempts=2, max_time=2.0, initial_backoff=0.001, settle=0.0)

# -- strategies ------------------------------------------------------------------------------

plausible_amounts = st.decimals(min_value=Decimal("0.0004"), max_value=Decimal("0.05"), places=5)
plausible_prices = st.integers(min_value=5_000, max_value=90_000).map(Decimal)
wild_numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=Decimal("-1e40"), max_value=Decimal("1e40")),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from(
        [
            "0.001",
            "20000",
            "1e-30",
            "1e30",
            "-1",
            "0",
            "NaN",
            "-inf",
            "sNaN",
            " 0.002 ",
            "1,5",
            "0x10",
            "",
            "½",
            "0.001e2",
            "1E+400",
        ]
    ),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
numbers = st.one_of(plausible_amounts, wild_numbers)
prices = st.one_of(plausible_prices, wild_numbers)
symbols = st.one_of(
    st.sampled_from([*SYMBOLS, "btc/usd", "BTCUSD", "BTC/EUR", "DOGE/XYZ", "BTC/USD ", "B"]),
    st.text(max_size=45),
    st.integers(),
    st.none(),
)
sides = st.one_of(st.sampled_from(list(Side)), st.sampled_from(["buy", "SELL", "hold", ""]),
                  st.integers(), st.none())  # fmt: skip
types = st.one_of(
    st.sampled_from(list(OrderType)),
    st.sampled_from(["limit", "limit_maker", "LIMIT-MAKER", "market", "stop", ""]),
    st.integers(),
    st.none(),
)
client_ids = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9]{1,32}", fullmatch=True),
                       st.text(max_size=40), st.integers())  # fmt: skip
chaotic_fields = st.fixed_dictionaries(
    {"symbol": symbols, "side": sides, "type": types, "amount": numbers},
    optional={"price": prices, "client_order_id": client_ids, "extra": st.integers()},
)


def typed_fields(venue_symbols: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Well-typed requests on the venue's markets with wild or plausible numbers."""
    return st.fixed_dictionaries(
        {
            "symbol": st.sampled_from(venue_symbols),
            "side": st.sampled_from(list(Side)),
            "type": st.sampled_from(list(OrderType)),
            "amount": numbers,
        },
        optional={"price": prices, "client_order_id": client_ids},
    )


def near_valid_fields(venue_symbols: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Requests close to valid: on- and off-grid, around the minimums, huge and tiny."""
    edge = st.sampled_from(["0.00049", "0.0005", "0.0004999999", "1e-9", "12345678.9", "1E+12",
                            "1E+30", "0.1", "3"]).map(Decimal)  # fmt: skip
    return st.fixed_dictionaries(
        {
            "symbol": st.sampled_from(venue_symbols),
            "side": st.sampled_from(list(Side)),
            "type": st.sampled_from([OrderType.LIMIT, OrderType.LIMIT_MAKER]),
            "amount": st.one_of(plausible_amounts, edge),
            "price": st.one_of(
                plausible_prices, edge, plausible_prices.map(lambda p: p + Decimal("0.333"))
            ),
        },
        optional={"client_order_id": st.from_regex(r"[A-Za-z0-9]{1,32}", fullmatch=True)},
    )


# -- Python API ------------------------------------------------------------------------------


@pytest.mark.parametrize("exchange_id", ["bitstamp", "bitmart"])
def test_fuzzed_order_requests_are_accepted_or_rejected_before_sending(
    exchange_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes: Counter[str] = Counter()
    with asyncio.Runner() as runner:
        venue = FakeVenue(exchange_id)
        runner.run(venue.start())
        ex = venue.exchange(policy=POLICY)
        runner.run(ex.load_markets())  # the market list is cached from here on

        used_ids: set[str] = set()

        async def one(fields: dict[str, Any], as_dict: bool = False) -> str:
            # A repeated client order id is the idempotency path (tested with the faults),
            # not input validation: give it a fresh id instead.
            if fields.get("client_order_id") in used_ids:
                fields = {**fields, "client_order_id": None}
            before, orders_before = len(venue.requests), len(venue.orders)
            try:
                request: Any = fields if as_dict else OrderRequest(**fields)
                order = await ex.create_order(request)
            except InvalidOrderRequest as exc:  # incl. UnsupportedOrderType, UnknownSymbol
                assert len(venue.requests) == before, f"sent despite {exc!r}"
                return type(exc).__name__
            # Anything else escaping (KeyError, TypeError, decimal errors...) fails the test.
            new = venue.requests[before:]
            assert [r.group for r in new] == ["create"]
            assert len(venue.orders) == orders_before + 1
            assert venue.orders[-1].id == order.id
            assert order.amount == request.amount
            used_ids.add(str(order.client_order_id))
            return "accepted"

        symbols_here = VENUE_SYMBOLS[exchange_id]
        fuzz = settings(deadline=None, derandomize=True, database=None,
                        suppress_health_check=list(HealthCheck))  # fmt: skip

        @settings(fuzz, max_examples=300)
        @given(fields=st.one_of(chaotic_fields, typed_fields(symbols_here)))
        def check_wild(fields: dict[str, Any]) -> None:
            outcomes[runner.run(one(fields))] += 1

        @settings(fuzz, max_examples=100)
        @given(fields=near_valid_fields(symbols_here))
        def check_near_valid(fields: dict[str, Any]) -> None:
            outcomes[runner.run(one(fields))] += 1

        try:
            check_wild()
            check_near_valid()
            # A plain dict instead of an OrderRequest is refused the same way.
            outcomes[runner.run(one({"symbol": SYMBOLS[0]}, as_dict=True))] += 1
        finally:
            runner.run(ex.close())
            runner.run(venue.stop())
    with capsys.disabled():
        print(f"\n[{exchange_id}] fuzzed create_order: {sum(outcomes.values())} examples, "
              f"{dict(outcomes.most_common())}; "
              f"orders at the venue {len(venue.orders)}")  # fmt: skip
    assert outcomes["accepted"] >= 20, "the fuzzing must reach the venue too"
    assert len(venue.orders) == outcomes["accepted"]


# -- command line ----------------------------------------------------------------------------

exchanges = st.sampled_from(["bitstamp", "bitmart", "kraken", "BITSTAMP", ""])
cli_symbols = st.one_of(st.sampled_from([*SYMBOLS, "btc/usd", "DOGE/XYZ", "BTCUSD"]),
                        st.text(max_size=10))  # fmt: skip
cli_numbers = st.one_of(
    plausible_amounts.map(str),
    st.sampled_from(["0.001", "0", "-1", "NaN", "inf", "1e30", "abc", "1e-12", ""]),
    st.text(max_size=8),
)
tokens = st.one_of(st.sampled_from(["--json", "--depth", "5", "0", "--type", "market",
                                    "--price", "--help", "-x"]), st.text(max_size=8))  # fmt: skip
structured = st.one_of(
    st.tuples(st.just("capabilities"), st.lists(st.one_of(exchanges, tokens), max_size=2)),
    st.tuples(st.just("markets"), st.lists(exchanges, min_size=1, max_size=1)),
    st.tuples(st.just("ticker"), st.tuples(exchanges, cli_symbols)),
    st.tuples(st.just("book"), st.tuples(exchanges, cli_symbols, st.just("--depth"), tokens)),
    st.tuples(st.just("balance"), st.tuples(exchanges)),
    st.tuples(
        st.just("order"),
        st.tuples(
            exchanges,
            st.sampled_from(["buy", "sell", "hold"]),
            cli_symbols,
            cli_numbers,
            st.sampled_from(["--price", "--price", "--type"]),
            st.one_of(plausible_prices.map(str), cli_numbers),
            st.sampled_from(["--type", "--client-order-id"]),
            st.sampled_from(["limit", "limit_maker", "market", "abc123", "x-y"]),
        ),
    ),
    st.tuples(st.just("cancel"), st.tuples(exchanges, cli_numbers, cli_symbols)),
).map(lambda t: [t[0], *t[1]])


def _live_only(argv: list[str]) -> bool:
    # --paper (or an abbreviation argparse would accept) needs the paper feed, not this venue.
    return not any(a.startswith("--p") and "--paper".startswith(a) for a in argv)


argvs = st.one_of(structured, st.lists(tokens, max_size=6)).filter(_live_only)


def test_fuzzed_command_lines_exit_0_1_or_2_and_send_nothing_on_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    venues = {ex_id: FakeVenue(ex_id) for ex_id in ("bitstamp", "bitmart")}
    for venue in venues.values():
        venue.start_in_thread()

    def open_fake(exchange_id: str, *, paper: bool = False, **_: Any) -> adapters.exchange.Exchange:
        # The CLI's own open_exchange, pointed at the fake venue with test credentials.
        assert not paper, "paper ids and --paper are not generated"
        return venues[exchange_id].exchange(policy=POLICY)

    monkeypatch.setattr(adapters.factory, "open_exchange", open_fake)
    codes: Counter[int] = Counter()
    exit_2_after_markets: Counter[bool] = Counter()

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(argv=argvs)
    def check(argv: list[str]) -> None:
        before = {k: len(v.requests) for k, v in venues.items()}
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's --help exits by itself, with 0
            code = exc.code if isinstance(exc.code, int) else 2
        capsys.readouterr()
        assert code in (0, 1, 2), (argv, code)
        codes[code] += 1
        if code == 2:
            sent = [r for k, v in venues.items() for r in v.requests[before[k] :]]
            # Only the public market list may be fetched (to learn a symbol is unknown or an
            # amount off the market's grid); nothing private, no order.
            assert all(r.group == "markets" for r in sent), (argv, sent)
            exit_2_after_markets[bool(sent)] += 1

    try:
        check()
    finally:
        for venue in venues.values():
            venue.stop_thread()
    placed = sum(len(v.orders) for v in venues.values())
    with capsys.disabled():
        print(f"\nfuzzed command lines: {sum(codes.values())} examples, exit codes "
              f"{dict(sorted(codes.items()))} (exit 2 after loading the market list: "
              f"{exit_2_after_markets[True]}, with no request at all: "
              f"{exit_2_after_markets[False]}); orders placed {placed}")  # fmt: skip
    assert codes[2] > 0 and codes[0] > 0
