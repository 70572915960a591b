"""Custom fields (issue 15, point 1): values on cards, the ``/pipeline fields`` list, the
modals that edit a field and fill the fields a stage requires, and change lines."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from domain.custom_fields import SELECTS, MissingFields, Shown, options_of
from i18n import fmt, t
from storage.models import CustomField, Member, Stage
from views import blocks as b
from views import modals
from views.ids import Action, View
from views.message import Message

ENTITY_ORDER = ("deals", "leads", "companies", "people")


def value_text(kind: str, value: Any, locale: str) -> str:
    """A value as a card shows it: money and dates through the one formatter."""
    if value is None or value == ():
        return fmt.EMPTY
    if kind == "money":
        amount, currency = value
        return fmt.money(amount, currency, locale)
    if kind == "number":
        whole = value == value.to_integral_value()
        return fmt.number(value, locale, digits=0 if whole else 2)
    if kind == "date" and isinstance(value, date):
        return fmt.day(value, locale)
    if kind == "member":
        return f"<@{value}>"
    if kind == "checkbox":
        return "✓" if value else "✗"
    if kind == "multiselect":
        return ", ".join(value)
    return str(value)


def card_items(shown: list[Shown], locale: str) -> list[str]:
    return [
        t(locale, "field.card_item", name=s.name, value=value_text(s.kind, s.value, locale))
        for s in shown
    ]


def merge_items(items: list[str], extra: list[str], limit: int = 10) -> list[str]:
    """A section holds 10 fields: the custom ones that do not fit share the last."""
    together = items + extra
    if len(together) <= limit:
        return together
    return together[: limit - 1] + ["\n".join(together[limit - 1 :])]


def changes_line(actor: Member, number: int, changes: list, locale: str) -> str:
    """``changes``: ``(field, old, new)``; "@kim updated D42: Budget ₩50,000,000 → …"."""
    actor_text = f"<@{actor.slack_user_id}>"
    parts = "; ".join(change_parts(changes, locale))
    return t(locale, "field.updated", actor=actor_text, ref=f"D{number}", changes=parts)


def change_parts(changes: list, locale: str) -> list[str]:
    """ "Budget ₩50,000,000 → ₩60,000,000" for each ``(field, old, new)``."""
    return [
        t(
            locale,
            "field.change",
            name=field.name,
            old=value_text(field.kind, old, locale),
            new=value_text(field.kind, new, locale),
        )
        for field, old, new in changes
    ]


def _describe(field: CustomField, stages: dict[int, str], pipelines: dict[int, str], locale):
    bits = [f"`{field.key}`", t(locale, f"field.kind.{field.kind}")]
    if field.kind in SELECTS:
        bits.append(", ".join(options_of(field)))
    if field.pipeline_id:
        bits.append(t(locale, "field.only_pipeline", pipeline=pipelines.get(field.pipeline_id, "")))
    if field.required_stage_id in stages:
        bits.append(t(locale, "field.required_from", stage=stages[field.required_stage_id]))
    if field.archived:
        bits.append(t(locale, "field.archived"))
    return f"*{field.name}* · " + " · ".join(bits)


def listing(
    defs: list[CustomField],
    stages: dict[int, str],
    pipelines: dict[int, str],
    locale: str,
    *,
    editable: bool,
) -> Message:
    if not defs:
        text = t(locale, "field.none")
        return Message(text=text, blocks=[b.section(text), b.context(t(locale, "field.hint"))])
    blocks: list[dict] = [b.header(t(locale, "field.list_title"))]
    for entity in ENTITY_ORDER:
        mine = [f for f in defs if f.entity == entity]
        if not mine:
            continue
        blocks.append(b.context(t(locale, f"field.entity.{entity}")))
        for field in mine:
            button = None
            if editable:
                button = b.button(
                    t(locale, "field.edit"), f"{Action.field_edit}:{field.id}", str(field.id)
                )
            blocks.append(b.section(_describe(field, stages, pipelines, locale), accessory=button))
    blocks.append(b.context(t(locale, "field.hint")))
    overflow = b.context(t(locale, "field.more"))
    return Message(
        text=t(locale, "field.list_title"), blocks=b.fit(blocks, b.MESSAGE_BLOCKS, overflow)
    )


def created(field: CustomField, locale: str) -> str:
    example = {
        "money": "5000만원" if locale == "ko" else "50,000,000",
        "number": "42",
        "date": "2026-12-31",
        "member": "@kim",
        "checkbox": "yes",
        "url": "https://example.com",
        "email": "kim@example.com",
        "phone": "010-1234-5678",
    }.get(field.kind) or (options_of(field) or ["…"])[0]
    if " " in example:
        example = f'"{example}"'
    if field.entity == "leads":  # /lead set (issue 15)
        return t(locale, "leadset.created", name=field.name, key=field.key, example=example)
    if field.entity != "deals":
        return t(locale, "field.created_other", name=field.name, key=field.key)
    return t(locale, "field.created", name=field.name, key=field.key, example=example)


def missing(err: MissingFields, locale: str) -> Message:
    text = err.render(locale)
    value = json.dumps({"deal": err.number, "stage": err.stage_id})
    button = b.button(t(locale, "field.fill"), Action.field_fill, value, style="primary")
    return Message(text=text, blocks=[b.section(text), b.actions([button])])


# --- modals ----------------------------------------------------------------------------


def _input(
    field: CustomField, locale: str, block_id: str | None = None, optional: bool = False
) -> dict[str, Any]:
    block_id = block_id or f"f{field.id}"
    label = field.name
    if field.kind in SELECTS:
        options = [b.option(o, o) for o in options_of(field)]
        block = modals.select_input(block_id, label, options, optional=optional)
        if field.kind == "multiselect":
            block["element"]["type"] = "multi_static_select"
        return block
    if field.kind == "member":
        return modals.user_input(block_id, label, optional=optional)
    if field.kind == "date":
        element = {"type": "datepicker", "action_id": "value"}
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": b.plain(label, 2000),
            "element": element,
        }
    hint = t(locale, f"field.placeholder.{field.kind}")
    return modals.text_input(block_id, label, placeholder=hint, max_length=500, optional=optional)


def new_inputs(fields: list[CustomField], locale: str) -> list[dict[str, Any]]:
    """Optional inputs of a new record's custom fields; block ids ``cf:<key>``."""
    return [_input(f, locale, block_id=f"cf:{f.key}", optional=True) for f in fields]


