"""What ``/deal show N`` reads, in as few statements as the page allows (issue 17).

The profile of ``/deal show`` under load said about half of its CPU was SQLAlchemy's Python
per statement (building the statement, its cache key, setting up the result), not the
database. So the page reads the deal with its company, owner, contact and open-task count in
one statement, and its timeline with the authors' Slack ids in another; both are built once,
here, with bound parameters (compiled once per process and dialect) and run on the cursor
of the session's connection (:mod:`storage.fast`: no ORM, no SQLAlchemy execution). On
PostgreSQL the two are one statement (the timeline a ``LATERAL`` subquery): a round trip and
a third of the page's Python fewer; SQLite keeps two (see ``_PAGE_AND_TIMELINE``).

The card itself is :func:`domain.deal_reads.card`, given the row and what was joined to it,
so cards, ``/deal show`` and lists keep one spelling of a deal.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from domain import deal_reads, tasks
from domain.errors import NotFound
from storage.fast import Read
from storage.models import Activity, Company, Deal, Member, Person, Task, TaskStatus, Workspace

_deal = Deal.__table__
_owner = Member.__table__.alias("owner")
_company = Company.__table__
_person = Person.__table__
_task = Task.__table__
_activity = Activity.__table__
_author = Member.__table__.alias("author")

_DEAL_COLUMNS = (
    *(_deal.c[column.key] for column in (*deal_reads._COLUMNS, *deal_reads._SHOWN)),
    _deal.c.person_id,
    _deal.c.thread_permalink,
    _deal.c.qualification,
)
_OPEN_TASKS = (
    sa.select(sa.func.count())
    .select_from(_task)
    .where(
        _task.c.workspace_id == _deal.c.workspace_id,
        _task.c.status == TaskStatus.open.value,
        _task.c.deal_id == _deal.c.id,
    )
    .scalar_subquery()
)
_PAGE = (
    sa.select(
        *_DEAL_COLUMNS,
        _company.c.name.label("company_name"),
        _owner.c.slack_user_id.label("owner_slack_id"),
        _owner.c.name.label("owner_name"),
        _owner.c.locale.label("owner_locale"),
        _person.c.name.label("contact_name"),
        _OPEN_TASKS.label("open_tasks"),
    )
    .select_from(
        _deal.outerjoin(_company, _company.c.id == _deal.c.company_id)
        .outerjoin(_owner, _owner.c.id == _deal.c.owner_id)
        .outerjoin(_person, _person.c.id == _deal.c.person_id)
    )
    .where(_deal.c.workspace_id == sa.bindparam("workspace_id"))
    .where(_deal.c.number == sa.bindparam("number"))
)
TIMELINE = 8  # activities on the page
_TIMELINE = (
    sa.select(*_activity.c, _author.c.slack_user_id.label("author_slack_id"))
    .select_from(_activity.outerjoin(_author, _author.c.id == _activity.c.author_id))
    .where(_activity.c.deal_id == sa.bindparam("deal_id"))
    .order_by(_activity.c.at.desc(), _activity.c.id.desc())
    .limit(TIMELINE)
)
# PostgreSQL: the page and its timeline in one statement, the timeline a LATERAL subquery
# (a row per activity, the deal's columns on each; one row with no activity when there is
# none). SQLite has no LATERAL; its spellings without (a correlated IN in the join) cost as
# much Python as the second statement saves, which on SQLite is no round trip.
_RECENT = (
    sa.select(_activity.c.id, _activity.c.at, _activity.c.kind, _activity.c.text)
    .add_columns(_activity.c.author_id)
    .where(_activity.c.deal_id == _deal.c.id)
    .order_by(_activity.c.at.desc(), _activity.c.id.desc())
    .limit(TIMELINE)
    .lateral("recent")
)
_PAGE_AND_TIMELINE = (
    _PAGE.add_columns(
        _RECENT.c.id.label("activity_id"),
        _RECENT.c.at.label("activity_at"),
        _RECENT.c.kind.label("activity_kind"),
        _RECENT.c.text.label("activity_text"),
        _RECENT.c.author_id.label("activity_author_id"),
        _author.c.slack_user_id.label("author_slack_id"),
    )
    .outerjoin(_RECENT, sa.true())
    .outerjoin(_author, _author.c.id == _RECENT.c.author_id)
    .order_by(_RECENT.c.at.desc(), _RECENT.c.id.desc())
)
TASKS = 10  # open tasks listed on the page
# Run on the driver's cursor (storage.fast): SQLAlchemy's per-statement Python was ~70 µs of
# this page's ~1.3 ms on PostgreSQL, ~15 µs a statement on SQLite.
_PAGE_READ = Read(_PAGE)
_TIMELINE_READ = Read(_TIMELINE)
_PAGE_AND_TIMELINE_READ = Read(_PAGE_AND_TIMELINE)


class Entry(NamedTuple):
    """A timeline entry as the page shows it (views.deals.activity_line)."""

    id: int
    at: datetime
    kind: str
    text: str
    author_id: int | None
    author_slack_id: str | None


class Author(NamedTuple):
    """What the timeline shows of an activity's author (views.deals.who)."""

    slack_user_id: str


class DealPage(NamedTuple):
    card: deal_reads.DealCard
    activities: list  # newest first: rows of Activity's columns (SQLite), or Entry (PostgreSQL)
    authors: dict[int, Author]  # by member id
    permalink: str | None  # the card's thread, stored when it was posted
    tasks: tasks.TaskPage
    contact: str | None  # the contact's name


def deal_page(*, session: Session, workspace: Workspace, number: int, now: datetime) -> DealPage:
    """The deal numbered ``number`` and everything its page shows."""
    session.flush()  # Core execution below does not autoflush
    conn = session.connection()
    params = {"workspace_id": workspace.id, "number": number}
    if conn.dialect.name == "postgresql":
        rows = _PAGE_AND_TIMELINE_READ.all(conn, params)
        row = rows[0] if rows else None
        activities = [
            Entry(
                r.activity_id,
                r.activity_at,
                r.activity_kind,
                r.activity_text,
                r.activity_author_id,
                r.author_slack_id,
            )
            for r in rows
            if r.activity_id is not None
        ]
    else:
        rows = _PAGE_READ.all(conn, params)  # one deal of the number, or none
        row = rows[0] if rows else None
        activities = None
    if row is None:
        raise NotFound("deal.not_found_number", number=number)
    owners = {}
    if row.owner_id is not None and row.owner_slack_id is not None:
        owners[row.owner_id] = (row.owner_slack_id, row.owner_name, row.owner_locale)
    names = {}
    if row.company_id is not None and row.company_name is not None:
        names[row.company_id] = row.company_name
    card = deal_reads.card(
        session=session, workspace=workspace, deal=row, now=now, owners=owners, names=names
    )
    if activities is None:
        activities = _TIMELINE_READ.all(conn, {"deal_id": row.id})
    authors = {
        a.author_id: Author(a.author_slack_id) for a in activities if a.author_slack_id is not None
    }
    open_tasks = tasks.TaskPage([], 0)
    if row.open_tasks:
        open_tasks = tasks.list_tasks(session=session, workspace=workspace, deal=row, limit=TASKS)
    return DealPage(card, activities, authors, row.thread_permalink, open_tasks, row.contact_name)
