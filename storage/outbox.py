"""The outbox: every post after an ack, and every scheduled post, is recorded here first.

Life of a row::

    enqueue ──► pending ──claim──► sending ──► sent
                   ▲                  │
                   └──── mark_retry ◄─┤ (429, 5xx, network: backoff, never dropped)
                                      └──► failed (permanent: channel_not_found, …)

- ``key`` is unique: ``job:workspace:target:period``. :func:`enqueue` inserts with
  ``ON CONFLICT DO NOTHING``, so a repeated run, a restart or a second process cannot
  record the same post twice. A deal's card has the key ``deal:<ws>:d<deal>:card``: one
  card per deal, ever, whatever retries or races happen upstream.
- Rows of one deal (``deal_id``) go out **in order**: a row is not claimable while an
  earlier row (smaller id) of the same deal is pending or sending. A card update therefore
  waits for the card's own post, in this process or another, instead of posting a second
  card.
- :func:`claim_pending` leases rows (``status='sending'``, ``next_attempt_at = now +
  lease``) in a short transaction; the caller sends *after* committing it, so no database
  lock is held across a Slack call. Callers lease one row at a time, on the real clock: a
  process killed mid-send leaves exactly one row ``sending``, the others stay pending for
  the next drain. On PostgreSQL the select uses ``FOR UPDATE SKIP LOCKED`` so several
  processes drain concurrently, each row going to one of them; on SQLite ``BEGIN
  IMMEDIATE`` (storage.db) serialises the claims.
- A row claimed while already ``sending`` lost its lease mid-send (the process died, or the
  database was unreachable when the result was to be recorded): it comes back with
  ``recovering=True`` so the sender can look for the message in the channel before posting
  it again (Slack has no idempotency key; see scheduler.drain).
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
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from storage.models import Outbox
from storage.types import utcnow

log = logging.getLogger(__name__)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"

LEASE = timedelta(minutes=2)  # longer than any one Slack call (15 s timeout) plus pacing
BACKOFF_BASE = 5.0  # seconds; doubled per attempt
BACKOFF_MAX = 3600.0  # an hour between tries at most, forever: nothing is dropped
KEY_MAX = 255
ERROR_MAX = 500


def outbox_key(*, job: str, workspace_id: int, target: str, period: str) -> str:
    return checked_key(f"{job}:{workspace_id}:{target}:{period}")


def checked_key(key: str) -> str:
    """``key`` (``job:workspace:target:period``, put together by the caller) if it fits."""
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
    deal_id: int | None = None,
) -> bool:
    """Record a post unless its key is taken. True when this call inserted it."""
    now = now or utcnow()
    key = outbox_key(job=job, workspace_id=workspace_id, target=target, period=period)
    stmt = (
        _insert(session)
        .values(
            workspace_id=workspace_id,
            deal_id=deal_id,
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
    rows: list[tuple],
    now: datetime | None = None,
    batch: int = 500,
) -> set[str]:
    """Record many posts ``(target, period, payload[, deal_id])`` at once; returns the keys
    inserted now.

    The same ``ON CONFLICT DO NOTHING`` as :func:`enqueue`, in multi-row statements: a big
    workspace's first stall-warning run records tens of thousands of posts. Rows keep their
    order within a deal (ids are assigned in the order given).
    """
    return enqueue_across(
        session, job=job, rows=[(workspace_id, *row) for row in rows], now=now, batch=batch
    )


def enqueue_across(
    session: Session,
    *,
    job: str,
    rows: list[tuple],
    now: datetime | None = None,
    batch: int = 500,
) -> set[str]:
    """:func:`enqueue_many` for the posts of several workspaces at once, ``(workspace id,
    target, period, payload[, deal_id])``: a scheduler batch's digests in one statement."""
    now = now or utcnow()
    values = [
        {
            "workspace_id": workspace_id,
            "deal_id": deal_id,
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
        for workspace_id, target, period, payload, deal_id in (_with_deal(row) for row in rows)
    ]
    # One row per key (the first wins). Rows of deals keep the order given: their ids decide
    # the order they are sent in. Scheduled posts (no deal) go in key order, so concurrent
    # planners take the unique index's locks in the same order and cannot deadlock.
    values = list({v["key"]: v for v in reversed(values)}.values())[::-1]
    if all(v["deal_id"] is None for v in values):
        values.sort(key=lambda v: v["key"])
    inserted: set[str] = set()
    if not values:
        return inserted
    # One statement, parameters apart (SQLAlchemy's "insertmanyvalues" makes it multi-row in
    # the order given): compiled once and cached, where ``.values(rows)`` compiled a new
    # statement for every batch — a quarter of a scheduler tick's CPU over many workspaces.
    table = Outbox.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    conn = session.connection()
    for i in range(0, len(values), batch):
        inserted.update(conn.execute(stmt, values[i : i + batch]).scalars())
    return inserted


def _with_deal(row: tuple) -> tuple:
    return row if len(row) == 5 else (*row, None)


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
    deal_id: int | None = None
    created_at: datetime | None = None
    recovering: bool = False  # it was being sent when its lease ran out: maybe it went out
    lease_until: datetime | None = None  # this claim's lease: the fence of the mark_* calls


UNSENT = (PENDING, SENDING)
#: Jobs whose rows of one target go out in order, like a deal's: an import's progress
#: message and its updates (the last update must be the last one Slack sees).
IN_ORDER_JOBS = ("import",)


def _first_of_its_deal():
    """No earlier unsent row of the same deal (or of the same in-order target): this row is
    the head of its queue."""
    earlier = aliased(Outbox)
    chained = aliased(Outbox)
    return sa.or_(
        sa.and_(
            Outbox.job.not_in(IN_ORDER_JOBS),
            sa.or_(
                Outbox.deal_id.is_(None),
                ~sa.exists().where(
                    earlier.deal_id == Outbox.deal_id,
                    earlier.id < Outbox.id,
                    earlier.status.in_(UNSENT),
                ),
            ),
        ),
        sa.and_(
            Outbox.job.in_(IN_ORDER_JOBS),
            ~sa.exists().where(
                chained.job == Outbox.job,
                chained.workspace_id == Outbox.workspace_id,
                chained.target == Outbox.target,
                chained.id < Outbox.id,
                chained.status.in_(UNSENT),
            ),
        ),
    )


def superseded(session: Session, row: Claimed) -> bool:
    """A later row of the same in-order target exists: this update's news is old."""
    query = select(Outbox.id).where(
        Outbox.job == row.job,
        Outbox.workspace_id == row.workspace_id,
        Outbox.target == row.target,
        Outbox.id > row.id,
    )
    return session.exec(query.limit(1)).first() is not None


def claim_pending(
    session: Session,
    *,
    now: datetime,
    limit: int = 1,
    lease: timedelta = LEASE,
    workspace_id: int | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due rows, oldest first, never two rows of one deal. Commit
    before sending. ``now`` is the real clock: the lease is a promise about real time."""
    query = (
        select(Outbox)
        .where(
            Outbox.status.in_(UNSENT),  # a SENDING row here lost its lease
            Outbox.next_attempt_at <= now,
            _first_of_its_deal(),
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
        recovering = row.status == SENDING
        if recovering:
            log.warning("outbox %s: lease expired mid-send; checking before sending", row.key)
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
                deal_id=row.deal_id,
                created_at=row.created_at,
                recovering=recovering,
                lease_until=row.next_attempt_at,
            )
        )
    session.flush()
    return claimed


def _row(session: Session, outbox_id: int) -> Outbox:
    row = session.get(Outbox, outbox_id)
    if row is None:
        raise LookupError(f"outbox row {outbox_id} is gone")
    return row


def _fenced(session: Session, outbox_id: int, lease_until: datetime | None) -> Outbox:
    """The row, read afresh and, on PostgreSQL, locked until the caller commits when a claim's
    lease is to be checked: a peer's claim (``SKIP LOCKED``) cannot slip in between the check
    and the write. On SQLite the write transaction (``BEGIN IMMEDIATE``) serialises them."""
    if lease_until is None:
        return _row(session, outbox_id)
    locked = session.get_bind().dialect.name == "postgresql"
    row = session.get(Outbox, outbox_id, with_for_update=locked, populate_existing=True)
    if row is None:
        raise LookupError(f"outbox row {outbox_id} is gone")
    return row


def _taken_over(row: Outbox, lease_until: datetime | None) -> bool:
    """Whether the claim that leased ``row`` until ``lease_until`` lost it: the lease ran out
    and another sender claimed the row again (or already finished it). A sender stalled past
    its lease (a long GC pause, a database that was unreachable when the result was to be
    written) must not overwrite that peer's outcome: a late "retry" would put a row the peer
    already sent back to pending, and it would go out twice. Without ``lease_until`` (a
    caller that claimed nothing) nothing is checked."""
    if lease_until is None or (row.status == SENDING and row.next_attempt_at == lease_until):
        return False
    log.warning(
        "outbox %s: its lease ran out before the result was recorded and another sender took "
        "it over (now %s)",
        row.key,
        row.status,
    )
    return True


def _held(session: Session, outbox_id: int, lease_until: datetime | None) -> Outbox | None:
    """The row if the claim that leased it until ``lease_until`` still holds it, else None:
    the row is left to the sender that took it over."""
    row = _fenced(session, outbox_id, lease_until)
    return None if _taken_over(row, lease_until) else row


def mark_sent(
    session: Session,
    outbox_id: int,
    *,
    ts: str | None,
    channel: str | None,
    now: datetime,
    lease_until: datetime | None = None,
) -> None:
    """The post is out. With a lost lease it is recorded anyway unless a peer already
    recorded its own send (that one's ``ts`` stays): the message exists either way, and a
    peer still sending finds it in the channel (its claim came back ``recovering``)."""
    row = _fenced(session, outbox_id, lease_until)
    if _taken_over(row, lease_until) and row.status == SENT:
        return  # the peer that took the row over recorded its own send first
    row.status = SENT
    row.attempts += 1
    row.ts = ts
    row.channel = channel
    row.sent_at = now
    row.last_error = None
    session.add(row)
    session.flush()


def backoff(
    attempts: int, retry_after: float | None = None, base: float | None = None
) -> timedelta:
    """Exponential backoff (5 s, 10 s, 20 s … capped at an hour), never sooner than
    Slack's ``Retry-After``. ``base`` replaces the 5 s (tests, impatient staging)."""
    delay = min((base or BACKOFF_BASE) * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
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
    base: float | None = None,
    lease_until: datetime | None = None,
) -> datetime | None:
    """A transient failure: back to pending, tried again later. Returns the next attempt,
    or ``None`` when the claim's lease was lost (the row is another sender's now)."""
    row = _held(session, outbox_id, lease_until)
    if row is None:
        return None
    row.attempts += 1
    row.status = PENDING
    row.last_error = error[:ERROR_MAX]
    row.next_attempt_at = now + backoff(row.attempts, retry_after, base)
    session.add(row)
    session.flush()
    return row.next_attempt_at


def postpone(
    session: Session,
    outbox_id: int,
    *,
    until: datetime,
    reason: str,
    lease_until: datetime | None = None,
) -> None:
    """Back to pending without counting an attempt (waiting on another row, or paced)."""
    row = _held(session, outbox_id, lease_until)
    if row is None:
        return
    row.status = PENDING
    row.next_attempt_at = until
    row.last_error = reason[:ERROR_MAX]
    session.add(row)
    session.flush()


def mark_failed(
    session: Session,
    outbox_id: int,
    *,
    error: str,
    now: datetime,
    lease_until: datetime | None = None,
) -> None:
    """A permanent failure: recorded, logged once here, never tried again."""
    row = _held(session, outbox_id, lease_until)
    if row is None:
        return
    row.attempts += 1
    row.status = FAILED
    row.last_error = error[:ERROR_MAX]
    row.next_attempt_at = now
    session.add(row)
    session.flush()
    log.error("outbox %s (workspace %s) failed permanently: %s", row.key, row.workspace_id, error)


def earlier_unsent(session: Session, row: Claimed) -> bool:
    """Whether an earlier row of the same job and target is still pending or being sent:
    the updates of one message (an inbound lead's, ``target`` ``l<lead>``) go out in order,
    so a slower worker never overwrites a newer state with an older one. Few rows are unsent
    at a time, and ``ix_outbox_pending`` finds them."""
    earlier = session.exec(
        select(Outbox.id).where(
            Outbox.status.in_(UNSENT),
            Outbox.workspace_id == row.workspace_id,
            Outbox.job == row.job,
            Outbox.target == row.target,
            Outbox.id < row.id,
        )
    ).first()
    return earlier is not None


def get_by_key(session: Session, key: str) -> Outbox | None:
    return session.exec(select(Outbox).where(Outbox.key == key)).first()


def next_due(session: Session, *, workspace_id: int | None = None) -> datetime | None:
    """When the earliest unsent row becomes due (None: nothing left to send)."""
    query = select(sa.func.min(Outbox.next_attempt_at)).where(Outbox.status.in_(UNSENT))
    if workspace_id is not None:
        query = query.where(Outbox.workspace_id == workspace_id)
    return session.exec(query).one()


def in_flight(session: Session, *, now: datetime, workspace_id: int | None = None) -> int:
    """Rows leased by a sender whose lease has not run out yet (being sent, or the sender
    died and the row waits for its lease to end)."""
    query = (
        select(sa.func.count())
        .select_from(Outbox)
        .where(Outbox.status == SENDING, Outbox.next_attempt_at > now)
    )
    if workspace_id is not None:
        query = query.where(Outbox.workspace_id == workspace_id)
    return session.exec(query).one()


#: Jobs whose sent rows are history once sent: replies, updates, DMs of commands. Scheduled
#: jobs keep theirs, because their keys are what stops a second warning for one episode.
PRUNABLE_JOBS = ("deal", "reply", "chart", "import")


def prune(session: Session, *, before: datetime) -> int:
    """Forget sent rows of interactive posts older than ``before`` (never a card: its row
    is what makes a deal's card once-only)."""
    result = session.execute(
        sa.delete(Outbox)
        .where(
            Outbox.status == SENT,
            Outbox.sent_at < before,
            Outbox.job.in_(PRUNABLE_JOBS),
            ~Outbox.key.endswith(":card"),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def counts(session: Session, *, workspace_id: int | None = None) -> dict[str, int]:
    query = select(Outbox.status, sa.func.count()).group_by(Outbox.status)
    if workspace_id is not None:
        query = query.where(Outbox.workspace_id == workspace_id)
    return {status: n for status, n in session.exec(query)}


def drop_unsent(session: Session, *, workspace_id: int) -> int:
    """Forget every unsent post of a workspace Salesbot can no longer post to (uninstalled,
    tokens revoked): pending rows and rows in flight alike. Returns how many."""
    result = session.execute(
        sa.delete(Outbox)
        .where(Outbox.workspace_id == workspace_id, Outbox.status.in_(UNSENT))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
