"""Why deals were lost: the lost-reason breakdown of ``/pipeline metrics`` and the weekly
summary (issue 13).

Deals lost in ``[start, end)`` (the metrics package's "lost in a period") grouped by their
reason as written, case and surrounding spaces aside (``Budget`` and ``budget `` are one
reason; the first spelling met is shown). Deals lost without a reason count under
``reason=""``, which the views name. Most frequent first, then by amount; the rest beyond
``limit`` reasons fold into one row with ``other=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.metrics.sql import _deal_filters, _money, _raw, _utc
from storage.models import Deal, Outcome, Stage

TOP_REASONS = 5


@dataclass(frozen=True)
class LostReason:
    reason: str  # "" for deals lost without a reason
    count: int
    amount: Decimal
    other: bool = False  # the reasons beyond the top ones, together


def lost_reasons(
    *,
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
    limit: int = TOP_REASONS,
) -> list[LostReason]:
    key = _key()
    rows = session.execute(
        sa.select(
            key, sa.func.min(Deal.lost_reason), sa.func.count(), sa.func.sum(_raw(Deal.amount))
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(*_deal_filters(workspace_id, pipeline_id, owner_id), *_lost_in(start, end))
        .group_by(key)
    ).all()
    return fold(rows, limit)


def lost_reasons_by_pipeline(
    *, session: Session, workspace_id: int, start: datetime, end: datetime
) -> dict[int, list[LostReason]]:
    """:func:`lost_reasons` of every pipeline in one grouped statement (the weekly summary)."""
    key = _key()
    rows = session.execute(
        sa.select(
            Deal.pipeline_id,
            key,
            sa.func.min(Deal.lost_reason),
            sa.func.count(),
            sa.func.sum(_raw(Deal.amount)),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(*_deal_filters(workspace_id, None, None), *_lost_in(start, end))
        .group_by(Deal.pipeline_id, key)
    ).all()
    by_pipeline: dict[int, list] = {}
    for pid, *row in rows:
        by_pipeline.setdefault(pid, []).append(row)
    return {pid: fold(found) for pid, found in by_pipeline.items()}


def _key():
    return sa.func.lower(sa.func.trim(sa.func.coalesce(Deal.lost_reason, ""))).label("k")


def _lost_in(start: datetime, end: datetime) -> list:
    return [
        Stage.outcome == Outcome.lost.value,
        Deal.closed_at >= _utc(start),
        Deal.closed_at < _utc(end),
    ]


def fold(rows, limit: int = TOP_REASONS) -> list[LostReason]:
    """The breakdown from grouped rows ``(key, first spelling, count, raw amount)``."""
    found = [
        LostReason((shown or "").strip() if k else "", int(n), _money(raw))
        for k, shown, n, raw in rows
    ]
    found.sort(key=lambda r: (-r.count, -r.amount, r.reason))
    top, rest = found[:limit], found[limit:]
    if rest:
        top.append(
            LostReason(
                "", sum(r.count for r in rest), sum((r.amount for r in rest), Decimal(0)), True
            )
        )
    return top
