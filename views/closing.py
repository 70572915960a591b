"""Asking before a deal is closed or reopened, and offering its renewal after a win.

Button values (parsed back in bot.payloads):

- ``deal.confirm``: JSON ``{"do": "won"|"lost"|"move", "deal": 5, "stage": 12, "reason": …}``
- ``deal.cancel`` and ``deal.renew``: ``D5``
"""

from __future__ import annotations

import json
from typing import Any

from i18n import fmt, t
from views import blocks as b
from views.ids import Action
from views.message import Message

MAX_REASON = 500  # domain.deals keeps 500 characters of a lost reason; the value fits easily


def confirm_value(do: str, number: int, stage_id: int | None, reason: str | None) -> str:
    data: dict[str, Any] = {"do": do, "deal": number}
    if stage_id is not None:
        data["stage"] = stage_id
    if reason:
        data["reason"] = reason[:MAX_REASON]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def confirm(
    *,
    question: str,
    do: str,
    number: int,
    stage_id: int | None,
    reason: str | None,
    locale: str,
) -> Message:
    """The question with Confirm and Cancel; the answer replaces it (replace_original)."""
    value = confirm_value(do, number, stage_id, reason)
    buttons = [
        b.button(t(locale, "sales.confirm.yes"), Action.deal_confirm, value, style="primary"),
        b.button(t(locale, "sales.confirm.no"), Action.deal_cancel, f"D{number}"),
    ]
    return Message(text=question, blocks=[b.section(question), b.actions(buttons)])


def question(
    kind: str,
    *,
    number: int,
    title: str,
    amount,
    currency: str,
    from_stage: str,
    to_stage: str,
    reason: str | None,
    locale: str,
) -> str:
    reason_text = t(locale, "sales.confirm.reason", reason=reason) if reason else ""
    return t(
        locale,
        f"sales.confirm.{kind}",
        ref=f"D{number}",
        title=title,
        amount=fmt.money(amount, currency, locale),
        to=to_stage,
        reason=reason_text,
        **{"from": from_stage},
    )


def won_dialog(locale: str) -> dict[str, Any]:
    """Block Kit's confirm dialog on the card's Won button: the click is the confirmation."""
    return {
        "title": b.plain(t(locale, "sales.confirm.dialog_title"), 100),
        "text": b.plain(t(locale, "sales.confirm.dialog_text"), 300),
        "confirm": b.plain(t(locale, "sales.confirm.yes"), 30),
        "deny": b.plain(t(locale, "sales.confirm.no"), 30),
    }


def with_renewal_offer(message: Message, number: int, locale: str) -> Message:
    """A win's answer, with the button that creates the deal's renewal deal."""
    offer = t(locale, "sales.renewal.offer")
    button = b.button(t(locale, "sales.renewal.create"), Action.deal_renew, f"D{number}")
    blocks = [b.section(message.text), b.section(offer), b.actions([button])]
    return Message(text=message.text, blocks=blocks)


def renewal_created(*, actor: str, renewal, of_number: int, pipeline: str, locale: str) -> str:
    return t(
        locale,
        "sales.renewal.created",
        actor=actor,
        ref=f"D{renewal.number}",
        title=renewal.title,
        pipeline=pipeline,
        of=f"D{of_number}",
        date=fmt.day(renewal.renewal_date, locale),
        mrr=fmt.money(renewal.mrr, renewal.currency, locale),
    )


def with_warnings(message: Message, warnings: list[str]) -> Message:
    """A reply with warning lines after it (a duplicate, a close date in the past)."""
    if not warnings:
        return message
    text = "\n".join([message.text, *warnings])
    if not message.blocks:
        return Message(text=text)
    return Message(text=text, blocks=[*message.blocks, *(b.section(w) for w in warnings)])


def refs(records, prefix: str, limit: int = 5) -> str:
    shown = [f"{prefix}{r.number}" for r in records[:limit]]
    more = len(records) - limit
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


def past_close(number: int, close, locale: str) -> str:
    return t(locale, "sales.close.past", date=fmt.day(close, locale), ref=f"D{number}")
