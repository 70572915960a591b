"""``/lead set`` end to end (issue 15): signed slash commands into the running app, a real
database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set). Built-in and custom fields
for leads are set in one command, checked by type before anything is written, refused
politely for another rep's lead, and the lead is scored again."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from commands.cells import read_table
from domain import custom_fields as cf
from domain.clock import FixedClock
from storage.models import Lead
from tests import factories as f
from tests.slackapp import quiet_automation, running_app, wait
from tests.test_custom_fields_e2e import _answered


@pytest.fixture
def app(db_url):
    with running_app(db_url, clock=FixedClock(f.T0)) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        harness.slack.users["U2"] = {"locale": "en-US"}
        quiet_automation(harness)
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


def _lead(app, number: int) -> tuple[Lead, dict]:
    with Session(app.engine) as session:
        lead = session.exec(select(Lead).where(Lead.number == number)).one()
        defs = cf.fields(session=session, workspace_id=lead.workspace_id, entity="leads")
        values = cf.values_of(session=session, fields=defs, record_ids=[lead.id])
        named = {d.key: v for d, v in ((d, values.get(lead.id, {}).get(d.id)) for d in defs)}
        session.expunge(lead)
        return lead, named


def test_lead_set_changes_built_in_and_custom_fields_and_rescores(app):
    app.command("/lead", "list")  # U1 is the first member: an admin
    status, reply = app.command(
        "/pipeline", 'field new "Industry" type:select options:제조,IT for:lead'
    )
    assert reply["text"].startswith(
        "Added the field *Industry* for leads. Set it with `/lead set L7 industry:제조`"
    )
    app.command("/pipeline", 'field new "Employees" type:number for:lead key:employees')
    app.command("/lead", 'new "Park"')
    before, _ = _lead(app, 1)

    status, reply = app.command("/lead", "set L1 title:CTO size:120 industry:제조 employees:300")
    assert status == 200
    assert reply["text"] == (
        "<@U1> updated L1: Employees — → 120; Job title — → CTO; Industry — → 제조; "
        "Employees — → 300.\nScore now: 35."
    )
    lead, values = _lead(app, 1)
    assert (lead.job_title, lead.company_size) == ("CTO", 120)
    assert values == {"industry": "제조", "employees": 300}
    assert lead.score == 35 > before.score

    status, shown = app.command("/lead", "show L1")
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert "*Industry*\\n제조" in text and "+15 title “cto”" in text


@pytest.mark.parametrize(
    "text, says",
    [
        ("set L1 source:ads industry:농업", "*Industry* can't be `농업`. Choose from: 제조, IT."),
        ("set L1 source:ads employees:many", "Employees"),
        ("set L1 colour:red", "There is no lead field `colour`."),
        ("set L1 title:CTO", "Nothing to change: L1 already has those values."),
        ("set L9 title:CTO", "There is no lead L9"),
        ("set L1", "Nothing to change"),
    ],
)
def test_a_bad_lead_set_says_what_was_wrong_and_changes_nothing(app, text, says):
    app.command("/lead", "list")
    app.command("/pipeline", 'field new "Industry" type:select options:제조,IT for:lead')
    app.command("/pipeline", 'field new "Employees" type:number for:lead key:employees')
    app.command("/lead", 'new "Park" title:CTO source:webinar')
    status, reply = app.command("/lead", text)
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert says in reply["text"]
    lead, values = _lead(app, 1)
    assert (lead.source, lead.job_title, values) == (
        "webinar",
        "CTO",
        {"industry": None, "employees": None},
    )


def test_a_rep_changes_only_their_own_leads_and_korean_words_work(app):
    app.command("/lead", "list")
    app.command("/lead", 'new "Park"')  # U1's lead
    status, reply = app.command("/lead", "set L1 title:CTO", user="U2")
    assert "L1 belongs to another rep" in reply["text"]
    assert _lead(app, 1)[0].job_title is None
    status, reply = app.command("/lead", "수정 L1 직함:대표 규모:300 출처:webinar")
    assert status == 200 and reply["text"].startswith("<@U1> updated L1:")
    lead, _ = _lead(app, 1)
    assert (lead.job_title, lead.company_size, lead.source) == ("대표", 300, "webinar")
    status, reply = app.command("/lead", "set L1 source:- title:없음 size:0")
    assert reply["text"].startswith(
        "<@U1> updated L1: Source webinar → —; Employees 300 → 0; Job title 대표 → —."
    )
    lead, _ = _lead(app, 1)
    assert (lead.job_title, lead.company_size, lead.source) == (None, 0, None)


def _lead_count(app) -> int:
    with Session(app.engine) as session:
        return len(session.exec(select(Lead)).all())


def test_the_new_lead_modal_and_lead_new_take_the_custom_fields_for_leads(app):
    app.command("/lead", "list")
    app.command("/pipeline", 'field new "Industry" type:select options:제조,IT for:lead')
    app.command("/pipeline", 'field new "Budget" type:money')  # a deal's: not in the lead modal
    app.command("/lead", "new")
    view = app.slack.wait_for("views.open")[-1].args["view"]
    assert [b["block_id"] for b in view["blocks"]][-2:] == ["title", "cf:industry"]
    status, answer = app.submit(_answered(view, {"name": "Park", "cf:industry": "IT"}))
    assert status == 200 and not answer
    wait(lambda: _lead_count(app) == 1, what="the lead from the modal")
    assert _lead(app, 1)[1] == {"industry": "IT"}

    status, reply = app.command("/lead", 'new "Kim" industry:농업')
    assert "*Industry* can't be `농업`" in reply["text"] and _lead_count(app) == 1
    status, reply = app.command("/lead", 'new "Kim" source:webinar industry:제조')
    assert reply["text"].startswith("Lead L2 created")
    assert _lead(app, 2)[1] == {"industry": "제조"}


def test_lead_export_has_the_score_and_the_custom_fields_after_lead_set(app):
    app.command("/lead", "list")
    app.command("/pipeline", 'field new "Industry" type:select options:제조,IT for:lead')
    app.command("/lead", 'new "Park" size:20')
    app.command("/lead", "set L1 source:webinar size:120 title:CTO industry:IT")
    status, reply = app.command("/lead", "export")
    assert status == 200 and reply["text"].startswith("Exporting 1 row: `leads-")
    upload = wait(lambda: app.slack.state.files)[0]
    table = read_table(upload["content"])
    assert table.headers[-3:] == ["created", "score", "industry"]
    assert table.rows[0][-2:] == ["45", "IT"]


def test_a_bad_custom_value_in_the_new_lead_modal_is_answered_under_its_input(app):
    app.command("/lead", "list")
    app.command("/pipeline", 'field new "Seats" type:number for:lead key:seats')
    app.command("/lead", "new")
    view = app.slack.wait_for("views.open")[-1].args["view"]
    status, answer = app.submit(_answered(view, {"name": "Park", "cf:seats": "many"}))
    assert status == 200 and answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["cf:seats"] and "Seats" in answer["errors"]["cf:seats"]
    assert _lead_count(app) == 0
