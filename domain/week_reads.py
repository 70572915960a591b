"""The weekly summary's reads of every pipeline at once (issue 17): one grouped statement each,
not one per pipeline.

- :func:`open_deals`: the open deals grouped by pipeline, expected close month, stage
  probability and currency — the forecast of each pipeline and the open half of its §2 rates
  (:mod:`domain.metrics.rates`) from one pass over ``ix_deal_open_stage``.
- :func:`movers`: each pipeline's largest deals that changed stage in the week, per currency,
  from the week's stage moves.

Both return the raw grouped sums (money as integer hundredths), so the caller folds them
through its :class:`domain.money.Tally` exactly as the per-pipeline functions did: the
figures are the same, group for group (``tests/test_weekly_sets.py`` holds them equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from domain.metrics.sql import _dialect, _epoch, _raw, _utc, period_key
from storage.models import Deal, Outcome, Stage, StageHistory

#: ``(month key, probability, currency, count, raw amount, Σ creation epochs)``
OpenRow = tuple[str | None, int, str, int, int, float]


def open_deals(session: Session, *, workspace_id: int) -> dict[int, list[OpenRow]]:
    """``{pipeline id: [OpenRow]}``: the workspace's open deals (``closed_at`` NULL, in an
    open stage) grouped by pipeline, month of ``expected_close`` (None without one), stage
    probability and currency."""
    dialect = _dialect(session)
    key = period_key(Deal.expected_close, "month", dialect).label("k")
    rows = session.execute(
        sa.select(
            Deal.pipeline_id,
            key,
            Stage.probability,
            Deal.currency,
            sa.func.count(),
            sa.func.sum(_raw(Deal.amount)),
            sa.func.sum(_epoch(Deal.created_at, dialect)),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at.is_(None),
            Stage.outcome == Outcome.open.value,
        )
        .group_by(Deal.pipeline_id, key, Stage.probability, Deal.currency)
    ).all()
    out: dict[int, list[OpenRow]] = {}
    for pid, k, prob, currency, n, raw, epochs in rows:
        out.setdefault(pid, []).append(
            (k, prob, currency, int(n), int(raw or 0), float(epochs or 0))
        )
    return out


@dataclass(frozen=True)
class Moved:
    """A deal whose stage changed in the week: its first stage then and its last."""

    deal_id: int
    number: int
    title: str
    amount: object  # Decimal, in ``currency``
    currency: str
    from_stage: str
    to_stage: str


def movers(
    session: Session, *, workspace_id: int, start: datetime, end: datetime, per: int
) -> dict[int, dict[str, list[Moved]]]:
    """``{pipeline id: {currency: [Moved]}}``: per pipeline and currency, the ``per`` largest
    deals (amount, then id, descending) whose first stage of the week differs from their last.

    The week's moves are the ``stage_history`` rows dated in ``[start, end)`` with a stage
    they came from (a creation has none). Per deal, its first move's stage (by time, then row
    id) is where it came from and its last move's where it went; a deal that went there and
    back is no mover. Stages are compared by name, as the summary shows them. Window
    functions rank them in the database, so only the winners travel (both databases).
    """
    h = StageHistory
    first = sa.func.row_number().over(partition_by=h.deal_id, order_by=(h.at, h.id))
    last = sa.func.row_number().over(partition_by=h.deal_id, order_by=(h.at.desc(), h.id.desc()))
    week = (
        sa.select(
            h.deal_id,
            h.from_stage_id,
            h.to_stage_id,
            first.label("first"),
            last.label("last"),
        )
        .where(
            h.workspace_id == workspace_id,
            h.at >= _utc(start),
            h.at < _utc(end),
            h.from_stage_id.is_not(None),
        )
        .subquery("week")
    )
    ends = (
        sa.select(
            week.c.deal_id,
            sa.func.max(sa.case((week.c.first == 1, week.c.from_stage_id))).label("src"),
            sa.func.max(sa.case((week.c.last == 1, week.c.to_stage_id))).label("dst"),
        )
        .where(sa.or_(week.c.first == 1, week.c.last == 1))
        .group_by(week.c.deal_id)
        .subquery("ends")
    )
    src, dst = aliased(Stage), aliased(Stage)
    rank = sa.func.row_number().over(
        partition_by=(Deal.pipeline_id, Deal.currency),
        order_by=(Deal.amount.desc(), Deal.id.desc()),
    )
    ranked = (
        sa.select(
            Deal.pipeline_id,
            Deal.currency,
            Deal.id,
            Deal.number,
            Deal.title,
            Deal.amount,
            src.name.label("src_name"),
            dst.name.label("dst_name"),
            rank.label("rank"),
        )
        .select_from(ends)
        .join(Deal, Deal.id == ends.c.deal_id)
        .join(src, src.id == ends.c.src)
        .join(dst, dst.id == ends.c.dst)
        .where(src.name != dst.name)
        .subquery("ranked")
    )
    rows = session.execute(
        sa.select(ranked)
        .where(ranked.c.rank <= per)
        .order_by(ranked.c.pipeline_id, ranked.c.currency, ranked.c.rank)
    ).all()
    out: dict[int, dict[str, list[Moved]]] = {}
    for pid, currency, deal_id, number, title, amount, from_name, to_name, _ in rows:
        out.setdefault(pid, {}).setdefault(currency, []).append(
            Moved(deal_id, number, title, amount, currency, from_name, to_name)
        )
    return out
