"""The Slack app end to end: signed HTTP requests in, Web API calls out, a real database.

The scenario is the one a rep lives: a lead, converted; the deal's card in the deals channel;
moves by command and by the card's select, each told in the thread and updating the card; a
thread message recorded once although Slack retried the event; the deal won.
"""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, func, select

from storage.models import Activity, Deal, Stage, StageHistory
from tests import slackreq
from tests.conftest import SLOWEST_COMMANDS
from tests.fakeslack.blockkit import validate_message
from tests.slackapp import SECRET, TEAM, filled, running_app, wait


@pytest.fixture
def app(db_url, request):
    with running_app(db_url) as harness:
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"
        if harness.latencies:
            SLOWEST_COMMANDS.append((*max(harness.timed), request.node.nodeid))
            assert max(harness.latencies) < 3.0, "Slack's 3-second limit"


def deal_one(app) -> Deal:
    with Session(app.engine) as session:  # D1 (won, it has a renewal D2: the default workflow)
        return session.exec(select(Deal).where(Deal.number == 1)).one()


def stage_name(app, stage_id: int) -> str:
    with Session(app.engine) as session:
        return session.get(Stage, stage_id).name


def test_lead_to_won_deal_with_card_thread_and_timeline(app):
    status, reply = app.command("/lead", 'new "Kim Minsu" company:Acme email:kim@acme.kr')
    assert status == 200 and "L1" in reply["text"]

    status, reply = app.command("/lead", "convert L1 amount:7590000")
    assert status == 200 and "D1" in reply["text"]
    card = wait(lambda: app.slack.calls_to("chat.postMessage"))[0]
    assert card.args["channel"] == "CDEALS", "the card goes to the workspace's deals channel"
    deal = wait(lambda: deal_one(app).thread_ts and deal_one(app))
    assert (deal.thread_channel, deal.thread_ts) == ("CDEALS", card.response["ts"])

    status, reply = app.command("/deal", "move 1 Qualification")
    assert status == 200
    app.slack.wait_for("chat.update", count=1)
    replies = wait(
        lambda: [
            c
            for c in app.slack.calls_to("chat.postMessage")
            if c.args.get("thread_ts") == deal.thread_ts
        ]
    )
    assert "Qualification" in replies[0].args["text"]

    meeting = next(s for s in _stages(app) if s.name == "Meeting")
    status, _ = app.action(
        [
            {
                "type": "static_select",
                "action_id": "deal.stage",
                "block_id": f"deal:{deal.id}",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Meeting"},
                    "value": str(meeting.id),
                },
                "action_ts": "1700000001.000001",
            }
        ],
        message={"ts": deal.thread_ts, "text": "card"},
    )
    assert status == 200
    wait(lambda: deal_one(app).stage_id == meeting.id)
    app.slack.wait_for("chat.update", count=2)

    message = {
        "type": "message",
        "channel": "CDEALS",
        "user": "U2",
        "text": "CFO says yes",
        "ts": "1800000000.000100",
        "thread_ts": deal.thread_ts,
    }
    assert app.event(message, event_id="Ev1")[0] == 200
    assert app.event(message, event_id="Ev1", retry_num=1)[0] == 200
    assert app.event(message, event_id="Ev1", retry_num=2)[0] == 200
    wait(lambda: _messages(app, deal.id) >= 1)
    time.sleep(0.3)  # retries, if they were going to, would have landed by now
    assert _messages(app, deal.id) == 1

    status, reply = app.command("/deal", "won 1")
    assert status == 200 and reply["response_type"] == "ephemeral"
    confirm = _buttons(reply["blocks"])[0]  # winning asks first (issue 13)
    assert deal_one(app).closed_at is None
    assert app.action([{**confirm, "block_id": "b", "action_ts": "1.1"}])[0] == 200
    wait(lambda: deal_one(app).closed_at is not None)
    assert stage_name(app, deal_one(app).stage_id) == "Won"
    with Session(app.engine) as session:
        rows = session.exec(select(func.count()).select_from(StageHistory)).one()
    assert rows == 5  # Contact (converted), Qualification, Meeting, Won; D2's Renewal due
    app.slack.wait_for("chat.update", count=3)

    app.settle()
    calls_before = len(app.slack.calls)
    status, reply = app.command("/deal", "show 1")
    assert status == 200
    assert "CFO says yes" in str(reply["blocks"]), "the answer rides in the ack"
    link = f"https://fake.slack/archives/CDEALS/p{deal.thread_ts.replace('.', '')}"
    assert link in str(reply["blocks"]), "the thread's permalink, stored with the card"
    assert [c.method for c in app.slack.calls[calls_before:]] == [], "no Web API call"


