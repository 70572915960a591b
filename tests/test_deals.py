"""Deals in the domain: creation, moves and their history, permissions, expected revenue."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from domain import deals
from domain.deal_reads import list_deals
from domain.errors import InvalidInput, NotAllowed, NotFound
from domain.refs import find_deal
from i18n import fmt
from storage.db import session_scope
from storage.models import Activity, Deal, Role, Stage, StageHistory
from tests.factories import T0, deal, member, workspace


def history(session, d: Deal) -> list[tuple[str | None, str]]:
    rows = session.exec(
        select(StageHistory).where(StageHistory.deal_id == d.id).order_by(StageHistory.id)
    ).all()
    names = {s.id: s.name for s in session.exec(select(Stage))}
    return [(names.get(r.from_stage_id), names[r.to_stage_id]) for r in rows]


def test_expected_revenue_of_7_59m_at_50_percent_is_379만_5천원(session):
    value = deals.expected_revenue(Decimal("7590000"), 50)
    assert value == Decimal("3795000")
    assert fmt.money(value, "KRW", "ko") == "379만 5천원"
    assert fmt.money(value, "KRW", "en") == "₩3,795,000"


def test_a_new_deal_starts_in_the_first_open_stage_with_one_history_row(session):
    ws = workspace(session)
    rep = member(session, ws, "U1")
    d = deal(session, ws, rep)
    assert d.number == 1
    assert session.get(Stage, d.stage_id).name == "Contact"
    assert history(session, d) == [(None, "Contact")]
    assert d.stage_entered_at == T0


def test_moving_records_history_and_closing_stages_close_the_deal(session):
    ws = workspace(session)
    rep = member(session, ws, "U1")
    d = deal(session, ws, rep)
    later = T0 + timedelta(days=3)
    deals.move_deal(session=session, actor=rep, deal=d, stage_text="Qual", now=later)
    assert d.stage_entered_at == later and d.closed_at is None
    deals.close_deal(session=session, actor=rep, deal=d, won=True, now=later)
    assert d.closed_at == later
    assert history(session, d) == [
        (None, "Contact"),
        ("Contact", "Qualification"),
        ("Qualification", "Won"),
    ]
    deals.move_deal(session=session, actor=rep, deal=d, stage_text="3", now=later)
    assert d.closed_at is None, "reopening a won deal clears closed_at"


def test_moving_into_the_stage_it_is_in_is_refused_and_writes_nothing(session):
    ws = workspace(session)
    rep = member(session, ws, "U1")
    d = deal(session, ws, rep)
    with pytest.raises(InvalidInput) as err:
        deals.move_deal(session=session, actor=rep, deal=d, stage_text="Contact", now=T0)
    assert err.value.key == "deal.already_in_stage"
    assert len(history(session, d)) == 1


def test_a_rep_moves_own_deals_only_and_a_manager_moves_any(session):
    ws = workspace(session)
    member(session, ws, "UADMIN", Role.admin)
    kim = member(session, ws, "U1")
    lee = member(session, ws, "U2")
    boss = member(session, ws, "U3", Role.manager)
    d = deal(session, ws, kim)
    with pytest.raises(NotAllowed) as err:
        deals.move_deal(session=session, actor=lee, deal=d, stage_text="Meeting", now=T0)
    assert "D1" in err.value.render("en") and "D1" in err.value.render("ko")
    deals.move_deal(session=session, actor=boss, deal=d, stage_text="Meeting", now=T0)
    assert session.get(Stage, d.stage_id).name == "Meeting"


def test_workspace_b_cannot_find_or_list_workspace_a_deals_even_by_number(session):
    a, b = workspace(session, "TA"), workspace(session, "TB")
    kim = member(session, a, "U1")
    lee = member(session, b, "U1")
    deal(session, a, kim, title="Secret A deal")
    with pytest.raises(NotFound):
        find_deal(session=session, workspace_id=b.id, number=1)
    with pytest.raises(NotFound):
        find_deal(session=session, workspace_id=b.id, text="Secret")
    assert list_deals(session=session, workspace=b, now=T0).total == 0
    assert list_deals(session=session, workspace=a, now=T0).total == 1
    # Numbers are per workspace: B's first deal is also D1, and it is B's.
    mine = deal(session, b, lee, title="B deal")
    assert mine.number == 1
    assert find_deal(session=session, workspace_id=b.id, number=1).title == "B deal"


def test_set_fields_rejects_out_of_range_amounts_and_changes_nothing(session):
    ws = workspace(session)
    rep = member(session, ws, "U1")
    d = deal(session, ws, rep)
    with pytest.raises(InvalidInput):
        deals.set_fields(session=session, actor=rep, deal=d, now=T0, amount=Decimal("-1"))
    assert d.amount == Decimal("7590000")


def test_a_thread_message_is_recorded_once_however_often_it_arrives(session):
    ws = workspace(session)
    rep = member(session, ws, "U1")
    d = deal(session, ws, rep)
    first = deals.record_thread_message(
        session=session, deal=d, author=rep, text="hi", ts="1700000000.000200", at=T0
    )
    again = deals.record_thread_message(
        session=session, deal=d, author=rep, text="hi", ts="1700000000.000200", at=T0
    )
    assert (first, again) == (True, False)
    kinds = session.exec(select(Activity.kind).where(Activity.deal_id == d.id)).all()
    assert kinds.count("message") == 1


def test_concurrent_moves_of_one_deal_keep_deal_and_history_in_agreement(engine):
    with session_scope(engine) as session:
        ws = workspace(session)
        rep = member(session, ws, "U1")
        deal_id = deal(session, ws, rep).id
    targets = ["Qualification", "Meeting", "Proposal", "Negotiation"] * 3
    errors: list[Exception] = []

    def move(i: int, stage: str) -> None:
        try:
            with session_scope(engine) as session:
                d = session.get(Deal, deal_id)
                actor = session.get(type(rep), rep.id)
                deals.move_deal(
                    session=session,
                    actor=actor,
                    deal=d,
                    stage_text=stage,
                    now=T0 + timedelta(minutes=i + 1),
                )
        except InvalidInput:
            pass  # already in that stage: refused, nothing written
        except Exception as exc:  # pragma: no cover - a lost update or a lock error
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(i, s)) for i, s in enumerate(targets)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with Session(engine) as session:
        d = session.get(Deal, deal_id)
        rows = session.exec(
            select(StageHistory).where(StageHistory.deal_id == deal_id).order_by(StageHistory.id)
        ).all()
        # The chain is unbroken: each move starts where the previous one ended,
        # and the deal is where the last row says.
        for prev, row in zip(rows, rows[1:], strict=False):
            assert row.from_stage_id == prev.to_stage_id
        assert rows[-1].to_stage_id == d.stage_id
        moves = session.exec(
            select(Activity).where(Activity.deal_id == deal_id, Activity.kind == "moved")
        ).all()
        assert len(moves) == len(rows) - 1
