"""The admins' editors end to end: `/pipeline workflows` and the cadence editor (opened by
`/pipeline cadence` or pushed from `/pipeline edit`), through signed HTTP and the fake Slack.
Bad input answers under the field, in the user's language, and changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from storage.models import Cadence, CadenceStep, Stage, Workflow
from tests.slackapp import running_app


@pytest.fixture
def app(db_url):
    with running_app(db_url) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        harness.slack.users["U2"] = {"locale": "en-US"}
        harness.command("/pipeline", "help")  # U1, the first member, is the admin
        yield harness
        assert harness.slack.problems == [], "every view passes Block Kit validation"


@pytest.fixture
def app_ko(db_url):
    with running_app(db_url, locale="ko", stage_names="en") as harness:
        harness.command("/pipeline", "help")
        yield harness
        assert harness.slack.problems == []


def opened(app, method: str = "views.open", count: int = 1) -> dict:
    return app.slack.wait_for(method, count=count)[-1].args["view"]


def texts(view: dict) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]


def submitted(view: dict, values: dict) -> dict:
    return {
        "callback_id": view["callback_id"],
        "private_metadata": view.get("private_metadata", ""),
        "blocks": view["blocks"],
        "state": {"values": values},
    }


def plain(value: str) -> dict:
    return {"value": {"type": "plain_text_input", "value": value}}


def chosen(value: str) -> dict:
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


def test_the_default_workflows_read_as_sentences_with_switch_and_count(app):
    assert app.command("/pipeline", "workflows")[0] == 200
    view = opened(app)
    assert view["callback_id"] == "workflows"
    assert texts(view)[:3] == [
        "*#1* When a lead is created, create a call task “First call” for the owner due in 1 day.",
        "*#2* When a lead is created (company size ≥ 300), convert it to a deal at once.",
        "*#3* When a deal is won in New business, create a renewal in 12 months.",
    ]
    contexts = [b["elements"][0]["text"] for b in view["blocks"] if b["type"] == "context"]
    assert contexts[1:4] == ["On · fired 0 times", "Off · fired 0 times", "On · fired 0 times"]
    switch = next(b for b in view["blocks"] if b.get("block_id") == "active")
    assert [o["value"] for o in switch["element"]["initial_options"]] == ["1", "3"]


def test_the_default_workflows_in_korean(app_ko):
    app_ko.command("/pipeline", "workflows")
    assert texts(opened(app_ko))[:3] == [
        "*#1* 리드가 생성되면: 1일 후 마감 통화 할 일 “첫 통화” 만들기 (대상: 담당자)",
        "*#2* 리드가 생성되면 (조건: 회사 규모 300명 이상): 바로 딜로 전환",
        "*#3* New business 파이프라인에서 딜이 성사되면: 12개월 후 갱신 딜 만들기",
    ]


def test_an_admin_switches_one_on_and_adds_one(app):
    app.command("/pipeline", "workflows")
    view = opened(app)
    values = {
        "active": {
            "value": {
                "type": "multi_static_select",
                "selected_options": [{"value": "1"}, {"value": "2"}],
            }
        },
        "trigger": chosen("deal_stage"),
        "stage": plain("Proposal"),
        "conditions": plain("amount>=10000000"),
        "actions": plain("task 2 email Send the quote\npost Proposal out"),
        "channel": {"value": {"type": "conversations_select", "selected_conversation": "CSALES"}},
    }
    status, body = app.submit(submitted(view, values))
    assert status == 200 and not body
    rows = _rows(app)
    assert [(w.id, w.active) for w in rows] == [(1, True), (2, True), (3, False), (4, True)]
    assert rows[3].trigger == "deal_stage"
    assert json.loads(rows[3].conditions) == {"amount_min": "10000000"}
    assert json.loads(rows[3].actions) == [
        {"do": "task", "text": "Send the quote", "kind": "email", "days": 2},
        {"do": "post", "channel": "CSALES", "text": "Proposal out"},
    ]
    app.command("/pipeline", "workflows")
    assert texts(opened(app, count=2))[3] == (
        "*#4* When a deal enters Proposal (amount ≥ ₩10,000,000), create an email task "
        "“Send the quote” for the owner due in 2 days, then post “Proposal out” in <#CSALES>."
    )


def _rows(app) -> list[Workflow]:
    with Session(app.engine) as session:
        return list(session.exec(select(Workflow).order_by(Workflow.id)))


def test_a_workflow_with_no_action_is_refused_under_the_field_and_nothing_changes(app_ko):
    app_ko.command("/pipeline", "workflows")
    view = opened(app_ko)
    values = {
        "active": {"value": {"type": "multi_static_select", "selected_options": []}},
        "trigger": chosen("lead_created"),
        "conditions": plain("size>=300"),
        "actions": plain(""),
    }
    before = [(w.id, w.active) for w in _rows(app_ko)]
    status, body = app_ko.submit(submitted(view, values))
    assert status == 200
    assert body == {
        "response_action": "errors",
        "errors": {
            "actions": "워크플로우에는 동작이 하나 이상 있어야 합니다. 예: `할일 1 통화 첫 통화`"
        },
    }
    assert [(w.id, w.active) for w in _rows(app_ko)] == before, "not even the switches"


def test_a_renewal_on_a_lead_trigger_is_refused_in_english(app):
    app.command("/pipeline", "workflows")
    values = {"trigger": chosen("lead_created"), "actions": plain("renewal 12")}
    status, body = app.submit(submitted(opened(app), values))
    assert body["errors"] == {
        "actions": "A renewal needs a won deal: use it with “When a deal is won”."
    }
    assert len(_rows(app)) == 3


def _cadence(app, stage_name: str) -> tuple[Cadence | None, list[CadenceStep]]:
    with Session(app.engine) as session:
        stage = session.exec(select(Stage).where(Stage.name == stage_name)).first()
        cadence = session.exec(select(Cadence).where(Cadence.stage_id == stage.id)).first()
        steps = []
        if cadence is not None:
            steps = list(
                session.exec(
                    select(CadenceStep)
                    .where(CadenceStep.cadence_id == cadence.id)
                    .order_by(CadenceStep.position)
                )
            )
        return cadence, steps


def test_the_playbook_ships_on_contact_and_opens_in_the_editor(app):
    assert app.command("/pipeline", "cadence Contact")[0] == 200
    view = opened(app)
    assert view["callback_id"] == "cadence_edit"
    steps = next(b for b in view["blocks"] if b.get("block_id") == "steps")
    assert steps["element"]["initial_value"] == (
        "1 | call | Discovery call\n"
        "2 | email | Follow-up email\n"
        "4 | call | Second call\n"
        "7 | email | Email with the deck\n"
        "10 | call | Third call\n"
        "14 | email | Final email"
    )


def test_pipeline_edit_pushes_a_stages_cadence_editor(app):
    app.command("/pipeline", 'edit "New business"')
    editor = opened(app)
    buttons = next(b for b in editor["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == [
        "Cadence: Contact",
        "Cadence: Qualification",
        "Cadence: Meeting",
        "Cadence: Proposal",
        "Cadence: Negotiation",
    ]
    status, _ = app.action([buttons[1]], channel=None, response_url=None, view=editor)
    assert status == 200
    pushed = opened(app, "views.push")
    assert pushed["callback_id"] == "cadence_edit"
    values = {
        "name": plain("Qualify"),
        "active": chosen("on"),
        "steps": plain("0 | call | Qualify call\n3 | todo | Budget check"),
    }
    status, body = app.submit(submitted(pushed, values))
    assert status == 200 and not body
    cadence, steps = _cadence(app, "Qualification")
    assert (cadence.name, cadence.active) == ("Qualify", True)
    assert [(s.day_offset, s.kind, s.text) for s in steps] == [
        (0, "call", "Qualify call"),
        (3, "todo", "Budget check"),
    ]


def test_an_admin_turns_the_playbook_off(app):
    app.command("/pipeline", "cadence Contact")
    view = opened(app)
    steps = next(b for b in view["blocks"] if b.get("block_id") == "steps")
    values = {
        "name": plain("Playbook"),
        "active": chosen("off"),
        "steps": plain(steps["element"]["initial_value"]),
    }
    app.submit(submitted(view, values))
    cadence, steps = _cadence(app, "Contact")
    assert cadence.active is False and len(steps) == 6


NEGATIVE = {
    "name": plain("Playbook"),
    "active": chosen("on"),
    "steps": plain("1 | call | First\n-1 | call | Before it began"),
}


def refuse_negative_day(app) -> dict:
    app.command("/pipeline", "cadence Contact")
    status, body = app.submit(submitted(opened(app), NEGATIVE))
    assert status == 200
    cadence, steps = _cadence(app, "Contact")
    assert [s.day_offset for s in steps] == [1, 2, 4, 7, 10, 14], "the playbook as it was"
    return body


def test_a_negative_day_is_refused_and_nothing_changes(app):
    assert refuse_negative_day(app) == {
        "response_action": "errors",
        "errors": {
            "steps": "Step 2: day -1 must be from 0 to 365 (days after the deal entered the "
            "stage; it can’t be negative)."
        },
    }


def test_a_negative_day_is_refused_in_korean(app_ko):
    assert refuse_negative_day(app_ko) == {
        "response_action": "errors",
        "errors": {
            "steps": "2번째 단계: 일차는 0에서 365 사이여야 합니다 (입력한 값: -1). 단계에 들어온 "
            "날로부터 며칠 뒤인지를 쓰므로 음수는 안 됩니다."
        },
    }


def test_a_rep_cannot_open_the_editors(app):
    status, reply = app.command("/pipeline", "workflows", user="U2")
    assert status == 200
    assert "admin" in reply["text"].lower()
    assert app.slack.calls_to("views.open") == []
