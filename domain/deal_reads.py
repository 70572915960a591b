"""Read models for deals: what a card, a list or ``/deal show`` needs, in few queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.deals import expected_revenue
from domain.refs import stages_of
from domain.stall import stalled_condition
from storage.models import Company, Deal, Member, Outcome, Pipeline, Stage, Workspace


@dataclass
class StallInfo:
    days_in_stage: int
    threshold: int | None
    stalled: bool


@dataclass
class DealRow:
    deal: Deal
    stage: Stage
    pipeline: Pipeline
    owner: Member | None
    company: Company | None
    stall: StallInfo

    @property
    def weighted(self) -> Decimal:
        return expected_revenue(self.deal.amount, self.stage.probability)


@dataclass
class DealCard:
    row: DealRow
    stages: list[Stage]


def stall_info(deal: Deal, stage: Stage, workspace: Workspace, now: datetime) -> StallInfo:
    """Days in stage vs threshold, by the workspace's stall clock (domain.stall)."""
    from domain.stall import stall_status

    if stage.outcome != Outcome.open:
        return StallInfo(0, stage.stall_days, False)
    status = stall_status(
        stage_entered_at=deal.stage_entered_at,
        stall_days=stage.stall_days,
        snoozed_until=deal.snoozed_until,
        now=now,
        tz=workspace.timezone,
        business_days=workspace.stall_business_days,
        country=workspace.holiday_country,
    )
    return StallInfo(status.days_in_stage, stage.stall_days, status.stalled)


def _rows(session: Session, workspace: Workspace, deals: list[Deal], now: datetime):
    if not deals:
        return []
    stage_ids = {d.stage_id for d in deals}
    stages = {s.id: s for s in session.exec(select(Stage).where(Stage.id.in_(stage_ids)))}
    pipelines = {
        p.id: p for p in session.exec(select(Pipeline).where(Pipeline.workspace_id == workspace.id))
    }
    owner_ids = {d.owner_id for d in deals if d.owner_id}
    owners = (
        {m.id: m for m in session.exec(select(Member).where(Member.id.in_(owner_ids)))}
        if owner_ids
        else {}
    )
    company_ids = {d.company_id for d in deals if d.company_id}
    companies = (
        {c.id: c for c in session.exec(select(Company).where(Company.id.in_(company_ids)))}
        if company_ids
        else {}
    )
    return [
        DealRow(
            deal=d,
            stage=stages[d.stage_id],
            pipeline=pipelines[d.pipeline_id],
            owner=owners.get(d.owner_id),
            company=companies.get(d.company_id),
            stall=stall_info(d, stages[d.stage_id], workspace, now),
        )
        for d in deals
    ]


def card(*, session: Session, workspace: Workspace, deal: Deal, now: datetime) -> DealCard:
    (row,) = _rows(session, workspace, [deal], now)
    return DealCard(row=row, stages=stages_of(session=session, pipeline_id=deal.pipeline_id))


@dataclass
class DealPage:
    rows: list[DealRow]
    total: int
    total_amount: Decimal


def list_deals(
    *,
    session: Session,
    workspace: Workspace,
    now: datetime,
    owner_id: int | None = None,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    stalled: bool = False,
    include_closed: bool = False,
    limit: int = 20,
) -> DealPage:
    """Open deals (or all in a closed stage when one is asked for), stalled first.

    ``stalled`` narrows in SQL with the workspace's exact stall rule
    (:func:`domain.stall.stalled_condition`), so the total counts every stalled deal.
    """
    where = [Deal.workspace_id == workspace.id]
    if owner_id is not None:
        where.append(Deal.owner_id == owner_id)
    if pipeline_id is not None:
        where.append(Deal.pipeline_id == pipeline_id)
    if stage_id is not None:
        where.append(Deal.stage_id == stage_id)
    elif not include_closed:
        where.append(Deal.closed_at.is_(None))
    if stalled:
        where.append(Deal.closed_at.is_(None))
        where.append(_stalled(session, workspace, now))
    total, total_amount = session.exec(
        select(sa.func.count(), sa.func.sum(Deal.amount)).select_from(Deal).where(*where)
    ).one()
    query = select(Deal).where(*where).order_by(Deal.stage_entered_at, Deal.number)
    rows = _rows(session, workspace, list(session.exec(query.limit(limit * 3))), now)
    rows.sort(key=lambda r: (not r.stall.stalled, r.deal.stage_entered_at))
    return DealPage(rows=rows[:limit], total=total, total_amount=total_amount or Decimal(0))


def _stalled(session: Session, workspace: Workspace, now: datetime):
    stages = session.exec(
        select(Stage.id, Stage.stall_days).where(
            Stage.workspace_id == workspace.id,
            Stage.outcome == Outcome.open,
            Stage.stall_days.is_not(None),
        )
    ).all()
    return stalled_condition(stages, workspace=workspace, now=now)


def find_deals(
    *, session: Session, workspace: Workspace, query: str, now: datetime, limit: int = 20
) -> list[DealRow]:
    """Deals whose title or company contains ``query`` (case-insensitive)."""
    pattern = "%" + query.strip().lower().replace("%", "").replace("_", "") + "%"
    deals = session.exec(
        select(Deal)
        .outerjoin(Company, Company.id == Deal.company_id)
        .where(
            Deal.workspace_id == workspace.id,
            sa.or_(
                sa.func.lower(Deal.title).like(pattern), sa.func.lower(Company.name).like(pattern)
            ),
        )
        .order_by(Deal.closed_at.is_not(None), Deal.number.desc())
        .limit(limit)
    ).all()
    return _rows(session, workspace, list(deals), now)


def today_in(workspace: Workspace, now: datetime) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(workspace.timezone)).date()
