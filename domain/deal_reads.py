"""Read models for deals: one plain row (:class:`DealRow`) for every place that shows a deal.

Cards, ``/deal show``, deal lists, App Home and the scheduled posts (stall warnings and
digests, renewal alerts) all read deals here, as plain columns of a Core ``SELECT`` — never ORM
entities: a digest reads tens of thousands of rows, and entities plus joins per row cost more
than the query. A workspace's stages and pipelines (a few dozen) are kept per process while
the workspace's ``config_version`` stands (storage.config_version.kept); the owners of the
rows read (at most a few thousand members) are looked up once per read and filled in.

Which deals are stalled is decided in SQL by :func:`domain.stall.stalled_condition`, the
exact spelling of :func:`domain.stall.stall_status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from domain import custom_fields, money
from domain.deals import expected_revenue
from domain.money import MoneyNote
from domain.stall import (
    StallStatus,
    stall_status,
    stall_values,
    stalled_clause,
    stalled_condition,
)
from storage.config_version import kept
from storage.db import core_rows
from storage.fast import Read
from storage.models import (
    Company,
    Deal,
    Member,
    Outcome,
    Pipeline,
    PipelineKind,
    Stage,
    Workspace,
)
from storage.types import from_hundredths

MEMBER_LOOKUP = 500  # more owners than this in one read: read the workspace's members at once


@dataclass(frozen=True)
class StallInfo:
    """Days in stage vs the threshold, on the workspace's stall clock (closed deals: 0)."""

    days_in_stage: int
    threshold: int | None
    stalled: bool


class DealRow(NamedTuple):
    """A deal with its stage, pipeline, owner and company, as plain values.

    A named tuple rather than a frozen dataclass: a digest builds tens of thousands of them,
    and a tuple is several times cheaper to make. ``company_name``, ``expected_close`` and
    ``lost_reason`` are read for lists, cards and ``/deal show`` (the scheduled posts show
    none of them and leave them None); ``stall`` is the stall clock at the time of the read
    for those same readers, None where the caller judges stalls itself
    (:func:`scheduler.due.stalled`).
    """

    id: int
    number: int
    title: str
    amount: Decimal
    currency: str
    pipeline_id: int
    pipeline_name: str
    stage_id: int
    stage_name: str
    probability: int
    stall_days: int | None
    stage_entered_at: datetime
    snoozed_until: date | None = None
    owner_id: int | None = None
    owner_slack_id: str | None = None
    owner_name: str | None = None
    owner_locale: str | None = None
    renewal_date: date | None = None
    mrr: Decimal | None = None
    thread_channel: str | None = None
    thread_ts: str | None = None
    outcome: str = Outcome.open.value
    company_name: str | None = None
    expected_close: date | None = None
    lost_reason: str | None = None
    stall: StallInfo | None = None

    @property
    def weighted(self) -> Decimal:
        """Expected revenue: amount × stage probability."""
        return expected_revenue(self.amount, self.probability)

    @property
    def has_thread(self) -> bool:
        return bool(self.thread_channel and self.thread_ts)


class StageFacts(NamedTuple):
    """A stage as plain values (kept and shared between requests, so immutable)."""

    id: int
    pipeline_id: int
    name: str
    position: int
    probability: int
    stall_days: int | None
    outcome: str


@dataclass
class DealCard:
    row: DealRow
    stages: list[StageFacts]  # of the deal's pipeline, in order
    # BANT met (budget, authority, need, timeline); None: the pipeline has no checklist.
    qualification: tuple[bool, ...] | None = None
    custom: list = field(default_factory=list)  # custom fields with a value (issue 15)


def workspace_stages(session: Session, workspace: Workspace) -> dict[int, StageFacts]:
    """``{stage id: StageFacts}`` of every pipeline of the workspace, in pipeline order."""

    def load() -> dict[int, StageFacts]:
        query = (
            sa.select(*(getattr(Stage, f) for f in StageFacts._fields))
            .where(Stage.workspace_id == workspace.id)
            .order_by(Stage.pipeline_id, Stage.position, Stage.id)
        )
        return {row.id: StageFacts(*row) for row in session.execute(query)}

    return kept(session, workspace, "stages", load)


