"""What people do with an inbound lead in the leads channel — Claim, Assign, Disqualify —
and how fast they first do something: *speed to lead* (docs/inbound.md).

**Speed to lead** (:func:`speed_to_lead`) is the time from arrival to the first thing a
person did to the lead: claim, assign, disqualify or change its status — the first activity
on the lead with an author. Round-robin and workflows are not people.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from domain import leads as lead_ops
from domain.errors import InvalidInput, NotAllowed, NotFound
from domain.workspaces import can_manage_any_deal
from storage.models import Activity, Company, InboundLead, Lead, Member, Outcome, Stage

# ---------------------------------------------------------------- touching the lead


@dataclass(frozen=True)
class InboundView:
    """What the leads-channel message shows, read once."""

    lead: Lead
    inbound: InboundLead
    company: str | None
    owner_slack_id: str | None
    status: str
    details: dict[str, str]
    duplicates: dict[str, list[str]]
    closed: bool  # disqualified, or converted into a deal


def inbound_of(*, session: Session, workspace_id: int, lead_id: int) -> InboundLead:
    inbound = session.exec(
        select(InboundLead).where(
            InboundLead.lead_id == lead_id, InboundLead.workspace_id == workspace_id
        )
    ).first()
    if inbound is None:
        raise NotFound("inbound.not_found")
    return inbound


def view_of(*, session: Session, inbound: InboundLead) -> InboundView:
    lead = session.get(Lead, inbound.lead_id)
    session.refresh(lead)
    company = session.get(Company, lead.company_id) if lead.company_id else None
    owner = session.get(Member, lead.owner_id) if lead.owner_id else None
    status = session.get(Stage, lead.status_id)
    return InboundView(
        lead=lead,
        inbound=inbound,
        company=company.name if company else None,
        owner_slack_id=owner.slack_user_id if owner else None,
        status=status.name,
        details=json.loads(inbound.details or "{}"),
        duplicates=json.loads(inbound.duplicates or "{}"),
        closed=inbound.disqualified_at is not None or lead.deal_id is not None,
    )


def _touch(session: Session, lead: Lead, kind: str, actor: Member, now: datetime, text="") -> int:
    activity = Activity(
        workspace_id=lead.workspace_id,
        lead_id=lead.id,
        kind=kind,
        text=text,
        author_id=actor.id,
        at=now,
    )
    session.add(activity)
    session.flush()
    return activity.id


def claim(*, session: Session, inbound: InboundLead, actor: Member, now: datetime) -> int:
    """The clicker takes the lead if nobody has it (one of two racing clicks wins)."""
    _open(session, inbound)
    taken = session.execute(
        sa.update(Lead)
        .where(Lead.id == inbound.lead_id, Lead.owner_id.is_(None))
        .values(owner_id=actor.id)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    ).first()
    lead = session.get(Lead, inbound.lead_id)
    session.refresh(lead)
    if taken is None:
        if lead.owner_id == actor.id:
            raise InvalidInput("inbound.already_yours", number=lead.number)
        owner = session.get(Member, lead.owner_id)
        raise InvalidInput("inbound.already_claimed", number=lead.number, user=_who(owner))
    inbound.assigned_by = "claim"
    session.add(inbound)
    return _touch(session, lead, "claim", actor, now)


def assign(
    *, session: Session, inbound: InboundLead, actor: Member, member: Member, now: datetime
) -> int:
    """A person gives the lead to ``member`` (an owned lead: its owner or a manager)."""
    _open(session, inbound)
    lead = session.get(Lead, inbound.lead_id)
    if lead.owner_id is not None:
        lead_ops._require_can_change(actor, lead)
    if lead.owner_id == member.id:
        raise InvalidInput("inbound.already_owner", number=lead.number, user=_who(member))
    lead.owner_id = member.id
    inbound.assigned_by = "person"
    session.add_all([lead, inbound])
    return _touch(session, lead, "assign", actor, now, text=member.slack_user_id)


def disqualify(*, session: Session, inbound: InboundLead, actor: Member, now: datetime) -> int:
    """Not a lead worth working: closed in the channel, moved to a lost status if the lead
    pipeline has one (an owned lead: its owner or a manager)."""
    _open(session, inbound)
    lead = session.get(Lead, inbound.lead_id)
    if lead.owner_id not in (None, actor.id) and not can_manage_any_deal(actor):
        raise NotAllowed("lead.not_yours", number=lead.number)
    lost = next(
        (
            s
            for s in lead_ops.lead_statuses(session=session, workspace_id=lead.workspace_id)
            if s.outcome == Outcome.lost
        ),
        None,
    )
    if lost is not None:
        lead.status_id = lost.id
        lead.status_changed_at = now
    inbound.disqualified_at = now
    session.add_all([lead, inbound])
    return _touch(session, lead, "disqualify", actor, now)


def _open(session: Session, inbound: InboundLead) -> None:
    lead = session.get(Lead, inbound.lead_id)
    if inbound.disqualified_at is not None:
        raise InvalidInput("inbound.disqualified", number=lead.number)
    if lead.deal_id is not None:
        raise InvalidInput("lead.already_converted", number=lead.number)


def _who(member: Member | None) -> str:
    return f"<@{member.slack_user_id}>" if member else "?"


# ---------------------------------------------------------------- speed to lead


@dataclass(frozen=True)
class SpeedToLead:
    arrived: int  # inbound leads that arrived in the period
    touched: int  # of them, touched by a person (so far)
    median_minutes: float | None  # over the touched ones


def speed_to_lead(
    *, session: Session, workspace_id: int, start: datetime, end: datetime
) -> SpeedToLead:
    """Inbound leads that arrived in ``[start, end)``: how many a person touched, and the
    median time from arrival to the first touch (module docstring)."""
    first = (
        sa.select(sa.func.min(Activity.at))
        .where(Activity.lead_id == InboundLead.lead_id, Activity.author_id.is_not(None))
        .correlate(InboundLead)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(InboundLead.received_at, first).where(
            InboundLead.workspace_id == workspace_id,
            InboundLead.received_at >= start,
            InboundLead.received_at < end,
        )
    ).all()
    waits = [
        max((_aware(touched) - _aware(arrived)).total_seconds(), 0.0) / 60
        for arrived, touched in rows
        if touched is not None
    ]
    return SpeedToLead(
        arrived=len(rows),
        touched=len(waits),
        median_minutes=statistics.median(waits) if waits else None,
    )


def _aware(value: datetime) -> datetime:
    """``min()`` over a UTC column comes back as the database's text or naive value."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
