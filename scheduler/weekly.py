"""The numbers of the weekly summary (PRODUCT.md §4): one :class:`PipelineWeek` per pipeline.

Everything comes from :mod:`domain.metrics` (the board, §2 metrics for the week, the
forecast) plus three small grouped queries of our own: deals created this week, deals lost
this week (with amounts), and the biggest stage moves of the week. No Slack here; the views
(:func:`views.notifications.weekly_summary`) and the chart (:func:`views.charts.board_png`)
render the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from domain import metrics as m
from scheduler import due, queries
from storage.models import Deal, Outcome, Stage, StageHistory, Workspace
from storage.types import from_hundredths

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MOVERS = 3
FORECAST_MONTHS = 6


@dataclass(frozen=True)
class Mover:
    deal: str  # "D12 Acme ERP"
    from_stage: str
    to_stage: str
    amount: Decimal


@dataclass(frozen=True)
class PipelineWeek:
    pipeline_id: int
    name: str
    board: tuple[m.BoardStage, ...]
    source: m.Board  # for the chart
    open_count: int
    open_amount: Decimal
    open_weighted: Decimal
    stalled_count: int
    new_count: int = 0
    new_amount: Decimal = ZERO
    won_count: int = 0
    won_amount: Decimal = ZERO
    lost_count: int = 0
    lost_amount: Decimal = ZERO
    forecast: tuple[tuple[date, Decimal], ...] = ()  # (month, weighted) from this month on
    win_rate: Decimal | None = None
    avg_deal_size: Decimal | None = None
    cycle_days: float | None = None
    avg_open_age: float | None = None
    velocity: Decimal | None = None
    bottleneck_conversion: tuple[str, Decimal | None] | None = None
    bottleneck_slow: tuple[str, float | None] | None = None
    movers: tuple[Mover, ...] = ()


@dataclass(frozen=True)
class WeeklySummary:
    start: date  # first day of the week reported (a Monday)
    end: date  # last day (the Sunday)
    currency: str
    pipelines: tuple[PipelineWeek, ...]

    @property
    def has_deals(self) -> bool:
        return any(
            p.open_count or p.new_count or p.won_count or p.lost_count for p in self.pipelines
        )


def compute(*, session: Session, workspace: Workspace, at: datetime) -> WeeklySummary:
    """The summary sent at ``at``: the previous local Monday–Sunday of the workspace."""
    start, end = due.week_window(at, workspace.timezone)
    pipelines = queries.deal_pipelines(session, workspace.id)
    new = _created(session, workspace.id, start, end)
    lost = _lost(session, workspace.id, start, end)
    today = due.local_today(at, workspace.timezone)
    this_month = today.replace(day=1)
    weeks = []
    rates = _rates(session, workspace.id, start, end, at)
    stages_of: dict[int, list[m.StageStat]] = {}
    for stage in m.stage_stats(
        session=session, workspace_id=workspace.id, start=start, end=end, now=at
    ):
        stages_of.setdefault(stage.pipeline_id, []).append(stage)
    for p in pipelines:
        board = m.board(session=session, workspace_id=workspace.id, pipeline_id=p.id, now=at)
        rows = m.forecast(
            session=session,
            workspace_id=workspace.id,
            by="month",
            now=at,
            tz=workspace.timezone,
            pipeline_id=p.id,
        )
        forecast = tuple(
            (r.start_date, r.weighted)
            for r in rows
            if r.start_date is not None and r.start_date >= this_month
        )[:FORECAST_MONTHS]
        conv, slow = _bottlenecks(stages_of.get(p.id, []))
        r = rates.get(p.id, Rates())
        new_n, new_amount = new.get(p.id, (0, ZERO))
        lost_n, lost_amount = lost.get(p.id, (0, ZERO))
        weeks.append(
            PipelineWeek(
                pipeline_id=p.id,
                name=p.name,
                board=board.stages,
                source=board,
                open_count=board.count,
                open_amount=board.amount,
                open_weighted=board.weighted,
                stalled_count=board.stalled,
                new_count=new_n,
                new_amount=new_amount,
                won_count=r.won,
                won_amount=from_hundredths(r.won_raw),
                lost_count=lost_n,
                lost_amount=lost_amount,
                forecast=forecast,
                win_rate=r.win_rate,
                avg_deal_size=r.avg_deal_size,
                cycle_days=r.cycle_days,
                avg_open_age=r.open_age(at),
                velocity=r.velocity,
                bottleneck_conversion=(conv.name, conv.conversion) if conv else None,
                bottleneck_slow=(slow.name, slow.mean_days_in_stage) if slow else None,
                movers=tuple(_movers(session, workspace.id, p.id, start, end)),
            )
        )
    return WeeklySummary(
        start=start.astimezone(due.zone(workspace.timezone)).date(),
        end=(end.astimezone(due.zone(workspace.timezone)) - timedelta(days=1)).date(),
        currency=workspace.currency,
        pipelines=tuple(weeks),
    )


@dataclass
class Rates:
    """One pipeline's §2 rates for the week, summed exactly as :func:`domain.metrics.metrics`
    sums them (``tests/test_scheduler_jobs.py`` checks the two agree pipeline by pipeline).

    Why not call ``metrics(pipeline_id=…)`` per pipeline: that is ~10 queries each (leads,
    per-rep rows, stage history), 20 pipelines make 200, over a second at 100k deals. Here two
    grouped queries serve every pipeline, and one workspace-wide ``stage_stats()`` call gives
    the stage statistics, which carry their pipeline.
    """

    open: int = 0
    created_sum: float = 0.0
    won: int = 0
    won_raw: int = 0
    lost: int = 0
    won_seconds: float = 0.0

    @property
    def avg_deal_size(self) -> Decimal | None:
        return from_hundredths(Decimal(self.won_raw) / self.won) if self.won else None

    @property
    def win_rate(self) -> Decimal | None:
        total = self.won + self.lost
        return Decimal(self.won) / Decimal(total) if total else None

    @property
    def cycle_days(self) -> float | None:
        return self.won_seconds / self.won / m.DAY_SECONDS if self.won else None

    def open_age(self, now: datetime) -> float | None:
        if not self.open:
            return None
        return (now.timestamp() - self.created_sum / self.open) / m.DAY_SECONDS

    @property
    def velocity(self) -> Decimal | None:
        rate, size, cycle = self.win_rate, self.avg_deal_size, self.cycle_days
        if rate is None or size is None or not cycle:
            return None
        return (Decimal(self.open) * rate * size / Decimal(str(cycle))).quantize(
            CENT, ROUND_HALF_UP
        )


def _rates(session, workspace_id: int, start, end, now) -> dict[int, Rates]:
    dialect = session.get_bind().dialect.name
    out: dict[int, Rates] = {}
    open_rows = session.execute(
        sa.select(
            Deal.pipeline_id, sa.func.count(), sa.func.sum(m._epoch(Deal.created_at, dialect))
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at.is_(None),
            Stage.outcome == Outcome.open.value,
        )
        .group_by(Deal.pipeline_id)
    ).all()
    for pid, n, epochs in open_rows:
        r = out.setdefault(pid, Rates())
        r.open, r.created_sum = int(n), float(epochs or 0)
    duration = m._epoch(Deal.closed_at, dialect) - m._epoch(Deal.created_at, dialect)
    closed_rows = session.execute(
        sa.select(
            Deal.pipeline_id,
            Stage.outcome,
            sa.func.count(),
            sa.func.sum(m._raw(Deal.amount)),
            sa.func.sum(duration),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at >= start,
            Deal.closed_at < end,
            Stage.outcome.in_([Outcome.won.value, Outcome.lost.value]),
        )
        .group_by(Deal.pipeline_id, Stage.outcome)
    ).all()
    for pid, outcome, n, raw, seconds in closed_rows:
        r = out.setdefault(pid, Rates())
        if outcome == Outcome.won.value:
            r.won, r.won_raw, r.won_seconds = int(n), int(raw or 0), float(seconds or 0)
        else:
            r.lost = int(n)
    return out


def _bottlenecks(stages: list[m.StageStat]) -> tuple[m.StageStat | None, m.StageStat | None]:
    """The same choice as :func:`domain.metrics.metrics`, within one pipeline's stages."""
    with_conv = [s for s in stages if s.conversion is not None]
    with_time = [s for s in stages if s.mean_days_in_stage is not None]
    conv = min(with_conv, key=lambda s: s.conversion) if with_conv else None
    slow = max(with_time, key=lambda s: s.mean_days_in_stage) if with_time else None
    return conv, slow


