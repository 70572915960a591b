"""Tasks: made by people (``/task new``) or generated (cadence steps, workflow actions), done,
snoozed or skipped; and read the way the reminders, ``/task list`` and App Home read them.

A generated task carries an ``origin``, unique per workspace: :func:`create_task` with an
origin that exists returns the task already made, so a retry, a double click or a second
replica never makes it twice (``INSERT … ON CONFLICT DO NOTHING``, then read it back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from domain.deals import _next_number
from domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from domain.workspaces import can_manage_any_deal
from storage.models import Deal, Lead, Member, Task, TaskKind, TaskStatus, Workspace
from storage.types import utcnow

MAX_TEXT = 1000
MAX_ORIGIN = 255


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Task)
    return sqlite.insert(Task)


def _by_origin(session: Session, workspace_id: int, origin: str) -> Task | None:
    return session.exec(
        select(Task).where(Task.workspace_id == workspace_id, Task.origin == origin)
    ).first()


def create_task(
    *,
    session: Session,
    workspace: Workspace,
    owner: Member,
    text: str,
    kind: TaskKind | str,
    due_at: datetime,
    deal: Deal | None = None,
    lead: Lead | None = None,
    origin: str | None = None,
    stage_id: int | None = None,
    created_by: Member | None = None,
) -> Task:
    """A new open task, numbered ``T<n>`` in its workspace; with an ``origin`` already used
    in the workspace, the task made the first time (nothing new)."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("task.text_required", usage="task_new")
    if len(text) > MAX_TEXT:
        raise InvalidInput("task.text_too_long", limit=MAX_TEXT)
    if origin is not None and len(origin) > MAX_ORIGIN:
        raise ValueError(f"task origin longer than {MAX_ORIGIN}: {origin!r}")
    if due_at.tzinfo is None:
        raise ValueError("a task's due time must be aware")
    if origin is not None:
        existing = _by_origin(session, workspace.id, origin)
        if existing is not None:
            return existing
    values = dict(
        workspace_id=workspace.id,
        number=_next_number(session, workspace.id, Workspace.next_task_number),
        owner_id=owner.id,
        deal_id=deal.id if deal else None,
        lead_id=lead.id if lead else None,
        kind=TaskKind(kind).value,
        text=text,
        due_at=due_at,
        status=TaskStatus.open.value,
        origin=origin,
        created_by_id=created_by.id if created_by else None,
        stage_id=stage_id,
        created_at=utcnow(),
    )
    statement = (
        _insert(session)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["workspace_id", "origin"])
        .returning(Task.id)
    )
    task_id = session.execute(statement).scalar()
    if task_id is None:  # another transaction made it first (same origin)
        task = _by_origin(session, workspace.id, origin)
        assert task is not None
        return task
    task = session.get(Task, task_id)
    assert task is not None
    return task


def get_task(*, session: Session, workspace_id: int, number: int) -> Task:
    task = session.exec(
        select(Task).where(Task.workspace_id == workspace_id, Task.number == number)
    ).first()
    if task is None:
        raise NotFound("task.not_found", number=number)
    return task


def can_change(actor: Member, task: Task) -> bool:
    """The owner, whoever made it, and managers and admins may close or move a task."""
    return actor.id in (task.owner_id, task.created_by_id) or can_manage_any_deal(actor)


def _changeable(actor: Member, task: Task) -> None:
    if not can_change(actor, task):
        raise NotAllowed("task.not_yours", number=task.number)


