"""The paper report as text: what ``adapters paper report`` prints and the demo's summary
shows (:func:`render_report`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ..console import column_places, fmt_number, render_table
from .records import plain
from .report import PaperReport

__all__ = ["render_report"]


def _when(timestamp: int) -> str:
    moment = datetime.fromtimestamp(timestamp / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def render_report(report: PaperReport) -> str:
    """The report as text: fills by side, fees by role, PnL and the maximum drawdown.

    Quote amounts are shown to the decimals of the fills' price grid (at least 2), fees and
    averages to two more; base amounts all with the places the finest of them needs (so
    the column lines up), prices exactly.
    """
    if not report.fills:
        return "no fills" + (f" for {report.symbol}" if report.symbol else "")
    base, quote = report.base, report.quote
    places = max(2, report.price_places)
    money_step, fine_step = Decimal(1).scaleb(-places), Decimal(1).scaleb(-places - 2)

    def money(value: Decimal, *, sign: bool = False) -> str:
        return format(value.quantize(money_step), "+f" if sign else "f")

    def fine(value: Decimal | None) -> str:
        return "-" if value is None else format(value.quantize(fine_step), "f")

    total_amount = report.maker.amount + report.taker.amount
    amount_places = column_places(
        [report.buys.amount, report.sells.amount, report.maker.amount, report.taker.amount]
    )

    def amount(value: Decimal) -> str:
        return fmt_number(value, amount_places)

    lines = [
        f"{report.symbol}: {report.fills} fills (ledger fills #{report.first_seq} to "
        f"#{report.last_seq})",
        "",
        render_table(
            ["side", "fills", base, "avg price", quote],
            [
                [name, s.fills, amount(s.amount), fine(s.average), money(s.cost)]
                for name, s in (("buy", report.buys), ("sell", report.sells))
            ],
        ),
        "",
        render_table(
            ["role", "fills", base, f"fees {quote}"],
            [
                [name, r.fills, amount(r.amount), fine(r.fees)]
                for name, r in (("maker", report.maker), ("taker", report.taker))
            ]
            + [["total", report.fills, amount(total_amount), fine(report.fees)]],
        ),
        "",
    ]
    position = f"position {plain(report.position)} {base}"
    if report.average_cost is not None:
        position += f" at average cost {fine(report.average_cost)}"
    mark = report.mark
    unrealised, net = report.unrealised, report.net
    rows = [["realised", money(report.realised, sign=True), "average cost, before fees"]]
    if mark is not None and unrealised is not None and net is not None:
        rows += [
            ["unrealised", money(unrealised, sign=True), f"{position}, marked to {plain(mark)}"],
            ["fees", money(-report.fees), ""],
            ["net", money(net, sign=True), f"marked to the {report.mark_source} {plain(mark)}"],
        ]
    lines.append(render_table(["PnL", quote, ""], rows))
    dd = report.max_drawdown
    if dd.amount:
        start = "the start" if dd.peak < 0 else _when(report.equity[dd.peak].timestamp)
        lines.append(
            f"max drawdown {money(dd.amount)} {quote}: equity from {money(dd.peak_equity)} "
            f"({start}) down to {money(dd.trough_equity)} "
            f"({_when(report.equity[dd.trough].timestamp)})"
        )
    else:
        lines.append(f"max drawdown 0 {quote}: equity never fell below a previous high")
    return "\n".join(lines)
