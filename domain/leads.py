"""Leads: create, change status along the lead pipeline, convert into a deal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

from domain.deals import (
    Change,
    _next_number,
    create_deal,
    get_or_create_company,
    get_or_create_person,
)
from domain.errors import InvalidInput
from domain.refs import find_pipeline, match_stage, stages_of
from domain.workspaces import can_manage_any_deal
from storage.models import (
    Activity,
    Company,
    Deal,
    Lead,
    Member,
    Outcome,
    PipelineKind,
    Stage,
    Workspace,
)

MAX_NAME = 200


def lead_statuses(*, session: Session, workspace_id: int) -> list[Stage]:
    pipeline = find_pipeline(
        session=session, workspace_id=workspace_id, name=None, kind=PipelineKind.lead
    )
    return stages_of(session=session, pipeline_id=pipeline.id)


def create_lead(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member | None,
    name: str,
    now: datetime,
    company_name: str | None = None,
    email: str | None = None,
    source: str | None = None,
    size: int | None = None,
    owner: Member | None = None,
    status: str | None = None,
    job_title: str | None = None,
) -> Lead:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("lead.name_required", usage="lead_new")
    if len(name) > MAX_NAME:
        raise InvalidInput("lead.name_too_long", limit=MAX_NAME)
    if size is not None and size < 0:
        raise InvalidInput("lead.bad_size", value=str(size), usage="lead_new")
    statuses = lead_statuses(session=session, workspace_id=workspace.id)
    stage = match_stage(statuses, status, errors="lead.status") if status else statuses[0]
    company = get_or_create_company(session=session, workspace_id=workspace.id, name=company_name)
    if company is not None and size is not None:
        company.employees = size
        session.add(company)
    person = get_or_create_person(
        session=session,
        workspace_id=workspace.id,
        name=name,
        company_id=company.id if company else None,
        email=email,
    )
    lead = Lead(
        workspace_id=workspace.id,
        number=_next_number(session, workspace.id, Workspace.next_lead_number),
        name=name,
        status_id=stage.id,
        source=(source or None),
        email=email,
        company_size=size,
        owner_id=(owner or actor).id if (owner or actor) else None,  # inbound: nobody yet
        company_id=company.id if company else None,
        person_id=person.id if person else None,
        status_changed_at=now,
        created_at=now,
        job_title=(job_title or None),
    )
    session.add(lead)
    session.flush()
    from domain import automation, lead_scores

    automation.lead_created(session=session, workspace=workspace, lead=lead, actor=actor, now=now)
    lead_scores.lead_changed(session=session, lead=lead, now=now)
    return lead


def set_status(
    *, session: Session, actor: Member, lead: Lead, status: str, now: datetime
) -> tuple[Stage, Stage]:
    _require_can_change(actor, lead)
    statuses = lead_statuses(session=session, workspace_id=lead.workspace_id)
    target = match_stage(statuses, status, errors="lead.status")
    source = next(s for s in statuses if s.id == lead.status_id)
    if target.id == source.id:
        raise InvalidInput("lead.already_status", number=lead.number, status=target.name)
    move_status(session=session, lead=lead, source=source, target=target, actor=actor, now=now)
    from domain import lead_scores

    lead_scores.lead_changed(session=session, lead=lead, now=now)
    return source, target


def add_note(*, session: Session, actor: Member, lead: Lead, text: str, now: datetime) -> None:
    """Anyone in the workspace may note on a lead; the note counts as its activity."""
    from domain import lead_scores
    from domain.deals import checked_note

    text = checked_note(text, empty="scoring.note_empty", usage="lead_note")
    session.add(
        Activity(
            workspace_id=lead.workspace_id,
            lead_id=lead.id,
            kind="note",
            text=text,
            author_id=actor.id,
            at=now,
        )
    )
    session.flush()
    lead_scores.lead_changed(session=session, lead=lead, now=now)


def move_status(
    *,
    session: Session,
    lead: Lead,
    source: Stage,
    target: Stage,
    actor: Member | None,
    now: datetime,
) -> Activity:
    """The lead moves to ``target``: recorded on its timeline (the activity returned), its
    workflows run (``actor`` None: Salesbot moved it, as a lead scoring past the MQL
    threshold)."""
    lead.status_id = target.id
    lead.status_changed_at = now
    session.add(lead)
    activity = Activity(
        workspace_id=lead.workspace_id,
        lead_id=lead.id,
        kind="status",
        text=f"{source.name} → {target.name}",
        author_id=actor.id if actor else None,
        at=now,
    )
    session.add(activity)
    session.flush()
    from domain import automation

    automation.lead_status_changed(
        session=session, lead=lead, activity_id=activity.id, actor=actor, now=now
    )
    return activity


def _require_can_change(actor: Member, lead: Lead) -> None:
    from domain.errors import NotAllowed

    if lead.owner_id not in (None, actor.id) and not can_manage_any_deal(actor):
        raise NotAllowed("lead.not_yours", number=lead.number)


def convert(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member,
    lead: Lead,
    now: datetime,
    amount: Decimal | None = None,
    currency: str | None = None,
    pipeline_name: str | None = None,
    stage_text: str | None = None,
    title: str | None = None,
    close: date | None = None,
) -> Change:
    """Lead → deal: the deal takes the lead's company and person; the lead keeps the link."""
    _require_can_change(actor, lead)
    if lead.deal_id is not None:
        raise InvalidInput("lead.already_converted", number=lead.number)
    from storage.models import Company

    company = session.get(Company, lead.company_id) if lead.company_id else None
    owner = session.get(Member, lead.owner_id) if lead.owner_id else None
    change = create_deal(
        session=session,
        workspace=workspace,
        actor=actor,
        title=title or (f"{company.name} — {lead.name}" if company else lead.name),
        now=now,
        amount=amount,
        currency=currency,
        pipeline_name=pipeline_name,
        stage_text=stage_text,
        close=close,
        owner=owner,
        company_name=company.name if company else None,
    )
    change.deal.person_id = lead.person_id
    lead.deal_id = change.deal.id
    statuses = lead_statuses(session=session, workspace_id=workspace.id)
    converted = next((s for s in statuses if s.outcome == Outcome.won), None)
    if converted is not None:
        lead.status_id = converted.id
        lead.status_changed_at = now
    session.add_all([lead, change.deal])
    session.flush()
    change.params["lead"] = lead.number
    return change


