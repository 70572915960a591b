"""App Home (``views.publish``): my open deals, my tasks due, and the board of the default pipeline.

A home view may hold 100 blocks; this one stays far below whatever the data: at most
``DEAL_ROWS`` deals (several a section, stalled first) with a "showing N of M" line, at most
``TASK_ROWS`` tasks, and the board's stages in one section. The buttons re-run the slash
commands a person would type (``help.run`` with ``/deal new`` …), so they go through the same
handlers and permissions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from domain import metrics
from domain.alerts import home_choices as alert_choices
from domain.home import HomePage, home_page
from domain.workspaces import member_locale
from i18n import fmt, t
from storage.models import Member, Workspace
from views import blocks as b
from views import tasks as task_views
from views.alerts import home_blocks as alert_blocks
from views.deals import row_line
from views.ids import Action
from views.money import note_lines

DEAL_ROWS = 20
TASK_ROWS = 12  # two blocks each: a home view holds 100
BUTTONS = (
    ("new_deal", "/deal new"),
    ("my_deals", "/deal list mine"),
    ("stalled", "/deal list stalled"),
)


def home(*, session: Session, workspace: Workspace, member: Member, now: datetime) -> dict:
    """The member's App Home, in their locale: :func:`domain.home.home_page`, rendered."""
    page = home_page(
        session=session,
        workspace=workspace,
        member=member,
        now=now,
        deal_rows=DEAL_ROWS,
        task_rows=TASK_ROWS,
    )
    choices = alert_choices(session=session, workspace=workspace, member=member)
    return render(page, workspace=workspace, member=member, now=now, alerts=choices)


def render(
    page: HomePage, *, workspace: Workspace, member: Member, now: datetime, alerts=None
) -> dict:
    loc = member_locale(member, workspace)
    blocks: list[dict[str, Any]] = [b.header(t(loc, "home.header")), _buttons(loc), b.divider()]
    blocks += _deal_blocks(page, workspace, loc)
    blocks.append(b.divider())
    blocks += _task_blocks(page, workspace, now, loc)
    blocks.append(b.divider())
    if alerts is not None:  # the member's alert choices (issue 16)
        blocks += alert_blocks(alerts, loc) + [b.divider()]
    blocks += _board_blocks(page.board, workspace, loc)
    blocks.append(b.context(t(loc, "home.updated", when=fmt.moment(now, workspace.timezone, loc))))
    return {"type": "home", "blocks": b.fit(blocks, b.VIEW_BLOCKS)}


def _buttons(loc: str) -> dict[str, Any]:
    return b.actions(
        [
            b.button(
                t(loc, f"home.button.{key}"),
                f"{Action.help_run}:{i}",
                command,
                style="primary" if i == 0 else None,
            )
            for i, (key, command) in enumerate(BUTTONS)
        ]
    )


def _lines_in_sections(lines: list[str]) -> list[dict[str, Any]]:
    """As few sections as Slack's 3,000 characters a section allow."""
    sections: list[dict[str, Any]] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = b.clip(line, b.SECTION_TEXT)
        if chunk and size + len(line) + 1 > b.SECTION_TEXT:
            sections.append(b.section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        sections.append(b.section("\n".join(chunk)))
    return sections


# --- my open deals ---------------------------------------------------------------------


def _deal_blocks(home: HomePage, workspace: Workspace, loc: str) -> list[dict[str, Any]]:
    page, stalled = home.deals, home.stalled
    if not page.rows:
        return [
            b.section(t(loc, "home.deals.heading_empty")),
            b.context(t(loc, "home.deals.empty")),
        ]
    heading = t(
        loc,
        "home.deals.heading",
        count=fmt.number(page.total, loc),
        amount=fmt.money(page.total_amount, workspace.currency, loc, summary=True),
    )
    if stalled:
        heading += t(loc, "home.deals.stalled", count=fmt.number(stalled, loc))
    blocks = [b.section(heading)]
    notes = note_lines(page.money, loc)
    if notes:
        blocks.append(b.context(*notes))
    steps = home.cadence_steps

    def line(row) -> str:
        text = row_line(row, loc, workspace.timezone)
        if row.id in steps:  # the cadence step the deal is on (issue 14)
            done, total = steps[row.id]
            step = min(done + 1, total)
            text += t(loc, "home.deals.cadence", step=step, total=total, done=done)
        return text

    blocks += _lines_in_sections([line(row) for row in page.rows])
    if page.total > len(page.rows):
        blocks.append(
            b.context(
                t(
                    loc,
                    "home.deals.more",
                    shown=fmt.number(len(page.rows), loc),
                    total=fmt.number(page.total, loc),
                )
            )
        )
    return blocks


# --- my tasks due ----------------------------------------------------------------------


def _task_blocks(home: HomePage, workspace: Workspace, now: datetime, loc: str) -> list[dict]:
    """Overdue, then today, then the rest of this week; each task with Done / Snooze."""
    total, rows = home.tasks.total, home.tasks.rows
    if not total:
        return [
            b.section(t(loc, "task.home.heading", count=0)),
            b.context(t(loc, "task.home.empty")),
        ]
    tz = home.timezone
    groups = (
        ("overdue", [r for r in rows if r.due_at <= now]),
        ("today", [r for r in rows if now < r.due_at < home.today_ends]),
        ("week", [r for r in rows if r.due_at >= home.today_ends]),
    )
    blocks = [b.section(t(loc, "task.home.heading", count=fmt.number(total, loc)))]
    for key, group in groups:
        if not group:
            continue
        blocks.append(b.context(t(loc, f"task.home.{key}")))
        for row in group:
            blocks.append(b.section(task_views.line(row, loc, tz)))
            blocks.append(b.actions(task_views.buttons(row, loc), block_id=f"task:T{row.number}"))
    if total > len(rows):
        blocks.append(
            b.context(
                t(
                    loc,
                    "home.tasks.more",
                    shown=fmt.number(len(rows), loc),
                    total=fmt.number(total, loc),
                )
            )
        )
    return blocks


# --- the board -------------------------------------------------------------------------


def _board_blocks(board: metrics.Board | None, workspace: Workspace, loc: str) -> list[dict]:
    if board is None:
        return [b.context(t(loc, "home.board.none"))]
    cur = workspace.currency
    heading = t(
        loc,
        "home.board.heading",
        pipeline=board.pipeline_name,
        count=fmt.number(board.count, loc),
        amount=fmt.money(board.amount, cur, loc, summary=True),
        weighted=fmt.money(board.weighted, cur, loc, summary=True),
    )
    if not board.count:
        return [b.section(heading), b.context(t(loc, "home.board.empty"))]
    lines = [
        t(
            loc,
            "home.board.row",
            stage=stage.name,
            probability=stage.probability,
            count=fmt.number(stage.count, loc),
            amount=fmt.money(stage.amount, cur, loc, summary=True),
            weighted=fmt.money(stage.weighted, cur, loc, summary=True),
            stalled=t(loc, "home.board.stalled", count=fmt.number(stage.stalled, loc))
            if stage.stalled
            else "",
        )
        for stage in board.stages
    ]
    return [b.section(heading), *_lines_in_sections(lines)]
