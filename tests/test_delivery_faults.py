"""Nothing lost, nothing twice: the one delivery path under faults from outside.

Every test sends signed requests into the running app (a thread of this process, or
``salesbot serve`` as a real process that is killed with SIGKILL) and reads what reached the
Slack stand-in, which fails on cue: slow answers, an outage of 500s, an unreachable
response_url. What a team would notice is asserted: each change of a deal is told in its
thread exactly once, in order, under the one card the deal has.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import Session, select

from storage.db import make_engine
from storage.models import Deal, Outbox
from tests.fakeslack import FakeSlack
from tests.processes import harness, serving
from tests.slackapp import running_app, wait

CHANNEL = "CDEALS"


def rows(engine) -> list[Outbox]:
    with Session(engine) as session:
        return list(session.exec(select(Outbox).order_by(Outbox.id)))


def all_sent(engine) -> bool:
    found = rows(engine)
    return bool(found) and all(r.status == "sent" for r in found)


def deal(engine, number: int) -> Deal:
    with Session(engine) as session:
        return session.exec(select(Deal).where(Deal.number == number)).one()


def cards(slack) -> list[dict]:
    """Top-level messages of the deals channel: the cards."""
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]


def thread(slack, ts: str) -> list[str]:
    """The replies in a card's thread, oldest first, as text."""
    return [
        m["text"] for m in slack.messages(CHANNEL) if m.get("thread_ts") == ts and m["ts"] != ts
    ]


def card_text(slack, ts: str) -> str:
    card = next(m for m in slack.messages(CHANNEL) if m["ts"] == ts)
    return str(card.get("blocks"))


def new_deal(app, title: str, number: int):
    status, reply = app.command("/deal", f'new "{title}" amount:7590000')
    assert status == 200 and f"D{number}" in reply["text"], reply
    return wait(lambda: deal(app.engine, number).thread_ts, what=f"D{number}'s card")


@pytest.mark.parametrize("lost", ["after Slack took it", "on the way to Slack"])
def test_a_kill_9_between_the_ack_and_the_thread_reply_loses_nothing_and_posts_it_once(
    db_url, tmp_path, lost
):
    engine = make_engine(db_url)
    with FakeSlack(team_id="T1") as slack:
        with serving(db_url, slack, tmp_path, name="first") as first:
            app = harness(first, slack, engine)
            card = new_deal(app, "Acme ERP", 1)
            slack.slow_next("chat.postMessage", 30, drop=lost != "after Slack took it")
            status, reply = app.command("/deal", "move 1 Qualification")
            assert status == 200 and "Qualification" in reply["text"]
            wait(lambda: slack.in_flight("chat.postMessage"), what="the thread reply in flight")
            first.kill()  # between Slack taking the post (or not) and the app hearing back
        leased = [r for r in rows(engine) if r.status == "sending"]
        assert len(leased) == 1, "the one post in flight; nothing else was lost or sent"
        with serving(db_url, slack, tmp_path, name="second"):
            wait(lambda: all_sent(engine), what="the restarted app to send what was left")
        replies = [t for t in thread(slack, card) if "Qualification" in t]
        assert len(replies) == 1, thread(slack, card)
        assert "Qualification" in card_text(slack, card), "the card shows the move"
        assert len(cards(slack)) == 1
        assert slack.problems == []
    engine.dispose()


