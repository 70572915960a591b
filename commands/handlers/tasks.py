"""/task handlers (issue 14): resolve the references, read the due time in the member's
timezone, call domain.tasks, render with views.tasks. A task on a deal is told in the deal's
thread (through the outbox, like every post after the ack)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.deals import resolve_deal, resolve_user, thread_post
from commands.outcome import Outcome
from commands.task_grammar import kind_of
from domain import tasks
from domain.due_times import Due, local, resolve, snoozed
from domain.refs import find_lead
from i18n import fmt, t
from storage.models import Deal, Task
from views import modals
from views import tasks as tv
from views.message import Message


def _zone(ctx: Ctx) -> str:
    return tasks.member_timezone(ctx.member, ctx.workspace)


def due_at(ctx: Ctx, due: Due | None) -> datetime:
    """When ``due`` falls for the member writing it (their timezone; a day alone is 09:00;
    no due time at all is tomorrow at 09:00, README)."""
    if due is None:
        day = ctx.now().astimezone(ZoneInfo(_zone(ctx))).date() + timedelta(days=1)
        due = Due(day=day)
    return resolve(
        due, now=ctx.now(), tz=ZoneInfo(_zone(ctx)), country=ctx.workspace.holiday_country
    )


def _thread_line(ctx: Ctx, key: str, row: tasks.TaskRow) -> str:
    loc, tz = ctx.workspace.locale, ctx.workspace.timezone
    return t(loc, key, actor=f"<@{ctx.member.slack_user_id}>", task=tv.line(row, loc, tz))


def _told_in_thread(ctx: Ctx, task: Task, key: str, row: tasks.TaskRow) -> tuple:
    if task.deal_id is None:
        return ()
    deal = ctx.session.get(Deal, task.deal_id)
    return (thread_post(ctx, deal, _thread_line(ctx, key, row)),)


def create(ctx: Ctx, cmd: c.TaskNew) -> Outcome:
    """``/task new``, the modal, and ``@Salesbot task …`` in a deal's thread."""
    deal = resolve_deal(ctx, cmd.deal) if cmd.deal is not None else None
    lead = None
    if cmd.lead is not None:
        lead = find_lead(
            session=ctx.session,
            workspace_id=ctx.workspace.id,
            number=cmd.lead.number,
            text=cmd.lead.text,
        )
    task = tasks.add_task(
        session=ctx.session,
        workspace=ctx.workspace,
        actor=ctx.member,
        text=cmd.text or "",
        kind=cmd.kind or kind_of(cmd.text or ""),
        due_at=due_at(ctx, cmd.due),
        now=ctx.now(),
        owner=resolve_user(ctx, cmd.owner),
        deal=deal,
        lead=lead,
    )
    row = tasks.task_row(session=ctx.session, task=task)
    headline = t(ctx.locale, "task.added", number=task.number)
    reply = tv.task_message(row, ctx.locale, _zone(ctx), headline)
    return Outcome(reply=reply, posts=_told_in_thread(ctx, task, "task.thread_added", row))


@handles(c.TaskNew)
def new(cmd: c.TaskNew, ctx: Ctx) -> Outcome:
    if cmd.text is None:
        return Outcome(modal=modals.task_new(ctx))
    return create(ctx, cmd)


def _task(ctx: Ctx, number: int) -> Task:
    return tasks.get_task(session=ctx.session, workspace_id=ctx.workspace.id, number=number)


@handles(c.TaskDone)
def done(cmd: c.TaskDone, ctx: Ctx) -> Outcome:
    task = _task(ctx, cmd.number)
    changed = tasks.complete_task(session=ctx.session, task=task, actor=ctx.member, now=ctx.now())
    row = tasks.task_row(session=ctx.session, task=task)
    if not changed:
        return Outcome(reply=Message(text=t(ctx.locale, "task.already_closed", number=task.number)))
    reply = Message(text=t(ctx.locale, "task.done", number=task.number, text=tv.escape(task.text)))
    return Outcome(reply=reply, posts=_told_in_thread(ctx, task, "task.thread_done", row))


@handles(c.TaskSnooze)
def snooze(cmd: c.TaskSnooze, ctx: Ctx) -> Outcome:
    task = _task(ctx, cmd.number)
    when = snoozed(
        cmd.due,
        now=ctx.now(),
        current=task.due_at,
        tz=ZoneInfo(_zone(ctx)),
        country=ctx.workspace.holiday_country,
    )
    tasks.snooze_task(session=ctx.session, task=task, actor=ctx.member, due_at=when, now=ctx.now())
    row = tasks.task_row(session=ctx.session, task=task)
    headline = t(
        ctx.locale, "task.snoozed", number=task.number, when=fmt.due(when, _zone(ctx), ctx.locale)
    )
    return Outcome(reply=tv.task_message(row, ctx.locale, _zone(ctx), headline))


@handles(c.TaskShow)
def show(cmd: c.TaskShow, ctx: Ctx) -> Outcome:
    task = _task(ctx, cmd.number)
    row = tasks.task_row(session=ctx.session, task=task)
    headline = t(ctx.locale, f"task.kind.{row.kind}")
    return Outcome(reply=tv.task_message(row, ctx.locale, _zone(ctx), headline, ctx.now()))


@handles(c.TaskList)
def list_(cmd: c.TaskList, ctx: Ctx) -> Outcome:
    owner = resolve_user(ctx, cmd.owner)
    deal = resolve_deal(ctx, cmd.deal) if cmd.deal is not None else None
    if owner is None and deal is None:
        owner = ctx.member  # "/task list" alone is mine
    now, zone = ctx.now(), ZoneInfo(_zone(ctx))
    today = now.astimezone(zone).date()
    until = None
    if cmd.window == "overdue":
        until = now
    elif cmd.window == "today":
        until = local(today + timedelta(days=1), time(0), zone)
    elif cmd.window == "week":  # through Sunday night
        until = local(today + timedelta(days=7 - today.weekday()), time(0), zone)
    page = tasks.list_tasks(
        session=ctx.session,
        workspace=ctx.workspace,
        owner=owner,
        deal=deal,
        until=until,
        limit=tv.LIST_ROWS,
    )
    parts = []
    if owner is not None:
        parts.append(
            t(ctx.locale, "task.filter_mine")
            if owner.id == ctx.member.id
            else f"<@{owner.slack_user_id}>"
        )
    if deal is not None:
        parts.append(f"D{deal.number}")
    if cmd.window:
        parts.append(t(ctx.locale, f"task.window.{cmd.window}"))
    return Outcome(reply=tv.task_list(page, " · ".join(parts), ctx.locale, _zone(ctx), now))


@handles(c.TaskMorning)
def morning(cmd: c.TaskMorning, ctx: Ctx) -> Outcome:
    tasks.set_morning(session=ctx.session, member=ctx.member, on=cmd.on)
    key = "task.morning_on" if cmd.on else "task.morning_off"
    return Outcome(reply=Message(text=t(ctx.locale, key)))
