"""docs/metrics.md rates and the ``/pipeline metrics`` report.

The §2 formulas live here once, in :class:`Rates`: average deal size, win rate, sales cycle,
average open-deal age and pipeline velocity, from sums that add up exactly across groups.
:func:`grouped_rates` reads those sums for every pipeline or every owner in two grouped
queries; :func:`metrics` uses it per owner (its per-rep table, and the totals), the weekly
summary per pipeline (:mod:`domain.weekly`), and :func:`win_stats` (the plan) reads the
closed half.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain import money
from domain.metrics.sql import (
    DAY_SECONDS,
    ZERO,
    _deal_filters,
    _dialect,
    _epoch,
    _money,
    _open_filters,
    _ratio,
    _raw,
    _utc,
    _weighted,
)
from domain.metrics.stages import StageStat, bottlenecks, stage_stats
from domain.money import Tally
from storage.models import Deal, Lead, Member, Outcome, Stage
from storage.types import CENT, from_hundredths

GroupBy = Literal["pipeline", "owner"]


@dataclass
class Rates:
    """The §2 rates of a group of deals (a pipeline, an owner, or all of them).

    Open figures are "now"; won and lost ones are for the period asked. Fields are sums
    (money as raw hundredths, times as seconds), so groups add up exactly; the rates are
    derived from them, None when there is nothing to divide by.
    """

    open_count: int = 0
    open_raw: int = 0  # Σ amount of open deals, hundredths
    weighted: Decimal = ZERO  # Σ amount × probability / 100 of open deals
    created_sum: float = 0.0  # Σ creation time of open deals, seconds since 1970
    won_count: int = 0
    won_raw: int = 0  # Σ amount of deals won, hundredths
    won_seconds: float = 0.0  # Σ creation → won of deals won, seconds
    lost_count: int = 0
    lost_raw: int = 0  # Σ amount of deals lost, hundredths
    # Deals won whose amount is in ``won_raw`` (a currency without a rate is left out of the
    # sums, domain.money): the average deal size divides by these.
    won_priced: int = 0

    @property
    def open_amount(self) -> Decimal:
        return _money(self.open_raw)

    @property
    def won_amount(self) -> Decimal:
        return _money(self.won_raw)

    @property
    def lost_amount(self) -> Decimal:
        return _money(self.lost_raw)

    @property
    def avg_deal_size(self) -> Decimal | None:
        """Mean amount of the deals won."""
        n = self.won_priced
        return from_hundredths(Decimal(self.won_raw) / n) if n else None

    @property
    def win_rate(self) -> Decimal | None:
        """won / (won + lost)."""
        return _ratio(self.won_count, self.won_count + self.lost_count)

    @property
    def cycle_days(self) -> float | None:
        """Mean days from creation to won, of the deals won."""
        return self.won_seconds / self.won_count / DAY_SECONDS if self.won_count else None

    def open_age_days(self, now: datetime) -> float | None:
        """Mean days from creation to ``now`` of the open deals."""
        if not self.open_count:
            return None
        return (now.timestamp() - self.created_sum / self.open_count) / DAY_SECONDS

    @property
    def velocity_per_day(self) -> Decimal | None:
        """Open deals × win rate × average deal size / sales cycle."""
        rate, size, cycle = self.win_rate, self.avg_deal_size, self.cycle_days
        if rate is None or size is None or not cycle:
            return None
        velocity = Decimal(self.open_count) * rate * size / Decimal(str(cycle))
        return velocity.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class RateGroups:
    """:class:`Rates` per group (pipeline or owner id; None: deals without an owner), and all
    of them together (summed in the order the rows came, as one total would be)."""

    groups: dict[int | None, Rates]
    total: Rates


def grouped_rates(
    *,
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    by: GroupBy,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
    open_deals: bool = True,
    tally: Tally | None = None,
) -> RateGroups:
    """The sums behind :class:`Rates` per pipeline or per owner: open deals now (one query,
    grouped with the stage probability for the weighted amount) and deals closed in
    ``[start, end)`` (one query, grouped with the outcome). Definitions in :func:`metrics`.
    ``open_deals=False`` skips the open half (the plan measures only closed deals). Amounts
    are read per currency and converted through ``tally`` (:mod:`domain.money`).
    """
    start, end = _utc(start), _utc(end)
    tally = tally or money.tally(session=session, workspace_id=workspace_id)
    dialect = _dialect(session)
    key = {"pipeline": Deal.pipeline_id, "owner": Deal.owner_id}[by]
    deal_f = _deal_filters(workspace_id, pipeline_id, owner_id)
    groups: dict[int | None, Rates] = {}
    total = Rates()

    if open_deals:
        open_rows = session.execute(
            sa.select(
                key,
                Stage.probability,
                Deal.currency,
                sa.func.count(),
                sa.func.sum(_raw(Deal.amount)),
                sa.func.sum(_epoch(Deal.created_at, dialect)),
            )
            .join(Stage, Stage.id == Deal.stage_id)
            .where(*deal_f, *_open_filters(session, workspace_id, pipeline_id))
            .group_by(key, Stage.probability, Deal.currency)
        ).all()
        fold_open(groups, total, open_rows, tally)

    duration = _epoch(Deal.closed_at, dialect) - _epoch(Deal.created_at, dialect)
    closed_rows = session.execute(
        sa.select(
            key,
            Stage.outcome,
            Deal.currency,
            sa.func.count(),
            sa.func.sum(_raw(Deal.amount)),
            sa.func.sum(duration),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            *deal_f,
            Deal.closed_at >= start,
            Deal.closed_at < end,
            Stage.outcome.in_([Outcome.won.value, Outcome.lost.value]),
        )
        .group_by(key, Stage.outcome, Deal.currency)
    ).all()
    for group, outcome, currency, n, raw, seconds in closed_rows:
        priced = int(n) if tally.rated(currency) else 0
        raw = tally.raw(raw, currency, n, "won" if outcome == Outcome.won.value else "lost")
        for r in (groups.setdefault(group, Rates()), total):
            if outcome == Outcome.won.value:
                r.won_count += int(n)
                r.won_priced += priced
                r.won_raw += int(raw or 0)
                r.won_seconds += float(seconds or 0)
            else:
                r.lost_count += int(n)
                r.lost_raw += int(raw or 0)
    return RateGroups(groups, total)


def fold_open(groups: dict[int | None, Rates], total: Rates | None, rows, tally: Tally) -> None:
    """Add open deals' grouped sums ``(group, probability, currency, count, raw amount, Σ
    creation epochs)`` to ``groups`` (and ``total``), each row converted through ``tally``."""
    for group, probability, currency, n, raw, epochs in rows:
        raw = tally.raw(raw, currency, n)
        weighted = _weighted(raw, probability)
        for r in (groups.setdefault(group, Rates()), total or Rates()):
            r.open_count += int(n)
            r.open_raw += int(raw or 0)
            r.weighted += weighted
            r.created_sum += float(epochs or 0)


@dataclass(frozen=True)
class RepRow:
    """One owner's line of the per-rep table; ``owner_id`` None is the unassigned deals."""

    owner_id: int | None
    name: str | None
    slack_user_id: str | None
    open_count: int = 0
    open_amount: Decimal = ZERO
    weighted: Decimal = ZERO
    won_count: int = 0
    won_amount: Decimal = ZERO
    lost_count: int = 0
    win_rate: Decimal | None = None


