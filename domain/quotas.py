"""Quotas (``/pipeline quota``): a target amount per member or for the team, per calendar
month (``2027-01``) or quarter (``2027-Q1``). Admins set them; the coach reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.errors import InvalidInput
from domain.workspaces import require_admin
from storage.models import Member, Quota, Workspace

TEAM = "team"


@dataclass(frozen=True)
class Span:
    """A calendar month or quarter: ``label`` is how quotas store it."""

    label: str  # "2027-01" | "2027-Q1"
    start: date
    end: date  # exclusive

    @property
    def is_quarter(self) -> bool:
        return "-Q" in self.label


def month_of(day: date) -> Span:
    start = day.replace(day=1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return Span(f"{start.year}-{start.month:02d}", start, end)


def quarter_of(day: date) -> Span:
    q = (day.month - 1) // 3 + 1
    start = date(day.year, 3 * q - 2, 1)
    end = date(day.year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return Span(f"{day.year}-Q{q}", start, end)


def span_of(start: date | None, end: date | None) -> Span:
    """The month or quarter ``[start, end)`` names; anything else is refused."""
    if start is not None and end is not None:
        for span in (month_of(start), quarter_of(start)):
            if (span.start, span.end) == (start, end):
                return span
    raise InvalidInput("coach.quota_bad_period")


def scope_of(member: Member | None) -> str:
    return TEAM if member is None else f"m{member.id}"


def set_quota(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member,
    member: Member | None,
    span: Span,
    amount: Decimal,
    currency: str,
    now: datetime,
) -> Quota:
    """Create or replace the quota of ``member`` (None: the team) for ``span``."""
    require_admin(actor)
    if amount <= 0:
        raise InvalidInput("coach.quota_not_positive")
    if currency.upper() != workspace.currency.upper():
        raise InvalidInput("coach.quota_currency", currency=currency, workspace=workspace.currency)
    scope = scope_of(member)
    quota = session.exec(
        select(Quota).where(
            Quota.workspace_id == workspace.id, Quota.scope == scope, Quota.period == span.label
        )
    ).first()
    if quota is None:
        quota = Quota(workspace_id=workspace.id, scope=scope, period=span.label, amount=amount)
    quota.member_id = member.id if member else None
    quota.amount = amount
    quota.currency = workspace.currency
    quota.set_by_id = actor.id
    quota.updated_at = now
    session.add(quota)
    session.flush()
    return quota


def quotas_for(
    *, session: Session, workspace_id: int, labels: list[str]
) -> dict[tuple[str, str], Decimal]:
    """``{(scope, period label): amount}`` of the given periods."""
    rows = session.execute(
        sa.select(Quota.scope, Quota.period, Quota.amount).where(
            Quota.workspace_id == workspace_id, Quota.period.in_(labels)
        )
    ).all()
    return {(scope, period): amount for scope, period, amount in rows}
