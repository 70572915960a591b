"""Report charts as PNG bytes: the board, the forecast and the stage funnel.

matplotlib draws headless (the Agg backend, selected without touching ``pyplot``'s global
state), so charts render in web workers, the scheduler and tests alike. matplotlib is imported on
first use: the handlers module loads on every command, a chart is drawn only by reports.

**Korean labels.** Hangul needs a font that has it. At first use we look for one among the
fonts matplotlib knows (Noto Sans CJK KR, NanumGothic, Malgun Gothic, AppleGothic, …). When
there is none (``fc-list :lang=ko`` prints nothing, as on a bare server image), a Korean chart
is drawn with English words and ASCII money (``₩3.8M``) instead of tofu boxes, and any stage or
pipeline name the font cannot draw becomes ``Stage 3`` / ``Pipeline``. The message around the
chart still carries every figure in Korean, so nothing is lost; install a Korean font
(e.g. ``fonts-noto-cjk`` or ``fonts-nanum``) to get Korean pictures.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from i18n import normalize_locale, t

if TYPE_CHECKING:
    from domain.metrics import Board, ForecastRow, StageStat

HANGUL_FONTS = (
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
COUNT_COLOR = "#4A90D9"
AMOUNT_COLOR = "#B8C7D9"
WEIGHTED_COLOR = "#2E7D32"
DPI = 110
MAX_BARS = 24  # more stages / periods than this are summed into the last bar's label


@cache
def _setup() -> tuple[str | None, frozenset[int]]:
    """The Hangul font family if there is one, and the code points the chart font can draw."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    known = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in HANGUL_FONTS:
        if family in known:
            return family, frozenset(FT2Font(known[family]).get_charmap())
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return None, frozenset(FT2Font(path).get_charmap())


def hangul_font() -> str | None:
    """The font family used for Korean charts, or None when the system has none."""
    return _setup()[0]


def chart_locale(locale: str | None) -> str:
    """The language the picture is written in: Korean only when a Hangul font exists."""
    loc = normalize_locale(locale)
    return loc if loc != "ko" or hangul_font() else "en"


def drawable(text: str, fallback: str) -> str:
    """``text`` when the chart font has every character of it, else ``fallback``."""
    charmap = _setup()[1]
    return text if all(ord(ch) in charmap or ch.isspace() for ch in text) else fallback


def compact_money(value: Decimal | float, currency: str, locale: str) -> str:
    """Short axis money: ``₩3.8M`` / ``$12K``; ``3.8억`` / ``380만`` in Korean pictures."""
    from i18n import fmt

    amount = float(value)
    if locale == "ko" and currency.upper() == "KRW":
        for unit, word in ((10**12, "조"), (10**8, "억"), (10**4, "만")):
            if abs(amount) >= unit:
                return f"{amount / unit:,.1f}".rstrip("0").rstrip(".") + word
        return f"{amount:,.0f}원"
    symbol = drawable(fmt.currency_symbol(currency, "en"), currency.upper() + " ")
    for unit, word in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if abs(amount) >= unit:
            return symbol + f"{amount / unit:,.1f}".rstrip("0").rstrip(".") + word
    return symbol + f"{amount:,.0f}"


def _figure(height_rows: int, ncols: int = 1):
    from matplotlib.figure import Figure

    family = hangul_font()
    height = max(2.6, 0.42 * height_rows + 1.6)
    fig = Figure(figsize=(9.5 if ncols > 1 else 8.5, height), dpi=DPI)
    if family:
        import matplotlib

        matplotlib.rcParams["font.family"] = [family, "DejaVu Sans"]
    axes = fig.subplots(1, ncols, sharey=ncols > 1, squeeze=False)[0]
    return fig, axes


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _money_axis(ax, currency: str, locale: str, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda v, _pos: compact_money(v, currency, locale))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(formatter)


