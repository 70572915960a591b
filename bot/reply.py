"""Delivering a handler's :class:`Outcome` in Slack, after the request was acknowledged.

The reply goes to the user (ephemeral unless the outcome is public) through the
``response_url`` when there is one; a modal opens with the trigger id; deal cards and thread
replies go out through :func:`commands.deliver.publish`; charts are uploaded to the user's
DM with the bot (an ephemeral message cannot carry a file, and the bot may not be in the
channel the command came from).
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.surface import SlackSurface
from commands.deliver import publish
from commands.outcome import Outcome
from i18n import t
from storage.db import session_scope
from storage.models import Deal
from views import blocks as b
from views.message import Message

log = logging.getLogger(__name__)


def as_response(message: Message, *, public: bool = False, replace: bool | None = None) -> dict:
    """Keyword arguments for ``ack()`` (slash commands) or, with ``replace``, ``respond()``."""
    body = {
        "response_type": "in_channel" if public else "ephemeral",
        "text": b.clip(message.text, 3000) or " ",
    }
    if replace is not None:
        body["replace_original"] = replace
    if message.blocks:
        body["blocks"] = message.blocks
    return body


def with_permalink(outcome: Outcome, *, client, engine, locale: str) -> Message | None:
    """``/deal show`` links the deal's thread; Slack knows the link, the handler does not."""
    message = outcome.reply
    if message is None or not outcome.permalink_for:
        return message
    with session_scope(engine) as session:
        deal = session.get(Deal, outcome.permalink_for)
        home = (deal.thread_channel, deal.thread_ts) if deal else (None, None)
    if not home[1]:
        return message
    try:
        url = client.chat_getPermalink(channel=home[0], message_ts=home[1])["permalink"]
    except SlackApiError as exc:
        log.warning("chat.getPermalink failed: %s", exc.response.get("error"))
        return message
    link = t(locale, "deal.thread_link", url=url)
    return Message(text=message.text, blocks=[*message.blocks, b.context(link)][: b.MESSAGE_BLOCKS])


def follow_up(
    outcome: Outcome,
    *,
    client,
    engine,
    workspace_id: int,
    user_id: str,
    channel: str | None,
    respond=None,
    trigger_id: str | None = None,
) -> None:
    """Everything after the ack: modal, ephemeral reply (if not already in the ack), posts."""
    if outcome.modal is not None and trigger_id:
        client.views_open(trigger_id=trigger_id, view=outcome.modal)
    surface = SlackSurface(client)
    if outcome.posts:
        publish(
            outcome.posts,
            engine=engine,
            workspace_id=workspace_id,
            surface=surface,
            fallback_channel=channel,
        )
    if outcome.uploads:
        dm = surface.dm_channel(user_id)
        for upload in outcome.uploads:
            surface.upload(dm, None, upload.filename, upload.content, upload.title)
