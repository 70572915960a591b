"""Renewal deals: a won deal gets one, in the Renewals pipeline, a year (or N months) on."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from domain import deals
from domain.errors import InvalidInput
from domain.renewals import add_months, create_renewal
from storage.models import Deal, Outbox, Pipeline, Stage, StageHistory, Workspace
from tests import factories as f


def _won(session, **kw):
    ws = f.workspace(session)
    rep = f.member(session, ws, "U1")
    d = f.deal(session, ws, rep, company_name="Acme", **kw)
    deals.close_deal(session=session, actor=rep, deal=d, won=True, now=f.T0 + timedelta(days=3))
    return ws, rep, d


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(date(2026, 11, 5), 12) == date(2027, 11, 5)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_won_deal_gets_a_renewal_deal_a_year_on_with_mrr_amount_over_12(session):
    ws, rep, won = _won(session)
    at = f.T0 + timedelta(days=4)
    renewal = create_renewal(session=session, deal=won, now=at, actor=rep)
    assert renewal.number == 2 and renewal.renewal_of_id == won.id
    assert session.get(Pipeline, renewal.pipeline_id).name == "Renewals"
    assert session.get(Stage, renewal.stage_id).name == "Renewal due"
    # Won on 2026-11-05 in Seoul: renews 2027-11-05.
    assert renewal.renewal_date == renewal.expected_close == date(2027, 11, 5)
    assert renewal.mrr == Decimal("632500")
    assert (renewal.title, renewal.amount, renewal.currency) == ("Acme ERP", 7590000, "KRW")
    assert (renewal.owner_id, renewal.company_id) == (rep.id, won.company_id)
    assert renewal.closed_at is None and renewal.stage_entered_at == at
    rows = session.exec(select(StageHistory).where(StageHistory.deal_id == renewal.id)).all()
    assert [(r.from_stage_id, r.to_stage_id) for r in rows] == [(None, renewal.stage_id)]
    # The won deal shows its renewal date and MRR too.
    assert (won.renewal_date, won.mrr) == (date(2027, 11, 5), Decimal("632500"))


def test_creating_it_twice_gives_the_same_deal(session):
    ws, rep, won = _won(session)
    first = create_renewal(session=session, deal=won, now=f.T0 + timedelta(days=4))
    again = create_renewal(session=session, deal=won, now=f.T0 + timedelta(days=9), months=6)
    assert again.id == first.id
    assert len(session.exec(select(Deal).where(Deal.renewal_of_id == won.id)).all()) == 1
    assert len(session.exec(select(Deal)).all()) == 2


def test_months_and_a_set_renewal_date_and_mrr_are_used(session):
    ws, rep, won = _won(session)
    r6 = create_renewal(session=session, deal=won, months=6, now=f.T0 + timedelta(days=4))
    assert r6.renewal_date == date(2027, 5, 5)
    ws2 = f.workspace(session, "T2")
    rep2 = f.member(session, ws2, "U2")
    d = f.deal(session, ws2, rep2)
    deals.set_renewal(
        session=session,
        actor=rep2,
        deal=d,
        now=f.T0,
        renewal_date=date(2027, 3, 1),
        mrr=Decimal("700000"),
    )
    deals.close_deal(session=session, actor=rep2, deal=d, won=True, now=f.T0)
    r = create_renewal(session=session, deal=d, now=f.T0)
    assert (r.renewal_date, r.mrr) == (date(2027, 3, 1), Decimal("700000"))


def test_only_a_won_deal_gets_a_renewal(session):
    ws = f.workspace(session)
    rep = f.member(session, ws, "U1")
    open_deal = f.deal(session, ws, rep)
    with pytest.raises(InvalidInput) as e:
        create_renewal(session=session, deal=open_deal, now=f.T0)
    assert e.value.render("en") == "D1 is not won: only a won deal gets a renewal deal."
    assert e.value.render("ko") == (
        "갱신 딜은 성사된 딜에만 만들 수 있습니다. D1 딜은 아직 성사 전입니다."
    )
    with pytest.raises(InvalidInput) as e:
        create_renewal(session=session, deal=open_deal, now=f.T0, months=0)
    assert e.value.render("en") == "A renewal is 1 to 120 months after the win, not 0."
    assert session.exec(select(Deal)).all() == [open_deal]


def test_the_database_allows_one_renewal_per_won_deal(engine):
    """The unique index holds even for a writer that skips the domain's check."""
    from sqlalchemy.exc import IntegrityError

    with Session(engine) as session:
        ws, rep, won = _won(session)
        create_renewal(session=session, deal=won, now=f.T0)
        session.commit()
        other = f.deal(session, ws, rep, title="other")
        other.renewal_of_id = won.id
        session.add(other)
        with pytest.raises(IntegrityError):
            session.commit()


# --- renewal alerts for won deals (scheduler) ---------------------------------------------


def _alerts(engine, at):
    from datetime import UTC, datetime

    from scheduler import jobs

    with Session(engine) as s:
        ws_id = s.exec(select(Workspace)).one().id
    return jobs.run_for_workspace(
        engine, jobs.RENEWAL_ALERTS, ws_id, at=at, now=datetime.now(UTC), force=True
    )


def test_a_won_deals_renewal_date_is_alerted_once_per_offset(engine):
    from datetime import UTC, datetime

    with Session(engine) as s:
        ws = f.workspace(s, digest_channel="CDIGEST")
        rep = f.member(s, ws, "UREP")
        d = f.deal(s, ws, rep)
        deals.close_deal(session=s, actor=rep, deal=d, won=True, now=f.T0)
        deals.set_renewal(
            session=s, actor=rep, deal=d, now=f.T0, renewal_date=date(2027, 1, 1), mrr=Decimal(1)
        )
        lost = f.deal(s, ws, rep, title="Lost one")
        deals.close_deal(session=s, actor=rep, deal=lost, won=False, now=f.T0)
        deals.set_renewal(session=s, actor=rep, deal=lost, now=f.T0, renewal_date=date(2027, 1, 1))
        s.commit()
    thirty_before = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    first = _alerts(engine, thirty_before)
    assert first.recorded == 2  # the owner's DM and the digest channel; the lost deal: none
    assert _alerts(engine, thirty_before + timedelta(hours=3)).recorded == 0
    with Session(engine) as s:
        periods = {r.period for r in s.exec(select(Outbox))}
    assert periods == {"d1/2027-01-01/30"}


def test_once_the_renewal_deal_exists_it_carries_the_alerts(engine):
    from datetime import UTC, datetime

    with Session(engine) as s:
        ws, rep, won = _won(s)
        renewal = create_renewal(session=s, deal=won, now=f.T0 + timedelta(days=4))
        renewal_id = renewal.id
        s.commit()
    # Renews 2027-11-05; 30 days before is 2027-10-06.
    result = _alerts(engine, datetime(2027, 10, 6, 9, 0, tzinfo=UTC))
    assert result.recorded == 1  # the owner's DM (no digest channel, no card thread)
    with Session(engine) as s:
        assert {r.period for r in s.exec(select(Outbox))} == {f"d{renewal_id}/2027-11-05/30"}
