"""Cadences and workflows as a sales team lives them, through signed HTTP into the running app
(tests/fakeslack for Slack, a real database):

- a deal created in Contact gives its owner the playbook's six tasks, due on the right days;
  moving it to Qualification closes the open ones as skipped (done ones stay done);
- a workflow fires once per change, even when Slack delivers the same request again;
- "deal won → renewal" creates the renewal deal, and the renewal-alerts job tells about it.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlmodel import Session, select

from bot.sender import SlackSender
from domain import automation, tasks, workflows
from domain.clock import FixedClock
from scheduler.runner import run_job
from storage.db import session_scope
from storage.models import (
    Deal,
    Lead,
    Member,
    Pipeline,
    Stage,
    StageHistory,
    Task,
    Workflow,
    WorkflowRun,
)
from tests import slackreq
from tests.factories import T0
from tests.slackapp import SECRET, TEAM, running_app, wait

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SEOUL)


@pytest.fixture
def clock():
    return FixedClock(T0)  # Monday 2026-11-02 09:30 in Seoul


@pytest.fixture
def app(db_url, clock):
    with running_app(db_url, clock=clock) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        harness.command("/deal", "help")  # the workspace, with its defaults, and U1 its admin
        yield harness
        assert harness.slack.problems == []


@pytest.fixture
def app_ko(db_url, clock):
    with running_app(db_url, clock=clock, locale="ko", stage_names="en") as harness:
        harness.command("/deal", "help")
        yield harness
        assert harness.slack.problems == []


def the_tasks(app, **where) -> list[Task]:
    with Session(app.engine) as session:
        query = select(Task).order_by(Task.number)
        for key, value in where.items():
            query = query.where(getattr(Task, key) == value)
        return list(session.exec(query))


def deal_number(app, number: int) -> Deal:
    with Session(app.engine) as session:
        return session.exec(select(Deal).where(Deal.number == number)).one()


PLAYBOOK_EN = [
    ("call", "Discovery call", seoul(11, 3)),
    ("email", "Follow-up email", seoul(11, 4)),
    ("call", "Second call", seoul(11, 6)),
    ("email", "Email with the deck", seoul(11, 9)),
    ("call", "Third call", seoul(11, 12)),
    ("email", "Final email", seoul(11, 16)),
]


def test_a_deal_created_in_contact_gets_the_playbook_and_leaving_it_skips_the_rest(app, clock):
    status, _ = app.command("/deal", 'new "Acme ERP" amount:7590000')
    assert status == 200
    made = the_tasks(app)
    assert [(t.kind, t.text, t.due_at) for t in made] == PLAYBOOK_EN
    assert {(t.status, t.stage_id, t.owner_id) for t in made} == {
        ("open", deal_number(app, 1).stage_id, made[0].owner_id)
    }
    with Session(app.engine) as session:
        owner = session.exec(select(Member).where(Member.slack_user_id == "U1")).one()
    assert made[0].owner_id == owner.id, "the deal's owner gets them"
    assert {t.origin.rsplit(":", 1)[0] for t in made} == {
        f"cadence:1:h{_stay(app, 1, 'Contact')}"
    }, "one set per stay in the stage"

    # Day 1's call is made; on day 2 the deal qualifies.
    with session_scope(app.engine) as session:
        task = session.get(Task, made[0].id)
        assert tasks.complete_task(session=session, task=task, actor=owner, now=T0)
    clock.advance(days=1)
    status, _ = app.command("/deal", "move 1 Qualification")
    assert status == 200
    after = the_tasks(app)
    assert [t.status for t in after] == ["done", *["skipped"] * 5]
    assert all(t.done_at == T0 + timedelta(days=1) for t in after[1:])

    # Back in Contact later: a new stay, a new set, due from the new entry.
    clock.advance(days=6)  # Monday 2026-11-09
    app.command("/deal", "move 1 Contact")
    again = the_tasks(app, status="open")
    assert [t.due_at for t in again] == [seoul(11, 9 + d) for d in (1, 2, 4, 7, 10, 14)]


def _stay(app, number: int, stage: str) -> int:
    with Session(app.engine) as session:
        deal = session.exec(select(Deal).where(Deal.number == number)).one()
        return session.exec(
            select(StageHistory.id)
            .join(Stage, Stage.id == StageHistory.to_stage_id)
            .where(StageHistory.deal_id == deal.id, Stage.name == stage)
            .order_by(StageHistory.id.desc())
        ).first()


def test_the_korean_playbook_honours_business_days_and_holidays(app_ko, clock):
    with session_scope(app_ko.engine) as session:
        from storage.models import Workspace

        ws = session.exec(select(Workspace)).one()
        ws.stall_business_days = True
        session.add(ws)
    app_ko.deps.forget(TEAM)
    clock.at = seoul(9, 23, 15)  # Wednesday before 추석 (Thursday 24th to Saturday 26th)
    status, _ = app_ko.command("/deal", 'new "한빛 ERP" amount:759만')
    assert status == 200
    assert [(t.kind, t.text, t.due_at) for t in the_tasks(app_ko)] == [
        ("call", "첫 통화 (니즈 파악)", seoul(9, 28)),  # Thu, Fri holidays; the weekend
        ("email", "후속 이메일", seoul(9, 29)),
        ("call", "두 번째 통화", seoul(10, 1)),
        (
            "email",
            "소개 자료 첨부 이메일",
            seoul(10, 7),
        ),  # 3rd 개천절 (Sat), 5th 대체공휴일, 9th 한글날
        ("call", "세 번째 통화", seoul(10, 13)),
        ("email", "마지막 이메일", seoul(10, 19)),
    ]


def test_one_entry_never_gets_the_cadence_twice(app):
    """A retried hook (a replica re-running the same entry) finds the tasks already made."""
    app.command("/deal", 'new "Acme ERP"')
    with session_scope(app.engine) as session:
        deal = session.exec(select(Deal)).one()
        history = session.exec(select(StageHistory).where(StageHistory.deal_id == deal.id)).one()
        target = session.get(Stage, deal.stage_id)
        automation.stage_entered(
            session=session, deal=deal, history=history, target=target, actor=None, now=T0
        )
    assert len(the_tasks(app)) == 6


def test_a_cadence_switched_off_gives_no_tasks(app):
    with session_scope(app.engine) as session:
        from storage.models import Cadence

        cadence = session.exec(select(Cadence)).one()
        cadence.active = False
        session.add(cadence)
    app.command("/deal", 'new "Acme ERP"')
    assert the_tasks(app) == []


def test_a_new_lead_gets_its_first_call_task_from_the_default_workflow(app):
    status, _ = app.command("/lead", 'new "Kim Minsu" company:Acme')
    assert status == 200
    (task,) = the_tasks(app)
    assert (task.kind, task.text, task.due_at) == ("call", "First call", seoul(11, 3))
    with Session(app.engine) as session:
        lead = session.exec(select(Lead)).one()
        assert task.lead_id == lead.id and task.deal_id is None
        first = session.get(Workflow, 1)
        assert first.fired == 1


def test_a_big_lead_is_converted_when_the_admin_switches_that_workflow_on(app):
    with session_scope(app.engine) as session:
        session.get(Workflow, 2).active = True
    app.command("/lead", 'new "Park" company:Bigco size:450')
    app.command("/lead", 'new "Lee" company:Smallco size:20')
    with Session(app.engine) as session:
        big, small = session.exec(select(Lead).order_by(Lead.number)).all()
        assert big.deal_id is not None and small.deal_id is None
        deal = session.get(Deal, big.deal_id)
        assert session.get(Stage, deal.stage_id).name == "Contact"
    # The converted deal entered Contact: the playbook follows, besides both first calls.
    texts = [t.text for t in the_tasks(app)]
    assert texts.count("First call") == 2
    assert "Discovery call" in texts


def _won_click(app, deal: Deal) -> tuple[bytes, dict]:
    return slackreq.block_actions(
        [{"type": "button", "action_id": "deal.won", "value": f"D{deal.number}"}],
        team_id=TEAM,
        user_id="U1",
        channel_id="CDEALS",
        message={"ts": deal.thread_ts or "1.1", "text": "card"},
        response_url=app.slack.response_url("won"),
        secret=SECRET,
    )


def test_deal_won_creates_the_renewal_once_even_when_slack_delivers_the_click_again(app):
    app.command("/deal", 'new "Acme ERP" amount:12000000 company:Acme')
    deal = wait(lambda: deal_number(app, 1).thread_ts and deal_number(app, 1))
    body, headers = _won_click(app, deal)
    url = app.url + "/slack/events"
    assert slackreq.post(url, body, headers)[0] == 200
    wait(lambda: deal_number(app, 1).closed_at is not None)
    assert slackreq.post(url, body, headers)[0] == 200  # the same request, delivered again
    app.settle()
    won_stay = _stay(app, 1, "Won")
    with Session(app.engine) as session:
        deals = session.exec(select(Deal).order_by(Deal.number)).all()
        assert len(deals) == 2, "one renewal"
        renewal = deals[1]
        pipeline = session.get(Pipeline, renewal.pipeline_id)
        assert (pipeline.name, session.get(Stage, renewal.stage_id).name) == (
            "Renewals",
            "Renewal due",
        )
        assert renewal.renewal_date == seoul(11, 2, year=2027).date()
        assert renewal.mrr == 1_000_000  # 12,000,000 ÷ 12
        assert (renewal.amount, renewal.owner_id) == (deal.amount, deal.owner_id)
        rule = session.get(Workflow, 3)
        assert rule.fired == 1
        runs = session.exec(select(WorkflowRun).where(WorkflowRun.workflow_id == 3)).all()
        assert [r.change for r in runs] == [f"h{won_stay}"]

    # The renewal-alerts job tells about it 90 days before the renewal date.
    sender = SlackSender(WebClient(token="xoxb-test", base_url=app.slack.url), pace=0)
    at = seoul(8, 4, 10, year=2027)
    report = run_job("renewal-alerts", engine=app.engine, sender=sender, at=at, team_id=TEAM)
    assert report.errors == []
    alerts = [c for c in app.slack.calls_to("chat.postMessage") if "D2" in c.args["text"]]
    assert {c.args["channel"] for c in alerts} >= {"CDEALS"}
    assert any("90" in c.args["text"] for c in alerts)
    again = run_job("renewal-alerts", engine=app.engine, sender=sender, at=at, team_id=TEAM)
    assert again.recorded == 0, "once per alert"


def mention(app, text: str, *, event_id: str, thread_ts: str, retry_num=None) -> None:
    event = {
        "type": "app_mention",
        "user": "U1",
        "channel": "CDEALS",
        "ts": "1796000000.000100",
        "thread_ts": thread_ts,
        "text": f"<@UBOT> {text}",
    }
    assert app.event(event, event_id=event_id, retry_num=retry_num)[0] == 200


def test_a_workflow_fires_once_per_change_when_slack_retries_the_event(app):
    with session_scope(app.engine) as session:
        proposal = session.exec(select(Stage).where(Stage.name == "Proposal")).one()
        admin = session.exec(select(Member).where(Member.slack_user_id == "U1")).one()
        from storage.models import Workspace

        workflows.add_workflow(
            session=session,
            actor=admin,
            workspace=session.exec(select(Workspace)).one(),
            spec=workflows.WorkflowSpec(
                "deal_stage",
                [{"do": "task", "text": "Send the quote", "kind": "email", "days": 2}],
                {},
                stage_id=proposal.id,
            ),
        )
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    deal = wait(lambda: deal_number(app, 1).thread_ts and deal_number(app, 1))
    mention(app, "move Proposal", event_id="EvMove", thread_ts=deal.thread_ts)
    mention(app, "move Proposal", event_id="EvMove", thread_ts=deal.thread_ts, retry_num=1)
    mention(app, "move Proposal", event_id="EvMove", thread_ts=deal.thread_ts, retry_num=2)
    wait(lambda: the_tasks(app, text="Send the quote"), what="the workflow's task")
    app.settle()
    time.sleep(0.3)  # retries, if they were going to act, would have by now
    (task,) = the_tasks(app, text="Send the quote")
    assert (task.kind, task.due_at) == ("email", seoul(11, 4))
    assert deal_number(app, 1).stage_id == proposal.id
    with Session(app.engine) as session:
        assert session.get(Workflow, 4).fired == 1
        assert len(session.exec(select(WorkflowRun).where(WorkflowRun.workflow_id == 4)).all()) == 1


def test_app_home_shows_the_cadence_step_each_deal_is_on(app, clock):
    """Point 6: the owner's App Home names the step of the cadence of the deal's current stay."""
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    made = the_tasks(app)
    with session_scope(app.engine) as session:
        owner = session.exec(select(Member).where(Member.slack_user_id == "U1")).one()
        assert tasks.complete_task(
            session=session, task=session.get(Task, made[0].id), actor=owner, now=T0
        )

    def home_text(event_id: str) -> str:
        before = len(app.slack.calls_to("views.publish"))
        app.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_id=event_id)
        published = app.slack.wait_for("views.publish", count=before + 1)[-1]
        return str(published.args["view"]["blocks"])

    assert "cadence step 2 of 6 (1 done)" in home_text("EvHome1")
    app.command("/deal", "move 1 Qualification")  # leaving Contact ends that cadence
    assert "cadence step" not in home_text("EvHome2")
