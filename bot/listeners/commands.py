"""``/lead``, ``/deal``, ``/pipeline``: parse, run, ack with the reply, then post.

The command runs before the ack (a few milliseconds of SQL; commands that only read take no
write lock), so the reply rides in the ack itself and the user sees it at once; a modal
opens right after the ack, while the trigger id is fresh; deal cards and thread replies are
posted after the ack, off Bolt's listener threads. Errors propagate to the app's one error
handler, which acks with the rendered message.
"""

from __future__ import annotations

import re

from bot.reply import as_response, follow_up, with_permalink
from commands import types as c
from commands.dispatch import reads_only, run_command
from commands.failures import user_message
from commands.grammar import parse
from i18n import t
from views.message import Message

COMMANDS = re.compile(r"^/(lead|deal|pipeline)$")
SLOW = (c.PipelineMetrics, c.PipelineForecast, c.PipelinePlan)


def register(app, deps) -> None:
    @app.command(COMMANDS)
    def slash(ack, body, client, context, respond):
        name = body["command"].lstrip("/")
        text = body.get("text") or ""
        channel = body.get("channel_id")
        cmd = parse(name, text, today=deps.today(context))
        if isinstance(cmd, SLOW):
            # Reports over a big pipeline may take longer than Slack waits for an ack.
            ack(**as_response(Message(text=t(context["salesbot_locale"], "reports.working"))))
            deps.later(report_later, deps, context, cmd, name, text, body, client, respond)
            return
        with deps.acting(context, channel=channel, readonly=reads_only(cmd)) as ctx:
            outcome = run_command(ctx, cmd, name, text)
            workspace_id, locale = ctx.workspace.id, ctx.locale
        run_outcome(
            outcome,
            ack=ack,
            client=client,
            deps=deps,
            workspace_id=workspace_id,
            locale=locale,
            user_id=body["user_id"],
            channel=channel,
            trigger_id=body.get("trigger_id"),
            respond=respond,
        )


def report_later(deps, context, cmd, name, text, body, client, respond) -> None:
    """A slow report, computed after the ack and sent through the response_url."""
    locale = context["salesbot_locale"]
    try:
        with deps.acting(context, channel=body.get("channel_id"), readonly=True) as ctx:
            outcome = run_command(ctx, cmd, name, text)
            workspace_id, locale = ctx.workspace.id, ctx.locale
    except Exception as exc:  # rendered like every other failure, just later
        respond(text=user_message(exc, locale), response_type="ephemeral", replace_original=False)
        return
    if outcome.reply is not None:
        respond(**as_response(outcome.reply, public=outcome.public, replace=False))
    follow_up(
        outcome,
        client=client,
        engine=deps.engine,
        workspace_id=workspace_id,
        user_id=body["user_id"],
        channel=body.get("channel_id"),
    )


def run_outcome(
    outcome, *, ack, client, deps, workspace_id, locale, user_id, channel, trigger_id, respond=None
):
    """Ack (with the reply when it is ready), open the modal, then post in the background."""
    if outcome.reply is not None and not outcome.permalink_for:
        ack(**as_response(outcome.reply, public=outcome.public))
    else:
        ack()
    if outcome.modal is not None and trigger_id:
        client.views_open(trigger_id=trigger_id, view=outcome.modal)
        outcome.modal = None
    if outcome.permalink_for:
        message = with_permalink(outcome, client=client, engine=deps.engine, locale=locale)
        if respond is not None:
            respond(**as_response(message, replace=False))
        else:
            client.chat_postEphemeral(channel=channel, user=user_id, **message.as_kwargs())
    if outcome.posts or outcome.uploads:
        deps.later(
            follow_up,
            outcome,
            client=client,
            engine=deps.engine,
            workspace_id=workspace_id,
            user_id=user_id,
            channel=channel,
        )
