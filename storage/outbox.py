"""The outbox: every scheduled post is recorded here before it is sent.

Life of a row::

    enqueue ──► pending ──claim──► sending ──► sent
                   ▲                  │
                   └──── mark_retry ◄─┤ (429, 5xx, network: backoff, never dropped)
                                      └──► failed (permanent: channel_not_found, …)

- ``key`` is unique: ``job:workspace:target:period``. :func:`enqueue` inserts with
  ``ON CONFLICT DO NOTHING``, so a repeated run, a restart or a second process cannot
  record the same post twice.
- :func:`claim_pending` hands out due rows and leases them (``status='sending'``,
  ``next_attempt_at = now + lease``) in a short transaction; the caller sends *after*
  committing it, so no database lock is held across a Slack call. On PostgreSQL the select
  uses ``FOR UPDATE SKIP LOCKED`` so several processes drain concurrently, each row going to
  one of them; on SQLite ``BEGIN IMMEDIATE`` (storage.db) serialises the claims. A process
  that dies mid-send leaves a ``sending`` row whose lease runs out and which is then claimed
  again (at-least-once for that one crash window; Slack has no idempotency key).
- Storage knows nothing of Slack: callers classify errors and call the ``mark_*`` helpers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from storage.models import Outbox
from storage.types import utcnow

log = logging.getLogger(__name__)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"

LEASE = timedelta(minutes=5)
BACKOFF_BASE = 5.0  # seconds; doubled per attempt
BACKOFF_MAX = 3600.0  # an hour between tries at most, forever: nothing is dropped
KEY_MAX = 255
ERROR_MAX = 500


def outbox_key(*, job: str, workspace_id: int, target: str, period: str) -> str:
    key = f"{job}:{workspace_id}:{target}:{period}"
    if len(key) > KEY_MAX:
        raise ValueError(f"outbox key too long ({len(key)} > {KEY_MAX}): {key[:80]}…")
    return key


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Outbox)
    if dialect == "sqlite":
        return sqlite.insert(Outbox)
    raise NotImplementedError(f"outbox: unsupported database {dialect!r}")


def enqueue(
    session: Session,
    *,
    workspace_id: int,
    job: str,
    target: str,
    period: str,
    payload: dict[str, Any],
    now: datetime | None = None,
) -> bool:
    """Record a post unless its key is taken. True when this call inserted it."""
    now = now or utcnow()
    key = outbox_key(job=job, workspace_id=workspace_id, target=target, period=period)
    stmt = (
        _insert(session)
        .values(
            workspace_id=workspace_id,
            key=key,
            job=job,
            target=target,
            period=period,
            payload=json.dumps(payload, ensure_ascii=False, default=str),
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Outbox.id)
    )
    # RETURNING rather than rowcount: psycopg 3 under SQLAlchemy 2.1 reports rowcount -1 here.
    return session.execute(stmt).first() is not None


def enqueue_many(
    session: Session,
    *,
    workspace_id: int,
    job: str,
    rows: list[tuple[str, str, dict[str, Any]]],
    now: datetime | None = None,
    batch: int = 500,
) -> set[str]:
    """Record many posts ``(target, period, payload)`` at once; returns the keys inserted now.

    The same ``ON CONFLICT DO NOTHING`` as :func:`enqueue`, in multi-row statements: a big
    workspace's first stall-warning run records tens of thousands of posts.
    """
    now = now or utcnow()
    values = [
        {
            "workspace_id": workspace_id,
            "key": outbox_key(job=job, workspace_id=workspace_id, target=target, period=period),
            "job": job,
            "target": target,
            "period": period,
            "payload": json.dumps(payload, ensure_ascii=False, default=str),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for target, period, payload in rows
    ]
    # One row per key, in key order: concurrent writers then take the unique index's locks
    # in the same order and cannot deadlock each other.
    values = sorted({v["key"]: v for v in reversed(values)}.values(), key=lambda v: v["key"])
    inserted: set[str] = set()
    for i in range(0, len(values), batch):
        stmt = (
            _insert(session)
            .values(values[i : i + batch])
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(Outbox.key)
        )
        inserted.update(session.execute(stmt).scalars())
    return inserted


@dataclass(frozen=True)
class Claimed:
    """A leased row, detached from the session that claimed it."""

    id: int
    key: str
    workspace_id: int
    job: str
    target: str
    period: str
    payload: dict[str, Any]
    attempts: int


def claim_pending(
    session: Session,
    *,
    now: datetime,
    limit: int = 50,
    lease: timedelta = LEASE,
    workspace_id: int | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due rows, oldest first. Commit before sending."""
    query = (
        select(Outbox)
        .where(
            Outbox.status.in_([PENDING, SENDING]),  # a SENDING row here lost its lease
            Outbox.next_attempt_at <= now,
        )
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
    )
    if workspace_id is not None:
        query = query.where(Outbox.workspace_id == workspace_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.exec(query))
    claimed = []
    for row in rows:
        if row.status == SENDING:
            log.warning("outbox %s: lease expired mid-send, sending again", row.key)
        row.status = SENDING
        row.next_attempt_at = now + lease
        session.add(row)
        claimed.append(
            Claimed(
                id=row.id,
                key=row.key,
                workspace_id=row.workspace_id,
                job=row.job,
                target=row.target,
                period=row.period,
                payload=json.loads(row.payload),
                attempts=row.attempts,
            )
        )
    session.flush()
    return claimed