def pipeline_names(session: Session, workspace: Workspace) -> dict[int, str]:
    def load() -> dict[int, str]:
        query = sa.select(Pipeline.id, Pipeline.name).where(Pipeline.workspace_id == workspace.id)
        return dict(session.execute(query).all())

    return kept(session, workspace, "pipeline_names", load)


@dataclass
class DealPage:
    rows: list[DealRow]
    total: int
    total_amount: Decimal  # in the workspace currency, at its rates (domain.money)
    money: MoneyNote | None = None  # what the total is made of
    offset: int = 0  # the first row's position in the whole list (paging)


@dataclass(frozen=True)
class Stalled:
    """A stalled deal and where it stands on the stall clock (its episode)."""

    deal: DealRow
    status: StallStatus


@dataclass(frozen=True)
class RenewalDue:
    deal: DealRow
    offset: int  # the configured offset (90, 60, 30, 7 …) this alert is for
    days_left: int  # renewal date − local today (≤ offset: a late run says the truth)


# --- reading rows ------------------------------------------------------------------------

_COLUMNS = (
    Deal.id,
    Deal.number,
    Deal.title,
    Deal.amount,
    Deal.currency,
    Deal.pipeline_id,
    Deal.stage_id,
    Deal.stage_entered_at,
    Deal.snoozed_until,
    Deal.owner_id,
    Deal.renewal_date,
    Deal.mrr,
    Deal.thread_channel,
    Deal.thread_ts,
)
_SHOWN = (Deal.company_id, Deal.expected_close, Deal.lost_reason)  # cards and lists only
_SHOWN_COMPANY = Company.__table__.alias("shown_company")  # joined to lists (_rows)
_SHOWN_OWNER = Member.__table__.alias("shown_owner")


def _select(*, shown: bool = True) -> sa.Select:
    return sa.select(*_COLUMNS, *(_SHOWN if shown else ())).select_from(Deal)


def stall_info(
    *,
    stage_entered_at: datetime,
    snoozed_until: date | None,
    stall_days: int | None,
    outcome: str,
    workspace: Workspace,
    now: datetime,
) -> StallInfo:
    """Days in stage vs threshold, by the workspace's stall clock (domain.stall)."""
    if outcome != Outcome.open.value:
        return StallInfo(0, stall_days, False)
    status = stall_status(
        stage_entered_at=stage_entered_at,
        stall_days=stall_days,
        snoozed_until=snoozed_until,
        now=now,
        tz=workspace.timezone,
        business_days=workspace.stall_business_days,
        country=workspace.holiday_country,
    )
    return StallInfo(status.days_in_stage, stall_days, status.stalled)


def _rows(
    session: Session,
    workspace: Workspace,
    query: sa.Select,
    *,
    now: datetime | None = None,
) -> list[DealRow]:
    """The rows of ``query`` (a :func:`_select`), filled in; with ``now``, their stall info."""
    session.flush()  # Core execution below does not autoflush
    shown = "company_id" in query.selected_columns  # a card's or a list's (``_SHOWN``)
    if not shown:
        deals = session.connection().execute(query).all()
        return _filled(session, workspace, deals, now=now, shown=False)
    return _shown_rows(session, workspace, session.connection().execute(_shown(query)).all(), now)


def _shown(query: sa.Select) -> sa.Select:
    """A list's query (a :func:`_select`) with its owners and companies in the same statement
    (two fewer per list); :func:`_shown_rows` reads it."""
    return (
        query.add_columns(
            _SHOWN_COMPANY.c.name.label("shown_company"),
            _SHOWN_OWNER.c.slack_user_id.label("shown_owner_slack_id"),
            _SHOWN_OWNER.c.name.label("shown_owner_name"),
            _SHOWN_OWNER.c.locale.label("shown_owner_locale"),
        )
        .outerjoin(_SHOWN_COMPANY, _SHOWN_COMPANY.c.id == Deal.company_id)
        .outerjoin(_SHOWN_OWNER, _SHOWN_OWNER.c.id == Deal.owner_id)
    )


