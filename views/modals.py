"""Modals: new deal, new lead, lost reason, note, pipeline editor, settings.

Block ids are the field names the submission parser (commands/forms.py) reads.
"""

from __future__ import annotations

import json
from typing import Any

from i18n import t
from views import blocks as b
from views.ids import Action, View

MODAL_TITLE = 24


def _modal(callback_id: str, title: str, submit: str, blocks: list, locale: str, meta=None):
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": b.plain(title, MODAL_TITLE),
        "submit": b.plain(submit, MODAL_TITLE),
        "close": b.plain(t(locale, "modal.cancel"), MODAL_TITLE),
        "blocks": blocks[: b.VIEW_BLOCKS],
    }
    if meta is not None:
        view["private_metadata"] = json.dumps(meta, ensure_ascii=False)[:3000]
    return view


def text_input(
    block_id: str,
    label: str,
    *,
    optional: bool = False,
    initial: str | None = None,
    multiline: bool = False,
    placeholder: str | None = None,
    max_length: int | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
    if multiline:
        element["multiline"] = True
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = b.plain(placeholder, 150)
    if max_length:
        element["max_length"] = max_length
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": b.plain(label, 2000),
        "element": element,
    }


def select_input(block_id, label, options, *, initial=None, optional=False) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": options[: b.SELECT_OPTIONS],
    }
    if initial is not None:
        element["initial_option"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": b.plain(label, 2000),
        "element": element,
    }


def user_input(block_id, label, *, initial: str | None = None, optional=True) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "users_select", "action_id": "value"}
    if initial:
        element["initial_user"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": b.plain(label, 2000),
        "element": element,
    }


def deal_new(ctx) -> dict[str, Any]:
    from domain.refs import deal_pipelines

    loc = ctx.locale
    pipelines = deal_pipelines(session=ctx.session, workspace_id=ctx.workspace.id)
    options = [b.option(p.name, str(p.id)) for p in pipelines]
    default = next((o for o in options if pipelines[options.index(o)].is_default), None)
    blocks = [
        text_input("title", t(loc, "modal.deal.title"), max_length=200),
        text_input(
            "amount",
            t(loc, "modal.deal.amount"),
            optional=True,
            placeholder=t(loc, "modal.deal.amount_hint"),
        ),
        select_input("pipeline", t(loc, "modal.deal.pipeline"), options, initial=default),
        text_input("stage", t(loc, "modal.deal.stage"), optional=True, placeholder="Proposal / 3"),
        text_input(
            "close", t(loc, "modal.deal.close"), optional=True, placeholder="2026-12-31, +30d"
        ),
        text_input("company", t(loc, "modal.deal.company"), optional=True, max_length=200),
        user_input("owner", t(loc, "modal.deal.owner"), initial=ctx.member.slack_user_id),
    ]
    meta = {"channel": ctx.channel_id}
    return _modal(
        View.deal_new, t(loc, "modal.deal.heading"), t(loc, "modal.create"), blocks, loc, meta
    )


def lead_new(ctx) -> dict[str, Any]:
    loc = ctx.locale
    blocks = [
        text_input("name", t(loc, "modal.lead.name"), max_length=200),
        text_input("company", t(loc, "modal.lead.company"), optional=True, max_length=200),
        text_input("email", t(loc, "modal.lead.email"), optional=True, max_length=320),
        text_input("source", t(loc, "modal.lead.source"), optional=True, max_length=100),
        text_input("size", t(loc, "modal.lead.size"), optional=True, placeholder="120"),
        text_input("title", t(loc, "scoring.job_title_input"), optional=True, max_length=200),
    ]
    meta = {"channel": ctx.channel_id}
    return _modal(
        View.lead_new, t(loc, "modal.lead.heading"), t(loc, "modal.create"), blocks, loc, meta
    )


def deal_lost(deal, locale: str) -> dict[str, Any]:
    blocks = [
        b.section(t(locale, "modal.lost.intro", ref=f"D{deal.number}", title=deal.title)),
        text_input("reason", t(locale, "modal.lost.reason"), optional=True, max_length=500),
    ]
    return _modal(
        View.deal_lost,
        t(locale, "modal.lost.heading"),
        t(locale, "modal.lost.submit"),
        blocks,
        locale,
        {"deal": deal.number},
    )


def deal_note(deal, locale: str) -> dict[str, Any]:
    blocks = [
        b.section(t(locale, "modal.note.intro", ref=f"D{deal.number}", title=deal.title)),
        text_input("text", t(locale, "modal.note.text"), multiline=True, max_length=3000),
    ]
    return _modal(
        View.deal_note,
        t(locale, "modal.note.heading"),
        t(locale, "modal.save"),
        blocks,
        locale,
        {"deal": deal.number},
    )


def stage_lines(stages) -> str:
    """The pipeline editor's text form: one stage a line, `Name | 60 | 14 | open`."""
    return "\n".join(
        f"{s.name} | {s.probability} | {s.stall_days or '-'} | {s.outcome}" for s in stages
    )


