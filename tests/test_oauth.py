"""Installed by OAuth in many workspaces: each with its own token, its own data, its own fate.

Two workspaces install Salesbot through ``/slack/install`` → ``/slack/oauth_redirect``
against a fake Slack whose tokens are bound to teams: a post sent with the other workspace's
token is refused there and recorded as a problem, which fails the test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from scheduler.runner import run_job
from storage import outbox
from storage.db import session_scope
from storage.installations import bots
from storage.models import Member, Outbox, Role, Workspace
from tests.oauthapp import STATE_COOKIE, running_oauth_app
from tests.slackapp import wait

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
    assert app.deps.tokens.lookups == 2, "one read of the store per workspace, then cached"

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


def test_a_token_of_one_workspace_is_refused_for_the_other_s_channel(app):
    """The fake is strict, so the tests above can fail: T1's token cannot post in T2."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    install_both(app)
    (token,) = tokens_of(app, "T1")
    with pytest.raises(SlackApiError) as refused:
        WebClient(token=token, base_url=app.slack.url).chat_postMessage(channel="CT2", text="hi")
    assert refused.value.response["error"] == "channel_not_found"
    assert app.slack.problems == [("chat.postMessage", ["T1's token used for T2's CT2"])]
    app.slack.state.problems.clear()


def later_posts(app, team: str, n: int) -> None:
    """``n`` posts of the workspace waiting in the outbox (a backoff, say)."""
    ws = workspace(app, team)
    with session_scope(app.engine) as session:
        for i in range(n):
            outbox.enqueue(
                session,
                workspace_id=ws.id,
                job="test",
                target=f"ch:{TEAMS[team][0]}",
                period=str(i),
                payload={"to": {"channel": TEAMS[team][0]}, "message": {"text": f"post {i}"}},
                now=datetime.now(UTC) + timedelta(hours=1),
            )


def due_now(app, team: str) -> None:
    ws = workspace(app, team)
    with session_scope(app.engine) as session:
        session.execute(
            sa.update(Outbox)
            .where(Outbox.workspace_id == ws.id)
            .values(next_attempt_at=datetime.now(UTC))
        )
    app.deps.wake()


def test_uninstalling_one_workspace_stops_its_posts_while_the_other_keeps_posting(app):
    one, two = install_both(app)
    later_posts(app, "T1", 5)
    later_posts(app, "T2", 2)
    app.slack.oauth.uninstall("T1")
    status, _ = one.event({"type": "app_uninstalled"}, event_id="Ev1")
    assert status == 200

    wait(lambda: unsent(app, "T1") == 0, what="the outbox to drop T1's posts")
    assert workspace(app, "T1").uninstalled_at is not None
    with Session(app.engine) as session:
        assert session.exec(select(bots.c.team_id)).all() == ["T2"]

    due_now(app, "T2")
    assert (
        two.command("/deal", 'new "Busan Port" amount:2000000', user="UB1", channel="CT2")[0] == 200
    )
    two.settle()
    assert len(calls_in(app, "chat.postMessage", "channel", "CT2")) == 3  # 2 waiting + the card
    assert calls_in(app, "chat.postMessage", "channel", "CT1") == []
    report = run_job(
        "stall-digest", engine=app.engine, sender=app.deps.drainer.sender, at=datetime.now(UTC)
    )
    assert report.workspaces == 1, "nothing is planned for the uninstalled workspace"


def test_a_token_slack_refuses_drops_the_workspace_s_posts_without_trying_each(app):
    """The uninstall event went to another replica (or was lost): this process learns from
    Slack's answer, once, not once per post."""
    install_both(app)
    later_posts(app, "T1", 5)
    app.slack.oauth.uninstall("T1")
    due_now(app, "T1")
    wait(lambda: unsent(app, "T1") == 0, what="T1's posts dropped")
    refused = [c for c in app.slack.calls_to("chat.postMessage", ok_only=False) if not c.ok]
    # One refusal per drain worker at most (each may have claimed a post already), not 5.
    assert {c.response["error"] for c in refused} == {"account_inactive"}
    assert len(refused) <= app.deps.drainer.workers < 5
    assert workspace(app, "T1").uninstalled_at is not None

    page = app.install("T1", "UA2")  # installed again: back in business
    assert page.status == 200
    assert workspace(app, "T1").uninstalled_at is None
    one = app.team("T1")
    assert (
        one.command("/deal", 'new "Acme ERP" amount:7590000', user="UA2", channel="CT1")[0] == 200
    )
    one.settle()
    (card,) = calls_in(app, "chat.postMessage", "channel", "CT1")
    assert card.ok and card.token in tokens_of(app, "T1")


def test_a_forged_or_reused_oauth_state_is_refused(app):
    state, cookies = app.install_page()
    forged = "0f8fad5b-d9cb-469f-a165-70867728950e.0123456789abcdef0123456789abcdef"
    page = app.redirect(
        app.slack.oauth.authorize("T1", "UA1"), forged, {**cookies, STATE_COOKIE: forged}
    )
    assert (page.status, "invalid_state" in page.text) == (401, True)
    page = app.redirect(app.slack.oauth.authorize("T1", "UA1"), state, {})  # not this browser's
    assert (page.status, "invalid_browser" in page.text) == (400, True)
    assert app.slack.calls_to("oauth.v2.access", ok_only=False) == []

    assert app.redirect(app.slack.oauth.authorize("T1", "UA1"), state, cookies).status == 200
    reused = app.redirect(app.slack.oauth.authorize("T1", "UA1"), state, cookies)
    assert (reused.status, "invalid_state" in reused.text) == (401, True)
    assert len(app.slack.calls_to("oauth.v2.access", ok_only=False)) == 1
    with Session(app.engine) as session:
        assert session.exec(select(bots.c.team_id)).all() == ["T1"]