def _stages(app):
    with Session(app.engine) as session:
        return list(session.exec(select(Stage)))


def _messages(app, deal_id: int) -> int:
    with Session(app.engine) as session:
        return session.exec(
            select(func.count())
            .select_from(Activity)
            .where(Activity.deal_id == deal_id, Activity.kind == "message")
        ).one()


def _deal_count(app) -> int:
    with Session(app.engine) as session:
        return session.exec(select(func.count()).select_from(Deal)).one()


def test_a_forged_signature_and_an_old_timestamp_get_401_and_change_nothing(app):
    body, headers = slackreq.slash(
        "/deal",
        "new Forged amount:1",
        team_id=TEAM,
        user_id="U1",
        response_url=app.slack.response_url("x"),
        secret="wrong",
    )
    assert slackreq.post(app.url + "/slack/events", body, headers)[0] == 401
    old = int(time.time()) - 6 * 60
    body, headers = slackreq.slash(
        "/deal",
        "new Stale amount:1",
        team_id=TEAM,
        user_id="U1",
        response_url=app.slack.response_url("y"),
        secret=SECRET,
        ts=old,
    )
    assert slackreq.post(app.url + "/slack/events", body, headers)[0] == 401
    assert _deal_count(app) == 0
    assert app.slack.calls_to("chat.postMessage") == []


def test_a_429_on_the_card_is_retried_and_the_card_arrives_once(app):
    app.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    status, reply = app.command("/deal", 'new "Acme ERP" amount:7,590,000')
    assert status == 200 and "D1" in reply["text"]
    wait(lambda: deal_one(app).thread_ts, timeout=10)
    posted = app.slack.calls_to("chat.postMessage")
    assert len(posted) == 1
    refused = [c for c in app.slack.calls_to("chat.postMessage", ok_only=False) if c.status == 429]
    assert len(refused) == 1


def test_wrong_input_answers_in_the_users_language_and_changes_nothing(app):
    for text in ("move 999 Nowhere", "new amount:abc", "set 42 close:2026-13-45"):
        status, reply = app.command("/deal", text)
        assert status == 200
        assert reply["response_type"] == "ephemeral"
        assert "Traceback" not in reply["text"] and reply["text"]
    assert _deal_count(app) == 0


def test_a_list_of_300_deals_stays_within_block_kit_limits(app):
    from domain import deals
    from domain.workspaces import get_or_create_member, get_or_create_workspace
    from storage.db import session_scope
    from tests.factories import T0

    with session_scope(app.engine) as session:
        ws = get_or_create_workspace(session=session, team_id=TEAM)
        rep = get_or_create_member(session=session, workspace=ws, slack_user_id="U1")
        for i in range(300):
            deals.create_deal(
                session=session, workspace=ws, actor=rep, title=f"Deal {i:03}", amount=None, now=T0
            )
    status, reply = app.command("/deal", "list mine")
    assert status == 200
    assert validate_message({"text": reply["text"], "blocks": reply.get("blocks", [])}) == []
    assert "300" in reply["text"] or "300" in str(reply.get("blocks"))


def test_bare_command_shows_help_with_buttons_and_new_opens_a_modal(app):
    status, reply = app.command("/deal")
    assert status == 200
    assert any(b["type"] == "actions" for b in reply["blocks"])
    status, _ = app.command("/deal", "new")
    assert status == 200
    opened = app.slack.wait_for("views.open")
    assert opened[0].args["view"]["callback_id"] == "deal_new"


def test_the_new_deal_modal_answers_errors_on_the_field_then_creates_the_card(app):
    app.command("/deal", "new")
    view = app.slack.wait_for("views.open")[0].args["view"]
    status, answer = app.submit(filled(view, {"title": "Acme ERP", "amount": "abc"}))
    assert status == 200 and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"amount"} and "abc" in answer["errors"]["amount"]
    assert _deal_count(app) == 0

    status, answer = app.submit(filled(view, {"title": "Acme ERP", "amount": "759만원"}))
    assert status == 200 and not answer
    card = app.slack.wait_for("chat.postMessage")[0]
    assert card.args["channel"] == "CDEALS" and "Acme ERP" in card.args["text"]


