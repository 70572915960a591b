"""The stall digest and the stall warnings planned for a claimed batch of workspaces at once
(scheduler.batches) post exactly what planning each workspace on its own posts — the same
outbox keys and payloads, thread parts included — fail as a whole into one-by-one planning
where one workspace fails alone, and share the batches between processes so nothing posts
twice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from domain import deals, money
from scheduler import batches, jobs
from scheduler.runner import Ticker
from storage.db import session_scope
from storage.models import AlertItem, Outbox, Role, Stage, Task, WorkflowRun, Workspace
from tests import factories as f
from tests.schedulers import tick_at_once
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
        reps[0].locale = "en"  # their warnings' DMs in English, the threads in Korean
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
        f.deal(s, ws, rep, title="Biz stalled", now=f.T0)  # stalled on either clock
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
    results = tick_at_once(tickers, MONDAY)
    reports = [r for rs in results for r in rs if r.job == jobs.STALL_DIGEST]
    assert not [e for r in reports for e in r.errors]
    with session_scope(engine) as s:
        workspaces = len(s.exec(select(Workspace.id)).all())
    assert sum(r.workspaces for r in reports) == workspaces  # each planned by one process
    together = digests(engine)
    assert sum(r.recorded for r in reports) == len(together)  # none recorded twice
    assert one_by_one(engine) == together


# --- the hourly stall warnings ----------------------------------------------------------------


def warnings(engine) -> list[tuple[str, str]]:
    return [(k, p) for k, p in posts(engine) if k.startswith(jobs.STALL_WARNINGS + ":")]


def warned_some(engine) -> list[str]:
    """Earlier hours' warnings: of what one-by-one planning records, every third row is
    kept as recorded already (for some deals the thread's, for others only the DM's); the
    rest is new. The keys of what is then in the outbox."""
    with session_scope(engine) as s:
        s.execute(sa.delete(Outbox))
        ids = list(s.exec(select(Workspace.id).order_by(Workspace.id)))
    for workspace_id in ids:
        result = jobs.run_for_workspace(
            engine, jobs.STALL_WARNINGS, workspace_id, at=MONDAY, now=MONDAY, force=False
        )
        assert result.error is None
    with session_scope(engine) as s:
        rows = list(s.exec(select(Outbox.id).order_by(Outbox.key)))
        s.execute(sa.delete(Outbox).where(Outbox.id.in_(rows[1::3] + rows[2::3])))
        kept = sorted(s.exec(select(Outbox.key)))
    assert kept and len(kept) < len(rows)
    return kept


def warnings_one_by_one(engine, before: list[str]) -> list[tuple[str, str]]:
    """The warnings each workspace's planner records on its own from the outbox ``before``."""
    with session_scope(engine) as s:
        s.execute(sa.delete(Outbox).where(Outbox.key.not_in(before)))
        ids = list(s.exec(select(Workspace.id).order_by(Workspace.id)))
    for workspace_id in ids:
        result = jobs.run_for_workspace(
            engine, jobs.STALL_WARNINGS, workspace_id, at=MONDAY, now=MONDAY, force=False
        )
        assert result.error is None
    return warnings(engine)


