"""Modal submissions: read the fields, run the same handlers, answer errors on the field.

A field that does not parse, or a domain error that belongs to a field (an unknown stage,
an amount out of range), comes back with ``response_action: errors`` so the modal stays open
with the message under that field. The person's answer then happens where they look: the
deal card in the deals channel, or a DM from the app for pipeline and settings changes.
"""

from __future__ import annotations

import json
import logging

from bot.reply import follow_up
from commands import forms
from commands import types as c
from commands.failures import user_message
from commands.handlers import run
from domain import pipelines as pipeline_ops
from domain import settings as settings_ops
from domain.errors import NotFound, SalesbotError
from domain.refs import stages_of
from i18n import t
from storage.models import Deal, Pipeline
from views.ids import View

log = logging.getLogger(__name__)


def _meta(view: dict) -> dict:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}


def _deal(ctx, meta: dict) -> Deal:
    deal = ctx.session.get(Deal, int(meta.get("deal_id") or 0))
    if deal is None or deal.workspace_id != ctx.workspace.id:
        raise NotFound("deal.not_found_number", number=meta.get("deal_id"))
    return deal


def _first_block(view: dict) -> str:
    for block in view.get("blocks", []):
        if block.get("type") == "input":
            return block["block_id"]
    return ""


def register(app, deps) -> None:
    @app.view(View.deal_new)
    @app.view(View.lead_new)
    @app.view(View.deal_lost)
    @app.view(View.deal_note)
    def on_command_form(ack, body, view, client, context):
        meta = _meta(view)
        values = view["state"]["values"]
        locale = context.get("salesbot_locale", "en")
        user_id = body["user"]["id"]
        try:
            with deps.acting(context, channel=meta.get("channel")) as ctx:
                locale = ctx.locale
                workspace_id = ctx.workspace.id
                kind = view["callback_id"]
                if kind == View.deal_new:
                    cmd = forms.deal_new(values, locale=locale, today=ctx.today())
                elif kind == View.lead_new:
                    cmd = forms.lead_new(values, locale=locale)
                elif kind == View.deal_lost:
                    deal = _deal(ctx, meta)
                    cmd = c.DealLost(c.DealRef(number=deal.number), forms.lost_reason(values))
                else:
                    deal = _deal(ctx, meta)
                    cmd = c.DealNote(
                        c.DealRef(number=deal.number), forms.note_text(values, locale=locale)
                    )
                outcome = run(cmd, ctx)
        except forms.FieldErrors as err:
            ack(response_action="errors", errors=err.errors)
            return
        except Exception as exc:
            field = forms.field_for(exc) if isinstance(exc, SalesbotError) else None
            ack(
                response_action="errors",
                errors={field or _first_block(view): user_message(exc, locale)[:2000]},
            )
            return
        ack()
        if outcome.reply is not None and not outcome.posts:
            client.chat_postMessage(channel=user_id, **outcome.reply.as_kwargs())
        follow_up(
            outcome,
            client=client,
            engine=deps.engine,
            workspace_id=workspace_id,
            user_id=user_id,
            channel=meta.get("channel") or user_id,
        )

    @app.view(View.pipeline_edit)
    def on_pipeline(ack, body, view, client, context):
        meta = _meta(view)
        values = view["state"]["values"]
        locale = context.get("salesbot_locale", "en")
        try:
            with deps.acting(context) as ctx:
                locale = ctx.locale
                pipeline = None
                existing = []
                if meta.get("pipeline_id"):
                    pipeline = ctx.session.get(Pipeline, int(meta["pipeline_id"]))
                    if pipeline is None or pipeline.workspace_id != ctx.workspace.id:
                        raise NotFound("pipeline.not_found", text="?", names="")
                    existing = stages_of(session=ctx.session, pipeline_id=pipeline.id)
                name, specs = forms.pipeline_form(values, locale=locale, existing=existing)
                if pipeline is None:
                    pipeline = pipeline_ops.create_pipeline(
                        session=ctx.session, actor=ctx.member, name=name, stages=specs
                    )
                else:
                    pipeline_ops.edit_pipeline(
                        session=ctx.session,
                        actor=ctx.member,
                        pipeline=pipeline,
                        name=name,
                        stages=specs,
                    )
                done = t(locale, "pipeline.saved", name=name, count=len(specs))
        except forms.FieldErrors as err:
            ack(response_action="errors", errors=err.errors)
            return
        except Exception as exc:
            names = ("pipeline.name_taken", "pipeline.name_too_long", "pipeline.name_required")
            field = "name" if getattr(exc, "key", "") in names else "stages"
            ack(response_action="errors", errors={field: user_message(exc, locale)[:2000]})
            return
        ack()
        client.chat_postMessage(channel=body["user"]["id"], text=done)

    @app.view(View.settings)
    def on_settings(ack, body, view, client, context):
        values = view["state"]["values"]
        locale = context.get("salesbot_locale", "en")
        try:
            with deps.acting(context) as ctx:
                locale = ctx.locale
                form = forms.settings_form(values, locale=locale)
                settings_ops.update_settings(
                    session=ctx.session, actor=ctx.member, workspace=ctx.workspace, form=form
                )
                locale = ctx.locale
        except forms.FieldErrors as err:
            ack(response_action="errors", errors=err.errors)
            return
        except Exception as exc:
            field = (forms.field_for(exc) if isinstance(exc, SalesbotError) else None) or "timezone"
            ack(response_action="errors", errors={field: user_message(exc, locale)[:2000]})
            return
        ack()
        deps.forget(context.get("team_id") or body["user"].get("team_id") or "")
        client.chat_postMessage(
            channel=body["user"]["id"], text=t(locale, "workspace.settings_saved")
        )
