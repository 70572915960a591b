"""Events: thread messages onto the deal's timeline, mentions that act on the thread's deal,
direct messages as commands, and App Home.

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
from functools import partial

from bot.deliver import Request, fail
from bot.payloads import slack_id, slack_ts
from commands import direct
from commands.failures import user_message
from commands.handlers import run
from commands.mention import mention_command
from commands.outcome import Outcome, Post, PostKind
from commands.record import record
from domain import deals
from domain.errors import InvalidInput, SalesbotError
from storage.db import session_scope, unreachable
from storage.dedupe import first_time
from storage.models import Member
from views.home import home
from views.message import Message

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


@dataclass(frozen=True)
class DirectMessage:
    """A person writing to Salesbot in its Messages tab: read as a command without the slash
    (commands/direct.py)."""

    event_id: str | None
    channel: str
    user: str
    text: str

    @classmethod
    def read(cls, body: dict, event: dict) -> DirectMessage | None:
        """The DM, or None: Salesbot's own messages (and any bot's), edits, joins and other
        subtypes, thread replies, anything not in a DM."""
        if event.get("channel_type") != "im" or event.get("bot_id") or "subtype" in event:
            return None
        if event.get("thread_ts") is not None:
            return None
        channel, user, text = slack_id(event.get("channel")), event.get("user"), event.get("text")
        event_id = body.get("event_id")
        if channel is None or slack_id(user) is None or not isinstance(text, str):
            return None
        if not _is_event_id(event_id) or not text.strip():
            return None
        return cls(event_id, channel, user, text)


def _is_event_id(value: object) -> bool:
    """Slack's ``Ev0123ABCD``; a missing one only means no de-duplication by event id."""
    return value is None or (isinstance(value, str) and 0 < len(value) <= MAX_EVENT_ID)


@dataclass(frozen=True)
class Mention:
    """``@Salesbot won`` (an ``app_mention``): who, where (the thread names the deal), what."""

    event_id: str | None
    user: str
    channel: str
    thread_ts: str | None
    text: str

    @classmethod
    def read(cls, body: dict, event: dict) -> Mention | None:
        if event.get("bot_id"):
            return None
        user, channel = slack_id(event.get("user")), slack_id(event.get("channel"))
        thread = slack_ts(event.get("thread_ts")) if event.get("thread_ts") is not None else None
        text, event_id = event.get("text", ""), body.get("event_id")
        if user is None or channel is None or not isinstance(text, str):
            return None
        if not _is_event_id(event_id) or (event.get("thread_ts") is not None and thread is None):
            return None
        return cls(event_id, user, channel, thread.text if thread else None, text)


def act_on_mention(mention: Mention, ctx) -> Outcome:
    """Run what the mention asks on the thread's deal; the answer goes into the thread. A
    repeat of the event (Slack retries) does nothing."""
    if not first_time(ctx.session, mention.event_id):
        return Outcome()
    deal = None
    if mention.thread_ts is not None:
        deal = deals.deal_by_thread(
            session=ctx.session,
            workspace_id=ctx.workspace.id,
            channel=mention.channel,
            thread_ts=mention.thread_ts,
        )
    if deal is None:
        raise InvalidInput("task.mention.not_in_thread")
    cmd = mention_command(mention.text, deal_number=deal.number, today=ctx.today())
    outcome = run(cmd, ctx)
    told = any(p.kind == PostKind.thread and p.deal_id == deal.id for p in outcome.posts)
    posts = list(outcome.posts)
    if not told and outcome.reply is not None:  # /deal show, an answer with no change
        posts.append(
            Post(
                PostKind.thread,
                outcome.reply,
                deal_id=deal.id,
                home=(mention.channel, mention.thread_ts),
            )
        )
    return Outcome(posts=tuple(posts))


def home_user(event: dict) -> str | None:
    """Whose App Home opened: a user id, for the Home tab only."""
    if event.get("tab", "home") != "home":
        return None
    return slack_id(event.get("user"))


def register(app, deps) -> None:
    @app.event("message")
    def on_message(body, event, context):
        direct = DirectMessage.read(body, event)
        if direct is not None:
            answer_dm(deps, context, direct)
            return
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

    @app.event("app_mention")
    def on_mention(body, event, client, context):
        mention = Mention.read(body, event)
        if mention is None:
            return
        request = Request(user_id=mention.user, channel_id=mention.channel, client=client)
        try:
            deps.perform(context, request, partial(act_on_mention, mention))
        except SalesbotError as exc:  # only the one who asked sees it
            fail(request, exc, context.get("salesbot_locale"))
            return
        deps.wake()

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


def answer_dm(deps, context, dm: DirectMessage) -> None:
    """Run the DM as a command and answer in the DM through the outbox, once per event
    (Slack retries an event it thinks we missed). A mistake is answered like a slash
    command's, in the DM; a database that is down raises, so Slack retries (503)."""
    workspace_id = context.get("salesbot_workspace_id")
    if workspace_id is None or context.get("salesbot_member_id") is None:
        return
    try:
        with deps.acting(context, channel=dm.channel) as ctx:
            if not first_time(ctx.session, dm.event_id, workspace_id):
                return
            outcome = direct.answer(ctx, dm.text)
            record(
                ctx.session,
                workspace_id=workspace_id,
                outcome=outcome,
                now=ctx.now(),
                reply_to=dm.user,
            )
    except Exception as exc:
        if unreachable(exc):
            raise
        text = user_message(exc, context.get("salesbot_locale"))
        with session_scope(deps.engine) as session:  # nothing of the command was kept
            if not first_time(session, dm.event_id, workspace_id):
                return
            post = Post(PostKind.dm, Message(text=text), user=dm.user)
            record(
                session,
                workspace_id=workspace_id,
                outcome=Outcome(posts=(post,)),
                now=deps.clock.now(),
            )
    deps.wake()
