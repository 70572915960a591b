"""The weekly summary's reads of every pipeline at once (issue 17): a statement or two for all
the pipelines, not a few per pipeline.

- :func:`open_deals`: the open deals grouped by pipeline, stage, expected close date and
  currency — the forecast of each pipeline and the open half of its §2 rates
  (:mod:`domain.metrics.rates`) from one pass over ``ix_deal_open_stage``.
- :func:`movers`: each pipeline's largest deals that changed stage in the week, per currency.

Both hand back raw sums or rows (money as integer hundredths) that the caller folds through
its :class:`domain.money.Tally` exactly as the per-pipeline functions did, group for group,
so the figures are the same (``tests/test_weekly_sets.py`` holds them equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.deal_reads import StageFacts
from domain.metrics.sql import _dialect, _epoch, _raw, _utc
from storage.models import Deal, Pipeline, Stage, StageHistory

#: ``(month key "YYYY-MM" or None, probability, currency, count, raw amount, Σ creation epochs)``
OpenRow = tuple[str | None, int, str, int, int, float]


def open_deals(
    session: Session, *, workspace_id: int, stages: Iterable[StageFacts]
) -> dict[int, list[OpenRow]]:
    """``{pipeline id: [OpenRow]}``: the open deals (``closed_at`` NULL, in one of the open
    ``stages``) summed per pipeline, month of ``expected_close`` (None without one), stage
    probability and currency — the groups of :func:`domain.metrics.forecast` and of
    :func:`domain.metrics.grouped_rates`' open half, with integer sums, so the same figures.

    The database groups by the stage and the date themselves (no join, no date formatting per
    deal: a hash of a few thousand groups instead of a sort of every open deal); the months
    and probabilities are put together here."""
    probability = {s.id: s.probability for s in stages}
    if not probability:
        return {}
    dialect = _dialect(session)
    rows = session.execute(
        sa.select(
            Deal.pipeline_id,
            Deal.stage_id,
            Deal.expected_close,
            Deal.currency,
            sa.func.count(),
            sa.func.sum(_raw(Deal.amount)),
            sa.func.sum(_epoch(Deal.created_at, dialect)),
        )
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at.is_(None),
            Deal.stage_id.in_(sorted(probability)),
        )
        .group_by(Deal.pipeline_id, Deal.stage_id, Deal.expected_close, Deal.currency)
    ).all()
    acc: dict[tuple, list] = {}
    for pid, sid, close, currency, n, raw, epochs in rows:
        key = f"{close.year:04d}-{close.month:02d}" if close is not None else None
        entry = acc.setdefault((pid, key, probability[sid], currency), [0, 0, 0.0])
        entry[0] += int(n)
        entry[1] += int(raw or 0)
        entry[2] += float(epochs or 0)
    out: dict[int, list[OpenRow]] = {}
    for (pid, key, prob, currency), (n, raw, epochs) in acc.items():
        out.setdefault(pid, []).append((key, prob, currency, n, raw, epochs))
    return out


@dataclass(frozen=True)
class Moved:
    """A deal whose stage changed in the week: its first stage then and its last."""

    number: int
    title: str
    amount: Decimal  # in ``currency``
    currency: str
    from_stage: str
    to_stage: str


def movers(
    session: Session, *, workspace_id: int, start: datetime, end: datetime, per: int
) -> dict[int, dict[str, list[Moved]]]:
    """``{pipeline id: {currency: [Moved]}}``: per pipeline and currency, the ``per`` largest
    deals (amount, then id, descending) whose first stage of the week differs from their last.

    The week's moves of a deal are its ``stage_history`` rows dated in ``[start, end)`` with a
    stage they came from (a creation has none): the first one's (by time, then row id) is
    where it came from, the last one's where it went; a deal that went there and back is no
    mover. Stages are compared by name, as the summary shows them.

    Two statements, however many pipelines: the workspace's (pipeline, currency) pairs by a
    skip scan of ``ix_deal_amount`` (one index probe per pair, not every deal), then one
    ``UNION ALL`` of a walk per pair down ``ix_deal_amount`` from the largest deal, looking up
    each deal's first and last move of the week in ``ix_stage_history_deal`` and stopping at
    the ``per``-th mover. Most deals do not move in a given week, so a walk reads a few dozen
    deals; a week where the largest all went there and back reads on until it finds movers.
    """
    pairs = _pairs(session, workspace_id)
    if not pairs:
        return {}
    params: dict = {"workspace_id": workspace_id, "start": _utc(start), "end": _utc(end)}
    params["per"] = per
    for i, (pid, currency) in enumerate(pairs):
        params[f"p{i}"], params[f"c{i}"] = pid, currency
    found: dict[tuple[int, str], list] = {}
    for pid, currency, deal_id, number, title, amount, src, dst in session.execute(
        _movers_statement(len(pairs)), params
    ):
        found.setdefault((pid, currency), []).append((amount, deal_id, number, title, src, dst))
    out: dict[int, dict[str, list[Moved]]] = {}
    for (pid, currency), rows in found.items():
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)  # largest, then newest, first
        out.setdefault(pid, {})[currency] = [
            Moved(number, title, amount, currency, src, dst)
            for amount, _, number, title, src, dst in rows
        ]
    return out


_PAIRS: sa.Select | None = None


def _pairs(session: Session, workspace_id: int) -> list[tuple[int, str]]:
    """The workspace's distinct ``(pipeline id, currency)`` of its deals, in that order: a
    recursive skip scan (per pipeline, its first currency, then the next after the last one
    found: each one ``min()`` probe of ``ix_deal_amount``), so it costs the pairs, not the
    deals."""
    global _PAIRS
    if _PAIRS is None:
        ws = sa.bindparam("workspace_id")

        def lowest(pipeline_id, after=None):
            d = Deal.__table__.alias("d")
            where = [d.c.workspace_id == ws, d.c.pipeline_id == pipeline_id]
            if after is not None:
                where.append(d.c.currency > after)
            return sa.select(sa.func.min(d.c.currency)).where(*where).scalar_subquery()

        p = Pipeline.__table__
        walk = (
            sa.select(p.c.id.label("pipeline_id"), lowest(p.c.id).label("currency"))
            .where(p.c.workspace_id == ws)
            .cte("pairs", recursive=True)
        )
        walk = walk.union_all(
            sa.select(walk.c.pipeline_id, lowest(walk.c.pipeline_id, walk.c.currency)).where(
                walk.c.currency.is_not(None)
            )
        )
        _PAIRS = (
            sa.select(walk.c.pipeline_id, walk.c.currency)
            .where(walk.c.currency.is_not(None))
            .order_by(walk.c.pipeline_id, walk.c.currency)
        )
    return [(pid, cur) for pid, cur in session.execute(_PAIRS, {"workspace_id": workspace_id})]


_MOVERS: dict[int, sa.CompoundSelect] = {}


def _movers_statement(n: int) -> sa.CompoundSelect:
    """One walk per (pipeline, currency) pair ``:p<i>``/``:c<i>`` (kept per ``n``): the
    pair's deals largest first, each with the names of its first and last stage of the week
    (a correlated lookup per deal walked), kept when they differ, the first ``:per``."""
    stmt = _MOVERS.get(n)
    if stmt is not None:
        return stmt
    parts = []
    for i in range(n):
        d = Deal.__table__.alias(f"d{i}")
        src = _end_of(d, "from_stage_id", last=False)
        dst = _end_of(d, "to_stage_id", last=True)
        part = (
            sa.select(
                d.c.pipeline_id,
                d.c.currency,
                d.c.id,
                d.c.number,
                d.c.title,
                d.c.amount,
                src.label("src"),
                dst.label("dst"),
            )
            .where(
                d.c.workspace_id == sa.bindparam("workspace_id"),
                d.c.pipeline_id == sa.bindparam(f"p{i}"),
                d.c.currency == sa.bindparam(f"c{i}"),
                src != dst,  # NULL (no move this week) is no mover either
            )
            .order_by(d.c.amount.desc(), d.c.id.desc())
            .limit(sa.bindparam("per"))
        )
        parts.append(sa.select(part.subquery(f"m{i}")))
    stmt = sa.union_all(*parts)
    _MOVERS[n] = stmt
    return stmt


def _end_of(deal: sa.Table, column: str, *, last: bool):
    """The name of the stage ``column`` names in the deal's first (or last) move of the week:
    its ``stage_history`` rows in ``[:start, :end)`` with a stage they came from, by time
    then row id (``ix_stage_history_deal``)."""
    h = StageHistory.__table__.alias()
    s = Stage.__table__.alias()
    order = (h.c.at.desc(), h.c.id.desc()) if last else (h.c.at, h.c.id)
    return (
        sa.select(s.c.name)
        .select_from(h)
        .join(s, s.c.id == h.c[column])
        .where(
            h.c.deal_id == deal.c.id,
            h.c.at >= sa.bindparam("start"),
            h.c.at < sa.bindparam("end"),
            h.c.from_stage_id.is_not(None),
        )
        .order_by(*order)
        .limit(1)
        .scalar_subquery()
    )