@pytest.mark.parametrize("batch", [20, 3])
def test_a_batch_of_warnings_records_the_same_posts_as_planning_one_by_one(engine, batch):
    ids = fleet(engine)
    before = warned_some(engine)
    ticker = Ticker(engine, NoSend(), now=lambda: MONDAY, batch=batch)
    reports = [r for r in ticker.tick(MONDAY, send=False) if r.job == jobs.STALL_WARNINGS]
    assert not [e for r in reports for e in r.errors]
    together = warnings(engine)
    keys = [k for k, _ in together]
    new = [k for k in keys if k not in before]
    assert sum(r.recorded for r in reports) == len(new) > 100
    assert any(k.startswith(f"stall-warnings:{ids['TSTALL']}:thread:") for k in keys)  # a card
    assert any(k.startswith(f"stall-warnings:{ids['TBIG']}:thread:") for k in new)  # channel
    assert any(k.startswith(f"stall-warnings:{ids['TBIG']}:dm:URBIG0:") for k in new)  # en
    assert any(k.startswith(f"stall-warnings:{ids['TBIZ']}:") for k in keys)  # business days
    assert not any(k.startswith(f"stall-warnings:{ids['TSNOOZE']}:") for k in keys)
    # An episode some target of which was warned already is not warned again.
    episodes = {k.rsplit(":", 1)[1] for k in before}
    assert not [k for k in new if k.rsplit(":", 1)[1] in episodes]
    assert warnings_one_by_one(engine, before) == together


def test_a_batch_of_warnings_that_fails_is_planned_one_by_one(engine, monkeypatch):
    ids = fleet(engine)
    before = warned_some(engine)
    real = batches.plan_warnings
    calls = []

    def spy(session, workspaces, at):
        calls.append({ws.team_id for ws in workspaces})
        result = real(session, workspaces, at)  # it wrote, then failed: all rolled back
        if any(ws.id == ids["TBIG"] for ws in workspaces):
            raise RuntimeError("the batch's reads failed")
        return result

    monkeypatch.setattr(batches, "plan_warnings", spy)
    ticker = Ticker(engine, NoSend(), now=lambda: MONDAY, batch=3)
    reports = [r for r in ticker.tick(MONDAY, send=False) if r.job == jobs.STALL_WARNINGS]
    assert not [e for r in reports for e in r.errors]
    assert all((w, jobs.STALL_WARNINGS) in ticker.done for w in ids.values())
    assert any("TBIG" in teams for teams in calls)  # its batch failed, then one by one
    recorded = warnings(engine)
    assert sum(r.recorded for r in reports) == len(recorded) - len(before)  # none twice
    monkeypatch.undo()
    assert warnings_one_by_one(engine, before) == recorded


def test_processes_sharing_the_batches_record_each_warning_once(engine):
    fleet(engine)
    before = warned_some(engine)
    tickers = [Ticker(engine, NoSend(), now=lambda: MONDAY, batch=2) for _ in range(3)]
    results = tick_at_once(tickers, MONDAY)
    reports = [r for rs in results for r in rs if r.job == jobs.STALL_WARNINGS]
    assert not [e for r in reports for e in r.errors]
    with session_scope(engine) as s:
        workspaces = len(s.exec(select(Workspace.id)).all())
    assert sum(r.workspaces for r in reports) == workspaces  # each planned by one process
    together = warnings(engine)
    assert sum(r.recorded for r in reports) == len(together) - len(before)  # none twice
    assert warnings_one_by_one(engine, before) == together


