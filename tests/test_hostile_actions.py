"""Buttons and modals with values nobody should send: 'not found' or ignored, never a traceback.

Signed requests into the running app with button values, block ids and private_metadata an
attacker (or an old card, or a bug) could send. Each is answered kindly, changes nothing,
and leaves no traceback in the log.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from sqlmodel import Session, select

from storage.models import Deal
from tests.slackapp import running_app


@pytest.fixture
def app(db_url, caplog):
    with running_app(db_url) as harness:
        status, reply = harness.command("/deal", 'new "Acme ERP" amount:7590000')
        assert status == 200 and "D1" in reply["text"]
        harness.settle()
        caplog.clear()
        yield harness
        assert harness.slack.problems == []


def tracebacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def answers(app, since: int) -> list[str]:
    """What the clicking user was told (response_url or ephemeral), after call ``since``."""
    out = []
    for call in app.slack.calls[since:]:
        if call.method in ("response_url", "chat.postEphemeral"):
            out.append(call.args.get("text", ""))
    return out


def the_deal(app) -> Deal:
    with Session(app.engine) as session:  # D1 (won, it has a renewal D2: the default workflow)
        return session.exec(select(Deal).where(Deal.number == 1)).one()


HOSTILE_BUTTONS = [
    {"action_id": "deal.won", "value": "²"},  # "²".isdigit() is True; int("²") fails
    {"action_id": "deal.won", "value": "D" + "9" * 20},
    {"action_id": "deal.won", "value": "9" * 20},
    {"action_id": "deal.won", "value": "D-1"},
    {"action_id": "deal.won", "value": ""},
    {"action_id": "deal.won"},
    {"action_id": "deal.show", "value": "D999"},
    {"action_id": "deal.snooze", "value": "D1:9223372036854775808"},
    {"action_id": "deal.snooze", "value": "D1:-3"},
    {"action_id": "deal.snooze", "value": "D1:²"},
    {"action_id": "deal.lost", "value": "١٢"},  # Arabic-Indic digits
    {"action_id": "deal.note", "value": "D0"},
    {"action_id": "lead.convert", "value": "L" + "1" * 30},
    {"action_id": "deal.stage", "block_id": "deal:D1", "value": "²"},
    {"action_id": "deal.stage", "block_id": "deal:D1", "value": "99999"},
    {"action_id": "deal.stage", "block_id": "lead:D1", "value": "1"},
    {"action_id": "deal.stage", "block_id": "deal:" + "9" * 40, "value": "1"},
]


@pytest.mark.parametrize(
    "action", HOSTILE_BUTTONS, ids=lambda a: f"{a['action_id']}={a.get('value')!r}"
)
def test_a_hostile_button_value_is_not_found_and_changes_nothing(app, caplog, action):
    before = the_deal(app)
    since = len(app.slack.calls)
    status, _ = app.action([{"type": "button", **action}], message={"ts": "1.0", "text": "x"})
    assert status == 200
    told = []
    deadline = time.monotonic() + 5
    while not told and time.monotonic() < deadline:
        told = answers(app, since)
        time.sleep(0.05)
    assert told, "the person hears something"
    assert all("error id" not in text and "Traceback" not in text for text in told), told
    after = the_deal(app)
    assert (after.stage_id, after.snoozed_until, after.closed_at) == (
        before.stage_id,
        before.snoozed_until,
        before.closed_at,
    )
    assert tracebacks(caplog) == []


def test_an_unknown_action_is_ignored(app, caplog):
    since = len(app.slack.calls)
    status, _ = app.action([{"type": "button", "action_id": "deal.explode", "value": "D1"}])
    assert status == 200
    time.sleep(0.3)
    assert answers(app, since) == []
    assert tracebacks(caplog) == []


def test_a_button_on_a_card_posted_before_buttons_carried_numbers_still_works(app):
    """Older cards carry the deal's row id: read in its workspace, then like any number."""
    deal = the_deal(app)
    status, _ = app.action(
        [{"type": "button", "action_id": "deal.won", "value": str(deal.id)}],
        message={"ts": deal.thread_ts, "text": "card"},
    )
    assert status == 200
    deadline = time.monotonic() + 5
    while the_deal(app).closed_at is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert the_deal(app).closed_at is not None


@pytest.mark.parametrize(
    "metadata", ["null", "[]", '"x"', "{not json", json.dumps({"deal": "²"}), "", "1e308"]
)
@pytest.mark.parametrize("callback", ["deal_lost", "deal_note"])
def test_a_modal_with_hostile_private_metadata_is_answered_on_the_field(
    app, caplog, metadata, callback
):
    field = "reason" if callback == "deal_lost" else "text"
    view = {
        "callback_id": callback,
        "private_metadata": metadata,
        "blocks": [{"type": "input", "block_id": field}],
        "state": {"values": {field: {"value": {"type": "plain_text_input", "value": "budget"}}}},
    }
    status, body = app.submit(view)
    assert status == 200
    assert body["response_action"] == "errors", body
    assert list(body["errors"]) == [field]
    assert the_deal(app).closed_at is None
    assert tracebacks(caplog) == []


def test_a_modal_without_state_or_blocks_is_answered_too(app, caplog):
    status, body = app.submit({"callback_id": "deal_note", "private_metadata": '{"deal": 1}'})
    assert status == 200
    assert tracebacks(caplog) == []
