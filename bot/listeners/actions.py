"""Buttons and selects: on deal cards, stall warnings, help and candidate lists.

Each action becomes the typed command a person could have typed (the stage select is
``/deal move D42 Meeting``), so it runs through the same handlers, permissions and errors.
Lost and Add note open a modal first: the trigger id is only good for 3 seconds.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.reply import as_response, follow_up, with_permalink
from commands import types as c
from commands.dispatch import execute
from commands.failures import user_message
from commands.handlers import run
from domain.errors import NotFound
from storage.models import Deal, Lead, Stage
from views import modals
from views.ids import Action
from views.message import Message

ACTIONS = re.compile(r"^(deal\.|pick|help\.run|lead\.convert)")


def _deal(ctx, deal_id: str) -> Deal:
    deal = ctx.session.get(Deal, int(deal_id)) if deal_id.isdigit() else None
    if deal is None or deal.workspace_id != ctx.workspace.id:
        raise NotFound("deal.not_found_number", number=deal_id)
    return deal


def _ref(deal: Deal) -> c.DealRef:
    return c.DealRef(number=deal.number)


def command_for(ctx, action: dict):
    """The typed command an action stands for, or ('modal', view) for Lost / Add note."""
    action_id = action["action_id"].split(":")[0]
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    if action_id == Action.deal_stage:
        deal_id = action.get("block_id", "").partition(":")[2]
        deal = _deal(ctx, deal_id)
        stage = ctx.session.get(Stage, int(value)) if value.isdigit() else None
        if stage is None or stage.pipeline_id != deal.pipeline_id:
            raise NotFound("pipeline.stage_not_found", text=value, stages="")
        return c.DealMove(_ref(deal), c.StageRef(stage.name))
    if action_id == Action.deal_won:
        return c.DealWon(_ref(_deal(ctx, value)))
    if action_id == Action.deal_lost:
        return "modal", modals.deal_lost(_deal(ctx, value), ctx.locale)
    if action_id == Action.deal_note:
        return "modal", modals.deal_note(_deal(ctx, value), ctx.locale)
    if action_id == Action.deal_show:
        return c.DealShow(_ref(_deal(ctx, value)))
    if action_id == Action.deal_snooze:
        deal_id, _, days = value.partition(":")
        until = ctx.today() + timedelta(days=int(days) if days.isdigit() else 1)
        return c.DealSnooze(_ref(_deal(ctx, deal_id)), until)
    if action_id == Action.lead_convert:
        lead = ctx.session.get(Lead, int(value)) if value.isdigit() else None
        if lead is None or lead.workspace_id != ctx.workspace.id:
            raise NotFound("lead.not_found_number", number=value)
        return c.LeadConvert(c.LeadRef(number=lead.number))
    if action_id in (Action.pick, Action.help_run):
        name, _, text = value.lstrip("/").partition(" ")
        return "text", name, text
    return None


def register(app, deps) -> None:
    @app.action(ACTIONS)
    def on_action(ack, body, action, client, context, respond):
        ack()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        locale = context.get("salesbot_locale", "en")

        def tell(message: Message) -> None:
            if body.get("response_url"):
                respond(**as_response(message, replace=False))
            elif channel:
                client.chat_postEphemeral(channel=channel, user=user_id, **message.as_kwargs())
            else:  # App Home: no channel to whisper in; the DM with the app will do
                client.chat_postMessage(channel=user_id, **message.as_kwargs())

        try:
            with deps.acting(context, channel=channel) as ctx:
                locale = ctx.locale
                workspace_id = ctx.workspace.id
                cmd = command_for(ctx, action)
                if cmd is None:
                    return
                if isinstance(cmd, tuple) and cmd[0] == "modal":
                    client.views_open(trigger_id=body["trigger_id"], view=cmd[1])
                    return
                text_form = isinstance(cmd, tuple)
                outcome = execute(ctx, cmd[1], cmd[2]) if text_form else run(cmd, ctx)
        except Exception as exc:  # the one error path, rendered for this user
            tell(Message(text=user_message(exc, locale)))
            return
        if outcome.permalink_for:
            outcome.reply = with_permalink(
                outcome, client=client, engine=deps.engine, locale=locale
            )
        if outcome.reply is not None and outcome.modal is None:
            tell(outcome.reply)
        follow_up(
            outcome,
            client=client,
            engine=deps.engine,
            workspace_id=workspace_id,
            user_id=user_id,
            channel=channel,
            trigger_id=body.get("trigger_id"),
        )
