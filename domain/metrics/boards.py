"""The board (``/pipeline``, App Home, the weekly summary): per open stage of one pipeline, the
deal count, amount, weighted amount and stalled count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain import counters, money
from domain.deal_reads import workspace_stages
from domain.errors import NotFound
from domain.metrics.sql import ZERO, _money, _utc, _weighted, likely
from domain.money import Tally
from domain.stall import stall_cutoff
from storage.db import core_rows, flushed_connection
from storage.fast import Read
from storage.models import Deal, Outcome, Pipeline, PipelineKind, Workspace


@dataclass(frozen=True)
class BoardStage:
    """One open stage of a pipeline board."""

    stage_id: int
    name: str
    position: int
    probability: int
    stall_days: int | None
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO  # amount × probability / 100
    stalled: int = 0


@dataclass(frozen=True)
class Board:
    pipeline_id: int
    pipeline_name: str
    now: datetime
    stages: tuple[BoardStage, ...] = ()

    @property
    def count(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def amount(self) -> Decimal:
        return sum((s.amount for s in self.stages), ZERO)

    @property
    def weighted(self) -> Decimal:
        return sum((s.weighted for s in self.stages), ZERO)

    @property
    def stalled(self) -> int:
        return sum(s.stalled for s in self.stages)


def board(
    *,
    session: Session,
    workspace_id: int,
    pipeline_id: int,
    now: datetime,
    tally: Tally | None = None,
    pipeline=None,
) -> Board:
    """Per open stage, in position order: deal count, amount, weighted amount, stalled count.
    ``pipeline``: the pipeline numbered ``pipeline_id`` when the caller has it (its id, name
    and kind are read: an entity or :class:`domain.refs.PipelineName`); else it is loaded.

    Count and amount come from the board counters (:mod:`domain.counters`, kept on every
    change of a deal), the weighted amount is their amount × the stage's probability now.

    "Stalled" is exactly :func:`domain.stall.stall_status` (the clock of ``/deal list stalled``
    and the scheduler's warnings), the deals :func:`domain.stall.stalled_condition` matches:
    calendar days, or business days with the workspace's holidays when the workspace counts
    those; a deal snoozed until a date after today is not stalled. Counted from the entry-day
    counters without reading the stalled deals (:func:`stalled_by_pipeline`), in the same
    statement as the counter rows (:func:`_board_read`). Amounts are summed
    per currency and converted through ``tally`` (:mod:`domain.money`; the workspace's rates
    when None).
    """
    now = _utc(now)
    if pipeline is None or pipeline.id != pipeline_id:
        pipeline = session.get(Pipeline, pipeline_id)
        if pipeline is None or pipeline.workspace_id != workspace_id:
            raise NotFound("reports.pipeline_gone")
    ws = session.get(Workspace, workspace_id)
    stages = open_stages(session, ws, pipeline)
    if not stages:
        return Board(pipeline.id, pipeline.name, now)
    tally = tally or money.tally(session=session, workspace_id=workspace_id)
    try:
        cutoffs = stall_cutoffs(ws, [(s.id, s.stall_days) for s in stages], now)
    except Exception:
        # The open amounts are noted all the same (fold's promise), then the error goes on.
        rows = counters.stage_totals(session, workspace_id=workspace_id, pipeline_id=pipeline_id)
        fold(pipeline, stages, rows, dict, now, tally)
        raise
    params, n = _stalled_params(ws, {pipeline_id: cutoffs}, now)
    params["pipeline_id"] = pipeline_id
    rows: list[tuple[int, str, int, int]] = []
    stalled: dict[int, int] = {}
    board_rows = _board_read(n).all(flushed_connection(session), params)
    for sid, currency, count, amount in board_rows:
        if currency is None:  # a stalled count (counters have a currency)
            stalled[sid] = stalled.get(sid, 0) + int(count)
        else:
            rows.append((sid, currency, int(count), int(amount)))
    stalled = {sid: k for sid, k in stalled.items() if k}
    return fold(pipeline, stages, rows, lambda: stalled, now, tally)


def open_stages(session: Session, workspace: Workspace, pipeline: Pipeline) -> list:
    """The pipeline's open stages in position order, from the per-version copy (no entities);
    none for a pipeline that is not a deal pipeline."""
    if pipeline.kind != PipelineKind.deal.value:
        return []
    return [
        s
        for s in workspace_stages(session, workspace).values()
        if s.pipeline_id == pipeline.id and s.outcome == Outcome.open.value
    ]


def fold(
    pipeline: Pipeline,
    stages: list,
    rows: list[tuple[int, str, int, int]],
    stalled: Callable[[], dict[int, int]],
    now: datetime,
    tally: Tally,
) -> Board:
    """The board of ``pipeline`` from its open ``stages``, its counter rows (``(stage id,
    currency, count, raw amount)``, :func:`domain.counters.stage_totals`) and its stalled
    counts (``stalled()``, read after the counters are folded through ``tally``: a pipeline
    whose stall clock cannot be computed has its open amounts noted all the same)."""
    if not stages:
        return Board(pipeline.id, pipeline.name, now)
    open_ids = {s.id for s in stages}
    by_stage: dict[int, list[int]] = {}
    for sid, currency, n, raw in rows:
        if sid in open_ids:
            entry = by_stage.setdefault(sid, [0, 0, 0])
            entry[0] += n
            entry[1] += tally.raw(raw, currency, n)
    for sid, stalled_n in stalled().items():
        by_stage.setdefault(sid, [0, 0, 0])[2] += stalled_n
    out = []
    for s in stages:
        n, raw, stalled_n = by_stage.get(s.id, (0, 0, 0))
        out.append(
            BoardStage(
                stage_id=s.id,
                name=s.name,
                position=s.position,
                probability=s.probability,
                stall_days=s.stall_days,
                count=int(n),
                amount=_money(raw),
                weighted=_weighted(raw, s.probability),
                stalled=int(stalled_n or 0),
            )
        )
    return Board(pipeline.id, pipeline.name, now, tuple(out))


def stall_cutoffs(
    workspace: Workspace, stages: list[tuple[int, int | None]], now: datetime
) -> dict[int, datetime]:
    """``{stage id: stall cut-off}`` at ``now`` of the ``(stage id, stall days)`` with a
    threshold (:func:`domain.stall.stall_cutoff`, on the workspace's clock). Raises what
    ``stall_cutoff`` raises for a threshold nobody could mean (an overflow)."""
    zone = ZoneInfo(workspace.timezone)
    cuts: dict[int, datetime] = {}
    cutoffs: dict[int, datetime] = {}
    for sid, days in stages:
        if days is None or days < 0:
            continue
        if days not in cuts:
            cuts[days] = stall_cutoff(
                now,
                days,
                tz=zone,
                business_days=workspace.stall_business_days,
                country=workspace.holiday_country,
            )
        cutoffs[sid] = cuts[days]
    return cutoffs


def stalled_by_pipeline(
    session: Session,
    *,
    workspace: Workspace,
    cutoffs: dict[int, dict[int, datetime]],
    now: datetime,
) -> dict[int, int]:
    """``{stage id: stalled open deals}`` at ``now`` of the stages in ``cutoffs`` (``{pipeline
    id: {stage id: cut-off}}``, :func:`stall_cutoffs`; stages with no stalled deal left out):
    exactly the deals :func:`domain.stall.stalled_condition` matches (the board equals
    ``/deal list stalled``), at a cost that does not grow with the deals. One statement for
    one pipeline (the board) or for all of them (the weekly summary).

    A deal is stalled when it entered its stage before the stage's cut-off
    (:func:`domain.stall.stall_cutoff`, on the workspace's clock) and is not snoozed past
    today. Per stage, with ``D`` the UTC day of the cut-off::

        stalled = Σ entry-day counters of the days before D     (one row per day of history)
                + open deals that entered in [D 00:00 UTC, cut-off)     (part of one day)
                − open deals entered before the cut-off, snoozed past today   (the snoozes)

    All three in one prebuilt statement (bound days and cut-offs, so built and keyed once per
    stage and pipeline count): :func:`domain.counters.entered_before`, an index range of one
    day per stage (``ix_deal_open_stage``) and the pipelines' snoozes (``ix_deal_snoozed``,
    partial). Reading every stalled deal instead — even index-only over a covering index of
    the pipeline's ``stalled_since`` range — took ~25–50 ms for 55k stalled deals at 1M
    (PostgreSQL ``EXPLAIN ANALYZE``), against ~1 ms here (bench/README.md).

    (Written here, not beside :func:`domain.stall.stalled_condition`: that module's owner was
    changing it at the same time; the tests hold the two equal.)
    """
    params, n = _stalled_params(workspace, cutoffs, now)
    if not n:
        return {}
    k = sum(1 for cuts in cutoffs.values() if cuts)
    out: dict[int, int] = {}
    for sid, count in core_rows(session, _stalled_statement(n, k), params):
        out[sid] = out.get(sid, 0) + int(count)
    return {sid: count for sid, count in out.items() if count}


def _stalled_params(
    workspace: Workspace, cutoffs: dict[int, dict[int, datetime]], now: datetime
) -> tuple[dict, int]:
    """The parameters of :func:`_stalled_statement` for ``cutoffs`` (as
    :func:`stalled_by_pipeline` takes them), and its stage count (0: nothing to count)."""
    pipelines = sorted(pid for pid, cuts in cutoffs.items() if cuts)
    zone = ZoneInfo(workspace.timezone)
    params: dict = {"workspace_id": workspace.id, "today": now.astimezone(zone).date()}
    for j, pid in enumerate(pipelines):
        params[f"p{j}"] = pid
    i = 0
    for pid in pipelines:
        for sid, cut in sorted(cutoffs[pid].items()):
            day = counters.entry_day(cut)
            params[f"s{i}"] = sid
            params[f"lo{i}"] = datetime.combine(day, time(), tzinfo=UTC)
            params[f"cut{i}"] = cut
            params[f"d{i}"] = day
            i += 1
    return params, i


_BOARD: dict[int, Read] = {}


def _board_read(n: int) -> Read:
    """One pipeline's board in one statement (issue 17: one round trip, one snapshot): its
    counter rows, ``(stage id, currency, count, raw amount)`` as
    :func:`domain.counters.stage_totals` reads them, then the parts of
    :func:`_stalled_statement` for its ``n`` stages with a threshold, each as ``(stage id,
    NULL, count, NULL)``. Kept per ``n``, run on the driver's cursor (:mod:`storage.fast`)."""
    read = _BOARD.get(n)
    if read is not None:
        return read
    totals = counters.stage_totals_statement()
    if not n:
        stmt = totals
    else:
        parts = []
        for part in _stalled_statement(n).selects:
            sid, count = part.selected_columns
            parts.append(part.with_only_columns(sid, sa.null(), count, sa.null()))
        stmt = sa.union_all(totals, *parts)
    read = _BOARD[n] = Read(stmt)
    return read


_STALLED: dict[tuple[int, int], sa.CompoundSelect] = {}


def _stalled_statement(n: int, k: int = 1) -> sa.CompoundSelect:
    """Per stage (``n`` of them, of ``k`` pipelines; kept per ``(n, k)``): the entry-day
    counters before the cut-off's day, the cut-off day's deals (one index range per stage)
    and, negated, the snoozed deals entered before their stage's cut-off."""
    stmt = _STALLED.get((n, k))
    if stmt is not None:
        return stmt
    ws = sa.bindparam("workspace_id")
    entered = Deal.stage_entered_at.type  # every cut-off as the column's (UTC on SQLite too)
    parts = [counters.entered_before(n, k)]
    parts += [
        sa.select(Deal.stage_id, sa.func.count().label("n"))
        .where(
            Deal.workspace_id == ws,
            Deal.closed_at.is_(None),
            Deal.stage_id == sa.bindparam(f"s{i}"),
            Deal.stage_entered_at >= sa.bindparam(f"lo{i}", type_=entered),
            Deal.stage_entered_at < sa.bindparam(f"cut{i}", type_=entered),
        )
        .group_by(Deal.stage_id)
        for i in range(n)
    ]
    cut = sa.case(
        *(
            (Deal.stage_id == sa.bindparam(f"s{i}"), sa.bindparam(f"cut{i}", type_=entered))
            for i in range(n)
        )
    )
    parts.append(
        sa.select(Deal.stage_id, (-sa.func.count()).label("n"))
        .where(
            # The pipelines alone (they are the workspace's: the callers checked), so that
            # SQLite's planner takes ix_deal_snoozed, never ix_deal_open_stage's (workspace,
            # closed_at).
            Deal.pipeline_id.in_([sa.bindparam(f"p{j}") for j in range(k)]),
            # ix_deal_snoozed is partial: both spelled as there; "likely" or SQLite's
            # statistics make it skip-scan ix_deal_open_stage's open deals instead (60 ms at 1M)
            likely(Deal.closed_at.is_(None)),
            Deal.snoozed_until.is_not(None),
            Deal.snoozed_until > sa.bindparam("today"),
            Deal.stage_entered_at < cut,
        )
        .group_by(Deal.stage_id)
    )
    stmt = sa.union_all(*parts)
    _STALLED[(n, k)] = stmt
    return stmt