@dataclass(frozen=True)
class LeadRow:
    """A lead with its status, company, owner and the deal it became, as plain values."""

    id: int
    number: int
    name: str
    status_name: str
    company_name: str | None
    owner_slack_id: str | None
    deal_number: int | None
    deal_title: str | None
    email: str | None
    source: str | None
    company_size: int | None
    created_at: datetime
    score: int = 0  # as last computed (domain.lead_scores)
    job_title: str | None = None


def _lead_rows(session: Session, *where, limit: int | None = None) -> list[LeadRow]:
    """One query: the leads with their status, company, owner and deal joined in."""
    query = (
        sa.select(
            Lead.id,
            Lead.number,
            Lead.name,
            Stage.name,
            Company.name,
            Member.slack_user_id,
            Deal.number,
            Deal.title,
            Lead.email,
            Lead.source,
            Lead.company_size,
            Lead.created_at,
            Lead.score,
            Lead.job_title,
        )
        .select_from(Lead)
        .join(Stage, Stage.id == Lead.status_id)
        .outerjoin(Company, Company.id == Lead.company_id)
        .outerjoin(Member, Member.id == Lead.owner_id)
        .outerjoin(Deal, Deal.id == Lead.deal_id)
        .where(*where)
        .order_by(Lead.score.desc(), Lead.number.desc())  # highest score first (ix_lead_score)
        .limit(limit)
    )
    return [LeadRow(*row) for row in session.execute(query).all()]


def lead_rows(
    *,
    session: Session,
    workspace_id: int,
    status_id: int | None = None,
    owner_id: int | None = None,
    limit: int = 50,
) -> list[LeadRow]:
    """``/lead list``: the leads (of one status, one owner), highest score first, then the
    newest, as rows to show."""
    where = [Lead.workspace_id == workspace_id]
    if status_id is not None:
        where.append(Lead.status_id == status_id)
    if owner_id is not None:
        where.append(Lead.owner_id == owner_id)
    return _lead_rows(session, *where, limit=limit)


def lead_row(*, session: Session, lead: Lead) -> LeadRow:
    """``/lead show``: one lead as a row to show."""
    session.flush()
    (row,) = _lead_rows(session, Lead.id == lead.id)
    return row
