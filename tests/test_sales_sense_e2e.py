"""Sales sense through Slack (issue 13): signed slash commands and block_actions clicks into the
running app, answers read from the fake Slack's response_url and Web API calls.

- ``/deal won 1`` answers with an ephemeral question and Confirm/Cancel buttons; Confirm wins
  the deal and its answer replaces the question (``replace_original``), with the offer to
  create the renewal deal, whose button creates it.
- The card's Won button carries a Block Kit ``confirm`` dialog: its click wins at once.
- ``/deal list`` of 41 deals shows 20 with a Next button; Next replaces the message with the
  next 20, and Previous goes back.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.models import Deal, Pipeline, Stage
from tests.slackapp import running_app, wait


@pytest.fixture(params=["en", "ko"])
def app(db_url, request):
    with running_app(db_url, locale=request.param, stage_names="en", automation=False) as harness:
        harness.locale = request.param
        harness.slack.users["U1"] = {"locale": "en-US" if request.param == "en" else "ko-KR"}
        yield harness
        assert harness.slack.problems == [], "every answer passes Block Kit validation"


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def click(app, button: dict, **kw) -> int:
    return app.action([{**button, "block_id": "b", "action_ts": "1.1"}], **kw)[0]


def answers(app) -> list[dict]:
    return [c.args for c in app.slack.calls_to("response_url")]


def deal(app, number: int) -> tuple[Deal, str, str]:
    with Session(app.engine) as s:
        d = s.exec(select(Deal).where(Deal.number == number)).one()
        return d, s.get(Stage, d.stage_id).name, s.get(Pipeline, d.pipeline_id).name


TEXT = {
    "en": {
        "ask": "Mark D1 “Acme ERP” (₩7,590,000) as won (Won)?",
        "cancelled": "Cancelled: D1 is unchanged.",
        "won": "🎉 <@U1> won D1.",
        "created": "<@U1> created D2 “Acme ERP” in Renewals, the renewal of D1: "
        "renews Nov 2, 2027, MRR ₩632,500.",
        "buttons": ["Confirm", "Cancel"],
        "next": "Next ›",
        "previous": "‹ Previous",
        "range": ["1–20 of 41", "21–40 of 41", "41–41 of 41"],
    },
    "ko": {
        "ask": "D1 “Acme ERP” (759만원) 딜을 성사로 처리할까요? (Won 단계)",
        "cancelled": "취소했습니다. D1 딜은 그대로입니다.",
        "won": "🎉 <@U1>님이 D1 딜을 성사시켰습니다.",
        "created": "<@U1>님이 D1의 갱신 딜 D2 “Acme ERP” 딜을 Renewals 파이프라인에 "
        "만들었습니다: 갱신일 2027년 11월 2일, MRR 63만 2,500원.",
        "buttons": ["확인", "취소"],
        "next": "다음 ›",
        "previous": "‹ 이전",
        "range": ["전체 41건 중 1–20", "전체 41건 중 21–40", "전체 41건 중 41–41"],
    },
}


def test_won_asks_cancel_keeps_it_confirm_wins_and_the_offer_creates_the_renewal(app):
    text = TEXT[app.locale]
    assert app.command("/deal", 'new "Acme ERP" amount:7590000 company:Acme')[0] == 200
    status, reply = app.command("/deal", "won 1")
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert reply["text"] == text["ask"]
    confirm, cancel = buttons(reply["blocks"])
    assert [confirm["text"]["text"], cancel["text"]["text"]] == text["buttons"]
    assert confirm["style"] == "primary"

    assert click(app, cancel) == 200
    wait(lambda: len(answers(app)) >= 1)
    assert answers(app)[-1]["text"] == text["cancelled"]
    assert answers(app)[-1]["replace_original"] is True
    assert deal(app, 1)[0].closed_at is None

    assert click(app, confirm) == 200
    wait(lambda: len(answers(app)) >= 2)
    won = answers(app)[-1]
    assert won["replace_original"] is True and won["text"] == text["won"]
    assert deal(app, 1)[1] == "Won"
    (offer,) = buttons(won["blocks"])
    assert offer["action_id"] == "deal.renew" and offer["value"] == "D1"

    assert click(app, offer) == 200
    wait(lambda: len(answers(app)) >= 3)
    created = answers(app)[-1]
    assert created["replace_original"] is True
    renewal, stage, pipeline = deal(app, 2)
    assert (stage, pipeline, renewal.renewal_of_id) == (
        "Renewal due",
        "Renewals",
        deal(app, 1)[0].id,
    )
    assert created["text"].startswith(text["created"].split(":")[0])
    wait(lambda: deal(app, 2)[0].thread_ts is not None, what="the renewal deal's card")


def test_the_cards_won_button_confirms_in_a_dialog_and_its_click_wins(app):
    assert app.command("/deal", 'new "Acme ERP" amount:7590000')[0] == 200
    card = app.slack.wait_for("chat.postMessage")[0].args
    won = next(b for b in buttons(card["blocks"]) if b["action_id"] == "deal.won")
    dialog = won["confirm"]
    assert dialog["confirm"]["text"] == TEXT[app.locale]["buttons"][0]
    assert dialog["deny"]["text"] == TEXT[app.locale]["buttons"][1]
    assert click(app, won) == 200
    wait(lambda: deal(app, 1)[0].closed_at is not None, what="the deal to be won")


def test_a_list_of_41_pages_by_20_with_next_and_previous(app):
    text = TEXT[app.locale]
    from domain import deals
    from domain.workspaces import get_or_create_member, get_or_create_workspace
    from tests.factories import T0

    assert app.command("/deal", "list")[0] == 200  # the app meets the workspace and U1
    with Session(app.engine) as s:
        ws = get_or_create_workspace(session=s, team_id="T1")
        me = get_or_create_member(session=s, workspace=ws, slack_user_id="U1")
        for n in range(41):
            deals.create_deal(session=s, workspace=ws, actor=me, title=f"Deal {n + 1:02}", now=T0)
        s.commit()
    status, first = app.command("/deal", "list sort:amount")
    assert status == 200
    assert first["blocks"][-2]["elements"][0]["text"] == text["range"][0]
    (next_,) = buttons(first["blocks"])
    assert next_["text"]["text"] == text["next"]
    assert "Deal 01" in str(first["blocks"]) and "Deal 21" not in str(first["blocks"])

    assert click(app, next_) == 200
    wait(lambda: len(answers(app)) >= 1)
    second = answers(app)[-1]
    assert second["replace_original"] is True
    assert second["blocks"][-2]["elements"][0]["text"] == text["range"][1]
    assert "Deal 21" in str(second["blocks"]) and "Deal 01" not in str(second["blocks"])
    back, on = buttons(second["blocks"])
    assert [back["text"]["text"], on["text"]["text"]] == [text["previous"], text["next"]]

    assert click(app, on) == 200
    wait(lambda: len(answers(app)) >= 2)
    third = answers(app)[-1]
    assert third["blocks"][-2]["elements"][0]["text"] == text["range"][2]
    assert "Deal 41" in str(third["blocks"])
    (back,) = buttons(third["blocks"])

    assert click(app, back) == 200
    wait(lambda: len(answers(app)) >= 3)
    assert answers(app)[-1]["blocks"][-2]["elements"][0]["text"] == text["range"][1]


def test_a_hostile_page_or_confirm_value_is_not_found_and_changes_nothing(app):
    assert app.command("/deal", 'new "Acme ERP" amount:7590000')[0] == 200
    for action_id, value in (
        ("deal.page", "{not json"),
        ("deal.page", '{"text": "list", "offset": -5}'),
        ("deal.confirm", '{"do": "drop", "deal": 1}'),
        ("deal.confirm", '{"do": "move", "deal": 1}'),
        ("deal.renew", "D999"),
    ):
        assert click(app, {"type": "button", "action_id": action_id, "value": value}) == 200
    wait(lambda: len(answers(app)) >= 5)
    assert deal(app, 1)[1] == "Contact"
