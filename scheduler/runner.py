"""Running the jobs: once on demand (:func:`run_job`), or on a schedule (:func:`start`).

The schedule is one APScheduler interval job in a single ``BackgroundScheduler`` per
process: the *tick* (every minute). Each tick reads the workspaces afresh (so new workspaces
and changed settings — timezone, digest time — count from the next minute) and asks
:func:`scheduler.due.job_slot` which jobs are due for each; a job runs once per slot per
process and records its posts in the outbox, then wakes the process's outbox
:class:`scheduler.drain.Drainer`, which sends them apart from the tick so a long drain never
delays planning (inside ``salesbot serve`` that is the app's own drainer). APScheduler decides nothing
about correctness: a second process, a restart or a catch-up tick runs the same planners,
finds the outbox keys taken and records nothing new (SLACK.md "Scheduling").
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler import batches, due, idle, jobs, leases
from scheduler.drain import Drainer, DrainReport, Sender, drain
from storage import outbox
from storage.db import session_scope, time_limit
from storage.models import Workspace
from storage.types import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 60
WORKSPACE_BUDGET = 120.0  # seconds of queries one workspace's job may take per slot
MAX_IDLE_BATCH = 800  # workspaces claimed at once after batches with nothing to do


@dataclass
class RunReport:
    """What one run did: rows recorded (new / already there) and what the drain sent."""

    job: str
    at: datetime
    workspaces: int = 0
    recorded: int = 0
    already: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0
    recovered: int = 0
    in_flight: int = 0  # leased by another sender (or one that died): sent after its lease
    next_attempt: datetime | None = None  # when the earliest unsent post is due again
    errors: list[str] = field(default_factory=list)

    def add_drain(self, report: DrainReport) -> None:
        self.sent += report.sent
        self.retried += report.retried
        self.failed += report.failed
        self.waiting += report.waiting
        self.recovered += report.recovered
        self.errors.extend(report.errors)


def workspaces(engine: Engine, team_id: str | None = None) -> list[Workspace]:
    with session_scope(engine) as session:
        # An uninstalled workspace (OAuth) gets nothing planned until it is installed again.
        query = select(Workspace).where(Workspace.uninstalled_at.is_(None)).order_by(Workspace.id)
        if team_id is not None:
            query = query.where(Workspace.team_id == team_id)
        return list(session.exec(query))


def run_job(
    name: str,
    *,
    engine: Engine,
    sender: Sender,
    at: datetime,
    team_id: str | None = None,
    force: bool = True,
    now: Callable[[], datetime] = utcnow,
    lease: timedelta = outbox.LEASE,
    backoff_base: float | None = None,
) -> RunReport:
    """Run one job for one workspace (or all) as if at ``at``, then drain the outbox.

    ``force`` (the default, for ``salesbot jobs run``) skips the time-of-day check: the
    digest of ``at``'s local date is due even at 07:00. ``now`` is the real clock the outbox
    uses for leases, attempts and backoff (``at`` may be any instant): a run killed mid-send
    leaves one row leased, which the next run (or any drainer) sends once its lease is over.
    """
    if name not in jobs.PLANNERS:
        raise ValueError(f"unknown job {name!r}; one of {', '.join(jobs.NAMES)}")
    if at.tzinfo is None:
        raise ValueError("run_job needs an aware datetime")
    report = RunReport(name, at)
    targets = workspaces(engine, team_id)
    if team_id is not None and not targets:
        raise LookupError(f"no workspace with team id {team_id!r}")
    for ws in targets:
        result = jobs.run_for_workspace(engine, name, ws.id, at=at, now=now(), force=force)
        report.workspaces += 1
        report.recorded += result.recorded
        report.already += result.already
        if result.error:
            report.errors.append(f"{ws.team_id}: {result.error}")
    workspace_id = targets[0].id if team_id is not None else None
    report.add_drain(
        drain(
            engine,
            sender,
            now=now,
            workspace_id=workspace_id,
            lease=lease,
            backoff_base=backoff_base,
        )
    )
    with session_scope(engine, readonly=True) as session:
        report.in_flight = outbox.in_flight(session, now=now(), workspace_id=workspace_id)
        report.next_attempt = outbox.next_due(session, workspace_id=workspace_id)
    return report


class Ticker:
    """The per-process tick: which (workspace, job) slots this process knows are done.

    Slots that came due are shared with the other scheduler processes through lease rows
    (:mod:`scheduler.leases`): each workspace's job is planned by one of them, the others
    learn it is done. ``budget`` bounds one workspace's planning (seconds of queries).
    """

    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        *,
        now: Callable[[], datetime] = utcnow,
        wake: Callable[[], None] | None = None,
        team_id: str | None = None,
        budget: float | None = WORKSPACE_BUDGET,
        batch: int = leases.BATCH,
    ):
        self.engine = engine
        self.team_id = team_id  # one workspace only (the console's), or every one
        self.sender = sender
        self.now = now
        self.wake = wake
        self.budget = budget
        self.batch = batch  # workspaces claimed at once
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.done: dict[tuple[int, str], str] = {}
        self._read: dict[int, Workspace] = {}  # the workspaces as this tick read them
        self._lock = threading.Lock()

    def tick(self, at: datetime | None = None, *, send: bool = True) -> list[RunReport]:
        """Run every job whose slot came up since the last tick, then send: drain here
        (``send``), or wake the process's drainer.

        The scheduler ticks with ``send=False`` and lets its drainer send, so a long drain
        (thousands of first-time warnings paced at Slack's one message per second per
        channel) never holds up the next minute's planning.
        """
        if not self._lock.acquire(blocking=False):
            return []  # the previous tick is still running
        try:
            at = at or self.now()
            pending: dict[str, dict[int, str]] = {}  # job -> workspace -> its due slot
            self._read = {ws.id: ws for ws in workspaces(self.engine, self.team_id)}
            for ws in self._read.values():
                for name in jobs.NAMES:
                    slot = due.job_slot(name, at, ws.timezone, ws.digest_time)
                    if slot is not None and self.done.get((ws.id, name)) != slot:
                        pending.setdefault(name, {})[ws.id] = slot
            reports = self._run(pending, at)
            if send:
                reports.append(self.drain())
            elif self.wake is not None and any(r.recorded for r in reports):
                self.wake()
            return reports
        except Exception as exc:  # the scheduler thread must survive a bad tick (db down, …)
            from storage.db import unreachable

            if unreachable(exc):
                log.warning("scheduler tick skipped: database unreachable")
            else:
                log.exception("scheduler tick failed")
            return []
        finally:
            self._lock.release()

    def _run(self, pending: dict[str, dict[int, str]], at: datetime) -> list[RunReport]:
        """Offer the due slots, then claim and plan them until none is left to claim."""
        if not pending:
            return []
        with session_scope(self.engine) as session:
            leases.offer(
                session,
                [(w, name, slot) for name, due_ in pending.items() for w, slot in due_.items()],
            )
        reports = []
        for name, due_ in pending.items():
            slots = set(due_.values())
            outcomes: list[tuple[int, str, str | None]] = []
            limit = self.batch
            while True:
                # One transaction: the last batch's outcomes, the next claim and, for a job
                # with an idle check, which of the claimed have nothing to do — those are done
                # in the same transaction, without a session of their own.
                with session_scope(self.engine) as session:
                    if outcomes:
                        leases.finish(session, job=name, outcomes=outcomes, now=self.now())
                    claimed = leases.claim(
                        session,
                        job=name,
                        slots=slots,
                        owner=self.owner,
                        now=self.now(),
                        limit=limit,
                    )
                    current = [w for w, s in claimed if due_.get(w) == s]
                    nothing = self._idle(session, name, current, at)
                    if nothing:
                        idle_done = [(w, s, None) for w, s in claimed if w in nothing]
                        leases.finish(session, job=name, outcomes=idle_done, now=self.now())
                if not claimed:
                    break
                outcomes = []
                # A batch planned at once needs no idle check: it reads what the check would.
                together = self._together(name, current, at)
                for workspace_id, slot in claimed:
                    if workspace_id in nothing:
                        reports.append(self._nothing_to_do(name, workspace_id, slot, at))
                        continue
                    if workspace_id in together:
                        outcome = self._planned(
                            name, workspace_id, slot, together[workspace_id], at
                        )
                    else:
                        outcome = self._plan(name, workspace_id, slot, due_.get(workspace_id), at)
                    error = outcome.errors[0] if outcome and outcome.errors else None
                    outcomes.append((workspace_id, slot, error))
                    reports.extend([outcome] if outcome else [])
                # A batch where every workspace had nothing to do: claim twice as many next
                # (up to MAX_IDLE_BATCH); one with work to plan goes back to ``batch``, so
                # processes still share the planning in small batches.
                if len(nothing) == len(claimed):
                    limit = min(limit * 2, max(self.batch, MAX_IDLE_BATCH))
                else:
                    limit = self.batch
            with session_scope(self.engine, readonly=True) as session:
                for workspace_id, slot in leases.finished(session, job=name, slots=slots):
                    if due_.get(workspace_id) == slot:  # another process planned it
                        self.done[(workspace_id, name)] = slot
        return reports

    def _idle(self, session, name: str, workspace_ids: list[int], at: datetime) -> set[int]:
        """Which of a claimed batch have nothing to do (scheduler.idle), read in the claim's
        transaction, in a savepoint: if the check fails, the claim stands and every workspace
        of the batch is planned on its own as before (each fails or succeeds alone). Jobs a
        batch is planned for at once (scheduler.batches) need no check."""
        if name not in idle.CHECKS or name in batches.BATCHED or not workspace_ids:
            return set()
        # The workspaces as the tick read them a moment ago (their settings: timezone, digest
        # time, renewal offsets), not read again per batch.
        found = [self._read[w] for w in workspace_ids if w in self._read]
        try:
            with session.begin_nested(), time_limit(session, self.budget):
                return idle.idle(session, name, found, at)
        except Exception:
            log.exception("idle check of %s failed: planning its batch one by one", name)
            return set()

    def _together(self, name: str, workspace_ids: list[int], at: datetime) -> dict:
        """The batch planned at once where the job allows it (scheduler.batches): the
        result of each workspace it planned. If that fails, nothing of it was recorded and
        every workspace of the batch is planned on its own (each fails or succeeds alone)."""
        if name not in batches.BATCHED or not workspace_ids:
            return {}
        try:
            return batches.run_batch(
                self.engine, name, workspace_ids, at=at, now=self.now(), budget=self.budget
            )
        except Exception:
            log.exception("batch of %s failed: planning its workspaces one by one", name)
            return {}

    def _nothing_to_do(self, name: str, workspace_id: int, slot: str, at: datetime) -> RunReport:
        """A slot whose workspace had nothing to plan: done, without a session of its own."""
        self.done[(workspace_id, name)] = slot
        return RunReport(name, at, 1)

    def _plan(
        self, name: str, workspace_id: int, slot: str, due_slot: str | None, at: datetime
    ) -> RunReport | None:
        """Plan one claimed slot and say how it went; None for a slot that is no longer this
        workspace's (a row left over from an earlier period): it is only marked done."""
        if due_slot != slot:
            return None
        result = jobs.run_for_workspace(
            self.engine, name, workspace_id, at=at, now=self.now(), force=False, budget=self.budget
        )
        return self._planned(name, workspace_id, slot, result, at)

    def _planned(
        self, name: str, workspace_id: int, slot: str, result: jobs.JobResult, at: datetime
    ) -> RunReport:
        if result.error is None:
            self.done[(workspace_id, name)] = slot
        report = RunReport(name, at, 1, result.recorded, result.already)
        if result.error:
            report.errors.append(f"{result.team_id or workspace_id}: {result.error}")
        return report

    def drain(self) -> RunReport:
        """Send what the outbox holds (every process may do this at once: rows are leased)."""
        report = RunReport("drain", self.now())
        try:
            report.add_drain(drain(self.engine, self.sender, now=self.now))
        except Exception:  # database down: the rows wait, the next drain tries again
            log.exception("scheduler drain failed")
        return report


