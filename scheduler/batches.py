"""A claimed batch of workspaces planned together: one transaction, a few set-wise reads.

Two jobs are planned so: the stall digest (:func:`plan_digests`) and the hourly stall
warnings (:func:`plan_warnings`).

The stall digest is posted by nearly every workspace of a fleet at 09:00, and planned one by
one it costs each workspace its own session, transaction, ``statement_timeout``, a savepoint
per pipeline and half a dozen small statements (stages, stalled deals, owners, rates,
overdue tasks, managers, the outbox insert): ~10 ms of CPU each. :func:`run_batch` plans a
whole claimed batch (:mod:`scheduler.leases`) instead: the batch's stalled deals with their
stages, pipelines and owners in one statement, rates, overdue tasks and managers in one each,
every workspace's digest rendered by the same :func:`scheduler.jobs.stall_digest_threads` as
one by one, and every outbox row in one multi-row insert — the same keys and payloads as
:func:`scheduler.jobs.plan_stall_digest` (``tests/test_scheduler_batches.py``).

If anything of the batch fails, nothing of it is recorded and the caller plans its
workspaces one by one, each succeeding or failing alone (the one-by-one planner's
savepoint per pipeline then names a pipeline that cannot be computed). Workspaces with an
open stage whose threshold no one could mean (:func:`scheduler.idle.odd`) are left to the
one-by-one planner from the start: that is where a pipeline may fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain import deal_reads, stall_digest, tasks
from domain.money import Conversion
from domain.workspaces import managers_of
from scheduler import due, idle, jobs
from storage.db import session_scope, time_limit
from storage.models import ExchangeRate, Workspace
from views import notifications as views


def _conversions(session: Session, workspaces: Sequence[Workspace]) -> dict[int, Conversion]:
    """:func:`domain.money.conversion` of each workspace, in one statement."""
    bases = {ws.id: ws.currency.upper() for ws in workspaces}
    rates: dict[int, dict[str, Decimal]] = {ws_id: {} for ws_id in bases}
    found = session.execute(
        sa.select(
            ExchangeRate.workspace_id, ExchangeRate.base, ExchangeRate.currency, ExchangeRate.rate
        ).where(ExchangeRate.workspace_id.in_(list(bases)))
    )
    for ws_id, base, currency, rate in found:
        if base == bases[ws_id]:
            rates[ws_id][currency] = Decimal(rate)
    return {ws_id: Conversion(base, rates[ws_id]) for ws_id, base in bases.items()}


def _summed(items, conversion: Conversion) -> stall_digest.StallDigest:
    groups = due.group_by_owner(items, conversion)
    return stall_digest.summarize(items, groups, conversion, views.DIGEST_DEALS)


def plan_digests(
    session: Session, workspaces: Sequence[Workspace], at: datetime
) -> dict[int, list[jobs.Thread]]:
    """Each workspace's stall digest at ``at`` (the time-of-day check included, as the
    ticker plans: ``force=False``), read for the whole batch at once."""
    periods = {ws.id: due.digest_due(at, ws.timezone, ws.digest_time) for ws in workspaces}
    wanted = [ws for ws in workspaces if periods[ws.id] is not None]
    out: dict[int, list[jobs.Thread]] = {ws.id: [] for ws in workspaces}
    if not wanted:
        return out
    rows = deal_reads.stalled_deals_of(session=session, workspaces=wanted, now=at)
    items = {ws.id: due.stalled_on(ws, rows[ws.id], at) for ws in wanted}
    posting = [ws for ws in wanted if items[ws.id] or ws.digest_all_clear]
    if not posting:
        return out
    ids = [ws.id for ws in posting]
    conversions = _conversions(session, posting)
    overdue = tasks.overdue_counts_of(session=session, workspace_ids=ids, now=at)
    managers = managers_of(session=session, workspace_ids=ids)
    for ws in posting:
        out[ws.id] = jobs.stall_digest_threads(
            ws,
            at,
            periods[ws.id],
            _summed(items[ws.id], conversions[ws.id]),
            failed=(),
            overdue_tasks=overdue[ws.id],
            managers=managers[ws.id],
        )
    return out


def plan_warnings(
    session: Session, workspaces: Sequence[Workspace], at: datetime
) -> dict[int, list[jobs.Post]]:
    """Each workspace's stall warnings at ``at``, read for the whole batch at once: the
    stalled deals in one statement (lead pipelines included, as one by one), the keys of
    every episode in one lookup; only the workspaces with an episode not warned yet read
    their workflows, routes, alert choices and stage names, one statement per kind for them
    all (:func:`scheduler.jobs.stall_warnings_of`, as one by one) — in a steady hour, the few
    whose deals stalled since the last one."""
    rows = jobs.unwarned_stalled(session, workspaces, at)
    items = {ws.id: jobs.stall_warning_items(ws, rows[ws.id], at) for ws in workspaces}
    keys = {ws.id: jobs.stall_warning_keys(ws, items[ws.id]) for ws in workspaces}
    new = jobs._new_keys(session, [k for each in keys.values() for ks in each for k in ks])
    return jobs.stall_warnings_of(session, workspaces, at, items, keys, new)


BATCHED = (jobs.STALL_DIGEST, jobs.STALL_WARNINGS)  # jobs a batch is planned for at once


def run_batch(
    engine: Engine,
    job: str,
    workspace_ids: Sequence[int],
    *,
    at: datetime,
    now: datetime,
    budget: float | None = None,
) -> dict[int, jobs.JobResult]:
    """Plan and record ``job`` for a batch of workspaces in one transaction; the results of
    those it planned (a workspace left out is the caller's to plan alone). Raises when any
    of it fails (nothing is then recorded): the caller plans them one by one."""
    if job not in BATCHED:
        raise ValueError(f"{job} is planned one workspace at a time")
    with session_scope(engine) as session, time_limit(session, budget):
        found = list(
            session.exec(
                select(Workspace)
                .where(Workspace.id.in_(list(workspace_ids)))
                .order_by(Workspace.id)
            )
        )
        odd = idle.odd(session, found)
        found = [ws for ws in found if ws.id not in odd]
        planned = _planner(job)(session, found, at)
        counts = jobs.record_across(session, job, [(ws, planned[ws.id]) for ws in found], now)
        return {ws.id: jobs.JobResult(ws.id, ws.team_id, *counts[ws.id]) for ws in found}


def _planner(job: str):
    # Looked up at each call, so a test may put a failing planner in the module's place.
    return {jobs.STALL_DIGEST: plan_digests, jobs.STALL_WARNINGS: plan_warnings}[job]
