"""Help: a bare command or `help` shows what the command can do, with buttons."""

from __future__ import annotations

from functools import lru_cache

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.outcome import Outcome
from i18n import t
from views import blocks as b
from views.ids import Action
from views.message import Message

TOPICS = {
    "lead": [
        *("lead_new", "lead_status", "lead_convert", "lead_list", "lead_show", "lead_export"),
        "lead_note",
        "lead_set",
    ],
    "deal": [
        "deal_new",
        "deal_move",
        "deal_won",
        "deal_lost",
        "deal_set",
        "deal_renewal",
        "deal_note",
        "deal_show",
        "deal_list",
        "deal_find",
        "deal_snooze",
        "deal_reopen",
        "deal_list_close",
        "deal_export",
        "deal_qualify",
        "deal_custom",
    ],
    "pipeline": [
        "pipeline_board",
        "pipeline_forecast",
        "pipeline_forecast_rep",
        "pipeline_metrics",
        "pipeline_plan",
        "pipeline_new",
        "pipeline_edit",
        "pipeline_settings",
        "pipeline_role",
        "pipeline_coach",
        "pipeline_quota",
        "pipeline_calibrate",
        "pipeline_cadence",
        "pipeline_workflows",
        "pipeline_import",
        "pipeline_inbound",
        "pipeline_alert",
        "pipeline_alerts",
        "pipeline_scoring",
        "pipeline_field",
        "pipeline_fields",
    ],
    "task": ["task_new", "task_list", "task_done", "task_snooze", "task_show", "task_morning"],
    "company": ["company_show", "company_find"],
    "person": ["person_show"],
}
BUTTONS = {
    "lead": [("lead_new", "/lead new"), ("lead_list", "/lead list mine")],
    "deal": [
        ("deal_new", "/deal new"),
        ("deal_list_mine", "/deal list mine"),
        ("deal_list_stalled", "/deal list stalled"),
    ],
    "pipeline": [
        ("pipeline_board", "/pipeline"),
        ("pipeline_forecast", "/pipeline forecast"),
        ("pipeline_metrics", "/pipeline metrics"),
    ],
    "task": [
        ("task_new", "/task new"),
        ("task_list_mine", "/task list mine"),
        ("task_list_today", "/task list mine today"),
    ],
    "company": [],
    "person": [],
}


@handles(c.Help)
def show_help(cmd: c.Help, ctx: Ctx) -> Outcome:
    intro, blocks = _help(ctx.locale, cmd.command, cmd.topic.lower() if cmd.topic else None)
    return Outcome(reply=Message(text=intro, blocks=list(blocks)))


@lru_cache(maxsize=256)
def _help(loc: str, command: str, topic: str | None) -> tuple[str, tuple[dict, ...]]:
    """The help of ``command`` in ``loc``: the same for everyone, so made once (issue 17).
    The blocks are shared by every reply: a reply's blocks are only read (encoded for
    Slack); code that changes a reply copies it first (commands.readback)."""
    names = TOPICS[command]
    if topic:
        wanted = f"{command}_{topic}"
        names = [n for n in names if n == wanted] or names
    lines = [t(loc, f"grammar.usage.{name}") for name in names]
    intro = t(loc, f"help.{command}")
    buttons = [
        b.button(t(loc, f"help.button.{key}"), f"{Action.help_run}:{i}", typed)
        for i, (key, typed) in enumerate(BUTTONS[command])
    ]
    blocks = [b.section(intro), b.section("\n".join(lines))]
    if buttons:
        blocks.append(b.actions(buttons))
    return intro, tuple(blocks)
