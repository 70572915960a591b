"""/pipeline alert add | remove, /pipeline alerts: the admins' alert routes (issue 16)."""

from __future__ import annotations

from commands import alert_grammar as ag
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.deals import resolve_user
from commands.outcome import Outcome
from domain import alerts, workspaces
from domain.errors import InvalidInput
from domain.refs import find_deal
from i18n import t
from views import alerts as views
from views.message import Message


def spec_of(cmd: ag.PipelineAlertAdd, ctx: Ctx) -> alerts.RouteSpec:
    """The command with its people found; a channel Slack did not link is refused here."""
    if cmd.channel.id is None:
        raise InvalidInput("alert.bad_channel", value=f"#{cmd.channel.name}")
    owners = tuple(resolve_user(ctx, ref) for ref in cmd.owners)
    return alerts.RouteSpec(
        event=cmd.event,
        channel=cmd.channel.id,
        pipeline=cmd.pipeline,
        stage=cmd.stage,
        min_amount=cmd.min.value if cmd.min else None,
        currency=cmd.min.currency if cmd.min else None,
        owners=tuple({m.id: m for m in owners}.values()),
    )


def _row(ctx: Ctx, number: int) -> alerts.RouteRow:
    rows = alerts.route_rows(session=ctx.session, workspace=ctx.workspace)
    return next(r for r in rows if r.number == number)


@handles(ag.PipelineAlertAdd)
def add(cmd: ag.PipelineAlertAdd, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    route = alerts.add_route(
        session=ctx.session,
        actor=ctx.member,
        workspace=ctx.workspace,
        spec=spec_of(cmd, ctx),
        now=ctx.now(),
    )
    return Outcome(reply=views.route_added(_row(ctx, route.number), ctx.locale))


@handles(ag.PipelineAlertRemove)
def remove(cmd: ag.PipelineAlertRemove, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    for number in cmd.numbers:
        alerts.remove_route(
            session=ctx.session, actor=ctx.member, workspace=ctx.workspace, number=number
        )
    text = "\n".join(t(ctx.locale, "alert.removed", number=n) for n in cmd.numbers)
    return Outcome(reply=Message(text=text))


@handles(ag.PipelineAlerts)
def modal(cmd: ag.PipelineAlerts, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    rows = alerts.route_rows(session=ctx.session, workspace=ctx.workspace)
    return Outcome(modal=views.routes_modal(rows, ctx.locale))


def save_modal(ctx: Ctx, values: dict) -> Outcome:
    """The routes modal's submission: the route written in "Add" (the command's words after
    ``/pipeline alert add``) and the numbers in "Remove", all checked before any is written."""
    workspaces.require_admin(ctx.member)
    event = _picked(values, "event")
    channel = _picked(values, "channel", "selected_conversation")
    filters = _field(values, "filters")
    remove_text = _field(values, "remove")
    today = ctx.today()
    spec = None
    if event or channel or filters:
        if not event:
            raise InvalidInput("alert.missing_event")
        if not channel:
            raise InvalidInput("alert.missing_channel")
        adding = ag.alert_add(f"{event} channel:{channel} {filters}", 0, today)
        spec = spec_of(adding, ctx)
    removing = ag.alert_remove(remove_text, 0, today) if remove_text else None
    known = {
        r.number
        for r in alerts.workspace_routes(session=ctx.session, workspace_id=ctx.workspace.id)
    }
    for number in removing.numbers if removing else ():
        if number not in known:
            raise InvalidInput("alert.route_not_found", number=number)
    if removing:
        for number in removing.numbers:
            alerts.remove_route(
                session=ctx.session, actor=ctx.member, workspace=ctx.workspace, number=number
            )
    if spec:
        alerts.add_route(
            session=ctx.session, actor=ctx.member, workspace=ctx.workspace, spec=spec, now=ctx.now()
        )
    text = t(
        ctx.locale,
        "alert.saved",
        added=int(spec is not None),
        removed=len(removing.numbers) if removing else 0,
    )
    return Outcome(reply=Message(text=text))


def _field(values: dict, block: str) -> str:
    value = ((values.get(block) or {}).get("value") or {}).get("value")
    return str(value or "").strip()


def _picked(values: dict, block: str, key: str = "selected_option") -> str:
    """A select's value: an option's value, or the conversation id."""
    element = (values.get(block) or {}).get("value") or {}
    value = element.get(key)
    if isinstance(value, dict):
        value = value.get("value")
    return str(value or "").strip() if isinstance(value, str | None) else ""


def mute_from_card(ctx: Ctx, number: int, on: bool) -> Outcome:
    """The card's ⋯ menu: this deal's alert DMs off (or on again) for whoever clicked."""
    deal = find_deal(session=ctx.session, workspace_id=ctx.workspace.id, number=number)
    alerts.mute_deal(session=ctx.session, member=ctx.member, deal=deal, on=on)
    key = "alert.card.muted" if on else "alert.card.unmuted"
    return Outcome(reply=Message(text=t(ctx.locale, key, number=deal.number)))
