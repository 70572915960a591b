"""Slack event ids seen before: the Events API retries, Bolt does not de-duplicate."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import SlackEvent


def first_time(session: Session, event_id: str | None, workspace_id: int | None = None) -> bool:
    """Record ``event_id``; True the first time, False for every repeat (any process)."""
    if not event_id:
        return True
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(SlackEvent)
        .values(event_id=event_id[:64], workspace_id=workspace_id)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(SlackEvent.event_id)
    )
    return session.execute(stmt).first() is not None
