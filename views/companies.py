"""Company and person replies: one read answers "what do we have going on with Acme?"."""

from __future__ import annotations

from domain.companies import CompanyView, DealLine, LeadLine, PersonView
from i18n import fmt, t
from storage.models import Company, Member, Workspace
from views import blocks as b
from views.deals import activity_line, who_id
from views.message import Message


def _totals(totals: dict, currency: str, locale: str) -> str:
    if not totals:
        return fmt.money(0, currency, locale, summary=True)
    return " + ".join(fmt.money(v, c, locale, summary=True) for c, v in sorted(totals.items()))


def deal_line(line: DealLine, locale: str) -> str:
    return t(
        locale,
        "company.deal_line",
        ref=f"D{line.number}",
        title=line.title,
        amount=fmt.money(line.amount, line.currency, locale),
        stage=line.stage,
        owner=who_id(line.owner_slack_id),
    )


def lead_line(line: LeadLine, locale: str) -> str:
    return t(locale, "company.lead_line", ref=f"L{line.number}", name=line.name, status=line.status)


def _list(title: str, lines: list[str], total: int, locale: str) -> str:
    more = [t(locale, "company.more", count=total - len(lines))] if total > len(lines) else []
    return "\n".join([title, *lines, *more])


def company_details(
    view: CompanyView, workspace: Workspace, members: dict[int, Member], locale: str
) -> Message:
    company = view.company
    title = company.name
    counts = view.counts
    items = [
        t(locale, "company.field.people", value=fmt.number(view.people_count, locale)),
        t(locale, "company.field.employees", value=fmt.number(company.employees, locale)),
        t(
            locale,
            "company.field.open",
            count=fmt.number(counts["open"], locale),
            amount=_totals(view.open_total, workspace.currency, locale),
        ),
        t(
            locale,
            "company.field.won",
            count=fmt.number(counts["won"], locale),
            amount=_totals(view.won_total, workspace.currency, locale),
        ),
        t(locale, "company.field.lost", count=fmt.number(counts["lost"], locale)),
    ]
    blocks = [b.header(title), b.fields(items)]
    if view.people:
        people = [person_line(p.name, p.email, p.phone, locale) for p in view.people]
        blocks.append(
            b.section(_list(t(locale, "company.people"), people, view.people_count, locale))
        )
    for outcome in ("open", "won", "lost"):
        lines = [deal_line(d, locale) for d in view.deals[outcome]]
        if lines:
            heading = t(locale, f"company.deals_{outcome}")
            blocks.append(b.section(_list(heading, lines, counts[outcome], locale)))
    if view.leads:
        lines = [lead_line(line, locale) for line in view.leads]
        blocks.append(b.section("\n".join([t(locale, "company.leads"), *lines])))
    if view.activity:
        lines = [
            f"• D{number} · "
            + activity_line(a, locale, members, workspace.timezone, workspace.currency)[2:]
            for a, number in view.activity
        ]
        blocks.append(b.section("\n".join([t(locale, "company.activity"), *lines])))
    if not any(counts.values()) and not view.people and not view.leads:
        blocks.append(b.context(t(locale, "company.nothing_yet", name=company.name)))
    return Message(text=title, blocks=blocks)


def person_line(name: str, email: str | None, phone: str | None, locale: str) -> str:
    return "• " + " · ".join(x for x in (name, email, phone) if x)


def company_list(rows: list[tuple[Company, int, int]], query: str, locale: str) -> Message:
    if not rows:
        text = t(locale, "company.find_empty", query=query)
        return Message(text=text, blocks=[b.section(text)])
    header = t(locale, "company.find_header", query=query, count=fmt.number(len(rows), locale))
    lines = [
        t(
            locale,
            "company.find_line",
            name=c.name,
            open=fmt.number(o, locale),
            won=fmt.number(w, locale),
        )
        for c, o, w in rows
    ]
    hint = t(locale, "company.find_hint")
    return Message(
        text=header, blocks=[b.section(header), b.section("\n".join(lines)), b.context(hint)]
    )


def person_details(view: PersonView, locale: str) -> Message:
    person = view.person
    items = [
        t(locale, "person.field.company", value=view.company.name if view.company else fmt.EMPTY),
        t(locale, "person.field.email", value=person.email or fmt.EMPTY),
        t(locale, "person.field.phone", value=person.phone or fmt.EMPTY),
    ]
    blocks = [b.header(person.name), b.fields(items)]
    if view.deals:
        lines = [deal_line(d, locale) for d in view.deals]
        blocks.append(b.section("\n".join([t(locale, "person.deals"), *lines])))
    if view.leads:
        lines = [lead_line(line, locale) for line in view.leads]
        blocks.append(b.section("\n".join([t(locale, "person.leads"), *lines])))
    if view.company:
        blocks.append(b.context(t(locale, "person.company_hint", name=view.company.name)))
    return Message(text=person.name, blocks=blocks)


def related(company: str | None, person: str | None, locale: str) -> dict | None:
    """A context line linking a deal's or lead's company and contact to their commands."""
    parts = []
    if company:
        parts.append(t(locale, "company.related", name=company))
    if person:
        parts.append(t(locale, "person.related", name=person))
    return b.context(" · ".join(parts)) if parts else None