def complete_task(*, session: Session, task: Task, actor: Member, now: datetime) -> bool:
    """Mark ``task`` done. False when it was already closed (a double click): nothing changes."""
    _changeable(actor, task)
    done = session.execute(
        sa.update(Task)
        .where(Task.id == task.id, Task.status == TaskStatus.open.value)
        .values(status=TaskStatus.done.value, done_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(task)
    if done:  # issue 15: a task done is activity of its lead
        from domain import lead_scores

        lead_scores.task_done(session=session, task=task, now=now)
    return bool(done)


def snooze_task(
    *, session: Session, task: Task, actor: Member, due_at: datetime, now: datetime
) -> Task:
    """Move an open task's due time; the new due time reminds again."""
    _changeable(actor, task)
    if task.status != TaskStatus.open:
        raise Conflict("task.already_closed", number=task.number)
    if due_at <= now:
        raise InvalidInput("task.due_in_past", usage="task_snooze")
    task.due_at = due_at
    session.add(task)
    session.flush()
    return task


def skip_open_tasks(
    *, session: Session, deal: Deal, stage_id: int, now: datetime | None = None
) -> int:
    """Close as skipped the open tasks of ``deal`` that belong to ``stage_id`` (a cadence's
    steps when the deal leaves the stage). Returns how many."""
    return session.execute(
        sa.update(Task)
        .where(
            Task.deal_id == deal.id,
            Task.stage_id == stage_id,
            Task.status == TaskStatus.open.value,
        )
        .values(status=TaskStatus.skipped.value, done_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


# --- reads ------------------------------------------------------------------------------


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
    number: int | None = None
    kind: str = TaskKind.todo.value
    status: str = TaskStatus.open.value
    owner_timezone: str | None = None
    deal_permalink: str | None = None
    lead_number: int | None = None
    owner_id: int | None = None


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
    Task.number,
    Task.kind,
    Task.status,
    Member.timezone,
    Deal.thread_permalink,
    Lead.number,
    Task.owner_id,
)


def _select(*where) -> sa.Select:
    return (
        sa.select(*_COLUMNS)
        .select_from(Task)
        .join(Member, Member.id == Task.owner_id)
        .outerjoin(Deal, Deal.id == Task.deal_id)
        .outerjoin(Lead, Lead.id == Task.lead_id)
        .where(*where)
        .order_by(Task.due_at, Task.id)
    )


def _rows(session: Session, query: sa.Select) -> list[TaskRow]:
    return [TaskRow(*row) for row in session.execute(query).all()]


def task_row(*, session: Session, task: Task) -> TaskRow:
    return _rows(session, _select(Task.id == task.id))[0]


def _open() -> sa.ColumnElement:
    return Task.status == TaskStatus.open.value


def tasks_came_due(
    *, session: Session, workspace: Workspace, now: datetime, lookback: timedelta
) -> list[TaskRow]:
    """Open tasks due in ``(now - lookback, now]`` whose due time was not reminded yet: what
    the reminders job considers."""
    return _rows(
        session,
        _select(
            Task.workspace_id == workspace.id,
            _open(),
            Task.due_at <= now,
            Task.due_at > now - lookback,
            sa.or_(Task.reminded_due_at.is_(None), Task.reminded_due_at != Task.due_at),
        ),
    )


def mark_reminded(*, session: Session, rows: list[TaskRow]) -> None:
    """Remember each task's due time as reminded (the outbox keeps the reminder once-only;
    this keeps the next run from reading it again). One statement per 500 tasks; a task
    snoozed since it was read keeps its new due time unreminded."""
    ids = [row.id for row in rows]
    latest = max((row.due_at for row in rows), default=None)
    for i in range(0, len(ids), 500):
        session.execute(
            sa.update(Task)
            .where(Task.id.in_(ids[i : i + 500]), Task.due_at <= latest)
            .values(reminded_due_at=Task.due_at)
            .execution_options(synchronize_session=False)
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
        _open(),
        Task.due_at < end_of_today(workspace, now),
    ]
    total = session.execute(sa.select(sa.func.count()).select_from(Task).where(*where)).scalar()
    if not total:
        return TaskPage([], 0)
    return TaskPage(_rows(session, _select(*where).limit(limit)), int(total))


def list_tasks(
    *,
    session: Session,
    workspace: Workspace,
    until: datetime | None = None,
    since: datetime | None = None,
    owner: Member | None = None,
    deal: Deal | None = None,
    limit: int = 50,
) -> TaskPage:
    """Open tasks, by owner and/or deal, due in ``[since, until)``, earliest first."""
    where = [Task.workspace_id == workspace.id, _open()]
    if owner is not None:
        where.append(Task.owner_id == owner.id)
    if deal is not None:
        where.append(Task.deal_id == deal.id)
    if until is not None:
        where.append(Task.due_at < until)
    if since is not None:
        where.append(Task.due_at >= since)
    total = session.execute(sa.select(sa.func.count()).select_from(Task).where(*where)).scalar()
    if not total:
        return TaskPage([], 0)
    return TaskPage(_rows(session, _select(*where).limit(limit)), int(total))


def overdue_counts(*, session: Session, workspace: Workspace, now: datetime) -> dict[str, int]:
    """Open tasks past due, per owner's Slack id (the stall digest shows them per rep)."""
    return overdue_counts_of(session=session, workspace_ids=[workspace.id], now=now)[workspace.id]


def overdue_counts_of(
    *, session: Session, workspace_ids: list[int], now: datetime
) -> dict[int, dict[str, int]]:
    """:func:`overdue_counts` of several workspaces in one statement (a scheduler batch)."""
    rows = session.execute(
        sa.select(Task.workspace_id, Member.slack_user_id, sa.func.count())
        .select_from(Task)
        .join(Member, Member.id == Task.owner_id)
        .where(Task.workspace_id.in_(workspace_ids), _open(), Task.due_at < now)
        .group_by(Task.workspace_id, Member.slack_user_id)
    ).all()
    out: dict[int, dict[str, int]] = {ws_id: {} for ws_id in workspace_ids}
    for ws_id, slack_id, n in rows:
        out[ws_id][slack_id] = int(n)
    return out


@dataclass(frozen=True)
class MorningOwner:
    """An owner who gets the morning DM, with their tasks due by tonight (overdue first)."""

    slack_id: str
    locale: str | None
    rows: list[TaskRow]
    total: int


def morning_owners(
    *, session: Session, workspace: Workspace, now: datetime, until: datetime, per_owner: int
) -> list[MorningOwner]:
    """Owners (with the morning DM on) who have open tasks due before ``until``: at most
    ``per_owner`` rows each, earliest first, and how many they have."""
    where = [
        Task.workspace_id == workspace.id,
        _open(),
        Task.due_at < until,
        Member.task_morning.is_(True),
    ]
    counts = session.execute(
        sa.select(Task.owner_id, sa.func.count())
        .select_from(Task)
        .join(Member, Member.id == Task.owner_id)
        .where(*where)
        .group_by(Task.owner_id)
    ).all()
    if not counts:
        return []
    rank = (
        sa.func.row_number()
        .over(partition_by=Task.owner_id, order_by=(Task.due_at, Task.id))
        .label("rank")
    )
    inner = _select(*where).add_columns(rank).order_by(None).subquery()
    query = sa.select(*[inner.c[i] for i in range(len(_COLUMNS))]).where(inner.c.rank <= per_owner)
    by_owner: dict[int, list[TaskRow]] = {}
    for row in session.execute(query.order_by(inner.c[2], inner.c[0])).all():
        task = TaskRow(*row)
        by_owner.setdefault(task.owner_id, []).append(task)
    out = []
    for owner_id, total in counts:
        rows = by_owner.get(owner_id, [])
        if rows:
            out.append(MorningOwner(rows[0].owner_slack_id, rows[0].owner_locale, rows, int(total)))
    return sorted(out, key=lambda o: o.slack_id)


# --- people's tasks ---------------------------------------------------------------------


def member_timezone(member: Member, workspace: Workspace) -> str:
    """The member's own timezone, else the workspace's: due times are read and shown in it."""
    return member.timezone or workspace.timezone


def add_task(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member,
    text: str,
    kind: str,
    due_at: datetime,
    now: datetime,
    owner: Member | None = None,
    deal: Deal | None = None,
    lead: Lead | None = None,
) -> Task:
    """A task someone writes (``/task new``, the modal, a mention in a deal's thread): due
    in the future, for ``owner`` (default: the one who writes it)."""
    if due_at <= now:
        raise InvalidInput("task.due_in_past", usage="task_new")
    return create_task(
        session=session,
        workspace=workspace,
        owner=owner or actor,
        text=text,
        kind=kind,
        due_at=due_at,
        deal=deal,
        lead=lead,
        created_by=actor,
    )


def set_morning(*, session: Session, member: Member, on: bool) -> None:
    member.task_morning = on
    session.add(member)
    session.flush()
