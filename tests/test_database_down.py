"""A database that is down: said plainly, in the user's language, within Slack's 3 seconds.

PostgreSQL behind a TCP proxy that the test cuts and restores (tests/netproxy.py): open
connections die and new ones are refused, as when the database host goes away. SQLite is a
file next to the app and has no such outage; these tests run where PostgreSQL does.
"""

from __future__ import annotations

import logging
import time

import pytest
import sqlalchemy as sa

from i18n import t
from storage.db import make_engine
from tests.fakeslack import FakeSlack
from tests.netproxy import Proxy
from tests.processes import harness, health, serving
from tests.slackapp import running_app

pytestmark = pytest.mark.postgres_only  # deselected when TEST_DATABASE_URL is not set


@pytest.fixture
def pg_url(postgres_db):
    return postgres_db


@pytest.fixture
def proxy(pg_url):
    url = sa.make_url(pg_url)
    p = Proxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield p
    p.close()


def tracebacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_command_while_the_database_is_down_says_so_in_korean_and_changes_nothing(
    pg_url, proxy, caplog
):
    with running_app(proxy.url(pg_url)) as app:
        status, reply = app.command("/deal", 'new "Acme ERP" amount:7590000')
        assert status == 200 and "D1" in reply["text"]  # U1 is Korean (users.info: ko-KR)
        app.settle()
        proxy.cut()
        started = time.perf_counter()
        status, reply = app.command("/deal", "move 1 Qualification")
        elapsed = time.perf_counter() - started
        assert status == 200 and elapsed < 3.0
        assert reply == {"response_type": "ephemeral", "text": t("ko", "error.database_down")}
        assert health(app.url) == 503
        assert tracebacks(caplog) == [], "an outage is not a bug: no error id, no traceback"
        proxy.restore()
        assert health(app.url) == 200
        status, reply = app.command("/deal", "move 1 Qualification")
        assert status == 200 and "Qualification" in reply["text"], "and back to work"


def test_a_thread_message_while_the_database_is_down_is_left_for_slack_to_retry(pg_url, proxy):
    with running_app(proxy.url(pg_url)) as app:
        app.command("/deal", 'new "Acme ERP" amount:7590000')
        app.settle()
        proxy.cut()
        message = {
            "type": "message",
            "channel": "CDEALS",
            "user": "U2",
            "text": "CFO says yes",
            "ts": f"{time.time():.6f}",
            "thread_ts": "1.000001",
        }
        status, _ = app.event(message, event_id="EvDown")
        assert status == 503, "Slack retries an event it could not deliver"


def test_serve_starts_with_the_database_down_and_works_once_it_is_back(pg_url, proxy, tmp_path):
    proxy.cut()
    engine = make_engine(pg_url)
    with (
        FakeSlack(team_id="T1") as slack,
        serving(proxy.url(pg_url), slack, tmp_path, healthy=False, SALESBOT_LOCALE="ko") as server,
    ):
        app = harness(server, slack, engine)
        assert health(server.url) == 503
        status, reply = app.command("/deal", "list mine")
        assert status == 200
        assert reply["text"] == t("ko", "error.database_down"), "the workspace's language"
        proxy.restore()
        deadline = time.monotonic() + 15
        while health(server.url) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        status, reply = app.command("/deal", 'new "Acme ERP" amount:7590000')
        assert status == 200 and "D1" in reply["text"]
        assert "Traceback" not in server.output()
    engine.dispose()


def test_an_inbound_lead_while_the_database_is_down_gets_503_and_its_retry_one_lead(
    pg_url, proxy, caplog
):
    import json
    import re
    import urllib.error
    import urllib.request

    def post(url: str, secret: str) -> tuple[int, dict, dict]:
        body = json.dumps({"name": "Kim Minsu", "email": "kim@acme.kr"}).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {secret}",
            "Idempotency-Key": "site-1",
        }
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    with running_app(proxy.url(pg_url), locale="en") as app:
        app.slack.users["U1"] = {"is_admin": True}
        status, reply = app.command("/pipeline", "inbound")
        shown = json.dumps(reply["blocks"])
        key = re.search(r"/leads/([A-Za-z0-9_-]+)", shown)[1]
        secret = re.search(r"(sbin_[A-Za-z0-9_-]+)", shown)[1]
        proxy.cut()
        status, headers, body = post(f"{app.url}/leads/{key}", secret)
        assert (status, body, headers["Retry-After"]) == (
            503,
            {"ok": False, "error": "unavailable"},
            "30",
        )
        assert tracebacks(caplog) == [], "an outage is not a bug"
        proxy.restore()
        status, _, body = post(f"{app.url}/leads/{key}", secret)  # the sender's retry
        assert (status, body) == (201, {"ok": True, "lead": "L1", "replayed": False})


def test_a_connection_the_server_ended_while_pooled_is_replaced_without_an_error(pg_url):
    """Connections rest in the pool unpinged for a few seconds (issue 17: the ping was a
    round trip per command); one the server ended meanwhile (a restart, an administrator's
    ``pg_terminate_backend``) is noticed on its socket and replaced, never handed out."""
    engine = make_engine(pg_url)
    pings = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(1) or ping(conn)
    try:
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() == pid
        assert pings == [], "a connection that rested a moment is trusted"
        with make_engine(pg_url).connect() as admin:
            admin.execute(sa.text(f"SELECT pg_terminate_backend({pid})"))
        time.sleep(0.2)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()


def test_a_connection_that_rested_long_is_pinged_first(pg_url, monkeypatch):
    from storage import db

    monkeypatch.setattr(db, "PING_AFTER", 0.0)
    engine = make_engine(pg_url)
    pings = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(1) or ping(conn)
    try:
        for _ in range(2):
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        assert pings == [1]  # the new connection is not pinged, the rested one is
    finally:
        engine.dispose()
