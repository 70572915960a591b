"""What App Home shows a member: their open deals (stalled first), their tasks due by the end
of this week (overdue first, then today, then the rest of the week) and the default
pipeline's board, read in one place so the view only renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from domain import metrics
from domain.deal_reads import DealPage, list_deals
from domain.due_times import local
from domain.errors import NotFound
from domain.refs import find_pipeline
from domain.tasks import TaskPage, list_tasks, member_timezone
from storage.models import Member, StageHistory, Task, Workspace


@dataclass(frozen=True)
class HomePage:
    deals: DealPage  # the member's open deals, stalled first, at most ``deal_rows``
    stalled: int  # how many of all their open deals are stalled
    tasks: TaskPage  # their open tasks due by the end of this week, at most ``task_rows``
    board: metrics.Board | None  # the default pipeline's; None when there is no pipeline
    today_ends: datetime  # the member's next local midnight: "today" or "this week"
    timezone: str  # the member's (their tasks' due times are shown in it)
    # The cadence step each listed deal is on: deal id -> (steps done, steps in all), for the
    # cadence of the stay in its current stage (deals without one are absent).
    cadence_steps: dict[int, tuple[int, int]] = field(default_factory=dict)


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
    tz = member_timezone(member, workspace)
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    today_ends = local(today + timedelta(days=1), datetime.min.time(), zone)
    week_ends = local(today + timedelta(days=7 - today.weekday()), datetime.min.time(), zone)
    tasks = list_tasks(
        session=session, workspace=workspace, owner=member, until=week_ends, limit=task_rows
    )
    return HomePage(
        deals,
        stalled,
        tasks,
        default_board(session=session, workspace=workspace, now=now),
        today_ends,
        tz,
        cadence_steps(session=session, deal_ids=[r.id for r in deals.rows]),
    )


def cadence_steps(*, session: Session, deal_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Done and total cadence tasks of each deal's current stay (one grouped query): the
    tasks whose origin names the deal's open stage-history row (domain.cadences)."""
    if not deal_ids:
        return {}
    stay = StageHistory
    prefix = "cadence:%:h" + sa.cast(stay.id, sa.String) + ":%"
    rows = session.execute(
        sa.select(
            Task.deal_id,
            sa.func.sum(sa.case((Task.status == "done", 1), else_=0)),
            sa.func.count(),
        )
        .join(stay, sa.and_(stay.deal_id == Task.deal_id, stay.left_at.is_(None)))
        .where(Task.deal_id.in_(deal_ids), Task.origin.like(prefix))
        .group_by(Task.deal_id)
    ).all()
    return {deal_id: (int(done or 0), int(total)) for deal_id, done, total in rows}


def default_board(*, session: Session, workspace: Workspace, now: datetime) -> metrics.Board | None:
    """The default pipeline's board (:func:`domain.metrics.board`); None without a pipeline."""
    try:
        pipeline = find_pipeline(session=session, workspace_id=workspace.id, name=None)
    except NotFound:
        return None
    return metrics.board(
        session=session, workspace_id=workspace.id, pipeline_id=pipeline.id, now=now
    )
