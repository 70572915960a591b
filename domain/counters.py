"""Board counters: per stage and currency, how many open deals and their amount.

The board (``/pipeline``, App Home, the weekly summary) reads these rows instead of aggregating
open deals, so it costs the same at 1,000 deals as at 1,000,000 (issue 17). Every change of a
deal's place — created, moved (won, lost, reopened), amount or currency changed, imported,
renewed — calls :func:`shift` in its own transaction with where the deal counted before and
after. A workspace erased takes its counters with it (``erase`` deletes every table's rows).

A deal *counts* while it is open (``closed_at`` NULL), in its stage and currency, with its
amount in raw hundredths (:class:`storage.types.Money`). Amounts stay per currency; the
board converts at read time as before (:mod:`domain.money`). The weighted amount is not
stored: it is ``amount × the stage's probability``, taken when the board is read, so a
probability change is right at once with nothing to rewrite.

Concurrent movers never lose an update: each change is one ``INSERT … ON CONFLICT DO UPDATE
SET count = count + :d`` (PostgreSQL and SQLite alike) in a fixed key order, so the row
locks two transactions take are taken in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import BoardCounter, Deal

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Place:
    """Where one open deal counts: its stage and currency, and its amount in hundredths."""

    workspace_id: int
    pipeline_id: int
    stage_id: int
    currency: str
    raw: int

    @property
    def key(self) -> tuple[int, int, int, str]:
        return (self.workspace_id, self.pipeline_id, self.stage_id, self.currency)


def raw(amount: Decimal | None) -> int:
    """An amount in hundredths, rounded as :class:`storage.types.Money` stores it."""
    return int((Decimal(amount or 0) * HUNDRED).to_integral_value(ROUND_HALF_UP))


def place(deal: Any) -> Place | None:
    """Where ``deal`` (a :class:`Deal` or any row with its columns) counts; None when closed."""
    if deal.closed_at is not None:
        return None
    return Place(
        deal.workspace_id, deal.pipeline_id, deal.stage_id, deal.currency, raw(deal.amount)
    )


def shift(
    session: Session, before: Iterable[Place | None] = (), after: Iterable[Place | None] = ()
) -> None:
    """Take the deals out of the places ``before`` and add them to those ``after``."""
    deltas: dict[tuple[int, int, int, str], list[int]] = {}
    for sign, places in ((-1, before), (1, after)):
        for p in places:
            if p is not None:
                entry = deltas.setdefault(p.key, [0, 0])
                entry[0] += sign
                entry[1] += sign * p.raw
    rows = [
        {
            "workspace_id": key[0],
            "pipeline_id": key[1],
            "stage_id": key[2],
            "currency": key[3],
            "count": n,
            "amount": amount,
        }
        for key, (n, amount) in sorted(deltas.items())
        if n or amount
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = BoardCounter.__table__
    for i in range(0, len(rows), 500):
        stmt = insert(table).values(rows[i : i + 500])
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["workspace_id", "pipeline_id", "stage_id", "currency"],
                set_={
                    "count": table.c.count + stmt.excluded.count,
                    "amount": table.c.amount + stmt.excluded.amount,
                },
            )
        )


def places(session: Session, deal_ids: Iterable[int]) -> list[Place | None]:
    """Where each of these deals counts now, read from the database."""
    ids = sorted(set(deal_ids))
    out: list[Place | None] = []
    for i in range(0, len(ids), 1000):
        rows = session.execute(
            sa.select(
                Deal.workspace_id,
                Deal.pipeline_id,
                Deal.stage_id,
                Deal.currency,
                Deal.amount,
                Deal.closed_at,
            ).where(Deal.id.in_(ids[i : i + 1000]))
        ).all()
        out.extend(place(r) for r in rows)
    return out


@contextmanager
def following(session: Session, deal_ids: Iterable[int]) -> Iterator[None]:
    """Around a bulk ``UPDATE`` of deals (imports): where they counted before it, and after."""
    ids = list(deal_ids)
    before = places(session, ids)
    yield
    session.flush()
    shift(session, before, places(session, ids))


def stage_totals(
    session: Session, *, workspace_id: int, pipeline_id: int
) -> list[tuple[int, str, int, int]]:
    """``(stage id, currency, count, raw amount)`` of one pipeline's open deals."""
    c = BoardCounter
    rows = session.execute(
        sa.select(c.stage_id, c.currency, c.count, c.amount).where(
            c.workspace_id == workspace_id, c.pipeline_id == pipeline_id, c.count != 0
        )
    ).all()
    return [(sid, cur, int(n), int(amount)) for sid, cur, n, amount in rows]


def recount(workspace_id: int | None = None) -> sa.Select:
    """The counters computed from scratch: open deals grouped by their place."""
    query = sa.select(
        Deal.workspace_id,
        Deal.pipeline_id,
        Deal.stage_id,
        Deal.currency,
        sa.func.count(),
        sa.func.sum(sa.type_coerce(Deal.amount, sa.BigInteger)),
    ).where(Deal.closed_at.is_(None))
    if workspace_id is not None:
        query = query.where(Deal.workspace_id == workspace_id)
    return query.group_by(Deal.workspace_id, Deal.pipeline_id, Deal.stage_id, Deal.currency)


def rebuild(session: Session, workspace_id: int | None = None) -> None:
    """Recompute the counters (of one workspace, or all) from the deals: after deals were
    written without the domain (benchmark fills, repairs)."""
    c = BoardCounter.__table__
    delete = sa.delete(c)
    if workspace_id is not None:
        delete = delete.where(c.c.workspace_id == workspace_id)
    session.execute(delete)
    columns = ["workspace_id", "pipeline_id", "stage_id", "currency", "count", "amount"]
    session.execute(sa.insert(c).from_select(columns, recount(workspace_id)))