def _shown_rows(session: Session, workspace: Workspace, deals: list, now) -> list[DealRow]:
    owners = {
        d.owner_id: (d.shown_owner_slack_id, d.shown_owner_name, d.shown_owner_locale)
        for d in deals
        if d.owner_id is not None and d.shown_owner_slack_id is not None
    }
    names = {d.company_id: d.shown_company for d in deals if d.shown_company is not None}
    return _filled(session, workspace, deals, now=now, shown=True, owners=owners, names=names)


def _filled(
    session: Session,
    workspace: Workspace,
    deals,
    *,
    now: datetime | None,
    shown: bool,
    owners: dict[int, tuple] | None = None,
    names: dict[int, str] | None = None,
) -> list[DealRow]:
    """:class:`DealRow` of ``deals`` (rows of :func:`_select`, or Deal entities); ``owners``
    and ``names`` (companies) when the caller read them already (:mod:`domain.deal_page`)."""
    stages = workspace_stages(session, workspace)
    pipelines = pipeline_names(session, workspace)
    if owners is None:
        owners = _owners(session, workspace.id, {d.owner_id for d in deals} - {None})
    company_ids = {d.company_id for d in deals} - {None} if shown and names is None else set()
    names = names or {}
    if company_ids:
        names = dict(
            core_rows(
                session, sa.select(Company.id, Company.name).where(Company.id.in_(company_ids))
            ).all()
        )
    nobody = (None, None, None)
    out = []
    for d in deals:
        _, _, stage_name, _, probability, stall_days, outcome = stages[d.stage_id]
        slack_id, owner_name, owner_locale = owners.get(d.owner_id, nobody)
        stall = None
        if now is not None:
            stall = stall_info(
                stage_entered_at=d.stage_entered_at,
                snoozed_until=d.snoozed_until,
                stall_days=stall_days,
                outcome=outcome,
                workspace=workspace,
                now=now,
            )
        out.append(
            DealRow(
                d.id,
                d.number,
                d.title,
                d.amount,
                d.currency,
                d.pipeline_id,
                pipelines.get(d.pipeline_id, ""),
                d.stage_id,
                stage_name,
                probability,
                stall_days,
                d.stage_entered_at,
                d.snoozed_until,
                d.owner_id,
                slack_id,
                owner_name,
                owner_locale,
                d.renewal_date,
                d.mrr,
                d.thread_channel,
                d.thread_ts,
                outcome,
                names.get(d.company_id) if shown else None,
                d.expected_close if shown else None,
                d.lost_reason if shown else None,
                stall,
            )
        )
    return out


def _owners(session: Session, workspace_id: int, ids: set[int]) -> dict[int, tuple]:
    """``{member id: (slack id, name, locale)}`` of ``ids`` (all members when there are many)."""
    if not ids:
        return {}
    query = sa.select(Member.id, Member.slack_user_id, Member.name, Member.locale).where(
        Member.workspace_id == workspace_id
    )
    if len(ids) <= MEMBER_LOOKUP:
        query = query.where(Member.id.in_(ids))
    return {
        mid: (slack_id, name, locale) for mid, slack_id, name, locale in core_rows(session, query)
    }


def _open_stages(
    session: Session,
    workspace_id: int,
    *,
    with_threshold: bool = False,
    pipeline_id: int | None = None,
):
    """``(id, stall days)`` of the workspace's (or one pipeline's) open stages (only those
    with a threshold)."""
    query = sa.select(Stage.id, Stage.stall_days).where(
        Stage.workspace_id == workspace_id, Stage.outcome == Outcome.open.value
    )
    if pipeline_id is not None:
        query = query.where(Stage.pipeline_id == pipeline_id)
    if with_threshold:
        query = query.where(Stage.stall_days.is_not(None), Stage.stall_days >= 0)
    return session.execute(query).all()


