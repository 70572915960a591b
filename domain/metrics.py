"""The metrics engine: the board, PRODUCT.md §2 metrics, the forecast and the plan.

Everything is computed with SQL aggregates (``GROUP BY`` / ``SUM`` / ``COUNT`` / ``AVG``) in the
database; no function here loads every deal into Python, so a workspace with a million deals
costs a handful of grouped queries. Results are small frozen dataclasses the views render.

Conventions shared by every function:

- **Open deal**: ``closed_at IS NULL`` and its stage's outcome is ``open``.
- **Won / lost in a period**: ``start <= closed_at < end`` and the deal's (current) stage outcome is
  ``won`` / ``lost``. Periods are half-open ``[start, end)`` of aware UTC datetimes.
- **Money**: amounts are summed exactly as integer hundredths (:class:`storage.types.Money`).
  Weighted amounts are ``SUM(amount)`` per stage times that stage's probability / 100, so the
  database never multiplies money (exact, and no 64-bit overflow on SQLite). A workspace's deals
  are assumed to be in the workspace currency: amounts of different currencies are added as they
  are (there is no conversion table); the views label totals with the workspace currency.
- **Undefined is None**: a ratio or mean with nothing to measure (no closed deals, no open deals,
  no history) is ``None``, never a ``ZeroDivisionError``; the views render it as ``—``. Counts and
  sums of nothing are ``0``.
- **Days** are calendar days as floats (seconds / 86,400).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from domain.stall import stalled_condition
from storage.models import (
    Deal,
    Lead,
    Member,
    Outcome,
    Pipeline,
    PipelineKind,
    Stage,
    StageHistory,
    Workspace,
)
from storage.types import CENT, from_hundredths

DAY_SECONDS = 86400.0
ZERO = Decimal(0).quantize(CENT)
_UNIX_JULIAN_DAY = 2440587.5  # julianday('1970-01-01')


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardStage:
    """One open stage of a pipeline board."""

    stage_id: int
    name: str
    position: int
    probability: int
    stall_days: int | None
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO  # amount × probability / 100
    stalled: int = 0


@dataclass(frozen=True)
class Board:
    pipeline_id: int
    pipeline_name: str
    now: datetime
    stages: tuple[BoardStage, ...] = ()

    @property
    def count(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def amount(self) -> Decimal:
        return sum((s.amount for s in self.stages), ZERO)

    @property
    def weighted(self) -> Decimal:
        return sum((s.weighted for s in self.stages), ZERO)

    @property
    def stalled(self) -> int:
        return sum(s.stalled for s in self.stages)


@dataclass(frozen=True)
class StageStat:
    """Conversion and time-in-stage of one open stage (see :func:`metrics`)."""

    stage_id: int
    pipeline_id: int
    name: str
    position: int
    entered: int = 0  # deals that entered the stage in the period
    progressed: int = 0  # ... of which later entered a later stage
    conversion: Decimal | None = None  # progressed / entered
    stays: int = 0  # stays in the stage overlapping the period
    mean_days_in_stage: float | None = None


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
    """PRODUCT.md §2 for one workspace, pipeline (None: all deal pipelines), owner and period."""

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


@dataclass(frozen=True)
class ForecastRow:
    """Open deals expected to close in one month / quarter.

    ``period_label`` is canonical (``2026-12``, ``2026-Q4``; ``""`` for the no-date row, whose
    ``start_date`` is None); views turn it into words. ``overdue_count`` counts the row's deals whose
    expected close date is already before today (in the workspace timezone).
    """

    period_label: str
    start_date: date | None
    count: int
    amount: Decimal
    weighted: Decimal
    overdue_count: int = 0


@dataclass(frozen=True)
class Plan:
    """PRODUCT.md §2 ideal pipeline size; ``per_rep`` is None when no rep count was given."""

    deals_needed: int
    leads_needed: int
    per_rep: int | None


# --- SQL helpers -------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _raw(col: Any) -> Any:
    """A Money column as its stored integer hundredths (exact to sum)."""
    return sa.type_coerce(col, sa.BigInteger)


def _epoch(col: Any, dialect: str) -> Any:
    """Seconds since 1970 of a UTC datetime column, as a float, on either database."""
    if dialect == "postgresql":
        # date_part gives double precision; EXTRACT gives numeric, twice as slow to sum.
        return sa.func.date_part("epoch", col, type_=sa.Float)
    # SQLite keeps naive UTC text; julianday() reads it.
    return (sa.func.julianday(col) - _UNIX_JULIAN_DAY) * DAY_SECONDS


def period_key(col: Any, by: str, dialect: str) -> Any:
    """``YYYY-MM`` (month) or ``YYYY-QN`` (quarter) of a DATE column, in SQL; NULL stays NULL."""
    if by not in ("month", "quarter"):
        raise ValueError(f"unknown forecast grouping {by!r}")
    if dialect == "postgresql":
        return sa.func.to_char(col, "YYYY-MM" if by == "month" else 'YYYY-"Q"Q')
    if by == "month":
        return sa.func.strftime("%Y-%m", col)
    quarter = (sa.cast(sa.func.strftime("%m", col), sa.Integer) + 2) // 3
    return sa.func.strftime("%Y", col) + "-Q" + sa.cast(quarter, sa.String)


def _parse_key(key: str | None) -> date | None:
    if not key:
        return None
    year, rest = key.split("-", 1)
    if rest.startswith("Q"):
        return date(int(year), 3 * int(rest[1:]) - 2, 1)
    return date(int(year), int(rest), 1)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("metrics need aware datetimes")
    return dt.astimezone(UTC)


def _ratio(num: int, den: int) -> Decimal | None:
    return Decimal(num) / Decimal(den) if den else None


def _weighted(raw_sum: Any, probability: int) -> Decimal:
    """Raw hundredths summed in one stage × that stage's probability %."""
    return from_hundredths(Decimal(raw_sum or 0) * probability, scale=100)