def _sum(raw) -> Decimal:
    return from_hundredths(int(raw or 0))


def _created(session, workspace_id: int, start, end) -> dict[int, tuple[int, Decimal]]:
    rows = session.execute(
        sa.select(Deal.pipeline_id, sa.func.count(), sa.func.sum(m._raw(Deal.amount)))
        .where(Deal.workspace_id == workspace_id, Deal.created_at >= start, Deal.created_at < end)
        .group_by(Deal.pipeline_id)
    ).all()
    return {pid: (int(n), _sum(raw)) for pid, n, raw in rows}


def _lost(session, workspace_id: int, start, end) -> dict[int, tuple[int, Decimal]]:
    rows = session.execute(
        sa.select(Deal.pipeline_id, sa.func.count(), sa.func.sum(m._raw(Deal.amount)))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at >= start,
            Deal.closed_at < end,
            Stage.outcome == Outcome.lost.value,
        )
        .group_by(Deal.pipeline_id)
    ).all()
    return {pid: (int(n), _sum(raw)) for pid, n, raw in rows}


def _movers(session, workspace_id: int, pipeline_id: int, start, end) -> list[Mover]:
    """The largest deals of one pipeline that changed stage this week: first stage → last stage.

    Walks the pipeline's deals largest first (``ix_deal_amount``) and keeps those with a move in
    the week, so it reads a few dozen deals, not the week's whole history. A deal that went
    there and back (first stage == last stage) is no mover; a few more candidates are read when
    the first ones were all such round trips.
    """
    h = StageHistory
    moved = (
        sa.exists()
        .where(h.deal_id == Deal.id, h.at >= start, h.at < end, h.from_stage_id.is_not(None))
        .correlate(Deal)
    )
    src, dst = aliased(Stage), aliased(Stage)
    limit = MOVERS * 4
    while True:
        candidates = session.execute(
            sa.select(Deal.id, Deal.number, Deal.title, Deal.amount)
            .where(Deal.workspace_id == workspace_id, Deal.pipeline_id == pipeline_id, moved)
            .order_by(Deal.amount.desc(), Deal.id.desc())
            .limit(limit)
        ).all()
        if not candidates:
            return []
        ends: dict[int, list[str]] = {}
        for deal_id, from_name, to_name in session.execute(
            sa.select(h.deal_id, src.name, dst.name)
            .join(src, src.id == h.from_stage_id)
            .join(dst, dst.id == h.to_stage_id)
            .where(h.deal_id.in_([c[0] for c in candidates]), h.at >= start, h.at < end)
            .order_by(h.deal_id, h.at, h.id)
        ).all():
            ends.setdefault(deal_id, [from_name, to_name])[1] = to_name  # first from, last to
        movers = [
            Mover(f"D{number} {title}", *ends[deal_id], amount)
            for deal_id, number, title, amount in candidates
            if deal_id in ends and ends[deal_id][0] != ends[deal_id][1]
        ][:MOVERS]
        if len(movers) == MOVERS or len(candidates) < limit:
            return movers
        limit *= 4
