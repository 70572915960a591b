"""Lead replies."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain.leads import LeadRow
from i18n import fmt, t
from storage.models import Lead
from views import blocks as b
from views.deals import who_id
from views.ids import Action
from views.message import Message


def created(lead: Lead, locale: str) -> Message:
    text = t(locale, "lead.created", ref=f"L{lead.number}", name=lead.name)
    return Message(
        text=text,
        blocks=[
            b.section(text),
            b.actions(
                [
                    b.button(
                        t(locale, "lead.action.convert"),
                        Action.help_run,
                        f"/lead convert L{lead.number}",
                    )
                ]
            ),
        ],
    )


def _line(lead: LeadRow, locale: str) -> str:
    score = t(locale, "scoring.badge", score=fmt.number(lead.score, locale))
    return score + t(
        locale,
        "lead.row",
        ref=f"L{lead.number}",
        name=lead.name,
        company=f" · {lead.company_name}" if lead.company_name is not None else "",
        status=lead.status_name,
        owner=who_id(lead.owner_slack_id),
        deal=f" → D{lead.deal_number}" if lead.deal_number is not None else "",
    )


def lead_list(rows: list[LeadRow], locale: str) -> Message:
    if not rows:
        text = t(locale, "lead.list_empty")
        return Message(text=text, blocks=[b.section(text)])
    header = t(locale, "lead.list_header", count=fmt.number(len(rows), locale))
    lines = [_line(lead, locale) for lead in rows]
    blocks = [b.section(header)]
    for i in range(0, len(lines), 20):
        blocks.append(b.section("\n".join(lines[i : i + 20])))
    return Message(text=header, blocks=blocks)


def details(lead: LeadRow, locale: str, tz: ZoneInfo) -> Message:
    items = [
        t(locale, "lead.field.status", value=lead.status_name),
        t(locale, "lead.field.company", value=lead.company_name or fmt.EMPTY),
        t(locale, "lead.field.email", value=lead.email or fmt.EMPTY),
        t(locale, "lead.field.source", value=lead.source or fmt.EMPTY),
        t(locale, "lead.field.size", value=fmt.number(lead.company_size, locale)),
        t(
            locale,
            "lead.field.created",
            value=fmt.day(lead.created_at.astimezone(tz).date(), locale),
        ),
    ]
    if lead.deal_number is not None:
        items.append(t(locale, "lead.field.deal", value=f"D{lead.deal_number} · {lead.deal_title}"))
    title = f"L{lead.number} · {lead.name}"
    return Message(text=title, blocks=[b.header(title), b.fields(items)])