def _money(raw_sum: Any) -> Decimal:
    return from_hundredths(raw_sum or 0)


def _deal_filters(workspace_id: int, pipeline_id: int | None, owner_id: int | None) -> list:
    conds = [Deal.workspace_id == workspace_id]
    if pipeline_id is not None:
        conds.append(Deal.pipeline_id == pipeline_id)
    if owner_id is not None:
        conds.append(Deal.owner_id == owner_id)
    return conds


def _open_filters(session: Session, workspace_id: int, pipeline_id: int | None = None) -> list:
    """Open deals (of one pipeline). The pipeline is also spelled as ``stage_id IN (its open
    stages)``, as literal ids, so the database walks ``ix_deal_open_stage`` by stage instead of
    scanning every open deal of the workspace for each pipeline, and PostgreSQL's planner sees
    which stages (with a subquery it guessed a few hundred rows and left the covering index)."""
    conds = [Deal.closed_at.is_(None), Stage.outcome == Outcome.open.value]
    if pipeline_id is not None:
        stages = _deal_stages(session, workspace_id, pipeline_id)
        conds.append(
            Deal.stage_id.in_([s.id for s, _ in stages if s.outcome == Outcome.open.value])
        )
    return conds


def _deal_stages(
    session: Session, workspace_id: int, pipeline_id: int | None
) -> list[tuple[Stage, Pipeline]]:
    """Stages of the deal pipelines (or one pipeline), in pipeline then stage order."""
    q = (
        sa.select(Stage, Pipeline)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .where(Stage.workspace_id == workspace_id, Pipeline.kind == PipelineKind.deal.value)
        .order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)
    )
    if pipeline_id is not None:
        q = q.where(Stage.pipeline_id == pipeline_id)
    return [(s, p) for s, p in session.execute(q).all()]


# --- the board ---------------------------------------------------------------------------


def board(*, session: Session, workspace_id: int, pipeline_id: int, now: datetime) -> Board:
    """Per open stage, in position order: deal count, amount, weighted amount, stalled count.

    "Stalled" is exactly :func:`domain.stall.stall_status` (the clock of ``/deal list stalled``
    and the scheduler's warnings), spelled in SQL by :func:`domain.stall.stalled_condition` so
    the count stays an aggregate: calendar days, or business days with the workspace's
    holidays when the workspace counts those; a deal snoozed until a date after today is not
    stalled. One grouped query per pipeline.
    """
    now = _utc(now)
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None or pipeline.workspace_id != workspace_id:
        raise NotFound("reports.pipeline_gone")
    stages = [
        s
        for s, _ in _deal_stages(session, workspace_id, pipeline_id)
        if s.outcome == Outcome.open.value
    ]
    if not stages:
        return Board(pipeline.id, pipeline.name, now)
    ws = session.get(Workspace, workspace_id)
    stalled = stalled_condition([(s.id, s.stall_days) for s in stages], workspace=ws, now=now)
    rows = session.execute(
        sa.select(
            Deal.stage_id,
            sa.func.count(),
            sa.func.sum(_raw(Deal.amount)),
            sa.func.sum(sa.case((stalled, 1), else_=0)),
        )
        .where(
            Deal.workspace_id == workspace_id,
            Deal.pipeline_id == pipeline_id,
            Deal.closed_at.is_(None),
            Deal.stage_id.in_([s.id for s in stages]),
        )
        .group_by(Deal.stage_id)
    ).all()
    by_stage = {sid: (n, raw, stalled) for sid, n, raw, stalled in rows}
    out = []
    for s in stages:
        n, raw, stalled_n = by_stage.get(s.id, (0, 0, 0))
        out.append(
            BoardStage(
                stage_id=s.id,
                name=s.name,
                position=s.position,
                probability=s.probability,
                stall_days=s.stall_days,
                count=int(n),
                amount=_money(raw),
                weighted=_weighted(raw, s.probability),
                stalled=int(stalled_n or 0),
            )
        )
    return Board(pipeline.id, pipeline.name, now, tuple(out))


