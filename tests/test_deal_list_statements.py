"""A deal list's statements are built once per filter shape and workspace configuration and run
with the clock's values bound (issue 17): the same statement must answer like the stall rule
(domain.stall.stall_status) at every instant and on either clock, and a change of
configuration (a stage's threshold, a member's name, an exchange rate) shows at once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain import deal_reads, money
from domain.deals import move_deal, snooze
from domain.stall import stall_status
from storage.models import Deal, Member, Role, Stage, Workspace
from tests.factories import T0, deal, member, workspace

# Entries a week apart and a day apart around the thresholds (Contact 7 days, Qualification 10 …),
# 추석 2026 (Sep 24–26 and the substitute day) and weekends in between.
ENTRIES = [T0 - timedelta(days=d, hours=h) for d in (1, 5, 6, 7, 8, 9, 12, 15, 30) for h in (0, 7)]
INSTANTS = [
    datetime(2026, 11, 2, 0, 30, tzinfo=T0.tzinfo),  # Monday morning in Seoul
    datetime(2026, 11, 7, 14, 59, tzinfo=T0.tzinfo),  # Saturday 23:59 in Seoul
    datetime(2026, 11, 8, 15, 0, tzinfo=T0.tzinfo),  # Monday 00:00 in Seoul
    datetime(2026, 10, 8, 3, 0, tzinfo=T0.tzinfo),  # after 추석
]


@pytest.fixture
def filled(engine):
    with Session(engine, expire_on_commit=False) as session:
        ws = workspace(session, locale="en")
        me = member(session, ws, "U1", role=Role.admin, name="Mina")
        other = member(session, ws, "U2", name="Joon")
        for i, entered in enumerate(ENTRIES):
            d = deal(session, ws, me if i % 3 else other, title=f"Deal {i}", now=entered)
            if i % 4 == 1:
                move_deal(
                    session=session, actor=me, deal=d, stage_text="Qualification", now=entered
                )
            if i % 5 == 2:
                today = entered.date()
                snooze(
                    session=session,
                    actor=me,
                    deal=d,
                    until=today + timedelta(days=10),
                    today=today,
                    now=entered,
                )
        session.commit()
        return ws.id, me.id


def _stalled_by_rule(session, ws, now, owner_id=None) -> list[int]:
    stages = {s.id: s for s in session.exec(select(Stage).where(Stage.workspace_id == ws.id))}
    deals = session.exec(select(Deal).where(Deal.workspace_id == ws.id)).all()
    return sorted(
        d.number
        for d in deals
        if (owner_id is None or d.owner_id == owner_id)
        and stages[d.stage_id].outcome == "open"
        and stall_status(
            stage_entered_at=d.stage_entered_at,
            stall_days=stages[d.stage_id].stall_days,
            snoozed_until=d.snoozed_until,
            now=now,
            tz=ws.timezone,
            business_days=ws.stall_business_days,
            country=ws.holiday_country,
        ).stalled
    )


@pytest.mark.parametrize("business_days", [False, True])
def test_one_statement_answers_like_the_stall_rule_at_every_instant(engine, filled, business_days):
    ws_id, me_id = filled
    with Session(engine, expire_on_commit=False) as session:
        ws = session.get(Workspace, ws_id)
        ws.stall_business_days = business_days
        session.commit()
    seen = set()
    for now in INSTANTS:
        with Session(engine, expire_on_commit=False) as session:  # as requests do
            ws = session.get(Workspace, ws_id)
            for owner_id in (None, me_id):
                expected = _stalled_by_rule(session, ws, now, owner_id)
                page = deal_reads.list_deals(
                    session=session,
                    workspace=ws,
                    now=now,
                    owner_id=owner_id,
                    stalled=True,
                    limit=100,
                )
                assert sorted(r.number for r in page.rows) == expected
                assert page.total == len(expected)
                assert all(r.stall.stalled for r in page.rows)
                # The default order: stalled first, then longest in its stage, then number.
                listed = deal_reads.list_deals(
                    session=session, workspace=ws, now=now, owner_id=owner_id, limit=100
                ).rows
                keys = [(not r.stall.stalled, r.stage_entered_at, r.number) for r in listed]
                assert keys == sorted(keys)
                assert sorted(r.number for r in listed if r.stall.stalled) == expected
                seen.add(len(expected))
    assert len(seen) > 2  # the instants do tell stalled deals apart


def test_pages_of_a_list_follow_each_other_without_overlap(engine, filled):
    ws_id, _ = filled
    with Session(engine, expire_on_commit=False) as session:
        ws = session.get(Workspace, ws_id)
        whole = deal_reads.list_deals(session=session, workspace=ws, now=T0, limit=100).rows
        for sort in (None, "amount", "close"):
            whole = deal_reads.list_deals(
                session=session, workspace=ws, now=T0, limit=100, sort=sort
            ).rows
            pages = [
                deal_reads.list_deals(
                    session=session, workspace=ws, now=T0, limit=5, offset=o, sort=sort
                ).rows
                for o in range(0, len(whole), 5)
            ]
            assert [r.number for p in pages for r in p] == [r.number for r in whole]


@pytest.mark.parametrize("stalled", [False, True])
def test_one_members_pages_follow_each_other_in_the_stall_order(engine, filled, stalled):
    """``/deal list mine`` reads the stalled deals and the others as two ranges of the member's
    index, each cut at the page's end: every page, at every instant, is the slice of the
    member's whole list in the default order (stalled first, then longest in its stage)."""
    ws_id, me_id = filled
    with Session(engine, expire_on_commit=False) as session:
        ws = session.get(Workspace, ws_id)
        seen = set()
        for now in INSTANTS:
            args = dict(session=session, workspace=ws, now=now, owner_id=me_id, stalled=stalled)
            whole = deal_reads.list_deals(**args, limit=100).rows
            keys = [(not r.stall.stalled, r.stage_entered_at, r.number) for r in whole]
            assert keys == sorted(keys)
            seen |= {r.stall.stalled for r in whole}
            for size in (1, 3, 5):
                pages = [
                    deal_reads.list_deals(**args, limit=size, offset=o).rows
                    for o in range(0, len(whole) + size, size)
                ]
                assert [r.number for p in pages for r in p] == [r.number for r in whole]
    assert seen == ({True} if stalled else {True, False})  # both kinds were listed


