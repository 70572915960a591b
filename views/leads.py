"""Lead replies."""

from __future__ import annotations

from i18n import fmt, t
from storage.models import Company, Deal, Lead, Member, Stage
from views import blocks as b
from views.deals import who
from views.ids import Action
from views.message import Message


def created(ctx, lead: Lead) -> Message:
    text = t(ctx.locale, "lead.created", ref=f"L{lead.number}", name=lead.name)
    return Message(
        text=text,
        blocks=[
            b.section(text),
            b.actions(
                [
                    b.button(
                        t(ctx.locale, "lead.action.convert"),
                        Action.help_run,
                        f"/lead convert L{lead.number}",
                    )
                ]
            ),
        ],
    )


def _line(ctx, lead: Lead, statuses: dict[int, Stage]) -> str:
    company = ctx.session.get(Company, lead.company_id) if lead.company_id else None
    owner = ctx.session.get(Member, lead.owner_id) if lead.owner_id else None
    deal = ctx.session.get(Deal, lead.deal_id) if lead.deal_id else None
    return t(
        ctx.locale,
        "lead.row",
        ref=f"L{lead.number}",
        name=lead.name,
        company=f" · {company.name}" if company else "",
        status=statuses[lead.status_id].name,
        owner=who(owner),
        deal=f" → D{deal.number}" if deal else "",
    )


def lead_list(ctx, rows: list[Lead], statuses: list[Stage]) -> Message:
    by_id = {s.id: s for s in statuses}
    if not rows:
        text = t(ctx.locale, "lead.list_empty")
        return Message(text=text, blocks=[b.section(text)])
    header = t(ctx.locale, "lead.list_header", count=fmt.number(len(rows), ctx.locale))
    lines = [_line(ctx, lead, by_id) for lead in rows]
    blocks = [b.section(header)]
    for i in range(0, len(lines), 20):
        blocks.append(b.section("\n".join(lines[i : i + 20])))
    return Message(text=header, blocks=blocks)


def details(ctx, lead: Lead, statuses: list[Stage]) -> Message:
    by_id = {s.id: s for s in statuses}
    company = ctx.session.get(Company, lead.company_id) if lead.company_id else None
    items = [
        t(ctx.locale, "lead.field.status", value=by_id[lead.status_id].name),
        t(ctx.locale, "lead.field.company", value=company.name if company else fmt.EMPTY),
        t(ctx.locale, "lead.field.email", value=lead.email or fmt.EMPTY),
        t(ctx.locale, "lead.field.source", value=lead.source or fmt.EMPTY),
        t(ctx.locale, "lead.field.size", value=fmt.number(lead.company_size, ctx.locale)),
        t(
            ctx.locale,
            "lead.field.created",
            value=fmt.day(lead.created_at.astimezone(ctx.tz).date(), ctx.locale),
        ),
    ]
    deal = ctx.session.get(Deal, lead.deal_id) if lead.deal_id else None
    if deal:
        items.append(t(ctx.locale, "lead.field.deal", value=f"D{deal.number} · {deal.title}"))
    title = f"L{lead.number} · {lead.name}"
    return Message(text=title, blocks=[b.header(title), b.fields(items)])
