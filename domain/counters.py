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

Beside them, per stage and **UTC day of stage entry** (``deal.stage_entered_at``), how many open
deals entered the stage that day (:class:`storage.models.EntryDayCounter`). The board's stalled
count is "open deals of the stage entered before the stall cut-off, less the snoozed": the whole
days before the cut-off's day are a sum of these rows (one per stage and day of history,
however many deals: :func:`entered_before`), and only the cut-off's own day and the
snoozed deals are read from ``deal`` (:func:`domain.metrics.boards.stalled_by_pipeline`). The same :func:`shift` keeps them:
a :class:`Place` carries the entry day, and every write of ``stage_entered_at`` (create,
move, import, renewal) already shifts the deal's place.

Concurrent movers never lose an update: each change is one ``INSERT … ON CONFLICT DO UPDATE
SET count = count + :d`` (PostgreSQL and SQLite alike) in a fixed key order, so the row
locks two transactions take are taken in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from storage.db import core_rows
from storage.models import BoardCounter, Deal, EntryDayCounter

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Place:
    """Where one open deal counts: its stage and currency, its amount in hundredths, and the
    UTC day it entered the stage."""

    workspace_id: int
    pipeline_id: int
    stage_id: int
    currency: str
    raw: int
    day: date

    @property
    def key(self) -> tuple[int, int, int, str]:
        return (self.workspace_id, self.pipeline_id, self.stage_id, self.currency)

    @property
    def day_key(self) -> tuple[int, int, int, date]:
        return (self.workspace_id, self.pipeline_id, self.stage_id, self.day)


def entry_day(entered: datetime) -> date:
    """The UTC day of a stage entry: the entry-day counters' key."""
    return entered.astimezone(UTC).date()


def raw(amount: Decimal | None) -> int:
    """An amount in hundredths, rounded as :class:`storage.types.Money` stores it."""
    return int((Decimal(amount or 0) * HUNDRED).to_integral_value(ROUND_HALF_UP))


def place(deal: Any) -> Place | None:
    """Where ``deal`` (a :class:`Deal` or any row with its columns) counts; None when closed."""
    if deal.closed_at is not None:
        return None
    return Place(
        deal.workspace_id,
        deal.pipeline_id,
        deal.stage_id,
        deal.currency,
        raw(deal.amount),
        entry_day(deal.stage_entered_at),
    )


def shift(
    session: Session, before: Iterable[Place | None] = (), after: Iterable[Place | None] = ()
) -> None:
    """Take the deals out of the places ``before`` and add them to those ``after``."""
    deltas: dict[tuple[int, int, int, str], list[int]] = {}
    days: dict[tuple[int, int, int, date], int] = {}
    for sign, places in ((-1, before), (1, after)):
        for p in places:
            if p is not None:
                entry = deltas.setdefault(p.key, [0, 0])
                entry[0] += sign
                entry[1] += sign * p.raw
                days[p.day_key] = days.get(p.day_key, 0) + sign
    _upsert(
        session,
        BoardCounter.__table__,
        ["workspace_id", "pipeline_id", "stage_id", "currency"],
        [
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
        ],
    )
    _upsert(
        session,
        EntryDayCounter.__table__,
        ["workspace_id", "pipeline_id", "stage_id", "day"],
        [
            {
                "workspace_id": key[0],
                "pipeline_id": key[1],
                "stage_id": key[2],
                "day": key[3],
                "count": n,
            }
            for key, n in sorted(days.items())
            if n
        ],
    )