# --- cards, lists, search ------------------------------------------------------------------


def card(
    *,
    session: Session,
    workspace: Workspace,
    deal: Deal,
    now: datetime,
    owners: dict[int, tuple] | None = None,
    names: dict[int, str] | None = None,
) -> DealCard:
    """The deal as loaded (no second read of it: an entity, or a row with the same columns),
    with its pipeline's stages; ``owners``/``names`` as :func:`_filled` takes them."""
    from domain.qualify import checklist_of

    session.flush()  # what the caller changed is what the card shows
    (row,) = _filled(session, workspace, [deal], now=now, shown=True, owners=owners, names=names)
    stages = workspace_stages(session, workspace).values()
    custom = custom_fields.shown(
        session=session,
        workspace_id=workspace.id,
        entity="deals",
        record_id=deal.id,
        pipeline_id=deal.pipeline_id,
        workspace=workspace,
    )
    return DealCard(
        row=row,
        stages=[s for s in stages if s.pipeline_id == deal.pipeline_id],
        qualification=checklist_of(session=session, workspace=workspace, deal=deal),
        custom=custom,
    )


def list_deals(
    *,
    session: Session,
    workspace: Workspace,
    now: datetime,
    owner_id: int | None = None,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    stalled: bool = False,
    include_closed: bool = False,
    limit: int = 20,
    offset: int = 0,
    close: tuple[date | None, date | None] | None = None,
    sort: str | None = None,
    extra: tuple = (),
) -> DealPage:
    """Open deals (or all in a closed stage when one is asked for), stalled first.

    ``stalled`` narrows in SQL with the workspace's exact stall rule
    (:func:`domain.stall.stalled_condition`), so the total counts every stalled deal.
    ``limit=0`` counts without reading rows. ``close`` keeps deals expected to close in a
    date range (either end open; see :func:`close_range`); ``sort`` is ``amount`` (largest
    first), ``close`` (soonest first, no date last) or None (stalled first, then longest in
    its stage). The order is total (ties by number), so ``offset`` pages never overlap.

    Its two statements (totals by currency, the page) are built once per filter shape and
    workspace configuration (:func:`_list_statements`) and run with the values bound, so a
    request neither builds nor compiles SQL; with custom-field filters (``extra``, values
    in them) they are built per request and run by SQLAlchemy; the kept ones run on the
    driver's cursor (:mod:`storage.fast`, ~15 µs of Python fewer a statement on SQLite,
    ~30–50 on PostgreSQL).
    """
    shape, values = _Shape.of(owner_id, pipeline_id, stage_id, include_closed, stalled, close, sort)
    if extra:  # custom-field filters: their values are in the conditions
        totals, page, thresholds = _list_statements(session, workspace, shape, extra)
        totals, page = _Executed(totals), _Executed(page)
    else:
        totals, page, thresholds = kept(
            session,
            workspace,
            f"deal_list:{shape}",
            lambda: _kept_reads(*_list_statements(session, workspace, shape)),
        )
    values.update(workspace_id=workspace.id, offset=offset, limit=limit)
    if thresholds is not None:
        values.update(stall_values(thresholds, workspace=workspace, now=now))
    session.flush()  # Core execution below does not autoflush
    connection = session.connection()
    tally = money.tally(session=session, workspace_id=workspace.id)
    total, raw_total = 0, 0
    for currency, n, raw in totals.all(connection, values):
        total += int(n)
        raw_total += tally.raw(raw, currency, n, "listed")
    total_amount = from_hundredths(raw_total)
    rows = []
    if limit > 0:
        rows = _shown_rows(session, workspace, page.all(connection, values), now)
    return DealPage(
        rows=rows, total=total, total_amount=total_amount, money=tally.note(), offset=offset
    )