# --- §2 metrics --------------------------------------------------------------------------


def metrics(
    *,
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
) -> Metrics:
    """PRODUCT.md §2 for deals of the workspace (optionally one pipeline / one owner).

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

    # Open deals now, per owner and stage probability.
    open_rows = session.execute(
        sa.select(
            Deal.owner_id,
            Stage.probability,
            sa.func.count(),
            sa.func.sum(_raw(Deal.amount)),
            sa.func.sum(_epoch(Deal.created_at, dialect)),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(*deal_f, *_open_filters(session, workspace_id, pipeline_id))
        .group_by(Deal.owner_id, Stage.probability)
    ).all()

    # Deals closed in the period, per owner and outcome.
    duration = _epoch(Deal.closed_at, dialect) - _epoch(Deal.created_at, dialect)
    closed_rows = session.execute(
        sa.select(
            Deal.owner_id,
            Stage.outcome,
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
        .group_by(Deal.owner_id, Stage.outcome)
    ).all()

    reps: dict[int | None, dict[str, Any]] = {}

    def rep(owner: int | None) -> dict[str, Any]:
        return reps.setdefault(
            owner,
            {"open": 0, "open_raw": 0, "weighted": ZERO, "won": 0, "won_raw": 0, "lost": 0},
        )

    open_count, open_raw, weighted, created_sum = 0, 0, ZERO, 0.0
    for owner, prob, n, raw, epochs in open_rows:
        r = rep(owner)
        r["open"] += n
        r["open_raw"] += raw or 0
        w = _weighted(raw, prob)
        r["weighted"] += w
        open_count += n
        open_raw += raw or 0
        weighted += w
        created_sum += float(epochs or 0)

    won, won_raw, lost, won_seconds = 0, 0, 0, 0.0
    for owner, outcome, n, raw, seconds in closed_rows:
        r = rep(owner)
        if outcome == Outcome.won.value:
            r["won"] += n
            r["won_raw"] += raw or 0
            won += n
            won_raw += raw or 0
            won_seconds += float(seconds or 0)
        else:
            r["lost"] += n
            lost += n

    avg_deal = from_hundredths(Decimal(won_raw) / won) if won else None
    win_rate = _ratio(won, won + lost)
    cycle = won_seconds / won / DAY_SECONDS if won else None
    median = _median_cycle(session, dialect, deal_f, start, end, won) if won else None
    age = (now.timestamp() - created_sum / open_count) / DAY_SECONDS if open_count else None
    velocity = None
    if win_rate is not None and avg_deal is not None and cycle:
        velocity = (Decimal(open_count) * win_rate * avg_deal / Decimal(str(cycle))).quantize(
            CENT, ROUND_HALF_UP
        )

    stages = stage_stats(
        session=session,
        workspace_id=workspace_id,
        start=start,
        end=end,
        now=now,
        pipeline_id=pipeline_id,
        owner_id=owner_id,
    )
    with_conv = [s for s in stages if s.conversion is not None]
    with_time = [s for s in stages if s.mean_days_in_stage is not None]
    bottleneck_conv = min(with_conv, key=lambda s: s.conversion) if with_conv else None
    bottleneck_time = max(with_time, key=lambda s: s.mean_days_in_stage) if with_time else None

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
        won_amount=_money(won_raw),
        lost_count=lost,
        avg_deal_size=avg_deal,
        win_rate=win_rate,
        sales_cycle_days=cycle,
        sales_cycle_median_days=median,
        open_count=open_count,
        open_amount=_money(open_raw),
        avg_open_age_days=age,
        weighted_forecast=weighted,
        velocity_per_day=velocity,
        stages=tuple(stages),
        bottleneck_conversion=bottleneck_conv,
        bottleneck_time=bottleneck_time,
        reps=tuple(_rep_rows(session, workspace_id, reps)),
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


def stage_stats(
    *,
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
) -> list[StageStat]:
    """Conversion and mean time in stage per open stage (definitions in :func:`metrics`);
    three grouped index-range queries over ``stage_history``."""
    start, end, now = _utc(start), _utc(end), _utc(now)
    dialect = _dialect(session)
    stages = [
        (s, p)
        for s, p in _deal_stages(session, workspace_id, pipeline_id)
        if s.outcome == Outcome.open.value
    ]
    if not stages:
        return []
    ids = [s.id for s, _ in stages]
    h = StageHistory
    where = [h.workspace_id == workspace_id, h.to_stage_id.in_(ids)]
    if owner_id is not None:
        owned = sa.select(Deal.id).where(
            Deal.workspace_id == workspace_id, Deal.owner_id == owner_id
        )
        where.append(h.deal_id.in_(owned))

    # Conversion: deals that entered each stage in the period, and how many of them went on to
    # a later stage (``progressed``, written by the move that did it). A deal counts once: by
    # its first entry into the stage within the period (no earlier entry since ``start``). An
    # earlier entry sees every later move of a later one, so if any of the deal's entries in
    # the period led on, its first did: summing ``progressed`` over first entries is exact.
    first = sa.or_(h.prev_entry_at.is_(None), h.prev_entry_at < start)
    entered = session.execute(
        sa.select(
            h.to_stage_id,
            sa.func.count(),
            sa.func.sum(sa.case((h.progressed, 1), else_=0)),
        )
        .where(*where, h.at >= start, h.at < end, first)
        .group_by(h.to_stage_id)
    ).all()
    conv = {sid: (int(n or 0), int(p or 0)) for sid, n, p in entered}

    # Time in stage: stays that overlap the period — ended ones (left in or after the period,
    # entered before its end) and the current ones, which run to ``now``. A current stay in an
    # open stage is always an open deal's (a move out of it sets ``left_at``).
    t0 = _epoch(h.at, dialect)
    ended = session.execute(
        sa.select(h.to_stage_id, sa.func.count(), sa.func.sum(_epoch(h.left_at, dialect) - t0))
        .where(*where, h.left_at >= start, h.at < end)
        .group_by(h.to_stage_id)
    ).all()
    current = []
    if now >= start:
        current = session.execute(
            sa.select(h.to_stage_id, sa.func.count(), sa.func.sum(now.timestamp() - t0))
            .where(*where, h.left_at.is_(None), h.at < end)
            .group_by(h.to_stage_id)
        ).all()
    spans: dict[int, list[float]] = {}
    for sid, n, seconds in [*ended, *current]:
        acc = spans.setdefault(sid, [0, 0.0])
        acc[0] += int(n or 0)
        acc[1] += float(seconds or 0)
    times = {sid: (n, total / n if n else None) for sid, (n, total) in spans.items()}

    out = []
    for s, _p in stages:
        entered, progressed = conv.get(s.id, (0, 0))
        stays, avg = times.get(s.id, (0, None))
        out.append(
            StageStat(
                stage_id=s.id,
                pipeline_id=s.pipeline_id,
                name=s.name,
                position=s.position,
                entered=entered,
                progressed=progressed,
                conversion=_ratio(progressed, entered),
                stays=stays,
                mean_days_in_stage=None if avg is None else max(avg, 0.0) / DAY_SECONDS,
            )
        )
    return out


def _rep_rows(
    session: Session, workspace_id: int, reps: dict[int | None, dict[str, Any]]
) -> list[RepRow]:
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
                open_count=r["open"],
                open_amount=_money(r["open_raw"]),
                weighted=r["weighted"],
                won_count=r["won"],
                won_amount=_money(r["won_raw"]),
                lost_count=r["lost"],
                win_rate=_ratio(r["won"], r["won"] + r["lost"]),
            )
        )
    rows.sort(key=lambda r: (-r.weighted, -r.won_amount, r.name or "\uffff", r.owner_id or 0))
    return rows


# --- forecast, plan ------------------------------------------------------------------------


def forecast(
    *,
    session: Session,
    workspace_id: int,
    by: Literal["month", "quarter"],
    now: datetime,
    tz: str,
    pipeline_id: int | None = None,
) -> list[ForecastRow]:
    """Open deals grouped by expected close month or quarter, oldest first.

    A close date is a calendar date, already local to the workspace, so it is grouped by the
    date itself (no timezone shift); ``tz`` decides which dates are overdue (before today in the
    workspace). Overdue dates stay in their own month. Deals without a close date come last, in
    a row with ``period_label == ""`` and ``start_date`` None. Weighted = Σ amount × probability.
    """
    now = _utc(now)
    today = now.astimezone(ZoneInfo(tz)).date()
    key = period_key(Deal.expected_close, by, _dialect(session)).label("k")
    overdue = sa.func.sum(sa.case((Deal.expected_close < today, 1), else_=0))
    rows = session.execute(
        sa.select(key, Stage.probability, sa.func.count(), sa.func.sum(_raw(Deal.amount)), overdue)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            *_deal_filters(workspace_id, pipeline_id, None),
            *_open_filters(session, workspace_id, pipeline_id),
        )
        .group_by(key, Stage.probability)
    ).all()
    acc: dict[str | None, list] = {}
    for k, prob, n, raw, late in rows:
        a = acc.setdefault(k or None, [0, 0, ZERO, 0])
        a[0] += n
        a[1] += raw or 0
        a[2] += _weighted(raw, prob)
        a[3] += int(late or 0)
    out = [
        ForecastRow(k or "", _parse_key(k), a[0], _money(a[1]), a[2], a[3]) for k, a in acc.items()
    ]
    out.sort(key=lambda r: (r.start_date is None, r.start_date or date.min))
    return out


@dataclass(frozen=True)
class WinStats:
    """Deals won and lost in a period: what the plan measures when not told."""

    won_count: int
    won_amount: Decimal
    lost_count: int

    @property
    def avg_deal_size(self) -> Decimal | None:
        return (self.won_amount / self.won_count).quantize(CENT) if self.won_count else None

    @property
    def win_rate(self) -> Decimal | None:
        return _ratio(self.won_count, self.won_count + self.lost_count)


def win_stats(
    *,
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
) -> WinStats:
    """Won count and amount, lost count, of deals closed in ``[start, end)`` (one query).

    The same definitions as :func:`metrics`, without its stage history pass.
    """
    start, end = _utc(start), _utc(end)
    rows = session.execute(
        sa.select(Stage.outcome, sa.func.count(), sa.func.sum(_raw(Deal.amount)))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            *_deal_filters(workspace_id, pipeline_id, owner_id),
            Deal.closed_at >= start,
            Deal.closed_at < end,
            Stage.outcome.in_([Outcome.won.value, Outcome.lost.value]),
        )
        .group_by(Stage.outcome)
    ).all()
    by = {outcome: (int(n), raw) for outcome, n, raw in rows}
    won, won_raw = by.get(Outcome.won.value, (0, 0))
    return WinStats(won, _money(won_raw), by.get(Outcome.lost.value, (0, 0))[0])


def open_pipeline(
    *, session: Session, workspace_id: int, pipeline_id: int | None = None
) -> tuple[int, Decimal, Decimal]:
    """``(count, amount, weighted)`` of the open deals (all deal pipelines when None)."""
    rows = session.execute(
        sa.select(Stage.probability, sa.func.count(), sa.func.sum(_raw(Deal.amount)))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            *_deal_filters(workspace_id, pipeline_id, None),
            *_open_filters(session, workspace_id, pipeline_id),
        )
        .group_by(Stage.probability)
    ).all()
    count = sum(int(n) for _, n, _ in rows)
    amount = _money(sum(raw or 0 for _, _, raw in rows))
    weighted = sum((_weighted(raw, p) for p, _, raw in rows), ZERO)
    return count, amount, weighted


def plan(
    *,
    target: Decimal,
    avg_deal_size: Decimal | None,
    win_rate: Decimal | None,
    reps: int | None = None,
) -> Plan:
    """PRODUCT.md §2: deals = target / average deal size; leads = deals / win rate;
    per rep = leads / reps. Each is rounded up to a whole deal or lead.

    100,000,000 / 500,000 / 80 % / 10 reps -> 200 deals, 250 leads, 25 per rep.
    """
    target = Decimal(target)
    if target <= 0:
        raise InvalidInput("reports.plan_bad_target")
    if avg_deal_size is None or Decimal(avg_deal_size) <= 0:
        raise InvalidInput("reports.plan_no_avg")
    if win_rate is None or not 0 < Decimal(win_rate) <= 1:
        raise InvalidInput("reports.plan_no_winrate")
    if reps is not None and reps <= 0:
        raise InvalidInput("reports.plan_bad_reps")
    deals = math.ceil(target / Decimal(avg_deal_size))
    leads = math.ceil(Decimal(deals) / Decimal(win_rate))
    per_rep = math.ceil(Decimal(leads) / reps) if reps else None
    return Plan(deals_needed=deals, leads_needed=leads, per_rep=per_rep)