def pipeline_edit(locale: str, pipeline=None, stages=()) -> dict[str, Any]:
    blocks = [
        text_input(
            "name",
            t(locale, "modal.pipeline.name"),
            initial=pipeline.name if pipeline else None,
            max_length=100,
        ),
        text_input(
            "stages",
            t(locale, "modal.pipeline.stages"),
            multiline=True,
            initial=stage_lines(stages) if stages else None,
            placeholder="Contact | 10 | 7 | open",
        ),
        b.context(t(locale, "modal.pipeline.help")),
    ]
    # Issue 14: each open stage's cadence editor, pushed over this one.
    open_stages = [s for s in stages if s.outcome == "open" and s.id is not None]
    if open_stages:
        buttons = [
            b.button(
                t(locale, "cadence.edit_button", stage=s.name),
                f"{Action.cadence_edit}:{i}",
                str(s.id),
            )
            for i, s in enumerate(open_stages[: b.ACTIONS_ELEMENTS])
        ]
        blocks.append(b.actions(buttons))
    heading = "modal.pipeline.edit_heading" if pipeline else "modal.pipeline.new_heading"
    return _modal(
        View.pipeline_edit,
        t(locale, heading),
        t(locale, "modal.save"),
        blocks,
        locale,
        {"pipeline_id": pipeline.id if pipeline else None},
    )


CURRENCIES = ("KRW", "USD", "EUR", "JPY", "GBP", "CNY", "SGD")
LOCALES = (("en", "English"), ("ko", "한국어"))


def settings(
    ctx, managers: list[str], admins: list[str], rates: str | None = None
) -> dict[str, Any]:
    """``rates``: the workspace's exchange rates in words (views.money.rates_line)."""
    ws = ctx.workspace
    loc = ctx.locale

    def channel(block_id: str, label: str, initial: str | None) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "conversations_select", "action_id": "value"}
        element["filter"] = {"include": ["public", "private"], "exclude_bot_users": True}
        if initial:
            element["initial_conversation"] = initial
        return {
            "type": "input",
            "block_id": block_id,
            "optional": True,
            "label": b.plain(label),
            "element": element,
        }

    def users(block_id: str, label: str, initial: list[str]) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "multi_users_select", "action_id": "value"}
        if initial:
            element["initial_users"] = initial[:100]
        return {
            "type": "input",
            "block_id": block_id,
            "optional": True,
            "label": b.plain(label),
            "element": element,
        }

    locale_opts = [b.option(label, code) for code, label in LOCALES]
    currency_opts = [b.option(code, code) for code in CURRENCIES]
    stall_opts = [
        b.option(t(loc, "modal.settings.calendar_days"), "calendar"),
        b.option(t(loc, "modal.settings.business_days"), "business"),
    ]
    blocks = [
        channel("deals_channel", t(loc, "modal.settings.deals_channel"), ws.deals_channel),
        channel("digest_channel", t(loc, "modal.settings.digest_channel"), ws.digest_channel),
        {
            "type": "input",
            "block_id": "digest_time",
            "label": b.plain(t(loc, "modal.settings.digest_time")),
            "element": {
                "type": "timepicker",
                "action_id": "value",
                "initial_time": ws.digest_time,
            },
        },
        text_input("timezone", t(loc, "modal.settings.timezone"), initial=ws.timezone),
        select_input(
            "locale",
            t(loc, "modal.settings.locale"),
            locale_opts,
            initial=next((o for o in locale_opts if o["value"] == ws.locale), None),
        ),
        select_input(
            "currency",
            t(loc, "modal.settings.currency"),
            currency_opts,
            initial=next((o for o in currency_opts if o["value"] == ws.currency), None),
        ),
        *([b.context(rates)] if rates else []),  # exchange rates: `/pipeline settings rate:`
        select_input(
            "stall_clock",
            t(loc, "modal.settings.stall_clock"),
            stall_opts,
            initial=stall_opts[1 if ws.stall_business_days else 0],
        ),
        users("managers", t(loc, "modal.settings.managers"), managers),
        users("admins", t(loc, "modal.settings.admins"), admins),
    ]
    return _modal(
        View.settings, t(loc, "modal.settings.heading"), t(loc, "modal.save"), blocks, loc
    )


# --- tasks (issue 14) -------------------------------------------------------------------

TASK_KINDS = ("call", "email", "meeting", "todo")


def task_new(ctx, deal=None) -> dict[str, Any]:
    """``/task new`` alone, and the deal card's "Add task" (``deal`` filled in)."""
    loc = ctx.locale
    kinds = [b.option(t(loc, f"task.kind.{k}"), k) for k in TASK_KINDS]
    blocks = [
        text_input("text", t(loc, "task.modal.text"), max_length=1000),
        text_input(
            "due",
            t(loc, "task.modal.due"),
            optional=True,
            placeholder=t(loc, "task.modal.due_hint"),
        ),
        select_input("kind", t(loc, "task.modal.kind"), kinds, initial=kinds[-1]),
        user_input("owner", t(loc, "task.modal.owner"), initial=ctx.member.slack_user_id),
        text_input(
            "deal",
            t(loc, "task.modal.deal"),
            optional=True,
            initial=f"D{deal.number}" if deal is not None else None,
            placeholder="D42",
            max_length=200,
        ),
    ]
    meta = {"channel": ctx.channel_id}
    return _modal(
        View.task_new, t(loc, "task.modal.heading"), t(loc, "modal.create"), blocks, loc, meta
    )
