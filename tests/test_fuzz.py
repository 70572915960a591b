"""Fuzzing: whatever a person types or a stranger sends, the answer is kind.

Hypothesis draws the inputs (tests/fuzzing.py); the examples are derandomized, so CI runs the
same ones every time, and the count is bounded so the file runs in seconds per database.

* Slash-command texts, long and odd, for every sub-command, run against a real database: each
  is a normal outcome or a translated Salesbot error, never a database error.
* Signed requests into the running app (tests/slackapp.py): any headers and any body, any
  slash-command text, any ``event_callback`` event. Each gets the status that fits it (200,
  400, 401, 404 or 413) and none leaves a traceback in the log, also after the ack, when
  Bolt runs event listeners and the app posts in the background.
* Clicks and modal submits (:func:`tests.fuzzing.block_actions`,
  :func:`tests.fuzzing.view_submissions`): button values, block ids and private_metadata
  are parsed at the edge (bot/payloads.py), so none of them leaves a traceback either.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.context import Ctx
from commands.dispatch import execute
from domain import leads
from domain.clock import FixedClock
from domain.errors import SalesbotError
from domain.workspaces import WorkspaceDefaults, get_or_create_workspace
from i18n import catalog
from storage.db import session_scope
from storage.models import Member, Role, Workspace
from tests import slackreq
from tests.factories import T0, deal, member
from tests.fuzzing import (
    block_actions,
    envelope_probes,
    event_envelopes,
    post_raw,
    settle,
    slash_texts,
    view_submissions,
    watch_crashes,
)
from tests.slackapp import SECRET, TEAM, running_app

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _seed(engine) -> tuple[int, int]:
    """A workspace with an admin, a rep called kim, a deal (D1) and a lead (L1)."""
    with session_scope(engine) as session:
        ws = get_or_create_workspace(
            session=session, team_id="T1", defaults=WorkspaceDefaults(locale="en")
        )
        admin = member(session, ws, "U1", Role.admin, name="Lee")
        member(session, ws, "U2", name="kim")
        deal(session, ws, admin, company_name="Acme", contact_name="Kim Minsu")
        leads.create_lead(session=session, workspace=ws, actor=admin, name="Kim", now=T0)
        return ws.id, admin.id


def test_any_command_text_is_an_outcome_or_a_translated_error_never_a_database_error(engine):
    workspace_id, member_id = _seed(engine)
    en, ko = catalog("en"), catalog("ko")

    @FUZZ
    @given(typed=slash_texts())
    def run(typed):
        command, text = typed
        try:
            with session_scope(engine) as session:
                ws, actor = session.get(Workspace, workspace_id), session.get(Member, member_id)
                execute(Ctx(session, ws, actor, clock=FixedClock(T0)), command, text)
        except SalesbotError as err:
            assert err.key in en and err.key in ko, err.key
            assert err.render("en") and err.render("ko")

    run()


# --- signed requests into the running app ---------------------------------------------------


@pytest.fixture
def app(db_url):
    with running_app(db_url) as harness, watch_crashes() as crashes:
        harness.crashes = crashes
        yield harness


def _answered(app, status: int, expect, example) -> None:
    """The status fits, and once everything the request started has finished, no crash."""
    settle(app)
    assert status in expect, f"{status} for {example!r}"
    assert app.crashes.records == [], app.crashes.report()


def _deal_with_thread(app) -> str:
    """A deal whose card is posted, so thread messages have a thread to land in."""
    assert app.command("/deal", 'new "Acme ERP" amount:7590000 company:Acme')[0] == 200
    settle(app)
    card = app.slack.wait_for("chat.postMessage")[0]
    return card.response["ts"]


def test_any_headers_and_any_body_get_the_fitting_status_and_no_traceback(app):
    _deal_with_thread(app)
    app.crashes.clear()

    @FUZZ
    @given(probe=envelope_probes())
    def send(probe):
        app.crashes.clear()
        status = post_raw(app.url + "/slack/events", probe.body, probe.headers)
        _answered(app, status, probe.expect, probe)

    send()


def test_any_slash_command_text_is_answered_without_a_traceback(app):
    _deal_with_thread(app)
    app.crashes.clear()

    @FUZZ
    @given(typed=slash_texts(), user=st.sampled_from(["U1", "U2"]))
    def command(typed, user):
        app.crashes.clear()
        name, text = typed
        status, reply = app.command(name, text, user=user)
        _answered(app, status, {400} if "\x00" in text else {200}, typed)  # Slack sends no NUL
        if isinstance(reply, dict) and reply.get("text"):
            assert "Traceback" not in reply["text"]

    command()


def test_any_event_is_acked_and_ignored_or_recorded_without_a_traceback(app):
    thread_ts = _deal_with_thread(app)
    app.crashes.clear()
    ids = iter(range(10**9))

    @FUZZ
    @given(drawn=event_envelopes(thread_ts))
    def deliver(drawn):
        app.crashes.clear()
        event, envelope = drawn
        body, headers = slackreq.event(
            event, team_id=TEAM, event_id=f"Ev{next(ids)}", secret=SECRET
        )
        body = json.dumps({**json.loads(body), **envelope}).encode()
        headers = slackreq.sign(body, SECRET, content_type=slackreq.JSON)
        status = post_raw(app.url + "/slack/events", body, headers)
        _answered(app, status, {200, 400, 404}, drawn)  # 404: an event type no one listens to

    deliver()


def test_any_click_or_modal_submit_is_answered_without_a_traceback(app):
    thread_ts = _deal_with_thread(app)
    app.crashes.clear()

    @FUZZ
    @given(click=block_actions(), view=view_submissions(), which=st.sampled_from(["click", "view"]))
    def interact(click, view, which):
        app.crashes.clear()
        if which == "click":
            actions, message = click
            if message is not None and message.get("ts") == "1800000000.000100":
                message = {**message, "ts": thread_ts}
            status, _ = app.action(actions, message=message)
        else:
            status, _ = app.submit(view)
        _answered(app, status, {200, 400, 404}, click if which == "click" else view)

    interact()
