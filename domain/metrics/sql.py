"""Shared SQL helpers of the reports: money as raw hundredths, epochs on either database, the
open-deal and deal-pipeline filters, period keys. Package-private (``_`` names) except
:func:`period_key`, :data:`DAY_SECONDS` and :data:`ZERO`; the conventions they implement are
described in :mod:`domain.metrics`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from storage.models import Deal, Outcome, Pipeline, PipelineKind, Stage
from storage.types import CENT, from_hundredths

DAY_SECONDS = 86400.0
ZERO = Decimal(0).quantize(CENT)
_UNIX_JULIAN_DAY = 2440587.5  # julianday('1970-01-01')


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _raw(col: Any) -> Any:
    """A Money column as its stored integer hundredths (exact to sum)."""
    return sa.type_coerce(col, sa.BigInteger)


def _epoch(col: Any, dialect: str) -> Any:
    """Seconds since 1970 of a UTC datetime column, as a float, on either database."""
    if dialect == "postgresql":
        # date_part gives double precision; EXTRACT gives numeric, twice as slow to sum.
        return sa.func.date_part("epoch", col, type_=sa.Float)
    # SQLite keeps naive UTC text; julianday() reads it.
    return (sa.func.julianday(col) - _UNIX_JULIAN_DAY) * DAY_SECONDS


def period_key(col: Any, by: str, dialect: str) -> Any:
    """``YYYY-MM`` (month) or ``YYYY-QN`` (quarter) of a DATE column, in SQL; NULL stays NULL."""
    if by not in ("month", "quarter"):
        raise ValueError(f"unknown forecast grouping {by!r}")
    if dialect == "postgresql":
        return sa.func.to_char(col, "YYYY-MM" if by == "month" else 'YYYY-"Q"Q')
    if by == "month":
        return sa.func.strftime("%Y-%m", col)
    quarter = (sa.cast(sa.func.strftime("%m", col), sa.Integer) + 2) // 3
    return sa.func.strftime("%Y", col) + "-Q" + sa.cast(quarter, sa.String)


def _parse_key(key: str | None) -> date | None:
    if not key:
        return None
    year, rest = key.split("-", 1)
    if rest.startswith("Q"):
        return date(int(year), 3 * int(rest[1:]) - 2, 1)
    return date(int(year), int(rest), 1)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("metrics need aware datetimes")
    return dt.astimezone(UTC)


def _ratio(num: int, den: int) -> Decimal | None:
    return Decimal(num) / Decimal(den) if den else None


def _weighted(raw_sum: Any, probability: int) -> Decimal:
    """Raw hundredths summed in one stage × that stage's probability %."""
    return from_hundredths(Decimal(raw_sum or 0) * probability, scale=100)


def _money(raw_sum: Any) -> Decimal:
    return from_hundredths(raw_sum or 0)


def _deal_filters(workspace_id: int, pipeline_id: int | None, owner_id: int | None) -> list:
    conds = [Deal.workspace_id == workspace_id]
    if pipeline_id is not None:
        conds.append(Deal.pipeline_id == pipeline_id)
    if owner_id is not None:
        conds.append(Deal.owner_id == owner_id)
    return conds


def _open_filters(session: Session, workspace_id: int, pipeline_id: int | None = None) -> list:
    """Open deals (of one pipeline). The pipeline is also spelled as ``stage_id IN (its open
    stages)``, as literal ids, so the database walks ``ix_deal_open_stage`` by stage instead of
    scanning every open deal of the workspace for each pipeline, and PostgreSQL's planner sees
    which stages (with a subquery it guessed a few hundred rows and left the covering index)."""
    conds = [Deal.closed_at.is_(None), Stage.outcome == Outcome.open.value]
    if pipeline_id is not None:
        stages = _deal_stages(session, workspace_id, pipeline_id)
        conds.append(
            Deal.stage_id.in_([s.id for s, _ in stages if s.outcome == Outcome.open.value])
        )
    return conds


def _deal_stages(
    session: Session, workspace_id: int, pipeline_id: int | None
) -> list[tuple[Stage, Pipeline]]:
    """Stages of the deal pipelines (or one pipeline), in pipeline then stage order."""
    q = (
        sa.select(Stage, Pipeline)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .where(Stage.workspace_id == workspace_id, Pipeline.kind == PipelineKind.deal.value)
        .order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)
    )
    if pipeline_id is not None:
        q = q.where(Stage.pipeline_id == pipeline_id)
    return [(s, p) for s, p in session.execute(q).all()]


class _Likely(FunctionElement):
    """A condition most rows meet, said so to SQLite's planner (``likelihood(c, 0.99)``);
    the condition itself elsewhere."""

    type = sa.types.NullType()  # not Boolean: SQLite would get "likelihood(…) = 1"
    inherit_cache = True
    name = "likely_true"


@compiles(_Likely, "sqlite")
def _likely_sqlite(element, compiler, **kw):
    return f"likelihood({compiler.process(element.clauses.clauses[0], **kw)}, 0.99)"


@compiles(_Likely)
def _likely_other(element, compiler, **kw):
    return compiler.process(element.clauses.clauses[0], **kw)


def likely(condition: Any) -> Any:
    """``condition``, which most rows meet. For SQLite's planner, whose statistics count
    ``closed_at IS NULL`` as one row in a few (each closed deal its own ``closed_at``) although
    a third of the deals are open: with it, a partial index over open deals is not passed
    over for a skip-scan of all the open deals of every workspace (~60 ms at 1M)."""
    return _Likely(condition)
