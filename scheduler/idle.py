"""Which workspaces of a claimed batch have nothing to do for a job: one query per batch.

A scheduler process claims workspaces in batches (:mod:`scheduler.leases`). Most of a
fleet's workspaces have nothing to plan in most slots — no task came due, no alert is held,
no deal stalled since the last hour's warnings — yet planning one costs a session, a
transaction and half a dozen statements. :func:`idle` asks once for the whole batch which
workspaces have any candidate at all, in the transaction that claimed them
(:class:`scheduler.runner.Ticker`); the others are marked done in that same transaction
without being planned, and a batch with nothing to do makes the next claim twice as large.

Each check is a *superset* of its planner's reads (a workspace it calls busy may still turn
out to have nothing), never a subset: a workspace called idle is one whose planner would
record nothing and change nothing. The digest is planned wherever a deal is stalled or the
workspace asked for an all-clear; jobs without a check (the weekly ones) are always planned;
the jobs a batch is planned for at once (:mod:`scheduler.batches`: the digest, the stall
warnings) need none, their batch reads what the check would. ``tests/test_scheduler_idle.py`` holds
each check against its planner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from domain import tasks
from domain.deal_reads import Stalled
from domain.stall import stall_status
from scheduler import due
from scheduler.jobs import STALL_WARNINGS, _taken_keys, morning_period
from storage.models import AlertItem, Deal, Lead, Outcome, Stage, Task, TaskStatus, Workspace
from storage.outbox import outbox_key


def idle(session: Session, job: str, workspaces: Sequence[Workspace], at: datetime) -> set[int]:
    """Ids of ``workspaces`` for which ``job`` at ``at`` would record and change nothing."""
    check = CHECKS.get(job)
    if check is None or not workspaces:
        return set()
    return {ws.id for ws in workspaces} - check(session, workspaces, at)


def _with(session: Session, model, workspaces: Sequence[Workspace], *where) -> set[int]:
    """Workspaces with at least one row of ``model`` matching ``where``."""
    ids = [ws.id for ws in workspaces]
    return set(
        session.execute(
            sa.select(model.workspace_id).where(model.workspace_id.in_(ids), *where).distinct()
        ).scalars()
    )


def _alert_digests(session: Session, workspaces: Sequence[Workspace], at: datetime) -> set[int]:
    # domain.alerts.claim_due: held alerts whose release came.
    return _with(
        session, AlertItem, workspaces, AlertItem.digest.is_(None), AlertItem.release_at <= at
    )


def _task_reminders(session: Session, workspaces: Sequence[Workspace], at: datetime) -> set[int]:
    # domain.tasks.tasks_came_due: open tasks due in the lookback, their due time not reminded;
    # in a workspace's morning window (jobs.morning_dms) also any open task due today.
    came_due = sa.and_(
        Task.due_at <= at,
        Task.due_at > at - due.TASK_LOOKBACK,
        sa.or_(Task.reminded_due_at.is_(None), Task.reminded_due_at != Task.due_at),
    )
    morning = [ws for ws in workspaces if morning_period(ws, at) is not None]
    if morning:
        until = max(tasks.end_of_today(ws, at) for ws in morning)
        today = sa.and_(Task.workspace_id.in_([ws.id for ws in morning]), Task.due_at < until)
        came_due = sa.or_(came_due, today)
    return _with(session, Task, workspaces, Task.status == TaskStatus.open.value, came_due)


def _renewal_alerts(session: Session, workspaces: Sequence[Workspace], at: datetime) -> set[int]:
    # domain.deal_reads.renewal_deals: renewal dates from today to the widest offset ahead.
    days = [due.local_today(at, ws.timezone) for ws in workspaces]
    horizon = max(
        day + timedelta(days=max(due.parse_offsets(ws.renewal_offsets)))
        for day, ws in zip(days, workspaces, strict=True)
    )
    return _with(
        session,
        Deal,
        workspaces,
        Deal.renewal_date.is_not(None),
        Deal.renewal_date >= min(days),
        Deal.renewal_date <= horizon,
    )


def _lead_scores(session: Session, workspaces: Sequence[Workspace], at: datetime) -> set[int]:
    # domain.lead_scores.recompute scores every lead: a workspace without leads has none.
    return _with(session, Lead, workspaces)


def _stalled(session: Session, workspaces: Sequence[Workspace], at: datetime):
    """``(workspace, deal row, status)`` of the batch's stalled deals at ``at``: read as
    :func:`domain.deal_reads.stalled_deals` does (open, in an open stage with a threshold,
    ``stalled_since`` by ``at``) and told stalled by :func:`domain.stall.stall_status`
    (what ``stalled_condition`` says in SQL, snoozes included)."""
    by_id = {ws.id: ws for ws in workspaces}
    rows = session.execute(
        sa.select(
            Deal.id,
            Deal.workspace_id,
            Deal.stage_entered_at,
            Deal.snoozed_until,
            Deal.thread_channel,
            Deal.thread_ts,
            Stage.stall_days,
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.workspace_id.in_(list(by_id)),
            Stage.workspace_id.in_(list(by_id)),  # else PostgreSQL hashes every stage
            Deal.closed_at.is_(None),
            Deal.stalled_since <= at,
            Stage.outcome == Outcome.open.value,
            Stage.stall_days.is_not(None),
            Stage.stall_days >= 0,
        )
    ).all()
    for row in rows:
        ws = by_id[row.workspace_id]
        status = stall_status(
            stage_entered_at=row.stage_entered_at,
            stall_days=row.stall_days,
            snoozed_until=row.snoozed_until,
            now=at,
            tz=ws.timezone,
            business_days=ws.stall_business_days,
            country=ws.holiday_country,
        )
        if status.stalled:
            yield ws, row, status


ODD_THRESHOLD = 36_500  # stall days past which the planners' date arithmetic may fail


def odd(session: Session, workspaces: Sequence[Workspace]) -> set[int]:
    """Workspaces with an open stage whose threshold no one could mean (left over from an
    import): the planner's reads may fail there (domain.isolate), so they are planned."""
    return _with(
        session,
        Stage,
        workspaces,
        Stage.outcome == Outcome.open.value,
        Stage.stall_days > ODD_THRESHOLD,
    )