def test_one_members_list_is_read_in_index_order_from_the_index_alone(engine, filled):
    """At 1M deals a member has ~300 open deals: the page reads the first of them in the
    order of ``ix_deal_owner_entered`` (which holds what the stall rule needs) instead of
    reading all of them from the table and sorting them by the stall expression."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    ws_id, me_id = filled
    with Session(engine, expire_on_commit=False) as session:
        ws = session.get(Workspace, ws_id)
        statements = []

        def keep(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        sa.event.listen(engine, "before_cursor_execute", keep)
        try:
            deal_reads.list_deals(session=session, workspace=ws, now=T0, owner_id=me_id)
        finally:
            sa.event.remove(engine, "before_cursor_execute", keep)
        page = next((s, p) for s, p in statements if "listed" in s)
        plan = [
            row[-1]
            for row in session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + page[0], page[1]
            )
        ]
    # The page's deals by id once cut (the primary key); before that, only the index.
    reads = [
        line
        for line in plan
        if line.startswith(("SEARCH deal", "SCAN deal")) and "PRIMARY KEY" not in line
    ]
    covering = (
        "COVERING INDEX ix_deal_owner_entered (workspace_id=? AND owner_id=? AND closed_at=?)"
    )
    assert len(reads) == 2 and all(covering in line for line in reads), plan


def test_a_new_stall_threshold_a_renamed_owner_and_a_new_rate_show_at_once(engine, filled):
    ws_id, me_id = filled
    now = INSTANTS[0]

    def listed():
        with Session(engine, expire_on_commit=False) as session:
            ws = session.get(Workspace, ws_id)
            return deal_reads.list_deals(
                session=session, workspace=ws, now=now, owner_id=me_id, stalled=True, limit=100
            )

    before = listed()
    assert before.total > 0 and {r.owner_name for r in before.rows} == {"Mina"}
    with Session(engine, expire_on_commit=False) as session:
        ws = session.get(Workspace, ws_id)
        for stage in session.exec(select(Stage).where(Stage.workspace_id == ws_id)):
            stage.stall_days = 60 if stage.stall_days is not None else None
            session.add(stage)
        me = session.get(Member, me_id)
        me.name = "Mina Kim"
        session.add(me)
        session.commit()
    assert listed().total == 0  # nobody is 60 days in a stage
    with Session(engine, expire_on_commit=False) as session:
        for stage in session.exec(select(Stage).where(Stage.workspace_id == ws_id)):
            stage.stall_days = 1 if stage.stall_days is not None else None
            session.add(stage)
        session.commit()
    after = listed()
    assert after.total > before.total
    assert {r.owner_name for r in after.rows} == {"Mina Kim"}
    with Session(engine, expire_on_commit=False) as session:
        dollars = session.get(Deal, after.rows[0].id)
        dollars.currency = "USD"
        session.add(dollars)
        session.commit()
    after = listed()
    assert after.money.left_out  # no USD rate yet: the dollars are left out of the total
    with Session(engine, expire_on_commit=False) as session:
        ws = session.get(Workspace, ws_id)
        me = session.get(Member, me_id)
        money.set_rates(
            session=session, workspace=ws, actor=me, rates=[("USD", Decimal(1000))], now=now
        )
        session.commit()
    rated = listed()
    assert not rated.money.left_out and rated.money.converted == (("USD", Decimal(1000)),)
    usd = dollars.amount
    assert rated.total_amount == after.total_amount + usd * 1000


def test_close_ranges_and_custom_conditions_keep_their_values(engine, filled):
    ws_id, me_id = filled
    with Session(engine, expire_on_commit=False) as session:
        ws = session.get(Workspace, ws_id)
        deals = session.exec(select(Deal).where(Deal.workspace_id == ws_id)).all()
        for i, d in enumerate(deals):
            d.expected_close = date(2026, 11, 1) + timedelta(days=3 * i)
            session.add(d)
        session.commit()
        for start, end in ((date(2026, 11, 1), date(2026, 11, 30)), (None, date(2026, 11, 10))):
            page = deal_reads.list_deals(
                session=session, workspace=ws, now=T0, close=(start, end), limit=100
            )
            expected = sorted(
                d.number
                for d in deals
                if d.closed_at is None
                and (start is None or d.expected_close >= start)
                and d.expected_close <= end
            )
            assert sorted(r.number for r in page.rows) == expected
        narrowed = deal_reads.list_deals(
            session=session, workspace=ws, now=T0, limit=100, extra=(Deal.title.like("Deal 1%"),)
        )
        assert {r.title for r in narrowed.rows} == {
            d.title for d in deals if d.title.startswith("Deal 1")
        }
