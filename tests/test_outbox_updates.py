"""A message that changes (an import's progress): posted once, updated in order, and an
update with a newer one behind it costs no Slack call — the last news is what stays."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.sender import SlackSender
from scheduler.drain import drain
from storage import outbox
from storage.db import session_scope
from storage.types import utcnow
from tests import factories as f
from tests.fakeslack import FakeSlack


def record(session, ws, period: str, text: str) -> None:
    payload: dict = {"message": {"text": text, "blocks": []}}
    if period == "post":
        payload |= {"kind": "dm", "to": {"dm": "U1"}}
    else:
        first = outbox.outbox_key(job="import", workspace_id=ws.id, target="run1", period="post")
        payload |= {"kind": "update", "update_of": first}
    outbox.enqueue(
        session, workspace_id=ws.id, job="import", target="run1", period=period, payload=payload
    )


def test_updates_wait_for_the_post_and_only_the_newest_is_sent(engine):
    with session_scope(engine) as session:
        ws = f.workspace(session)
        for period, text in (("post", "0 of 3"), ("a.1", "1 of 3"), ("a.2", "2 of 3")):
            record(session, ws, period, text)
    with session_scope(engine) as session:  # the post is not out: no update is handed out
        claimed = outbox.claim_pending(session, now=utcnow(), limit=10)
        assert [c.period for c in claimed] == ["post"]
        outbox.postpone(session, claimed[0].id, until=utcnow(), reason="test")
    with FakeSlack(team_id="T1") as slack:
        sender = SlackSender(WebClient(token="xoxb-test", base_url=slack.url), pace=0)
        with session_scope(engine) as session:
            record(session, ws, "done", "3 of 3: done")
        report = drain(engine, sender)
        assert report.sent == 4 and report.failed == 0
        assert [c.args["text"] for c in slack.calls_to("chat.update")] == ["3 of 3: done"]
        assert [m["text"] for m in slack.messages("DU1")] == ["3 of 3: done"]
        with session_scope(engine) as session:  # a resumed run's updates: the newer one only
            record(session, ws, "b.1", "resumed: 1 of 3")
            record(session, ws, "b.2", "resumed: 2 of 3")
        drain(engine, sender)
        assert [c.args["text"] for c in slack.calls_to("chat.update")] == [
            "3 of 3: done",
            "resumed: 2 of 3",
        ]
        assert len(slack.messages("DU1")) == 1
