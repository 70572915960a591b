"""``/lead``, ``/deal``, ``/pipeline``: parse, run, ack with the reply, then post.

The command runs before the ack (a few milliseconds of SQL; commands that only read take no
write lock), so the reply rides in the ack itself and the user sees it at once; a modal
opens right after the ack, while the trigger id is fresh; deal cards and thread replies are
posted after the ack, off Bolt's listener threads. Errors propagate to the app's one error
handler, which acks with the rendered message.
"""

from __future__ import annotations

import re
from concurrent.futures import TimeoutError

from bot.reply import as_response, follow_up, with_permalink
from commands.dispatch import reads_only, run_command
from commands.failures import user_message
from commands.grammar import parse
from i18n import t
from views.message import Message

COMMANDS = re.compile(r"^/(lead|deal|pipeline)$")


def register(app, deps) -> None:
    @app.command(COMMANDS)
    def slash(ack, body, client, context, respond):
        name = body["command"].lstrip("/")
        text = body.get("text") or ""
        channel = body.get("channel_id")
        cmd = parse(name, text, today=deps.today(context))
        readonly = reads_only(cmd)
        if readonly:
            # A report over a big pipeline may take longer than Slack waits for an ack: give
            # it a budget; past it, ack with "crunching" and answer through the response_url.
            future = deps.readers.submit(compute, deps, context, cmd, name, text, channel)
            try:
                outcome, workspace_id, locale = future.result(timeout=deps.ack_budget)
            except TimeoutError:
                ack(**as_response(Message(text=t(context["salesbot_locale"], "reports.working"))))
                future.add_done_callback(
                    lambda done: deps.later(answer_late, done, deps, context, body, client, respond)
                )
                return
        else:
            outcome, workspace_id, locale = compute(deps, context, cmd, name, text, channel, False)
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


def compute(deps, context, cmd, name, text, channel, readonly=True):
    with deps.acting(context, channel=channel, readonly=readonly) as ctx:
        outcome = run_command(ctx, cmd, name, text)
        return outcome, ctx.workspace.id, ctx.locale


def answer_late(done, deps, context, body, client, respond) -> None:
    """The answer that missed the ack, sent through the response_url."""
    try:
        outcome, workspace_id, locale = done.result()
    except Exception as exc:  # rendered like every other failure, just later
        text = user_message(exc, context["salesbot_locale"])
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    message = outcome.reply
    if outcome.permalink_for:
        message = with_permalink(outcome, client=client, engine=deps.engine, locale=locale)
    if message is not None:
        respond(**as_response(message, public=outcome.public, replace=False))
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
