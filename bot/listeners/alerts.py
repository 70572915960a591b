"""Alerts (issue 16): the routes modal's submission, and a member's alert choices on App Home
(batching, quiet hours, muted pipelines and deals), each saved as it changes and the Home tab
published again so it shows what is now stored.

Values are parsed here, at the edge: an option that is not one of ours (a forged ``p12abc``)
is dropped, never a traceback.
"""

from __future__ import annotations

import re

from bot import payloads
from bot.deliver import Request, deliver
from bot.listeners.actions import _republish_home, deal_ref
from bot.listeners.guard import guarded
from bot.listeners.submissions import _values, field_errors
from commands.handlers import alerts as handlers
from domain import alerts
from domain.errors import SalesbotError
from views.ids import Action, View

ACTIONS = re.compile(r"^alert\.(batch|quiet|mute_pipelines|mute_deals)$")
ROUTE_FIELDS = {
    "alert.missing_event": "event",
    "alert.bad_event": "event",
    "alert.missing_channel": "channel",
    "alert.bad_channel": "channel",
    "alert.bad_number": "remove",
    "alert.route_not_found": "remove",
}
_ID = re.compile(r"([dp])([0-9]{1,12})")


def _route_field(exc: SalesbotError) -> str:
    return ROUTE_FIELDS.get(exc.key or "", "filters")


def _ids(action: dict, kind: str) -> set[int]:
    chosen = action.get("selected_options")
    out = set()
    for option in chosen if isinstance(chosen, list) else []:
        value = option.get("value") if isinstance(option, dict) else None
        m = _ID.fullmatch(value) if isinstance(value, str) else None
        if m and m.group(1) == kind:
            out.add(int(m.group(2)))
    return out


def card_choice(action: dict) -> tuple[bool, payloads.DealKey]:
    """``mute:D12`` / ``unmute:D12`` from the card's menu (anything else: "not found")."""
    selected = action.get("selected_option")
    value = selected.get("value") if isinstance(selected, dict) else None
    verb, _, deal = (value if isinstance(value, str) else "").partition(":")
    return verb == "mute", payloads.deal_key(deal if verb in ("mute", "unmute") else "")


def choose(ctx, action: dict) -> None:
    """Store one App Home choice of the acting member."""
    name = str(action.get("action_id") or "")
    selected = action.get("selected_option")
    value = selected.get("value") if isinstance(selected, dict) else None
    if name == Action.alert_batch and isinstance(value, str):
        alerts.set_batch(session=ctx.session, member=ctx.member, batch=value)
    elif name == Action.alert_quiet and isinstance(value, str):
        quiet = None if value == "off" else value
        alerts.set_quiet(session=ctx.session, member=ctx.member, quiet=quiet)
    elif name == Action.alert_mute_pipelines:
        alerts.set_muted(session=ctx.session, member=ctx.member, kind="p", ids=_ids(action, "p"))
    elif name == Action.alert_mute_deals:
        page = alerts.home_choices(session=ctx.session, workspace=ctx.workspace, member=ctx.member)
        listed = {deal_id for deal_id, _, _ in page.deals}
        alerts.set_muted(
            session=ctx.session,
            member=ctx.member,
            kind="d",
            ids=_ids(action, "d") & listed,
            among=listed,
        )


def register(app, deps) -> None:
    @app.view(View.alert_routes)
    @guarded(deps)
    @field_errors(_route_field)
    def on_routes(ack, body, view, client, context):
        values = _values(view)
        request = Request.from_body(body, client=client)
        outcome = deps.perform(context, request, lambda ctx: handlers.save_modal(ctx, values))
        ack()
        deliver(outcome, request, wake=deps.wake)

    @app.action(Action.alert_mute_deal)
    @guarded(deps)
    def on_card_menu(ack, body, action, client, context, respond):
        ack()
        request = Request.from_body(body, client=client, respond=respond)
        on, key = card_choice(action)
        outcome = deps.perform(
            context,
            request,
            lambda ctx: handlers.mute_from_card(ctx, deal_ref(ctx, key).number, on),
        )
        deliver(outcome, request, wake=deps.wake)

    @app.action(ACTIONS)
    @guarded(deps)
    def on_choice(ack, body, action, client, context):
        ack()
        with deps.acting(context) as ctx:
            choose(ctx, action)
        user_id = (body.get("user") or {}).get("id")
        if isinstance(user_id, str):
            _republish_home(deps, context, client, user_id)