def _kept_reads(totals: sa.Select, page: sa.Select, thresholds):
    """:func:`_list_statements`' statements as kept per shape: run on the driver's cursor."""
    return Read(totals), Read(page), thresholds


class _Executed(NamedTuple):
    """A one-off statement (custom-field filters) run as SQLAlchemy runs it: compiling it
    for the driver's cursor would cost more than the one execution saves."""

    statement: sa.Select

    def all(self, conn: sa.Connection, params: dict) -> list:
        return conn.execute(self.statement, params).all()


class _Shape(NamedTuple):
    """Which filters a list has (not their values): one pair of statements each."""

    owner: bool
    pipeline: bool
    stage: bool
    include_closed: bool
    stalled: bool
    close: bool
    close_start: bool
    close_end: bool
    sort: str | None

    @classmethod
    def of(cls, owner_id, pipeline_id, stage_id, include_closed, stalled, close, sort):
        """The shape of a list with these filters, and their values by bound name."""
        start, end = close if close is not None else (None, None)
        shape = cls(
            owner_id is not None,
            pipeline_id is not None,
            stage_id is not None,
            include_closed,
            stalled,
            close is not None,
            start is not None,
            end is not None,
            sort if sort in ("amount", "close") else None,
        )
        values = {
            "owner_id": owner_id,
            "pipeline_id": pipeline_id,
            "stage_id": stage_id,
            "close_start": start,
            "close_end": end,
        }
        return shape, values


def _list_statements(session: Session, workspace: Workspace, shape: _Shape, extra: tuple = ()):
    """The totals (count and sum by currency) and the page of a list of ``shape``, every
    value a bound parameter (names as :func:`list_deals` binds them), and the stall
    thresholds they name (None: no stall clause, nothing to bind)."""
    stages = [
        (s.id, s.stall_days)
        for s in workspace_stages(session, workspace).values()
        if s.outcome == Outcome.open.value
    ]  # stalled_clause skips stages without a threshold
    # One owner's deals: their index, not the workspace's stalled deals (SQLite took those).
    stalled, thresholds = stalled_clause(stages, near=not shape.owner)
    where = [*_where(shape, sa.bindparam, stalled), *extra]
    totals = (
        sa.select(
            Deal.currency, sa.func.count(), sa.func.sum(sa.type_coerce(Deal.amount, sa.BigInteger))
        )
        .select_from(Deal)
        .where(*where)
        .group_by(Deal.currency)
    )
    # The page's deals first (ordered, cut to the page, from the deals' index), then their
    # companies and owners: joined before the cut, every listed deal's company was read
    # (all open deals, for a list of everything at 1M deals).
    keys = _list_order(shape.sort, stalled)
    if shape.owner and shape.sort is None and not shape.stage and not shape.include_closed:
        listed = _owner_listed(where, keys, stalled_only=shape.stalled)
    else:
        listed = (
            sa.select(Deal.id, *(key.label(f"k{i}") for i, (key, _) in enumerate(keys)))
            .where(*where)
            .order_by(*(key.desc() if desc else key for key, desc in keys))
            .offset(sa.bindparam("offset", type_=sa.Integer))
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .subquery("listed")
        )
    order = [listed.c[f"k{i}"] for i in range(len(keys))]
    page = _shown(_select().join(listed, listed.c.id == Deal.id)).order_by(
        *(key.desc() if desc else key for key, (_, desc) in zip(order, keys, strict=True))
    )
    uses_stall = shape.stalled or shape.sort is None
    return totals, page, thresholds if uses_stall else None


