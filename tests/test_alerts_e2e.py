"""Alerts end to end (issue 16), in English and Korean: admins route alerts with
``/pipeline alert add`` or the ``/pipeline alerts`` modal (Block Kit checked by the fake
Slack); a won deal reaches the route's channel through the outbox; bad routes are explained
and change nothing; members choose mutes, batching and quiet hours on App Home."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, func, select

from storage.models import AlertMute, AlertPrefs, AlertRoute, Deal
from tests.slackapp import quiet_automation, running_app, wait


@pytest.fixture(params=["en", "ko"])
def app(request, db_url):
    with running_app(db_url, locale=request.param, currency="KRW", stage_names="en") as harness:
        harness.locale = request.param
        harness.deps.ack_budget = 30.0  # the answer rides in the ack even on a loaded machine
        for user in ("U1", "U2"):
            harness.slack.users[user] = {"locale": "ko-KR" if request.param == "ko" else "en-US"}
        quiet_automation(harness)  # U1, the first member, is the admin
        yield harness
        assert harness.slack.problems == [], "every call passes Block Kit validation"


def by_locale(app, ko: str, en: str) -> str:
    return ko if app.locale == "ko" else en


def say(app, command: str, text: str, user: str = "U1") -> str:
    status, reply = app.command(command, text, user=user)
    assert status == 200
    return reply["text"] if isinstance(reply, dict) else reply


def routes(app) -> int:
    with Session(app.engine) as session:
        return session.exec(select(func.count()).select_from(AlertRoute)).one()


def win(app, number: int) -> None:
    """``/deal won N`` asks first; Confirm."""
    status, reply = app.command("/deal", f"won {number}")
    assert status == 200
    confirm = next(e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert app.action([{**confirm, "block_id": "b"}])[0] == 200

    def closed():
        with Session(app.engine) as session:
            deal = session.exec(select(Deal).where(Deal.number == number)).one()
            return deal.closed_at is not None

    wait(closed, what=f"D{number} won")


def test_a_won_deal_of_2억_reaches_wins_and_one_of_5천만_does_not(app):
    reply = say(app, "/pipeline", "alert add won channel:<#CWINS|wins> min:1억")
    assert reply == by_locale(
        app,
        "알림 경로 1번을 추가했습니다: 성사된 딜 (1억원 이상) → <#CWINS>",
        "Added alert route 1: Won deals of ₩100,000,000 or more → <#CWINS>",
    )
    say(app, "/deal", "new Big amount:2억")
    say(app, "/deal", "new Small amount:5천만")
    win(app, 1)
    win(app, 2)
    app.settle()
    posted = [m["text"] for m in app.slack.messages("CWINS")]
    assert posted == [by_locale(app, "성사: D1 Big · 2억원", "Won: D1 Big · ₩200,000,000")]


def test_the_routes_modal_reads_as_sentences_and_adds_and_removes(app):
    say(app, "/pipeline", "alert add stalled channel:CSTALL pipeline:Renewals owner:<@U2|lee>")
    assert app.command("/pipeline", "alerts")[0] == 200
    view = app.slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "alert_routes"
    sections = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert sections == [
        by_locale(
            app,
            "*1.* 정체 경고 (Renewals 파이프라인, 담당자 <@U2>) → <#CSTALL>",
            "*1.* Stall warnings in Renewals, owned by <@U2> → <#CSTALL>",
        )
    ]
    values = {
        "event": {"value": {"type": "static_select", "selected_option": {"value": "lost"}}},
        "channel": {"value": {"type": "conversations_select", "selected_conversation": "CLOST"}},
        "filters": {"value": {"type": "plain_text_input", "value": "min:$50,000"}},
        "remove": {"value": {"type": "plain_text_input", "value": "1"}},
    }
    status, answer = app.submit(
        {"callback_id": view["callback_id"], "blocks": view["blocks"], "state": {"values": values}}
    )
    assert status == 200 and answer in ("", {}, None)
    with Session(app.engine) as session:
        (route,) = session.exec(select(AlertRoute)).all()
    assert (route.number, route.event, route.channel, route.currency) == (1, "lost", "CLOST", "USD")


def test_a_bad_route_in_the_modal_is_explained_under_its_field_and_nothing_changes(app):
    say(app, "/pipeline", "alert add won channel:CWINS")
    app.command("/pipeline", "alerts")
    view = app.slack.wait_for("views.open")[-1].args["view"]
    values = {
        "event": {"value": {"type": "static_select", "selected_option": {"value": "won"}}},
        "remove": {"value": {"type": "plain_text_input", "value": "1"}},
    }
    status, answer = app.submit(
        {"callback_id": view["callback_id"], "blocks": view["blocks"], "state": {"values": values}}
    )
    assert status == 200
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "channel": by_locale(
            app, "채널을 입력해 주세요. 예: `channel:#wins`", "Name the channel: `channel:#wins`."
        )
    }
    assert routes(app) == 1  # the removal in the same submission did not happen either


@pytest.mark.parametrize(
    ("text", "ko", "en"),
    [
        (
            "alert add promoted channel:CWINS",
            "알 수 없는 알림 종류입니다: “promoted”.",
            "“promoted” is not an alert event.",
        ),
        (
            "alert add won channel:wins",
            "채널이 아닙니다: “wins”.",
            "“wins” is not a channel:",
        ),
        (
            "alert add won channel:#wins",
            "채널이 아닙니다: “#wins”.",
            "“#wins” is not a channel:",
        ),
        ("alert add won channel:CWINS min:lots", "lots", "lots"),
        ("alert add won", "채널을 입력해 주세요.", "Name the channel:"),
        ("alert remove 7", "7번 알림 경로가 없습니다.", "There is no alert route 7:"),
        ("alert remove two", "알림 경로 번호가 아닙니다: “two”.", "“two” is not a route number:"),
    ],
)
def test_bad_route_commands_are_explained_and_change_nothing(app, text, ko, en):
    reply = say(app, "/pipeline", text)
    assert by_locale(app, ko, en) in reply
    assert routes(app) == 0


def test_only_admins_route_alerts(app):
    say(app, "/deal", "list", user="U2")  # a rep
    for text in ("alert add won channel:CWINS", "alerts", "alert remove 1"):
        reply = say(app, "/pipeline", text, user="U2")
        assert reply == by_locale(
            app,
            "파이프라인, 설정, 역할은 관리자만 변경할 수 있습니다. 관리자에게 요청하세요.",
            "Only admins can change pipelines, settings and roles. Ask an admin (see "
            "`/pipeline settings`).",
        )
    assert app.slack.calls_to("views.open") == []
    assert routes(app) == 0


def test_app_home_saves_batching_quiet_hours_and_mutes(app):
    say(app, "/deal", "new Acme amount:1000")
    app.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_id="EvHome1")
    home = app.slack.wait_for("views.publish")[-1].args["view"]
    controls = {
        b["accessory"]["action_id"]: b["accessory"]
        for b in home["blocks"]
        if b["type"] == "section" and "accessory" in b
    }
    assert {"alert.batch", "alert.quiet", "alert.mute_pipelines", "alert.mute_deals"} <= set(
        controls
    )
    deal_option = controls["alert.mute_deals"]["options"][0]
    assert deal_option["text"]["text"] == "D1 Acme"
    view = {"id": "VHOME", "type": "home"}
    clicks = [
        {
            "action_id": "alert.batch",
            "type": "static_select",
            "selected_option": {"value": "daily"},
        },
        {
            "action_id": "alert.quiet",
            "type": "static_select",
            "selected_option": {"value": "20:00-08:00"},
        },
        {
            "action_id": "alert.mute_deals",
            "type": "multi_static_select",
            "selected_options": [deal_option, {"value": "d999999"}, {"value": "pXX"}],
        },
    ]
    for n, click in enumerate(clicks, start=2):
        assert app.action([click], view=view, channel=None, response_url=None)[0] == 200
        app.slack.wait_for("views.publish", count=n)
    with Session(app.engine) as session:
        prefs = session.exec(select(AlertPrefs)).one()
        mutes = [m.subject for m in session.exec(select(AlertMute))]
        deal = session.exec(select(Deal)).one()
    assert (prefs.batch, prefs.quiet_start, prefs.quiet_end) == ("daily", "20:00", "08:00")
    assert mutes == [f"d{deal.id}"]  # a forged or foreign deal is not muted
    home = app.slack.calls_to("views.publish")[-1].args["view"]
    batch = next(
        b for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "alert.batch"
    )
    assert batch["accessory"]["initial_option"]["value"] == "daily"


def test_the_cards_menu_mutes_the_deal_for_whoever_clicks(app):
    say(app, "/deal", "new Acme amount:1000")
    card = app.slack.wait_for("chat.postMessage")[0].args
    menu = next(
        e
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "overflow"
    )
    mute, unmute = menu["options"]

    def pick(option) -> str:
        """The menu's choice, and what the person is told (by the click's response_url)."""
        click = {"action_id": menu["action_id"], "type": "overflow", "selected_option": option}
        target = f"pick-{time.monotonic_ns()}"
        response_url = app.slack.response_url(target)
        assert app.action([click], user="U2", response_url=response_url)[0] == 200
        return app.slack.wait_for_answer(target, trigger_id="", timeout=15).args["text"]

    def muted() -> list[tuple[str, str]]:
        with Session(app.engine) as session:
            rows = session.exec(select(AlertMute)).all()
            return [(m.subject, m.member_id) for m in rows]

    told = pick(mute)
    assert told.startswith(by_locale(app, "D1 알림을 껐습니다.", "Muted D1 for you:"))
    assert [subject for subject, _ in muted()] == ["d1"]
    pick(unmute)
    assert muted() == []
    told = pick({"value": "mute:D999"})  # a deal that is not there changes nothing
    assert "D999" in told
    assert muted() == []


HOSTILE = [
    {
        "action_id": "alert.mute_deal",
        "type": "overflow",
        "selected_option": {"value": "mute:D9" + "9" * 20},
    },
    {"action_id": "alert.mute_deal", "type": "overflow", "selected_option": {"value": "frob:D1"}},
    {"action_id": "alert.mute_deal", "type": "overflow"},
    {"action_id": "alert.batch", "type": "static_select", "selected_option": {"value": "weekly"}},
    {"action_id": "alert.quiet", "type": "static_select", "selected_option": {"value": "25:00-x"}},
    {"action_id": "alert.quiet", "type": "static_select", "selected_option": {"value": 7}},
    {"action_id": "alert.mute_pipelines", "type": "multi_static_select", "selected_options": "p1"},
    {
        "action_id": "alert.mute_pipelines",
        "type": "multi_static_select",
        "selected_options": [{"value": "p" + "9" * 40}, {"value": None}, "p1"],
    },
]


EXPLAINED = 5  # the first ones are answered ("not found", "not a batching choice"…)


@pytest.mark.parametrize("n", range(len(HOSTILE)), ids=lambda n: HOSTILE[n]["action_id"])
def test_forged_alert_choices_change_nothing_and_leave_no_traceback(app, n, caplog):
    say(app, "/deal", "new Acme amount:1000")
    app.settle()
    caplog.clear()
    before = len(app.slack.calls)
    assert app.action([HOSTILE[n]], user="U2")[0] == 200
    if n < EXPLAINED:  # told, before the test ends (no answer still on its way after it)
        wait(
            lambda: [
                c
                for c in app.slack.calls[before:]
                if c.method in ("response_url", "chat.postEphemeral", "chat.postMessage")
            ],
            what="the answer",
        )
    time.sleep(0.3)  # a listener that was going to fail has failed by now
    failures = [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= 40]
    assert failures == []
    with Session(app.engine) as session:
        assert session.exec(select(AlertMute)).all() == []
        prefs = session.exec(select(AlertPrefs)).all()
        assert all((p.batch, p.quiet_start) == ("off", None) for p in prefs)