def _row(session: Session, outbox_id: int) -> Outbox:
    row = session.get(Outbox, outbox_id)
    if row is None:
        raise LookupError(f"outbox row {outbox_id} is gone")
    return row


def mark_sent(
    session: Session, outbox_id: int, *, ts: str | None, channel: str | None, now: datetime
) -> None:
    row = _row(session, outbox_id)
    row.status = SENT
    row.attempts += 1
    row.ts = ts
    row.channel = channel
    row.sent_at = now
    row.last_error = None
    session.add(row)
    session.flush()


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff (5 s, 10 s, 20 s … capped at an hour), never sooner than
    Slack's ``Retry-After``."""
    delay = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
    if retry_after is not None:
        delay = max(delay if attempts > 3 else 0.0, float(retry_after))
    return timedelta(seconds=delay)


def mark_retry(
    session: Session,
    outbox_id: int,
    *,
    error: str,
    now: datetime,
    retry_after: float | None = None,
) -> datetime:
    """A transient failure: back to pending, tried again later. Returns the next attempt."""
    row = _row(session, outbox_id)
    row.attempts += 1
    row.status = PENDING
    row.last_error = error[:ERROR_MAX]
    row.next_attempt_at = now + backoff(row.attempts, retry_after)
    session.add(row)
    session.flush()
    return row.next_attempt_at


def postpone(session: Session, outbox_id: int, *, until: datetime, reason: str) -> None:
    """Back to pending without counting an attempt (waiting on another row, or paced)."""
    row = _row(session, outbox_id)
    row.status = PENDING
    row.next_attempt_at = until
    row.last_error = reason[:ERROR_MAX]
    session.add(row)
    session.flush()


def mark_failed(session: Session, outbox_id: int, *, error: str, now: datetime) -> None:
    """A permanent failure: recorded, logged once here, never tried again."""
    row = _row(session, outbox_id)
    row.attempts += 1
    row.status = FAILED
    row.last_error = error[:ERROR_MAX]
    row.next_attempt_at = now
    session.add(row)
    session.flush()
    log.error("outbox %s (workspace %s) failed permanently: %s", row.key, row.workspace_id, error)


def get_by_key(session: Session, key: str) -> Outbox | None:
    return session.exec(select(Outbox).where(Outbox.key == key)).first()


def next_due(session: Session) -> datetime | None:
    """When the earliest unsent row becomes due (None: nothing left to send)."""
    return session.exec(
        select(sa.func.min(Outbox.next_attempt_at)).where(Outbox.status.in_([PENDING, SENDING]))
    ).one()


def counts(session: Session, *, workspace_id: int | None = None) -> dict[str, int]:
    query = select(Outbox.status, sa.func.count()).group_by(Outbox.status)
    if workspace_id is not None:
        query = query.where(Outbox.workspace_id == workspace_id)
    return {status: n for status, n in session.exec(query)}
