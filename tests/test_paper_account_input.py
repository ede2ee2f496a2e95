"""Issue 11, paper ledger: account names become file names, so what cannot safely be one is
refused; and funds go only to currencies the venue's markets trade."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from adapters import InvalidInput, open_exchange
from adapters.paper.exchange import PaperExchange
from adapters.paper.ledger import Ledger, default_path
from adapters.paper.records import BalanceState, EngineResult
from adapters.paper.session import DEMO_SESSION

from .conftest import TEST_CONFIG

BAD_ACCOUNTS: list[Any] = [
    "../x",  # was "bitstamp_paper_trade-.._x": a path in the name, silently rewritten
    "a/b",  # was the file of account "a_b" too: a second account's ledger refused as a mismatch
    "",  # was the file of "default", which then refused it as another account's
    " alice",
    "a\nb",
    None,  # was a raw TypeError
    5,
    "x" * 300,  # was LedgerUnwritable "File name too long"
    "é" * 65,  # 130 bytes in UTF-8
]


@pytest.mark.parametrize("account", BAD_ACCOUNTS, ids=lambda v: repr(v)[:12])
def test_an_account_that_cannot_be_a_file_name_is_refused(tmp_path: Path, account: Any) -> None:
    with pytest.raises(InvalidInput, match="account"):
        open_exchange("bitstamp_paper_trade", source=DEMO_SESSION, account=account)
    with pytest.raises(InvalidInput, match="account"):
        Ledger(tmp_path / "l.sqlite3", account=account)
    state = tmp_path / "state"  # XDG_STATE_HOME of every test (conftest)
    assert not state.exists() or list(state.rglob("*.sqlite3")) == []


def test_an_account_in_another_script_gets_its_own_file() -> None:
    path = default_path("bitstamp_paper_trade", "名前")
    assert path.name == "bitstamp_paper_trade-名前.sqlite3"
    with Ledger.open_default("bitstamp_paper_trade", "名前") as ledger:
        assert ledger.account == "名前"


@pytest.fixture
async def paper() -> Any:
    ex = open_exchange(
        "bitstamp_paper_trade", source=DEMO_SESSION, ledger=":memory:",
        initial_balances={"USD": "100"}, config=TEST_CONFIG,
    )  # fmt: skip
    assert isinstance(ex, PaperExchange)
    try:
        yield ex
    finally:
        await ex.close()


@pytest.mark.parametrize("method", ["fund", "deposit"])
async def test_funds_in_a_currency_no_market_trades_are_refused(
    paper: PaperExchange, method: str
) -> None:
    # Before: "UDS" (a typo of USD) became a balance no order could ever use.
    with pytest.raises(InvalidInput, match=r"UDS.*did you mean USD"):
        await getattr(paper, method)("UDS", "10")
    assert "UDS" not in (await paper.fetch_balance()).assets
    assert paper.ledger.deposits() == [("USD", D("100"))]
    # A currency of a listed market is fine, in any case.
    assert (await getattr(paper, method)("eth", "1")).total == D("1")


async def test_initial_balances_in_a_currency_no_market_trades_are_refused() -> None:
    ex = open_exchange(
        "bitstamp_paper_trade", source=DEMO_SESSION, ledger=":memory:",
        initial_balances={"USD": "100", "XYZQ": "5"}, config=TEST_CONFIG,
    )  # fmt: skip
    try:
        with pytest.raises(InvalidInput, match="XYZQ"):
            await ex.fetch_balance()
        assert ex.ledger.deposits() == []  # nothing funded, not even USD
    finally:
        await ex.close()


def test_a_reader_loads_one_committed_state_while_a_writer_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only ledger beside a running exchange: the counters, balances and open orders
    of ``load()`` come from one commit, though the writer commits between the reads."""
    path = tmp_path / "ledger.sqlite3"
    writer = Ledger(path, exchange_id="bitstamp_paper_trade")

    def commit(n: int) -> None:  # event n: n orders so far, and n USD
        writer.record(EngineResult(balances=(BalanceState("USD", D(n), D(0)),)), (n, 0))

    commit(1)
    reader = Ledger(path, exchange_id="bitstamp_paper_trade", readonly=True)
    read_balances = reader.balances

    def balances_after_another_commit() -> list[BalanceState]:
        commit(2)  # lands after load() read the counters, before it reads the balances
        return read_balances()

    monkeypatch.setattr(reader, "balances", balances_after_another_commit)
    state = reader.load()
    # Before: counters of event 1 with the balances of event 2.
    assert (state.counters, state.balances) == ((1, 0), (BalanceState("USD", D(1), D(0)),))
    monkeypatch.undo()
    assert reader.load().counters == (2, 0)  # the next load sees the later commit
    reader.close()
    writer.close()


def test_the_fund_command_refuses_a_currency_no_market_trades(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from adapters.cli import main

    path = tmp_path / "mine.sqlite3"
    # Before: exit 0 and a UDS balance in the ledger.
    assert main(["paper", "fund", "bitstamp", "UDS", "100", "--ledger", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean USD" in err
    assert main(["paper", "fund", "bitstamp", "usd", "100", "--ledger", str(path)]) == 0
    with Ledger(path, readonly=True) as ledger:
        assert [b.currency for b in ledger.balances()] == ["USD"]


@pytest.mark.parametrize("state", ["touched", "created, no schema yet"])
def test_a_reader_of_a_ledger_with_no_tables_yet_sees_an_empty_account(
    tmp_path: Path, state: str
) -> None:
    # A writer creates the file (and sets WAL) before it commits the schema; a reader in
    # between was told the ledger is damaged and to move it away.
    import sqlite3

    path = tmp_path / "new.sqlite3"
    if state == "touched":
        path.touch()
    else:
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.close()
    with Ledger(path, readonly=True) as ledger:
        assert ledger.balances() == [] and ledger.load().open_orders == ()
    with Ledger(path, exchange_id="bitstamp_paper_trade") as writer:  # the writer goes on
        writer.fund("USD", "5")
    with Ledger(path, readonly=True) as ledger:
        assert [(b.currency, b.total) for b in ledger.balances()] == [("USD", D("5"))]