def _upsert(session: Session, table: sa.Table, keys: list[str], rows: list[dict]) -> None:
    """Add each row's figures to the stored ones (a new row where there is none)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = [name for name in rows[0] if name not in keys]
    for i in range(0, len(rows), 500):
        stmt = insert(table).values(rows[i : i + 500])
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=keys,
                set_={name: table.c[name] + stmt.excluded[name] for name in added},
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
                Deal.stage_entered_at,
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


_TOTALS = sa.select(
    BoardCounter.stage_id, BoardCounter.currency, BoardCounter.count, BoardCounter.amount
).where(
    BoardCounter.workspace_id == sa.bindparam("workspace_id"),
    BoardCounter.pipeline_id == sa.bindparam("pipeline_id"),
    BoardCounter.count != 0,
)


def stage_totals_statement() -> sa.Select:
    """:func:`stage_totals`'s statement (bound ``workspace_id`` and ``pipeline_id``), for a
    reader that adds to it (:func:`domain.metrics.boards.board`)."""
    return _TOTALS


def stage_totals(
    session: Session, *, workspace_id: int, pipeline_id: int
) -> list[tuple[int, str, int, int]]:
    """``(stage id, currency, count, raw amount)`` of one pipeline's open deals (one prebuilt
    statement: built and keyed once per process)."""
    rows = core_rows(session, _TOTALS, {"workspace_id": workspace_id, "pipeline_id": pipeline_id})
    return [(sid, cur, int(n), int(amount)) for sid, cur, n, amount in rows]


_ALL_TOTALS = sa.select(
    BoardCounter.pipeline_id,
    BoardCounter.stage_id,
    BoardCounter.currency,
    BoardCounter.count,
    BoardCounter.amount,
).where(BoardCounter.workspace_id == sa.bindparam("workspace_id"), BoardCounter.count != 0)


def pipeline_totals(
    session: Session, *, workspace_id: int
) -> dict[int, list[tuple[int, str, int, int]]]:
    """:func:`stage_totals` of every pipeline of the workspace, in one statement: ``{pipeline
    id: [(stage id, currency, count, raw amount)]}`` (the weekly summary's boards)."""
    out: dict[int, list[tuple[int, str, int, int]]] = {}
    for pid, sid, cur, n, amount in core_rows(session, _ALL_TOTALS, {"workspace_id": workspace_id}):
        out.setdefault(pid, []).append((sid, cur, int(n), int(amount)))
    return out


_ENTERED: dict[tuple[int, int], sa.Select] = {}


def entered_before(n: int, k: int = 1) -> sa.Select:
    """``(stage id, open deals that entered it before the UTC day :d<i>)`` for the stages
    ``:s0 … :s<n-1>`` of the pipelines ``:p0 … :p<k-1>``, from the entry-day counters: a sum
    over one row per stage and day of history, however many deals. Kept per ``(n, k)``: the
    per-stage day is a CASE of bound parameters, so the statement is built and keyed once per
    stage and pipeline count."""
    stmt = _ENTERED.get((n, k))
    if stmt is None:
        c = EntryDayCounter.__table__.c
        limit = sa.case(
            *(
                (c.stage_id == sa.bindparam(f"s{i}"), sa.bindparam(f"d{i}", type_=sa.Date))
                for i in range(n)
            )
        )
        stmt = (
            sa.select(c.stage_id, sa.func.sum(c.count))
            .where(
                c.workspace_id == sa.bindparam("workspace_id"),
                c.pipeline_id.in_([sa.bindparam(f"p{j}") for j in range(k)]),
                c.stage_id.in_([sa.bindparam(f"s{i}") for i in range(n)]),
                c.day < limit,
            )
            .group_by(c.stage_id)
        )
        _ENTERED[(n, k)] = stmt
    return stmt


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


def recount_days(workspace_id: int | None = None) -> sa.Select:
    """The entry-day counters computed from scratch: open deals grouped by stage and the UTC
    day of their stage entry (SQLite keeps naive UTC text, PostgreSQL an aware timestamp)."""
    query = sa.select(
        Deal.workspace_id,
        Deal.pipeline_id,
        Deal.stage_id,
        _utc_day(),
        sa.func.count(),
    ).where(Deal.closed_at.is_(None))
    if workspace_id is not None:
        query = query.where(Deal.workspace_id == workspace_id)
    return query.group_by(Deal.workspace_id, Deal.pipeline_id, Deal.stage_id, _utc_day())


class _UTCDay(FunctionElement):
    """The UTC date of ``deal.stage_entered_at`` in SQL, per dialect."""

    type = sa.Date()
    inherit_cache = True
    name = "utc_day"


@compiles(_UTCDay, "postgresql")
def _utc_day_pg(element, compiler, **kw):
    return "CAST(timezone('UTC', deal.stage_entered_at) AS DATE)"


@compiles(_UTCDay)
def _utc_day_sqlite(element, compiler, **kw):
    return "substr(deal.stage_entered_at, 1, 10)"


def _utc_day() -> _UTCDay:
    return _UTCDay()


def rebuild(session: Session, workspace_id: int | None = None) -> None:
    """Recompute the counters (of one workspace, or all) from the deals: after deals were
    written without the domain (benchmark fills, repairs)."""
    c = BoardCounter.__table__
    d = EntryDayCounter.__table__
    for table in (c, d):
        delete = sa.delete(table)
        if workspace_id is not None:
            delete = delete.where(table.c.workspace_id == workspace_id)
        session.execute(delete)
    columns = ["workspace_id", "pipeline_id", "stage_id", "currency", "count", "amount"]
    session.execute(sa.insert(c).from_select(columns, recount(workspace_id)))
    columns = ["workspace_id", "pipeline_id", "stage_id", "day", "count"]
    session.execute(sa.insert(d).from_select(columns, recount_days(workspace_id)))