def _stall_warnings(session: Session, workspaces: Sequence[Workspace], at: datetime) -> set[int]:
    """Workspaces with a stalled deal whose episode was not warned about yet: an episode
    counts as warned when its ``thread`` key is taken. A deal with no thread target (no card,
    no deals channel) makes its workspace busy: the planner decides about its DM."""
    busy: set[int] = set()
    keys: dict[str, int] = {}
    for ws, row, status in _stalled(session, workspaces, at):
        if not ((row.thread_channel and row.thread_ts) or ws.deals_channel):
            busy.add(ws.id)
            continue
        period = due.stall_warning_period(Stalled(row, status))
        key = outbox_key(job=STALL_WARNINGS, workspace_id=ws.id, target="thread", period=period)
        keys[key] = ws.id
    taken = _taken_keys(session, list(keys))
    return busy | {w for key, w in keys.items() if key not in taken} | odd(session, workspaces)


def _stall_digest(session: Session, workspaces: Sequence[Workspace], at: datetime) -> set[int]:
    """Workspaces with a stalled deal, or that post an all-clear digest (jobs.plan_stall_digest
    posts nothing else when nothing is stalled)."""
    clear = {ws.id for ws in workspaces if ws.digest_all_clear}
    return (
        clear | {ws.id for ws, _, _ in _stalled(session, workspaces, at)} | odd(session, workspaces)
    )


CHECKS: dict[str, Callable[[Session, Sequence[Workspace], datetime], set[int]]] = {
    "alert-digests": _alert_digests,
    "task-reminders": _task_reminders,
    "renewal-alerts": _renewal_alerts,
    "lead-scores": _lead_scores,
    "stall-warnings": _stall_warnings,
    "stall-digest": _stall_digest,
}
