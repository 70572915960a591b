"""The card's BANT button (opens the checkboxes), the BANT and scoring modals' submissions.

The checkboxes submit exactly the ticked criteria as ``/deal qualify`` would, through the
same handler, permissions and errors; the card and thread tell the team. The scoring modal's
errors go under the field they belong to (a rule line that cannot be read under the new
rules, a bad number under its number).
"""

from __future__ import annotations

from bot import payloads
from bot.deliver import Request, deliver
from bot.listeners.actions import deal_ref
from bot.listeners.guard import guarded
from bot.listeners.submissions import _values, field_errors
from bot.payloads import ModalMeta
from commands.handlers import run
from commands.handlers import scoring as handlers
from commands.outcome import Outcome
from views.ids import Action, View

SCORING_FIELDS = {
    "scoring.bad_threshold": "threshold",
    "scoring.bad_days": "window",
}


def register(app, deps) -> None:
    @app.action(Action.qualify_open)
    @guarded(deps)
    def on_qualify_button(ack, body, action, client, context):
        ack()
        key = payloads.deal_key(action.get("value"))
        with deps.acting(context, readonly=True) as ctx:
            view = handlers.qualify_modal(ctx, deal_ref(ctx, key))
        client.views_open(trigger_id=body.get("trigger_id"), view=view)

    @app.view(View.qualify)
    @guarded(deps)
    @field_errors(lambda exc: "criteria")
    def on_qualify(ack, body, view, client, context):
        meta = ModalMeta.parse(view.get("private_metadata"))
        values = _values(view)
        request = Request.from_body(body, client=client)

        def work(ctx) -> Outcome:
            outcome = run(handlers.qualify_command(deal_ref(ctx, meta.deal_key), values), ctx)
            return Outcome(posts=outcome.posts) if outcome.posts else outcome

        outcome = deps.perform(context, request, work)
        ack()
        deliver(outcome, request, wake=deps.wake)

    @app.view(View.scoring)
    @guarded(deps)
    @field_errors(lambda exc: SCORING_FIELDS.get(exc.key or "", "add"))
    def on_scoring(ack, body, view, client, context):
        values = _values(view)
        request = Request.from_body(body, client=client)
        outcome = deps.perform(context, request, lambda ctx: handlers.save_scoring(ctx, values))
        ack()
        deliver(outcome, request, wake=deps.wake)
