"""A statement run on the driver's cursor (storage.fast) gives exactly what SQLAlchemy's
``conn.execute`` gives: the same values of the same types under the same names, NULLs
included, its parameters put where the SQL wants them; watched connections and driver errors
behave as SQLAlchemy's own execution."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from domain import deal_page
from storage.db import session_scope
from storage.fast import Read
from storage.models import Activity, Deal, Member
from tests import factories as f

# Every kind of column the hot reads return: integers, text, Money (hundredths to Decimal),
# UTC datetimes (text on SQLite), dates, booleans (0/1 on SQLite), an enum's text, a sum and a
# count, a literal; and NULLs of Money, datetime and date. The WHERE names its parameters in
# an order of its own (``b`` before ``a``), one of them a datetime with a bind processor.
_EVERY_KIND = (
    sa.select(
        Deal.id,
        Deal.title,
        Deal.amount,
        Deal.mrr,
        Deal.stage_entered_at,
        Deal.closed_at,
        Deal.expected_close,
        Deal.snoozed_until,
        Member.role,
        Member.task_morning,
        sa.literal("fixed").label("fixed"),
        sa.func.count().over().label("n"),
        sa.func.sum(sa.type_coerce(Deal.amount, sa.BigInteger)).over().label("raw"),
    )
    .join(Member, Member.id == Deal.owner_id)
    .where(
        Deal.number >= sa.bindparam("b"),
        Deal.workspace_id == sa.bindparam("a"),
        Deal.stage_entered_at < sa.bindparam("before", type_=Deal.stage_entered_at.type),
        Deal.currency == "KRW",
    )
    .order_by(Deal.number)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def _typed(rows) -> list:
    return [[(type(v), v) for v in row] for row in rows]


def test_every_kind_of_column_and_null_comes_back_as_sqlalchemy_gives_it(engine):
    with session_scope(engine) as session:
        ws = f.workspace(session)
        boss = f.member(session, ws, "U1")
        f.deal(session, ws, boss, title="Plain", amount="1234.5")
        later = f.deal(session, ws, boss, title="Dated", amount="0.07")
        later.mrr = Decimal("99.99")
        later.expected_close = date(2026, 12, 31)
        later.snoozed_until = date(2026, 11, 20)
        later.closed_at = f.T0 + timedelta(days=1)
        ws_id = ws.id
    read = Read(_EVERY_KIND)
    params = {"limit": 10, "before": f.T0 + timedelta(days=2), "a": ws_id, "b": 1}
    with session_scope(engine, readonly=True) as session:
        conn = session.connection()
        expected = conn.execute(_EVERY_KIND, params)
        keys = list(expected.keys())
        expected = expected.all()
        got = read.all(conn, params)
        again = read.all(conn, params)  # the kept form, its processors known
    assert len(expected) == 2
    assert _typed(got) == _typed(expected) == _typed(again)
    assert list(got[0]._fields) == keys
    plain, dated = got
    assert plain.mrr is None and plain.closed_at is None and plain.snoozed_until is None
    assert dated.amount == Decimal("0.07") and dated.closed_at.tzinfo is not None
    assert dated.task_morning is True and dated.fixed == "fixed"


def test_the_pages_statements_read_as_sqlalchemy_reads_them(engine):
    with session_scope(engine) as session:
        ws = f.workspace(session)
        boss = f.member(session, ws, "U1")
        deal = f.deal(session, ws, boss)
        session.add(Activity(workspace_id=ws.id, deal_id=deal.id, kind="note", text="hi", at=f.T0))
        ws_id, number, deal_id = ws.id, deal.number, deal.id
    page = {"workspace_id": ws_id, "number": number}
    with session_scope(engine, readonly=True) as session:
        conn = session.connection()
        for read, params in (
            (deal_page._PAGE_READ, page),
            (deal_page._TIMELINE_READ, {"deal_id": deal_id}),
            (deal_page._PAGE_AND_TIMELINE_READ, page),
        ):
            if read is deal_page._PAGE_AND_TIMELINE_READ and engine.dialect.name == "sqlite":
                continue  # LATERAL: PostgreSQL's
            expected = conn.execute(read.statement, params)
            keys = list(expected.keys())
            expected = expected.all()
            got = read.all(conn, params)
            assert expected and _typed(got) == _typed(expected)
            assert list(got[0]._fields) == keys


def test_a_watched_connection_sees_the_statement(engine):
    statements: list[str] = []

    def keep(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    read = Read(sa.select(Member.id).where(Member.workspace_id == sa.bindparam("ws")))
    with session_scope(engine, readonly=True) as session:
        conn = session.connection()
        sa.event.listen(engine, "before_cursor_execute", keep)
        try:
            assert read.all(conn, {"ws": 0}) == []
        finally:
            sa.event.remove(engine, "before_cursor_execute", keep)
    assert len(statements) == 1 and "member" in statements[0]


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(engine):
    read = Read(sa.select(sa.column("nowhere")).select_from(sa.table("no_such_table")))
    with (
        pytest.raises(sa.exc.DBAPIError) as raised,
        session_scope(engine, readonly=True) as session,
    ):
        read.all(session.connection(), {})
    assert "no_such_table" in str(raised.value)
