"""The numbers of the weekly summary (docs/scheduled-posts.md): one :class:`PipelineWeek` per pipeline.

Everything comes from :mod:`domain.metrics`: the board and the forecast per pipeline, the §2
rates of every pipeline from one :func:`~domain.metrics.grouped_rates` call (two grouped
queries, not a ``metrics()`` call per pipeline: 20 pipelines at a million deals), the stage
statistics of all of them from one :func:`~domain.metrics.stage_stats` call (each carries its
pipeline); plus two small reads of our own: deals created in the week, and the biggest stage
moves of the week. No Slack here; the views (:func:`views.notifications.weekly_summary`) and
the chart (:func:`views.charts.board_png`) render the result. Which week is the scheduler's
business (:func:`scheduler.due.week_window`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from domain import metrics as m
from domain import money
from domain.inbound_touch import SpeedToLead, speed_to_lead
from domain.isolate import each_pipeline
from domain.metrics.calibration import StageCalibration, calibration, flagged
from domain.metrics.sql import _raw
from domain.money import Conversion, MoneyNote, Tally
from domain.qualify import unqualified_past_qualification
from domain.refs import deal_pipelines
from storage.models import Deal, Stage, StageHistory, Workspace
from storage.types import from_hundredths

ZERO = Decimal("0.00")
MOVERS = 3
FORECAST_MONTHS = 6


@dataclass(frozen=True)
class Mover:
    deal: str  # "D12 Acme ERP"
    from_stage: str
    to_stage: str
    amount: Decimal  # in the deal's own currency
    currency: str = "KRW"


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
    lost_reasons: tuple[m.LostReason, ...] = ()  # issue 13: why the week's lost deals were lost
    # issue 15: open deals past Qualification with a BANT criterion unmet (None: no checklist)
    unqualified_count: int | None = None


@dataclass(frozen=True)
class WeeklySummary:
    start: date  # first day of the week reported (a Monday)
    end: date  # last day (the Sunday)
    currency: str
    pipelines: tuple[PipelineWeek, ...]
    failed: tuple[str, ...] = ()  # pipelines that could not be computed (domain.isolate)
    calibration: tuple[StageCalibration, ...] = ()  # stages whose probability is off
    # What the totals are made of: rates used, amounts left out (domain.money).
    money: MoneyNote | None = None
    # Inbound leads of the week: median time to first touch (domain.inbound, issue 15).
    speed: SpeedToLead | None = None

    @property
    def has_deals(self) -> bool:
        return bool(self.failed) or any(
            p.open_count or p.new_count or p.won_count or p.lost_count for p in self.pipelines
        )


def compute(
    *, session: Session, workspace: Workspace, start: datetime, end: datetime, now: datetime
) -> WeeklySummary:
    """The summary of the week ``[start, end)`` (local midnights), as seen at ``now``."""
    zone = ZoneInfo(workspace.timezone)
    this_month = now.astimezone(zone).date().replace(day=1)
    tally = money.tally(session=session, workspace_id=workspace.id)
    new = _created(session, workspace.id, start, end, tally)
    rates = m.grouped_rates(
        session=session,
        workspace_id=workspace.id,
        start=start,
        end=end,
        by="pipeline",
        tally=tally.only("won", "lost"),  # the boards below tell the open deals
    ).groups
    stages_of: dict[int, list[m.StageStat]] = {}
    for stage in m.stage_stats(
        session=session, workspace_id=workspace.id, start=start, end=end, now=now
    ):
        stages_of.setdefault(stage.pipeline_id, []).append(stage)

    def week(p) -> PipelineWeek:
        board = m.board(
            session=session, workspace_id=workspace.id, pipeline_id=p.id, now=now, tally=tally
        )
        rows = m.forecast(
            session=session,
            workspace_id=workspace.id,
            by="month",
            now=now,
            tz=workspace.timezone,
            pipeline_id=p.id,
            tally=Tally(tally.conversion),  # the board already lists what it left out
        )
        forecast = tuple(
            (r.start_date, r.weighted)
            for r in rows
            if r.start_date is not None and r.start_date >= this_month
        )[:FORECAST_MONTHS]
        conv, slow = m.bottlenecks(stages_of.get(p.id, []))
        r = rates.get(p.id, m.Rates())
        new_n, new_amount = new.get(p.id, (0, ZERO))
        return PipelineWeek(
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
            won_count=r.won_count,
            won_amount=r.won_amount,
            lost_count=r.lost_count,
            lost_amount=r.lost_amount,
            forecast=forecast,
            win_rate=r.win_rate,
            avg_deal_size=r.avg_deal_size,
            cycle_days=r.cycle_days,
            avg_open_age=r.open_age_days(now),
            velocity=r.velocity_per_day,
            bottleneck_conversion=(conv.name, conv.conversion) if conv else None,
            bottleneck_slow=(slow.name, slow.mean_days_in_stage) if slow else None,
            movers=tuple(_movers(session, workspace.id, p.id, start, end, tally.conversion)),
            unqualified_count=unqualified_past_qualification(session=session, pipeline=p),
            lost_reasons=tuple(
                m.lost_reasons(
                    session=session,
                    workspace_id=workspace.id,
                    start=start,
                    end=end,
                    pipeline_id=p.id,
                )
                if r.lost_count
                else ()
            ),
        )

    pipelines = deal_pipelines(session=session, workspace_id=workspace.id)
    weeks, failed = each_pipeline(session, pipelines, week)
    return WeeklySummary(
        calibration=tuple(
            flagged(calibration(session=session, workspace_id=workspace.id, now=now))
        ),
        start=start.astimezone(zone).date(),
        end=(end.astimezone(zone) - timedelta(days=1)).date(),
        currency=workspace.currency,
        pipelines=tuple(w for _, w in weeks),
        failed=tuple(failed),
        money=tally.note(),
        speed=speed_to_lead(session=session, workspace_id=workspace.id, start=start, end=end),
    )


def _created(
    session, workspace_id: int, start, end, tally: Tally
) -> dict[int, tuple[int, Decimal]]:
    rows = session.execute(
        sa.select(Deal.pipeline_id, Deal.currency, sa.func.count(), sa.func.sum(_raw(Deal.amount)))
        .where(Deal.workspace_id == workspace_id, Deal.created_at >= start, Deal.created_at < end)
        .group_by(Deal.pipeline_id, Deal.currency)
    ).all()
    out: dict[int, list[int]] = {}
    for pid, currency, n, raw in rows:
        entry = out.setdefault(pid, [0, 0])
        entry[0] += int(n)
        entry[1] += tally.raw(raw, currency, n, "new")
    return {pid: (n, from_hundredths(raw)) for pid, (n, raw) in out.items()}


def _movers(
    session, workspace_id: int, pipeline_id: int, start, end, conversion: Conversion
) -> list[Mover]:
    """The largest deals of one pipeline that changed stage this week: first stage → last stage.

    Walks the pipeline's deals largest first (``ix_deal_amount``, one currency at a time) and
    keeps those with a move in the week, so it reads a few dozen deals, not the week's whole
    history. A deal that went there and back (first stage == last stage) is no mover; a few
    more candidates are read when the first ones were all such round trips. "Largest" compares
    amounts in the workspace currency at its rates; a currency without a rate comes after.
    """
    currencies = session.execute(
        sa.select(Deal.currency)
        .where(Deal.workspace_id == workspace_id, Deal.pipeline_id == pipeline_id)
        .distinct()
    ).scalars()
    found = [
        mover
        for currency in currencies
        for mover in _movers_in(session, workspace_id, pipeline_id, currency, start, end)
    ]

    def size(mover: Mover) -> tuple[bool, Decimal]:
        converted = conversion.to_base(mover.amount, mover.currency)
        return converted is None, -(converted if converted is not None else mover.amount)

    return sorted(found, key=size)[:MOVERS]


def _movers_in(
    session, workspace_id: int, pipeline_id: int, currency: str, start, end
) -> list[Mover]:
    """:func:`_movers` among the pipeline's deals in one currency."""
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
            .where(
                Deal.workspace_id == workspace_id,
                Deal.pipeline_id == pipeline_id,
                Deal.currency == currency,
                moved,
            )
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
            Mover(f"D{number} {title}", *ends[deal_id], amount, currency)
            for deal_id, number, title, amount in candidates
            if deal_id in ends and ends[deal_id][0] != ends[deal_id][1]
        ][:MOVERS]
        if len(movers) == MOVERS or len(candidates) < limit:
            return movers
        limit *= 4
