"""Tasks in Slack: one task with its buttons (Done, Snooze 1d, Snooze 1w, Open deal), a list
of tasks, and the lines told in a deal's thread. Rendering only: rows come from
:mod:`domain.tasks`. Every button re-runs the ``/task`` command a person could type."""

from __future__ import annotations

from datetime import datetime

from domain.tasks import TaskPage, TaskRow
from i18n import fmt, t
from views import blocks as b
from views.ids import Action
from views.message import Message

ICONS = {"call": "📞", "email": "✉️", "meeting": "🤝", "todo": "☑️"}
LIST_ROWS = 15  # two blocks a row: a message holds 50


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _run(text: str) -> str:
    return f"/task {text}"


def line(row: TaskRow, loc: str, tz: str, now: datetime | None = None) -> str:
    """``*T3* 📞 Call the CFO · Fri, Dec 4, 10:00 AM · D42 Acme ERP · @lee``."""
    parts = [f"*T{row.number}* {ICONS.get(row.kind, '')} {escape(b.clip(row.text, 500))}"]
    when = fmt.due(row.due_at, tz, loc)
    if now is not None and row.status == "open" and row.due_at <= now:
        when = t(loc, "task.overdue", when=when)
    parts.append(when)
    if row.deal_number is not None:
        parts.append(escape(f"D{row.deal_number} {b.clip(row.deal_title or '', 80)}".strip()))
    elif row.lead_number is not None:
        parts.append(f"L{row.lead_number}")
    parts.append(f"<@{row.owner_slack_id}>")
    if row.status != "open":
        parts.append(t(loc, f"task.status.{row.status}"))
    return " · ".join(parts)


def buttons(row: TaskRow, loc: str, *, open_deal: bool = True) -> list[dict]:
    """Done / Snooze 1d / Snooze 1w (and Open deal, when the deal has a card)."""
    ref = f"T{row.number}"
    elements = [
        b.button(
            t(loc, "task.button.done"),
            f"{Action.task_run}:done",
            _run(f"done {ref}"),
            style="primary",
        ),
        b.button(
            t(loc, "task.button.snooze_day"), f"{Action.task_run}:1d", _run(f"snooze {ref} +1d")
        ),
        b.button(
            t(loc, "task.button.snooze_week"), f"{Action.task_run}:1w", _run(f"snooze {ref} +1w")
        ),
    ]
    if open_deal and row.deal_permalink:
        elements.append(
            b.button(
                t(loc, "task.button.open_deal"),
                Action.task_open,
                row.deal_permalink,
                url=row.deal_permalink,
            )
        )
    return elements


def task_message(
    row: TaskRow, loc: str, tz: str, headline: str, now: datetime | None = None
) -> Message:
    """One task: a headline, the task's line, and its buttons while it is open."""
    blocks = [b.section(headline), b.section(line(row, loc, tz, now))]
    if row.status == "open":
        blocks.append(b.actions(buttons(row, loc), block_id=f"task:T{row.number}"))
    fallback = f"{headline} T{row.number} {row.text}"
    return Message(text=b.clip(fallback, 3000), blocks=blocks)


def task_list(page: TaskPage, title: str, loc: str, tz: str, now: datetime) -> Message:
    if not page.rows:
        text = t(loc, "task.list_empty", title=title)
        return Message(text=text, blocks=[b.section(text)])
    head = t(loc, "task.list_title", title=title, count=fmt.number(page.total, loc))
    blocks = [b.section(head)]
    for row in page.rows[:LIST_ROWS]:
        blocks.append(b.section(line(row, loc, tz, now)))
        blocks.append(b.actions(buttons(row, loc), block_id=f"task:T{row.number}"))
    if page.total > LIST_ROWS:
        blocks.append(
            b.context(t(loc, "task.list_more", count=fmt.number(page.total - LIST_ROWS, loc)))
        )
    return Message(text=head, blocks=blocks)


# --- scheduled: the reminder and the morning DM ------------------------------------------


def reminder(row: TaskRow, loc: str, tz: str) -> Message:
    """The DM when a task comes due: the task, Done / Snooze 1d / Snooze 1w / Open deal."""
    headline = t(loc, "task.reminder.title", when=fmt.due(row.due_at, tz, loc))
    message = task_message(row, loc, tz, headline)
    text = t(loc, "task.reminder.text", number=row.number, text=row.text)
    return Message(text=b.clip(text, 3000), blocks=message.blocks)


def morning(rows: list[TaskRow], total: int, loc: str, tz: str, now: datetime, day: str) -> Message:
    """The working-morning DM: today's and overdue tasks, each with Done / Snooze."""
    overdue = [r for r in rows if r.due_at <= now]
    today = [r for r in rows if r.due_at > now]
    blocks = [b.header(t(loc, "task.morning.header", day=day))]
    for key, group in (("overdue", overdue), ("today", today)):
        if not group:
            continue
        blocks.append(b.section(t(loc, f"task.morning.{key}", count=fmt.number(len(group), loc))))
        for row in group:
            blocks.append(b.section(line(row, loc, tz, now)))
            blocks.append(b.actions(buttons(row, loc), block_id=f"task:T{row.number}"))
    if total > len(rows):
        blocks.append(
            b.context(t(loc, "task.morning.more", count=fmt.number(total - len(rows), loc)))
        )
    blocks.append(b.context(t(loc, "task.morning.off_hint")))
    return Message(text=t(loc, "task.morning.text", count=fmt.number(total, loc)), blocks=blocks)
