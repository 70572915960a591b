"""Stage statistics (docs/metrics.md): conversion and time in stage per open stage, read from
``stage_history`` index ranges, and the bottleneck chosen from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.metrics.sql import (
    DAY_SECONDS,
    _deal_stages,
    _dialect,
    _epoch,
    _ratio,
    _utc,
)
from storage.models import Deal, Outcome, StageHistory


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


def bottlenecks(stages: Sequence[StageStat]) -> tuple[StageStat | None, StageStat | None]:
    """The stage with the lowest conversion and the one with the longest mean time in stage
    (ties go to the earlier stage); None where no stage has the figure."""
    with_conv = [s for s in stages if s.conversion is not None]
    with_time = [s for s in stages if s.mean_days_in_stage is not None]
    conversion = min(with_conv, key=lambda s: s.conversion) if with_conv else None
    slowest = max(with_time, key=lambda s: s.mean_days_in_stage) if with_time else None
    return conversion, slowest
