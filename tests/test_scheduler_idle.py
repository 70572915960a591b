"""The batch check of which workspaces have nothing to do (scheduler.idle) against the
planners themselves: a workspace it calls idle is one whose planner records nothing and
changes nothing, and the ticker that skips them records exactly the posts it recorded
before — also when the check fails and the batch is planned one by one."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from domain import deals
from scheduler import idle, jobs, leases
from scheduler.runner import Ticker
from storage.db import session_scope
from storage.models import AlertItem, JobLease, Lead, Outbox, Role, Stage, Task, Workspace
from tests import factories as f
from tests.schedulers import tick_at_once
from tests.test_scheduler_jobs import LATER, NoSend

MONDAY = LATER + timedelta(days=1)  # Monday 2026-11-23 09:30 in Seoul: every daily job due


def fleet(engine) -> dict[str, int]:
    """Workspaces in the states the checks tell apart, by team id."""
    ids = {}
    with session_scope(engine) as s:

        def ws_with_rep(team, **settings):
            ws = f.workspace(s, team, digest_channel=f"CG{team}", **settings)
            f.member(s, ws, f"UM{team}", Role.manager)
            return ws, f.member(s, ws, f"UR{team}")

        ws, rep = ws_with_rep("TQUIET", deals_channel="CDQ")  # only a fresh deal
        f.deal(s, ws, rep, title="Fresh", now=MONDAY - timedelta(days=1))
        ids["TQUIET"] = ws.id
        ws, rep = ws_with_rep("TSTALL", deals_channel="CDS")  # a stalled deal with a card
        stale = f.deal(s, ws, rep, title="Stale", now=f.T0)
        deals.record_card(session=s, deal_id=stale.id, home=("CDS", "1700000000.000001", None))
        ids["TSTALL"] = ws.id
        ws, rep = ws_with_rep("TNOCHAN")  # stalled, no card, no deals channel: DM only
        f.deal(s, ws, rep, title="Stale too", now=f.T0)
        ids["TNOCHAN"] = ws.id
        ws, rep = ws_with_rep("TSNOOZE", deals_channel="CDZ")  # stalled but snoozed
        snoozed = f.deal(s, ws, rep, title="Snoozed", now=f.T0)
        deals.snooze(
            session=s,
            actor=rep,
            deal=snoozed,
            until=date(2026, 12, 1),
            today=LATER.date(),
            now=LATER,
        )
        ids["TSNOOZE"] = ws.id
        ws, rep = ws_with_rep("TTASK", deals_channel="CDT")
        s.add(Task(workspace_id=ws.id, number=1, owner_id=rep.id, text="Call", due_at=MONDAY))
        ids["TTASK"] = ws.id
        ws, rep = ws_with_rep("TRENEW", deals_channel="CDR")  # renewal 30 days ahead
        renewing = f.deal(s, ws, rep, title="Renewing", now=MONDAY - timedelta(days=1))
        deals.set_renewal(
            session=s,
            actor=rep,
            deal=renewing,
            now=MONDAY,
            renewal_date=date(2026, 12, 23),
            mrr=Decimal(990000),
        )
        ids["TRENEW"] = ws.id
        ws, rep = ws_with_rep("TCLEAR", digest_all_clear=True)  # nothing stalled, says so
        ids["TCLEAR"] = ws.id
    return ids


def fingerprint(engine, workspace_id: int) -> tuple:
    """What a planner may change for a workspace: its outbox, tasks, held alerts, leads."""
    with session_scope(engine) as s:
        out = []
        for model, column in (
            (Outbox, Outbox.key),
            (Task, Task.reminded_due_at),
            (AlertItem, AlertItem.digest),
            (Lead, Lead.score),
        ):
            out.append(
                sorted(
                    map(
                        str,
                        s.execute(
                            sa.select(column).where(model.workspace_id == workspace_id)
                        ).scalars(),
                    )
                )
            )
        return tuple(tuple(x) for x in out)


def idle_ids(engine, job: str, at: datetime) -> set[int]:
    with session_scope(engine, readonly=True) as s:
        return idle.idle(s, job, list(s.exec(select(Workspace))), at)


def test_a_workspace_called_idle_has_nothing_to_plan_and_the_busy_ones_are_found(engine):
    ids = fleet(engine)
    by_id = {v: k for k, v in ids.items()}
    expected_busy = {
        jobs.STALL_WARNINGS: {"TSTALL", "TNOCHAN"},
        jobs.STALL_DIGEST: {"TSTALL", "TNOCHAN", "TCLEAR"},
        jobs.TASK_REMINDERS: {"TTASK"},
        jobs.RENEWAL_ALERTS: {"TRENEW"},
        jobs.ALERT_DIGESTS: set(),
        jobs.LEAD_SCORES: set(),
    }
    assert set(idle.CHECKS) == set(expected_busy)
    for job, busy in expected_busy.items():
        nothing = idle_ids(engine, job, MONDAY)
        assert {by_id[w] for w in set(ids.values()) - nothing} == busy, job
        for workspace_id in nothing:  # the planner agrees: nothing recorded, nothing changed
            before = fingerprint(engine, workspace_id)
            result = jobs.run_for_workspace(
                engine, job, workspace_id, at=MONDAY, now=MONDAY, force=False
            )
            assert (result.error, result.recorded, result.already) == (None, 0, 0), job
            assert fingerprint(engine, workspace_id) == before, job
    for workspace_id in ids.values():  # plan everything once: the warnings are then taken
        for job in expected_busy:
            jobs.run_for_workspace(engine, job, workspace_id, at=MONDAY, now=MONDAY, force=False)
    warned = idle_ids(engine, jobs.STALL_WARNINGS, MONDAY + timedelta(hours=1))
    # TNOCHAN's episode has no thread key to look up: the planner decides about its DM.
    assert {by_id[w] for w in set(ids.values()) - warned} == {"TNOCHAN"}
    # Its task is overdue now: listed in the morning DM, not reminded again after the morning.
    wednesday = MONDAY + timedelta(days=2)
    assert ids["TTASK"] not in idle_ids(engine, jobs.TASK_REMINDERS, wednesday)
    assert ids["TTASK"] in idle_ids(engine, jobs.TASK_REMINDERS, wednesday + timedelta(hours=3))


def test_a_threshold_no_one_could_mean_leaves_the_stall_jobs_to_the_planner(engine):
    ids = fleet(engine)
    with session_scope(engine) as s:
        s.execute(
            sa.update(Stage)
            .where(Stage.workspace_id == ids["TQUIET"], Stage.stall_days.is_not(None))
            .values(stall_days=10**9)
        )
    for job in (jobs.STALL_WARNINGS, jobs.STALL_DIGEST):
        assert ids["TQUIET"] not in idle_ids(engine, job, MONDAY)


def keys(engine) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        return sorted((r.key, r.payload) for r in s.exec(select(Outbox)))


def _tick(engine) -> tuple[list[tuple[str, str]], list]:
    ticker = Ticker(engine, NoSend(), now=lambda: MONDAY)
    reports = ticker.tick(MONDAY, send=False)
    with session_scope(engine) as s:
        leases = [
            (r.workspace_id, r.job, r.slot, r.done_at is not None) for r in s.exec(select(JobLease))
        ]
    return keys(engine), sorted(leases), reports, ticker


@pytest.mark.parametrize("check", ["works", "fails", "fails in the database"])
def test_the_ticker_records_the_same_posts_with_the_check_or_when_it_fails(
    engine, check, monkeypatch
):
    fleet(engine)
    if check != "works":  # every check raises: each batch is planned workspace by workspace
        # "in the database": a statement fails inside the claim's transaction (on
        # PostgreSQL that aborts it); the claim must stand all the same.

        def broken(session, workspaces, at):
            if check == "fails in the database":
                session.execute(sa.text("SELECT no_such_column FROM workspace"))
            raise RuntimeError("the batch query failed")

        for job in list(idle.CHECKS):
            monkeypatch.setitem(idle.CHECKS, job, broken)
    recorded, leases, reports, ticker = _tick(engine)
    assert all(done for *_, done in leases)  # every slot of every workspace is done
    assert not [e for r in reports for e in r.errors]
    # The same posts as the planners make on their own, one workspace at a time.
    with session_scope(engine) as s:
        s.execute(sa.delete(Outbox))
        s.execute(sa.update(Task).values(reminded_due_at=None))
    with session_scope(engine) as s:
        workspace_ids = [w.id for w in s.exec(select(Workspace).order_by(Workspace.id))]
    for job in jobs.NAMES:
        for workspace_id in workspace_ids:
            if (workspace_id, job) in ticker.done:
                jobs.run_for_workspace(
                    engine, job, workspace_id, at=MONDAY, now=MONDAY, force=False
                )
    assert keys(engine) == recorded
    assert recorded  # the fleet has posts to make


def quiet_fleet(engine, n: int) -> None:
    """``n`` more workspaces with nothing to do at ``MONDAY`` (no deal, task, lead, alert)."""
    with session_scope(engine) as s:
        for i in range(n):
            f.workspace(s, f"TIDLE{i}", digest_channel=f"CI{i}")


def test_workspaces_with_nothing_to_do_are_claimed_in_growing_batches(engine, monkeypatch):
    quiet_fleet(engine, 32)
    claims: list[int] = []
    claim = leases.claim

    def counted(session, *, job, **kw):
        claimed = claim(session, job=job, **kw)
        if job == jobs.LEAD_SCORES:  # no workspace has a lead: every batch is idle
            claims.append(len(claimed))
        return claimed

    monkeypatch.setattr(leases, "claim", counted)
    ticker = Ticker(engine, NoSend(), now=lambda: MONDAY, batch=2)
    ticker.tick(MONDAY, send=False)
    assert claims == [2, 4, 8, 16, 2, 0]  # 17 claims of 2 before
    assert all(done for *_, done in _leases(engine))


def test_processes_share_idle_and_busy_workspaces_and_plan_each_once(engine):
    fleet(engine)
    quiet_fleet(engine, 40)
    alone, _, reports, _ = _tick(engine)  # one process, the default batch
    one = Counter()
    for r in reports:
        one[r.job] += r.workspaces
    with session_scope(engine) as s:
        s.execute(sa.delete(Outbox))
        s.execute(sa.delete(JobLease))
        s.execute(sa.update(Task).values(reminded_due_at=None))
    tickers = [Ticker(engine, NoSend(), now=lambda: MONDAY, batch=2) for _ in range(3)]
    results = tick_at_once(tickers, MONDAY)
    shared = Counter()
    for r in (r for rs in results for r in rs):
        assert not r.errors
        shared[r.job] += r.workspaces
    assert shared == one  # each workspace's job planned once between the three
    assert set(shared.values()) == {47}
    assert keys(engine) == alone  # the same posts, each once
    assert all(done for *_, done in _leases(engine))
    assert [t.tick(MONDAY, send=False) for t in tickers] == [[], [], []]


def _leases(engine) -> list[tuple]:
    with session_scope(engine) as s:
        return [
            (r.workspace_id, r.job, r.slot, r.done_at is not None) for r in s.exec(select(JobLease))
        ]
