"""The stall digest's figures: how many deals are stalled, their totals, each owner's line
and the deals listed one by one (issue 17 point 2).

Two ways to the same :class:`StallDigest`:

- :func:`domain.stall_digest.summarize` folds a list of judged stalled deals
  (:func:`scheduler.due.stalled`) in Python: what the scheduler's batch of small workspaces
  reads anyway (scheduler.batches), and the fallback of the other.
- :func:`read` asks the database for the counts and sums per owner and currency, decided by
  the same :func:`domain.stall.stalled_condition` as every stall query, and reads only the
  deals the digest lists (at most ``limit``, the most overdue first). A 1M-deal workspace with
  145k stalled deals no longer makes 145k rows into Python objects.

The figures are exact, so the messages are byte-identical either way
(``tests/test_stall_digest.py`` holds both against the digest as it was computed before):

- Money: a deal's amount and weighted amount are converted to the workspace currency one by
  one, to the cent (:meth:`domain.money.Conversion.to_base`), and then added up; the weighted
  amount is ``amount × probability`` rounded half-even to the cent
  (:func:`domain.deals.expected_revenue`). The database does the same in integer hundredths
  (PostgreSQL in ``numeric``), rounding each deal as Python does; the rates come from
  ``Conversion`` as bound integers (``rate = R / 10^s``), one statement per currency other
  than the workspace's. SQLite's integers are 64 bits: where a product could leave them
  (amounts near 10^17 hundredths, a rate with many digits), :func:`read` says so (None) and
  the caller folds the rows in Python instead.
- Order: owners by their converted amount (no owner last), each owner's deals by days over
  the threshold, then amount (as written, whatever the currency), then number. The deals
  listed are at most ``limit`` in that order: every deal of the owners that fit whole, and of
  the one owner who does not, the first ``k``. Those are found without computing days in SQL:
  "``days over ≥ D``" is "stalled at threshold ``T + D − 1``" (:func:`stall.stall_cutoff`,
  exact on both clocks, business days and holidays included), so the ``k``-th deal's days
  over ``D`` is read from the ``k`` earliest entries of each threshold, and then the deals at
  ``D`` or more are read by (over ``D``, amount, number) with ``LIMIT k``. Their statuses and
  final order come from :func:`domain.stall.stall_status`, as before.
"""

from __future__ import annotations

import heapq
import logging
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

from domain.deal_reads import Stalled, _rows, _select
from domain.money import Conversion, Tally
from domain.stall import stall_status, stalled_condition
from domain.stall_digest import OwnerStalls, StallDigest, _room
from scheduler import due
from storage.models import Deal, Member, Outcome, Pipeline, PipelineKind, Stage, Workspace
from storage.types import from_hundredths

log = logging.getLogger(__name__)

INT64 = 2**63  # SQLite's integers: every product and sum of :func:`read` stays below


# ---------------------------------------------------------------- in SQL


def _stages(session: Session, workspace_id: int) -> list[tuple[int, int]]:
    """``(id, stall days)`` of the open stages with a threshold of the deal pipelines (the
    stages :func:`domain.deal_reads.stalled_deals` reads, pipeline by pipeline)."""
    query = (
        sa.select(Stage.id, Stage.stall_days)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .where(
            Stage.workspace_id == workspace_id,
            Pipeline.workspace_id == workspace_id,
            Pipeline.kind == PipelineKind.deal,
            Stage.outcome == Outcome.open.value,
            Stage.stall_days.is_not(None),
            Stage.stall_days >= 0,
        )
    )
    return [(sid, days) for sid, days in session.execute(query)]


