"""The board (``/pipeline``, App Home, the weekly summary): per open stage of one pipeline, the
deal count, amount, weighted amount and stalled count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain import counters, money
from domain.deal_reads import workspace_stages
from domain.errors import NotFound
from domain.metrics.sql import ZERO, _money, _utc, _weighted
from domain.money import Tally
from domain.stall import stalled_condition
from storage.models import Deal, Outcome, Pipeline, PipelineKind, Workspace


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


def board(
    *,
    session: Session,
    workspace_id: int,
    pipeline_id: int,
    now: datetime,
    tally: Tally | None = None,
) -> Board:
    """Per open stage, in position order: deal count, amount, weighted amount, stalled count.

    Count and amount come from the board counters (:mod:`domain.counters`, kept on every
    change of a deal), the weighted amount is their amount × the stage's probability now.

    "Stalled" is exactly :func:`domain.stall.stall_status` (the clock of ``/deal list stalled``
    and the scheduler's warnings), spelled in SQL by :func:`domain.stall.stalled_condition` so
    the count stays an aggregate: calendar days, or business days with the workspace's
    holidays when the workspace counts those; a deal snoozed until a date after today is not
    stalled. One grouped query per pipeline. Amounts are summed per currency and converted
    through ``tally`` (:mod:`domain.money`; the workspace's rates when None).
    """
    now = _utc(now)
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None or pipeline.workspace_id != workspace_id:
        raise NotFound("reports.pipeline_gone")
    ws = session.get(Workspace, workspace_id)
    stages = []  # open stages in position order, from the per-version copy (no entities)
    if pipeline.kind == PipelineKind.deal.value:
        stages = [
            s
            for s in workspace_stages(session, ws).values()
            if s.pipeline_id == pipeline_id and s.outcome == Outcome.open.value
        ]
    if not stages:
        return Board(pipeline.id, pipeline.name, now)
    tally = tally or money.tally(session=session, workspace_id=workspace_id)
    open_ids = {s.id for s in stages}
    by_stage: dict[int, list[int]] = {}
    for sid, currency, n, raw in counters.stage_totals(
        session, workspace_id=workspace_id, pipeline_id=pipeline_id
    ):
        if sid in open_ids:
            entry = by_stage.setdefault(sid, [0, 0, 0])
            entry[0] += n
            entry[1] += tally.raw(raw, currency, n)
    # The stalled count reads only deals near or past their threshold (ix_deal_stalled).
    stalled = stalled_condition([(s.id, s.stall_days) for s in stages], workspace=ws, now=now)
    for sid, stalled_n in session.execute(
        sa.select(Deal.stage_id, sa.func.count())
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at.is_(None),
            Deal.pipeline_id == pipeline_id,
            stalled,
        )
        .group_by(Deal.stage_id)
    ).all():
        by_stage.setdefault(sid, [0, 0, 0])[2] += int(stalled_n)
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
