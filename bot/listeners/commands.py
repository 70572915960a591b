"""``/lead``, ``/deal``, ``/pipeline``: parse, run, ack with the reply, then post.

The command runs before the ack (a few milliseconds of SQL), so the reply rides in the ack
itself and the user sees it at once; a modal opens right after the ack, while the trigger id
is fresh; deal cards and thread replies are posted after the ack. Errors propagate to the
app's one error handler, which acks with the rendered message.
"""

from __future__ import annotations

import re

from bot.reply import as_response, follow_up, with_permalink
from commands.dispatch import execute

COMMANDS = re.compile(r"^/(lead|deal|pipeline)$")


def register(app, deps) -> None:
    @app.command(COMMANDS)
    def slash(ack, body, client, context, respond):
        name = body["command"].lstrip("/")
        channel = body.get("channel_id")
        with deps.acting(context, channel=channel) as ctx:
            outcome = execute(ctx, name, body.get("text") or "")
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


def run_outcome(
    outcome, *, ack, client, deps, workspace_id, locale, user_id, channel, trigger_id, respond=None
):
    """Ack (with the reply when it is ready), then everything that talks to Slack."""
    if outcome.reply is not None and not outcome.permalink_for:
        ack(**as_response(outcome.reply, public=outcome.public))
    else:
        ack()
    if outcome.permalink_for:
        message = with_permalink(outcome, client=client, engine=deps.engine, locale=locale)
        if respond is not None:
            respond(**as_response(message, replace=False))
        else:
            client.chat_postEphemeral(channel=channel, user=user_id, **message.as_kwargs())
    follow_up(
        outcome,
        client=client,
        engine=deps.engine,
        workspace_id=workspace_id,
        user_id=user_id,
        channel=channel,
        trigger_id=trigger_id,
    )
