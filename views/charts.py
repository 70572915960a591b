"""Report charts as PNG bytes: the board, the forecast and the stage funnel.

matplotlib draws headless (a bare ``Figure`` saved through the Agg canvas, never ``pyplot``), so
charts render in web workers, the scheduler and tests alike. matplotlib is imported on first
use: the handlers module loads on every command, a chart is drawn only by reports.

**Korean labels.** Hangul needs a font that has it, and a bare server image has none
(``fc-list :lang=ko`` prints nothing). The dependency ``pylopdf-fonts-ko`` ships Noto Sans KR
(SIL OFL 1.1) as package data; at first use it is registered with matplotlib's font manager
(``fontManager.addfont``), the one process-wide change this module makes. No ``rcParams`` are
touched, at import or ever: every text artist is given the family list itself (Noto Sans KR,
then DejaVu Sans for the few glyphs it lacks), so charts drawn at the same time by several
threads cannot change one another's fonts. Without the package a system Hangul font is used
(:data:`HANGUL_FONTS`); with neither, a Korean chart falls back to English words and ASCII
money, as the message around it carries every figure in Korean anyway.

**Names** of stages and pipelines are drawn as typed; characters no font has (emoji) are left
out, and a name with nothing drawable left becomes its position (``#3``) or ``Pipeline``.

**Titles** say what the picture shows: the pipeline, and the rep and the period where the report
has them. They come as keyword arguments (the positional ones are kept for callers that store
chart specs): ``board_png(board, locale, currency, period=...)``,
``forecast_png(rows, locale, currency, by, name=...)``,
``funnel_png(stages, locale, name=..., owner=..., period=...)``. ``owner`` is a display name
(a Slack ``<@U…>`` mention does not render in a picture).

**Periods** on the forecast read as in the message beside the chart
(:func:`views.reports.period_name`): ``Dec 2026`` / ``Q4 2026`` in English, ``2026년 12월`` /
``2026년 4분기`` in Korean, never the canonical ``2026-12`` / ``2026-Q4`` of the query.

**Money** on the axes goes through :mod:`i18n.fmt`: Korean won in 만/억 units (``2천만원``,
``1억 5천만원``), other pictures short (``₩3.8M``, ``$12K``).

**Legends** sit in a row under the plot area, outside it (the figure's constrained layout
makes room for them), so they never cover a bar.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from i18n import fmt, normalize_locale, t

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from domain.metrics import Board, ForecastRow, StageStat

HANGUL_FONTS = (  # system fonts, looked for only when the bundled one is missing
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Source Han Sans KR",
    "NanumGothic",
    "NanumBarunGothic",
    "Malgun Gothic",
    "AppleGothic",
    "Apple SD Gothic Neo",
    "UnDotum",
    "Baekmuk Gulim",
)
BASE_FONT = "DejaVu Sans"  # matplotlib's own font: always there, the fallback for other glyphs
COUNT_COLOR = "#4A90D9"
AMOUNT_COLOR = "#B8C7D9"
WEIGHTED_COLOR = "#2E7D32"
STALLED_COLOR = "#C62828"
DPI = 110
MAX_BARS = 24  # more stages / periods than this are left out of the picture (the message has all)

_LOCK = threading.Lock()
_WORDY = re.compile(r"\w")


@dataclass(frozen=True)
class ChartFont:
    """The fonts every chart is drawn with."""

    hangul: str | None  # family of the Hangul font, None when there is none
    path: str | None  # its file
    families: tuple[str, ...]  # given to every text artist: the Hangul font first, then DejaVu
    charmap: frozenset[int]  # code points some font of ``families`` can draw


def _bundled_font() -> str | None:
    """Noto Sans KR from the ``pylopdf-fonts-ko`` package, if it is installed."""
    try:
        from pylopdf_fonts_ko import sans_path
    except ImportError:  # installed without its dependencies: system fonts, or English pictures
        return None
    path = sans_path()
    return str(path) if path.is_file() else None


@cache
def chart_font() -> ChartFont:
    """Register the bundled Hangul font with matplotlib (once) and say what charts draw with."""
    with _LOCK:
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font

        manager = font_manager.fontManager
        path = _bundled_font()
        family = None
        if path:
            if not any(f.fname == path for f in manager.ttflist):
                manager.addfont(path)
            family = next(f.name for f in manager.ttflist if f.fname == path)
        else:
            known = {f.name: f.fname for f in manager.ttflist}
            family = next((name for name in HANGUL_FONTS if name in known), None)
            path = known.get(family) if family else None
        base = font_manager.findfont(font_manager.FontProperties(family=BASE_FONT))
        charmap = set(FT2Font(base).get_charmap())
        if path:
            charmap |= set(FT2Font(path).get_charmap())
        families = (family, BASE_FONT) if family else (BASE_FONT,)
        return ChartFont(family, path, families, frozenset(charmap))


def hangul_font() -> str | None:
    """The font family used for Korean charts, or None when there is none."""
    return chart_font().hangul


def chart_locale(locale: str | None) -> str:
    """The language the picture is written in: Korean only when a Hangul font exists."""
    loc = normalize_locale(locale)
    return loc if loc != "ko" or hangul_font() else "en"


def can_draw(text: str) -> bool:
    charmap = chart_font().charmap
    return all(ord(ch) in charmap or ch.isspace() for ch in text)


def drawable(text: str, fallback: str) -> str:
    """``text`` without the characters no chart font has; ``fallback`` if no word is left."""
    charmap = chart_font().charmap
    kept = "".join(ch for ch in text if ord(ch) in charmap or ch == " ")
    kept = " ".join(kept.split())
    return kept if _WORDY.search(kept) else fallback


def axis_money(value: Decimal | float, currency: str, locale: str) -> str:
    """Money on an axis: ``2천만원`` / ``1억 5천만원`` (Korean won); else ``₩3.8M`` / ``$12K``."""
    amount = float(value)
    if locale == "ko" and currency.upper() == "KRW":
        return fmt.money(Decimal(round(amount)), "KRW", "ko")
    symbol = fmt.currency_symbol(currency, "en")
    symbol = symbol if can_draw(symbol) else currency.upper() + " "
    for unit, word in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if abs(amount) >= unit:
            return symbol + f"{amount / unit:,.1f}".rstrip("0").rstrip(".") + word
    return symbol + f"{amount:,.0f}"


# --- drawing helpers ---------------------------------------------------------------------------


def _families(loc: str) -> list[str]:
    """Korean pictures lead with the Hangul font; English ones keep matplotlib's DejaVu Sans and
    borrow the Hangul font only for Hangul in names."""
    families = list(chart_font().families)
    return families if loc == "ko" else sorted(families, key=lambda f: f != BASE_FONT)


def _figure(loc: str, height_rows: int, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    height = max(3.0, 0.42 * height_rows + 2.2)
    fig = Figure(figsize=(9.5 if ncols > 1 else 8.5, height), dpi=DPI, layout="constrained")
    axes = list(fig.subplots(1, ncols, sharey=ncols > 1, squeeze=False)[0])
    for ax in axes:
        ax.tick_params(labelfontfamily=_families(loc), labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def _title(fig: Figure, loc: str, title: str, details: Sequence[str | None] = ()) -> None:
    """The title, and under it what the picture covers (pipeline · rep · period)."""
    lines = [title]
    shown = [d for d in details if d and can_draw(d)]
    if shown:
        lines.append(" · ".join(shown))
    fig.suptitle("\n".join(lines), fontsize=11, fontfamily=_families(loc))


def _legend(fig: Figure, loc: str, axes: Sequence[Axes]) -> None:
    """One legend for the figure, in a row under the plot area (outside it, so it covers no bar)."""
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=len(labels),
        frameon=False,
        prop={"family": _families(loc), "size": 8},
    )


def _label(ax: Axes, loc: str, x: float, y: float, text: str) -> None:
    ax.text(x, y, text, va="center", fontsize=8, fontfamily=_families(loc))


def _money_axis(ax: Axes, currency: str, locale: str, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(nbins=4 if axis == "x" else 6, min_n_ticks=2))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: axis_money(v, currency, locale)))


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _stage_names(stages) -> list[str]:
    return [drawable(s.name, f"#{s.position}") for s in stages] or ["—"]


# --- the charts --------------------------------------------------------------------------------


def board_figure(
    board: Board, locale: str, currency: str = "KRW", *, period: str | None = None
) -> Figure:
    loc = chart_locale(locale)
    stages = list(board.stages)[:MAX_BARS]
    names = _stage_names(stages)
    counts = [s.count for s in stages] or [0]
    stalled = [s.stalled for s in stages] or [0]
    weighted = [float(s.weighted) for s in stages] or [0.0]
    amounts = [float(s.amount) for s in stages] or [0.0]
    fig, (left, right) = _figure(loc, len(names), ncols=2)
    ys = list(range(len(names)))
    left.barh(ys, counts, color=COUNT_COLOR, label=t(loc, "reports.board.chart_deals"))
    left.barh(ys, stalled, color=STALLED_COLOR, label=t(loc, "reports.board.chart_stalled"))
    for y, n in zip(ys, counts, strict=True):
        _label(left, loc, n, y, f" {n:,}")
    left.set_yticks(ys, names)
    left.invert_yaxis()
    left.margins(x=0.18)
    left.xaxis.get_major_locator().set_params(integer=True)
    right.barh(ys, amounts, color=AMOUNT_COLOR, label=t(loc, "reports.board.chart_amount"))
    right.barh(ys, weighted, color=WEIGHTED_COLOR, label=t(loc, "reports.board.chart_weighted"))
    _money_axis(right, currency, loc)
    name = drawable(board.pipeline_name, "Pipeline")
    _title(fig, loc, t(loc, "reports.board.chart_title", name=name), [period])
    _legend(fig, loc, [left, right])
    return fig


def board_png(
    board: Board, locale: str, currency: str = "KRW", *, period: str | None = None
) -> bytes:
    """Open deals per stage of one pipeline: deal count (left) and amount / weighted (right).

    Stages read top to bottom in pipeline order; stalled deals are the darker part of each count
    bar. The scheduler's weekly summary attaches this picture; ``period`` names its week.
    """
    return _png(board_figure(board, locale, currency, period=period))


def forecast_figure(
    rows: Sequence[ForecastRow],
    locale: str,
    currency: str = "KRW",
    by: str = "month",
    *,
    name: str | None = None,
) -> Figure:
    from views.reports import period_name

    loc = chart_locale(locale)
    by = "quarter" if by == "quarter" else "month"
    rows = list(rows)[:MAX_BARS]
    labels = [period_name(r, loc) for r in rows] or ["—"]
    amounts = [float(r.amount) for r in rows] or [0.0]
    weighted = [float(r.weighted) for r in rows] or [0.0]
    fig, (ax,) = _figure(loc, 6)
    xs = list(range(len(labels)))
    width = 0.4
    ax.bar(
        [x - width / 2 for x in xs],
        amounts,
        width,
        color=AMOUNT_COLOR,
        label=t(loc, "reports.forecast.chart_amount"),
    )
    ax.bar(
        [x + width / 2 for x in xs],
        weighted,
        width,
        color=WEIGHTED_COLOR,
        label=t(loc, "reports.forecast.chart_weighted"),
    )
    tilt = len(labels) > 6
    ax.set_xticks(xs, labels, rotation=45 if tilt else 0, ha="right" if tilt else "center")
    _money_axis(ax, currency, loc, axis="y")
    if name:
        title = t(loc, f"reports.forecast.title_{by}", name=drawable(name, "Pipeline"))
    else:
        title = t(loc, f"reports.forecast.chart_title_{by}")
    _title(fig, loc, title)
    _legend(fig, loc, [ax])
    return fig


def forecast_png(
    rows: Sequence[ForecastRow],
    locale: str,
    currency: str = "KRW",
    by: str = "month",
    *,
    name: str | None = None,
) -> bytes:
    """Amount and weighted amount of open deals per expected close month or quarter.

    ``name`` is the pipeline's (or "all pipelines"), shown in the title.
    """
    return _png(forecast_figure(rows, locale, currency, by, name=name))


def funnel_figure(
    stages: Sequence[StageStat],
    locale: str,
    *,
    name: str | None = None,
    owner: str | None = None,
    period: str | None = None,
) -> Figure:
    loc = chart_locale(locale)
    stages = list(stages)[:MAX_BARS]
    names = _stage_names(stages)
    entered = [s.entered for s in stages] or [0]
    progressed = [s.progressed for s in stages] or [0]
    fig, (ax,) = _figure(loc, len(names))
    ys = list(range(len(names)))
    ax.barh(ys, entered, color=AMOUNT_COLOR, label=t(loc, "reports.funnel.chart_entered"))
    ax.barh(ys, progressed, color=COUNT_COLOR, label=t(loc, "reports.funnel.chart_progressed"))
    for y, s in zip(ys, stages, strict=False):
        _label(ax, loc, s.entered, y, " " + fmt.percent(s.conversion, loc))
    ax.set_yticks(ys, names)
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
    details = [
        drawable(name, "") if name else None,
        t(loc, "reports.metrics.owner", name=owner) if owner else None,
        period,
    ]
    _title(fig, loc, t(loc, "reports.funnel.chart_title"), details)
    _legend(fig, loc, [ax])
    return fig


def funnel_png(
    stages: Sequence[StageStat],
    locale: str,
    *,
    name: str | None = None,
    owner: str | None = None,
    period: str | None = None,
) -> bytes:
    """Deals that entered each open stage in the period, with the share that moved on.

    ``name`` (pipeline), ``owner`` (a rep's display name) and ``period`` (as the message words
    it) make the line under the title.
    """
    return _png(funnel_figure(stages, locale, name=name, owner=owner, period=period))