def refreshes(app) -> list:
    return [
        c
        for c in app.slack.calls_to("oauth.v2.access")
        if c.args.get("grant_type") == "refresh_token"
    ]


def test_token_rotation_refreshes_an_expiring_token_and_an_expired_one(db_url):
    with running_oauth_app(db_url, rotation=True) as app:
        prepare(app)
        one = app.team("T1")
        assert app.install("T1", "UA1").status == 200
        (first,) = tokens_of(app, "T1")
        with Session(app.engine) as session:
            stored = session.exec(select(bots.c.bot_token, bots.c.bot_refresh_token)).one()
        assert stored == (first, f"xoxe-1-T1-{first.rsplit('-', 1)[1]}")

        # Ten minutes before it expires, the next request refreshes it first.
        with session_scope(app.engine) as session:
            soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=10)
            session.execute(sa.update(bots).values(bot_token_expires_at=soon))
        app.deps.tokens.forget("T1")
        status, _ = one.command("/deal", 'new "Acme ERP" amount:7590000', user="UA1", channel="CT1")
        assert status == 200
        one.settle()
        assert len(refreshes(app)) == 1
        (card,) = calls_in(app, "chat.postMessage", "channel", "CT1")
        second = refreshes(app)[0].response["access_token"]
        assert card.ok and card.token == second != first
        with Session(app.engine) as session:
            assert session.exec(select(bots.c.bot_token)).all() == [second]

        # Slack says it expired before we thought: refreshed, and the post goes out anyway.
        app.slack.oauth.expire("T1")
        status, _ = one.command("/deal", "move 1 Qualification", user="UA1", channel="CT1")
        assert status == 200
        one.settle()
        assert len(refreshes(app)) == 2
        third = refreshes(app)[1].response["access_token"]
        (reply,) = [
            c for c in calls_in(app, "chat.postMessage", "channel", "CT1") if c.ok and c != card
        ]
        assert reply.token == third and "Qualification" in reply.args["text"]
        assert app.slack.problems == []


def test_the_manifest_asks_for_the_scopes_redirect_and_events_of_the_oauth_flow():
    from pathlib import Path

    from bot.oauth import SCOPES

    text = (Path(__file__).parent.parent / "manifest.yml").read_text(encoding="utf-8")
    bot_scopes = text.split("    bot:\n")[1].split("settings:")[0]
    assert tuple(line.split()[1] for line in bot_scopes.splitlines() if "- " in line) == SCOPES
    assert "    - https://salesbot.example.com/slack/oauth_redirect\n" in text
    assert "      - app_uninstalled " in text and "      - tokens_revoked " in text


def test_the_install_pages_speak_the_installer_s_language(app):
    from html import escape

    from i18n import t

    state, cookies = app.install_page(language="ko-KR,ko;q=0.9,en;q=0.8")
    assert escape(t("ko", "install.intro")) in app.last_page.text
    assert 'alt="Slack에 추가"' in app.last_page.text
    app.install_page(language="fr-FR,en;q=0.5")
    assert escape(t("en", "install.intro")) in app.last_page.text

    # Done: in the installer's Slack language (the fake's users.info says ko-KR).
    page = app.redirect(app.slack.oauth.authorize("T1", "UA1"), state, cookies)
    assert escape(t("ko", "install.done", team="Team T1")) in page.text
    assert 'href="slack://app?team=T1&amp;id=AFAKEAPP"' in page.text
    failed = app.redirect("code-x", state, cookies, language="en")
    assert failed.status == 401
    assert escape(t("en", "install.failed", reason="invalid_state")) in failed.text
    assert 'href="/slack/install"' in failed.text


def test_with_one_bot_token_an_uninstall_is_acknowledged_and_changes_nothing(db_url):
    from tests.slackapp import running_app

    with running_app(db_url) as single:
        assert single.command("/deal", 'new "Acme ERP" amount:7590000')[0] == 200
        single.settle()
        status, _ = single.event({"type": "app_uninstalled"}, event_id="Ev9")
        assert status == 200
        assert workspace(single, "T1").uninstalled_at is None
        assert single.deps.tokens is None and single.slack.calls_to("oauth.v2.access") == []


def test_a_refusal_of_a_token_older_than_the_install_drops_nothing(app):
    """A replica that learns late that an old token died must not undo a reinstall."""
    from domain.installs import gone

    install_both(app)
    (old,) = tokens_of(app, "T1")
    app.slack.oauth.uninstall("T1")
    assert app.install("T1", "UA1").status == 200
    (new,) = tokens_of(app, "T1") - {old}
    later_posts(app, "T1", 3)
    ws = workspace(app, "T1")
    with session_scope(app.engine) as session:
        assert gone(session=session, workspace_id=ws.id, now=datetime.now(UTC), token=old) is None
    assert unsent(app, "T1") == 3 and workspace(app, "T1").uninstalled_at is None
    with session_scope(app.engine) as session:
        assert gone(session=session, workspace_id=ws.id, now=datetime.now(UTC), token=new) == 3
    assert unsent(app, "T1") == 0 and workspace(app, "T1").uninstalled_at is not None
