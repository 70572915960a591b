"""Block Kit for the reports: the board, §2 metrics, the forecast and the plan.

Each builder takes the plain results of :mod:`domain.metrics` and returns a
:class:`views.message.Message` inside Slack's limits (SLACK.md): at most 50 blocks, sections of
at most 3,000 characters, at most 10 fields, and a plain ``text`` fallback. Long lists (stages,
forecast periods, reps) are cut at a fixed count with one "…and N more" line that sums the rest,
so a workspace with 1,000 reps still gets one readable message. Undefined figures are ``—``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache

from domain.metrics import Board, ForecastRow, Metrics, Plan, RepRow
from i18n import fmt, t
from views import blocks as b
from views.message import Message

MAX_STAGES = 30
MAX_PERIODS = 24
MAX_REPS = 10
LINES_PER_SECTION = 12  # keeps sections readable and far below 3,000 characters


def esc(text: str) -> str:
    """mrkdwn control characters in names people typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def days(value: float | None, locale: str) -> str:
    return (
        fmt.EMPTY if value is None else t(locale, "reports.days", days=fmt.number(value, locale, 1))
    )


def _sections(lines: Sequence[str]) -> list[dict]:
    """Lines grouped into sections, each well inside the section text limit."""
    out, chunk, size = [], [], 0
    for line in lines:
        line = b.clip(line, 1000)
        if chunk and (len(chunk) >= LINES_PER_SECTION or size + len(line) + 1 > b.SECTION_TEXT):
            out.append(b.section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        out.append(b.section("\n".join(chunk)))
    return out


def _money(currency: str, locale: str):
    """Every figure of a report sums or averages deals: the summary style (i18n/fmt.py)."""
    return lambda value: fmt.money(value, currency, locale, summary=True)


# --- board -------------------------------------------------------------------------------------


def board(data: Board, *, currency: str, locale: str, today: date) -> Message:
    """``/pipeline [name]``: per open stage the count, amount, weighted amount and stalled."""
    money = _money(currency, locale)
    num = lambda n: fmt.number(n, locale)  # noqa: E731
    name = esc(data.pipeline_name)
    blocks = [b.header(t(locale, "reports.board.title", name=data.pipeline_name))]
    if not data.stages:
        blocks.append(b.section(t(locale, "reports.board.no_stages")))
    for s in data.stages[:MAX_STAGES]:
        stalled = num(s.stalled) if s.stalled else None
        shown = (esc(s.name), f"{s.probability}%", num(s.count), money(s.amount), money(s.weighted))
        blocks.append(b.section(_board_stage(*shown, stalled, locale)))
    rest = data.stages[MAX_STAGES:]
    if rest:
        more = t(
            locale,
            "reports.board.more",
            count=num(len(rest)),
            deals=num(sum(s.count for s in rest)),
            weighted=money(sum((s.weighted for s in rest), Decimal(0))),
        )
        blocks.append(b.context(more))
    blocks.append(b.divider())
    blocks.append(
        b.section(
            t(
                locale,
                "reports.board.total",
                count=num(data.count),
                amount=money(data.amount),
                weighted=money(data.weighted),
                stalled=num(data.stalled),
            )
        )
    )
    blocks.append(b.context(t(locale, "reports.board.as_of", date=fmt.day(today, locale))))
    text = t(
        locale,
        "reports.board.fallback",
        name=name,
        count=num(data.count),
        amount=money(data.amount),
        weighted=money(data.weighted),
        stalled=num(data.stalled),
    )
    return Message(text=text, blocks=blocks)


@lru_cache(maxsize=2048)
def _board_stage(
    name: str,
    probability: str,
    count: str,
    amount: str,
    weighted: str,
    stalled: str | None,
    locale: str,
) -> str:
    """One stage of the board from the texts it shows, kept per those texts (a renamed stage,
    a new count, another currency or language is another key): a board shows the same stages
    request after request, each three catalog lookups and formats."""
    lines = [
        t(locale, "reports.board.stage", name=name, probability=probability),
        t(locale, "reports.board.stats", count=count, amount=amount, weighted=weighted),
    ]
    if stalled is not None:
        lines.append(t(locale, "reports.board.stalled", count=stalled))
    return "\n".join(lines)


# --- metrics -----------------------------------------------------------------------------------


def metrics(
    data: Metrics,
    *,
    name: str,
    period: str,
    currency: str,
    locale: str,
    owner: str | None = None,
) -> Message:
    """``/pipeline metrics``: the §2 figures, stage conversion, bottleneck and the rep table."""
    money = _money(currency, locale)
    num = lambda n: fmt.number(n, locale)  # noqa: E731
    pct = lambda v: fmt.percent(v, locale)  # noqa: E731
    velocity = (
        fmt.EMPTY
        if data.velocity_per_day is None
        else t(locale, "reports.per_day", amount=money(data.velocity_per_day))
    )
    figures = [
        t(locale, "reports.metrics.leads", count=num(data.lead_count)),
        t(locale, "reports.metrics.mql_to_sql", rate=pct(data.mql_to_sql)),
        t(
            locale,
            "reports.metrics.win_rate",
            rate=pct(data.win_rate),
            won=num(data.won_count),
            lost=num(data.lost_count),
        ),
        t(locale, "reports.metrics.avg_deal", amount=money(data.avg_deal_size)),
        t(
            locale,
            "reports.metrics.cycle",
            mean=days(data.sales_cycle_days, locale),
            median=days(data.sales_cycle_median_days, locale),
        ),
        t(locale, "reports.metrics.won", count=num(data.won_count), amount=money(data.won_amount)),
        t(
            locale,
            "reports.metrics.open",
            count=num(data.open_count),
            amount=money(data.open_amount),
        ),
        t(locale, "reports.metrics.open_age", days=days(data.avg_open_age_days, locale)),
        t(locale, "reports.metrics.weighted", amount=money(data.weighted_forecast)),
        t(locale, "reports.metrics.velocity", value=velocity),
    ]
    context = [period] + ([t(locale, "reports.metrics.owner", name=owner)] if owner else [])
    blocks = [
        b.header(t(locale, "reports.metrics.title", name=name)),
        b.context(*context),
        b.fields(figures),
        b.divider(),
    ]
    moved = [s for s in data.stages if s.entered or s.stays]
    lines = [t(locale, "reports.metrics.conversion_title")]
    if moved:
        lines += [
            t(
                locale,
                "reports.metrics.conversion",
                name=esc(s.name),
                rate=pct(s.conversion),
                progressed=num(s.progressed),
                entered=num(s.entered),
                days=days(s.mean_days_in_stage, locale),
            )
            for s in moved[:MAX_STAGES]
        ]
    else:
        lines.append(t(locale, "reports.metrics.no_history"))
    blocks += _sections(lines)
    blocks.append(b.section(_bottleneck(data, locale)))
    blocks.append(b.divider())
    blocks += _sections(_rep_lines(data.reps, money, locale))
    text = t(
        locale,
        "reports.metrics.fallback",
        name=esc(name),
        win_rate=pct(data.win_rate),
        avg=money(data.avg_deal_size),
        weighted=money(data.weighted_forecast),
    )
    return Message(text=text, blocks=b.fit(blocks, b.MESSAGE_BLOCKS))


def _bottleneck(data: Metrics, locale: str) -> str:
    lines = [t(locale, "reports.metrics.bottleneck_title")]
    if data.bottleneck_conversion is None and data.bottleneck_time is None:
        lines.append(t(locale, "reports.metrics.bottleneck_none"))
    if data.bottleneck_conversion is not None:
        s = data.bottleneck_conversion
        rate = fmt.percent(s.conversion, locale)
        lines.append(
            t(locale, "reports.metrics.bottleneck_conversion", name=esc(s.name), rate=rate)
        )
    if data.bottleneck_time is not None:
        s = data.bottleneck_time
        lines.append(
            t(
                locale,
                "reports.metrics.bottleneck_time",
                name=esc(s.name),
                days=days(s.mean_days_in_stage, locale),
            )
        )
    return "\n".join(lines)


def rep_name(row: RepRow, locale: str) -> str:
    if row.slack_user_id:
        return f"<@{row.slack_user_id}>"
    return esc(row.name) if row.name else t(locale, "reports.unassigned")


def _rep_lines(reps: Sequence[RepRow], money, locale: str) -> list[str]:
    num = lambda n: fmt.number(n, locale)  # noqa: E731
    lines = [t(locale, "reports.metrics.reps_title")]
    if not reps:
        return lines + [t(locale, "reports.metrics.no_reps")]
    for r in reps[:MAX_REPS]:
        lines.append(
            t(
                locale,
                "reports.metrics.rep",
                name=rep_name(r, locale),
                open=num(r.open_count),
                amount=money(r.open_amount),
                weighted=money(r.weighted),
                won=num(r.won_count),
                won_amount=money(r.won_amount),
                rate=fmt.percent(r.win_rate, locale),
            )
        )
    rest = reps[MAX_REPS:]
    if rest:
        lines.append(
            t(
                locale,
                "reports.metrics.reps_more",
                count=num(len(rest)),
                open=num(sum(r.open_count for r in rest)),
                weighted=money(sum((r.weighted for r in rest), Decimal(0))),
                won=num(sum(r.won_count for r in rest)),
            )
        )
    return lines


# --- forecast ----------------------------------------------------------------------------------


def period_name(row: ForecastRow, locale: str) -> str:
    """``Dec 2026`` / ``2026년 12월``, ``Q4 2026`` / ``2026년 4분기``, or "No close date"."""
    if row.start_date is None:
        return t(locale, "reports.forecast.no_date")
    start = row.start_date
    if "Q" in row.period_label:
        return t(
            locale, "reports.forecast.quarter", quarter=(start.month + 2) // 3, year=start.year
        )
    month = t(locale, f"reports.forecast.months.m{start.month}")
    return t(locale, "reports.forecast.month", month_name=month, year=start.year)


def forecast(
    rows: Sequence[ForecastRow], *, name: str, by: str, currency: str, locale: str
) -> Message:
    """``/pipeline forecast``: open deals by expected close month / quarter, weighted."""
    money = _money(currency, locale)
    num = lambda n: fmt.number(n, locale)  # noqa: E731
    blocks = [b.header(t(locale, f"reports.forecast.title_{by}", name=name))]
    if not rows:
        blocks.append(b.section(t(locale, "reports.forecast.empty")))
    lines = []
    for r in rows[:MAX_PERIODS]:
        line = t(
            locale,
            "reports.forecast.row",
            period=period_name(r, locale),
            count=num(r.count),
            amount=money(r.amount),
            weighted=money(r.weighted),
        )
        if r.overdue_count:
            line += "  " + t(locale, "reports.forecast.overdue", count=num(r.overdue_count))
        lines.append(line)
    rest = rows[MAX_PERIODS:]
    if rest:
        lines.append(
            t(
                locale,
                "reports.forecast.more",
                count=num(len(rest)),
                deals=num(sum(r.count for r in rest)),
                weighted=money(sum((r.weighted for r in rest), Decimal(0))),
            )
        )
    blocks += _sections(lines)
    count = sum(r.count for r in rows)
    weighted = sum((r.weighted for r in rows), Decimal(0))
    if rows:
        blocks.append(b.divider())
        blocks.append(
            b.section(
                t(
                    locale,
                    "reports.forecast.total",
                    count=num(count),
                    amount=money(sum((r.amount for r in rows), Decimal(0))),
                    weighted=money(weighted),
                )
            )
        )
    blocks.append(b.context(t(locale, "reports.forecast.note")))
    text = t(
        locale,
        "reports.forecast.fallback",
        name=esc(name),
        weighted=money(weighted),
        count=num(count),
    )
    return Message(text=text, blocks=b.fit(blocks, b.MESSAGE_BLOCKS))


# --- plan --------------------------------------------------------------------------------------


def plan(
    result: Plan,
    *,
    name: str,
    target: Decimal,
    avg: Decimal,
    avg_measured: bool,
    win_rate: Decimal,
    rate_measured: bool,
    period: str,
    reps: int | None,
    open_now: tuple[int, Decimal, Decimal],
    currency: str,
    locale: str,
) -> Message:
    """``/pipeline plan``: deals, leads and leads per rep needed, against the open pipeline."""
    money = _money(currency, locale)
    num = lambda n: fmt.number(n, locale)  # noqa: E731

    def source(measured: bool) -> str:
        if measured:
            return t(locale, "reports.plan.measured", period=period)
        return t(locale, "reports.plan.given")

    figures = [
        t(locale, "reports.plan.target", amount=money(target)),
        t(locale, "reports.plan.avg", amount=money(avg), source=source(avg_measured)),
        t(
            locale,
            "reports.plan.win_rate",
            rate=fmt.percent(win_rate, locale, 1 if win_rate * 100 % 1 else 0),
            source=source(rate_measured),
        ),
        t(locale, "reports.plan.deals", count=num(result.deals_needed)),
        t(locale, "reports.plan.leads", count=num(result.leads_needed)),
    ]
    if reps:
        figures.append(t(locale, "reports.plan.reps", count=num(reps)))
        figures.append(t(locale, "reports.plan.per_rep", count=num(result.per_rep)))
    open_count, open_amount, open_weighted = open_now
    coverage = open_weighted / target if target else None
    compare = t(
        locale,
        "reports.plan.open",
        count=num(open_count),
        amount=money(open_amount),
        weighted=money(open_weighted),
        coverage=fmt.percent(coverage, locale),
    )
    gap = result.deals_needed - open_count
    verdict = (
        t(locale, "reports.plan.short", count=num(gap))
        if gap > 0
        else t(locale, "reports.plan.enough")
    )
    blocks = [
        b.header(t(locale, "reports.plan.title", name=name)),
        b.fields(figures),
        b.section(compare + "\n" + verdict),
        b.context(t(locale, "reports.plan.formula")),
    ]
    text = t(
        locale,
        "reports.plan.fallback",
        target=money(target),
        deals=num(result.deals_needed),
        leads=num(result.leads_needed),
    )
    return Message(text=text, blocks=blocks)
