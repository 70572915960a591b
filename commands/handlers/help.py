"""Help: a bare command or `help` shows what the command can do, with buttons."""

from __future__ import annotations

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
    loc = ctx.locale
    names = TOPICS[cmd.command]
    if cmd.topic:
        wanted = f"{cmd.command}_{cmd.topic.lower()}"
        names = [n for n in names if n == wanted] or names
    lines = [t(loc, f"grammar.usage.{name}") for name in names]
    intro = t(loc, f"help.{cmd.command}")
    buttons = [
        b.button(t(loc, f"help.button.{key}"), f"{Action.help_run}:{i}", command)
        for i, (key, command) in enumerate(BUTTONS[cmd.command])
    ]
    blocks = [b.section(intro), b.section("\n".join(lines))]
    if buttons:
        blocks.append(b.actions(buttons))
    return Outcome(reply=Message(text=intro, blocks=blocks))
