"""Probability calibration (docs/metrics.md#calibration): each open stage's configured win
probability against the measured share of deals that, having been in that stage, were won.

The sample is the deals closed (won or lost) in the last :data:`WINDOW_DAYS` days that have a
stage-history row into the stage (a deal created in a stage has one: creation records it). A
stage is *flagged* when at least :data:`MIN_SAMPLE` such deals are behind it and the measured
share differs from the configured probability by more than :data:`MAX_GAP` points. The whole
UTC days of the window are summed from the close counters (:mod:`domain.close_counters`), the
partial days at its ends read from ``stage_history`` joined to their closed deals, so the cost
follows the window's days, not the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.metrics.sql import _utc
from storage.models import (
    CloseCounter,
    Deal,
    Outcome,
    Pipeline,
    PipelineKind,
    Stage,
    StageHistory,
)

WINDOW_DAYS = 180
MIN_SAMPLE = 20
MAX_GAP = 15  # percentage points


@dataclass(frozen=True)
class StageCalibration:
    stage_id: int
    pipeline_id: int
    pipeline: str
    stage: str
    position: int
    configured: int  # percent
    reached: int  # closed deals that had been in the stage
    won: int  # ... of which were won

    @property
    def measured(self) -> int | None:
        """The measured share, in whole percent (half up); None without a sample."""
        if not self.reached:
            return None
        share = Decimal(self.won * 100) / self.reached
        return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def flagged(self) -> bool:
        measured = self.measured
        return (
            measured is not None
            and self.reached >= MIN_SAMPLE
            and abs(measured - self.configured) > MAX_GAP
        )


def calibration(
    *, session: Session, workspace_id: int, now: datetime, pipeline_id: int | None = None
) -> list[StageCalibration]:
    """Every open stage of the workspace's deal pipelines (or one), in pipeline and stage
    order, with its sample of the last :data:`WINDOW_DAYS` days."""
    now = _utc(now)
    since = now - timedelta(days=WINDOW_DAYS)
    # Whole UTC days of the window from the close counters; the partial days at its two ends
    # (since's day after ``since``, today's before ``now``) from the deals themselves.
    first = since.date() if since == _midnight(since.date()) else since.date() + timedelta(days=1)
    last = now.date()  # exclusive: today is partial (or empty when ``now`` is midnight)
    counts: dict[int, tuple[int, int]] = {}
    if first < last:
        _add(counts, _counted(session, workspace_id, first, last))
        _add(counts, _from_history(session, workspace_id, since, _midnight(first)))
        _add(counts, _from_history(session, workspace_id, _midnight(last), now))
    else:
        _add(counts, _from_history(session, workspace_id, since, now))
    query = (
        sa.select(Stage, Pipeline.name)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .where(
            Stage.workspace_id == workspace_id,
            Pipeline.kind == PipelineKind.deal.value,
            Stage.outcome == Outcome.open.value,
        )
        .order_by(Pipeline.position, Pipeline.id, Stage.position)
    )
    if pipeline_id is not None:
        query = query.where(Stage.pipeline_id == pipeline_id)
    rows = []
    for stage, pipeline_name in session.execute(query).all():
        n, won = counts.get(stage.id, (0, 0))
        rows.append(
            StageCalibration(
                stage_id=stage.id,
                pipeline_id=stage.pipeline_id,
                pipeline=pipeline_name,
                stage=stage.name,
                position=stage.position,
                configured=stage.probability,
                reached=n,
                won=won,
            )
        )
    return rows


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _add(counts: dict[int, tuple[int, int]], rows) -> None:
    for stage_id, n, won in rows:
        had = counts.get(stage_id, (0, 0))
        counts[stage_id] = (had[0] + int(n), had[1] + int(won or 0))


def _counted(session: Session, workspace_id: int, first: date, last: date):
    """Per reached stage, the closed deals of days ``first`` ≤ day < ``last`` and the won ones
    (domain.close_counters); the closing stage's outcome as it is now."""
    c = CloseCounter
    won = sa.case((Stage.outcome == Outcome.won.value, c.count), else_=0)
    return session.execute(
        sa.select(c.reached_id, sa.func.sum(c.count), sa.func.sum(won))
        .join(Stage, Stage.id == c.stage_id)
        .where(
            c.workspace_id == workspace_id,
            c.day >= first,
            c.day < last,
            Stage.outcome.in_((Outcome.won.value, Outcome.lost.value)),
        )
        .group_by(c.reached_id)
    ).all()


def _from_history(session: Session, workspace_id: int, start: datetime, end: datetime):
    """The same from the deals closed in ``[start, end)`` and their histories."""
    if start >= end:
        return []
    closed = (
        sa.select(Deal.id.label("deal_id"), (Stage.outcome == Outcome.won.value).label("won"))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at.is_not(None),
            Deal.closed_at >= start,
            Deal.closed_at < end,
            Stage.outcome.in_((Outcome.won.value, Outcome.lost.value)),
        )
        .subquery()
    )
    reached = (
        sa.select(StageHistory.to_stage_id.label("stage_id"), closed.c.deal_id, closed.c.won)
        .join(closed, closed.c.deal_id == StageHistory.deal_id)
        .where(StageHistory.workspace_id == workspace_id)
        .distinct()
        .subquery()
    )
    return session.execute(
        sa.select(
            reached.c.stage_id,
            sa.func.count(),
            sa.func.sum(sa.case((reached.c.won, 1), else_=0)),
        ).group_by(reached.c.stage_id)
    ).all()


def flagged(rows: list[StageCalibration]) -> list[StageCalibration]:
    return [r for r in rows if r.flagged]


def apply_measured(
    *, session: Session, workspace_id: int, actor, pipeline_id: int, stage_text: str, now: datetime
) -> tuple[StageCalibration, int]:
    """Set an open stage's probability to its measured value (admins); returns the stage's
    calibration and the probability it had. Refused without a sample of :data:`MIN_SAMPLE`."""
    from domain.errors import InvalidInput
    from domain.refs import match_stage
    from domain.workspaces import require_admin

    require_admin(actor)
    rows = calibration(session=session, workspace_id=workspace_id, now=now, pipeline_id=pipeline_id)
    stages = [session.get(Stage, r.stage_id) for r in rows]
    stage = match_stage(stages, stage_text)
    row = next(r for r in rows if r.stage_id == stage.id)
    if row.reached < MIN_SAMPLE or row.measured is None:
        raise InvalidInput(
            "coach.calibration_too_few", stage=stage.name, count=row.reached, minimum=MIN_SAMPLE
        )
    old = stage.probability
    stage.probability = row.measured
    session.add(stage)
    session.flush()
    return row, old