class _Ints:
    """Exact integer arithmetic in SQL: PostgreSQL in ``numeric`` (no overflow), SQLite in
    its 64-bit integers (the caller keeps the values in range). Division truncates towards
    zero and the remainder takes the dividend's sign on both, as Python's rounding needs."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def of(self, expr):
        return sa.cast(expr, sa.Numeric) if self.pg else expr

    def div(self, x, d: int):
        return sa.func.div(x, d) if self.pg else x.op("/")(sa.literal(d, sa.BigInteger))

    def mod(self, x, d: int):
        return sa.func.mod(x, d) if self.pg else x.op("%")(sa.literal(d, sa.BigInteger))

    def half_up(self, x, d: int):
        """``x / d`` rounded half away from zero (Decimal's ROUND_HALF_UP)."""
        if d == 1:
            return x
        q, r = self.div(x, d), self.mod(x, d)
        away = sa.case((x < 0, -1), else_=1)
        return q + sa.case((sa.func.abs(r) * 2 >= d, away), else_=0)

    def half_even(self, x, d: int):
        """``x / d`` rounded half to even (Decimal's default, ``quantize``)."""
        q, r = self.div(x, d), self.mod(x, d)
        away = sa.case((x < 0, -1), else_=1)
        up = sa.case(
            (sa.func.abs(r) * 2 > d, away),
            (sa.and_(sa.func.abs(r) * 2 == d, self.mod(sa.func.abs(q), 2) == 1), away),
            else_=0,
        )
        return q + up


def _fraction(rate: Decimal) -> tuple[int, int]:
    """``rate`` as ``(R, d)`` with ``rate == R / d`` exactly, ``d`` a power of ten."""
    sign, digits, exponent = rate.as_tuple()
    whole = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent >= 0:
        return whole * 10**exponent, 1
    return whole, 10**-exponent


def read(
    *,
    session: Session,
    workspace: Workspace,
    now: datetime,
    conversion: Conversion,
    limit: int | None,
) -> StallDigest | None:
    """The digest of every stalled deal of the workspace's deal pipelines at ``now``, the
    same as :func:`summarize` of them all; None when the database cannot be trusted to add
    them exactly (SQLite's 64-bit integers, see the module docstring): then read the rows."""
    stages = _stages(session, workspace.id)
    if not stages:
        return StallDigest(0, Decimal(0), Decimal(0), Tally(conversion).note(), [], limit)
    ints = _Ints(session.get_bind().dialect.name)
    raw = ints.of(sa.type_coerce(Deal.amount, sa.BigInteger))
    weighted = ints.half_even(raw * Stage.probability, 100)
    open_deals = (
        Deal.workspace_id == workspace.id,
        Deal.closed_at.is_(None),
        Deal.stage_id.in_([sid for sid, _ in stages]),
    )
    where = (*open_deals, stalled_condition(stages, workspace=workspace, now=now))
    # One owner's deals: without the stalled_since range, so that SQLite walks the owner's
    # index instead of every stalled deal of the workspace (domain.stall.stalled_clause).
    owned = (*open_deals, stalled_condition(stages, workspace=workspace, now=now, near=False))
    # Grouped by an expression, not the column: SQLite (without statistics, as a new
    # database is) would otherwise walk the workspace's deals in the order of an index led by
    # the owner (ix_deal_owner_entered) to spare the grouping's sort, every deal of the
    # workspace instead of the stalled ones of ix_deal_stalled, which covers these sums.
    owner = (Deal.owner_id + 0).label("owner_id")
    session.flush()
    sums = session.execute(
        sa.select(
            owner,
            Deal.currency,
            sa.func.count(),
            sa.func.sum(raw),
            sa.func.sum(weighted),
            sa.func.max(sa.func.abs(raw)),
            sa.func.max(sa.func.abs(Stage.probability)),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(*where)
        .group_by(owner, Deal.currency)
    ).all()
    if any(int(big or 0) * max(int(p or 0), 100) >= INT64 for *_, big, p in sums):
        return None
    # Converted amounts, deal by deal, for the currencies that have a rate.
    converted: dict[tuple[int | None, str], tuple[int, int]] = {}
    for currency in sorted({cur for _, cur, *_ in sums}):
        rate = conversion.rate(currency)
        if rate is None:
            continue
        if rate == 1:
            for owner_id, cur, _, amount, weight, _, _ in sums:
                if cur == currency:
                    converted[(owner_id, cur)] = (int(amount), int(weight))
            continue
        factor, scale = _fraction(rate)
        # The largest amount or weighted amount of the currency, times the rate's digits.
        big = max(
            int(b or 0) * max(int(p or 0), 100) // 100 + 1
            for _, cur, _, _, _, b, p in sums
            if cur == currency
        )
        if big * abs(factor) * 2 >= INT64 or scale * 2 >= INT64:
            return None
        rows = session.execute(
            sa.select(
                owner,
                sa.func.sum(ints.half_up(raw * factor, scale)),
                sa.func.sum(ints.half_up(weighted * factor, scale)),
            )
            .join(Stage, Stage.id == Deal.stage_id)
            .where(*where, Deal.currency == currency)
            .group_by(owner)
        ).all()
        for owner_id, amount, weight in rows:
            converted[(owner_id, currency)] = (int(amount), int(weight))
    # Owners by Slack id (an owner that is not a member of the workspace counts as none).
    ids = {owner_id for owner_id, *_ in sums} - {None}
    slack: dict[int, str] = {}
    if ids:
        slack = dict(
            session.execute(
                sa.select(Member.id, Member.slack_user_id).where(
                    Member.workspace_id == workspace.id, Member.id.in_(ids)
                )
            ).all()
        )
    tally = Tally(conversion)
    per_owner: dict[str | None, list] = {}
    member_ids: dict[str | None, set[int | None]] = {}
    count = total = total_weighted = 0
    for owner_id, currency, n, amount, _, _, _ in sums:
        owner = slack.get(owner_id)
        entry = per_owner.setdefault(owner, [0, 0, 0])
        member_ids.setdefault(owner, set()).add(owner_id)
        entry[0] += n
        count += n
        # The note: what was converted, and what was left out (no rate), per currency.
        tally.raw(int(amount), currency, n, "listed")
        if (owner_id, currency) in converted:
            a, w = converted[(owner_id, currency)]
            entry[1] += a
            entry[2] += w
            total += a
            total_weighted += w
    order = sorted(per_owner.items(), key=lambda kv: (kv[0] is None, -kv[1][1], kv[0] or ""))
    shown = _shown(session, workspace, now, stages, owned, order, member_ids, limit, count)
    owners = [
        OwnerStalls(
            owner, n, from_hundredths(amount), from_hundredths(weight), shown.get(owner, [])
        )
        for owner, (n, amount, weight) in order
    ]
    return StallDigest(
        count, from_hundredths(total), from_hundredths(total_weighted), tally.note(), owners, limit
    )


def _owned(ids: set[int | None]):
    """Deals of these owner ids (None: no owner)."""
    known = sorted(i for i in ids if i is not None)
    conditions = [Deal.owner_id.in_(known)] if known else []
    if None in ids:
        conditions.append(Deal.owner_id.is_(None))
    return sa.or_(*conditions)


def _shown(
    session: Session,
    workspace: Workspace,
    now: datetime,
    stages: list[tuple[int, int]],
    where: tuple,
    order: list,
    member_ids: dict[str | None, set[int | None]],
    limit: int | None,
    count: int,
) -> dict[str | None, list[Stalled]]:
    """The deals listed line by line, per owner: all of those that fit whole in ``limit``,
    the first ``k`` of the one who does not."""
    room = _room(limit, count)
    whole: set[int | None] = set()
    partial: tuple[str | None, int] | None = None
    for owner, (n, _, _) in order:
        if room <= 0:
            break
        if n <= room:
            whole |= member_ids[owner]
        else:
            partial = (owner, room)
        room -= n
    out: dict[str | None, list[Stalled]] = {}
    if whole:
        query = _select(shown=False).where(*where, _owned(whole))
        for item in _judged(session, workspace, now, query):
            out.setdefault(item.deal.owner_slack_id, []).append(item)
    if partial is not None:
        owner, k = partial
        out[owner] = _first(session, workspace, now, stages, where, member_ids[owner], k)
    return out


def _judged(session: Session, workspace: Workspace, now: datetime, query) -> list[Stalled]:
    """The rows of ``query`` judged on the workspace's stall clock, most overdue first."""
    return due.stalled_on(workspace, _rows(session, workspace, query), now)


def _first(
    session: Session,
    workspace: Workspace,
    now: datetime,
    stages: list[tuple[int, int]],
    where: tuple,
    owner_ids: set[int | None],
    k: int,
) -> list[Stalled]:
    """The first ``k`` stalled deals of one owner, most overdue first (module docstring)."""
    owned = _owned(owner_ids)
    threshold = dict(stages)
    # Days over of the k earliest entries of each threshold: the k-th largest of them all is
    # the k-th deal's. One statement (a narrow row per stalled deal of the owner): SQLite walks
    # the open-stage index once, not once per threshold.
    entered: dict[int, list[datetime]] = {}
    query = sa.select(Deal.stage_id, Deal.stage_entered_at).where(*where, owned)
    for stage_id, at in session.execute(query):
        entered.setdefault(threshold[stage_id], []).append(at)
    overs = [
        _days_over(workspace, now, at, days)
        for days, ats in entered.items()
        for at in heapq.nsmallest(k, ats)
    ]
    if not overs:
        return []
    overs.sort(reverse=True)
    least = overs[min(k, len(overs)) - 1]

    def over(d: int):  # stalled at threshold + d - 1: at least d days over
        return stalled_condition(
            [(sid, days + d - 1) for sid, days in stages], workspace=workspace, now=now, near=False
        )

    query = (
        _select(shown=False)
        .where(*where, owned, over(least))
        .order_by(sa.case((over(least + 1), 0), else_=1), Deal.amount.desc(), Deal.number)
        .limit(k)
    )
    return _judged(session, workspace, now, query)[:k]


def _days_over(workspace: Workspace, now: datetime, entered: datetime, days: int) -> int:
    status = stall_status(
        stage_entered_at=entered,
        stall_days=days,
        snoozed_until=None,
        now=now,
        tz=workspace.timezone,
        business_days=workspace.stall_business_days,
        country=workspace.holiday_country,
    )
    return status.days_over
