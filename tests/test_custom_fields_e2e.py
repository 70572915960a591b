"""Custom fields end to end: signed slash commands, clicks and modal submissions into the
running app, Web API calls to the fake Slack (which enforces Block Kit), a real database
(SQLite, and PostgreSQL when TEST_DATABASE_URL is set).

An admin adds fields, a rep is refused politely, a value set with ``/deal set`` shows on the
card, ``/deal list`` filters on it, and a move into a stage that requires a missing field is
refused with a button whose modal fills it in and then makes the move."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from domain.clock import FixedClock
from storage.models import Deal, Stage
from tests import factories as f
from tests.slackapp import quiet_automation, running_app, wait


@pytest.fixture
def app(db_url):
    with running_app(db_url, clock=FixedClock(f.T0)) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        harness.slack.users["U2"] = {"locale": "en-US"}
        quiet_automation(harness)
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


def _buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _stage_of(app, number: int) -> str:
    with Session(app.engine) as session:
        deal = session.exec(select(Deal).where(Deal.number == number)).one()
        return session.get(Stage, deal.stage_id).name


def _answered(view: dict, values: dict) -> dict:
    state = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        answer = values.get(block["block_id"])
        if element["type"] == "static_select":
            chosen = next((o for o in element["options"] if o["value"] == answer), None)
            chosen = chosen or element.get("initial_option")
            state[block["block_id"]] = {
                "value": {"type": "static_select", "selected_option": chosen}
            }
        elif element["type"] == "users_select":
            user = answer or element.get("initial_user")
            state[block["block_id"]] = {"value": {"type": "users_select", "selected_user": user}}
        elif element["type"] == "plain_text_input":
            state[block["block_id"]] = {"value": {"type": element["type"], "value": answer}}
    return {**view, "id": "V1", "state": {"values": state}}


def test_fields_from_definition_to_card_filter_and_a_required_stage(app):
    status, reply = app.command("/deal", "list")  # U1 is the first member: an admin
    status, reply = app.command("/pipeline", 'field new "Budget" type:money required:Proposal')
    assert status == 200 and reply["text"].startswith("Added the field *Budget*.")
    app.command("/pipeline", 'field new "Industry" type:select options:제조,IT,금융')
    status, reply = app.command("/pipeline", 'field new "Region" type:text', user="U2")
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert "admin" in reply["text"].lower()

    app.command("/deal", 'new "Acme ERP" amount:7590000')
    app.command("/deal", 'new "Hanbit CRM" amount:1000000')
    app.slack.wait_for("chat.postMessage", count=2)
    status, reply = app.command("/deal", "set 1 industry:IT")
    assert status == 200 and reply["text"] == "<@U1> updated D1: Industry — → IT."
    updated = app.slack.wait_for("chat.update")[-1]
    assert "*Industry*\nIT" in json.dumps(updated.args["blocks"], ensure_ascii=False).replace(
        "\\n", "\n"
    )

    status, listed = app.command("/deal", "list industry:it")
    text = json.dumps(listed["blocks"], ensure_ascii=False)
    assert "Acme ERP" in text and "Hanbit CRM" not in text

    status, refused = app.command("/deal", "move 1 Proposal")
    assert refused["text"] == "D1 can't move to *Proposal* yet: fill in Budget first."
    (fill,) = _buttons(refused["blocks"])
    assert _stage_of(app, 1) == "Contact"
    app.action([fill], channel="C1")
    view = app.slack.wait_for("views.open")[0].args["view"]
    (block,) = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    status, answer = app.submit(_answered(view, {block: "a lot"}))
    assert status == 200 and answer["response_action"] == "errors"
    assert "Budget" in answer["errors"][block] and _stage_of(app, 1) == "Contact"
    status, answer = app.submit(_answered(view, {block: "1억 2천만"}))
    assert status == 200 and not answer
    wait(lambda: _stage_of(app, 1) == "Proposal", what="the move after the fields were filled")

    status, listed = app.command("/deal", "list budget>=1억 industry:IT")
    text = json.dumps(listed["blocks"], ensure_ascii=False)
    assert "Acme ERP" in text and "Hanbit CRM" not in text
    status, shown = app.command("/deal", "show 1")
    assert "₩120,000,000" in json.dumps(shown["blocks"], ensure_ascii=False)

    app.command("/deal", "new")  # the new-deal modal asks for the custom fields too
    view = app.slack.wait_for("views.open", count=2)[-1].args["view"]
    assert [b["block_id"] for b in view["blocks"]][-2:] == ["cf:budget", "cf:industry"]
    status, answer = app.submit(_answered(view, {"title": "Busan Port", "cf:industry": "금융"}))
    assert status == 200 and not answer
    wait(lambda: _deal_count(app) == 3, what="the deal from the modal")
    status, listed = app.command("/deal", "list industry:금융")
    assert "Busan Port" in json.dumps(listed["blocks"], ensure_ascii=False)


def _deal_count(app) -> int:
    with Session(app.engine) as session:
        return len(session.exec(select(Deal.id)).all())


def test_an_admin_edits_and_archives_a_field_from_the_list(app):
    app.command("/deal", "list")  # U1, the first member, is the admin
    app.command("/pipeline", 'field new "Industry" type:select options:제조,IT')
    status, listed = app.command("/pipeline", "fields")
    (section,) = [b for b in listed["blocks"] if b.get("accessory")]
    app.action([section["accessory"]], channel="C1")
    view = app.slack.wait_for("views.open")[0].args["view"]
    assert view["callback_id"] == "field_edit"
    state = {
        "name": {"value": {"type": "plain_text_input", "value": "Sector"}},
        "options": {"value": {"type": "plain_text_input", "value": "제조\nIT\n금융"}},
        "required": {"value": {"type": "static_select", "selected_option": None}},
        "archived": {"value": {"type": "checkboxes", "selected_options": []}},
    }
    status, answer = app.submit({**view, "id": "V1", "state": {"values": state}})
    assert status == 200 and not answer
    wait(lambda: "Sector" in json.dumps(app.command("/pipeline", "fields")[1], ensure_ascii=False))
    archive = {**state, "archived": {"value": {"type": "checkboxes", "selected_options": [
        {"text": {"type": "plain_text", "text": "Archive"}, "value": "archived"}]}}}  # fmt: skip
    status, answer = app.submit({**view, "id": "V1", "state": {"values": archive}})
    assert status == 200 and not answer
    wait(lambda: "archived" in json.dumps(app.command("/pipeline", "fields")[1]))
    status, refused = app.command("/deal", "list sector:IT")
    assert "no field" in refused["text"].lower()
    status, _ = app.action([section["accessory"]], channel="C1", user="U2")
    assert status == 200 and len(app.slack.calls_to("views.open")) == 1  # a rep gets no modal
