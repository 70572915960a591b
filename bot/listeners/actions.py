"""Buttons and selects: on deal cards, stall warnings, help and candidate lists.

Each action becomes the typed command a person could have typed (the stage select is
``/deal move D42 <stage>``), so it runs through the same handlers, permissions and errors.
Buttons carry what the handler needs — the deal's number, the stage id — parsed at the edge
(bot.payloads): a hostile value is "not found", never a traceback. Lost and Add note open a
modal first: the trigger id is only good for 3 seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from bot import payloads
from bot.deliver import Request, deliver
from bot.listeners.guard import guarded
from commands import types as c
from commands.dispatch import execute
from commands.grammar import parse
from commands.handlers import run
from domain.errors import NotFound
from domain.refs import find_deal
from storage.models import Deal, Lead
from views import modals
from views.home import home
from views.ids import Action

ACTIONS = re.compile(r"^(deal\.|pick|help\.run|lead\.convert|task\.)")


@dataclass(frozen=True)
class OpenModal:
    """Lost and Add note ask first: a modal about this deal."""

    kind: str  # Action.deal_lost | Action.deal_note
    deal: payloads.DealKey


@dataclass(frozen=True)
class Rerun:
    """Help buttons and candidate pickers re-run a command as typed."""

    command: str
    text: str


def step_for(action: dict):
    """What an action asks for: a typed command (deal refs still keys), a modal, a re-run,
    or None for an action we do not know (ignored)."""
    action_id = str(action.get("action_id") or "").split(":")[0]
    selected = action.get("selected_option")
    value = action.get("value")
    if value is None and isinstance(selected, dict):
        value = selected.get("value")
    if action_id == Action.deal_stage:
        key = payloads.block_deal(action.get("block_id"))
        return ("move", key, payloads.stage_id(value))
    if action_id == Action.deal_won:  # the card's button asks in a confirm dialog first
        return ("won", payloads.deal_key(value))
    if action_id == Action.deal_confirm:
        return ("confirm", payloads.confirm_value(value))
    if action_id in (Action.deal_cancel, Action.deal_renew):
        return (action_id.removeprefix("deal."), payloads.deal_key(value))
    if action_id == Action.deal_page:
        return ("page", payloads.page_value(value))
    if action_id in (Action.deal_lost, Action.deal_note):
        return OpenModal(action_id, payloads.deal_key(value))
    if action_id == Action.deal_show:
        return ("show", payloads.deal_key(value))
    if action_id == Action.deal_snooze:
        key, days = payloads.snooze(value)
        return ("snooze", key, days)
    if action_id == Action.lead_convert:
        return ("convert", payloads.lead_key(value))
    if action_id == Action.task_add:
        return OpenModal(action_id, payloads.deal_key(value))
    if action_id in (Action.pick, Action.help_run, Action.task_run) and isinstance(value, str):
        name, _, text = value.lstrip("/").partition(" ")
        return Rerun(name, text)
    return None


def deal_ref(ctx, key: payloads.DealKey) -> c.DealRef:
    """The reference a handler takes. Cards posted before buttons carried numbers give a row
    id, looked up here once (within the workspace)."""
    if key.number is not None:
        return c.DealRef(number=key.number)
    deal = ctx.session.get(Deal, key.id)
    if deal is None or deal.workspace_id != ctx.workspace.id:
        raise NotFound("deal.not_found_number", number=key.shown)
    return c.DealRef(number=deal.number)


def _lead_ref(ctx, key: tuple[int | None, int | None]) -> c.LeadRef:
    number, row_id = key
    if number is None:
        lead = ctx.session.get(Lead, row_id)
        if lead is None or lead.workspace_id != ctx.workspace.id:
            raise NotFound("lead.not_found_number", number=f"#{row_id}")
        number = lead.number
    return c.LeadRef(number=number)


def work_for(step, ctx):
    """Run the step in ``ctx`` (one unit of work) and return its Outcome."""
    if isinstance(step, Rerun):
        return execute(ctx, step.command, step.text)
    verb, key, *rest = step
    if verb == "confirm":
        return run(_confirmed(ctx, key), ctx)
    if verb == "page":
        cmd = parse("deal", f"list {key.text}", today=ctx.today())
        if not isinstance(cmd, c.DealList):
            raise NotFound("deal.not_found_number", number="?")
        return replace(run(replace(cmd, offset=key.offset), ctx), replace=True)
    if verb == "convert":
        return run(c.LeadConvert(_lead_ref(ctx, key)), ctx)
    ref = deal_ref(ctx, key)
    if verb == "move":
        return run(c.DealMove(ref, c.StageRef(text="", id=rest[0])), ctx)
    if verb == "won":
        return run(c.DealWon(ref, confirmed=True), ctx)
    if verb == "cancel":
        return run(c.DealCancel(ref), ctx)
    if verb == "renew":
        return run(c.DealRenewalCreate(ref), ctx)
    if verb == "show":
        return run(c.DealShow(ref), ctx)
    if verb == "snooze":
        return run(c.DealSnooze(ref, ctx.today() + timedelta(days=rest[0])), ctx)
    raise ValueError(f"unknown action step {verb!r}")


def _confirmed(ctx, value: payloads.ConfirmValue):
    """The command a Confirm button confirms (views/closing.py)."""
    ref = c.DealRef(number=value.deal)
    if value.do == "won":
        return c.DealWon(ref, confirmed=True)
    if value.do == "lost":
        return c.DealLost(ref, value.reason, confirmed=True)
    return c.DealMove(ref, c.StageRef(text="", id=value.stage), confirmed=True)


def _modal(step: OpenModal, ctx) -> dict:
    ref = deal_ref(ctx, step.deal)
    deal = find_deal(session=ctx.session, workspace_id=ctx.workspace.id, number=ref.number)
    if step.kind == Action.task_add:
        return modals.task_new(ctx, deal)
    build = modals.deal_lost if step.kind == Action.deal_lost else modals.deal_note
    return build(deal, ctx.locale)


def register(app, deps) -> None:
    @app.action(ACTIONS)
    @guarded(deps)
    def on_action(ack, body, action, client, context, respond):
        ack()
        request = Request.from_body(body, client=client, respond=respond)
        step = step_for(action)
        if step is None:
            return
        if isinstance(step, OpenModal):
            with deps.acting(context, channel=request.channel_id, readonly=True) as ctx:
                view = _modal(step, ctx)
            client.views_open(trigger_id=request.trigger_id, view=view)
            return
        outcome = deps.perform(context, request, partial(work_for, step))
        deliver(outcome, request, wake=deps.wake)
        if _on_home(body) and str(action.get("action_id", "")).startswith(Action.task_run):
            _republish_home(deps, context, client, request.user_id)


def _on_home(body: dict) -> bool:
    view = body.get("view")
    return isinstance(view, dict) and view.get("type") == "home"


def _republish_home(deps, context, client, user_id: str) -> None:
    """A task done or snoozed from App Home leaves (or moves in) the list at once."""
    with deps.acting(context, readonly=True) as ctx:
        view = home(session=ctx.session, workspace=ctx.workspace, member=ctx.member, now=ctx.now())
    client.views_publish(user_id=user_id, view=view)
