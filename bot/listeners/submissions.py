"""Modal submissions: read the fields, run the same handlers, answer errors on the field.

One wrapper, :func:`field_errors`, turns a field that does not parse, or a domain error that
belongs to a field (an unknown stage, an amount out of range), into ``response_action:
errors`` so the modal stays open with the message under that field; anything else goes to
the app's one error handler. The person's answer then happens where they look: the deal card
in the deals channel, or a DM from the app (recorded in the outbox with the change).
``private_metadata`` is parsed at the edge (bot.payloads.ModalMeta): a hostile value reads as
empty, and a deal it does not name is "not found".
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import replace

from bot.deliver import Request, deliver
from bot.listeners.actions import deal_ref
from bot.listeners.guard import guarded
from bot.payloads import ModalMeta
from commands import field_values, forms
from commands import types as c
from commands.failures import user_message
from commands.handlers import run
from commands.outcome import Outcome
from domain import pipelines as pipeline_ops
from domain import settings as settings_ops
from domain.errors import NotFound, SalesbotError
from domain.refs import stages_of
from i18n import t
from storage.models import Pipeline
from views.ids import View
from views.message import Message

log = logging.getLogger(__name__)


def _custom_block(view: dict, exc: SalesbotError) -> str | None:
    """A custom field's input (``cf:<key>``, labelled with the field's name) that a
    ``field.…`` error names, in the new-deal or new-lead modal."""
    name = exc.params.get("field")
    if not name or not (exc.key or "").startswith("field."):
        return None
    for block in view.get("blocks") or []:
        if not isinstance(block, dict) or not str(block.get("block_id") or "").startswith("cf:"):
            continue
        if (block.get("label") or {}).get("text") == name:
            return str(block["block_id"])
    return None


def _first_block(view: dict) -> str:
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input":
            return str(block.get("block_id") or "")
    return ""


class OnceAck:
    """A view submission's ``ack``, given once: by the listener, or by the ack budget's
    thread when the change is still waiting (:func:`within_budget`). True when this call
    acked."""

    def __init__(self, ack) -> None:
        self._ack, self._lock, self.spent = ack, threading.Lock(), False

    def __call__(self, **kwargs) -> bool:
        with self._lock:
            if self.spent:
                return False
            self.spent = True
        self._ack(**kwargs)
        return True


def within_budget(deps, ack, context, request: Request, work) -> Outcome:
    """Run a form's change; if it still runs at the ack budget (another writer holds the
    database), close the modal then, so Slack does not call it a timeout and the person does
    not submit it twice. The answer comes where it always does, the card or a DM; an error
    found after that comes by DM (:func:`field_errors`)."""
    return deps.perform_in_budget(context, request, work, late=ack)


def field_errors(default_field=None, *, deps=None):
    """Wrap a view-submission listener: FieldErrors and domain errors become field errors
    (on the field the error belongs to, else ``default_field(exc)``, else the first input).
    With ``deps``, an error after the modal was closed (:func:`within_budget`) is DMed."""

    def wrap(listener):
        @functools.wraps(listener)
        def wrapped(ack, body, view, client, context):
            once = OnceAck(ack)
            locale = context.get("salesbot_locale")
            try:
                return listener(once, body, view, client, context)
            except forms.FieldErrors as err:
                errors = err.errors
            except SalesbotError as exc:
                field = forms.field_for(exc) or (default_field(exc) if default_field else None)
                field = field or _custom_block(view, exc)
                text = user_message(exc, locale)[: forms.ERROR_LIMIT]
                errors = {field or _first_block(view): text}
            if once(response_action="errors", errors=errors) or deps is None:
                return None
            user_id = Request.from_body(body, client=client).user_id
            detail = "\n".join(str(e) for e in errors.values())
            text = t(locale or "en", "error.form_late", detail=detail)
            deps.dm(context, user_id, Message(text=text))
            deps.wake()
            return None

        return wrapped

    return wrap


def _values(view: dict) -> dict:
    state = view.get("state") if isinstance(view.get("state"), dict) else {}
    values = state.get("values")
    return values if isinstance(values, dict) else {}


def form_command(kind: str, meta: ModalMeta, values: dict, ctx):
    if kind == View.deal_new:  # with the custom fields' answers (issue 15)
        cmd = forms.deal_new(values, locale=ctx.locale, today=ctx.today())
        return replace(cmd, custom=field_values.answers(values))
    if kind == View.lead_new:
        cmd = forms.lead_new(values, locale=ctx.locale)
        return replace(cmd, custom=field_values.answers(values))
    ref = deal_ref(ctx, meta.deal_key)
    if kind == View.deal_lost:
        return c.DealLost(ref, forms.lost_reason(values), confirmed=True)  # the modal asked
    return c.DealNote(ref, forms.note_text(values, locale=ctx.locale))


def _pipeline_field(exc: SalesbotError) -> str:
    names = ("pipeline.name_taken", "pipeline.name_too_long", "pipeline.name_required")
    return "name" if exc.key in names else "stages"


def register(app, deps) -> None:
    @app.view(View.deal_new)
    @app.view(View.lead_new)
    @app.view(View.deal_lost)
    @app.view(View.deal_note)
    @guarded(deps)
    @field_errors(deps=deps)
    def on_command_form(ack, body, view, client, context):
        meta = ModalMeta.parse(view.get("private_metadata"))
        values = _values(view)
        request = Request.from_body(body, client=client)
        request.channel_id = meta.channel

        def work(ctx) -> Outcome:
            outcome = run(form_command(view["callback_id"], meta, values, ctx), ctx)
            # The card and its thread tell the team; the person hears back there too.
            return Outcome(posts=outcome.posts) if outcome.posts else outcome

        outcome = within_budget(deps, ack, context, request, work)
        ack()
        deliver(outcome, request, wake=deps.wake)

    @app.view(View.task_new)
    @guarded(deps)
    @field_errors(forms.task_field, deps=deps)
    def on_task_form(ack, body, view, client, context):
        meta = ModalMeta.parse(view.get("private_metadata"))
        values = _values(view)
        request = Request.from_body(body, client=client)
        request.channel_id = meta.channel

        def work(ctx) -> Outcome:
            try:
                return run(forms.task_new(values, locale=ctx.locale, today=ctx.today()), ctx)
            except SalesbotError as exc:
                exc.params.pop("usage", None)  # under a field, the slash usage line is noise
                raise

        outcome = within_budget(deps, ack, context, request, work)
        ack()
        deliver(outcome, request, wake=deps.wake)

    @app.view(View.pipeline_edit)
    @guarded(deps)
    @field_errors(_pipeline_field, deps=deps)
    def on_pipeline(ack, body, view, client, context):
        meta = ModalMeta.parse(view.get("private_metadata"))
        values = _values(view)
        request = Request.from_body(body, client=client)

        def work(ctx) -> Outcome:
            pipeline, existing = None, []
            if meta.pipeline_id is not None:
                pipeline = ctx.session.get(Pipeline, meta.pipeline_id)
                if pipeline is None or pipeline.workspace_id != ctx.workspace.id:
                    raise NotFound("pipeline.not_found", text="?", names="")
                existing = stages_of(session=ctx.session, pipeline_id=pipeline.id)
            name, specs = forms.pipeline_form(values, locale=ctx.locale, existing=existing)
            if pipeline is None:
                pipeline_ops.create_pipeline(
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
            text = t(ctx.locale, "pipeline.saved", name=name, count=len(specs))
            return Outcome(reply=Message(text=text))

        outcome = within_budget(deps, ack, context, request, work)
        ack()
        deliver(outcome, request, wake=deps.wake)

    @app.view(View.settings)
    @guarded(deps)
    @field_errors(lambda exc: "timezone", deps=deps)
    def on_settings(ack, body, view, client, context):
        values = _values(view)
        request = Request.from_body(body, client=client)

        def work(ctx) -> Outcome:
            form = forms.settings_form(values, locale=ctx.locale)
            settings_ops.update_settings(
                session=ctx.session, actor=ctx.member, workspace=ctx.workspace, form=form
            )
            return Outcome(reply=Message(text=t(ctx.locale, "workspace.settings_saved")))

        outcome = within_budget(deps, ack, context, request, work)
        ack()
        deps.forget(context.get("team_id") or "")
        deliver(outcome, request, wake=deps.wake)
