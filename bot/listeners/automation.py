"""The cadence editor and the workflows modal: submissions, and the pipeline editor's
"Cadence: <stage>" buttons (which push the stage's cadence editor over the pipeline editor).

Errors go under the field they belong to (submissions.field_errors): a negative day under
the steps, a workflow without an action under the actions; nothing is saved.
"""

from __future__ import annotations

import re

from bot.deliver import Request, deliver
from bot.listeners.guard import guarded
from bot.listeners.submissions import _values, field_errors
from bot.payloads import ModalMeta
from commands.handlers import automation as handlers
from domain import workspaces
from domain.errors import SalesbotError
from views.ids import Action, View

CADENCE_FIELDS = {"cadence.name_required": "name", "cadence.name_too_long": "name"}
WORKFLOW_FIELDS = {
    "workflow.stage_required": "stage",
    "workflow.bad_trigger": "trigger",
    "pipeline.stage_not_found": "stage",
    "pipeline.not_found": "conditions",
    "member.not_found": "conditions",
}


def _cadence_field(exc: SalesbotError) -> str:
    return CADENCE_FIELDS.get(exc.key or "", "steps")


def _workflow_field(exc: SalesbotError) -> str:
    return WORKFLOW_FIELDS.get(exc.key or "", "actions")


def register(app, deps) -> None:
    @app.view(View.cadence_edit)
    @guarded(deps)
    @field_errors(_cadence_field)
    def on_cadence(ack, body, view, client, context):
        meta = ModalMeta.parse(view.get("private_metadata"))
        values = _values(view)
        request = Request.from_body(body, client=client)
        outcome = deps.perform(
            context, request, lambda ctx: handlers.save_cadence(ctx, meta.stage_id, values)
        )
        ack()
        deliver(outcome, request, wake=deps.wake)

    @app.view(View.workflows)
    @guarded(deps)
    @field_errors(_workflow_field)
    def on_workflows(ack, body, view, client, context):
        values = _values(view)
        request = Request.from_body(body, client=client)
        outcome = deps.perform(context, request, lambda ctx: handlers.save_workflows(ctx, values))
        ack()
        deliver(outcome, request, wake=deps.wake)

    @app.action(re.compile(rf"^{re.escape(Action.cadence_edit)}(:\d+)?$"))
    @guarded(deps)
    def on_cadence_button(ack, body, action, client, context):
        ack()
        value = str(action.get("value") or "")
        stage_id = int(value) if value.isdigit() and len(value) < 12 else None
        with deps.acting(context, readonly=True) as ctx:
            workspaces.require_admin(ctx.member)
            view = handlers.cadence_modal(ctx, handlers.stage_of_workspace(ctx, stage_id))
        client.views_push(trigger_id=body.get("trigger_id"), view=view)
