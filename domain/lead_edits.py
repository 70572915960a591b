"""``/lead set L7 title:CTO size:120 industry:제조`` (issue 15): a lead's built-in fields and
its custom fields changed together. Everything is checked before anything is written (the
custom values were read and checked by the adapter; the owner check comes first), and the
lead is scored again afterwards: its size, source, title and custom values feed the rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from domain import custom_fields as cf
from domain import lead_scores
from domain.errors import InvalidInput
from domain.leads import MAX_NAME, _require_can_change
from storage.models import CustomField, Lead, Member, Workspace

BUILT_IN = ("name", "email", "source", "company_size", "job_title")


def set_fields(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member,
    lead: Lead,
    now: datetime,
    built_in: dict[str, Any],
    values: dict[int, tuple[CustomField, Any]],
) -> tuple[list[tuple[str, Any, Any]], list[tuple[CustomField, Any, Any]]]:
    """``built_in``: ``{column: value}`` of :data:`BUILT_IN` (None: unchanged, "": cleared);
    ``values``: custom values for leads. Returns what changed: ``(column, old, new)`` and
    ``(field, old, new)``."""
    _require_can_change(actor, lead)
    _check(built_in)
    wanted = {k: (None if v == "" else v) for k, v in built_in.items() if v is not None}
    plain = [
        (column, getattr(lead, column), value)
        for column, value in wanted.items()
        if getattr(lead, column) != value
    ]
    changed = cf.set_values(session=session, workspace=workspace, record_id=lead.id, values=values)
    if not plain and not changed:
        raise InvalidInput("leadset.unchanged", number=lead.number)
    for column, _, value in plain:
        setattr(lead, column, value)
    session.add(lead)
    session.flush()
    lead_scores.lead_changed(session=session, lead=lead, now=now)
    by_key = {f.key: f for f, _ in values.values()}
    return plain, [(by_key[key], old, new) for key, (old, new) in changed.items()]


def _check(built_in: dict[str, Any]) -> None:
    name = built_in.get("name")
    if name is not None and not name.strip():
        raise InvalidInput("lead.name_required", usage="lead_set")
    if name is not None and len(name) > MAX_NAME:
        raise InvalidInput("lead.name_too_long", limit=MAX_NAME)
    size = built_in.get("company_size")
    if size is not None and size < 0:
        raise InvalidInput("lead.bad_size", value=str(size), usage="lead_set")


def set_new(
    *,
    session: Session,
    workspace: Workspace,
    lead: Lead,
    values: dict[int, tuple[CustomField, Any]],
    now: datetime,
) -> None:
    """A new lead's custom values (``/lead new … industry:제조`` or the modal), scored again."""
    if values and cf.set_values(
        session=session, workspace=workspace, record_id=lead.id, values=values
    ):
        lead_scores.lead_changed(session=session, lead=lead, now=now)
