"""The report's picture: equity over time with the fills marked, as a PNG.

matplotlib is an optional extra (``pip install 'typed-spot-adapters[plot]'``), imported only
here and only when a picture is asked for; without it :func:`plot_equity` raises
:class:`PlotUnavailable` naming the extra.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime
from typing import Any

from ..enums import Side
from ..errors import AdapterError
from .records import Liquidity
from .report import PaperReport

__all__ = ["PlotUnavailable", "plot_equity"]

EXTRA = "typed-spot-adapters[plot]"
_CLOCK_SLACK_MS = 1000


class PlotUnavailable(AdapterError):
    """matplotlib is not installed."""


def _matplotlib() -> tuple[Any, Any]:
    """matplotlib's ``Figure`` class and ``dates`` module."""
    try:
        from matplotlib import dates
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailable(
            f"--plot needs matplotlib, which is not installed: pip install '{EXTRA}' "
            "(or add the plot extra to your install: -e '.[dev,plot]')"
        ) from None
    return Figure, dates


def plot_equity(report: PaperReport, path: str | os.PathLike[str], *, title: str = "") -> None:
    """Write ``report``'s equity curve to ``path`` (PNG): equity above, fill prices below,
    buys and sells marked (filled markers maker, hollow taker), the maximum drawdown shaded.

    Uses matplotlib's object API (no pyplot), so no display or global state is touched.
    """
    points = report.equity
    if not points:
        raise ValueError(f"no fills to plot for {report.symbol or 'this account'}")
    figure_class, dates = _matplotlib()
    stamps = [p.timestamp for p in points]
    # Fills stamped from whole-second book times can sit up to a second before the trade fill
    # just ahead of them; a larger step back means several runs over one recording (its
    # clock repeats), and then the x axis is the fill number.
    in_time = all(b > a - _CLOCK_SLACK_MS for a, b in itertools.pairwise(stamps))
    xs: list[Any] = (
        [datetime.fromtimestamp(t / 1000, UTC) for t in itertools.accumulate(stamps, max)]
        if in_time
        else list(range(len(points)))
    )
    fig = figure_class(figsize=(10, 6), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    quote = report.quote
    top.step(xs, [float(p.equity) for p in points], where="post", color="#1f4e79", lw=1.2)
    top.axhline(0, color="#888888", lw=0.8)
    dd = report.max_drawdown
    if dd.amount and dd.trough >= 0:
        start = xs[dd.peak] if dd.peak >= 0 else xs[0]
        top.axvspan(
            start,
            xs[dd.trough],
            color="#d62728",
            alpha=0.12,
            lw=0,
            label=f"max drawdown {float(dd.amount):,.2f} {quote}",
        )
    for side, marker, colour in ((Side.BUY, "^", "#2ca02c"), (Side.SELL, "v", "#d62728")):
        for liquidity in (Liquidity.MAKER, Liquidity.TAKER):
            chosen = [
                (x, p)
                for x, p in zip(xs, points, strict=True)
                if p.side is side and p.liquidity is liquidity
            ]
            if not chosen:
                continue
            label = f"{side.value} ({liquidity.value})"
            face = colour if liquidity is Liquidity.MAKER else "none"
            kw = {"marker": marker, "edgecolors": colour, "facecolors": face, "label": label}
            top.scatter([x for x, _ in chosen], [float(p.equity) for _, p in chosen], s=28, **kw)
            bottom.scatter([x for x, _ in chosen], [float(p.price) for _, p in chosen], s=22, **kw)
    net = report.net
    heading = f"{report.symbol} paper equity (net PnL, fees included)"
    if net is not None and report.mark is not None:
        heading += f": {float(net):+,.2f} {quote} marked to {report.mark}"
    top.set_title(f"{title}  {heading}" if title else heading, fontsize=11)
    top.set_ylabel(f"equity ({quote})")
    top.legend(loc="best", fontsize=8)
    top.grid(alpha=0.3)
    bottom.plot(xs, [float(p.price) for p in points], color="#999999", lw=0.8)
    bottom.set_ylabel(f"fill price ({quote})")
    bottom.set_xlabel("time (UTC)" if in_time else "fill number (the runs' clocks overlap)")
    bottom.grid(alpha=0.3)
    if in_time:
        locator = dates.AutoDateLocator()
        bottom.xaxis.set_major_locator(locator)
        bottom.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    fig.savefig(os.fspath(path), format="png")
