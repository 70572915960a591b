"""The pipeline coach (``/pipeline coach``, Monday DM; docs/metrics.md#coach).

For one member, from the plan formula (docs/metrics.md#plan) and their own numbers: the target
of this month and this quarter (their quota; else the team's quota ÷ reps; a quarter's quota
counts a third a month, a month's three times a quarter), what they have won of it, what their
open deals closing by then are worth weighted, and what it takes: deals to win
(remaining ÷ average deal size), leads (deals ÷ win rate), and more deals in the pipeline to
cover the shortfall (shortfall ÷ (average deal size × win rate)). Win rate, average deal size
and cycle length are the member's own over the last 180 days when they closed at least
:data:`MIN_OWN_CLOSED` deals, else the team's (and it says so). Then the three deals to work
first: stalled first, then by weighted amount per day left to the expected close.

Amounts are the workspace currency's (deals in other currencies are not added in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from domain import quotas as q
from domain.due_times import local
from domain.metrics.rates import Rates, grouped_rates
from domain.metrics.sql import _raw
from domain.stall import stalled_condition
from storage.models import Deal, Member, Outcome, Role, Stage, Workspace
from storage.types import from_hundredths

LOOKBACK_DAYS = 180
MIN_OWN_CLOSED = 5
FOCUS = 3
NO_CLOSE_DAYS = 90  # a deal without a close date counts as this far away
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Target:
    span: q.Span
    amount: Decimal | None  # None: no quota set for the member or the team
    source: str  # "own" | "team" | "none"
    won: Decimal = ZERO
    open_count: int = 0  # open deals expected to close before the span ends
    open_weighted: Decimal = ZERO

    @property
    def remaining(self) -> Decimal | None:
        return None if self.amount is None else max(ZERO, self.amount - self.won)

    @property
    def shortfall(self) -> Decimal | None:
        """What the open deals closing in time do not cover, weighted."""
        remaining = self.remaining
        return None if remaining is None else max(ZERO, remaining - self.open_weighted)


@dataclass(frozen=True)
class Numbers:
    win_rate: Decimal | None
    avg_deal_size: Decimal | None
    cycle_days: float | None
    own: bool  # the member's own figures (else the team's)


@dataclass(frozen=True)
class Needs:
    deals: int  # to win
    leads: int  # deals ÷ win rate (the plan formula)
    more_deals: int  # new deals to cover the shortfall at this win rate and size


@dataclass(frozen=True)
class FocusDeal:
    number: int
    title: str
    amount: Decimal
    currency: str
    stage: str
    weighted: Decimal
    close: date | None
    stalled: bool


@dataclass(frozen=True)
class Coaching:
    member_id: int
    slack_user_id: str
    name: str
    month: Target
    quarter: Target
    numbers: Numbers
    focus: tuple[FocusDeal, ...]
    today: date

    def needs(self, target: Target) -> Needs | None:
        rate, size = self.numbers.win_rate, self.numbers.avg_deal_size
        remaining, shortfall = target.remaining, target.shortfall
        if remaining is None or shortfall is None or not rate or not size:
            return None
        deals = math.ceil(remaining / size)
        return Needs(
            deals=deals,
            leads=math.ceil(Decimal(deals) / rate),
            more_deals=math.ceil(shortfall / (size * rate)),
        )

    @property
    def closes_around(self) -> date | None:
        """When a deal opened today would be won, at this cycle length."""
        cycle = self.numbers.cycle_days
        return None if cycle is None else self.today + timedelta(days=round(cycle))


def reps(*, session: Session, workspace: Workspace) -> list[Member]:
    """Who the coach coaches and a team quota is divided among: the reps (everyone when the
    workspace has no rep yet), by name."""
    members = list(session.exec(select(Member).where(Member.workspace_id == workspace.id)))
    chosen = [m for m in members if m.role == Role.rep] or members
    return sorted(chosen, key=lambda m: (m.name or m.slack_user_id, m.id))


def coach(
    *, session: Session, workspace: Workspace, member: Member, now: datetime, team_size: int
) -> Coaching:
    zone = ZoneInfo(workspace.timezone)
    today = now.astimezone(zone).date()
    month, quarter = q.month_of(today), q.quarter_of(today)
    quotas = q.quotas_for(
        session=session, workspace_id=workspace.id, labels=[month.label, quarter.label]
    )
    month_amount, month_source = _target(quotas, member, month, quarter, team_size)
    quarter_amount, quarter_source = _target(quotas, member, quarter, month, team_size)
    return Coaching(
        member_id=member.id,
        slack_user_id=member.slack_user_id,
        name=member.name or member.slack_user_id,
        month=_progress(session, workspace, member, month, month_amount, month_source, zone),
        quarter=_progress(
            session, workspace, member, quarter, quarter_amount, quarter_source, zone
        ),
        numbers=_numbers(session, workspace, member, now),
        focus=tuple(_focus(session, workspace, member, now, today)),
        today=today,
    )


def _target(quotas, member, span: q.Span, other: q.Span, team_size: int):
    """The member's quota for ``span``; else the team's ÷ reps; else derived from the other
    span (a quarter's third, a month's triple)."""

    def direct(s: q.Span):
        own = quotas.get((q.scope_of(member), s.label))
        if own is not None:
            return own, "own"
        team = quotas.get((q.TEAM, s.label))
        if team is not None:
            return (team / max(1, team_size)).quantize(Decimal("0.01")), "team"
        return None, "none"

    amount, source = direct(span)
    if amount is None:
        amount, source = direct(other)
        if amount is not None:
            factor = Decimal(3) if span.is_quarter else Decimal(1) / 3
            amount = (amount * factor).quantize(Decimal("0.01"))
    return amount, source


def _progress(session, workspace, member, span, amount, source, zone) -> Target:
    mine = [
        Deal.workspace_id == workspace.id,
        Deal.owner_id == member.id,
        Deal.currency == workspace.currency,
    ]
    won = session.execute(
        sa.select(sa.func.sum(_raw(Deal.amount)))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            *mine,
            Stage.outcome == Outcome.won.value,
            Deal.closed_at >= local(span.start, time.min, zone),
            Deal.closed_at < local(span.end, time.min, zone),
        )
    ).scalar()
    rows = session.execute(
        sa.select(Stage.probability, sa.func.count(), sa.func.sum(_raw(Deal.amount)))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            *mine,
            Deal.closed_at.is_(None),
            Stage.outcome == Outcome.open.value,
            Deal.expected_close.is_not(None),
            Deal.expected_close < span.end,
        )
        .group_by(Stage.probability)
    ).all()
    count = sum(int(n) for _, n, _ in rows)
    weighted = sum((from_hundredths(Decimal(int(raw or 0)) * p / 100) for p, _, raw in rows), ZERO)
    return Target(
        span=span,
        amount=amount,
        source=source,
        won=from_hundredths(int(won or 0)),
        open_count=count,
        open_weighted=weighted.quantize(Decimal("0.01")),
    )


def _numbers(session, workspace, member, now) -> Numbers:
    groups = grouped_rates(
        session=session,
        workspace_id=workspace.id,
        start=now - timedelta(days=LOOKBACK_DAYS),
        end=now,
        by="owner",
        open_deals=False,
    )
    own = groups.groups.get(member.id, Rates())
    use, is_own = (
        (own, True)
        if own.won_count + own.lost_count >= MIN_OWN_CLOSED
        else (
            groups.total,
            False,
        )
    )
    return Numbers(use.win_rate, use.avg_deal_size, use.cycle_days, is_own)


def _focus(session, workspace, member, now, today) -> list[FocusDeal]:
    stages = session.execute(
        sa.select(Stage.id, Stage.stall_days).where(
            Stage.workspace_id == workspace.id, Stage.outcome == Outcome.open.value
        )
    ).all()
    stalled = stalled_condition([(s, d) for s, d in stages], workspace=workspace, now=now)
    rows = session.execute(
        sa.select(
            Deal.number,
            Deal.title,
            Deal.amount,
            Deal.currency,
            Stage.name,
            Stage.probability,
            Deal.expected_close,
            sa.case((stalled, True), else_=False),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.workspace_id == workspace.id,
            Deal.owner_id == member.id,
            Deal.closed_at.is_(None),
            Stage.outcome == Outcome.open.value,
        )
        .order_by(Deal.amount.desc(), Deal.number)
        .limit(1000)
    ).all()
    deals = [
        FocusDeal(
            number=number,
            title=title,
            amount=amount,
            currency=currency,
            stage=stage,
            weighted=(amount * probability / 100).quantize(Decimal("0.01")),
            close=close,
            stalled=bool(is_stalled),
        )
        for number, title, amount, currency, stage, probability, close, is_stalled in rows
    ]

    def urgency(d: FocusDeal):
        days = NO_CLOSE_DAYS if d.close is None else max(1, (d.close - today).days)
        return (not d.stalled, -(d.weighted / days), d.number)

    return sorted(deals, key=urgency)[:FOCUS]