def test_only_admins_open_settings_and_a_refusal_says_why(app):
    app.command("/deal", "list")  # U1 is the first member: an admin
    status, reply = app.command("/pipeline", "settings", user="U2")
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert "admin" in reply["text"].lower() or "관리자" in reply["text"]
    assert app.slack.calls_to("views.open") == []
    app.command("/pipeline", "settings", user="U1")
    assert app.slack.wait_for("views.open")[0].args["view"]["callback_id"] == "settings"


def _buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_an_ambiguous_reference_offers_the_candidates_as_buttons_that_finish_the_job(app):
    app.command("/deal", 'new "Acme ERP" amount:1000000')
    app.command("/deal", 'new "Acme CRM" amount:2000000')
    status, reply = app.command("/deal", "won acme")
    assert status == 200 and reply["response_type"] == "ephemeral"
    buttons = _buttons(reply["blocks"])
    assert {b["text"]["text"] for b in buttons} == {"D1 · Acme ERP", "D2 · Acme CRM"}
    chosen = next(b for b in buttons if "CRM" in b["text"]["text"])
    status, _ = app.action([{**chosen, "block_id": "pick", "action_ts": "1.2"}])
    assert status == 200
    asked = app.slack.wait_for("response_url")[-1].args  # winning asks first (issue 13)
    assert asked["text"] == "D2 “Acme CRM” (200만원) 딜을 성사로 처리할까요? (Won 단계)"
    confirm = _buttons(asked["blocks"])[0]
    assert app.action([{**confirm, "block_id": "b", "action_ts": "1.3"}])[0] == 200
    wait(lambda: _closed(app, 2))
    assert not _closed(app, 1), "only the chosen deal is won"


def _closed(app, number: int) -> bool:
    with Session(app.engine) as session:
        deal = session.exec(select(Deal).where(Deal.number == number)).one()
        return deal.closed_at is not None


def test_lost_on_the_card_asks_the_reason_in_a_modal_and_records_it(app):
    app.command("/deal", 'new "Acme ERP" amount:1000000')
    card = app.slack.wait_for("chat.postMessage")[0]
    lost = next(b for b in _buttons(card.args["blocks"]) if b["action_id"] == "deal.lost")
    status, _ = app.action([{**lost, "block_id": "deal:1", "action_ts": "1.3"}])
    assert status == 200
    view = app.slack.wait_for("views.open")[0].args["view"]
    assert view["callback_id"] == "deal_lost"
    state = {"reason": {"value": {"type": "plain_text_input", "value": "budget frozen"}}}
    status, answer = app.submit({**view, "id": "V2", "state": {"values": state}})
    assert status == 200 and not answer
    deal = wait(lambda: deal_one(app).closed_at and deal_one(app))
    assert deal.lost_reason == "budget frozen"
    assert stage_name(app, deal.stage_id) == "Lost"


def test_app_home_shows_my_open_deals_within_the_view_limits(app):
    app.command("/deal", 'new "Acme ERP" amount:1000000')
    status, _ = app.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_id="EvH")
    assert status == 200
    published = app.slack.wait_for("views.publish")[0]
    assert published.args["user_id"] == "U1"
    assert "Acme ERP" in str(published.args["view"]["blocks"])


def test_healthz_answers_when_the_database_does(app):
    import urllib.request

    with urllib.request.urlopen(app.url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert b'"ok": true' in response.read()


def test_a_report_answers_inline_when_quick_with_its_chart_in_the_dm(app):
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    status, reply = app.command("/pipeline", "forecast")
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert reply.get("blocks") and "759" in str(reply)
    upload = wait(lambda: app.slack.files)
    assert upload[0]["content"].startswith(b"\x89PNG")


def test_a_report_past_the_ack_budget_acks_at_once_and_follows_by_response_url(app):
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    app.deps.ack_budget = 0.0  # as if the pipeline were huge
    status, reply = app.command("/pipeline", "forecast", follow=False)
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert not reply.get("blocks"), "the ack only says the report is coming"
    report = wait(
        lambda: [
            c
            for c in app.slack.calls
            if c.method == "response_url" and c.args.get("blocks") and "759" in str(c.args)
        ]
    )
    assert report[0].args["response_type"] == "ephemeral"
    upload = wait(lambda: app.slack.files)
    assert upload[0]["content"].startswith(b"\x89PNG")