def start(
    settings=None,
    *,
    engine: Engine | None = None,
    sender: Sender | None = None,
    drainer: Drainer | None = None,
    tick_seconds: float = TICK_SECONDS,
    blocking: bool = False,
    team_id: str | None = None,
):
    """Start the scheduler: a ``BackgroundScheduler`` (or a blocking one) that plans every
    minute (``tick_seconds``) and wakes ``drainer`` when it recorded posts.

    Inside the app, pass the app's ``drainer``. Alone (``salesbot scheduler``, the console),
    give ``settings`` (the engine and a Slack sender are made from it) or ``engine`` and
    ``sender``, and a drainer of its own is started (``scheduler.drainer``). The first tick
    runs at once, so a restart catches up what it missed. ``team_id`` limits the schedule
    (and the drainer) to one workspace: the console's.
    """
    from apscheduler.triggers.interval import IntervalTrigger

    if engine is None:
        from storage.db import make_engine

        engine = make_engine(settings.database_url)
    owned = drainer is None
    if drainer is None:
        if sender is None:
            from bot.sender import SlackSender

            sender = SlackSender.from_settings(settings, pace=settings.slack_pace, engine=engine)
        options = {}
        if settings is not None:
            options = {"lease": settings.outbox_lease, "backoff_base": settings.outbox_backoff}
        if team_id is not None:
            options["workspace_id"] = _workspace_id(engine, team_id)
        drainer = Drainer(engine, sender, **options).start()
    ticker = Ticker(engine, drainer.sender, wake=drainer.wake, team_id=team_id)
    kind = _Blocking if blocking else _Background
    scheduler = kind(timezone=UTC)
    scheduler.owned_drainer = drainer if owned else None
    scheduler.add_job(
        lambda: ticker.tick(send=False),
        IntervalTrigger(seconds=tick_seconds, timezone=UTC),
        id="salesbot-tick",
        name="salesbot scheduler tick",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(tick_seconds)),
        next_run_time=datetime.now(UTC),
    )
    scheduler.ticker = ticker  # for tests
    scheduler.drainer = drainer
    log.info("scheduler started: ticking every %ss", tick_seconds)
    scheduler.start()
    return scheduler


class _StopsItsDrainer:
    """``shutdown()`` also stops the drainer ``start`` made for this scheduler: left running,
    it would go on claiming and sending rows after its owner is gone."""

    owned_drainer: Drainer | None = None

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait=wait)
        if self.owned_drainer is not None:
            self.owned_drainer.stop(timeout=60.0 if wait else 5.0)


class _Background(_StopsItsDrainer, BackgroundScheduler):
    pass


class _Blocking(_StopsItsDrainer, BlockingScheduler):
    pass


def _workspace_id(engine: Engine, team_id: str) -> int | None:
    found = workspaces(engine, team_id)
    return found[0].id if found else None


@dataclass(frozen=True)
class NextRun:
    team_id: str
    timezone: str
    job: str
    at: datetime  # aware, in the workspace timezone


def next_runs(engine: Engine, at: datetime, team_id: str | None = None) -> Iterable[NextRun]:
    """For ``jobs list``: when each job next comes due for each workspace."""
    for ws in workspaces(engine, team_id):
        for name in jobs.NAMES:
            yield NextRun(
                ws.team_id, ws.timezone, name, due.next_run(name, at, ws.timezone, ws.digest_time)
            )
