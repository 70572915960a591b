"""``/deal show N`` reads its page in few statements (domain.deal_page) and still shows what
changed anywhere: a custom field added on another replica appears on the very next page (the
"has fields" copy is kept per ``config_version``, which a field's change bumps)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from domain import deal_page
from domain.clock import FixedClock
from storage.db import session_scope
from tests import factories as f
from tests.slackapp import quiet_automation, running_app


def _page(app, number: int) -> str:
    status, reply = app.command("/deal", f"show {number}")
    assert status == 200
    return json.dumps(reply["blocks"], ensure_ascii=False).replace("\\n", "\n")


def test_a_field_added_on_another_replica_shows_on_the_next_page(db_url):
    with (
        running_app(db_url, clock=FixedClock(f.T0)) as a,
        running_app(db_url, clock=FixedClock(f.T0), slack=a.slack) as b,
    ):
        a.slack.users["U1"] = {"locale": "en-US"}
        quiet_automation(a)
        a.command("/deal", "list")  # U1, the first member, is an admin
        a.command("/deal", 'new "Acme ERP" amount:7590000')
        assert "Industry" not in _page(b, 1)  # B keeps: no deal fields in this workspace
        status, reply = a.command("/pipeline", 'field new "Industry" type:select options:제조,IT')
        assert reply["text"].startswith("Added the field *Industry*.")
        a.command("/deal", "set 1 industry:IT")
        assert "*Industry*\nIT" in _page(b, 1)
        assert "*Industry*\nIT" in _page(a, 1)


def test_the_page_is_two_statements_once_the_workspace_is_known(engine):
    with session_scope(engine) as session:
        ws = f.workspace(session)
        boss = f.member(session, ws, "U1")
        deal = f.deal(session, ws, boss)
        number = deal.number
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    with session_scope(engine) as session:
        ws = session.get(type(ws), ws.id)
        deal_page.deal_page(session=session, workspace=ws, number=number, now=f.T0)  # warm
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            page = deal_page.deal_page(session=session, workspace=ws, number=number, now=f.T0)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert page.card.row.title == "Acme ERP" and page.card.row.owner_slack_id == "U1"
    assert len(statements) == 2, statements  # the deal with what it joins, and its timeline
