"""The paper account's ledger: orders, fills, balances and deposits in SQLite.

One file per exchange and account under the user's state directory (XDG: for example
``~/.local/state/adapters/paper/bitstamp_paper_trade-default.sqlite3``), or ``:memory:`` for a
throwaway run. The database runs in WAL mode and every engine event is written in one
transaction (:meth:`Ledger.record`), so a crash, even SIGKILL, leaves the state of the last
committed event: never a fill without its balance change or the other way round.

Money is stored as decimal text, never as SQLite REAL.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

from ..enums import OrderStatus, OrderType, Side
from ..errors import AdapterError, InsufficientFunds
from .engine import BalanceState, EngineResult, FillRecord, Liquidity, OrderState

__all__ = [
    "FILL_CSV_COLUMNS",
    "MEMORY",
    "Ledger",
    "LedgerBusy",
    "LedgerMismatch",
    "LedgerState",
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


class LedgerBusy(AdapterError):
    """Another open ledger (in this or another process) holds this account's file."""


def _take_lock(path: Path) -> IO[bytes] | None:
    """Hold an exclusive lock on ``<ledger>.lock`` while the ledger is open.

    One writer per account: a second engine (or ``adapters paper fund`` while a paper
    exchange runs) would write balances the first one does not know about, and one of them
    would later overwrite the other's rows. Where ``fcntl`` is missing (Windows) there is no
    lock.
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


class LedgerMismatch(AdapterError):
    """The ledger file belongs to another exchange or account, or has an unknown schema."""


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What a restart needs: balances, open orders and the id counters."""

    balances: tuple[BalanceState, ...]
    open_orders: tuple[OrderState, ...]
    counters: tuple[int, int]


def default_path(exchange_id: str, account: str = "default") -> Path:
    """``<user state dir>/paper/<exchange>-<account>.sqlite3`` (XDG on Linux)."""
    from platformdirs import user_state_dir

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in account) or "default"
    return Path(user_state_dir("adapters")) / "paper" / f"{exchange_id}-{safe}.sqlite3"


