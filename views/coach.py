"""Block Kit for probability calibration and the pipeline coach (domain.metrics.calibration,
domain.coach). Every figure here sums or averages deals: the summary money style."""

from __future__ import annotations

from collections.abc import Sequence

from domain.coach import Coaching, Needs, Target
from domain.metrics.calibration import StageCalibration
from i18n import fmt, t
from views import blocks as b
from views.ids import Action
from views.message import Message
from views.reports import esc

MAX_FLAGGED = 5  # apply buttons per message (an actions block holds up to 25; keep it short)
MAX_TEAM = 30


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


# --- calibration ----------------------------------------------------------------------------


def calibration_line(row: StageCalibration, locale: str) -> str:
    return t(
        locale,
        "coach.calibration.line",
        pipeline=esc(row.pipeline),
        stage=esc(row.stage),
        configured=f"{row.configured}%",
        measured=f"{row.measured}%",
        count=fmt.number(row.reached, locale),
    )


def calibration_blocks(rows: Sequence[StageCalibration], locale: str) -> list[dict]:
    """The flagged stages, each with a button that applies the measured value (admins)."""
    if not rows:
        return []
    shown = list(rows)[:MAX_FLAGGED]
    lines = [t(locale, "coach.calibration.title")] + [calibration_line(r, locale) for r in shown]
    buttons = [
        b.button(
            t(locale, "coach.calibration.apply", stage=r.stage, measured=f"{r.measured}%"),
            f"{Action.help_run}:calibrate:{r.stage_id}",
            f"/pipeline calibrate {_quoted(r.stage)} pipeline:{_quoted(r.pipeline)}",
        )
        for r in shown
    ]
    return [
        b.section("\n".join(lines)),
        b.actions(buttons),
        b.context(t(locale, "coach.calibration.note")),
    ]


def calibrated(row: StageCalibration, old: int, locale: str) -> Message:
    text = t(
        locale,
        "coach.calibration.applied",
        pipeline=esc(row.pipeline),
        stage=esc(row.stage),
        old=f"{old}%",
        new=f"{row.measured}%",
        won=fmt.number(row.won, locale),
        count=fmt.number(row.reached, locale),
    )
    return Message(text=text, blocks=[b.section(text)])


# --- coach -----------------------------------------------------------------------------------


def _target_lines(
    coaching: Coaching, target: Target, needs: Needs | None, which: str, money, locale
) -> list[str]:
    num = lambda n: fmt.number(n, locale)  # noqa: E731
    label = t(locale, f"coach.{which}", period=target.span.label)
    if target.amount is None:
        return [t(locale, "coach.no_target", period=label)]
    lines = [
        t(
            locale,
            "coach.target",
            period=label,
            target=money(target.amount),
            source=t(locale, f"coach.source_{target.source}"),
            won=money(target.won),
            remaining=money(target.remaining),
        ),
        t(
            locale,
            "coach.pipeline",
            count=num(target.open_count),
            weighted=money(target.open_weighted),
            shortfall=money(target.shortfall),
        ),
    ]
    if target.remaining == 0:
        lines.append(t(locale, "coach.reached"))
    elif needs is None:
        lines.append(t(locale, "coach.no_numbers"))
    else:
        lines.append(
            t(
                locale,
                "coach.needs",
                deals=num(needs.deals),
                leads=num(needs.leads),
                more=num(needs.more_deals),
            )
        )
    return lines


def coaching(c: Coaching, *, currency: str, locale: str, title_key: str = "coach.title") -> Message:
    money = lambda v: fmt.money(v, currency, locale, summary=True)  # noqa: E731
    n = c.numbers
    basis = t(
        locale,
        "coach.basis_own" if n.own else "coach.basis_team",
        win_rate=fmt.percent(n.win_rate, locale),
        avg=money(n.avg_deal_size),
        cycle=fmt.EMPTY
        if n.cycle_days is None
        else t(locale, "reports.days", days=fmt.number(round(n.cycle_days), locale)),
    )
    month = _target_lines(c, c.month, c.needs(c.month), "month", money, locale)
    quarter = _target_lines(c, c.quarter, c.needs(c.quarter), "quarter", money, locale)
    blocks = [
        b.header(t(locale, title_key, name=c.name)),
        b.context(basis),
        b.section("\n".join(month)),
        b.section("\n".join(quarter)),
    ]
    if c.closes_around and c.closes_around >= c.month.span.end and c.month.amount is not None:
        blocks.append(
            b.context(t(locale, "coach.cycle_note", day=fmt.day(c.closes_around, locale)))
        )
    if c.focus:
        lines = [t(locale, "coach.focus_title")] + [
            t(
                locale,
                "coach.focus_stalled" if d.stalled else "coach.focus",
                deal=f"D{d.number}",
                title=esc(d.title),
                stage=esc(d.stage),
                weighted=fmt.money(d.weighted, d.currency, locale, summary=True),
                close=t(locale, "coach.closes", day=fmt.day(d.close, locale))
                if d.close
                else t(locale, "coach.no_close"),
            )
            for d in c.focus
        ]
        blocks.append(b.section("\n".join(lines)))
    else:
        blocks.append(b.section(t(locale, "coach.no_deals")))
    text = t(locale, "coach.fallback", name=c.name, remaining=money(c.month.remaining))
    return Message(text=text, blocks=blocks)


def team(rows: Sequence[Coaching], *, currency: str, locale: str) -> Message:
    money = lambda v: fmt.money(v, currency, locale, summary=True)  # noqa: E731
    num = lambda v: fmt.number(v, locale)  # noqa: E731
    lines = []
    for c in rows[:MAX_TEAM]:
        needs = c.needs(c.month)
        lines.append(
            t(
                locale,
                "coach.team_line",
                name=f"<@{c.slack_user_id}>",
                target=money(c.month.amount),
                won=money(c.month.won),
                weighted=money(c.month.open_weighted),
                more=fmt.EMPTY if needs is None else num(needs.more_deals),
            )
        )
    if not lines:
        lines.append(t(locale, "coach.team_empty"))
    rest = len(rows) - MAX_TEAM
    chunks = [lines[i : i + 10] for i in range(0, len(lines), 10)]
    blocks = [b.header(t(locale, "coach.team_title"))]
    blocks += [b.section("\n".join(chunk)) for chunk in chunks]
    if rest > 0:
        blocks.append(b.context(t(locale, "coach.team_more", count=num(rest))))
    total = sum((c.month.amount or 0 for c in rows), 0)
    won = sum((c.month.won for c in rows), 0)
    blocks.append(b.context(t(locale, "coach.team_total", target=money(total), won=money(won))))
    text = t(locale, "coach.team_fallback", target=money(total), won=money(won))
    return Message(text=text, blocks=blocks)