@dataclass(frozen=True)
class Metrics:
    """docs/metrics.md for one workspace, pipeline (None: all deal pipelines), owner and period."""

    start: datetime
    end: datetime
    now: datetime
    pipeline_id: int | None = None
    owner_id: int | None = None
    # leads created in the period
    lead_count: int = 0
    qualified_leads: int = 0
    mql_to_sql: Decimal | None = None
    # deals closed in the period
    won_count: int = 0
    won_amount: Decimal = ZERO
    lost_count: int = 0
    avg_deal_size: Decimal | None = None
    win_rate: Decimal | None = None
    sales_cycle_days: float | None = None  # mean, created -> won
    sales_cycle_median_days: float | None = None
    # open deals, at ``now``
    open_count: int = 0
    open_amount: Decimal = ZERO
    avg_open_age_days: float | None = None
    weighted_forecast: Decimal = ZERO
    velocity_per_day: Decimal | None = None
    # stage_history
    stages: tuple[StageStat, ...] = ()
    bottleneck_conversion: StageStat | None = None
    bottleneck_time: StageStat | None = None
    reps: tuple[RepRow, ...] = field(default_factory=tuple)


def metrics(
    *,
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
    tally: Tally | None = None,
) -> Metrics:
    """docs/metrics.md for deals of the workspace (optionally one pipeline / one owner).

    Definitions, for the period ``[start, end)``:

    - **lead count**: leads created in the period (owner filter applies; leads belong to no deal
      pipeline, so the pipeline filter does not).
    - **MQL→SQL** (``mql_to_sql``): of the leads created in the period, the share that are now
      qualified: their status has the ``won`` outcome (default ``SQL``) or they were converted
      into a deal. None without leads.
    - **average deal size**: mean amount of deals won in the period.
    - **win rate**: won / (won + lost), deals closed in the period.
    - **sales cycle**: mean and median days from ``created_at`` to ``closed_at`` of deals won in
      the period (median in SQL on both databases, see :func:`_median_cycle`).
    - **average open-deal age**: mean days from ``created_at`` to ``now`` of open deals.
    - **pipeline velocity** (per day) = open deals × win rate × average deal size / sales cycle.
    - **weighted forecast**: Σ amount × probability / 100 over open deals.
    - **stage conversion** (per open stage k, from ``stage_history``): ``entered`` = deals with a
      history row into k dated in the period; ``progressed`` = those of them with a later row
      (later in time; ties broken by row id) into a *later stage* of the same pipeline: an open
      stage with a higher position, or any ``won`` stage. Moves backwards and into ``lost`` are
      not progress. ``conversion`` = progressed / entered. (Deals count in k only through
      history rows; the deal module records one when a deal is created.) "Later stage" is judged
      by the move itself, with the stage order of that moment (``stage_history.progressed``):
      reordering a pipeline's stages afterwards does not rewrite what happened.
    - **time in stage** (per open stage): each stay runs from its history row to the deal's next
      history row, or to ``now`` when it is the current stage of an open deal; stays that
      overlap the period are averaged.
    - **bottleneck**: the stage with the lowest conversion (``bottleneck_conversion``) and the
      one with the longest mean time in stage (``bottleneck_time``); ties go to the earlier stage.
    - **per rep**: per owner, open count / amount / weighted now, won count / amount, lost count
      and win rate in the period; sorted by weighted amount, then won amount.
    """
    start, end, now = _utc(start), _utc(end), _utc(now)
    dialect = _dialect(session)
    deal_f = _deal_filters(workspace_id, pipeline_id, owner_id)

    # Leads created in the period.
    lead_q = (
        sa.select(
            sa.func.count(),
            sa.func.sum(
                sa.case(
                    (sa.or_(Stage.outcome == Outcome.won.value, Lead.deal_id.is_not(None)), 1),
                    else_=0,
                )
            ),
        )
        .select_from(Lead)
        .join(Stage, Stage.id == Lead.status_id)
        .where(Lead.workspace_id == workspace_id, Lead.created_at >= start, Lead.created_at < end)
    )
    if owner_id is not None:
        lead_q = lead_q.where(Lead.owner_id == owner_id)
    lead_count, qualified = session.execute(lead_q).one()
    lead_count, qualified = int(lead_count or 0), int(qualified or 0)

    # Open deals now and deals closed in the period, per owner.
    by_owner = grouped_rates(
        session=session,
        workspace_id=workspace_id,
        start=start,
        end=end,
        by="owner",
        pipeline_id=pipeline_id,
        owner_id=owner_id,
        tally=tally,
    )
    rates = by_owner.total
    won = rates.won_count
    median = _median_cycle(session, dialect, deal_f, start, end, won) if won else None

    stages = stage_stats(
        session=session,
        workspace_id=workspace_id,
        start=start,
        end=end,
        now=now,
        pipeline_id=pipeline_id,
        owner_id=owner_id,
    )
    bottleneck_conv, bottleneck_time = bottlenecks(stages)

    return Metrics(
        start=start,
        end=end,
        now=now,
        pipeline_id=pipeline_id,
        owner_id=owner_id,
        lead_count=lead_count,
        qualified_leads=qualified,
        mql_to_sql=_ratio(qualified, lead_count),
        won_count=won,
        won_amount=rates.won_amount,
        lost_count=rates.lost_count,
        avg_deal_size=rates.avg_deal_size,
        win_rate=rates.win_rate,
        sales_cycle_days=rates.cycle_days,
        sales_cycle_median_days=median,
        open_count=rates.open_count,
        open_amount=rates.open_amount,
        avg_open_age_days=rates.open_age_days(now),
        weighted_forecast=rates.weighted,
        velocity_per_day=rates.velocity_per_day,
        stages=tuple(stages),
        bottleneck_conversion=bottleneck_conv,
        bottleneck_time=bottleneck_time,
        reps=tuple(_rep_rows(session, workspace_id, by_owner.groups)),
    )


