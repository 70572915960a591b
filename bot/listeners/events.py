"""Events: thread messages onto the deal's timeline, and App Home.

Slack retries an event it thinks we missed (``X-Slack-Retry-Num``); Bolt does not
de-duplicate, so every event id is stored once (``slack_event``) and a repeat is dropped.
The thread message itself is also unique by its ts, so even a repeat with a new event id
records nothing twice.

Each event is read into a small typed value first (:class:`ThreadMessage`,
:func:`home_user`). An event that does not read, such as a ``ts`` of ``1e308``, a
``thread_ts`` that is a number or an ``app_home_opened`` without a user, is not one we act on:
it is ignored like any event that is not for us, with nothing recorded and nothing logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.payloads import slack_id, slack_ts
from domain import deals
from storage.db import session_scope
from storage.dedupe import first_time
from storage.models import Member
from views.home import home

log = logging.getLogger(__name__)
IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join"}
MAX_EVENT_ID = 64  # the slack_event column


@dataclass(frozen=True)
class ThreadMessage:
    """A person's reply in a thread, as Salesbot records it."""

    event_id: str | None
    channel: str
    thread_ts: str
    ts: str
    at: datetime
    text: str

    @classmethod
    def read(cls, body: dict, event: dict) -> ThreadMessage | None:
        """The reply, or None for anything else: the thread's parent, a bot, an edit, a value
        that is not what Slack sends."""
        subtype = event.get("subtype")
        if (
            event.get("bot_id")
            or not isinstance(subtype, str | None)
            or subtype in IGNORED_SUBTYPES
        ):
            return None
        thread, ts = slack_ts(event.get("thread_ts")), slack_ts(event.get("ts"))
        channel, text = slack_id(event.get("channel")), event.get("text", "")
        event_id = body.get("event_id")
        if thread is None or ts is None or ts == thread or channel is None:
            return None
        if not isinstance(text, str) or not _is_event_id(event_id):
            return None
        return cls(event_id, channel, thread.text, ts.text, ts.at, text)


def _is_event_id(value: object) -> bool:
    """Slack's ``Ev0123ABCD``; a missing one only means no de-duplication by event id."""
    return value is None or (isinstance(value, str) and 0 < len(value) <= MAX_EVENT_ID)


def home_user(event: dict) -> str | None:
    """Whose App Home opened: a user id, for the Home tab only."""
    if event.get("tab", "home") != "home":
        return None
    return slack_id(event.get("user"))


def register(app, deps) -> None:
    @app.event("message")
    def on_message(body, event, context):
        message = ThreadMessage.read(body, event)
        if message is None:
            return
        with session_scope(deps.engine) as session:
            if not first_time(session, message.event_id):
                return
            deal = deals.deal_by_thread(
                session=session,
                workspace_id=context.get("salesbot_workspace_id"),
                channel=message.channel,
                thread_ts=message.thread_ts,
            )
            if deal is None:
                return
            author = session.get(Member, context.get("salesbot_member_id") or 0)
            deals.record_thread_message(
                session=session,
                deal=deal,
                author=author,
                text=message.text,
                ts=message.ts,
                at=message.at,
            )

    @app.event("app_home_opened")
    def on_home(body, event, client, context):
        user = home_user(event)
        if user is None:
            return
        with deps.acting(context) as ctx:
            view = home(
                session=ctx.session, workspace=ctx.workspace, member=ctx.member, now=ctx.now()
            )
        client.views_publish(user_id=user, view=view)
