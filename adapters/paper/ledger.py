"""The paper account's ledger: orders, fills, balances and deposits in SQLite.

One file per exchange and account under the user's state directory (XDG: for example
``~/.local/state/adapters/paper/bitstamp_paper_trade-default.sqlite3``), or ``:memory:`` for a
throwaway run. The database runs in WAL mode and every engine event is written in one
transaction (:meth:`Ledger.record`), so a crash, even SIGKILL, leaves the state of the last
committed event: never a fill without its balance change or the other way round.

Money is stored as decimal text, never as SQLite REAL.

Every failure is a :class:`LedgerError`: a file that is not a ledger, or whose rows do not
parse, raises :class:`LedgerDamaged`; one that cannot be opened or written (a directory,
read-only, a full disk) :class:`LedgerUnwritable`; never a raw ``sqlite3`` or ``OSError``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

from ..enums import OrderStatus
from ..errors import AdapterError, InsufficientFunds, InvalidInput
from ..inputs import parse_currency, parse_decimal
from . import ledger_rows as codec
from .engine import BalanceState, EngineResult, FillRecord, OrderState

__all__ = [
    "ACCOUNT_MAX_BYTES",
    "FILL_CSV_COLUMNS",
    "MEMORY",
    "Ledger",
    "LedgerBusy",
    "LedgerDamaged",
    "LedgerError",
    "LedgerMismatch",
    "LedgerState",
    "LedgerUnwritable",
    "check_account",
    "default_path",
]

MEMORY = ":memory:"
SCHEMA_VERSION = "1"

FILL_CSV_COLUMNS = (
    "seq",
    "id",
    "order_id",
    "client_order_id",
    "symbol",
    "side",
    "price",
    "amount",
    "cost",
    "fee",
    "fee_currency",
    "liquidity",
    "timestamp",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (
    currency TEXT PRIMARY KEY, total TEXT NOT NULL, locked TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deposits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, currency TEXT NOT NULL, amount TEXT NOT NULL,
    note TEXT
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, client_order_id TEXT, symbol TEXT NOT NULL, side TEXT NOT NULL,
    type TEXT NOT NULL, status TEXT NOT NULL, price TEXT, amount TEXT NOT NULL,
    filled TEXT NOT NULL, cost TEXT NOT NULL, fee TEXT NOT NULL, fee_currency TEXT NOT NULL,
    created INTEGER NOT NULL, updated INTEGER NOT NULL, reason TEXT, locked TEXT NOT NULL,
    queue_ahead TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_open ON orders(status);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL,
    client_order_id TEXT, symbol TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL,
    amount TEXT NOT NULL, cost TEXT NOT NULL, fee TEXT NOT NULL, fee_currency TEXT NOT NULL,
    liquidity TEXT NOT NULL, timestamp INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_order ON fills(order_id);
"""

_OPEN = tuple(s.value for s in OrderStatus if not s.is_final)
# Named, not "*": a table with other columns fails as damaged instead of misreading.
_ORDER_COLUMNS = (
    "id, client_order_id, symbol, side, type, status, price, amount, filled, cost, fee, "
    "fee_currency, created, updated, reason, locked, queue_ahead"
)
_FILL_COLUMNS = ", ".join(FILL_CSV_COLUMNS)


class LedgerError(AdapterError):
    """The paper ledger cannot be used; the message names the file and the reason."""


class LedgerBusy(LedgerError):
    """Another open ledger (in this or another process) holds this account's file."""


class LedgerMismatch(LedgerError):
    """The ledger file belongs to another exchange or account, or has an unknown schema."""


class LedgerDamaged(LedgerError):
    """The file is not a paper ledger this version reads: not SQLite, truncated, another
    schema, or a row whose values do not parse (a non-numeric total, an unknown status)."""


class LedgerUnwritable(LedgerError):
    """The ledger file cannot be opened or written: a directory, read-only, no space left."""


