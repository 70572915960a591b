"""Installed by OAuth in many workspaces: each with its own token, its own data, its own fate.

Two workspaces install Salesbot through ``/slack/install`` → ``/slack/oauth_redirect``
against a fake Slack whose tokens are bound to teams: a post sent with the other workspace's
token is refused there and recorded as a problem, which fails the test.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from scheduler.runner import run_job
from storage import outbox
from storage.db import session_scope
from storage.models import Member, Outbox, Role, Workspace
from tests.oauthapp import running_oauth_app

TEAMS = {"T1": ("CT1", "CDIG1", "UA1", "UA2"), "T2": ("CT2", "CDIG2", "UB1")}


def prepare(app):
    for team, owns in TEAMS.items():
        app.slack.oauth.add(team, owns=owns)


@pytest.fixture
def app(db_url):
    with running_oauth_app(db_url) as app:
        prepare(app)
        yield app
        assert app.slack.problems == [], "no call with another workspace's token, valid blocks"


def install_both(app):
    for team, user in (("T1", "UA1"), ("T2", "UB1")):
        page = app.install(team, user)
        assert page.status == 200, page.text
    return app.team("T1"), app.team("T2")


def tokens_of(app, team: str) -> set[str]:
    return {t.value for t in app.slack.oauth.tokens.values() if t.team == team}


def calls_in(app, method: str, key: str, channel: str):
    return [c for c in app.slack.calls_to(method) if c.args.get(key) == channel]


def workspace(app, team: str) -> Workspace:
    with Session(app.engine) as session:
        return session.exec(select(Workspace).where(Workspace.team_id == team)).one()


def unsent(app, team: str) -> int:
    ws = workspace(app, team)
    with Session(app.engine) as session:
        rows = session.exec(
            select(Outbox.id).where(Outbox.workspace_id == ws.id, Outbox.status.in_(outbox.UNSENT))
        ).all()
    return len(rows)


def test_the_installing_user_is_the_first_admin_of_a_new_workspace(app):
    install_both(app)
    with Session(app.engine) as session:
        members = session.exec(select(Member.slack_user_id, Member.role, Member.name)).all()
    assert sorted(members) == [("UA1", Role.admin, "User UA1"), ("UB1", Role.admin, "User UB1")]
    assert workspace(app, "T1").name == "Team T1"
    assert len(app.slack.calls_to("oauth.v2.access")) == 2


def test_each_workspace_posts_with_its_own_token_and_sees_only_its_own_deals(app):
    one, two = install_both(app)
    assert (
        one.command("/deal", 'new "Acme ERP" amount:7590000', user="UA1", channel="CT1")[0] == 200
    )
    assert (
        two.command("/deal", 'new "Busan Port" amount:2000000', user="UB1", channel="CT2")[0] == 200
    )
    one.settle()
    (card_one,) = calls_in(app, "chat.postMessage", "channel", "CT1")
    (card_two,) = calls_in(app, "chat.postMessage", "channel", "CT2")
    assert card_one.token in tokens_of(app, "T1") and "Acme ERP" in card_one.args["text"]
    assert card_two.token in tokens_of(app, "T2") and "Busan Port" in card_two.args["text"]

    _, listing = two.command("/deal", "list", user="UB1", channel="CT2")
    assert "Busan Port" in str(listing) and "Acme ERP" not in str(listing)
    _, listing = one.command("/deal", "list", user="UA1", channel="CT1")
    assert "Acme ERP" in str(listing) and "Busan Port" not in str(listing)

    # A chart of a command goes to the asker's DM, with the asker's workspace's token.
    assert one.command("/pipeline", "forecast quarter", user="UA1", channel="CT1")[0] == 200
    one.settle()
    (upload,) = calls_in(app, "files.completeUploadExternal", "channel_id", "DUA1")
    assert upload.token in tokens_of(app, "T1")

    # Scheduled posts too: each workspace's weekly summary, with its chart, with its token.
    for team, channel in (("T1", "CDIG1"), ("T2", "CDIG2")):
        with session_scope(app.engine) as session:
            ws = session.exec(select(Workspace).where(Workspace.team_id == team)).one()
            ws.digest_channel = channel
            session.add(ws)
    report = run_job(
        "weekly-summary", engine=app.engine, sender=app.deps.drainer.sender, at=datetime.now(UTC)
    )
    one.settle()
    assert report.workspaces == 2 and report.failed == 0, report.errors
    for team, channel in (("T1", "CDIG1"), ("T2", "CDIG2")):
        (summary,) = calls_in(app, "chat.postMessage", "channel", channel)
        assert summary.token in tokens_of(app, team)
        charts = calls_in(app, "files.completeUploadExternal", "channel_id", channel)
        assert charts and all(c.token in tokens_of(app, team) for c in charts)
    assert all(c.ok for c in app.slack.calls if c.method != "response_url")
