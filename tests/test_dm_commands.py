"""Direct messages: the Messages tab is a command line without the slash (`deal list mine`,
`딜 목록`); anything else gets the help. End to end: signed Events API deliveries into the
running app, the answer posted in the DM through the outbox, once however often Slack
retries; the bot's own messages and message subtypes are left alone."""

from __future__ import annotations

import time

import pytest

from tests.slackapp import running_app, wait

DM = "D0U1"  # the person's DM with Salesbot


@pytest.fixture
def app(db_url):
    with running_app(db_url) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


def dm(text: str, *, user: str = "U1", **extra) -> dict:
    return {
        "type": "message",
        "channel": DM,
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
        "event_ts": f"{time.time():.6f}",
        **extra,
    }


def answers(app, user: str = "U1") -> list[str]:
    """The texts Salesbot posted in ``user``'s DM, in order."""
    opened = {
        c.response["channel"]["id"]
        for c in app.slack.calls_to("conversations.open")
        if c.args.get("users") == user
    }
    return [
        c.args.get("text", "")
        for c in app.slack.calls_to("chat.postMessage")
        if c.args.get("channel") in opened
    ]


def test_a_dm_is_a_command_without_the_slash_answered_once_despite_retries(app):
    app.command("/deal", 'new "Acme ERP" amount:1000000')
    app.command("/deal", 'new "Acme CRM" amount:2000000')
    assert app.event(dm("deal list mine"), event_id="EvDM1")[0] == 200
    assert app.event(dm("deal list mine"), event_id="EvDM1", retry_num=1)[0] == 200
    assert app.event(dm("deal list mine"), event_id="EvDM1", retry_num=2)[0] == 200
    wait(lambda: answers(app))
    app.settle()
    time.sleep(0.3)  # a retry, if it were answered, would have landed by now
    said = answers(app)
    assert len(said) == 1
    assert said[0].splitlines()[0] == "*<@U1>*: 2 deals, ₩3,000,000"


def test_korean_words_and_a_leading_slash_work_too(app):
    app.command("/deal", 'new "Acme ERP" amount:1000000')
    app.event(dm("/deal move 1 Qualification"), event_id="EvDM2")
    wait(lambda: answers(app))
    app.event(dm("딜 보기 1"), event_id="EvDM3")
    wait(lambda: len(answers(app)) >= 2)
    said = answers(app)
    assert said[0] == "<@U1> moved D1 from Contact to Qualification."
    assert "D1" in said[1] and "Qualification" in said[1]


def test_anything_else_gets_the_help_in_the_users_language(app):
    app.slack.users["U3"] = {"locale": "ko-KR"}
    app.event(dm("hello?"), event_id="EvDM4")
    app.event(dm("안녕하세요", user="U3"), event_id="EvDM5")
    wait(lambda: answers(app) and answers(app, "U3"))
    assert answers(app)[0].startswith("Write to me as you would type a command, without the slash:")
    assert answers(app, "U3")[0].startswith("슬래시 없이 명령어를 그대로 보내 주세요:")


def test_a_mistake_is_explained_in_the_dm_and_changes_nothing(app):
    app.event(dm("deal move 999 Nowhere"), event_id="EvDM6")
    wait(lambda: answers(app))
    assert answers(app)[0].startswith("There is no deal D999")


def test_a_form_cannot_open_from_a_dm_so_the_reply_says_how_to_write_it(app):
    app.event(dm("deal new"), event_id="EvDM7")
    wait(lambda: answers(app))
    assert answers(app)[0].startswith(
        "A form cannot open from a direct message. Give the details instead: `/deal new "
    )


def test_the_bots_own_messages_edits_and_thread_replies_are_left_alone(app):
    for n, event in enumerate(
        [
            dm("deal list", bot_id="B1"),
            dm("deal list", subtype="message_changed"),
            dm("deal list", subtype="bot_message"),
            dm("deal list", thread_ts="1700000000.000100"),
            {**dm("deal list"), "channel_type": "channel", "channel": "C1"},
        ]
    ):
        assert app.event(event, event_id=f"EvIgnored{n}")[0] == 200
    app.event(dm("deal list"), event_id="EvLast")  # a real one, to know the others are done
    wait(lambda: answers(app))
    app.settle()
    assert len(answers(app)) == 1