def _take_lock(path: Path) -> IO[bytes] | None:
    """Hold an exclusive lock on ``<ledger>.lock`` while the ledger is open.

    One writer per account: a second engine (or ``adapters paper fund`` while a paper
    exchange runs) would write balances the first one does not know about, and one of them
    would later overwrite the other's rows. ``path`` is the resolved file, so a symlink to
    the ledger takes the same lock. Where ``fcntl`` is missing (Windows) there is no lock.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    handle = open(path.with_name(path.name + ".lock"), "wb")  # noqa: SIM115 - held open
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise LedgerBusy(
            f"ledger {path} is in use by another paper exchange or command; close it first"
        ) from None
    return handle


# SQLite's primary result codes (https://www.sqlite.org/rescode.html).
_SQLITE_ERROR, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 1, 5, 6, 11, 26
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 3, 8, 10, 13, 14


def _translate(exc: BaseException, path: str, doing: str) -> LedgerError:
    """The typed error for a failure while ``doing`` something with the ledger at ``path``."""
    where = f"ledger {path}: cannot {doing}"
    if isinstance(exc, codec.BadValue):
        return LedgerDamaged(
            f"{where}: it is damaged ({exc}); restore it from a backup or move it away "
            "to start the account over"
        )
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return LedgerBusy(f"{where}: it is in use by another process ({exc})")
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB, _SQLITE_ERROR):
            # SQLITE_ERROR here is a missing table or column: another program's database.
            return LedgerDamaged(
                f"{where}: it is not a paper ledger or is damaged ({exc}); move it away to "
                "start the account over, or pass another ledger path"
            )
        if code == _SQLITE_READONLY:
            return LedgerUnwritable(f"{where}: the file is read-only ({exc})")
        if code == _SQLITE_FULL:
            return LedgerUnwritable(f"{where}: no space left on the device ({exc})")
        if code == _SQLITE_IOERR:
            # A full disk or a file size limit often reaches SQLite as a failed write.
            return LedgerUnwritable(f"{where}: {exc} (check the free space and the device)")
        if code in (_SQLITE_PERM, _SQLITE_CANTOPEN):
            return LedgerUnwritable(f"{where}: {exc}")
        # A constraint the event breaks (a fill id written twice): the ledger and the engine
        # disagree; the transaction was rolled back.
        return LedgerError(f"{where}: {exc}")
    if isinstance(exc, OSError):
        return LedgerUnwritable(f"{where}: {exc.strerror or exc}")
    return LedgerError(f"{where}: {exc!r}")


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What a restart needs: balances, open orders and the id counters."""

    balances: tuple[BalanceState, ...]
    open_orders: tuple[OrderState, ...]
    counters: tuple[int, int]


#: An account name becomes part of a file name (``<exchange>-<account>.sqlite3``).
ACCOUNT_MAX_BYTES = 128


def check_account(account: Any) -> str:
    """An account name: printable text (any script) without path separators, no blank
    ends, at most :data:`ACCOUNT_MAX_BYTES` bytes in UTF-8; raises :class:`InvalidInput`.
    """
    if (
        not isinstance(account, str)
        or not account.strip(". ")
        or account != account.strip()
        or not account.isprintable()
        or "/" in account
        or "\\" in account
        or len(account.encode("utf-8")) > ACCOUNT_MAX_BYTES
    ):
        shown = repr(account) if len(repr(account)) <= 40 else f"{repr(account)[:37]}..."
        raise InvalidInput(
            f"account={shown} is not an account name: use printable text without '/' or "
            f"'\\' and without blank ends, at most {ACCOUNT_MAX_BYTES} bytes, like 'default' "
            "or 'alice'"
        )
    return account


def default_path(exchange_id: str, account: str = "default") -> Path:
    """``<user state dir>/paper/<exchange>-<account>.sqlite3`` (XDG on Linux)."""
    from platformdirs import user_state_dir

    check_account(account)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in account)
    return Path(user_state_dir("adapters")) / "paper" / f"{exchange_id}-{safe}.sqlite3"


