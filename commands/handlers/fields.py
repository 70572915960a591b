"""Custom fields (issue 15, point 1): ``/pipeline field new``, ``/pipeline fields``, custom
values in ``/deal set``, custom filters in ``/deal list``, and the "fill the fields this stage
requires" offer when a move is refused for them."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from commands import field_values
from commands import types as c
from commands.context import Ctx
from commands.forms import FieldErrors
from commands.handlers import handles
from commands.handlers.deals import (
    card_channel,
    card_message,
    home_of,
    resolve_deal,
)
from commands.outcome import Outcome, Post, PostKind
from domain import custom_fields as cf
from domain import deals, workspaces
from domain.errors import InvalidInput, SalesbotError
from domain.refs import deal_pipelines, find_member, stages_of
from i18n import t
from storage.models import CustomField, Role, Stage
from views import blocks as b
from views import fields as fv
from views.message import Message


@handles(c.PipelineFieldNew)
def field_new(cmd: c.PipelineFieldNew, ctx: Ctx) -> Outcome:
    field = cf.define(
        session=ctx.session,
        actor=ctx.member,
        workspace=ctx.workspace,
        name=cmd.name,
        kind=cmd.kind,
        entity=cmd.entity,
        key=cmd.key,
        options=list(cmd.options),
        pipeline=cmd.pipeline,
        required_stage=cmd.required,
    )
    return Outcome(reply=Message(text=fv.created(field, ctx.locale)))


def _names(ctx: Ctx) -> tuple[dict[int, str], dict[int, str]]:
    pipelines = deal_pipelines(session=ctx.session, workspace_id=ctx.workspace.id)
    stages = {
        s.id: s.name for p in pipelines for s in stages_of(session=ctx.session, pipeline_id=p.id)
    }
    return stages, {p.id: p.name for p in pipelines}


@handles(c.PipelineFields)
def field_list(cmd: c.PipelineFields, ctx: Ctx) -> Outcome:
    defs = [
        f
        for entity in ([cmd.entity] if cmd.entity else cf.ENTITIES)
        for f in cf.fields(
            session=ctx.session, workspace_id=ctx.workspace.id, entity=entity, archived=True
        )
    ]
    stages, pipelines = _names(ctx)
    editable = ctx.member.role == Role.admin
    return Outcome(reply=fv.listing(defs, stages, pipelines, ctx.locale, editable=editable))


# --- values ----------------------------------------------------------------------------------


def _field(session, workspace_id: int, entity: str, key: str, pipeline_id) -> CustomField:
    field = cf.find(session=session, workspace_id=workspace_id, entity=entity, key=key)
    if field.pipeline_id is not None and pipeline_id not in (None, field.pipeline_id):
        raise InvalidInput("field.other_pipeline", field=field.name)
    return field


def _resolved(session, workspace_id: int, value: Any) -> Any:
    if field_values.is_user(value):
        return find_member(
            session=session, workspace_id=workspace_id, slack_id=value.slack_id, name=value.name
        ).slack_user_id
    return value


def read_values(
    ctx: Ctx, entity: str, pipeline_id: int | None, pairs
) -> dict[int, tuple[CustomField, Any]]:
    """``(key, raw)`` pairs as ``{field id: (field, typed value)}``; a mistake names the field."""
    out: dict[int, tuple[CustomField, Any]] = {}
    ws = ctx.workspace.id
    for key, raw in pairs:
        field = _field(ctx.session, ws, entity, key, pipeline_id)
        value = _resolved(ctx.session, ws, field_values.read(field, raw, today=ctx.today()))
        cf.normalized(field, value, ctx.workspace.currency)  # options, ranges: checked now
        out[field.id] = (field, value)
    return out


def filters(ctx: Ctx, entity: str, custom, record_column) -> list:
    """``/deal list budget>=1억 industry:제조``: one SQL condition per filter."""
    return field_conditions(ctx.session, ctx.workspace, ctx.today(), entity, custom, record_column)


def field_conditions(session, workspace, today, entity: str, custom, record_column) -> list:
    """The conditions of ``(key, op, raw)`` filters (also ``/deal export``'s)."""
    where = []
    for key, op, raw in custom:
        field = _field(session, workspace.id, entity, key, None)
        value = field_values.read(field, raw, today=today, clearing=False)
        value = _resolved(session, workspace.id, value)
        values = value if field.kind == "multiselect" else (value,)
        for one in values:
            where.append(cf.condition(field, op, one, record_column, workspace.currency))
    return where


def _has_builtin(cmd: c.DealSet) -> bool:
    asked = (cmd.amount, cmd.currency, cmd.close, cmd.owner, cmd.title, cmd.company)
    return any(value is not None for value in asked)


def set_deal(cmd: c.DealSet, ctx: Ctx) -> Outcome:
    """``/deal set 42 budget:5000만원 [amount:…]``: every value is read and checked before
    anything is written; the card and its thread say what changed."""
    deal = resolve_deal(ctx, cmd.deal)
    values = read_values(ctx, "deals", deal.pipeline_id, cmd.custom)
    changes = cf.set_deal_values(
        session=ctx.session, actor=ctx.member, deal=deal, workspace=ctx.workspace,
        values=values, now=ctx.now(),
    )  # fmt: skip
    listed = list(changes)
    if _has_builtin(cmd):
        from commands.handlers.deals import set_ as set_builtin

        outcome = set_builtin(replace(cmd, custom=()), ctx)
        if not listed:
            return outcome
        mine = fv.changes_line(ctx.member, deal.number, listed, ctx.locale)
        reply = Message(text=f"{outcome.reply.text}\n{mine}")
        ws_line = fv.changes_line(ctx.member, deal.number, listed, ctx.workspace.locale)
        post = Post(PostKind.thread, Message(text=ws_line), deal_id=deal.id,
                    channel=card_channel(ctx), home=home_of(deal))  # fmt: skip
        return Outcome(reply=reply, posts=(*outcome.posts, post))
    if not listed:
        raise InvalidInput("deal.unchanged", number=deal.number)
    posts = (
        Post(PostKind.card_update, card_message(ctx, deal), deal_id=deal.id,
             channel=card_channel(ctx), home=home_of(deal)),
        Post(PostKind.thread,
             Message(text=fv.changes_line(ctx.member, deal.number, listed, ctx.workspace.locale)),
             deal_id=deal.id, channel=card_channel(ctx), home=home_of(deal)),
    )  # fmt: skip
    return Outcome(
        reply=Message(text=fv.changes_line(ctx.member, deal.number, listed, ctx.locale)),
        posts=posts,
    )


def with_inputs(ctx: Ctx, modal: dict, entity: str = "deals") -> dict:
    """The new-deal (new-lead) modal with an optional input per custom field (``cf:<key>``)."""
    defs = cf.fields(session=ctx.session, workspace_id=ctx.workspace.id, entity=entity)
    room = b.VIEW_BLOCKS - len(modal["blocks"])
    modal["blocks"] = modal["blocks"] + fv.new_inputs(defs[:room], ctx.locale)
    return modal


def set_new(ctx: Ctx, deal, values: dict[int, tuple[CustomField, Any]]) -> None:
    """A new deal's custom values (``/deal new … budget:…`` or the modal)."""
    if values:
        cf.set_deal_values(
            session=ctx.session, actor=ctx.member, deal=deal, workspace=ctx.workspace,
            values=values, now=ctx.now(),
        )  # fmt: skip


def with_custom_fields(ctx: Ctx, message: Message, entity: str, record_id: int) -> Message:
    """``/lead show``, ``/company show``, ``/person show``: the record's custom fields."""
    shown = cf.shown(
        session=ctx.session, workspace_id=ctx.workspace.id, entity=entity, record_id=record_id
    )
    if shown:
        items = fv.merge_items([], fv.card_items(shown, ctx.locale))
        message.blocks.append(b.fields(items))
    return message


# --- required from a stage -------------------------------------------------------------------


def offers_fill(handler):
    """A move refused for missing fields answers with the fields and a button that opens a
    modal to fill them (nothing was changed: the check comes before the move writes)."""

    @functools.wraps(handler)
    def wrapped(cmd, ctx: Ctx) -> Outcome:
        try:
            return handler(cmd, ctx)
        except cf.MissingFields as err:
            confirmed = bool(getattr(cmd, "confirmed", False))
            return Outcome(reply=fv.missing(err, ctx.locale), replace=confirmed)

    return wrapped


def fill_modal(ctx: Ctx, number: int, stage_id: int) -> dict:
    deal = resolve_deal(ctx, c.DealRef(number=number))
    deals.require_can_change(ctx.member, deal)
    stages = stages_of(session=ctx.session, pipeline_id=deal.pipeline_id)
    stage = _stage(stages, stage_id)
    missing = cf.missing_for_stage(session=ctx.session, deal=deal, target=stage, stages=stages)
    if not missing:  # filled meanwhile: offer the fields anyway, nothing to lose
        missing = [
            f
            for f in cf.fields(session=ctx.session, workspace_id=ctx.workspace.id, entity="deals",
                               pipeline_id=deal.pipeline_id)
            if f.required_stage_id is not None
        ]  # fmt: skip
    return fv.fill_modal(number, stage, missing, ctx.locale)


def _stage(stages: list[Stage], stage_id: int) -> Stage:
    stage = next((s for s in stages if s.id == stage_id), None)
    if stage is None:
        raise InvalidInput("deal.stage_not_in_pipeline")
    return stage


def fill_and_move(ctx: Ctx, number: int, stage_id: int, raw: dict[int, str]) -> Outcome:
    """The fill modal's submission: set the values, then make the move that was refused."""
    deal = resolve_deal(ctx, c.DealRef(number=number))
    values: dict[int, tuple[CustomField, Any]] = {}
    errors: dict[str, str] = {}
    for field_id, text in raw.items():
        try:
            field = cf.field_by_id(
                session=ctx.session, workspace_id=ctx.workspace.id, field_id=field_id
            )
            values.update(read_values(ctx, "deals", deal.pipeline_id, [(field.key, text)]))
        except SalesbotError as err:
            errors[f"f{field_id}"] = err.render(ctx.locale)
    if errors:
        raise FieldErrors(errors)
    cf.set_deal_values(
        session=ctx.session, actor=ctx.member, deal=deal, workspace=ctx.workspace,
        values=values, now=ctx.now(),
    )  # fmt: skip
    from commands.handlers import run

    return run(
        c.DealMove(c.DealRef(number=number), c.StageRef(text="", id=stage_id), confirmed=True), ctx
    )


# --- the edit modal ---------------------------------------------------------------------------


def edit_modal(ctx: Ctx, field_id: int) -> dict:
    workspaces.require_admin(ctx.member)
    field = cf.field_by_id(session=ctx.session, workspace_id=ctx.workspace.id, field_id=field_id)
    pipeline_id = (
        field.pipeline_id
        or deal_pipelines(session=ctx.session, workspace_id=ctx.workspace.id)[0].id
    )
    if field.required_stage_id:
        pipeline_id = ctx.session.get(Stage, field.required_stage_id).pipeline_id
    stages = stages_of(session=ctx.session, pipeline_id=pipeline_id)
    return fv.edit_modal(field, stages, ctx.locale)


def save_edit(ctx: Ctx, field_id: int, form: dict[str, Any]) -> Outcome:
    field = cf.field_by_id(session=ctx.session, workspace_id=ctx.workspace.id, field_id=field_id)
    options = form.get("options")
    cf.edit(
        session=ctx.session,
        actor=ctx.member,
        field=field,
        name=form.get("name"),
        options=None if options is None else options.replace(",", "\n").splitlines(),
        required_stage_id=form.get("required"),
        archived=form.get("archived"),
    )
    key = "field.archived_done" if field.archived else "field.saved"
    return Outcome(reply=Message(text=t(ctx.locale, key, name=field.name)))
