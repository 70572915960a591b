"""Inbound leads with the workspace's custom fields for leads (issue 15), end to end: real
HTTP into the running app, a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is
set). A field maps by key or by name and is read like an import cell; a bad value is a 400
naming the field and stores nothing; the lead is scored with what the sender gave."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from domain import custom_fields as cf
from domain.clock import FixedClock
from storage.models import Lead
from tests import factories as f
from tests.slackapp import running_app
from tests.test_inbound_e2e import enable, leads_in_db, post_json


@pytest.fixture
def app(db_url):
    with running_app(db_url, clock=FixedClock(f.T0), locale="en") as harness:
        harness.slack.users["U1"] = {"is_admin": True, "locale": "en-US"}
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


def _fields(app) -> tuple[Lead, dict]:
    with Session(app.engine) as session:
        lead = session.exec(select(Lead)).one()
        defs = cf.fields(session=session, workspace_id=lead.workspace_id, entity="leads")
        got = cf.values_of(session=session, fields=defs, record_ids=[lead.id]).get(lead.id, {})
        session.expunge(lead)
        return lead, {d.key: got.get(d.id) for d in defs}


def test_an_inbound_lead_brings_its_custom_fields_by_key_or_name(app):
    key, secret = enable(app)
    app.command("/pipeline", 'field new "Industry" type:select options:제조,IT for:lead')
    app.command("/pipeline", 'field new "Seats" type:number for:lead key:seats')
    app.command("/pipeline", 'field new "Budget" type:money for:lead')

    bad = {"name": "Kim", "industry": "농업", "Seats": "many", "budget": "5000만원"}
    status, _, answer = post_json(app, key, bad, secret=secret)
    assert status == 400 and answer["error"] == "invalid_fields"
    reasons = {p["field"]: p["reason"] for p in answer["fields"]}
    assert sorted(reasons) == ["Seats", "industry"]
    assert reasons["industry"] == "*Industry* can't be `농업`. Choose from: 제조, IT."
    assert "Seats" in reasons["Seats"] and "many" in reasons["Seats"]
    assert leads_in_db(app) == 0

    good = {"name": "Kim", "Industry": "it", "seats": "1,200", "budget": "5000만원",
            "title": "CTO", "utm": "ad"}  # fmt: skip
    status, _, answer = post_json(app, key, good, secret=secret)
    assert (status, answer["lead"]) == (201, "L1")
    lead, values = _fields(app)
    assert values["industry"] == "IT" and values["seats"] == 1200
    assert values["budget"][1] == "KRW" and values["budget"][0] == 50_000_000
    assert lead.job_title == "CTO" and lead.score >= 15  # the title rule reads it