def board_png(board: Board, locale: str, currency: str = "KRW") -> bytes:
    """Open deals per stage of one pipeline: deal count (left) and weighted amount (right).

    Stages read top to bottom in pipeline order; stalled deals are the darker part of each count
    bar. The scheduler's weekly summary attaches this same picture.
    """
    loc = chart_locale(locale)
    stages = list(board.stages)[:MAX_BARS]
    names = [drawable(s.name, f"Stage {s.position}") for s in stages] or ["—"]
    counts = [s.count for s in stages] or [0]
    stalled = [s.stalled for s in stages] or [0]
    weighted = [float(s.weighted) for s in stages] or [0.0]
    amounts = [float(s.amount) for s in stages] or [0.0]
    fig, (left, right) = _figure(len(names), ncols=2)
    ys = list(range(len(names)))
    left.barh(ys, counts, color=COUNT_COLOR, label=t(loc, "reports.board.chart_deals"))
    left.barh(ys, stalled, color="#C62828", label=t(loc, "reports.board.chart_stalled"))
    for y, n in zip(ys, counts, strict=True):
        left.text(n, y, f" {n:,}", va="center", fontsize=8)
    left.set_yticks(ys, names)
    left.invert_yaxis()
    left.set_title(t(loc, "reports.board.chart_deals"))
    left.legend(loc="lower right", fontsize=7, frameon=False)
    left.margins(x=0.18)
    right.barh(ys, amounts, color=AMOUNT_COLOR, label=t(loc, "reports.board.chart_amount"))
    right.barh(ys, weighted, color=WEIGHTED_COLOR, label=t(loc, "reports.board.chart_weighted"))
    right.set_title(t(loc, "reports.board.chart_weighted"))
    right.legend(loc="lower right", fontsize=7, frameon=False)
    _money_axis(right, currency, loc)
    right.tick_params(axis="x", labelsize=7)
    fig.suptitle(
        t(loc, "reports.board.chart_title", name=drawable(board.pipeline_name, "Pipeline"))
    )
    return _png(fig)


def forecast_png(
    rows: Sequence[ForecastRow], locale: str, currency: str = "KRW", by: str = "month"
) -> bytes:
    """Amount and weighted amount of open deals per expected close month or quarter."""
    loc = chart_locale(locale)
    rows = list(rows)[:MAX_BARS]
    labels = [r.period_label or t(loc, "reports.forecast.chart_no_date") for r in rows] or ["—"]
    amounts = [float(r.amount) for r in rows] or [0.0]
    weighted = [float(r.weighted) for r in rows] or [0.0]
    fig, (ax,) = _figure(6)
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
    ax.set_xticks(xs, labels, rotation=45 if len(labels) > 8 else 0, ha="right", fontsize=8)
    _money_axis(ax, currency, loc, axis="y")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(t(loc, f"reports.forecast.chart_title_{by}"))
    return _png(fig)


def funnel_png(stages: Sequence[StageStat], locale: str) -> bytes:
    """Deals that entered each open stage in the period, with the share that moved on."""
    from i18n import fmt

    loc = chart_locale(locale)
    stages = list(stages)[:MAX_BARS]
    names = [drawable(s.name, f"Stage {s.position}") for s in stages] or ["—"]
    entered = [s.entered for s in stages] or [0]
    progressed = [s.progressed for s in stages] or [0]
    fig, (ax,) = _figure(len(names))
    ys = list(range(len(names)))
    ax.barh(ys, entered, color=AMOUNT_COLOR, label=t(loc, "reports.funnel.chart_entered"))
    ax.barh(ys, progressed, color=COUNT_COLOR, label=t(loc, "reports.funnel.chart_progressed"))
    for y, s in zip(ys, stages, strict=False):
        ax.text(s.entered, y, " " + fmt.percent(s.conversion, "en"), va="center", fontsize=8)
    ax.set_yticks(ys, names)
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(t(loc, "reports.funnel.chart_title"))
    return _png(fig)
