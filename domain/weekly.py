"""The numbers of the weekly summary (docs/scheduled-posts.md): one :class:`PipelineWeek` per pipeline.

Every figure is read for all pipelines at once, then folded per pipeline (issue 17: 216
statements for 20 pipelines became 23; only the unqualified count stays one per pipeline
with the BANT checklist, :mod:`domain.qualify`): the boards from the board
counters and one stalled-count statement (:mod:`domain.metrics.boards`); the forecast and
the open half of the §2 rates from one pass over the open deals, the movers and the
pipeline/currency pairs (:mod:`domain.week_reads`); the closed half of the rates from one
:func:`~domain.metrics.grouped_rates` call; the lost reasons grouped by pipeline; the stage
statistics of all of them from one :func:`~domain.metrics.stage_stats` call; plus the deals
created in the week. The folds group and convert exactly as the per-pipeline functions did
(tests/test_weekly_sets.py keeps those as the oracle). No Slack here; the views
(:func:`views.notifications.weekly_summary`) and the chart (:func:`views.charts.board_png`)
render the result. Which week is the scheduler's business (:func:`scheduler.due.week_window`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from domain import counters, money, week_reads
from domain import metrics as m
from domain.deal_reads import workspace_stages
from domain.inbound_touch import SpeedToLead, speed_to_lead
from domain.isolate import each_pipeline
from domain.metrics import boards
from domain.metrics.calibration import StageCalibration, calibration, flagged
from domain.metrics.forecasts import fold_forecast
from domain.metrics.rates import fold_open
from domain.metrics.sql import _raw, _utc
from domain.money import Conversion, MoneyNote, Tally
from domain.qualify import unqualified_past_qualification
from domain.refs import deal_pipelines
from storage.models import Deal, Outcome, Workspace
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
    """The summary of the week ``[start, end)`` (local midnights), as seen at ``now``.

    Every pipeline's figures are read together, one grouped statement each (the boards'
    counters and stalled counts, the open deals, the closed ones, the movers, the lost
    reasons), then folded per pipeline in :func:`domain.isolate.each_pipeline`, so a
    pipeline whose figures cannot be made (a stall threshold that overflows the clock) is
    still the only one named as failed.
    """
    zone = ZoneInfo(workspace.timezone)
    this_month = now.astimezone(zone).date().replace(day=1)
    tally = money.tally(session=session, workspace_id=workspace.id)
    new = _created(session, workspace.id, start, end, tally)
    pipelines = deal_pipelines(session=session, workspace_id=workspace.id)
    rates = m.grouped_rates(
        session=session,
        workspace_id=workspace.id,
        start=start,
        end=end,
        by="pipeline",
        open_deals=False,  # read below with the forecast, folded per pipeline
        tally=tally.only("won", "lost"),  # the boards below tell the open deals
    ).groups
    open_rows = week_reads.open_deals(
        session,
        workspace_id=workspace.id,
        stages=[
            s
            for s in workspace_stages(session, workspace).values()
            if s.outcome == Outcome.open.value
        ],
    )
    stages_of: dict[int, list[m.StageStat]] = {}
    for stage in m.stage_stats(
        session=session, workspace_id=workspace.id, start=start, end=end, now=now
    ):
        stages_of.setdefault(stage.pipeline_id, []).append(stage)
    open_stages = {p.id: boards.open_stages(session, workspace, p) for p in pipelines}
    cutoffs: dict[int, dict[int, datetime]] = {}
    broken: dict[int, Exception] = {}  # raised again in that pipeline's turn
    for p in pipelines:
        try:
            cutoffs[p.id] = boards.stall_cutoffs(
                workspace, [(s.id, s.stall_days) for s in open_stages[p.id]], now
            )
        except Exception as error:
            broken[p.id] = error
    totals = counters.pipeline_totals(session, workspace_id=workspace.id)
    stalled = boards.stalled_by_pipeline(session, workspace=workspace, cutoffs=cutoffs, now=now)
    moved = week_reads.movers(session, workspace_id=workspace.id, start=start, end=end, per=MOVERS)
    lost = m.lost_reasons_by_pipeline(
        session=session, workspace_id=workspace.id, start=start, end=end
    )

    def stalled_of(p) -> Callable[[], dict[int, int]]:
        def read() -> dict[int, int]:
            if p.id in broken:
                raise broken[p.id]
            return {s.id: stalled[s.id] for s in open_stages[p.id] if s.id in stalled}

        return read

    def week(p) -> PipelineWeek:
        board = boards.fold(
            p, open_stages[p.id], totals.get(p.id, []), stalled_of(p), _utc(now), tally
        )
        rows = open_rows.get(p.id, [])
        forecast = tuple(
            (r.start_date, r.weighted)
            for r in fold_forecast(
                [(k, prob, cur, n, raw, 0) for k, prob, cur, n, raw, _ in rows],
                Tally(tally.conversion),  # the board already lists what it left out
            )
            if r.start_date is not None and r.start_date >= this_month
        )[:FORECAST_MONTHS]
        conv, slow = m.bottlenecks(stages_of.get(p.id, []))
        r = rates.setdefault(p.id, m.Rates())
        fold_open(rates, None, _by_probability(p.id, rows), tally.only("won", "lost"))
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
            movers=_movers(moved.get(p.id, {}), tally.conversion),
            unqualified_count=unqualified_past_qualification(session=session, pipeline=p),
            lost_reasons=tuple(lost.get(p.id, ()) if r.lost_count else ()),
        )

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


def _by_probability(pipeline_id: int, rows: list[week_reads.OpenRow]) -> list[tuple]:
    """The open rows of one pipeline summed over months: the groups of the §2 rates' open
    half (pipeline, probability, currency); integer sums, so the same figures."""
    acc: dict[tuple[int, str], list] = {}
    for _, prob, currency, n, raw, epochs in rows:
        entry = acc.setdefault((prob, currency), [0, 0, 0.0])
        entry[0] += n
        entry[1] += raw
        entry[2] += epochs
    return [(pipeline_id, prob, cur, n, raw, e) for (prob, cur), (n, raw, e) in acc.items()]


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


def _movers(found: dict[str, list[week_reads.Moved]], conversion: Conversion) -> tuple:
    """The largest deals of one pipeline that changed stage this week (first stage → last
    stage), from the biggest of each currency (:func:`domain.week_reads.movers`).

    "Largest" compares amounts in the workspace currency at its rates; a currency without a
    rate comes after; equal sizes keep the order of their currencies' codes.
    """
    movers = [
        Mover(f"D{d.number} {d.title}", d.from_stage, d.to_stage, d.amount, d.currency)
        for currency in sorted(found)
        for d in found[currency]
    ]

    def size(mover: Mover) -> tuple[bool, Decimal]:
        converted = conversion.to_base(mover.amount, mover.currency)
        return converted is None, -(converted if converted is not None else mover.amount)

    return tuple(sorted(movers, key=size)[:MOVERS])
