"""Renewals: a won deal's renewal deal in the Renewals pipeline.

A won New business deal is usually a contract that comes up for renewal. :func:`create_renewal`
opens that renewal as its own deal, in the first open stage of the Renewals pipeline, linked to
the won deal by ``renewal_of_id``. It is idempotent: a won deal has at most one renewal deal
(a unique index says so too), so the "create its renewal" button pressed twice, or the button
and a workflow, give the same deal back.

- Renewal date: the won deal's own renewal date if it has one, else the day it was won (in the
  workspace's timezone) plus ``months`` months (the 31st becomes the month's last day).
- MRR: the won deal's MRR if set, else its amount ÷ 12. Amount, currency, owner, company,
  contact and title are the won deal's; the renewal's expected close is its renewal date.
- The won deal gets the renewal date too when it had none, so its card shows it; renewal alerts
  then come from the open renewal deal alone (domain.deal_reads.renewal_deals).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from domain import counters
from domain.deals import _activity, _entered, _next_number, lock_deal
from domain.errors import InvalidInput, NotFound
from domain.refs import find_pipeline, stages_of
from domain.stall import stalled_since
from domain.workspaces import RENEWALS_NAME
from i18n import fmt
from storage.models import Deal, Member, Outcome, Stage, StageHistory, Workspace

MONTHS_PER_YEAR = 12


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; a day the month lacks becomes its last."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def renewal_of(*, session: Session, deal: Deal) -> Deal | None:
    """The renewal deal already created for ``deal``, if any."""
    return session.exec(select(Deal).where(Deal.renewal_of_id == deal.id)).first()


def is_won(*, session: Session, deal: Deal) -> bool:
    stage = session.get(Stage, deal.stage_id)
    return stage is not None and stage.outcome == Outcome.won


def create_renewal(
    *,
    session: Session,
    deal: Deal,
    months: int = MONTHS_PER_YEAR,
    now: datetime,
    actor: Member | None = None,
) -> Deal:
    """The renewal deal of the won ``deal``: the existing one, or a new one (module doc).

    Raises :class:`InvalidInput` when the deal is not won or ``months`` is not 1–120, and
    :class:`NotFound` when the workspace has no Renewals pipeline with an open stage.
    """
    if not 1 <= months <= 120:
        raise InvalidInput("renewal.bad_months", value=months)
    deal = lock_deal(session, deal)  # two clicks (or a click and a workflow) take turns
    existing = renewal_of(session=session, deal=deal)
    if existing is not None:
        return existing
    if not is_won(session=session, deal=deal):
        raise InvalidInput("renewal.not_won", number=deal.number)
    pipeline = find_pipeline(
        session=session, workspace_id=deal.workspace_id, name=RENEWALS_NAME[0]
    )  # either language: refs take both
    stage = next(
        (s for s in stages_of(session=session, pipeline_id=pipeline.id) if s.outcome == "open"),
        None,
    )
    if stage is None:
        raise NotFound("renewal.no_open_stage", pipeline=pipeline.name)
    workspace = session.get(Workspace, deal.workspace_id)
    won_on = fmt.local_date(deal.closed_at or now, workspace.timezone)
    renews = deal.renewal_date or add_months(won_on, months)
    mrr = deal.mrr if deal.mrr is not None else (deal.amount / 12).quantize(Decimal("0.01"))
    renewal = Deal(
        workspace_id=deal.workspace_id,
        number=_next_number(session, deal.workspace_id, Workspace.next_deal_number),
        title=deal.title,
        amount=deal.amount,
        currency=deal.currency,
        owner_id=deal.owner_id,
        company_id=deal.company_id,
        person_id=deal.person_id,
        pipeline_id=pipeline.id,
        stage_id=stage.id,
        stage_entered_at=now,
        expected_close=renews,
        renewal_date=renews,
        mrr=mrr,
        renewal_of_id=deal.id,
        created_at=now,
        updated_at=now,
        stalled_since=stalled_since(now, stage.stall_days),
    )
    session.add(renewal)
    session.flush()
    counters.shift(session, after=[counters.place(renewal)])
    history = StageHistory(
        workspace_id=deal.workspace_id,
        deal_id=renewal.id,
        from_stage_id=None,
        to_stage_id=stage.id,
        by_member_id=actor.id if actor else None,
        at=now,
    )
    session.add(history)
    _activity(session, renewal, "created", actor, now, stage=stage.name)
    if deal.renewal_date is None:
        deal.renewal_date = renews
        deal.mrr = deal.mrr if deal.mrr is not None else mrr
        deal.updated_at = now
        session.add(deal)
        _activity(session, deal, "renewal", actor, now, date=renews, mrr=deal.mrr)
    session.flush()
    # The renewal entered its stage: its cadence and workflows, as every path into a stage.
    _entered(session, renewal, history, stage, actor, now)
    return renewal


def renewed_deal_ids(*, session: Session, workspace_id: int) -> set[int]:
    """Ids of the workspace's deals that have a renewal deal."""
    rows = session.execute(
        sa.select(Deal.renewal_of_id).where(
            Deal.workspace_id == workspace_id, Deal.renewal_of_id.is_not(None)
        )
    )
    return {r[0] for r in rows}
