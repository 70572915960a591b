"""Send what the outbox holds: claim, send, record — one row at a time.

Payload of an outbox row (JSON, written by :mod:`scheduler.jobs`)::

    {"to": {"channel": "C1"} | {"dm": "U1"},      # where, unless "thread_of" says
     "thread_ts": "1700000000.000100",            # optional: reply in this thread
     "thread_of": "<outbox key>",                 # optional: reply in the thread of that post
     "message": {"text": ..., "blocks": [...]}    # a message ...
     "upload": {"filename", "title", "content_b64"}}  # ... or a file

Order of events for one row: :func:`storage.outbox.claim_pending` leases it and commits;
the Slack call happens outside any transaction; ``mark_sent`` / ``mark_retry`` /
``mark_failed`` commit right after. **The one double-post window**: Slack accepted the post
and the process died (or the database was unreachable) before ``mark_sent`` committed. The
lease then runs out and the row is sent again. The window is one HTTP round trip plus one
small commit; Slack offers no idempotency key to close it.

A reply whose parent has not been sent yet waits (``postpone``); a reply whose parent failed
permanently fails with it, since it has no thread to go into.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from scheduler.delivery import Sender, SendError
from storage import outbox
from storage.db import session_scope
from storage.types import utcnow
from views.message import Message

log = logging.getLogger(__name__)

PARENT_WAIT = timedelta(seconds=2)
BATCH = 50


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DrainReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.waiting += other.waiting
        self.errors.extend(other.errors)


class _Wait(Exception):
    """The parent post is not out yet."""


class _ParentFailed(Exception):
    pass


def drain(
    engine: Engine,
    sender: Sender,
    *,
    now: Callable[[], datetime] = utcnow,
    workspace_id: int | None = None,
    max_rows: int = 10_000,
) -> DrainReport:
    """Send every row due now; rows that must wait (backoff, parent) are left for later.

    Safe to run in several threads or processes at once: each row is claimed by one of them.
    """
    report = DrainReport()
    handled = 0
    while handled < max_rows:
        with session_scope(engine) as session:
            batch = outbox.claim_pending(session, now=now(), limit=BATCH, workspace_id=workspace_id)
        if not batch:
            break
        for row in batch:
            report.add(_send_one(engine, sender, row, now))
        handled += len(batch)  # every claimed row now has a later next_attempt_at, or is done
    return report


def _send_one(engine: Engine, sender: Sender, row: outbox.Claimed, now) -> DrainReport:
    report = DrainReport()
    try:
        channel, ts = _deliver(engine, sender, row)
    except _Wait:
        with session_scope(engine) as session:
            outbox.postpone(
                session, row.id, until=now() + PARENT_WAIT, reason="waiting for parent post"
            )
        report.waiting += 1
        return report
    except _ParentFailed as exc:
        with session_scope(engine) as session:
            outbox.mark_failed(session, row.id, error=str(exc), now=now())
        report.failed += 1
        report.errors.append(f"{row.key}: {exc}")
        return report
    except SendError as exc:
        with session_scope(engine) as session:
            if exc.retryable:
                outbox.mark_retry(
                    session, row.id, error=exc.error, now=now(), retry_after=exc.retry_after
                )
                log.warning("outbox %s: %s, will retry", row.key, exc.error)
                report.retried += 1
            else:
                outbox.mark_failed(session, row.id, error=exc.error, now=now())
                report.failed += 1
        report.errors.append(f"{row.key}: {exc.error}")
        return report
    except Exception as exc:  # a bug must not stop the other posts; the row is kept
        log.exception("outbox %s: unexpected error, will retry", row.key)
        with session_scope(engine) as session:
            outbox.mark_retry(session, row.id, error=f"{type(exc).__name__}: {exc}", now=now())
        report.retried += 1
        report.errors.append(f"{row.key}: {type(exc).__name__}")
        return report
    with session_scope(engine) as session:
        outbox.mark_sent(session, row.id, ts=ts, channel=channel, now=now())
    report.sent += 1
    return report


def _deliver(engine: Engine, sender: Sender, row: outbox.Claimed) -> tuple[str, str | None]:
    payload = row.payload
    thread_ts = payload.get("thread_ts")
    if payload.get("thread_of"):
        with session_scope(engine) as session:
            parent = outbox.get_by_key(session, payload["thread_of"])
        if parent is None or parent.status == outbox.FAILED:
            raise _ParentFailed(f"parent post {payload['thread_of']} failed or is missing")
        if parent.status != outbox.SENT or not parent.channel:
            raise _Wait
        channel, thread_ts = parent.channel, parent.ts
    else:
        to = payload["to"]
        channel = to.get("channel") or sender.dm_channel(to["dm"])
    if "upload" in payload:
        up = payload["upload"]
        sender.upload(
            channel,
            thread_ts,
            up["filename"],
            base64.b64decode(up["content_b64"]),
            up.get("title") or up["filename"],
        )
        return channel, None
    msg = payload["message"]
    ts = sender.post(channel, Message(text=msg["text"], blocks=msg.get("blocks") or []), thread_ts)
    return channel, ts
