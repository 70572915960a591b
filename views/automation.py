"""The cadence editor, the workflows modal, and a workflow as a readable sentence."""

from __future__ import annotations

from typing import Any

from i18n import fmt, t
from views import blocks as b
from views.ids import View
from views.modals import _modal, select_input, text_input


def cadence_edit(locale: str, *, stage, pipeline, cadence=None, lines: str = "") -> dict[str, Any]:
    on_off = [b.option(t(locale, "cadence.on"), "on"), b.option(t(locale, "cadence.off"), "off")]
    blocks = [
        b.section(t(locale, "cadence.intro", stage=stage.name, pipeline=pipeline.name)),
        text_input(
            "name",
            t(locale, "cadence.name"),
            optional=True,
            initial=cadence.name if cadence else None,
            max_length=100,
        ),
        select_input(
            "active",
            t(locale, "cadence.active"),
            on_off,
            initial=on_off[0 if cadence is None or cadence.active else 1],
        ),
        text_input(
            "steps",
            t(locale, "cadence.steps"),
            optional=True,
            multiline=True,
            initial=lines or None,
            placeholder="1 | call | Discovery call",
        ),
        b.context(t(locale, "cadence.help")),
    ]
    return _modal(
        View.cadence_edit,
        t(locale, "cadence.heading"),
        t(locale, "modal.save"),
        blocks,
        locale,
        {"stage_id": stage.id},
    )


TRIGGERS = (
    *("lead_created", "lead_status", "deal_created", "deal_stage"),
    *("deal_won", "deal_lost", "deal_stalled", "renewal_due"),
)


def _due(locale: str, days: int) -> str:
    if days <= 0:
        return t(locale, "workflow.due.today")
    return t(locale, "workflow.due.one" if days == 1 else "workflow.due.many", days=days)


def _action(locale: str, action: dict, currency: str) -> str:
    do = action.get("do")
    if do == "task":
        member = action.get("member")
        whom = f"<@{member}>" if member else t(locale, "workflow.whom.owner")
        return t(
            locale,
            "workflow.action.task",
            kind=t(locale, f"workflow.kind.{action.get('kind') or 'todo'}"),
            text=action.get("text") or "",
            whom=whom,
            due=_due(locale, int(action.get("days") or 0)),
        )
    if do == "owner":
        members = ", ".join(f"<@{m}>" for m in action.get("members") or [])
        key = "workflow.action.round_robin" if len(action.get("members") or []) > 1 else None
        return t(locale, key or "workflow.action.owner", members=members)
    if do == "post":
        channel = f"<#{action.get('channel')}>"
        return t(locale, "workflow.action.post", text=action.get("text") or "", channel=channel)
    if do == "renewal":
        return t(locale, "workflow.action.renewal", months=action.get("months") or 12)
    if do == "cadence":
        return t(locale, "workflow.action.cadence", cadence=action.get("cadence") or "?")
    return t(locale, "workflow.action.convert")


def sentence(row, locale: str, currency: str) -> str:
    """ "When a deal is won in New business, create a renewal in 12 months." """
    if row.trigger == "lead_status" and row.stage:
        trigger = t(locale, "workflow.trigger.lead_status_to", stage=row.stage)
    else:
        trigger = t(locale, f"workflow.trigger.{row.trigger}", stage=row.stage or "?")
    cond = row.conditions
    where = ""
    if "pipeline" in cond:
        where += t(locale, "workflow.where.pipeline", pipeline=cond["pipeline"])
    if "stage" in cond:
        where += t(locale, "workflow.where.stage", stage=cond["stage"])
    items = []
    for key in ("amount_min", "amount_max", "owner", "source", "size_min", "size_max", "text"):
        if key not in cond:
            continue
        value = cond[key]
        if key.startswith("amount"):
            value = fmt.money(value, currency, locale)
        elif key.startswith("size"):
            value = fmt.number(int(value), locale)
        elif key == "owner":
            value = f"<@{value}>"
        items.append(t(locale, f"workflow.condition.{key}", value=value))
    conditions = t(locale, "workflow.condition.joined", items=", ".join(items)) if items else ""
    actions = t(locale, "workflow.then").join(_action(locale, a, currency) for a in row.actions)
    return t(
        locale,
        "workflow.sentence",
        trigger=trigger,
        where=where,
        conditions=conditions,
        actions=actions,
    )


def workflows_modal(rows, locale: str, currency: str) -> dict[str, Any]:
    blocks: list[dict] = [b.context(t(locale, "workflow.intro"))]
    options = []
    for row in rows[:40]:
        text = sentence(row, locale, currency)
        state = t(locale, "workflow.on" if row.active else "workflow.off")
        blocks.append(b.section(f"*#{row.id}* {text}"))
        blocks.append(b.context(t(locale, "workflow.fired", state=state, count=row.fired)))
        options.append(b.option(f"#{row.id} {text}", str(row.id)))
    if not rows:
        blocks.append(b.section(t(locale, "workflow.none")))
    if options:
        element: dict[str, Any] = {
            "type": "multi_static_select",
            "action_id": "value",
            "options": options[: b.SELECT_OPTIONS],
        }
        chosen = [o for o, row in zip(options, rows, strict=False) if row.active]
        if chosen:
            element["initial_options"] = chosen
        blocks.append(
            {
                "type": "input",
                "block_id": "active",
                "optional": True,
                "label": b.plain(t(locale, "workflow.active")),
                "element": element,
            }
        )
    triggers = [
        b.option(t(locale, f"workflow.trigger.{name}", stage="…"), name) for name in TRIGGERS
    ]
    blocks += [
        b.divider(),
        b.section(t(locale, "workflow.add_heading")),
        select_input("trigger", t(locale, "workflow.when"), triggers, optional=True),
        text_input("stage", t(locale, "workflow.stage"), optional=True, max_length=100),
        text_input(
            "conditions",
            t(locale, "workflow.conditions"),
            optional=True,
            placeholder=t(locale, "workflow.conditions_hint"),
            max_length=1000,
        ),
        text_input(
            "actions",
            t(locale, "workflow.actions"),
            optional=True,
            multiline=True,
            placeholder=t(locale, "workflow.actions_hint"),
            max_length=2000,
        ),
        b.context(t(locale, "workflow.actions_help")),
        {
            "type": "input",
            "block_id": "members",
            "optional": True,
            "label": b.plain(t(locale, "workflow.members")),
            "element": {"type": "multi_users_select", "action_id": "value"},
        },
        {
            "type": "input",
            "block_id": "channel",
            "optional": True,
            "label": b.plain(t(locale, "workflow.channel")),
            "element": {"type": "conversations_select", "action_id": "value"},
        },
    ]
    return _modal(
        View.workflows, t(locale, "workflow.heading"), t(locale, "modal.save"), blocks, locale
    )
