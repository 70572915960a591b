"""Workflows as rules: triggers, conditions, every action, once per change, no loops."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from domain import deals, leads, workflows
from domain.errors import InvalidInput, NotAllowed
from domain.workflows import WorkflowSpec
from scheduler import jobs
from storage.db import session_scope
from storage.models import Cadence, Deal, Outbox, Role, Task, Workflow, WorkflowRun
from tests import factories as f

T0 = f.T0


@pytest.fixture
def world(engine):
    """A Korean workspace (the factories' default) with its defaults switched off, an admin
    and two reps."""
    with session_scope(engine) as s:
        ws = f.workspace(s, deals_channel="CDEALS")
        for rule in workflows.workspace_workflows(session=s, workspace_id=ws.id):
            rule.active = False
            s.add(rule)
        admin = f.member(s, ws, "UADMIN", Role.admin)
        f.member(s, ws, "UA", Role.rep)
        f.member(s, ws, "UB", Role.rep)
        return ws.id, admin.id


def add(s, ws, admin, trigger, actions, conditions=None, stage_id=None) -> Workflow:
    return workflows.add_workflow(
        session=s,
        actor=admin,
        workspace=ws,
        spec=WorkflowSpec(trigger, actions, conditions or {}, stage_id=stage_id),
    )


def ctx(s, world):
    from storage.models import Member, Workspace

    ws_id, admin_id = world
    ws = s.get(Workspace, ws_id)
    members = {
        m.slack_user_id: m for m in s.exec(select(Member).where(Member.workspace_id == ws_id))
    }
    return ws, s.get(Member, admin_id), members


def stage(s, ws, name):
    from domain.refs import find_pipeline, match_stage, stages_of

    pipeline = find_pipeline(session=s, workspace_id=ws.id, name=None)
    return match_stage(stages_of(session=s, pipeline_id=pipeline.id), name)


def test_conditions_pick_the_deals_a_rule_is_about(engine, world):
    with session_scope(engine) as s:
        ws, admin, m = ctx(s, world)
        proposal = stage(s, ws, "Proposal")
        add(
            s,
            ws,
            admin,
            "deal_stage",
            [{"do": "task", "text": "Send the quote", "kind": "email", "days": 2}],
            {"amount_min": "10000000", "owner": m["UA"].id, "text": "erp"},
            stage_id=proposal.id,
        )
        big = f.deal(s, ws, m["UA"], title="Acme ERP", amount="50000000")
        small = f.deal(s, ws, m["UA"], title="Tiny ERP", amount="100000")
        other = f.deal(s, ws, m["UB"], title="Bigco ERP", amount="50000000")
        named = f.deal(s, ws, m["UA"], title="Acme CRM", amount="50000000")
        for deal in (big, small, other, named):
            deals.move_deal(
                session=s, actor=admin, deal=deal, stage_text="Proposal", now=T0 + timedelta(1)
            )
        made = s.exec(select(Task).where(Task.origin.like("workflow:%"))).all()
        assert [(t.deal_id, t.text, t.kind) for t in made] == [(big.id, "Send the quote", "email")]


def test_round_robin_takes_turns_and_a_named_member_gets_the_task(engine, world):
    with session_scope(engine) as s:
        ws, admin, m = ctx(s, world)
        add(
            s,
            ws,
            admin,
            "lead_created",
            [
                {"do": "owner", "members": [m["UA"].id, m["UB"].id]},
                {"do": "task", "text": "첫 통화", "kind": "call", "days": 1},
                {"do": "task", "text": "Check", "days": 0, "member": m["UADMIN"].id},
            ],
        )
        owners = []
        for name in ("하나", "둘", "셋"):
            lead = leads.create_lead(session=s, workspace=ws, actor=admin, name=name, now=T0)
            owners.append(lead.owner_id)
        assert owners == [m["UA"].id, m["UB"].id, m["UA"].id]
        calls = s.exec(select(Task).where(Task.text == "첫 통화").order_by(Task.id)).all()
        assert [t.owner_id for t in calls] == owners, "the task goes to the owner just set"
        checks = s.exec(select(Task).where(Task.text == "Check")).all()
        assert {t.owner_id for t in checks} == {m["UADMIN"].id}


def test_a_deal_handed_to_another_owner_brings_its_cadence_along(engine, world):
    with session_scope(engine) as s:
        ws, admin, m = ctx(s, world)
        s.exec(select(Cadence)).one().active = True  # the playbook on Contact
        add(s, ws, admin, "deal_created", [{"do": "owner", "members": [m["UB"].id]}])
        deal = f.deal(s, ws, m["UA"], title="Acme ERP")
        assert deal.owner_id == m["UB"].id
        made = s.exec(select(Task).where(Task.deal_id == deal.id)).all()
        assert len(made) == 6 and {t.owner_id for t in made} == {m["UB"].id}
        (line,) = [a for a in deals.timeline(session=s, deal=deal) if a.kind == "owner"]
        assert line.author_id is None, "Salesbot did it"


def test_a_post_goes_through_the_outbox_once_per_change(engine, world):
    with session_scope(engine) as s:
        ws, admin, m = ctx(s, world)
        rule = add(s, ws, admin, "deal_won", [{"do": "post", "channel": "CWINS", "text": "🎉"}])
        deal = f.deal(s, ws, m["UA"], title="Acme ERP")
        deals.close_deal(session=s, actor=admin, deal=deal, won=True, now=T0 + timedelta(1))
        rows = s.exec(select(Outbox).where(Outbox.job == "workflow")).all()
        assert [(r.target, json.loads(r.payload)["message"]["text"]) for r in rows] == [
            ("ch:CWINS", f"🎉\nD{deal.number} · Acme ERP")
        ]
        # The same change again (a replica re-running it) posts and counts nothing more.
        history = s.exec(select(WorkflowRun)).one()
        assert (
            workflows.fire(
                session=s,
                workspace=ws,
                trigger="deal_won",
                change=history.change,
                now=T0,
                deal=deal,
            )
            == 0
        )
        assert len(s.exec(select(Outbox).where(Outbox.job == "workflow")).all()) == 1
        s.refresh(rule)
        assert rule.fired == 1


def test_a_workflows_change_fires_workflows_once_more_and_no_further(engine, world):
    """A person creates a lead (level 0); "lead created → convert" makes a deal (level 1);
    "deal created → task" runs for that deal (level 2). A change made at level 2 would fire
    nothing: the guard is the session's depth, checked before any workflow is read."""
    with session_scope(engine) as s:
        ws, admin, m = ctx(s, world)
        add(s, ws, admin, "lead_created", [{"do": "convert"}])
        kickoff = add(s, ws, admin, "deal_created", [{"do": "task", "text": "Kick-off"}])
        lead = leads.create_lead(session=s, workspace=ws, actor=m["UA"], name="Kim", now=T0)
        assert lead.deal_id is not None
        s.refresh(kickoff)
        assert kickoff.fired == 1
        (task,) = s.exec(select(Task).where(Task.text == "Kick-off")).all()
        assert task.deal_id == lead.deal_id
        # The same fire at the deepest level runs nothing.
        s.info[workflows._DEPTH] = workflows.MAX_DEPTH
        deal = s.get(Deal, lead.deal_id)
        assert (
            workflows.fire(
                session=s, workspace=ws, trigger="deal_created", change="again", now=T0, deal=deal
            )
            == 0
        )
        s.info[workflows._DEPTH] = 0


def test_a_deal_won_by_a_person_gets_its_renewal_and_the_renewal_no_renewal(engine, world):
    with session_scope(engine) as s:
        ws, admin, m = ctx(s, world)
        s.get(Workflow, 3).active = True  # the default: won in New business → renewal
        deal = f.deal(s, ws, m["UA"], amount="24000000")
        deal.mrr = Decimal("3000000")
        deals.close_deal(session=s, actor=admin, deal=deal, won=True, now=T0)
        renewal = s.exec(select(Deal).where(Deal.number == 2)).one()
        assert renewal.mrr == Decimal("3000000"), "an MRR that is set is kept"
        deals.close_deal(session=s, actor=admin, deal=renewal, won=True, now=T0 + timedelta(1))
        assert s.exec(select(Deal).where(Deal.number == 3)).first() is None, (
            "the renewal was won in Renewals, not New business"
        )


def test_stalled_and_renewal_approaching_fire_from_their_jobs_once(engine, world):
    with session_scope(engine) as s:
        ws, admin, m = ctx(s, world)
        stalled = add(s, ws, admin, "deal_stalled", [{"do": "task", "text": "Revive", "days": 0}])
        renewing = add(s, ws, admin, "renewal_due", [{"do": "task", "text": "Renew", "days": 0}])
        deal = f.deal(s, ws, m["UA"], title="Stale ERP", now=T0)
        deal.renewal_date = (T0 + timedelta(days=30)).date()
        ws_id, stalled_id, renewing_id = ws.id, stalled.id, renewing.id
    at = T0 + timedelta(days=20)
    for hours in (0, 1):
        for job in (jobs.STALL_WARNINGS, jobs.RENEWAL_ALERTS):
            result = jobs.run_for_workspace(
                engine, job, ws_id, at=at + timedelta(hours=hours), now=at, force=True
            )
            assert result.error is None
    with session_scope(engine) as s:
        assert s.get(Workflow, stalled_id).fired == 1
        assert s.get(Workflow, renewing_id).fired == 1
        made = s.exec(select(Task).where(Task.origin.like("workflow:%"))).all()
        assert sorted(t.text for t in made) == ["Renew", "Revive"]


@pytest.mark.parametrize(
    ("trigger", "actions", "key"),
    [
        ("lead_created", [], "workflow.no_action"),
        ("lead_created", [{"do": "renewal", "months": 12}], "workflow.renewal_needs_deal"),
        ("deal_won", [{"do": "convert"}], "workflow.convert_needs_lead"),
        ("deal_lost", [{"do": "renewal", "months": 12}], "workflow.renewal_needs_won"),
        ("deal_won", [{"do": "renewal", "months": 0}], "workflow.bad_months"),
        ("deal_stage", [{"do": "convert"}], "workflow.convert_needs_lead"),
        ("deal_created", [{"do": "task", "text": " ", "days": 1}], "workflow.task_text"),
        ("deal_created", [{"do": "task", "text": "x", "days": 999}], "workflow.bad_days"),
        ("deal_created", [{"do": "dance"}], "workflow.bad_action"),
        ("someday", [{"do": "convert"}], "workflow.bad_trigger"),
    ],
)
def test_a_workflow_that_could_not_run_is_refused_and_nothing_is_written(
    engine, world, trigger, actions, key
):
    with session_scope(engine) as s:
        ws, admin, _ = ctx(s, world)
        with pytest.raises(InvalidInput) as err:
            add(s, ws, admin, trigger, actions)
        assert err.value.key == key
        assert len(workflows.workspace_workflows(session=s, workspace_id=ws.id)) == 3


def test_only_admins_edit_workflows(engine, world):
    with session_scope(engine) as s:
        ws, _, m = ctx(s, world)
        with pytest.raises(NotAllowed):
            add(s, ws, m["UA"], "lead_created", [{"do": "convert"}])
