"""Duplicate warnings for new deals and leads (issue 13).

A new deal looks like an existing one when its title (case and spacing aside) and company are
the same; a new lead when its email (case aside) or its company is. The new record is kept
and the person is warned with the existing references: two deals with one customer are often
real (a second project), and the rep knows which.

The exception is an **exact repeat**: the same person creating a deal with the same title,
company, amount and pipeline within :data:`REPEAT_WINDOW` of the first (a double-submitted
modal, a command sent twice). That is refused with the existing deal's reference, and
nothing is created.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.errors import InvalidInput
from storage.models import Deal, Lead

REPEAT_WINDOW = timedelta(minutes=10)
MAX_SHOWN = 5


def _folded_title(title: str) -> str:
    return " ".join((title or "").split()).lower()


def similar_deals(*, session: Session, deal: Deal) -> list[Deal]:
    """Other deals of the workspace with ``deal``'s title and company, newest first."""
    same_company = (
        Deal.company_id == deal.company_id
        if deal.company_id is not None
        else Deal.company_id.is_(None)
    )
    candidates = session.exec(
        select(Deal)
        .where(
            Deal.workspace_id == deal.workspace_id,
            Deal.id != deal.id,
            same_company,
            sa.func.lower(Deal.title) == sa.func.lower(sa.literal(deal.title, sa.String)),
        )
        .order_by(Deal.number.desc())
    ).all()
    # The database folds ASCII only (SQLite); spacing and other letters are folded here.
    title = _folded_title(deal.title)
    return [d for d in candidates if _folded_title(d.title) == title]


def refuse_exact_repeat(*, deal: Deal, similar: list[Deal], now: datetime) -> None:
    """Raise when ``deal`` repeats one of ``similar`` exactly and just now (module doc)."""
    for other in similar:
        created = other.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=now.tzinfo)
        if (
            other.owner_id == deal.owner_id
            and other.amount == deal.amount
            and other.pipeline_id == deal.pipeline_id
            and other.closed_at is None
            and now - created <= REPEAT_WINDOW
        ):
            raise InvalidInput("sales.duplicate.repeat", ref=f"D{other.number}")


def similar_leads(*, session: Session, lead: Lead) -> tuple[str, list[Lead]] | None:
    """(``"email"`` or ``"company"``, the other leads) when another lead shares the new
    lead's email, else its company; None when none does."""
    base = select(Lead).where(Lead.workspace_id == lead.workspace_id, Lead.id != lead.id)
    if lead.email:
        email = lead.email.strip().lower()
        same = session.exec(
            base.where(sa.func.lower(Lead.email) == email).order_by(Lead.number.desc())
        ).all()
        if same:
            return "email", list(same)
    if lead.company_id is not None:
        same = session.exec(
            base.where(Lead.company_id == lead.company_id).order_by(Lead.number.desc())
        ).all()
        if same:
            return "company", list(same)
    return None
