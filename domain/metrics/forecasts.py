"""The weighted forecast (``/pipeline forecast``): open deals by expected close month or
quarter; and the open pipeline's totals the plan compares with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain import money
from domain.metrics.sql import (
    ZERO,
    _deal_filters,
    _dialect,
    _money,
    _open_filters,
    _parse_key,
    _raw,
    _utc,
    _weighted,
    period_key,
)
from domain.money import Tally
from storage.models import Deal, Stage


@dataclass(frozen=True)
class ForecastRow:
    """Open deals expected to close in one month / quarter.

    ``period_label`` is canonical (``2026-12``, ``2026-Q4``; ``""`` for the no-date row, whose
    ``start_date`` is None); views turn it into words. ``overdue_count`` counts the row's deals whose
    expected close date is already before today (in the workspace timezone).
    """

    period_label: str
    start_date: date | None
    count: int
    amount: Decimal
    weighted: Decimal
    overdue_count: int = 0


def forecast(
    *,
    session: Session,
    workspace_id: int,
    by: Literal["month", "quarter"],
    now: datetime,
    tz: str,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
    tally: Tally | None = None,
) -> list[ForecastRow]:
    """Open deals grouped by expected close month or quarter, oldest first.

    A close date is a calendar date, already local to the workspace, so it is grouped by the
    date itself (no timezone shift); ``tz`` decides which dates are overdue (before today in the
    workspace). Overdue dates stay in their own month. Deals without a close date come last, in
    a row with ``period_label == ""`` and ``start_date`` None. Weighted = Σ amount × probability.
    """
    now = _utc(now)
    tally = tally or money.tally(session=session, workspace_id=workspace_id)
    today = now.astimezone(ZoneInfo(tz)).date()
    key = period_key(Deal.expected_close, by, _dialect(session)).label("k")
    overdue = sa.func.sum(sa.case((Deal.expected_close < today, 1), else_=0))
    rows = session.execute(
        sa.select(
            key,
            Stage.probability,
            Deal.currency,
            sa.func.count(),
            sa.func.sum(_raw(Deal.amount)),
            overdue,
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            *_deal_filters(workspace_id, pipeline_id, owner_id),
            *_open_filters(session, workspace_id, pipeline_id),
        )
        .group_by(key, Stage.probability, Deal.currency)
    ).all()
    return fold_forecast(rows, tally)


def fold_forecast(rows, tally: Tally) -> list[ForecastRow]:
    """:func:`forecast`'s rows from its grouped sums ``(period key, probability, currency,
    count, raw amount, overdue count)``, amounts converted through ``tally`` per group."""
    acc: dict[str | None, list] = {}
    for k, prob, currency, n, raw, late in rows:
        raw = tally.raw(raw, currency, n)
        a = acc.setdefault(k or None, [0, 0, ZERO, 0])
        a[0] += n
        a[1] += raw or 0
        a[2] += _weighted(raw, prob)
        a[3] += int(late or 0)
    out = [
        ForecastRow(k or "", _parse_key(k), a[0], _money(a[1]), a[2], a[3]) for k, a in acc.items()
    ]
    out.sort(key=lambda r: (r.start_date is None, r.start_date or date.min))
    return out


def open_pipeline(
    *,
    session: Session,
    workspace_id: int,
    pipeline_id: int | None = None,
    tally: Tally | None = None,
) -> tuple[int, Decimal, Decimal]:
    """``(count, amount, weighted)`` of the open deals (all deal pipelines when None), amounts
    converted through ``tally`` (:mod:`domain.money`)."""
    tally = tally or money.tally(session=session, workspace_id=workspace_id)
    rows = session.execute(
        sa.select(Stage.probability, Deal.currency, sa.func.count(), sa.func.sum(_raw(Deal.amount)))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            *_deal_filters(workspace_id, pipeline_id, None),
            *_open_filters(session, workspace_id, pipeline_id),
        )
        .group_by(Stage.probability, Deal.currency)
    ).all()
    rows = [(p, n, tally.raw(raw, cur, n)) for p, cur, n, raw in rows]
    count = sum(int(n) for _, n, _ in rows)
    amount = _money(sum(raw or 0 for _, _, raw in rows))
    weighted = sum((_weighted(raw, p) for p, _, raw in rows), ZERO)
    return count, amount, weighted
