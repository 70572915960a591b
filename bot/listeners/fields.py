"""Custom fields (issue 15): the "Fill in the fields" button of a refused move and its modal,
and the ``/pipeline fields`` Edit buttons and their modal (admins).

Buttons and metadata are read at the edge: a value that is not what we wrote is "not
found", never a traceback. Input blocks of the fill modal are ``f<field id>``; what each
holds is turned back into the text a person would type after ``key:`` and read by the same
grammar as ``/deal set`` (commands.field_values), errors going under the field.
"""

from __future__ import annotations

import json
import re

from bot.deliver import Request, deliver
from bot.listeners.guard import guarded
from bot.listeners.submissions import _values, field_errors
from commands.field_values import state_text
from commands.handlers import fields as handlers
from commands.outcome import Outcome
from domain.errors import NotFound
from views.ids import Action, View

MAX_ID = 2**31 - 1


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    raise NotFound("field.not_found")


def _json(raw: object) -> dict:
    try:
        data = json.loads(raw) if isinstance(raw, str) and len(raw) < 3000 else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise NotFound("field.not_found")
    return data


def fill_values(values: dict) -> dict[int, str]:
    out: dict[int, str] = {}
    for block, actions in values.items():
        match = re.fullmatch(r"f([0-9]{1,10})", str(block))
        if match and isinstance(actions, dict) and int(match[1]) <= MAX_ID:
            element = actions.get("value", next(iter(actions.values()), {}))
            out[int(match[1])] = state_text(element)
    return out


def edit_values(values: dict) -> dict:
    def element(block: str) -> dict:
        actions = values.get(block)
        return actions.get("value", {}) if isinstance(actions, dict) else {}

    form: dict = {}
    if "name" in values:
        form["name"] = state_text(element("name"))
    if "options" in values:
        form["options"] = state_text(element("options"))
    if "required" in values:
        chosen = state_text(element("required"))
        form["required"] = int(chosen) if chosen.isdigit() and len(chosen) < 11 else 0
    boxes = element("archived").get("selected_options")
    form["archived"] = bool(boxes) if isinstance(boxes, list) else False
    return form


def register(app, deps) -> None:
    @app.action(Action.field_fill)
    @guarded(deps)
    def on_fill_button(ack, body, action, client, context):
        ack()
        data = _json(action.get("value"))
        number, stage_id = _int(data.get("deal")), _int(data.get("stage"))
        with deps.acting(context, readonly=True) as ctx:
            view = handlers.fill_modal(ctx, number, stage_id)
        channel = (
            (body.get("channel") or {}).get("id") if isinstance(body.get("channel"), dict) else None
        )
        if channel:
            meta = _json(view.get("private_metadata"))
            view["private_metadata"] = json.dumps({**meta, "channel": channel})
        client.views_open(trigger_id=body.get("trigger_id"), view=view)

    @app.action(re.compile(rf"^{re.escape(Action.field_edit)}(:\d+)?$"))
    @guarded(deps)
    def on_edit_button(ack, body, action, client, context):
        ack()
        value = str(action.get("value") or "")
        field_id = _int(int(value)) if value.isdigit() and len(value) < 11 else _int(None)
        with deps.acting(context, readonly=True) as ctx:
            view = handlers.edit_modal(ctx, field_id)
        client.views_open(trigger_id=body.get("trigger_id"), view=view)

    @app.view(View.field_fill)
    @guarded(deps)
    @field_errors()
    def on_fill(ack, body, view, client, context):
        meta = _json(view.get("private_metadata"))
        number, stage_id = _int(meta.get("deal")), _int(meta.get("stage_id"))
        raw = fill_values(_values(view))
        request = Request.from_body(body, client=client)
        channel = meta.get("channel")
        request.channel_id = channel if isinstance(channel, str) and len(channel) < 33 else None

        def work(ctx):
            outcome = handlers.fill_and_move(ctx, number, stage_id, raw)
            # The card and its thread tell the team; the person sees the move there.
            return Outcome(posts=outcome.posts) if outcome.posts else outcome

        outcome = deps.perform(context, request, work)
        ack()
        deliver(outcome, request, wake=deps.wake)

    @app.view(View.field_edit)
    @guarded(deps)
    @field_errors(lambda exc: "options" if exc.key.startswith("field.option") else "name")
    def on_edit(ack, body, view, client, context):
        meta = _json(view.get("private_metadata"))
        field_id = _int(meta.get("field_id"))
        form = edit_values(_values(view))
        request = Request.from_body(body, client=client)
        outcome = deps.perform(
            context, request, lambda ctx: handlers.save_edit(ctx, field_id, form)
        )
        ack()
        deliver(outcome, request, wake=deps.wake)
