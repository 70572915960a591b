"""Tasks as the reminders and App Home read them: plain rows with their owner and deal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from storage.models import Deal, Member, Task, Workspace


@dataclass(frozen=True)
class TaskRow:
    id: int
    text: str
    due_at: datetime
    owner_slack_id: str
    owner_locale: str | None = None
    deal_id: int | None = None
    deal_number: int | None = None
    deal_title: str | None = None


@dataclass(frozen=True)
class TaskPage:
    rows: list[TaskRow]
    total: int


_COLUMNS = (
    Task.id,
    Task.text,
    Task.due_at,
    Member.slack_user_id,
    Member.locale,
    Task.deal_id,
    Deal.number,
    Deal.title,
)


def _select(*where) -> sa.Select:
    return (
        sa.select(*_COLUMNS)
        .select_from(Task)
        .join(Member, Member.id == Task.owner_id)
        .outerjoin(Deal, Deal.id == Task.deal_id)
        .where(*where)
        .order_by(Task.due_at, Task.id)
    )


def _rows(session: Session, query: sa.Select) -> list[TaskRow]:
    return [TaskRow(*row) for row in session.execute(query).all()]


def tasks_came_due(
    *, session: Session, workspace: Workspace, now: datetime, lookback: timedelta
) -> list[TaskRow]:
    """Open tasks due in ``(now - lookback, now]``: what the reminders job considers."""
    return _rows(
        session,
        _select(
            Task.workspace_id == workspace.id,
            sa.not_(Task.done),
            Task.due_at <= now,
            Task.due_at > now - lookback,
        ),
    )


def end_of_today(workspace: Workspace, now: datetime) -> datetime:
    """The next local midnight in the workspace's timezone."""
    zone = ZoneInfo(workspace.timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(), tzinfo=zone)


def tasks_due_today(
    *, session: Session, workspace: Workspace, member: Member, now: datetime, limit: int
) -> TaskPage:
    """A member's open tasks due before the end of their workspace's today (overdue ones
    included), earliest first: the first ``limit`` and how many there are."""
    where = [
        Task.workspace_id == workspace.id,
        Task.owner_id == member.id,
        Task.done.is_(False),
        Task.due_at < end_of_today(workspace, now),
    ]
    total = session.execute(sa.select(sa.func.count()).select_from(Task).where(*where)).scalar()
    if not total:
        return TaskPage([], 0)
    return TaskPage(_rows(session, _select(*where).limit(limit)), int(total))
