"""``/deal show N`` reads its page in few statements (domain.deal_page) and still shows what
changed anywhere: a custom field added on another replica appears on the very next page (the
"has fields" copy is kept per ``config_version``, which a field's change bumps)."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from domain import deal_page
from domain.clock import FixedClock
from storage.db import session_scope
from storage.models import Activity, Workspace
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


def test_the_page_is_one_statement_on_postgresql_and_two_on_sqlite(engine):
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
    # The deal with what it joins, and its timeline: one LATERAL statement on PostgreSQL.
    expected = 1 if engine.dialect.name == "postgresql" else 2
    assert len(statements) == expected, statements


def test_the_timeline_is_the_eight_newest_entries_or_none(engine):
    with session_scope(engine) as session:
        ws = f.workspace(session)
        boss = f.member(session, ws, "U1")
        rep = f.member(session, ws, "U2")
        quiet = f.deal(session, ws, boss, title="Quiet")
        busy = f.deal(session, ws, boss, title="Busy")
        session.flush()
        session.execute(sa.delete(Activity).where(Activity.deal_id.in_([quiet.id, busy.id])))
        for i in range(11):  # two at the same instant: the later id first
            at = f.T0 + timedelta(minutes=min(i, 9))
            author = (boss, rep, None)[i % 3]
            session.add(
                Activity(
                    workspace_id=ws.id,
                    deal_id=busy.id,
                    kind="note",
                    text=f"note {i}",
                    author_id=author and author.id,
                    at=at,
                )
            )
        numbers, ids = (quiet.number, busy.number), (boss.id, rep.id)
    with session_scope(engine) as session:
        ws = session.exec(select(Workspace)).one()
        empty = deal_page.deal_page(session=session, workspace=ws, number=numbers[0], now=f.T0)
        page = deal_page.deal_page(session=session, workspace=ws, number=numbers[1], now=f.T0)
    assert empty.card.row.title == "Quiet" and list(empty.activities) == [] and empty.authors == {}
    assert page.card.row.title == "Busy"
    assert [(a.text, a.author_id) for a in page.activities] == [
        ("note 10", ids[1]),
        ("note 9", ids[0]),
        ("note 8", None),
        ("note 7", ids[1]),
        ("note 6", ids[0]),
        ("note 5", None),
        ("note 4", ids[1]),
        ("note 3", ids[0]),
    ]
    assert page.authors == {ids[0]: deal_page.Author("U1"), ids[1]: deal_page.Author("U2")}