class Ledger:
    """A paper account's durable state. Use as a context manager or call :meth:`close`.

    ``path`` is a file path or ``":memory:"``. ``exchange_id`` and ``account`` are written
    into a new file and checked when an existing one is opened. ``synchronous`` is SQLite's
    setting: ``NORMAL`` (the default) survives a killed process, ``FULL`` also a power cut.
    """

    def __init__(
        self,
        path: str | Path = MEMORY,
        *,
        exchange_id: str | None = None,
        account: str = "default",
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    ) -> None:
        self.path = str(path)
        self._lock: IO[bytes] | None = None
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = _take_lock(Path(self.path))
        try:
            self._open(exchange_id, account, synchronous)
        except BaseException:
            if self._lock is not None:
                self._lock.close()
            raise

    def _open(
        self, exchange_id: str | None, account: str, synchronous: Literal["NORMAL", "FULL"]
    ) -> None:
        # isolation_level=None: transactions are opened explicitly, one per event.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._prepare(exchange_id, account, synchronous)
        except BaseException:
            self._db.close()
            raise

    def _prepare(
        self, exchange_id: str | None, account: str, synchronous: Literal["NORMAL", "FULL"]
    ) -> None:
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
        self.exchange_id = self._meta().get("exchange") or exchange_id or ""
        self.account = self._meta().get("account", account)

    @classmethod
    def open_default(cls, exchange_id: str, account: str = "default") -> Ledger:
        """The ledger at :func:`default_path` for this exchange and account."""
        return cls(default_path(exchange_id, account), exchange_id=exchange_id, account=account)

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
        return f"<Ledger {self.path} {self.exchange_id}/{self.account}>"

    # -- writing ------------------------------------------------------------------------------

    def record(self, result: EngineResult, counters: tuple[int, int]) -> None:
        """Write what one engine event changed, in one transaction."""
        if not result:
            return
        with self._tx():
            db = self._db
            if result.orders:
                db.executemany(
                    "INSERT OR REPLACE INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [_order_row(o) for o in result.orders],
                )
            if result.fills:
                db.executemany(
                    "INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [_fill_row(f) for f in result.fills],
                )
            if result.balances:
                db.executemany(
                    "INSERT OR REPLACE INTO balances VALUES (?,?,?)",
                    [(b.currency, str(b.total), str(b.locked)) for b in result.balances],
                )
            self._set_meta(order_seq=str(counters[0]), fill_seq=str(counters[1]))

    def deposit(self, currency: str, amount: Decimal, note: str | None = None) -> BalanceState:
        """Add ``amount`` of ``currency`` (negative takes it out, down to the free balance)."""
        cur = currency.upper()
        with self._tx():
            current = self._balance(cur)
            total = current.total + amount
            if total < current.locked:
                raise InsufficientFunds(
                    f"cannot take {-amount} {cur} out: only {current.free} is free"
                )
            self._db.execute(
                "INSERT OR REPLACE INTO balances VALUES (?,?,?)",
                (cur, str(total), str(current.locked)),
            )
            self._db.execute(
                "INSERT INTO deposits (currency, amount, note) VALUES (?,?,?)",
                (cur, str(amount), note),
            )
        return BalanceState(cur, total, current.locked)

    def fund(self, currency: str, amount: Decimal) -> BalanceState:
        """Set ``currency``'s total to ``amount`` (recorded as the deposit of the difference)."""
        cur = currency.upper()
        return self.deposit(cur, amount - self._balance(cur).total, note="fund")

    def reset(self) -> None:
        """Start over: no orders, fills, balances or deposits; counters back to zero."""
        with self._tx():
            for table in ("orders", "fills", "balances", "deposits"):
                self._db.execute(f"DELETE FROM {table}")
            self._set_meta(order_seq="0", fill_seq="0")

    # -- reading ------------------------------------------------------------------------------

    def load(self) -> LedgerState:
        """Balances, open orders and counters, as a restart needs them."""
        meta = self._meta()
        return LedgerState(
            balances=tuple(self.balances()),
            open_orders=tuple(self.orders(open_only=True)),
            counters=(int(meta.get("order_seq", "0")), int(meta.get("fill_seq", "0"))),
        )

    def balances(self) -> list[BalanceState]:
        """Every currency's balance, sorted by code."""
        rows = self._db.execute("SELECT currency, total, locked FROM balances ORDER BY currency")
        return [BalanceState(c, Decimal(t), Decimal(lk)) for c, t, lk in rows]

    def deposits(self) -> list[tuple[str, Decimal]]:
        """Every deposit (and fund/withdrawal) as ``(currency, amount)``, oldest first."""
        rows = self._db.execute("SELECT currency, amount FROM deposits ORDER BY seq")
        return [(c, Decimal(a)) for c, a in rows]

    def order(self, order_id: str) -> OrderState | None:
        """One order by id, or None."""
        row = self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return None if row is None else _order_from_row(row)

    def order_by_client_id(self, client_order_id: str) -> OrderState | None:
        """The latest order with this client order id, or None."""
        row = self._db.execute(
            "SELECT * FROM orders WHERE client_order_id = ? ORDER BY created DESC, rowid DESC",
            (client_order_id,),
        ).fetchone()
        return None if row is None else _order_from_row(row)

    def orders(self, *, open_only: bool = False, symbol: str | None = None) -> list[OrderState]:
        """Orders, oldest first (by creation time, then by id number)."""
        sql = "SELECT * FROM orders"
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
        return [_order_from_row(r) for r in self._db.execute(sql, args)]

    def fills(
        self,
        symbol: str | None = None,
        *,
        since: int | None = None,
        limit: int | None = None,
        order_id: str | None = None,
    ) -> list[FillRecord]:
        """Fills in the order they happened; ``limit`` keeps the most recent ones."""
        sql = "SELECT * FROM fills"
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
        rows = [_fill_from_row(r) for r in self._db.execute(sql + " ORDER BY seq", args)]
        return rows[-limit:] if limit else rows

    def iter_fills(self) -> Iterator[FillRecord]:
        """Every fill, oldest first, without loading them all at once."""
        for row in self._db.execute("SELECT * FROM fills ORDER BY seq"):
            yield _fill_from_row(row)

    def export_fills_csv(self, target: str | Path | IO[str]) -> int:
        """Write every fill as CSV (header :data:`FILL_CSV_COLUMNS`); returns the row count."""
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
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # -- plumbing -----------------------------------------------------------------------------

    def _write_csv(self, handle: IO[str]) -> int:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FILL_CSV_COLUMNS)
        count = 0
        for fill in self.iter_fills():
            writer.writerow(_fill_row(fill))
            count += 1
        return count

    @contextmanager
    def _tx(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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
        if exchange_id and not stored:
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
        return BalanceState(currency, Decimal(row[0]), Decimal(row[1]))


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _order_row(o: OrderState) -> tuple[Any, ...]:
    return (
        o.id,
        o.client_order_id,
        o.symbol,
        o.side.value,
        o.type.value,
        o.status.value,
        _opt(o.price),
        str(o.amount),
        str(o.filled),
        str(o.cost),
        str(o.fee),
        o.fee_currency,
        o.created,
        o.updated,
        o.reason,
        str(o.locked),
        str(o.queue_ahead),
    )


def _order_from_row(r: Iterable[Any]) -> OrderState:
    (oid, coid, symbol, side, otype, status, price, amount, filled, cost, fee, fee_cur,
     created, updated, reason, locked, queue) = r  # fmt: skip
    return OrderState(
        id=oid,
        client_order_id=coid,
        symbol=symbol,
        side=Side(side),
        type=OrderType(otype),
        status=OrderStatus(status),
        price=None if price is None else Decimal(price),
        amount=Decimal(amount),
        filled=Decimal(filled),
        cost=Decimal(cost),
        fee=Decimal(fee),
        fee_currency=fee_cur,
        created=created,
        updated=updated,
        reason=reason,
        locked=Decimal(locked),
        queue_ahead=Decimal(queue),
    )


def _fill_row(f: FillRecord) -> tuple[Any, ...]:
    return (
        f.seq,
        f.id,
        f.order_id,
        f.client_order_id,
        f.symbol,
        f.side.value,
        str(f.price),
        str(f.amount),
        str(f.cost),
        str(f.fee),
        f.fee_currency,
        f.liquidity.value,
        f.timestamp,
    )


def _fill_from_row(r: Iterable[Any]) -> FillRecord:
    seq, fid, oid, coid, symbol, side, price, amount, cost, fee, fee_cur, liq, ts = r
    return FillRecord(
        seq=seq,
        id=fid,
        order_id=oid,
        client_order_id=coid,
        symbol=symbol,
        side=Side(side),
        price=Decimal(price),
        amount=Decimal(amount),
        cost=Decimal(cost),
        fee=Decimal(fee),
        fee_currency=fee_cur,
        liquidity=Liquidity(liq),
        timestamp=ts,
    )
