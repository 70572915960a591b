"""Companies and people: "what do we have going on with Acme?" in one read.

A company is found by its name: exactly (case aside), else the one name that starts with
the text, else the one that contains it; several are :class:`Ambiguous` (the reply lists
them). People are found the same way, by name or email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.errors import Ambiguous, NotFound
from storage.models import Activity, Company, Deal, Lead, Member, Outcome, Person, Stage

MAX_SHOWN = 10  # deals per outcome, people, activities


@dataclass(frozen=True)
class DealLine:
    number: int
    title: str
    amount: Decimal
    currency: str
    stage: str
    outcome: str
    owner_slack_id: str | None


@dataclass(frozen=True)
class LeadLine:
    number: int
    name: str
    status: str


@dataclass
class CompanyView:
    company: Company
    people: list[Person]
    people_count: int
    deals: dict[str, list[DealLine]]  # outcome -> newest first, at most MAX_SHOWN
    counts: dict[str, int]  # outcome -> how many
    won_total: dict[str, Decimal]  # currency -> sum of won amounts
    open_total: dict[str, Decimal]
    leads: list[LeadLine]
    activity: list[tuple[Activity, int]] = field(default_factory=list)  # (activity, deal no.)


@dataclass
class PersonView:
    person: Person
    company: Company | None
    deals: list[DealLine]
    leads: list[LeadLine]


def _pick(rows: list, text: str, names, key: str):
    """The one row ``text`` names: exact (folded), else a unique prefix, else unique part."""
    folded = text.strip().casefold()
    for test in (
        lambda n: n.casefold() == folded,
        lambda n: n.casefold().startswith(folded),
        lambda n: folded in n.casefold(),
    ):
        found = [r for r in rows if any(test(n) for n in names(r) if n)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = ", ".join(r.name for r in found[:MAX_SHOWN])
            raise Ambiguous(f"{key}.ambiguous", text=text, names=listed, candidates=found)
    raise NotFound(f"{key}.not_found", text=text)


def _like(text: str) -> str:
    return "%" + text.strip().lower().replace("%", "").replace("_", "") + "%"


def find_company(*, session: Session, workspace_id: int, text: str) -> Company:
    rows = session.exec(
        select(Company)
        .where(Company.workspace_id == workspace_id, sa.func.lower(Company.name).like(_like(text)))
        .order_by(Company.name)
        .limit(200)
    ).all()
    exact = [c for c in rows if c.name.casefold() == text.strip().casefold()]
    return exact[0] if len(exact) == 1 else _pick(rows, text, lambda c: (c.name,), "company")


def find_person(*, session: Session, workspace_id: int, text: str) -> Person:
    pattern = _like(text)
    rows = session.exec(
        select(Person)
        .where(
            Person.workspace_id == workspace_id,
            sa.or_(
                sa.func.lower(Person.name).like(pattern), sa.func.lower(Person.email).like(pattern)
            ),
        )
        .order_by(Person.name, Person.id)
        .limit(200)
    ).all()
    return _pick(rows, text, lambda p: (p.name, p.email), "person")


def find_companies(
    *, session: Session, workspace_id: int, query: str, limit: int = 20
) -> list[tuple[Company, int, int]]:
    """Companies whose name contains ``query``, with their open and won deal counts."""
    open_deals = sa.func.count(Deal.id).filter(Deal.closed_at.is_(None))
    won_deals = sa.func.count(Deal.id).filter(Stage.outcome == Outcome.won)
    rows = session.execute(
        sa.select(Company, open_deals, won_deals)
        .outerjoin(Deal, Deal.company_id == Company.id)
        .outerjoin(Stage, Stage.id == Deal.stage_id)
        .where(
            Company.workspace_id == workspace_id,
            sa.func.lower(Company.name).like(_like(query)),
        )
        .group_by(Company.id)
        .order_by(Company.name)
        .limit(limit)
    ).all()
    return [(c, o, w) for c, o, w in rows]


def _deal_lines(session: Session, *where, limit: int | None = None) -> list[DealLine]:
    query = (
        sa.select(
            Deal.number,
            Deal.title,
            Deal.amount,
            Deal.currency,
            Stage.name,
            Stage.outcome,
            Member.slack_user_id,
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .outerjoin(Member, Member.id == Deal.owner_id)
        .where(*where)
        .order_by(Deal.number.desc())
    )
    if limit:
        query = query.limit(limit)
    return [DealLine(*row) for row in session.execute(query)]


def _lead_lines(session: Session, *where) -> list[LeadLine]:
    query = (
        sa.select(Lead.number, Lead.name, Stage.name)
        .join(Stage, Stage.id == Lead.status_id)
        .where(*where)
        .order_by(Lead.number.desc())
        .limit(MAX_SHOWN)
    )
    return [LeadLine(*row) for row in session.execute(query)]


def company_view(*, session: Session, company: Company) -> CompanyView:
    ws, cid = company.workspace_id, company.id
    people = session.exec(
        select(Person).where(Person.company_id == cid).order_by(Person.name).limit(MAX_SHOWN)
    ).all()
    people_count = session.execute(
        sa.select(sa.func.count()).select_from(Person).where(Person.company_id == cid)
    ).scalar_one()
    counts = {o.value: 0 for o in Outcome}
    won_total: dict[str, Decimal] = {}
    open_total: dict[str, Decimal] = {}
    for outcome, currency, n, total in session.execute(
        sa.select(Stage.outcome, Deal.currency, sa.func.count(), sa.func.sum(Deal.amount))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Deal.workspace_id == ws, Deal.company_id == cid)
        .group_by(Stage.outcome, Deal.currency)
    ):
        counts[outcome] += n
        if outcome == Outcome.won:
            won_total[currency] = total or Decimal(0)
        elif outcome == Outcome.open:
            open_total[currency] = total or Decimal(0)
    deals = {
        o.value: _deal_lines(
            session,
            Deal.workspace_id == ws,
            Deal.company_id == cid,
            Stage.outcome == o,
            limit=MAX_SHOWN,
        )
        for o in Outcome
    }
    activity = session.execute(
        sa.select(Activity, Deal.number)
        .join(Deal, Deal.id == Activity.deal_id)
        .where(Deal.workspace_id == ws, Deal.company_id == cid)
        .order_by(Activity.at.desc(), Activity.id.desc())
        .limit(5)
    ).all()
    leads = _lead_lines(session, Lead.workspace_id == ws, Lead.company_id == cid)
    return CompanyView(
        company=company,
        people=list(people),
        people_count=people_count,
        deals=deals,
        counts=counts,
        won_total=won_total,
        open_total=open_total,
        leads=leads,
        activity=[(a, n) for a, n in activity],
    )


def person_view(*, session: Session, person: Person) -> PersonView:
    company = session.get(Company, person.company_id) if person.company_id else None
    ws = person.workspace_id
    deals = _deal_lines(
        session, Deal.workspace_id == ws, Deal.person_id == person.id, limit=MAX_SHOWN
    )
    leads = _lead_lines(session, Lead.workspace_id == ws, Lead.person_id == person.id)
    return PersonView(person=person, company=company, deals=deals, leads=leads)
