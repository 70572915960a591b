"""The one delivery path of a handler's :class:`Outcome` in Slack.

Slash commands, late answers, buttons and modal submissions all end in :func:`deliver`:

- the **reply** goes in the ack when the request is not acknowledged yet (slash commands),
  else through the ``response_url``, else as an ephemeral message in the channel, else — a
  modal's answer, an App Home button — by DM, which was recorded in the outbox with the
  change (:meth:`bot.context.Deps.perform`);
- a **modal** opens with the trigger id (after the ack, while the trigger is fresh);
- everything else (cards, card updates, thread replies, channel posts, DMs, charts) is
  already in the outbox, written in the transaction of the change; :func:`deliver` only
  wakes the drainer so it leaves at once.

Failures take the same route: :func:`fail` renders an error (commands.failures) and
:func:`reply` sends it; ``@app.error`` and the late-answer path both call it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from commands.failures import user_message
from commands.outcome import Outcome
from views import blocks as b
from views.message import Message

log = logging.getLogger(__name__)


@dataclass
class Request:
    """Where a Slack request came from and the ways to answer the person who sent it."""

    user_id: str
    channel_id: str | None
    client: Any  # slack_sdk.WebClient
    trigger_id: str | None = None
    response_url: str | None = None
    respond: Callable[..., Any] | None = None
    ack: Callable[..., Any] | None = None  # a slash command's ack, until it is used
    by_dm: bool = False  # modal submissions: the answer goes to the person's DM
    # The ack may be given by the ack budget's thread (bot.budget) and the listener at once.
    _acking: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_body(cls, body: dict, *, client, respond=None, ack=None) -> Request:
        user = body.get("user")
        user_id = body.get("user_id") or (user.get("id") if isinstance(user, dict) else None)
        channel = body.get("channel")
        container = body.get("container") if isinstance(body.get("container"), dict) else {}
        channel_id = (
            body.get("channel_id")
            or (channel.get("id") if isinstance(channel, dict) else None)
            or container.get("channel_id")
        )
        response_url = body.get("response_url")
        return cls(
            user_id=str(user_id or ""),
            channel_id=channel_id if isinstance(channel_id, str) else None,
            client=client,
            trigger_id=body.get("trigger_id") if isinstance(body.get("trigger_id"), str) else None,
            response_url=response_url if isinstance(response_url, str) else None,
            respond=respond if isinstance(response_url, str) else None,
            ack=ack,
            by_dm=body.get("type") == "view_submission",
        )

    @property
    def replies_by_dm(self) -> bool:
        """No way to answer this request but a DM (a modal, an App Home button)."""
        return self.by_dm or not (self.ack or self.response_url or self.channel_id)

    def acknowledge(self, **kwargs: Any) -> bool:
        """Ack if not done yet; True when this call acked."""
        with self._acking:
            ack, self.ack = self.ack, None
        if ack is None:
            return False
        ack(**kwargs)
        return True


def as_response(message: Message, *, public: bool = False, replace: bool | None = None) -> dict:
    """Keyword arguments for ``ack()`` (slash commands) or, with ``replace``, ``respond()``."""
    body: dict[str, Any] = {
        "response_type": "in_channel" if public else "ephemeral",
        "text": b.clip(message.text, 3000) or " ",
    }
    if replace is not None:
        body["replace_original"] = replace
    if message.blocks:
        body["blocks"] = message.blocks
    return body


def reply(
    request: Request,
    message: Message,
    *,
    public: bool = False,
    by_dm: Callable[[Message], None] | None = None,
    replace: bool = False,
) -> None:
    """Answer the person: in the ack, else the response_url (``replace``: in place of the
    message whose button was pressed), else ephemeral, else ``by_dm``."""
    if request.acknowledge(**as_response(message, public=public)):
        return
    if request.response_url and request.respond is not None:
        try:
            answer = request.respond(**as_response(message, public=public, replace=replace))
            status = getattr(answer, "status_code", 200)
            if status == 200:
                return
            log.warning("response_url answered %s; trying another way", status)
        except (OSError, SlackClientError) as exc:
            log.warning("response_url unreachable (%s); trying another way", exc)
    if request.channel_id and not request.by_dm:
        try:
            request.client.chat_postEphemeral(
                channel=request.channel_id, user=request.user_id, **message.as_kwargs()
            )
            return
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("chat.postEphemeral failed (%s); trying another way", exc)
    if by_dm is not None and request.user_id:
        by_dm(message)
    else:
        log.warning("no way left to answer %s: %s", request.user_id, message.text[:200])


def deliver(outcome: Outcome, request: Request, *, wake: Callable[[], None]) -> None:
    """Answer, open the modal, and let the drainer send what the change recorded."""
    if outcome.modal is not None and request.trigger_id:
        request.acknowledge()
        request.client.views_open(trigger_id=request.trigger_id, view=outcome.modal)
    elif outcome.reply is not None and not request.replies_by_dm:
        reply(request, outcome.reply, public=outcome.public, replace=outcome.replace)
    else:
        request.acknowledge()
    if outcome.has_posts or (outcome.reply is not None and request.replies_by_dm):
        wake()


def fail(
    request: Request,
    error: BaseException,
    locale: str | None,
    *,
    by_dm: Callable[[Message], None] | None = None,
) -> None:
    """The one error path after the ack: the rendered error, answered like a reply."""
    reply(request, Message(text=user_message(error, locale)), by_dm=by_dm)
