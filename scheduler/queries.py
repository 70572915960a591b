"""The reads the jobs need, turned into the plain rows of :mod:`scheduler.due`."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from domain.stall import stalled_condition
from scheduler.due import DealRow, TaskRow
from storage.models import Deal, Member, Outcome, Pipeline, PipelineKind, Stage, Task, Workspace

_DEAL_COLUMNS = (
    Deal.id,
    Deal.number,
    Deal.title,
    Deal.amount,
    Deal.currency,
    Deal.pipeline_id,
    Deal.stage_id,
    Deal.stage_entered_at,
    Deal.snoozed_until,
    Deal.owner_id,
    Deal.renewal_date,
    Deal.mrr,
    Deal.thread_channel,
    Deal.thread_ts,
)


def _deal_query(workspace_id: int, open_stage_ids):
    """Open deals as plain deal columns; stage, pipeline and owner are looked up in Python.

    A digest reads tens of thousands of rows: ORM entities and three joins per row cost more
    than the query, while a workspace has only a few dozen stages and pipelines and at most a
    few thousand members, read once.
    """
    return (
        sa.select(*_DEAL_COLUMNS)
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at.is_(None),
            Deal.stage_id.in_(open_stage_ids),
        )
        .order_by(Deal.number)
    )


def _rows(session: Session, workspace_id: int, query) -> list[DealRow]:
    stages = {
        sid: (name, probability, stall_days, pipeline_id)
        for sid, name, probability, stall_days, pipeline_id in session.execute(
            sa.select(
                Stage.id, Stage.name, Stage.probability, Stage.stall_days, Stage.pipeline_id
            ).where(Stage.workspace_id == workspace_id)
        )
    }
    pipelines = dict(
        session.execute(
            sa.select(Pipeline.id, Pipeline.name).where(Pipeline.workspace_id == workspace_id)
        ).all()
    )
    session.flush()  # Core execution below does not autoflush
    deals = session.connection().execute(query).all()
    owner_ids = {d.owner_id for d in deals if d.owner_id is not None}
    owners: dict[int, tuple] = {}
    if owner_ids:
        owners = {
            mid: (slack_id, name, locale)
            for mid, slack_id, name, locale in session.execute(
                sa.select(Member.id, Member.slack_user_id, Member.name, Member.locale).where(
                    Member.workspace_id == workspace_id
                )
            )
        }
    nobody = (None, None, None)
    out = []
    for d in deals:
        stage_name, probability, stall_days, pipeline_id = stages[d.stage_id]
        slack_id, owner_name, owner_locale = owners.get(d.owner_id, nobody)
        out.append(
            DealRow(
                d.id,
                d.number,
                d.title,
                d.amount,
                d.currency,
                d.pipeline_id,
                pipelines.get(d.pipeline_id, ""),
                d.stage_id,
                stage_name,
                probability,
                stall_days,
                d.stage_entered_at,
                d.snoozed_until,
                d.owner_id,
                slack_id,
                owner_name,
                owner_locale,
                d.renewal_date,
                d.mrr,
                d.thread_channel,
                d.thread_ts,
            )
        )
    return out


def _open_stage_ids(session: Session, workspace_id: int) -> list[int]:
    return list(
        session.exec(
            select(Stage.id).where(
                Stage.workspace_id == workspace_id, Stage.outcome == Outcome.open.value
            )
        )
    )


def stall_candidates(
    session: Session, workspace: Workspace, *, now: datetime, pipeline_id: int | None = None
) -> list[DealRow]:
    """Open deals stalled at ``now``, by the exact SQL spelling of the stall rule
    (:func:`domain.stall.stalled_condition`); :func:`scheduler.due.stalled` gives each its
    status and episode."""
    stages = session.exec(
        select(Stage.id, Stage.stall_days).where(
            Stage.workspace_id == workspace.id,
            Stage.outcome == Outcome.open.value,
            Stage.stall_days.is_not(None),
            Stage.stall_days >= 0,
        )
    ).all()
    if not stages:
        return []
    query = _deal_query(workspace.id, [sid for sid, _ in stages]).where(
        stalled_condition(stages, workspace=workspace, now=now)
    )
    if pipeline_id is not None:
        query = query.where(Deal.pipeline_id == pipeline_id)
    return _rows(session, workspace.id, query)


def renewal_candidates(
    session: Session, workspace: Workspace, *, today, horizon_days: int
) -> list[DealRow]:
    """Open deals whose renewal date is between today and ``horizon_days`` from now."""
    query = _deal_query(workspace.id, _open_stage_ids(session, workspace.id)).where(
        Deal.renewal_date.is_not(None),
        Deal.renewal_date >= today,
        Deal.renewal_date <= today + timedelta(days=horizon_days),
    )
    return _rows(session, workspace.id, query)


def deal_row(session: Session, deal_id: int) -> DealRow | None:
    deal = session.get(Deal, deal_id)
    if deal is None:
        return None
    query = _deal_query(deal.workspace_id, _open_stage_ids(session, deal.workspace_id))
    rows = _rows(session, deal.workspace_id, query.where(Deal.id == deal_id))
    return rows[0] if rows else None


def stages_of(session: Session, pipeline_id: int) -> list[tuple[int, str]]:
    """``(id, name)`` of a pipeline's stages in order (the stall warning's move select)."""
    return [
        (sid, name)
        for sid, name in session.exec(
            select(Stage.id, Stage.name)
            .where(Stage.pipeline_id == pipeline_id)
            .order_by(Stage.position, Stage.id)
        )
    ]


def deal_pipelines(session: Session, workspace_id: int) -> list[Pipeline]:
    return list(
        session.exec(
            select(Pipeline)
            .where(Pipeline.workspace_id == workspace_id, Pipeline.kind == PipelineKind.deal.value)
            .order_by(Pipeline.position, Pipeline.id)
        )
    )


def tasks_candidates(
    session: Session, workspace: Workspace, *, now: datetime, lookback: timedelta
) -> list[TaskRow]:
    deal = aliased(Deal)
    rows = session.exec(
        select(Task, Member, deal)
        .join(Member, Member.id == Task.owner_id)
        .outerjoin(deal, deal.id == Task.deal_id)
        .where(
            Task.workspace_id == workspace.id,
            sa.not_(Task.done),
            Task.due_at <= now,
            Task.due_at > now - lookback,
        )
        .order_by(Task.due_at, Task.id)
    )
    return [
        TaskRow(
            id=task.id,
            text=task.text,
            due_at=task.due_at,
            owner_slack_id=member.slack_user_id,
            owner_locale=member.locale,
            deal_id=task.deal_id,
            deal_number=d.number if d else None,
            deal_title=d.title if d else None,
        )
        for task, member, d in rows
    ]