def test_an_outage_of_500s_then_recovery_delivers_every_post_once_and_in_order(db_url):
    # Slack's 30 s outage with the 5 s backoff base, scaled down: 6 s with a 1 s base.
    with running_app(db_url, outbox={"outbox_backoff": 1.0}) as app:
        one, two = new_deal(app, "Acme ERP", 1), new_deal(app, "Beta CRM", 2)
        app.slack.fail_for(("chat.postMessage", "chat.update"), 6.0)
        for text in (
            "move 1 Qualification",
            "move 2 Qualification",
            "move 1 Meeting",
            "note 2 Called the CFO",
            "move 1 Proposal",
            "move 2 Meeting",
        ):
            status, reply = app.command("/deal", text)
            assert status == 200 and reply["response_type"] == "ephemeral", reply
        time.sleep(1.0)
        assert thread(app.slack, one) == [], "nothing went through during the outage"
        wait(lambda: all_sent(app.engine), timeout=30, what="the posts after the outage")
        first = thread(app.slack, one)
        assert len(first) == 3
        assert ["Qualification" in first[0], "Meeting" in first[1], "Proposal" in first[2]] == [
            True
        ] * 3, first
        second = thread(app.slack, two)
        assert len(second) == 3
        assert "Qualification" in second[0] and "Called the CFO" in second[1]
        assert "Meeting" in second[2]
        assert "Proposal" in card_text(app.slack, one)
        assert len(cards(app.slack)) == 2
        refused = app.slack.calls_to("chat.update", ok_only=False)
        assert any(c.status == 500 for c in refused), "the outage was real"
        assert app.slack.problems == []


