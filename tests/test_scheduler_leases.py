"""Scheduler processes share the per-workspace planning (scheduler.leases): each workspace's
job is planned once between them, a process that died leaves its claims to the others after
the lease, and a failing or slow workspace fails alone and is tried again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from scheduler import batches, jobs, leases
from scheduler.runner import Ticker
from storage import outbox
from storage.db import session_scope
from storage.models import JobLease, Workspace
from tests import factories as f
from tests.schedulers import tick_at_once
from tests.test_scheduler_jobs import LATER, NoSend

WORKSPACES = 8


def fleet(engine, n: int = WORKSPACES) -> list[int]:
    """``n`` workspaces, each with a digest channel and one deal stalled at ``LATER``."""
    ids = []
    with session_scope(engine) as s:
        for i in range(n):
            ws = f.workspace(s, f"T{i}", digest_channel=f"C{i}", deals_channel=f"D{i}")
            rep = f.member(s, ws, f"UREP{i}")
            f.deal(s, ws, rep, title=f"Stale {i}", now=f.T0)
            ids.append(ws.id)
    return ids


class Clock:
    def __init__(self):
        self.at = LATER

    def __call__(self):
        return self.at


def planned(reports) -> Counter:
    """Workspaces planned per job."""
    out: Counter = Counter()
    for r in reports:
        out[r.job] += r.workspaces
    return out


def lease_rows(engine) -> list[JobLease]:
    with session_scope(engine) as s:
        return list(s.exec(select(JobLease)))


def test_a_second_process_plans_nothing_the_first_did_and_learns_it_is_done(engine):
    fleet(engine)
    clock = Clock()
    first, second = Ticker(engine, NoSend(), now=clock), Ticker(engine, NoSend(), now=clock)
    done_first = planned(first.tick(LATER, send=False))
    assert done_first[jobs.STALL_DIGEST] == WORKSPACES
    assert done_first[jobs.STALL_WARNINGS] == WORKSPACES
    with session_scope(engine) as s:
        recorded = outbox.counts(s)
    assert recorded["pending"] >= 2 * WORKSPACES  # a digest and a warning each, at least
    assert planned(second.tick(LATER, send=False)) == Counter()
    assert set(second.done) == set(first.done)  # it knows, so its next ticks ask nothing
    with session_scope(engine) as s:
        assert outbox.counts(s) == recorded
    assert all(r.done_at is not None for r in lease_rows(engine))


def test_the_next_slot_is_planned_again_on_the_same_row(engine):
    fleet(engine, 2)
    clock = Clock()
    ticker = Ticker(engine, NoSend(), now=clock)
    ticker.tick(LATER, send=False)
    rows = len(lease_rows(engine))
    clock.at = LATER + timedelta(hours=1)
    again = planned(ticker.tick(LATER + timedelta(hours=1), send=False))
    assert again[jobs.STALL_WARNINGS] == 2 and again[jobs.STALL_DIGEST] == 0
    assert len(lease_rows(engine)) == rows  # one row per workspace and job, moved on
    hourly = [r for r in lease_rows(engine) if r.job == jobs.STALL_WARNINGS]
    assert {r.slot for r in hourly} == {"2026-11-22T01"}


def test_concurrent_processes_plan_each_workspace_exactly_once(engine):
    fleet(engine, 12)
    clock = Clock()
    tickers = [Ticker(engine, NoSend(), now=clock, batch=2) for _ in range(3)]
    results = tick_at_once(tickers, LATER)
    total = planned(r for rs in results for r in rs)
    assert total[jobs.STALL_DIGEST] == 12 and total[jobs.STALL_WARNINGS] == 12
    # a process that ran out of rows while others were still planning learns it next tick
    assert [planned(t.tick(LATER, send=False)) for t in tickers] == [Counter()] * 3
    assert all(t.done == tickers[0].done for t in tickers)


def test_a_process_that_died_holding_claims_leaves_them_to_the_others_after_the_lease(engine):
    ids = fleet(engine)
    clock = Clock()
    with session_scope(engine) as s:  # a process offers and claims three, then dies
        leases.offer(s, [(w, jobs.STALL_DIGEST, "2026-11-22") for w in ids])
        dead = leases.claim(
            s, job=jobs.STALL_DIGEST, slots=["2026-11-22"], owner="dead", now=clock(), limit=3
        )
    ticker = Ticker(engine, NoSend(), now=clock)
    assert planned(ticker.tick(LATER, send=False))[jobs.STALL_DIGEST] == WORKSPACES - 3
    clock.at += leases.LEASE - timedelta(seconds=1)
    assert planned(ticker.tick(LATER, send=False))[jobs.STALL_DIGEST] == 0  # still leased
    clock.at += timedelta(seconds=1)
    assert planned(ticker.tick(LATER, send=False))[jobs.STALL_DIGEST] == 3
    assert {w for w, _ in dead} == {r.workspace_id for r in lease_rows(engine) if r.attempts == 2}


def _failing_for(workspace_id, failure, monkeypatch):
    """The digest's reads fail for one workspace: planned alone, or in its batch (which
    then fails whole and is planned one by one)."""
    real = jobs.PLANNERS[jobs.STALL_DIGEST]

    def planner(session, ws, at, force):
        if ws.id == workspace_id:
            failure(session)
        return real(session, ws, at, force)

    real_batch = batches.plan_digests

    def batch(session, workspaces, at):
        if any(ws.id == workspace_id for ws in workspaces):
            failure(session)
        return real_batch(session, workspaces, at)

    monkeypatch.setitem(jobs.PLANNERS, jobs.STALL_DIGEST, planner)
    monkeypatch.setattr(batches, "plan_digests", batch)


def test_a_failing_workspace_fails_alone_and_is_tried_again_after_the_retry_delay(
    engine, monkeypatch
):
    ids = fleet(engine)
    bad = ids[2]

    def boom(session):
        raise RuntimeError("this workspace is broken today")

    _failing_for(bad, boom, monkeypatch)
    clock = Clock()
    ticker = Ticker(engine, NoSend(), now=clock)
    reports = [r for r in ticker.tick(LATER, send=False) if r.job == jobs.STALL_DIGEST]
    assert sum(r.workspaces for r in reports) == WORKSPACES
    assert [e for r in reports for e in r.errors] == [
        "T2: RuntimeError: this workspace is broken today"
    ]
    assert (bad, jobs.STALL_DIGEST) not in ticker.done
    row = next(r for r in lease_rows(engine) if (r.workspace_id, r.job) == (bad, jobs.STALL_DIGEST))
    assert row.done_at is None and "broken" in row.last_error
    assert all(r.done_at for r in lease_rows(engine) if r.workspace_id != bad)
    monkeypatch.undo()
    assert planned(ticker.tick(LATER, send=False))[jobs.STALL_DIGEST] == 0  # not yet
    clock.at += leases.RETRY
    assert planned(ticker.tick(LATER, send=False))[jobs.STALL_DIGEST] == 1
    assert (bad, jobs.STALL_DIGEST) in ticker.done


def _slow_query(session):
    """A query that runs far longer than the budget."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_sleep(30)"))
    else:
        session.execute(
            sa.text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                " WHERE i < 1000000000) SELECT count(*) FROM n"
            )
        )


