"""Tasks end to end: signed slash commands and clicks into the running app, reminders by
``salesbot jobs run task-reminders --at …`` in a real process, Web API calls to the local
fake Slack, a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).

A rep writes ``/task new``; at the due time the owner gets one DM, however often the job
runs; a task marked done never reminds; a snoozed one reminds again at its new time; and
input Salesbot cannot use is explained in the rep's language with nothing written."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from domain.clock import FixedClock
from storage.models import Deal, Task
from tests import factories as f
from tests import slackreq
from tests.processes import run_cli
from tests.slackapp import SECRET, TEAM, quiet_automation, running_app, wait

TUESDAY_10 = "2026-11-03T10:00+09:00"  # "tomorrow 10:00" for a command run at f.T0 (Mon 09:30)


@pytest.fixture
def app(db_url):
    with running_app(db_url, clock=FixedClock(f.T0)) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}  # the fake's people are Korean
        quiet_automation(harness)  # no playbook tasks on the deals made here (cadences branch)
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


def reminders(app, user="U1") -> list:
    """The task reminders DMed to ``user`` (the morning "today" DM is not one)."""
    return [
        c
        for c in app.slack.calls_to("chat.postMessage")
        if c.args["channel"] == f"D{user}" and c.args.get("text", "").startswith("Task due")
    ]


def run_reminders(app, at: str):
    db_url = app.engine.url.render_as_string(hide_password=False)
    done = run_cli(db_url, app.slack, "jobs", "run", "task-reminders", "--team", "T1", "--at", at)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def tasks_in_db(app) -> int:
    with Session(app.engine) as session:
        return session.exec(select(func.count()).select_from(Task)).one()


def task_status(app, number: int = 1) -> str:
    with Session(app.engine) as session:
        return session.exec(select(Task.status).where(Task.number == number)).one()


def card_link(app) -> str | None:
    with Session(app.engine) as session:
        return session.exec(select(Deal.thread_permalink)).one()


def section_texts(blocks) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def button_labels(blocks) -> list[str]:
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_a_new_task_on_a_deal_is_told_in_its_thread_and_reminds_its_owner_once(app):
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    card = app.slack.wait_for("chat.postMessage")[0]
    wait(lambda: card_link(app), what="the card's permalink")
    status, reply = app.command("/task", 'new "Call the CFO" deal:D1 due:tomorrow 10:00')
    assert status == 200 and reply["response_type"] == "ephemeral"
    line = "*T1* 📞 Call the CFO · Tue, Nov 3, 10:00 AM · D1 Acme ERP · <@U1>"
    assert section_texts(reply["blocks"]) == ["Added task T1.", line]
    assert button_labels(reply["blocks"]) == ["Done", "Snooze 1d", "Snooze 1w", "Open deal"]
    told = wait(
        lambda: [
            c
            for c in app.slack.calls_to("chat.postMessage")
            if c.args.get("thread_ts") == card.response["ts"]
        ]
    )
    assert told[0].args["text"] == f"📌 <@U1> added a task: {line}"
    status, shown = app.command("/deal", "show D1")
    assert "*Open tasks* (1)\n" + line in section_texts(shown["blocks"])

    run_reminders(app, "2026-11-03T09:59+09:00")
    assert reminders(app) == [], "not before its due time"
    run_reminders(app, TUESDAY_10)
    run_reminders(app, "2026-11-03T10:15+09:00")
    run_reminders(app, "2026-11-03T13:00+09:00")
    (reminder,) = reminders(app)
    assert reminder.args["text"] == "Task due: T1 Call the CFO"
    blocks = reminder.args["blocks"]
    assert section_texts(blocks)[1] == line
    assert button_labels(blocks) == ["Done", "Snooze 1d", "Snooze 1w", "Open deal"]


def test_a_task_marked_done_never_reminds(app):
    status, reply = app.command("/task", 'new "Send the deck" due:tomorrow 10:00')
    done = next(e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert done["value"] == "/task done T1"
    status, _ = app.action([done], channel="C1")
    assert status == 200
    wait(lambda: task_status(app) == "done", what="the click to mark it done")
    run_reminders(app, TUESDAY_10)
    run_reminders(app, "2026-11-04T10:00+09:00")
    assert reminders(app) == []


def test_a_snoozed_task_reminds_again_at_its_new_time(app):
    app.command("/task", 'new "Call back Kim" due:tomorrow 10:00')
    run_reminders(app, TUESDAY_10)
    assert len(reminders(app)) == 1
    status, reply = app.command("/task", "snooze T1 +1d")
    assert section_texts(reply["blocks"])[0] == "⏰ T1 moved to Wed, Nov 4, 10:00 AM."
    run_reminders(app, "2026-11-03T23:00+09:00")
    assert len(reminders(app)) == 1, "not before the new due time"
    run_reminders(app, "2026-11-04T10:00+09:00")
    run_reminders(app, "2026-11-04T10:15+09:00")
    assert len(reminders(app)) == 2


BAD_INPUT = {
    "en": [
        (
            'new "Call" deal:D99 due:tomorrow 10:00',
            "There is no deal D99 in this workspace. Try `/deal find <words>` or `/deal list`.",
        ),
        (
            'new "Call" due:2026-11-01 10:00',
            "That due time has already passed. Pick a time in the future.\n"
            'Write it like: `/task new "Call the CFO" deal:D42 due:tomorrow 10:00 owner:@lee '
            "kind:call` (or `lead:L7`) — add a task",
        ),
        (
            'new "Call" owner:@nobody due:tomorrow 10:00',
            "I can't find @nobody in this workspace. Type @ in Slack and pick them from the list.",
        ),
    ],
    "ko": [
        (
            'new "통화" deal:D99 due:내일 오전 10시',
            None,
        ),
        (
            'new "통화" due:2026-11-01 10:00',
            "이미 지난 시각입니다. 앞으로의 시각을 골라 주세요.",
        ),
        (
            'new "통화" owner:@nobody due:내일 오전 10시',
            None,
        ),
    ],
}


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_bad_input_is_explained_in_the_users_language_and_changes_nothing(db_url, locale):
    with running_app(db_url, clock=FixedClock(f.T0), locale=locale, stage_names="en") as app:
        app.slack.users["U1"] = {"locale": "en-US" if locale == "en" else "ko-KR"}
        for text, expected in BAD_INPUT[locale]:
            status, reply = app.command("/task", text)
            assert status == 200 and reply["response_type"] == "ephemeral"
            if expected is not None:
                assert reply["text"].startswith(expected), reply["text"]
            assert "Traceback" not in reply["text"]
            if locale == "ko":
                assert any("가" <= ch <= "힣" for ch in reply["text"]), reply["text"]
        assert tasks_in_db(app) == 0
        assert app.slack.calls_to("chat.postMessage") == []


# --- the thread is the workplace: @Salesbot in a deal's thread -----------------------------


def mention(app, text: str, *, event_id: str, thread_ts: str | None, retry_num=None, user="U1"):
    event = {
        "type": "app_mention",
        "user": user,
        "channel": "CDEALS",
        "ts": f"1796000000.{abs(hash(event_id)) % 1000000:06d}",
        "text": f"<@UBOT> {text}",
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    status, _ = app.event(event, event_id=event_id, retry_num=retry_num)
    assert status == 200


def in_thread(app, ts: str) -> list[str]:
    return [
        c.args["text"]
        for c in app.slack.calls_to("chat.postMessage")
        if c.args.get("thread_ts") == ts
    ]


def ephemerals(app) -> list[str]:
    return [c.args["text"] for c in app.slack.calls_to("chat.postEphemeral")]


def test_a_mention_in_a_deals_thread_acts_on_that_deal_once_however_often_slack_retries(app):
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    card = app.slack.wait_for("chat.postMessage")[0]
    ts = card.response["ts"]
    wait(lambda: card_link(app), what="the card's permalink")

    mention(app, "task 내일 10시 CFO 콜", event_id="EvTask", thread_ts=ts)
    mention(app, "task 내일 10시 CFO 콜", event_id="EvTask", thread_ts=ts, retry_num=1)
    line = "*T1* 📞 CFO 콜 · Tue, Nov 3, 10:00 AM · D1 Acme ERP · <@U1>"
    wait(lambda: f"📌 <@U1> added a task: {line}" in in_thread(app, ts), what="the task")
    assert tasks_in_db(app) == 1

    mention(app, "remind <@U2> in 3 days to send the quote", event_id="EvRemind", thread_ts=ts)
    wait(lambda: tasks_in_db(app) == 2, what="the reminder task")
    with Session(app.engine) as session:
        task = session.exec(select(Task).where(Task.number == 2)).one()
        assert (task.text, task.due_at.isoformat()) == (
            "send the quote",
            "2026-11-05T00:30:00+00:00",
        )

    mention(app, "move Proposal", event_id="EvMove", thread_ts=ts)
    wait(lambda: any("Proposal" in t for t in in_thread(app, ts)), what="the move")

    mention(app, "hello there", event_id="EvHello", thread_ts=ts)
    (said,) = wait(lambda: ephemerals(app), what="the ephemeral answer")
    assert said.startswith("I did not understand `hello there`.")
    mention(app, "won", event_id="EvOutside", thread_ts=None)
    wait(lambda: len(ephemerals(app)) == 2, what="the second ephemeral")
    assert ephemerals(app)[1] == (
        "Mention me in a deal's thread to act on that deal, or use `/deal` and `/task`."
    )
    with Session(app.engine) as session:
        assert session.exec(select(Deal.closed_at)).one() is None, "nothing was won outside"
    assert tasks_in_db(app) == 2


# --- App Home: my tasks, with Done and Snooze ----------------------------------------------


def test_app_home_lists_my_tasks_and_done_there_takes_it_off(app):
    app.command("/task", 'new "Call the CFO" due:tomorrow 10:00')
    app.command("/task", 'new "Send the deck" due:+3d')
    status, _ = app.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_id="EvH")
    published = app.slack.wait_for("views.publish")[0].args["view"]
    texts = section_texts(published["blocks"])
    assert "*My tasks* (2)" in texts
    assert "*T1* 📞 Call the CFO · Tue, Nov 3, 10:00 AM · <@U1>" in texts
    assert "*T2* ☑️ Send the deck · Thu, Nov 5, 9:30 AM · <@U1>" in texts
    (row,) = [blk for blk in published["blocks"] if blk.get("block_id") == "task:T1"]
    body, headers = slackreq.block_actions(
        [{**row["elements"][0], "block_id": "task:T1"}],
        team_id=TEAM,
        user_id="U1",
        view={**published, "id": "VHOME"},
        secret=SECRET,
    )
    status, _ = slackreq.post(app.url + "/slack/events", body, headers)
    assert status == 200
    again = app.slack.wait_for("views.publish", count=2)[1].args["view"]
    texts = section_texts(again["blocks"])
    assert "*My tasks* (1)" in texts
    assert not any("Call the CFO" in text for text in texts)
    assert task_status(app, 1) == "done"


def test_add_task_on_the_card_opens_the_modal_for_that_deal_and_a_past_due_stays_on_the_field(app):
    from tests.slackapp import filled
    from tests.test_slack_e2e import _buttons

    app.command("/deal", 'new "Acme ERP" amount:1000000')
    card = app.slack.wait_for("chat.postMessage")[0]
    add = next(b for b in _buttons(card.args["blocks"]) if b["action_id"] == "task.add")
    status, _ = app.action([{**add, "block_id": "deal:1", "action_ts": "1.3"}])
    assert status == 200
    view = app.slack.wait_for("views.open")[0].args["view"]
    assert view["callback_id"] == "task_new"
    deal_field = next(b for b in view["blocks"] if b.get("block_id") == "deal")
    assert deal_field["element"]["initial_value"] == "D1"

    answers = {"text": "Send the quote", "due": "2026-11-01 10:00", "deal": "D1"}
    status, answer = app.submit(filled(view, answers))
    assert status == 200 and answer["response_action"] == "errors"
    assert answer["errors"] == {
        "due": "That due time has already passed. Pick a time in the future."
    }
    assert tasks_in_db(app) == 0

    status, answer = app.submit(filled(view, {**answers, "due": "friday 4pm"}))
    assert status == 200 and not answer
    wait(lambda: tasks_in_db(app) == 1, what="the task")
    with Session(app.engine) as session:
        task = session.exec(select(Task)).one()
        assert (task.text, task.kind, task.due_at.isoformat()) == (
            "Send the quote",
            "todo",
            "2026-11-06T07:00:00+00:00",
        )


def test_a_mention_in_a_korean_workspace_answers_in_korean_and_knows_korean_stage_names(db_url):
    with running_app(db_url, clock=FixedClock(f.T0), locale="ko") as app:
        quiet_automation(app)
        app.command("/deal", 'new "한빛소프트 ERP" amount:759만')
        card = app.slack.wait_for("chat.postMessage")[0]
        ts = card.response["ts"]
        wait(lambda: card_link(app), what="the card's permalink")

        mention(app, "task 내일 오전 10시 CFO 콜", event_id="EvKoTask", thread_ts=ts)
        wait(
            lambda: any(
                t.startswith("📌 <@U1>님이 할 일을 추가했습니다: *T1*") for t in in_thread(app, ts)
            ),
            what="the task, announced in Korean",
        )
        assert tasks_in_db(app) == 1

        mention(app, "이동 제안으로", event_id="EvKoMove", thread_ts=ts)
        wait(
            lambda: any("컨택 단계에서 제안 단계로 옮겼습니다" in t for t in in_thread(app, ts)),
            what="the move by its Korean stage name, particle and all",
        )

        mention(app, "안녕하세요 반가워요", event_id="EvKoHello", thread_ts=ts)
        (said,) = wait(lambda: ephemerals(app), what="the ephemeral answer")
        assert said.startswith("이해하지 못했습니다: `안녕하세요 반가워요`."), said
        assert tasks_in_db(app) == 1, "a mention it did not understand changes nothing"