def choosy_fleet(engine) -> dict[str, int]:
    """Workspaces whose stall warnings go different ways, side by side: alert routes (one
    with a minimum amount, one for one owner), a muted deal and a muted pipeline, hourly
    batching and quiet hours in a member's own timezone, a "deal stalled" workflow — and
    one that chose nothing. Every workspace has the same members and deals, so a batch that
    gave one workspace another's routes, choices or workflows would post differently."""
    from domain import alerts, workflows
    from domain.workflows import WorkflowSpec

    ids = {}
    with session_scope(engine) as s:
        for team in ("TROUTES", "TMUTES", "TBATCH", "TFLOW", "TPLAIN"):
            ws = f.workspace(s, team, deals_channel=f"CD{team}")
            admin = f.member(s, ws, "UADMIN", Role.admin)
            reps = [f.member(s, ws, f"UREP{i}", name=f"Rep {i}") for i in range(2)]
            stale = [
                f.deal(s, ws, reps[i % 2], title=f"Stale {i}", amount=str(1_000_000 * (i + 1)))
                for i in range(4)
            ]
            if team == "TROUTES":
                for spec in (
                    alerts.RouteSpec("stalled", "CBIG", min_amount=Decimal(3_000_000)),
                    alerts.RouteSpec("stalled", "CREP0", owners=(reps[0],)),
                    alerts.RouteSpec("won", "CWON"),
                ):
                    alerts.add_route(session=s, actor=admin, workspace=ws, spec=spec, now=f.T0)
            if team == "TMUTES":
                alerts.mute_deal(session=s, member=reps[0], deal=stale[0])
                alerts.set_muted(session=s, member=reps[1], kind="p", ids={stale[1].pipeline_id})
            if team == "TBATCH":
                alerts.set_batch(session=s, member=reps[0], batch="hourly")
                reps[1].timezone = "America/New_York"  # 19:30 there: quiet until 08:00
                alerts.set_quiet(session=s, member=reps[1], quiet="18:00-08:00")
            if team == "TFLOW":
                workflows.add_workflow(
                    session=s,
                    actor=admin,
                    workspace=ws,
                    spec=WorkflowSpec(
                        "deal_stalled", [{"do": "task", "text": "Revive", "days": 0}], {}
                    ),
                )
            ids[team] = ws.id
    return ids


def choices(engine) -> list[tuple]:
    """Everything the warnings leave: outbox rows, held alert DMs, workflows' tasks."""
    with session_scope(engine) as s:
        held = s.exec(select(AlertItem.key, AlertItem.payload, AlertItem.release_at)).all()
        made = s.exec(select(Task.workspace_id, Task.deal_id, Task.text, Task.origin)).all()
    return warnings(engine) + sorted(map(tuple, held)) + sorted(map(tuple, made))


def test_a_batch_of_workspaces_that_chose_differently_posts_what_each_alone_posts(engine):
    ids = choosy_fleet(engine)
    ticker = Ticker(engine, NoSend(), now=lambda: MONDAY, batch=len(ids))
    reports = [r for r in ticker.tick(MONDAY, send=False) if r.job == jobs.STALL_WARNINGS]
    assert not [e for r in reports for e in r.errors]
    together = choices(engine)
    keys = [k for k, _ in warnings(engine)]
    # Each workspace's own choices took effect, and no other workspace's.
    routed = [k for k in keys if ":ch:" in k]
    assert {k.split(":")[1] for k in routed} == {str(ids["TROUTES"])}
    assert {k.split(":")[3] for k in routed} == {"CBIG", "CREP0"}
    dms = {(int(k.split(":")[1]), k.split(":")[3]) for k in keys if ":dm:" in k}
    assert (ids["TPLAIN"], "UREP0") in dms and (ids["TPLAIN"], "UREP1") in dms
    assert not {(ids["TBATCH"], "UREP0"), (ids["TBATCH"], "UREP1")} & dms  # held
    with session_scope(engine) as s:
        held = {w for (w,) in s.execute(sa.select(AlertItem.workspace_id))}
        flows = {w for (w,) in s.execute(sa.select(Task.workspace_id))}
    assert held == {ids["TBATCH"]}
    assert flows == {ids["TFLOW"]}
    muted = len([k for k in keys if k.startswith(f"stall-warnings:{ids['TMUTES']}:dm:")])
    plain = len([k for k in keys if k.startswith(f"stall-warnings:{ids['TPLAIN']}:dm:")])
    assert muted == plain - 3  # UREP0's muted deal; UREP1's muted pipeline (both deals)
    # And each workspace planned alone posts exactly the same.
    with session_scope(engine) as s:
        for model in (Outbox, AlertItem, Task, WorkflowRun):
            s.execute(sa.delete(model))
    for workspace_id in ids.values():
        result = jobs.run_for_workspace(
            engine, jobs.STALL_WARNINGS, workspace_id, at=MONDAY, now=MONDAY, force=False
        )
        assert result.error is None
    assert choices(engine) == together
