"""Issue 11: a command whose reader goes away (``adapters paper fills ... --csv - | head -1``)
exits quietly: no ``BrokenPipeError`` traceback, exit status 141 as a shell reports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

from adapters.enums import OrderType, Side
from adapters.paper.engine import BookSnapshot, Engine, MarketSpec, PlaceOrder, PublicTrade
from adapters.paper.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent


def _ledger_with_fills(path: Path, count: int) -> None:
    spec = MarketSpec("ETH/USD", "ETH", "USD", D("0.001"), D("0.002"))
    with Ledger(path, exchange_id="bitstamp_paper_trade") as ledger:
        ledger.fund("USD", "1000000")
        engine = Engine([spec])
        state = ledger.load()
        engine.restore(
            balances=state.balances, open_orders=state.open_orders, counters=state.counters
        )
        engine.apply(BookSnapshot("ETH/USD", [("100", "1")], [("101", "1")], 0))
        for i in range(count):
            placed = engine.apply(
                PlaceOrder("ETH/USD", Side.BUY, OrderType.LIMIT, D("0.01"), D("100"), 2 * i)
            )
            ledger.record(placed, engine.counters)
            traded = engine.apply(PublicTrade("ETH/USD", "99", "1", Side.SELL, 2 * i + 1))
            ledger.record(traded, engine.counters)


def test_fills_to_a_closed_pipe_exit_quietly(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    _ledger_with_fills(path, 3000)  # about 400 KB of CSV, far past a pipe's buffer
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "adapters", "paper", "fills", "bitstamp", "--ledger",
            str(path), "--csv", "-"]  # fmt: skip
    reader = subprocess.Popen(["head", "-1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert reader.stdin is not None and reader.stdout is not None
    writer = subprocess.run(
        argv, stdout=reader.stdin, stderr=subprocess.PIPE, env=env, timeout=60, text=True
    )
    reader.stdin.close()
    first = reader.stdout.read().decode()
    reader.wait(timeout=10)
    reader.stdout.close()
    assert first.startswith("seq,id,order_id")
    assert writer.stderr == "", writer.stderr
    assert writer.returncode == 141  # 128 + SIGPIPE, as a shell reports a closed pipe


def _run_into_a_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: the first write fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", "adapters", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
            text=True,
        )
    finally:
        os.close(write)


def test_other_commands_into_a_closed_pipe_exit_quietly(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    _ledger_with_fills(path, 2)
    for args in (
        ("capabilities",),
        ("capabilities", "bitmart", "--json"),
        ("paper", "balances", "bitstamp", "--ledger", str(path)),
        ("paper", "fills", "bitstamp", "--ledger", str(path), "--csv", "-"),
    ):
        done = _run_into_a_closed_pipe(*args)
        assert (done.returncode, done.stderr) == (141, ""), args
