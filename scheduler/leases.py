"""Sharing the planning between scheduler processes: a lease row per workspace and job.

The row holds the job's current slot for the workspace (:func:`scheduler.due.job_slot`). Each
process's tick *offers* the slots that came due — an upsert that moves the row on to a later
slot (slots of one job sort in time order) and leaves it alone otherwise — then *claims* rows
in small batches, each with one ``UPDATE … RETURNING`` whose rows are picked on PostgreSQL
with ``FOR UPDATE SKIP LOCKED``, so two processes claiming at once take different rows
without waiting for each other; on SQLite the claim's transaction holds the database's write
lock (``BEGIN IMMEDIATE``, storage.db), which makes the same pick-then-update safe. A
claimed row is leased for :data:`LEASE`; the claimer plans the job for that workspace and
marks the slot done, or, when planning failed or ran out of time, leaves it claimable again
after :data:`RETRY` — the ticker records that in the transaction that claims its next batch
(a process that died mid-plan leaves it leased: another claims it when the lease is over).
N processes therefore plan each workspace
once between them instead of each planning all of them, and the table keeps one row per
workspace and job. Correctness does not depend on it: the outbox keys make a second planning
of the same slot record nothing (scheduler.jobs).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import JobLease

LEASE = timedelta(minutes=10)  # how long a claim is exclusive: far above a workspace's budget
RETRY = timedelta(minutes=1)  # a failed planning is claimable again after this
BATCH = 50  # workspaces claimed at once: small enough that processes interleave


def offer(session: Session, rows: Iterable[tuple[int, str, str]]) -> None:
    """Make each ``(workspace id, job, slot)`` the row's slot, unless it holds a later one."""
    values = [{"workspace_id": w, "job": j, "slot": s, "attempts": 0} for w, j, s in rows]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = JobLease.__table__
    stmt = insert(table)
    # One statement, the rows as its parameters: compiled once and cached, where
    # ``.values(rows)`` compiled a new multi-row statement per thousand rows (60 of them for
    # 10,000 workspaces at 09:00, most of the offer's CPU).
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "job"],
        set_={
            "slot": stmt.excluded.slot,
            "owner": None,
            "leased_until": None,
            "done_at": None,
            "attempts": 0,
            "last_error": None,
        },
        where=table.c.slot < stmt.excluded.slot,
    )
    for i in range(0, len(values), 1000):
        session.execute(stmt, values[i : i + 1000])


def claim(
    session: Session,
    *,
    job: str,
    slots: Iterable[str],
    owner: str,
    now: datetime,
    limit: int = BATCH,
    lease: timedelta = LEASE,
) -> list[tuple[int, str]]:
    """Claim up to ``limit`` open, unleased rows of ``job`` in ``slots``: ``(workspace, slot)``,
    in workspace order. One statement: the rows are picked (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL) and leased by the same ``UPDATE … RETURNING``."""
    L = JobLease.__table__.c  # Core: no ORM session synchronising for a bulk update
    pick = (
        sa.select(L.workspace_id)
        .where(
            L.job == job,
            L.slot.in_(sorted(set(slots))),
            L.done_at.is_(None),
            sa.or_(L.leased_until.is_(None), L.leased_until <= now),
        )
        .order_by(L.workspace_id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # Picked once: inside ``IN (…)`` PostgreSQL may run a ``LIMIT`` subquery again for each
    # row it updates and so lease more than ``limit`` rows.
    picked = pick.cte("picked").prefix_with("MATERIALIZED")
    claimed = session.execute(
        sa.update(JobLease.__table__)
        .where(L.job == job, L.workspace_id.in_(sa.select(picked.c.workspace_id)))
        .values(owner=owner, leased_until=now + lease, attempts=L.attempts + 1)
        .returning(L.workspace_id, L.slot)
    ).all()
    return sorted((w, s) for w, s in claimed)


def finish(
    session: Session,
    *,
    job: str,
    outcomes: Iterable[tuple[int, str, str | None]],
    now: datetime,
) -> None:
    """The claimer is through with ``(workspace, slot, error)``: done, or (an error)
    claimable again after :data:`RETRY`. One statement for all that are done."""
    L = JobLease.__table__.c  # Core, as in claim
    outcomes = list(outcomes)
    done: dict[str, list[int]] = {}  # slot -> workspaces: a batch's rows share one or two
    for w, s, error in outcomes:
        if error is None:
            done.setdefault(s, []).append(w)
    # By slot, the workspaces as a plain list: a ``(workspace, slot) IN (…)`` of 500 pairs
    # cost PostgreSQL ~100 ms, the same rows by ``slot = … AND workspace_id IN (…)`` a few.
    for slot, ids in sorted(done.items()):
        for i in range(0, len(ids), 500):
            session.execute(
                sa.update(JobLease.__table__)
                .where(L.job == job, L.slot == slot, L.workspace_id.in_(ids[i : i + 500]))
                .values(done_at=now, last_error=None)
            )
    for workspace_id, slot, error in outcomes:
        if error is not None:
            session.execute(
                sa.update(JobLease.__table__)
                .where(L.workspace_id == workspace_id, L.job == job, L.slot == slot)
                .values(leased_until=now + RETRY, last_error=error[:500])
            )


def finished(session: Session, *, job: str, slots: Iterable[str]) -> set[tuple[int, str]]:
    """``(workspace, slot)`` of ``job`` that some process has done."""
    L = JobLease
    rows = session.execute(
        sa.select(L.workspace_id, L.slot).where(
            L.job == job, L.slot.in_(sorted(set(slots))), L.done_at.is_not(None)
        )
    ).all()
    return {(w, s) for w, s in rows}
