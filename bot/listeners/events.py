"""Events: thread messages onto the deal's timeline, and App Home.

Slack retries an event it thinks we missed (``X-Slack-Retry-Num``); Bolt does not
de-duplicate, so every event id is stored once (``slack_event``) and a repeat is dropped.
The thread message itself is also unique by its ts, so even a repeat with a new event id
records nothing twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from domain import deals
from storage.db import session_scope
from storage.dedupe import first_time
from storage.models import Member
from views.home import home

log = logging.getLogger(__name__)
IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join"}


def register(app, deps) -> None:
    @app.event("message")
    def on_message(body, event, context):
        if (
            not event.get("thread_ts")
            or event.get("bot_id")
            or event.get("subtype") in IGNORED_SUBTYPES
        ):
            return
        if event.get("thread_ts") == event.get("ts"):
            return  # the card itself
        with session_scope(deps.engine) as session:
            if not first_time(session, body.get("event_id")):
                return
            workspace_id = context.get("salesbot_workspace_id")
            deal = deals.deal_by_thread(
                session=session,
                workspace_id=workspace_id,
                channel=event.get("channel"),
                thread_ts=event["thread_ts"],
            )
            if deal is None:
                return
            author = session.get(Member, context.get("salesbot_member_id") or 0)
            at = datetime.fromtimestamp(float(event["ts"]), tz=UTC)
            deals.record_thread_message(
                session=session,
                deal=deal,
                author=author,
                text=event.get("text") or "",
                ts=event["ts"],
                at=at,
            )

    @app.event("app_home_opened")
    def on_home(body, event, client, context):
        if event.get("tab", "home") != "home":
            return
        with deps.acting(context) as ctx:
            view = home(
                session=ctx.session, workspace=ctx.workspace, member=ctx.member, now=ctx.now()
            )
        client.views_publish(user_id=event["user"], view=view)
