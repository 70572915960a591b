"""A read-only command acks within its budget however long its read takes (Slack waits 3 s).

Reads run in the listener's thread, a watch acking "crunching" for any still running at the
budget (bot.budget); past ``Deps.inline_reads`` of them at once, in the readers' pool with
the listener waiting for the budget. Either way the answer follows by the response_url.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.budget import AckWatch
from i18n import t
from storage.models import Deal
from tests.fakeslack.server import FakeSlack
from tests.slackapp import TEAM, filled, running_app, wait


@pytest.fixture
def app(db_url):
    with running_app(db_url) as harness:
        yield harness


WORKING = {t("en", "reports.working"), t("ko", "reports.working")}  # "crunching", not the page


def answers_by_response_url(app, text: str) -> list:
    return [c for c in app.slack.calls if c.method == "response_url" and text in str(c.args)]


def test_the_watch_acks_work_still_running_at_its_budget_and_no_other():
    watch, acked = AckWatch(), []

    def ack(name):
        return lambda: acked.append((name, threading.current_thread().name))

    with watch.watch(0.05, ack("slow")):
        time.sleep(0.4)
        assert acked == [("slow", "salesbot-ack-watch")], "acked while the work still ran"
    with watch.watch(0.2, ack("quick")):
        pass
    time.sleep(0.4)
    assert acked == [("slow", "salesbot-ack-watch")], "work done in time is never acked"


class _CountedCondition(threading.Condition):
    def __init__(self) -> None:
        super().__init__(threading.Lock())
        self.waits = 0

    def wait(self, timeout=None):
        self.waits += 1
        return super().wait(timeout)


def test_work_done_in_time_costs_the_watch_no_wake_of_its_own():
    watch, acked = AckWatch(), []
    watch._changed = woken = _CountedCondition()
    for _ in range(60):  # commands answered well within their budget, 5 ms apart
        with watch.watch(0.2, lambda: acked.append("quick")):
            time.sleep(0.005)
    with watch.watch(0.05, lambda: acked.append("slow")):
        time.sleep(0.3)
        assert acked == ["slow"], "the slow one is acked, behind 60 done ones"
    assert woken.waits < 10, f"the watch woke {woken.waits} times for 61 commands"


@pytest.fixture
def pg_app(postgres_db):
    with running_app(postgres_db) as harness:
        yield harness


@pytest.mark.postgres_only  # a read that waits on a table lock: PostgreSQL's LOCK TABLE
def test_a_deal_page_held_up_by_the_database_acks_at_the_budget_and_follows(pg_app):
    app = pg_app
    status, _ = app.command("/deal", 'new "Acme ERP" amount:7590000')
    assert status == 200
    app.deps.ack_budget = 0.3
    with app.engine.connect() as lock:
        lock.execute(sa.text("LOCK TABLE deal IN ACCESS EXCLUSIVE MODE"))  # reads wait
        started = time.perf_counter()
        status, reply = app.command("/deal", "show 1", follow=False)
        acked_in = time.perf_counter() - started
        assert status == 200 and reply["text"] in WORKING
        assert 0.3 <= acked_in < 2.0, "acked at the budget, not when the read ended"
        time.sleep(0.3)
        assert not answers_by_response_url(app, "Acme ERP"), "the read is still waiting"
        lock.rollback()  # the database lets the read through
    page = wait(lambda: answers_by_response_url(app, "Acme ERP"))
    assert page[0].args["response_type"] == "ephemeral" and page[0].args.get("blocks")


def test_past_the_reads_run_in_place_a_report_goes_through_the_pool_and_still_acks(app):
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    app.deps.ack_budget = 0.0
    slots = [app.deps.inline_reads.acquire(blocking=False) for _ in range(8)]
    assert all(slots), "every in-place slot taken, as by eight slow reports"
    try:
        status, reply = app.command("/deal", "show 1", follow=False)
    finally:
        for _ in slots:
            app.deps.inline_reads.release()
    assert status == 200 and reply["text"] in WORKING
    page = wait(lambda: answers_by_response_url(app, "Acme ERP"))
    assert page[0].args.get("blocks")


SAVING = {t("en", "error.saving"), t("ko", "error.saving")}


def test_a_change_waiting_on_the_write_lock_acks_at_the_budget_and_is_made_once(app):
    """Another writer holds the deal (a row lock on PostgreSQL, the file's write lock on
    SQLite): Slack still gets its ack in time, and the change is told when it is made."""
    status, _ = app.command("/deal", 'new "Acme ERP" amount:7590000')
    assert status == 200
    app.deps.ack_budget = 0.3
    with app.engine.begin() as other:
        other.execute(sa.text("UPDATE deal SET title = title WHERE number = 1"))
        started = time.perf_counter()
        status, reply = app.command("/deal", "set 1 amount:8000000", follow=False)
        acked_in = time.perf_counter() - started
        assert status == 200 and reply["text"] in SAVING, reply
        assert 0.3 <= acked_in < 2.0, "acked at the budget, not when the change was made"
        time.sleep(0.3)
        assert not answers_by_response_url(app, "D1"), "the change is still waiting"
    told = wait(lambda: answers_by_response_url(app, "D1"))
    assert len(told) == 1 and told[0].args["response_type"] == "ephemeral"
    with Session(app.engine) as session:
        deal = session.exec(select(Deal).where(Deal.number == 1)).one()
    assert deal.amount == 8_000_000


def held_deal_modal(app) -> dict:
    app.command("/deal", "new")
    return app.slack.wait_for("views.open")[0].args["view"]


def dms(app) -> list[str]:
    return [
        c.args["text"]
        for c in app.slack.calls_to("chat.postMessage")
        if c.args["channel"] in ("U1", "DU1")
    ]


def test_a_new_deal_form_waiting_on_the_write_lock_closes_at_the_budget_and_is_made_once(app):
    view = held_deal_modal(app)
    app.deps.ack_budget = 0.3
    with app.engine.begin() as other:
        other.execute(sa.text("UPDATE workspace SET name = name"))  # holds what a create takes
        started = time.perf_counter()
        status, answer = app.submit(filled(view, {"title": "Acme ERP", "amount": "759만원"}))
        closed_in = time.perf_counter() - started
        assert status == 200 and not answer, "the modal closes: no errors, no timeout"
        assert 0.3 <= closed_in < 2.0, "closed at the budget, not when the deal was made"
    card = wait(lambda: [m for m in app.slack.messages("CDEALS") if "Acme ERP" in m["text"]])
    assert len(card) == 1
    with Session(app.engine) as session:
        assert len(session.exec(select(Deal)).all()) == 1


def test_a_form_error_found_after_the_modal_closed_comes_by_dm_and_changes_nothing(app):
    view = held_deal_modal(app)
    app.deps.ack_budget = 0.0  # as if the database had held the form past the budget
    status, answer = app.submit(filled(view, {"title": "Acme ERP", "amount": "abc"}))
    assert status == 200 and not answer, "the modal closed before the error was found"
    told = wait(lambda: [text for text in dms(app) if "abc" in text])
    late = {t(locale, "error.form_late", detail="").rstrip() for locale in ("en", "ko")}
    assert len(told) == 1 and any(told[0].startswith(prefix) for prefix in late), told
    with Session(app.engine) as session:
        assert session.exec(select(Deal)).all() == []


def test_a_form_answered_in_time_still_shows_its_error_on_the_field(app):
    view = held_deal_modal(app)
    status, answer = app.submit(filled(view, {"title": "Acme ERP", "amount": "abc"}))
    assert status == 200 and answer["response_action"] == "errors"
    assert "abc" in answer["errors"]["amount"]
    assert dms(app) == []


def test_past_the_budget_every_answer_follows_once_what_it_tells_is_made(app):
    """Each command acks at once ("saving", "crunching") and answers by its response_url;
    the answer comes after the change is committed, so the next command already sees it."""
    app.deps.ack_budget = 0.0
    status, ack = app.command("/deal", 'new "Acme ERP" amount:7590000', follow=False)
    assert status == 200 and ack["text"] in SAVING
    told = wait(lambda: answers_by_response_url(app, "D1"))
    assert len(told) == 1
    status, forecast = app.command("/pipeline", "forecast")  # the harness follows the answer
    assert status == 200 and forecast.get("blocks") and "759" in str(forecast)
    status, ack = app.command("/deal", "new")  # a modal: the ack, then the form opens
    assert status == 200 and ack["text"] in WORKING
    assert app.slack.wait_for("views.open")


def test_the_budget_counts_from_the_requests_arrival_not_from_the_listener(app):
    """Slack's 3 s run from when it sent the request: time spent before the command's own
    code (a loaded machine, a slow first request) comes out of the budget."""
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    app.deps.ack_budget = 0.5

    def slow_start(next):  # the app's own middleware has run; the listener has not
        time.sleep(0.7)
        next()

    app.bolt.use(slow_start)
    started = time.perf_counter()
    status, reply = app.command("/deal", "show 1", follow=False)
    acked_in = time.perf_counter() - started
    assert status == 200 and reply["text"] in WORKING, "the budget was spent before the read"
    assert acked_in < 1.2, "acked as the listener began, not half a second later"
    page = wait(lambda: answers_by_response_url(app, "Acme ERP"))
    assert page[0].args.get("blocks")


def test_an_app_stopping_still_sends_the_answer_of_a_change_it_acked(db_url):
    """A change acked "saving" (another writer holds the deal) when the process is told to
    stop: the stop waits for the change to be made and told (a replica restarting
    mid-conversation loses no reply)."""
    held, holder = threading.Event(), None
    with FakeSlack(team_id=TEAM) as fake:
        with running_app(db_url, slack=fake) as app:
            app.command("/deal", 'new "Acme ERP" amount:7590000')
            app.settle()  # the card is posted: the drainer has nothing to wait for
            app.deps.ack_budget = 0.3

            def hold_the_deal() -> None:
                with app.engine.begin() as other:
                    other.execute(sa.text("UPDATE deal SET title = title WHERE number = 1"))
                    held.set()
                    time.sleep(1.5)

            holder = threading.Thread(target=hold_the_deal)
            holder.start()
            held.wait()
            status, reply = app.command("/deal", "set 1 amount:8000000", follow=False)
            assert status == 200 and reply["text"] in SAVING, reply
            assert answers_by_response_url(app, "D1") == []
        told = answers_by_response_url(app, "D1")  # recorded before the app was closed
        holder.join()
    assert len(told) == 1 and told[0].args["response_type"] == "ephemeral"
