"""Issue 11, paper ledger: hostile files, shared files and bad amounts give typed errors.

Every failure of the ledger reaches the caller as a :class:`LedgerError` (the API) or as one
line and exit 1 (the command line), never as a raw ``sqlite3``/``OSError``/``decimal``
exception or a traceback; nothing is written when the input is refused.
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters import InvalidInput, OrderRequest, open_exchange
from adapters.cli import main
from adapters.enums import OrderType, Side
from adapters.paper import ledger as ledger_module
from adapters.paper.engine import BookSnapshot, Engine, MarketSpec, PlaceOrder
from adapters.paper.exchange import LedgerFailed, PaperExchange
from adapters.paper.ledger import (
    Ledger,
    LedgerBusy,
    LedgerDamaged,
    LedgerError,
    LedgerUnwritable,
)
from adapters.paper.session import DEMO_SESSION
from tests.test_paper_ledger import CHILD, ROOT

EX = "bitstamp_paper_trade"
SYM = "ETH/USD"
FAST = {"enableRateLimit": False, "timeout_on_exit": 0}
#: The account ``adapters paper demo`` uses, so the demo opens these files.
DEMO = "demo"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1 and err.startswith("adapters: error:")


# -- one writer: the lock is on the resolved file ----------------------------------------------


@pytest.mark.parametrize("first", ["file", "symlink"])
def test_a_symlink_to_an_open_ledger_is_busy_and_no_deposit_is_lost(
    tmp_path: Path, first: str
) -> None:
    real = tmp_path / "real.sqlite3"
    link = tmp_path / "link.sqlite3"
    Ledger(real, exchange_id=EX).close()
    link.symlink_to(real)
    one, other = (real, link) if first == "file" else (link, real)
    with Ledger(one, exchange_id=EX) as writer:
        writer.fund("USD", "100")
        with pytest.raises(LedgerBusy, match="in use"):
            Ledger(other, exchange_id=EX)
        writer.deposit("USD", "5")
    with Ledger(other, exchange_id=EX) as again:
        assert [(b.currency, b.total) for b in again.balances()] == [("USD", D("105"))]


def test_a_hard_link_to_a_ledger_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    real = tmp_path / "real.sqlite3"
    with Ledger(real, exchange_id=EX) as ledger:
        ledger.fund("USD", "100")
    os.link(real, tmp_path / "second-name.sqlite3")
    for name in (real, tmp_path / "second-name.sqlite3"):
        with pytest.raises(LedgerUnwritable, match="2 hard links"):
            Ledger(name, exchange_id=EX)
    assert not (tmp_path / "second-name.sqlite3-wal").exists()
    (tmp_path / "second-name.sqlite3").unlink()
    with Ledger(real, exchange_id=EX) as again:
        assert [(b.currency, b.total) for b in again.balances()] == [("USD", D("100"))]


# -- fund and deposit: validated before anything is written ------------------------------------


@pytest.mark.parametrize(
    "amount", ["Infinity", "-Infinity", "NaN", "sNaN", D("Infinity"), D("NaN"), 1.5, "١٢", None]
)
def test_ledger_fund_refuses_a_bad_amount_before_writing(amount: object) -> None:
    with Ledger(":memory:", exchange_id=EX) as ledger:
        ledger.fund("USD", "10")
        with pytest.raises(InvalidInput, match="amount"):
            ledger.fund("USD", amount)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="amount"):
            ledger.deposit("USD", amount)  # type: ignore[arg-type]
        assert ledger.deposits() == [("USD", D("10"))]
        # the account still works
        assert ledger.fund("USD", "20").total == D("20")


@pytest.mark.parametrize("currency", ["U$D", "usd\n", "", "\uff35\uff33\uff24", 5])
def test_ledger_fund_refuses_a_bad_currency_code(currency: object) -> None:
    with Ledger(":memory:", exchange_id=EX) as ledger:
        with pytest.raises(InvalidInput, match="currency"):
            ledger.fund(currency, "1")  # type: ignore[arg-type]
        assert ledger.deposits() == []


async def test_paper_fund_refuses_infinity_and_nan_and_keeps_working() -> None:
    async with open_exchange(
        "bitstamp", paper=True, ledger=":memory:", source=DEMO_SESSION, config=FAST
    ) as ex:
        assert isinstance(ex, PaperExchange)
        await ex.fund("USD", "100")
        for amount in ("Infinity", "NaN", D("Infinity"), "-1", 1.5):
            with pytest.raises(InvalidInput, match="amount"):
                await ex.fund("USD", amount)
        with pytest.raises(InvalidInput, match="amount"):
            await ex.deposit("USD", "NaN")
        assert ex.ledger.deposits() == [("USD", D("100"))]
        assert (await ex.fund("USD", "250")).total == D("250")
        assert (await ex.fetch_balance())["USD"].total == D("250")


# -- damaged and unusable files ----------------------------------------------------------------


def _ledger_with_an_order(path: Path) -> None:
    """A sound ledger of the demo account: funds and one resting order."""
    with Ledger(path, exchange_id=EX, account=DEMO) as ledger:
        ledger.fund("USD", "1000")
        engine = Engine([MarketSpec(SYM, "ETH", "USD", D("0.001"), D("0.002"))])
        state = ledger.load()
        engine.restore(
            balances=state.balances, open_orders=state.open_orders, counters=state.counters
        )
        engine.apply(BookSnapshot(SYM, [("100", "1")], [("101", "1")], 1))
        placed = engine.apply(PlaceOrder(SYM, Side.BUY, OrderType.LIMIT, D("1"), D("99"), 2))
        ledger.record(placed, engine.counters)


def _edit(path: Path, sql: str) -> None:
    _ledger_with_an_order(path)
    db = sqlite3.connect(path)
    with db:
        db.execute(sql)
    db.close()


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database, just text\n" * 200)


def _truncated(path: Path) -> None:
    _ledger_with_an_order(path)
    data = path.read_bytes()
    assert len(data) >= 8192, "a ledger spans several pages"
    path.write_bytes(data[: len(data) // 2])


def _directory(path: Path) -> None:
    path.mkdir()


def _another_programs_database(path: Path) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE meta (name TEXT, size INTEGER)")
        db.execute("CREATE TABLE orders (sku TEXT, quantity INTEGER)")
    db.close()


DAMAGE: dict[str, tuple[Callable[[Path], None], type[LedgerError]]] = {
    "garbage": (_garbage, LedgerDamaged),
    "truncated": (_truncated, LedgerDamaged),
    "a directory": (_directory, LedgerUnwritable),
    "another program's database": (_another_programs_database, LedgerDamaged),
    "non-numeric total": (
        lambda p: _edit(p, "UPDATE balances SET total = 'lots' WHERE currency = 'USD'"),
        LedgerDamaged,
    ),
    "total stored as Infinity": (
        lambda p: _edit(p, "UPDATE balances SET total = 'Infinity' WHERE currency = 'USD'"),
        LedgerDamaged,
    ),
    "unknown side": (lambda p: _edit(p, "UPDATE orders SET side = 'sideways'"), LedgerDamaged),
    "unknown status": (lambda p: _edit(p, "UPDATE orders SET status = 'exploded'"), LedgerDamaged),
    "non-numeric counter": (
        lambda p: _edit(p, "UPDATE meta SET value = 'x' WHERE key = 'order_seq'"),
        LedgerDamaged,
    ),
}


#: Damage only a restart reads (open orders, id counters): the demo, not ``balances``.
RESTORE_ONLY = {"unknown side", "unknown status", "non-numeric counter"}


@pytest.mark.parametrize("kind", list(DAMAGE))
async def test_a_damaged_ledger_raises_a_typed_error_from_the_api(
    tmp_path: Path, kind: str
) -> None:
    make, expected = DAMAGE[kind]
    path = tmp_path / "ledger.sqlite3"
    make(path)
    with pytest.raises(expected) as caught:
        ex = open_exchange(
            "bitstamp", paper=True, ledger=path, account=DEMO, source=DEMO_SESSION, config=FAST
        )
        async with ex:
            await ex.fetch_balance()
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_ledger_gives_one_line_from_the_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    make, _ = DAMAGE[kind]
    path = tmp_path / "ledger.sqlite3"
    make(path)
    for argv in (
        ["paper", "demo", "--quiet", "--ledger", str(path)],
        ["paper", "balances", "bitstamp", "--account", DEMO, "--ledger", str(path)],
        ["paper", "fund", "bitstamp", "USD", "2000", "--account", DEMO, "--ledger", str(path)],
    ):
        code, out, err = run(capsys, *argv)
        if kind in RESTORE_ONLY and argv[1] != "demo":
            # balances and fund never read the orders or the counters
            assert code == 0, err
            continue
        assert code == 1, (argv, out, err)
        assert one_line(err) and str(path) in err, (argv, err)


def test_an_unknown_status_is_damage_when_the_order_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    _edit(path, "UPDATE orders SET status = 'exploded'")
    with Ledger(path, exchange_id=EX, account=DEMO) as ledger:
        with pytest.raises(LedgerDamaged, match="exploded"):
            ledger.orders()
        with pytest.raises(LedgerDamaged, match="exploded"):
            ledger.order("P1")


def _read_only_connect(
    monkeypatch: pytest.MonkeyPatch, path: Path
) -> Callable[[str], sqlite3.Connection]:
    """Make ``path`` read-only. chmod does not stop root, so under root the ledger's own
    connection is opened as SQLite opens a file it may not write (``mode=ro``)."""
    real = ledger_module._connect
    if os.geteuid() != 0:
        path.chmod(0o444)
        return real

    def connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
        if target != ":memory:" and not uri:
            return real(Path(target).as_uri() + "?mode=ro", uri=True)
        return real(target, uri=uri)

    monkeypatch.setattr(ledger_module, "_connect", connect)
    return connect


def test_a_read_only_ledger_refuses_writes_with_a_typed_error_and_still_reads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite3"
    _ledger_with_an_order(path)
    _read_only_connect(monkeypatch, path)
    with pytest.raises(LedgerUnwritable, match="read-only"):
        Ledger(path, exchange_id=EX, account=DEMO)
    code, _, err = run(capsys, "paper", "demo", "--quiet", "--ledger", str(path))
    assert code == 1 and one_line(err) and "read-only" in err
    code, out, err = run(capsys, "paper", "balances", "bitstamp", "--account", DEMO,
                         "--ledger", str(path), "--json")  # fmt: skip
    # 1000 USD, 99.198 of it locked by the resting buy: 1 @ 99 plus the higher (taker) fee
    # of 0.2% it might pay (--json: the ledger's exact values; the table rounds to cents)
    assert code == 0 and '"900.802"' in out and '"99.198"' in out, err


def _full_disk() -> None:
    # Any write beyond 0 bytes fails with EFBIG, as writes fail on a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


API_ON_A_FULL_DISK = """
import sys
from adapters.paper.ledger import Ledger, LedgerError
try:
    Ledger(sys.argv[1], exchange_id="bitstamp_paper_trade")
