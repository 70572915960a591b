"""``/lead``, ``/deal``, ``/pipeline``, ``/task``, ``/company``, ``/person``: parse, run, and
deliver (bot.deliver).

The command runs before the ack (a few milliseconds of SQL; commands that only read take no
write lock), so the reply rides in the ack itself and the user sees it at once; its posts
were recorded in the outbox with the change and leave as soon as the drainer is woken. A
modal opens right after the ack, while the trigger id is fresh. Errors propagate to the
app's one error handler, which acks with the rendered message.

Reports may take longer than Slack waits for an ack: read-only commands get a budget
(``Deps.ack_budget``); past it the ack says "crunching" and the answer follows through the
``response_url`` (delivered the same way, failures rendered the same way). A read runs in
the listener's own thread while fewer than ``Deps.inline_reads`` do, its budget kept by
bot.budget (a failure after the "crunching" ack is rendered by the guard); past that many,
in the readers' pool while the listener waits on it for the budget, as every read did
before (two thread hand-offs, about a quarter of ``/deal show``'s CPU at concurrency 8,
issue 17). So slow reports never hold more than that many of Bolt's listener threads, and
every other command still gets a listener thread that acks in time.

A change waits on the database's write lock, which another process may hold: past the same
budget its ack says "saving" and its answer follows by the response_url too. Without that
Slack would show the user a timeout for a change that then happens, and a retry would make
it twice.

Why not Bolt's ``process_before_response``: Bolt then answers the HTTP request only when
the listener returns, for every kind of request at once. A modal's ack would wait for
``views.open`` (a call to Slack, with retries) and an event's for its whole listener, so a
slow Slack or database would cost the 3-second ack. Bolt's request thread polled for the
ack every 10 ms instead; it now waits on it (bot.listening.PromptRunner) and answers when
the listener acks.
"""

from __future__ import annotations

import re
from concurrent.futures import Future, TimeoutError
from functools import partial

from bot.deliver import Request, as_response, deliver, fail, reply
from bot.listeners.guard import guarded
from commands.dispatch import reads_only, run_command
from commands.grammar import parse
from commands.types import PipelineSettings
from i18n import t
from views.message import Message

COMMANDS = re.compile(r"^/(lead|deal|pipeline|task|company|person)$")


def register(app, deps) -> None:
    @app.command(COMMANDS)
    @guarded(deps)
    def slash(ack, body, client, context, respond):
        request = Request.from_body(body, client=client, respond=respond, ack=ack)
        name = body["command"].lstrip("/")
        text = body.get("text") or ""
        cmd = parse(name, text, today=deps.today(context))
        work = partial(run_command, cmd=cmd, command=name, text=text)
        if not reads_only(cmd):
            saving = partial(acknowledge, request, context["salesbot_locale"], "error.saving")
            outcome = deps.perform_in_budget(context, request, work, late=saving)
            if isinstance(cmd, PipelineSettings):  # language, timezone: known afresh at once
                deps.forget(context.get("team_id") or "")
            deliver(outcome, request, wake=deps.wake)
            return
        if deps.inline_reads.acquire(blocking=False):
            try:
                read_here(deps, context, request, work)
            finally:
                deps.inline_reads.release()
        else:
            read_in_pool(deps, context, request, work)


def read_here(deps, context, request: Request, work) -> None:
    """In the listener's thread; acked with "crunching" if still running at the budget."""
    working = partial(acknowledge, request, context["salesbot_locale"], "reports.working")
    outcome = deps.perform_in_budget(context, request, work, late=working, readonly=True)
    deliver(outcome, request, wake=deps.wake)


def read_in_pool(deps, context, request: Request, work) -> None:
    """In the readers' pool, the listener waiting for it at most the budget."""
    future = deps.readers.submit(deps.perform, context, request, work, readonly=True)
    try:
        outcome = future.result(timeout=max(deps.budget_left(context), 0.0))
    except TimeoutError:
        reply(request, Message(text=t(context["salesbot_locale"], "reports.working")))
        future.add_done_callback(partial(answer_late, request, deps, context))
        return
    deliver(outcome, request, wake=deps.wake)


def acknowledge(request: Request, locale: str, key: str) -> None:
    """The ack of a command past its budget: the answer follows by the response_url."""
    request.acknowledge(**as_response(Message(text=t(locale, key))))


def answer_late(request: Request, deps, context, done: Future) -> None:
    """The answer that missed the ack: through the response_url, like any other."""
    try:
        outcome = done.result()
    except Exception as exc:  # rendered like every other failure, just later
        fail(
            request,
            exc,
            context["salesbot_locale"],
            by_dm=partial(deps.dm, context, request.user_id),
        )
        return
    deliver(outcome, request, wake=deps.wake)
