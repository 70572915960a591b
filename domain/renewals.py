"""A won deal's renewal: a deal in the Renewals pipeline, due N months after the close.

Written on the cadences branch for the workflow's renewal action, to the signature the
salessense branch publishes (its version, when merged, replaces this one).
"""

from __future__ import annotations

import calendar
import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from domain.errors import InvalidInput
from storage.models import Activity, Deal, Member, Outcome, Pipeline, PipelineKind, Workspace

RENEWALS = "Renewals"
CREATED = "renewal_created"  # the activity on the won deal that names its renewal


def add_months(day: date, months: int) -> date:
    """Calendar months: Jan 31 + 1 month is Feb 28 (29)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _renewals_pipeline(session: Session, workspace_id: int) -> Pipeline:
    pipelines = session.exec(
        select(Pipeline).where(
            Pipeline.workspace_id == workspace_id, Pipeline.kind == PipelineKind.deal
        )
    ).all()
    for pipeline in pipelines:
        if pipeline.name.casefold() in (RENEWALS.casefold(), "갱신"):
            return pipeline
    raise InvalidInput(
        "pipeline.not_found", text=RENEWALS, names=", ".join(p.name for p in pipelines)
    )


def renewal_of(*, session: Session, deal: Deal) -> Deal | None:
    """The renewal already created for ``deal``, if any."""
    for activity in session.exec(
        select(Activity).where(Activity.deal_id == deal.id, Activity.kind == CREATED)
    ):
        renewal = session.get(Deal, json.loads(activity.text or "{}").get("deal") or 0)
        if renewal is not None:
            return renewal
    return None


def create_renewal(*, session: Session, deal: Deal, months: int = 12, now: datetime) -> Deal:
    """The won ``deal``'s renewal (once per won deal): in the Renewals pipeline's first open
    stage, same owner, company, amount and currency; renewal date = the close's local date +
    ``months``; MRR = the deal's MRR when set, else amount ÷ 12."""
    from domain.deals import create_deal

    existing = renewal_of(session=session, deal=deal)
    if existing is not None:
        return existing
    workspace = session.get(Workspace, deal.workspace_id)
    pipeline = _renewals_pipeline(session, workspace.id)
    closed = (deal.closed_at or now).astimezone(ZoneInfo(workspace.timezone)).date()
    renewal_date = add_months(closed, months)
    owner = session.get(Member, deal.owner_id) if deal.owner_id else None
    actor = owner or session.exec(select(Member).where(Member.workspace_id == workspace.id)).first()
    from domain.refs import stages_of

    first = next(
        s for s in stages_of(session=session, pipeline_id=pipeline.id) if s.outcome == Outcome.open
    )
    company = None
    if deal.company_id:
        from storage.models import Company

        company = session.get(Company, deal.company_id)
    change = create_deal(
        session=session,
        workspace=workspace,
        actor=actor,
        title=deal.title,
        now=now,
        amount=deal.amount,
        currency=deal.currency,
        pipeline_name=pipeline.name,
        stage_text=first.name,
        close=renewal_date,
        owner=owner,
        company_name=company.name if company else None,
    )
    renewal = change.deal
    renewal.person_id = deal.person_id
    renewal.renewal_date = renewal_date
    renewal.mrr = deal.mrr if deal.mrr is not None else (deal.amount / 12).quantize(Decimal("0.01"))
    session.add(renewal)
    session.add(
        Activity(
            workspace_id=deal.workspace_id,
            deal_id=deal.id,
            kind=CREATED,
            text=json.dumps({"deal": renewal.id, "number": renewal.number}),
            at=now,
        )
    )
    session.flush()
    return renewal