def _owner_listed(where: list, keys, *, stalled_only: bool) -> sa.Subquery:
    """One member's open deals in the default order (stalled first, then by stage entry and
    number), cut to the page: the stalled ones and the others each read in the order of
    ``ix_deal_owner_entered`` and stopped at the page's end, instead of reading every open
    deal of the member (~300 at 1M deals) and sorting them by the stall expression."""
    (flag, _), (entered, _), (number, _) = keys
    end = sa.bindparam("offset", type_=sa.Integer) + sa.bindparam("limit", type_=sa.Integer)

    def part(k0: int) -> sa.Select:
        return (
            sa.select(Deal.id, sa.literal(k0).label("k0"), entered.label("k1"), number.label("k2"))
            .where(*where, flag == k0)
            .order_by(entered, number)
            .limit(end)
        )

    parts = [part(0)] if stalled_only else [part(0), part(1)]
    both = sa.union_all(*(sa.select(p.subquery(f"listed{i}")) for i, p in enumerate(parts)))
    listed = both.subquery("both")
    return (
        sa.select(listed)
        .order_by(listed.c.k0, listed.c.k1, listed.c.k2)
        .offset(sa.bindparam("offset", type_=sa.Integer))
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery("listed")
    )


def _where(shape: _Shape, bind, stalled) -> list:
    """The WHERE of a list of ``shape``; ``bind(name)`` gives each value (named as in
    :func:`list_deals`), ``stalled`` the stall condition."""
    where = [Deal.workspace_id == bind("workspace_id")]
    if shape.owner:
        where.append(Deal.owner_id == bind("owner_id"))
    if shape.pipeline:
        where.append(Deal.pipeline_id == bind("pipeline_id"))
    if shape.stage:
        where.append(Deal.stage_id == bind("stage_id"))
    elif not shape.include_closed:
        where.append(Deal.closed_at.is_(None))
    if shape.stalled:
        where.append(Deal.closed_at.is_(None))
        where.append(stalled)
    if shape.close:
        where.append(Deal.expected_close.is_not(None))
        if shape.close_start:
            where.append(Deal.expected_close >= bind("close_start"))
        if shape.close_end:
            where.append(Deal.expected_close <= bind("close_end"))
    return where


def deal_filters(
    *,
    session: Session,
    workspace: Workspace,
    now: datetime,
    owner_id: int | None = None,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    stalled: bool = False,
    include_closed: bool = False,
    close: tuple[date | None, date | None] | None = None,
    extra: tuple = (),
) -> list:
    """The WHERE of ``/deal list`` (and ``/deal export``, which includes closed deals);
    ``extra``: more conditions (custom-field filters, domain.custom_fields.condition)."""
    shape, values = _Shape.of(owner_id, pipeline_id, stage_id, include_closed, stalled, close, None)
    values["workspace_id"] = workspace.id
    condition = None
    if stalled:
        stages = _open_stages(session, workspace.id, with_threshold=True)
        condition = stalled_condition(stages, workspace=workspace, now=now)

    # Untyped, so each value takes its column's type, as a literal compared with it would.
    def bind(name: str):
        return sa.bindparam(name, values[name], sa.types.NULLTYPE, unique=True)

    where = _where(shape, bind, condition)
    return [where[0], *extra, *where[1:]]


def _list_order(sort: str | None, stalled) -> tuple[tuple[sa.ColumnElement, bool], ...]:
    """The list's order: (key, descending) pairs, the last one the deal's number."""
    if sort == "amount":
        return ((Deal.amount, True), (Deal.number, False))
    if sort == "close":
        return (
            (Deal.expected_close.is_(None), False),
            (Deal.expected_close, False),
            (Deal.number, False),
        )
    stalled = sa.and_(Deal.closed_at.is_(None), stalled)
    return (
        (sa.case((stalled, 0), else_=1), False),
        (Deal.stage_entered_at, False),
        (Deal.number, False),
    )


CLOSE_RANGES = ("this-month", "next-month", "this-quarter", "overdue")