def fill_modal(number: int, stage: Stage, fields: list[CustomField], locale: str) -> dict:
    intro = t(locale, "field.fill_intro", ref=f"D{number}", stage=stage.name)
    blocks = [b.section(intro), *(_input(f, locale) for f in fields)]
    meta = {"deal": number, "stage_id": stage.id}
    return modals._modal(
        View.field_fill,
        t(locale, "field.fill_title"),
        t(locale, "field.fill_submit"),
        blocks,
        locale,
        meta,
    )


def edit_modal(field: CustomField, stages: list[Stage], locale: str) -> dict:
    blocks: list[dict] = [
        b.context(
            t(locale, "field.edit_intro", key=field.key, kind=t(locale, f"field.kind.{field.kind}"))
        ),
        modals.text_input(
            "name", t(locale, "field.label.name"), initial=field.name, max_length=100
        ),
    ]
    if field.kind in SELECTS:
        blocks.append(
            modals.text_input(
                "options",
                t(locale, "field.label.options"),
                initial="\n".join(options_of(field)),
                multiline=True,
            )
        )
    if field.entity == "deals":
        none = b.option(t(locale, "field.label.not_required"), "0")
        options = [none, *(b.option(s.name, str(s.id)) for s in stages)]
        initial = next((o for o in options if o["value"] == str(field.required_stage_id)), none)
        blocks.append(
            modals.select_input(
                "required", t(locale, "field.label.required"), options, initial=initial
            )
        )
    archive = b.option(t(locale, "field.label.archive"), "archived")
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": [archive]}
    if field.archived:
        element["initial_options"] = [archive]
    blocks.append(
        {
            "type": "input",
            "block_id": "archived",
            "optional": True,
            "label": b.plain(t(locale, "field.label.archived")),
            "element": element,
        }
    )
    return modals._modal(
        View.field_edit,
        t(locale, "field.edit_title"),
        t(locale, "modal.save"),
        blocks,
        locale,
        {"field_id": field.id},
    )