def test_a_slow_workspace_is_cut_off_at_its_budget_and_the_others_are_planned(engine, monkeypatch):
    ids = fleet(engine, 3)
    _failing_for(ids[0], _slow_query, monkeypatch)
    ticker = Ticker(engine, NoSend(), now=Clock(), budget=0.5)
    reports = [r for r in ticker.tick(LATER, send=False) if r.job == jobs.STALL_DIGEST]
    errors = [e for r in reports for e in r.errors]
    assert len(errors) == 1 and errors[0].startswith("T0: ")
    assert "interrupted" in errors[0] or "statement timeout" in errors[0]
    assert sum(r.recorded for r in reports) == 2 * 1  # the two others' digests went in
    with session_scope(engine) as s:
        assert s.exec(select(Workspace)).all()  # and the session is usable afterwards


@pytest.mark.parametrize("slots", [["2026-11-21"], ["2026-11-22"]])
def test_an_offer_never_moves_a_row_back_to_an_earlier_slot(engine, slots):
    (w,) = fleet(engine, 1)
    with session_scope(engine) as s:
        leases.offer(s, [(w, jobs.STALL_DIGEST, "2026-11-22")])
        leases.offer(s, [(w, jobs.STALL_DIGEST, slots[0])])
    assert [r.slot for r in lease_rows(engine)] == ["2026-11-22"]