def close_range(name: str, today: date) -> tuple[date | None, date | None]:
    """``this-month`` … as (first day, last day); ``overdue``: before today (open deals)."""
    if name == "overdue":
        return None, today - timedelta(days=1)
    if name == "this-quarter":
        first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        months = 3
    else:
        first = today.replace(day=1)
        months = 1
        if name == "next-month":
            first = (first + timedelta(days=32)).replace(day=1)
    end_month = first.month - 1 + months
    after = date(first.year + end_month // 12, end_month % 12 + 1, 1)
    return first, after - timedelta(days=1)


def find_deals(
    *, session: Session, workspace: Workspace, query: str, now: datetime, limit: int = 20
) -> list[DealRow]:
    """Deals whose title or company contains ``query`` (case-insensitive)."""
    pattern = "%" + query.strip().lower().replace("%", "").replace("_", "") + "%"
    values = {"workspace_id": workspace.id, "pattern": pattern, "limit": limit}
    session.flush()  # Core execution below does not autoflush
    return _shown_rows(session, workspace, session.connection().execute(_FIND, values).all(), now)


def _find() -> sa.Select:
    """:func:`find_deals`'s statement, built once: its values are bound parameters."""
    pattern = sa.bindparam("pattern", type_=sa.String)
    return _shown(
        _select()
        .outerjoin(Company, Company.id == Deal.company_id)
        .where(
            Deal.workspace_id == sa.bindparam("workspace_id"),
            sa.or_(
                sa.func.lower(Deal.title).like(pattern), sa.func.lower(Company.name).like(pattern)
            ),
        )
        .order_by(Deal.closed_at.is_not(None), Deal.number.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


_FIND = _find()


def today_in(workspace: Workspace, now: datetime) -> date:
    return now.astimezone(ZoneInfo(workspace.timezone)).date()


# --- what the scheduled posts read ---------------------------------------------------------


def _open_deals(workspace_id: int, stage_ids) -> sa.Select:
    """Open deals in ``stage_ids``, by number (the index walks open deals by stage)."""
    return (
        _select(shown=False)
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at.is_(None),
            Deal.stage_id.in_(stage_ids),
        )
        .order_by(Deal.number)
    )


def stalled_deals(
    *, session: Session, workspace: Workspace, now: datetime, pipeline_id: int | None = None
) -> list[DealRow]:
    """Every open deal (of one pipeline) stalled at ``now`` (snoozed ones are not), decided in
    SQL by :func:`domain.stall.stalled_condition`; :func:`scheduler.due.stalled` gives each its
    status and episode."""
    stages = _open_stages(session, workspace.id, with_threshold=True, pipeline_id=pipeline_id)
    if not stages:
        return []
    query = _open_deals(workspace.id, [sid for sid, _ in stages]).where(
        stalled_condition(stages, workspace=workspace, now=now)
    )
    return _rows(session, workspace, query)


def renewal_deals(
    *, session: Session, workspace: Workspace, today: date, horizon_days: int
) -> list[DealRow]:
    """Deals whose renewal date is between ``today`` and ``horizon_days`` from it: open deals,
    and won deals (a won contract renewing is the normal case, issue 13) unless their renewal
    deal exists — then that open deal carries the alerts, so a renewal is told once."""
    stage_ids = [sid for sid, _ in _open_stages(session, workspace.id)]
    won_ids = session.execute(
        sa.select(Stage.id).where(
            Stage.workspace_id == workspace.id, Stage.outcome == Outcome.won.value
        )
    ).scalars()
    renewal = aliased(Deal)
    has_renewal = sa.exists().where(renewal.renewal_of_id == Deal.id)
    query = (
        _select(shown=False)
        .where(
            Deal.workspace_id == workspace.id,
            sa.or_(
                sa.and_(Deal.closed_at.is_(None), Deal.stage_id.in_(stage_ids)),
                sa.and_(Deal.stage_id.in_(list(won_ids)), ~has_renewal),
            ),
            Deal.renewal_date.is_not(None),
            Deal.renewal_date >= today,
            Deal.renewal_date <= today + timedelta(days=horizon_days),
        )
        .order_by(Deal.number)
    )
    return _rows(session, workspace, query)


# What :func:`stalled_deals_of` selects for each of DealRow's fields up to ``thread_ts``, in
# DealRow's order (the statement's columns are made from this, so the two cannot drift); the
# rest of a row is DealRow's defaults (``_STALLED_TAIL``).
_STALLED_SOURCES = {
    "id": Deal.id,
    "number": Deal.number,
    "title": Deal.title,
    "amount": Deal.amount,
    "currency": Deal.currency,
    "pipeline_id": Deal.pipeline_id,
    "pipeline_name": Pipeline.name,
    "stage_id": Deal.stage_id,
    "stage_name": Stage.name,
    "probability": Stage.probability,
    "stall_days": Stage.stall_days,
    "stage_entered_at": Deal.stage_entered_at,
    "snoozed_until": Deal.snoozed_until,
    "owner_id": Deal.owner_id,
    "owner_slack_id": Member.slack_user_id,
    "owner_name": Member.name,
    "owner_locale": Member.locale,
    "renewal_date": Deal.renewal_date,
    "mrr": Deal.mrr,
    "thread_channel": Deal.thread_channel,
    "thread_ts": Deal.thread_ts,
}
_STALLED_COLUMNS = tuple(
    _STALLED_SOURCES[name].label(name) for name in DealRow._fields[: len(_STALLED_SOURCES)]
)
_STALLED_TAIL = tuple(
    DealRow._field_defaults[name] for name in DealRow._fields[len(_STALLED_SOURCES) :]
)
assert set(DealRow._fields[: len(_STALLED_SOURCES)]) == set(_STALLED_SOURCES)


def stalled_deals_of(
    *,
    session: Session,
    workspaces: Sequence[Workspace],
    now: datetime,
    every_pipeline: bool = False,
    where: sa.ColumnElement[bool] | None = None,
) -> dict[int, list[DealRow]]:
    """:func:`stalled_deals` of several workspaces in one statement (the scheduler's batch of
    digests): every open deal of a deal pipeline whose ``stalled_since`` bound has passed —
    the stalled ones and a few within their margin, which :func:`scheduler.due.stalled`
    (:func:`domain.stall.stall_status`, the rule ``stalled_condition`` spells) sets aside,
    so each workspace's list is the one :func:`stalled_deals` gives, once judged.
    ``every_pipeline``: lead pipelines' too, as :func:`stalled_deals` without a pipeline
    reads them for the stall warnings (the digest reads deal pipelines only). ``where``: a
    further condition on the deal, its stage and its owner (``member``, outer-joined), which
    the caller answers for (the stall warnings leave out the episodes warned already)."""
    ids = [ws.id for ws in workspaces]
    if not ids:
        return {}
    query = (
        sa.select(*_STALLED_COLUMNS, Deal.workspace_id)  # DealRow's fields in order
        .select_from(Deal)
        .join(Stage, Stage.id == Deal.stage_id)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .outerjoin(
            Member, sa.and_(Member.id == Deal.owner_id, Member.workspace_id == Deal.workspace_id)
        )
        .where(
            Deal.workspace_id.in_(ids),
            Stage.workspace_id.in_(ids),  # else PostgreSQL hashes every stage
            Deal.closed_at.is_(None),
            Deal.stalled_since <= now,
            Stage.outcome == Outcome.open.value,
            Stage.stall_days.is_not(None),
            Stage.stall_days >= 0,
            sa.true() if every_pipeline else Pipeline.kind == PipelineKind.deal,
        )
    )
    if where is not None:
        query = query.where(where)
    out: dict[int, list[DealRow]] = {ws_id: [] for ws_id in ids}
    # Hundreds of thousands of rows at a fleet's hour: each made from its row's values as
    # they come (every field up to thread_ts, the rest as DealRow's defaults).
    make, tail = DealRow._make, _STALLED_TAIL
    for *fields, workspace_id in session.connection().execute(query):
        out[workspace_id].append(make((*fields, *tail)))
    return out