except LedgerError as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE")
def test_a_full_disk_at_open_is_one_line_and_a_typed_error(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    path = tmp_path / "new.sqlite3"
    for argv in (
        ["-m", "adapters", "paper", "demo", "--quiet", "--ledger", str(path)],
        ["-m", "adapters", "paper", "fund", "bitstamp", "USD", "5", "--ledger", str(path)],
    ):
        done = subprocess.run(
            [sys.executable, *argv],
            preexec_fn=_full_disk,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        assert one_line(done.stderr) and str(path) in done.stderr, done.stderr
    done = subprocess.run(
        [sys.executable, "-c", API_ON_A_FULL_DISK, str(path)],
        preexec_fn=_full_disk,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.stdout.startswith("LedgerUnwritable "), (done.stdout, done.stderr)


# -- initial deposits: all or none -------------------------------------------------------------


async def test_a_crash_between_the_initial_deposits_leaves_no_half_funded_account(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path, exchange_id=EX).close()
    db = sqlite3.connect(path)
    with db:
        # The second deposit fails, as a crash after the first one would leave it.
        db.execute(
            "CREATE TRIGGER crash BEFORE INSERT ON deposits WHEN NEW.currency = 'ETH' "
            "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
        )
    db.close()
    balances = {"USD": "1000", "ETH": "2"}

    def paper() -> PaperExchange:
        ex = open_exchange(
            "bitstamp",
            paper=True,
            ledger=path,
            source=DEMO_SESSION,
            config=FAST,
            initial_balances=balances,
        )
        assert isinstance(ex, PaperExchange)
        return ex

    with pytest.raises(LedgerError, match="simulated crash"):
        async with paper():
            pass
    with Ledger(path, exchange_id=EX) as ledger:
        assert ledger.deposits() == [] and ledger.balances() == []
    db = sqlite3.connect(path)
    with db:
        db.execute("DROP TRIGGER crash")
    db.close()
    async with paper() as ex:
        funded = await ex.fetch_balance()
        assert (funded["USD"].total, funded["ETH"].total) == (D("1000"), D("2"))


# -- readers need no writer lock ---------------------------------------------------------------


def test_balances_and_fills_read_while_a_writer_holds_the_ledger(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path, exchange_id=EX) as writer:
        writer.fund("USD", "42")
        code, out, err = run(capsys, "paper", "balances", "bitstamp", "--ledger", str(path))
        assert code == 0 and "42" in out, err
        code, out, err = run(capsys, "paper", "fills", "bitstamp", "--ledger", str(path),
                             "--csv", "-")  # fmt: skip
        assert code == 0 and out.startswith("seq,id,order_id"), err
        # the writer is still the one writer
        code, _, err = run(capsys, "paper", "fund", "bitstamp", "USD", "1", "--ledger", str(path))
        assert code == 1 and "in use" in err
        writer.fund("USD", "43")


def test_a_reader_of_a_missing_ledger_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "none.sqlite3"
    code, out, _ = run(capsys, "paper", "balances", "bitstamp", "--ledger", str(path))
    assert code == 0 and "no balances" in out
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with (
        Ledger(path, exchange_id=EX, readonly=True) as ledger,
        pytest.raises(LedgerError, match="read-only"),
    ):
        ledger.fund("USD", "1")


def test_balances_while_another_process_writes_never_gets_busy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "100000"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert writer.stdout is not None
    written: list[str] = []
    try:
        assert writer.stdout.readline().strip(), "the writer commits its first fill"
        # Keep its pipe drained so it never blocks: it writes throughout the reads.
        drain = threading.Thread(target=lambda: written.extend(writer.stdout or ()), daemon=True)
        drain.start()
        for _ in range(20):
            code, out, err = run(capsys, "paper", "balances", "bitstamp", "--ledger", str(path))
            assert code == 0 and "USD" in out, err
            assert writer.poll() is None, "the writer is still writing"
    finally:
        writer.kill()
        writer.wait(timeout=10)
    drain.join(timeout=10)
    assert len(written) > 0


def test_the_ledger_and_its_input_checks_load_without_pydantic_or_ccxt() -> None:
    # adapters.paper promises the durability tests and benchmarks a light ledger.
    code = (
        "import sys, adapters.paper.ledger, adapters.paper.engine; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ccxt', 'pydantic')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stderr


async def test_a_fund_the_ledger_refuses_leaves_the_account_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    async with open_exchange(
        "bitstamp", paper=True, ledger=path, source=DEMO_SESSION, config=FAST
    ) as ex:
        assert isinstance(ex, PaperExchange)
        await ex.fund("USD", "100")
        # Another connection makes every later deposit fail inside the ledger's transaction.
        db = sqlite3.connect(path)
        with db:
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON deposits "
                "BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END"
            )
        db.close()
        with pytest.raises(LedgerError, match="simulated write failure"):
            await ex.fund("USD", "500")
        with pytest.raises(LedgerError, match="simulated write failure"):
            await ex.deposit("USD", "7")
        assert (await ex.fetch_balance())["USD"].total == D("100")
        assert ex.ledger.balances()[0].total == D("100")


async def test_a_ledger_write_failing_mid_run_stops_the_account_with_a_typed_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    async with open_exchange(
        "bitstamp",
        paper=True,
        ledger=path,
        source=DEMO_SESSION,
        config=FAST,
        initial_balances={"USD": "10000"},
    ) as ex:
        assert isinstance(ex, PaperExchange)
        db = sqlite3.connect(path)
        with db:
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON orders "
                "BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END"
            )
        db.close()
        request = OrderRequest(symbol=SYM, side="buy", type="limit", amount="0.5", price="100")
        with pytest.raises(LedgerFailed, match="simulated write failure") as caught:
            await ex.create_order(request)
        assert isinstance(caught.value, LedgerError)
        with pytest.raises(LedgerFailed):
            await ex.fund("USD", "1")
    with Ledger(path, exchange_id=EX) as ledger:
        assert ledger.orders() == []