def _median_cycle(
    session: Session, dialect: str, deal_f: list, start: datetime, end: datetime, won: int
) -> float | None:
    """Median days created -> won of the ``won`` deals won in the period, in SQL.

    PostgreSQL has ``percentile_cont``; SQLite has no percentile, so it sorts the durations and
    reads the one or two middle values (``LIMIT 2 OFFSET (n - 1) / 2``): two rows travel, not n.
    """
    duration = _epoch(Deal.closed_at, dialect) - _epoch(Deal.created_at, dialect)
    where = [
        *deal_f,
        Deal.closed_at >= start,
        Deal.closed_at < end,
        Stage.outcome == Outcome.won.value,
    ]
    base = sa.select(duration).select_from(Deal).join(Stage, Stage.id == Deal.stage_id)
    if dialect == "postgresql":
        q = (
            sa.select(sa.func.percentile_cont(0.5).within_group(duration))
            .select_from(Deal)
            .join(Stage, Stage.id == Deal.stage_id)
            .where(*where)
        )
        value = session.execute(q).scalar()
        return None if value is None else float(value) / DAY_SECONDS
    middle = [
        float(v)
        for (v,) in session.execute(
            base.where(*where).order_by(duration).limit(2 - won % 2).offset((won - 1) // 2)
        ).all()
    ]
    return statistics.fmean(middle) / DAY_SECONDS if middle else None


def _rep_rows(session: Session, workspace_id: int, reps: dict[int | None, Rates]) -> list[RepRow]:
    ids = [i for i in reps if i is not None]
    members: dict[int, tuple[str, str]] = {}
    if ids:  # plain columns, not ORM objects: a team of 1,000 reps is 1,000 rows
        members = {
            mid: (name, slack_id)
            for mid, name, slack_id in session.execute(
                sa.select(Member.id, Member.name, Member.slack_user_id).where(
                    Member.workspace_id == workspace_id, Member.id.in_(ids)
                )
            ).all()
        }
    rows = []
    for owner, r in reps.items():
        name, slack_id = members.get(owner, (None, None))
        rows.append(
            RepRow(
                owner_id=owner,
                name=name,
                slack_user_id=slack_id,
                open_count=r.open_count,
                open_amount=r.open_amount,
                weighted=r.weighted,
                won_count=r.won_count,
                won_amount=r.won_amount,
                lost_count=r.lost_count,
                win_rate=r.win_rate,
            )
        )
    rows.sort(key=lambda r: (-r.weighted, -r.won_amount, r.name or "\uffff", r.owner_id or 0))
    return rows


#: What the plan measures when not told: the closed half of :class:`Rates` (won count and
#: amount, lost count, average deal size, win rate).
WinStats = Rates


def win_stats(
    *,
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
    tally: Tally | None = None,
) -> WinStats:
    """Won count and amount, lost count, of deals closed in ``[start, end)`` (one query).

    The same definitions as :func:`metrics`, without its open deals and stage history.
    """
    return grouped_rates(
        session=session,
        workspace_id=workspace_id,
        start=start,
        end=end,
        by="owner",
        pipeline_id=pipeline_id,
        owner_id=owner_id,
        open_deals=False,
        tally=tally,
    ).total
