"""Close counters: closed deals by the UTC day they closed, the stage they are in and each
stage they had reached (:class:`storage.models.CloseCounter`).

Probability calibration (:mod:`domain.metrics.calibration`) asks, per stage, how many of the
deals closed in a window had reached it and how many of those were won. Joining every closed
deal's stage history for that grows with the history (9 s of the weekly summary at 1M deals,
issue 17); these rows answer it per whole day with a sum over at most the window's days.

A deal *counts* while ``closed_at`` is set: on ``closed_at``'s UTC day, in its current stage,
once for every distinct stage its history went into. Every change of that — created closed,
moved (won, lost, reopened, moved between closed stages), imported — calls :func:`shift` in
its own transaction with the deal's close before and after, like the board counters
(:mod:`domain.counters`). Deals are never deleted but with their workspace, which takes its
counters with it; a stage with history cannot be deleted. Whether a stage is won or lost is
read with the counters, so changing a stage's outcome needs no rewrite.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import CloseCounter, Deal, StageHistory


@dataclass(frozen=True)
class Close:
    """Where one closed deal counts: its workspace, day, stage and the stages it reached."""

    workspace_id: int
    day: date
    stage_id: int
    reached: frozenset[int]


def reached(session: Session, deal_id: int) -> frozenset[int]:
    """The stages the deal's history went into (from its own index range)."""
    h = StageHistory
    rows = session.execute(sa.select(h.to_stage_id).where(h.deal_id == deal_id).distinct())
    return frozenset(rows.scalars())


def close(deal: Any, stages: Iterable[int]) -> Close | None:
    """Where ``deal`` counts with these reached stages; None while it is open."""
    if deal.closed_at is None:
        return None
    return Close(
        deal.workspace_id,
        deal.closed_at.astimezone(UTC).date(),
        deal.stage_id,
        frozenset(stages),
    )


def shift(
    session: Session, before: Iterable[Close | None] = (), after: Iterable[Close | None] = ()
) -> None:
    """Take the deals out of the closes ``before`` and add them to those ``after``."""
    deltas: dict[tuple[int, date, int, int], int] = {}
    for sign, closes in ((-1, before), (1, after)):
        for c in closes:
            if c is not None:
                for stage_id in c.reached:
                    key = (c.workspace_id, c.day, c.stage_id, stage_id)
                    deltas[key] = deltas.get(key, 0) + sign
    rows = [
        {"workspace_id": k[0], "day": k[1], "stage_id": k[2], "reached_id": k[3], "count": n}
        for k, n in sorted(deltas.items())
        if n
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = CloseCounter.__table__
    for i in range(0, len(rows), 500):
        stmt = insert(table).values(rows[i : i + 500])
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["workspace_id", "day", "stage_id", "reached_id"],
                set_={"count": table.c.count + stmt.excluded.count},
            )
        )


def day_of(column, dialect: str):
    """A UTC timestamp column's day, in SQL."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.type_coerce(sa.func.date(column), sa.Date)


def recount(dialect: str, workspace_id: int | None = None) -> sa.Select:
    """The counters as the deals and their histories give them (rebuilds, tests)."""
    h = StageHistory
    pairs = sa.select(h.deal_id, h.to_stage_id).distinct()
    if workspace_id is not None:
        pairs = pairs.where(h.workspace_id == workspace_id)
    pairs = pairs.subquery()
    day = day_of(Deal.closed_at, dialect)
    query = (
        sa.select(Deal.workspace_id, day, Deal.stage_id, pairs.c.to_stage_id, sa.func.count())
        .join(pairs, pairs.c.deal_id == Deal.id)
        .where(Deal.closed_at.is_not(None))
        .group_by(Deal.workspace_id, day, Deal.stage_id, pairs.c.to_stage_id)
    )
    if workspace_id is not None:
        query = query.where(Deal.workspace_id == workspace_id)
    return query


def rebuild(session: Session, workspace_id: int | None = None) -> None:
    """Recompute the counters (of one workspace, or all) from the deals: after deals were
    written without the domain (benchmark fills, repairs)."""
    c = CloseCounter.__table__
    delete = sa.delete(c)
    if workspace_id is not None:
        delete = delete.where(c.c.workspace_id == workspace_id)
    session.execute(delete)
    dialect = session.get_bind().dialect.name
    columns = ["workspace_id", "day", "stage_id", "reached_id", "count"]
    session.execute(sa.insert(c).from_select(columns, recount(dialect, workspace_id)))
