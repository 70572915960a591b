"""The stall digest planned for a claimed batch of workspaces at once (scheduler.batches)
posts exactly what planning each workspace on its own posts — the same outbox keys and
payloads, thread parts included — fails as a whole into one-by-one planning where one
workspace fails alone, and shares the batches between processes so nothing posts twice."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from domain import deals, money
from scheduler import batches, jobs
from scheduler.runner import Ticker
from storage.db import session_scope
from storage.models import Outbox, Role, Stage, Task, Workspace
from tests import factories as f
from tests.test_scheduler_idle import MONDAY
from tests.test_scheduler_idle import fleet as idle_fleet
from tests.test_scheduler_jobs import NoSend


def fleet(engine) -> dict[str, int]:
    """The idle check's fleet, and workspaces whose digests differ in every way a digest
    can: a long one split into a thread, managers in two locales, overdue tasks, amounts in
    a currency with a rate and one without, the business-day clock, a deals channel only."""
    ids = idle_fleet(engine)
    with session_scope(engine) as s:
        ws = f.workspace(s, "TBIG", digest_channel="CGBIG", deals_channel="CDBIG")
        admin = f.member(s, ws, "UABIG", Role.admin)
        manager = f.member(s, ws, "UMBIG", Role.manager)
        manager.locale = "en"  # the workspace speaks Korean
        reps = [f.member(s, ws, f"URBIG{i}", name=f"Rep {i}") for i in range(3)]
        for i in range(200):  # past one message: the rest goes into its thread
            f.deal(
                s,
                ws,
                reps[i % 3],
                title=f"Big {i}",
                amount=str(1_000_000 + 7_919 * i),
                now=f.T0 + timedelta(hours=i),
            )
        f.deal(s, ws, reps[0], title="Dollars", amount="12000", currency="USD", now=f.T0)
        f.deal(s, ws, reps[1], title="Euros", amount="9000", currency="EUR", now=f.T0)
        money.set_rates(
            session=s, workspace=ws, actor=admin, rates=[("USD", Decimal(1380))], now=f.T0
        )
        for n, rep in enumerate(reps[:2], start=1):
            s.add(Task(workspace_id=ws.id, number=n, owner_id=rep.id, text="Call", due_at=f.T0))
        ids["TBIG"] = ws.id

        ws = f.workspace(s, "TBIZ", digest_channel="CGBIZ", stall_business_days=True)
        f.member(s, ws, "UMBIZ", Role.manager)
        rep = f.member(s, ws, "URBIZ")
        for i in range(5):
            f.deal(s, ws, rep, title=f"Biz {i}", now=MONDAY - timedelta(days=6 + i))
        ids["TBIZ"] = ws.id

        ws = f.workspace(s, "TDEALS", deals_channel="CDDEALS")  # no digest channel
        rep = f.member(s, ws, "URDEALS")
        owned = f.deal(s, ws, rep, title="Handed over", now=f.T0)
        deals.record_card(session=s, deal_id=owned.id, home=("CDDEALS", "1700000000.2", None))
        ids["TDEALS"] = ws.id
    return ids


def posts(engine) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        return sorted((r.key, r.payload) for r in s.exec(select(Outbox)))


def digests(engine) -> list[tuple[str, str]]:
    return [(k, p) for k, p in posts(engine) if k.startswith(jobs.STALL_DIGEST + ":")]


def one_by_one(engine) -> list[tuple[str, str]]:
    """The digests each workspace's planner records on its own, from an empty outbox."""
    with session_scope(engine) as s:
        s.execute(sa.delete(Outbox))
        ids = list(s.exec(select(Workspace.id).order_by(Workspace.id)))
    for workspace_id in ids:
        result = jobs.run_for_workspace(
            engine, jobs.STALL_DIGEST, workspace_id, at=MONDAY, now=MONDAY, force=False
        )
        assert result.error is None
    return digests(engine)


@pytest.mark.parametrize("batch", [20, 3])
def test_a_batch_of_digests_records_the_same_posts_as_planning_one_by_one(engine, batch):
    ids = fleet(engine)
    ticker = Ticker(engine, NoSend(), now=lambda: MONDAY, batch=batch)
    reports = [r for r in ticker.tick(MONDAY, send=False) if r.job == jobs.STALL_DIGEST]
    assert not [e for r in reports for e in r.errors]
    together = digests(engine)
    keys = [k for k, _ in together]
    # The long digest went out as a first message and replies in its thread, to the channel
    # and to each of its two managers; the all-clear and the deals-channel-only ones too.
    assert f"stall-digest:{ids['TBIG']}:ch:CGBIG:2026-11-23#2" in keys
    assert f"stall-digest:{ids['TBIG']}:dm:UMBIG:2026-11-23#2" in keys
    assert f"stall-digest:{ids['TCLEAR']}:ch:CGTCLEAR:2026-11-23" in keys
    assert f"stall-digest:{ids['TDEALS']}:ch:CDDEALS:2026-11-23" in keys
    assert sum(r.recorded for r in reports) == len(together)
    assert one_by_one(engine) == together


def test_a_batch_that_fails_is_planned_one_by_one_and_only_the_broken_workspace_fails(
    engine, monkeypatch
):
    ids = fleet(engine)
    with session_scope(engine) as s:  # one workspace's reads fail: its stages are unreadable
        s.execute(
            sa.update(Stage).where(Stage.workspace_id == ids["TBIZ"]).values(stall_days=10**9)
        )
    real = batches.plan_digests
    calls = []

    def spy(session, workspaces, at):
        calls.append({ws.team_id for ws in workspaces})
        if any(ws.id == ids["TSTALL"] for ws in workspaces):
            raise RuntimeError("the batch's reads failed")
        return real(session, workspaces, at)

    monkeypatch.setattr(batches, "plan_digests", spy)
    ticker = Ticker(engine, NoSend(), now=lambda: MONDAY, batch=4)
    reports = [r for r in ticker.tick(MONDAY, send=False) if r.job == jobs.STALL_DIGEST]
    assert not [e for r in reports for e in r.errors]
    assert all((w, jobs.STALL_DIGEST) in ticker.done for w in ids.values())
    # The workspace with a threshold no one could mean was left to its own planner.
    assert not any("TBIZ" in teams for teams in calls)
    assert any("TSTALL" in teams for teams in calls)  # its batch failed, then one by one
    recorded = digests(engine)
    monkeypatch.undo()
    assert one_by_one(engine) == recorded


def test_processes_sharing_the_batches_record_each_digest_once(engine):
    fleet(engine)
    tickers = [Ticker(engine, NoSend(), now=lambda: MONDAY, batch=2) for _ in range(3)]
    results: list = [None] * 3

    def run(i):
        results[i] = tickers[i].tick(MONDAY, send=False)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reports = [r for rs in results for r in rs if r.job == jobs.STALL_DIGEST]
    assert not [e for r in reports for e in r.errors]
    with session_scope(engine) as s:
        workspaces = len(s.exec(select(Workspace.id)).all())
    assert sum(r.workspaces for r in reports) == workspaces  # each planned by one process
    together = digests(engine)
    assert sum(r.recorded for r in reports) == len(together)  # none recorded twice
    assert one_by_one(engine) == together
