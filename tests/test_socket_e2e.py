"""Salesbot over Socket Mode: the same app, with Slack's envelopes over a WebSocket."""

from __future__ import annotations

import time

from sqlmodel import Session, func, select

from bot.settings import Settings
from bot.socket import handler
from domain.workspaces import WorkspaceDefaults
from storage.db import make_engine
from storage.models import Deal
from tests import slackreq
from tests.fakeslack import FakeSlack


def test_a_slash_command_over_socket_mode_creates_the_deal_and_posts_its_card(db_url):
    engine = make_engine(db_url)
    with FakeSlack(team_id="T1") as slack:
        settings = Settings(
            bot_token="xoxb-test",
            app_token="xapp-1-test",
            api_url=slack.url,
            database_url=db_url,
            defaults=WorkspaceDefaults(deals_channel="CDEALS", locale="en"),
        )
        socket = handler(settings, engine=engine)
        socket.connect()
        try:
            slack.wait_socket_connected(timeout=10)
            payload = {
                "command": "/deal",
                "text": 'new "Acme ERP" amount:7,590,000',
                "team_id": "T1",
                "user_id": "U1",
                "channel_id": "C1",
                "api_app_id": "AFAKEAPP",
                "response_url": slack.response_url("sock"),
                "trigger_id": slackreq.new_trigger_id(),
            }
            started = time.perf_counter()
            envelope = slack.socket_send("slash_commands", payload)
            ack = slack.wait_socket_ack(envelope, timeout=5)
            assert time.perf_counter() - started < 3.0
            assert "D1" in ack["text"] and ack["response_type"] == "ephemeral"
            card = slack.wait_for("chat.postMessage")[0]
            assert card.args["channel"] == "CDEALS"
            assert slack.problems == []
        finally:
            socket.close()
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Deal)).one() == 1
    engine.dispose()
