"""The inbound lead message's buttons (Claim, Disqualify), its Assign select, and
``/pipeline inbound``'s "Rotate secret" (docs/inbound.md).

The lead travels as its row id in the button's value (the select's block id), parsed here:
a hostile value is "not found", never a traceback.
"""

from __future__ import annotations

import re
from functools import partial

from bot.deliver import Request, deliver
from bot.listeners.guard import guarded
from bot.payloads import slack_id
from commands.handlers import inbound as handlers
from domain.errors import NotFound
from views.ids import Action

LEAD_ACTIONS = re.compile(r"^inbound\.(claim|assign|disqualify)$")
_ID = re.compile(r"[0-9]{1,12}")


def lead_id(action: dict) -> int:
    """The lead a click is about: a button's value, or the select's ``inbound:<id>`` block."""
    value = action.get("value")
    if value is None:
        value = str(action.get("block_id") or "").removeprefix("inbound:")
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise NotFound("inbound.not_found")
    return int(value)


def register(app, deps) -> None:
    @app.action(LEAD_ACTIONS)
    @guarded(deps)
    def on_lead(ack, body, action, client, context, respond):
        ack()
        request = Request.from_body(body, client=client, respond=respond)
        verb = str(action["action_id"]).removeprefix("inbound.")
        user = slack_id(action.get("selected_user")) if verb == "assign" else None
        if verb == "assign" and user is None:
            return  # the select was cleared
        work = partial(handlers.touch, verb=verb, lead_id=lead_id(action), slack_user=user)
        outcome = deps.perform(context, request, work)
        deliver(outcome, request, wake=deps.wake)
        deps.wake()  # the message's update

    @app.action(Action.inbound_rotate)
    @guarded(deps)
    def on_rotate(ack, body, client, context, respond):
        ack()
        request = Request.from_body(body, client=client, respond=respond)
        outcome = deps.perform(context, request, handlers.rotate)
        deliver(outcome, request, wake=deps.wake)
