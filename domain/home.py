"""What App Home shows a member: their open deals (stalled first), their tasks due today and
the default pipeline's board, read in one place so the view only renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from domain import metrics
from domain.deal_reads import DealPage, list_deals
from domain.errors import NotFound
from domain.refs import find_pipeline
from domain.tasks import TaskPage, tasks_due_today
from storage.models import Member, Workspace


@dataclass(frozen=True)
class HomePage:
    deals: DealPage  # the member's open deals, stalled first, at most ``deal_rows``
    stalled: int  # how many of all their open deals are stalled
    tasks: TaskPage  # their open tasks due by the end of today, at most ``task_rows``
    board: metrics.Board | None  # the default pipeline's; None when there is no pipeline


def home_page(
    *,
    session: Session,
    workspace: Workspace,
    member: Member,
    now: datetime,
    deal_rows: int,
    task_rows: int,
) -> HomePage:
    deals = list_deals(
        session=session, workspace=workspace, now=now, owner_id=member.id, limit=deal_rows
    )
    stalled = 0
    if deals.rows:
        stalled = list_deals(
            session=session,
            workspace=workspace,
            now=now,
            owner_id=member.id,
            stalled=True,
            limit=0,
        ).total
    tasks = tasks_due_today(
        session=session, workspace=workspace, member=member, now=now, limit=task_rows
    )
    return HomePage(
        deals, stalled, tasks, default_board(session=session, workspace=workspace, now=now)
    )


def default_board(*, session: Session, workspace: Workspace, now: datetime) -> metrics.Board | None:
    """The default pipeline's board (:func:`domain.metrics.board`); None without a pipeline."""
    try:
        pipeline = find_pipeline(session=session, workspace_id=workspace.id, name=None)
    except NotFound:
        return None
    return metrics.board(
        session=session, workspace_id=workspace.id, pipeline_id=pipeline.id, now=now
    )
