"""An Outcome's posts become outbox rows, inside the unit of work that made the change.

Called by the adapters (the Slack app and the console) before their transaction commits, so
a change and the posts that announce it are stored together or not at all: a process that
dies after the commit sends them when it (or another replica) drains the outbox; one that
dies before it changed nothing and told nobody.

Row keys (``storage.outbox.outbox_key``):

=============  ===============  =====================  ====================================
post           job              target                 period
=============  ===============  =====================  ====================================
deal card      ``deal``         ``d<deal id>``         ``card`` (one card per deal, ever)
card update    ``deal``         ``d<deal id>``         ``<outcome token>.<n>``
thread reply   ``deal``         ``d<deal id>``         ``<outcome token>.<n>``
channel post   ``reply``        ``ch:<channel>``       ``<outcome token>.<n>``
direct message ``reply``        ``dm:<user>``          ``<outcome token>.<n>``
chart          ``chart``        ``dm:<user>``          ``<outcome token>.<n>``
=============  ===============  =====================  ====================================

The payload format is :mod:`scheduler.drain`'s.
"""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from commands.outcome import Outcome, Post, PostKind
from storage import outbox
from views.message import Message

log = logging.getLogger(__name__)

DEAL_JOB = "deal"
REPLY_JOB = "reply"
CHART_JOB = "chart"


def message_json(message: Message) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}


def _row(post: Post, period: str) -> tuple[str, str, dict[str, Any], int | None] | None:
    payload: dict[str, Any] = {"kind": post.kind.value, "message": message_json(post.message)}
    if post.kind == PostKind.dm:
        if not post.user:
            return None
        payload["to"] = {"dm": post.user}
        return f"dm:{post.user}", period, payload, None
    if post.kind == PostKind.channel:
        if not post.channel:
            return None
        payload["to"] = {"channel": post.channel}
        return f"ch:{post.channel}", period, payload, None
    payload["deal"] = post.deal_id
    if post.home:
        payload["home"] = list(post.home)
    if post.channel:
        payload["to"] = {"channel": post.channel}
    if post.card is not None:
        payload["card"] = message_json(post.card)
    if post.kind == PostKind.card:
        period = "card"
    return f"d{post.deal_id}", period, payload, post.deal_id


def record(
    session: Session,
    *,
    workspace_id: int,
    outcome: Outcome,
    now: datetime,
    reply_to: str | None = None,
) -> int:
    """Enqueue the outcome's posts and uploads (and, with ``reply_to``, its reply as a DM to
    that user: the answer to a modal or an App Home button has nowhere else to go).
    Returns how many rows were recorded."""
    posts = list(outcome.posts)
    if reply_to and outcome.reply is not None:
        posts.append(Post(PostKind.dm, outcome.reply, user=reply_to))
    if not posts and not outcome.uploads:
        return 0
    token = uuid.uuid4().hex[:16]
    deal_rows, other_rows, chart_rows = [], [], []
    for n, post in enumerate(posts):
        row = _row(post, f"{token}.{n}")
        if row is None:
            log.warning("a %s post with nowhere to go was dropped: %s", post.kind, post)
            continue
        (deal_rows if post.deal_id is not None else other_rows).append(row)
    for n, upload in enumerate(outcome.uploads, start=len(posts)):
        payload = {
            "kind": "upload",
            "to": {"dm": upload.user},
            "upload": {"filename": upload.filename, "title": upload.title},
        }
        if upload.content is not None:  # a file made by the handler (an export)
            payload["upload"]["content_b64"] = base64.b64encode(upload.content).decode("ascii")
        else:
            payload["upload"]["chart"] = upload.chart
        chart_rows.append((f"dm:{upload.user}", f"{token}.{n}", payload))
    recorded = 0
    for job, rows in ((DEAL_JOB, deal_rows), (REPLY_JOB, other_rows), (CHART_JOB, chart_rows)):
        if rows:
            recorded += len(
                outbox.enqueue_many(session, workspace_id=workspace_id, job=job, rows=rows, now=now)
            )
    return recorded