def test_two_replicas_on_one_database_tell_every_change_once(db_url):
    with (
        FakeSlack(team_id="T1") as slack,
        running_app(db_url, slack=slack) as a,
        running_app(db_url, slack=slack) as b,
    ):
        homes = [new_deal(a, f"Deal {n}", n) for n in (1, 2, 3)]
        stages = ("Qualification", "Meeting", "Proposal", "Negotiation")
        errors = []

        def mover(app, number):
            for stage in stages:
                status, reply = app.command("/deal", f"move {number} {stage}")
                if status != 200 or stage not in reply.get("text", ""):
                    errors.append(reply)

        threads = [threading.Thread(target=mover, args=(a if n % 2 else b, n)) for n in (1, 2, 3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        wait(lambda: all_sent(a.engine), timeout=30, what="both replicas to drain")
        for home in homes:
            told = thread(slack, home)
            assert len(told) == len(stages), told
            assert all(stage in line for stage, line in zip(stages, told, strict=True))
        assert len(cards(slack)) == 3
        assert slack.problems == []


def test_a_move_while_the_card_is_being_posted_updates_that_card_instead_of_posting_another(
    db_url,
):
    with (
        FakeSlack(team_id="T1") as slack,
        running_app(db_url, slack=slack) as a,
        running_app(db_url, slack=slack) as b,
    ):
        slack.slow_next("chat.postMessage", 2.0)  # the card is in; Slack's answer is late
        status, _ = a.command("/deal", 'new "Acme ERP" amount:7590000')
        assert status == 200
        wait(lambda: cards(slack), what="the card in the channel")
        assert deal(a.engine, 1).thread_ts is None, "the app has not heard back yet"
        status, reply = b.command("/deal", "move 1 Qualification")  # the other replica
        assert status == 200 and "Qualification" in reply["text"]
        wait(lambda: all_sent(a.engine), what="the card, its update and the reply")
        (card,) = cards(slack)
        assert deal(a.engine, 1).thread_ts == card["ts"]
        assert "Qualification" in card_text(slack, card["ts"])
        assert len(thread(slack, card["ts"])) == 1


def test_a_button_whose_response_url_is_unreachable_still_tells_the_thread(db_url):
    with running_app(db_url) as app:
        home = new_deal(app, "Acme ERP", 1)
        updates = len(app.slack.calls_to("chat.update"))
        status, _ = app.action(
            [{"type": "button", "action_id": "deal.won", "value": "D1"}],
            message={"ts": home, "text": "card"},
            response_url="http://127.0.0.1:9/unreachable",
        )
        assert status == 200
        wait(lambda: deal(app.engine, 1).closed_at, what="the deal to be won")
        wait(lambda: all_sent(app.engine), what="the card update and thread reply")
        assert len(app.slack.calls_to("chat.update")) == updates + 1
        assert len(thread(app.slack, home)) == 1
        told = app.slack.wait_for("chat.postEphemeral")  # the answer found another way
        assert told[0].args["user"] == "U1"


def test_one_500_on_a_thread_reply_is_retried_and_the_reply_arrives_once(db_url):
    with running_app(db_url) as app:
        home = new_deal(app, "Acme ERP", 1)
        app.slack.fail_next("chat.postMessage", status=500)
        status, _ = app.command("/deal", "note 1 Called the CFO, they want a pilot first")
        assert status == 200
        wait(lambda: all_sent(app.engine), what="the retried reply")
        assert thread(app.slack, home) == [
            t for t in thread(app.slack, home) if "Called the CFO" in t
        ]
        assert len(thread(app.slack, home)) == 1


def test_a_converted_lead_gets_its_card_after_slack_refused_it_twice(db_url):
    with running_app(db_url) as app:
        app.command("/lead", 'new "Kim Minsu" company:Acme')
        app.slack.fail_next("chat.postMessage", status=500, times=2)
        status, reply = app.command("/lead", "convert L1 amount:7590000")
        assert status == 200 and "D1" in reply["text"]
        home = wait(lambda: deal(app.engine, 1).thread_ts, what="the card after two 500s")
        assert len(cards(app.slack)) == 1 and cards(app.slack)[0]["ts"] == home


def test_a_kill_9_during_jobs_run_leaves_one_post_in_flight_and_the_rest_for_the_next_run(
    db_url, tmp_path
):
    """Leases are taken one post at a time on the real clock: a run killed mid-send holds
    one post, the next run sends the others at once, and the held one after its lease —
    found in Slack's history rather than posted again."""
    from storage.db import session_scope
    from storage.models import Role
    from tests import factories as f
    from tests.processes import run_cli, start_cli

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        ws = f.workspace(s, digest_channel="CDIGEST", deals_channel="CDEALS")
        for user, role in (("UADMIN", Role.admin), ("UMGR", Role.manager), ("UMGR2", Role.manager)):
            f.member(s, ws, user, role)
        rep = f.member(s, ws, "UREP", Role.rep)
        f.deal(s, ws, rep, title="Stale ERP", amount="1000000", now=f.T0)
    at = ("--team", "T1", "--at", "2026-11-22T09:30+09:00")
    with FakeSlack(team_id="T1") as slack:
        slack.slow_next("chat.postMessage", 30)  # the first post lands; the answer never does
        # A lease long enough that a loaded machine starting the second run cannot outlive it.
        lease = {"SALESBOT_OUTBOX_LEASE": "10"}
        first = start_cli(db_url, slack, tmp_path, "jobs", "run", "stall-digest", *at, **lease)
        wait(lambda: slack.in_flight("chat.postMessage"), what="the first post in flight")
        leased_by = time.monotonic()  # the post is in Slack's hands: its lease was taken before
        first.kill()
        statuses = sorted(r.status for r in rows(engine))
        assert statuses == ["pending", "pending", "pending", "sending"], statuses
        again = run_cli(db_url, slack, "jobs", "run", "stall-digest", *at, **lease)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "4 already recorded" in again.stdout and "sent 3" in again.stdout, again.stdout
        assert "1 in flight" in again.stdout
        # the killed run's lease runs out (it was taken before leased_by; the child's start-up
        # before its claim may take seconds on a loaded machine, so not from its start)
        time.sleep(max(0.0, leased_by + 10.5 - time.monotonic()))
        last = run_cli(db_url, slack, "jobs", "run", "stall-digest", *at, **lease)
        assert "1 found already in Slack" in last.stdout, last.stdout
        assert all_sent(engine)
        posted = slack.calls_to("chat.postMessage")
        assert sorted(c.args["channel"] for c in posted) == [
            "CDIGEST",
            "DUADMIN",
            "DUMGR",
            "DUMGR2",
        ], "each once"
    engine.dispose()


def test_a_500_from_slack_when_a_modal_opens_is_retried_and_the_modal_opens(db_url):
    with running_app(db_url) as app:
        app.slack.fail_next("views.open", status=500)
        status, _ = app.command("/deal", "new")
        assert status == 200
        (opened,) = app.slack.wait_for("views.open")
        assert opened.args["view"]["callback_id"] == "deal_new"
        failed = [c for c in app.slack.calls_to("views.open", ok_only=False) if c.status == 500]
        assert len(failed) == 1