class Ledger:
    """A paper account's durable state. Use as a context manager or call :meth:`close`.

    ``path`` is a file path or ``":memory:"``. ``exchange_id`` and ``account`` are written
    into a new file and checked when an existing one is opened. ``synchronous`` is SQLite's
    setting: ``NORMAL`` (the default) survives a killed process, ``FULL`` also a power cut.

    ``readonly=True`` opens the file for reading only and without the writer's lock: WAL
    lets it read committed state while a paper exchange writes (``adapters paper balances``
    during a demo). A file that does not exist yet reads as an empty account and is not
    created. Every failure is a :class:`LedgerError`.
    """

    def __init__(
        self,
        path: str | Path = MEMORY,
        *,
        exchange_id: str | None = None,
        account: str = "default",
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        readonly: bool = False,
    ) -> None:
        check_account(account)
        self.path = str(path)
        self.readonly = readonly
        self._lock: IO[bytes] | None = None
        try:
            with self._guard("open it"):
                self._db, on_file = self._connect()
                try:
                    self._prepare(exchange_id, account, synchronous, on_file)
                except BaseException:
                    self._db.close()
                    raise
        except BaseException:
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            raise

    def _connect(self) -> tuple[sqlite3.Connection, bool]:
        """The connection, and whether it reads a file read-only (nothing to create)."""
        if self.path == MEMORY:
            return _connect(MEMORY), False
        # The resolved file ("~" expanded): a symlink to a ledger takes that ledger's lock,
        # and SQLite's -wal/-shm files sit next to the real file.
        target = Path(self.path).expanduser().resolve()
        if target.is_dir():
            raise LedgerUnwritable(f"ledger {self.path} is a directory; pass a file path")
        if self.readonly:
            if not target.exists():
                return _connect(MEMORY), False
            db = _connect(target.as_uri() + "?mode=ro", uri=True)
            # No table at all: a writer has created the file and not yet committed the
            # schema (or it was just touched); like a missing file, an empty account.
            if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                db.close()
                return _connect(MEMORY), False
            return db, True
        # SQLite keeps its -wal and -shm files beside the name it was opened by, so two hard
        # links to one ledger would give two writers two journals and a corrupt file; the
        # lock (taken by name) could not see the second name either.
        if target.exists() and target.stat().st_nlink > 1:
            raise LedgerUnwritable(
                f"ledger {self.path} has {target.stat().st_nlink} hard links; SQLite needs one "
                "name per database: remove the extra links (a symlink is fine)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _take_lock(target)
        return _connect(str(target)), False

    def _prepare(
        self,
        exchange_id: str | None,
        account: str,
        synchronous: Literal["NORMAL", "FULL"],
        read_only_file: bool,
    ) -> None:
        if read_only_file:
            self._check_meta(self._meta(), exchange_id, account)
        else:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._tx():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                meta = self._meta()
                if not meta:
                    self._set_meta(
                        schema=SCHEMA_VERSION,
                        exchange=exchange_id or "",
                        account=account,
                        order_seq="0",
                        fill_seq="0",
                    )
                else:
                    self._check_meta(meta, exchange_id, account)
                    # A real write: a read-only file fails here, at open, rather than at
                    # the first order.
                    self._set_meta(schema=SCHEMA_VERSION)
        meta = self._meta()
        self.exchange_id = meta.get("exchange") or exchange_id or ""
        self.account = meta.get("account", account)

    @classmethod
    def open_default(
        cls, exchange_id: str, account: str = "default", *, readonly: bool = False
    ) -> Ledger:
        """The ledger at :func:`default_path` for this exchange and account."""
        return cls(
            default_path(exchange_id, account),
            exchange_id=exchange_id,
            account=account,
            readonly=readonly,
        )

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database and let another process open it (idempotent)."""
        self._db.close()
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def __repr__(self) -> str:
        mode = " read-only" if self.readonly else ""
        return f"<Ledger {self.path}{mode} {self.exchange_id}/{self.account}>"

    # -- writing ------------------------------------------------------------------------------

    def record(self, result: EngineResult, counters: tuple[int, int]) -> None:
        """Write what one engine event changed, in one transaction."""
        if not result:
            return
        with self._guard("record an event"), self._write():
            db = self._db
            if result.orders:
                db.executemany(
                    "INSERT OR REPLACE INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [codec.order_row(o) for o in result.orders],
                )
            if result.fills:
                db.executemany(
                    "INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [codec.fill_row(f) for f in result.fills],
                )
            if result.balances:
                db.executemany(
                    "INSERT OR REPLACE INTO balances VALUES (?,?,?)",
                    [(b.currency, str(b.total), str(b.locked)) for b in result.balances],
                )
            self._set_meta(order_seq=str(counters[0]), fill_seq=str(counters[1]))

    def deposit(
        self, currency: str, amount: Decimal | str | int, note: str | None = None
    ) -> BalanceState:
        """Add ``amount`` of ``currency`` (negative takes it out, down to the free balance).

        Raises :class:`~adapters.errors.InvalidInput` for a bad code or amount (nothing is
        written) and :class:`InsufficientFunds` when the free balance is too small.
        """
        cur = parse_currency(currency)
        change = parse_decimal(amount, "amount", sign="any")
        with self._guard(f"deposit {cur}"), self._write():
            return self._deposit(cur, change, note)

    def fund(self, currency: str, amount: Decimal | str | int) -> BalanceState:
        """Set ``currency``'s total to ``amount`` (recorded as the deposit of the difference).

        Raises :class:`~adapters.errors.InvalidInput` for a bad code or amount (nothing is
        written) and :class:`InsufficientFunds` below what open orders lock.
        """
        cur = parse_currency(currency)
        total = parse_decimal(amount, "amount", sign="non-negative")
        with self._guard(f"fund {cur}"), self._write():
            return self._deposit(cur, total - self._balance(cur).total, "fund")

    def fund_new_account(
        self, balances: Mapping[str, Decimal | str | int], note: str = "initial balance"
    ) -> bool:
        """Deposit ``balances`` if the account has never had a deposit; True if it did.

        All of them in one transaction: a crash half-way leaves no deposit, so the next
        start funds the account again instead of leaving it half-funded for good.
        """
        checked = [
            (parse_currency(c), parse_decimal(a, f"initial balance of {c}", sign="non-negative"))
            for c, a in balances.items()
        ]
        with self._guard("fund the new account"), self._write():
            if self._db.execute("SELECT 1 FROM deposits LIMIT 1").fetchone() is not None:
                return False
            for cur, amount in checked:
                self._deposit(cur, amount, note)
        return True

    def reset(self) -> None:
        """Start over: no orders, fills, balances or deposits; counters back to zero."""
        with self._guard("reset it"), self._write():
            for table in ("orders", "fills", "balances", "deposits"):
                self._db.execute(f"DELETE FROM {table}")
            self._set_meta(order_seq="0", fill_seq="0")

    # -- reading ------------------------------------------------------------------------------

    def load(self) -> LedgerState:
        """Balances, open orders and counters, as a restart needs them: one committed state,
        even while another process writes (a read-only ledger beside a running exchange)."""
        with self.snapshot(), self._guard("read its state"):
            meta = self._meta()
            counters = (codec.count(meta, "order_seq"), codec.count(meta, "fill_seq"))
            # An order whose status is unknown is neither open nor final: a restart would
            # silently drop it. The statuses are indexed, so this reads no order row.
            for (status,) in self._db.execute("SELECT DISTINCT status FROM orders"):
                codec.member(OrderStatus, status, "orders.status")
            return LedgerState(
                balances=tuple(self.balances()),
                open_orders=tuple(self.orders(open_only=True)),
                counters=counters,
            )

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees one committed state (one SQLite read transaction), though
        another process commits meanwhile; without it each read sees the latest commit."""
        if self._db.in_transaction:  # already inside one
            yield
            return
        with self._guard("read it"):
            self._db.execute("BEGIN")
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):  # nothing was written: nothing to lose
                self._db.execute("COMMIT")

    def balances(self) -> list[BalanceState]:
        """Every currency's balance, sorted by code."""
        with self._guard("read its balances"):
            rows = self._db.execute(
                "SELECT currency, total, locked FROM balances ORDER BY currency"
            ).fetchall()
            return [
                BalanceState(
                    c,
                    codec.num(t, f"balances.total of {c}"),
                    codec.num(lk, f"balances.locked of {c}"),
                )
                for c, t, lk in rows
            ]

    def deposits(self) -> list[tuple[str, Decimal]]:
        """Every deposit (and fund/withdrawal) as ``(currency, amount)``, oldest first."""
        with self._guard("read its deposits"):
            rows = self._db.execute("SELECT currency, amount FROM deposits ORDER BY seq")
            return [(c, codec.num(a, "deposits.amount")) for c, a in rows]

    def order(self, order_id: str) -> OrderState | None:
        """One order by id, or None."""
        with self._guard("read an order"):
            row = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)
            ).fetchone()
            return None if row is None else codec.order_from_row(row)

    def order_by_client_id(self, client_order_id: str) -> OrderState | None:
        """The latest order with this client order id, or None."""
        with self._guard("read an order"):
            row = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE client_order_id = ? "
                "ORDER BY created DESC, rowid DESC",
                (client_order_id,),
            ).fetchone()
            return None if row is None else codec.order_from_row(row)

    def orders(self, *, open_only: bool = False, symbol: str | None = None) -> list[OrderState]:
        """Orders, oldest first (by creation time, then by id number)."""
        sql = f"SELECT {_ORDER_COLUMNS} FROM orders"
        where: list[str] = []
        args: list[Any] = []
        if open_only:
            where.append(f"status IN ({','.join('?' * len(_OPEN))})")
            args.extend(_OPEN)
        if symbol is not None:
            where.append("symbol = ?")
            args.append(symbol)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created, length(id), id"
        with self._guard("read its orders"):
            return [codec.order_from_row(r) for r in self._db.execute(sql, args)]

    def fills(
        self,
        symbol: str | None = None,
        *,
        since: int | None = None,
        limit: int | None = None,
        order_id: str | None = None,
    ) -> list[FillRecord]:
        """Fills in the order they happened; ``limit`` keeps the most recent ones."""
        sql = f"SELECT {_FILL_COLUMNS} FROM fills"
        where: list[str] = []
        args: list[Any] = []
        for column, op, value in (
            ("symbol", "=", symbol),
            ("timestamp", ">=", since),
            ("order_id", "=", order_id),
        ):
            if value is not None:
                where.append(f"{column} {op} ?")
                args.append(value)
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._guard("read its fills"):
            rows = [codec.fill_from_row(r) for r in self._db.execute(sql + " ORDER BY seq", args)]
        return rows[-limit:] if limit else rows

    def iter_fills(self) -> Iterator[FillRecord]:
        """Every fill, oldest first, without loading them all at once."""
        with self._guard("read its fills"):
            for row in self._db.execute(f"SELECT {_FILL_COLUMNS} FROM fills ORDER BY seq"):
                yield codec.fill_from_row(row)

    def export_fills_csv(self, target: str | Path | IO[str]) -> int:
        """Write every fill as CSV (header :data:`FILL_CSV_COLUMNS`); returns the row count.

        A ledger that cannot be read raises :class:`LedgerError`; a ``target`` that cannot
        be written raises its ``OSError``.
        """
        if isinstance(target, str | Path):
            with open(target, "w", newline="", encoding="utf-8") as handle:
                return self._write_csv(handle)
        return self._write_csv(target)

    def fills_csv(self) -> str:
        """Every fill as CSV text."""
        buffer = io.StringIO()
        self._write_csv(buffer)
        return buffer.getvalue()

    def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check`` answer (``"ok"`` when sound)."""
        with self._guard("check it"):
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # -- plumbing -----------------------------------------------------------------------------

    def _write_csv(self, handle: IO[str]) -> int:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FILL_CSV_COLUMNS)
        count = 0
        for fill in self.iter_fills():
            writer.writerow(codec.fill_row(fill))
            count += 1
        return count

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn SQLite, OS and row-parsing failures into the typed :class:`LedgerError`."""
        try:
            yield
        except (sqlite3.Error, OSError, codec.BadValue) as exc:
            raise _translate(exc, self.path, doing) from exc

    @contextmanager
    def _write(self) -> Iterator[None]:
        if self.readonly:
            raise LedgerError(f"ledger {self.path} was opened read-only; nothing was written")
        with self._tx():
            yield

    @contextmanager
    def _tx(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            # SQLite rolls some failures (a full disk, I/O errors) back by itself.
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise

    def _deposit(self, cur: str, amount: Decimal, note: str | None) -> BalanceState:
        """Inside a transaction: change ``cur``'s total by ``amount`` and record it."""
        current = self._balance(cur)
        total = current.total + amount
        if total < current.locked:
            raise InsufficientFunds(f"cannot take {-amount} {cur} out: only {current.free} is free")
        self._db.execute(
            "INSERT OR REPLACE INTO balances VALUES (?,?,?)",
            (cur, str(total), str(current.locked)),
        )
        self._db.execute(
            "INSERT INTO deposits (currency, amount, note) VALUES (?,?,?)",
            (cur, str(amount), note),
        )
        return BalanceState(cur, total, current.locked)

    def _meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def _set_meta(self, **values: str) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items())
        )

    def _check_meta(self, meta: dict[str, str], exchange_id: str | None, account: str) -> None:
        if meta.get("schema") != SCHEMA_VERSION:
            raise LedgerMismatch(
                f"ledger {self.path} has schema {meta.get('schema')!r}; "
                f"this version reads schema {SCHEMA_VERSION}"
            )
        stored = meta.get("exchange") or None
        if exchange_id and stored and stored != exchange_id:
            raise LedgerMismatch(
                f"ledger {self.path} belongs to {stored}, not {exchange_id}; "
                "pass another ledger path"
            )
        if exchange_id and not stored and not self.readonly:
            self._set_meta(exchange=exchange_id)
        if meta.get("account", account) != account:
            raise LedgerMismatch(
                f"ledger {self.path} belongs to account {meta.get('account')!r}, not {account!r}"
            )

    def _balance(self, currency: str) -> BalanceState:
        row = self._db.execute(
            "SELECT total, locked FROM balances WHERE currency = ?", (currency,)
        ).fetchone()
        if row is None:
            return BalanceState(currency, Decimal(0), Decimal(0))
        return BalanceState(
            currency,
            codec.num(row[0], f"balances.total of {currency}"),
            codec.num(row[1], f"balances.locked of {currency}"),
        )


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    # isolation_level=None: transactions are opened explicitly, one per event.
    return sqlite3.connect(target, isolation_level=None, check_same_thread=False, uri=uri)
