"""Probability calibration and the pipeline coach, on hand-checked data (docs/metrics.md).

Calibration: 24 deals closed in the last 180 days reached Proposal (set to 60 %), 7 of them were
won: 29 %, flagged (24 ≥ 20 deals, 31 points off). Two deals closed 200 days ago do not count;
a deal that passed Proposal twice counts once.

Coach, for Lee in November 2026 (T0 is Monday 2 November, 09:30 in Seoul): over the last 180
days Lee won 4 deals of 20,000,000 (40 days each from creation) and lost 4: win rate 50 %,
average deal 20,000,000, cycle 40 days. Quota for 2026-11: 100,000,000; won in November: one
deal, 20,000,000; 80,000,000 to go. Open deals closing by 30 November: A (50,000,000 at
Proposal 60 %, 20 Nov) and D (10,000,000 at Contact 10 %, stalled): weighted 31,000,000, so
49,000,000 not covered. Needs: ⌈80m / 20m⌉ = 4 wins, ⌈4 / 50 %⌉ = 8 leads, and
⌈49m / (20m × 50 %)⌉ = 5 new deals. The quarter has no quota of its own: the month's × 3 =
300,000,000; won 80,000,000 in Q4; pipeline closing by 31 Dec adds B (10,000,000 at Meeting
40 %): weighted 35,000,000; needs ⌈220m / 20m⌉ = 11 wins, 22 leads, ⌈185m / 10m⌉ = 19 deals.
Work first: D (stalled), then A (30,000,000 weighted, 18 days out), then C (24,000,000
weighted, no close date: counted 90 days out) before B (4,000,000, 43 days out).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from commands.context import Ctx
from commands.dispatch import execute
from domain import coach as dc
from domain import deals
from domain.clock import FixedClock
from domain.errors import InvalidInput, NotAllowed
from domain.metrics import calibration as cal
from domain.refs import find_pipeline, stages_of
from scheduler import jobs
from storage.models import Outbox, Quota, Role
from tests import factories as f
from tests.factories import T0
from tests.fakeslack.blockkit import validate_message
from views.text import render

DAY = timedelta(days=1)


def ctx_for(session, ws, member, locale="en"):
    member.locale = locale
    return Ctx(session=session, workspace=ws, member=member, clock=FixedClock(T0))


def said(session, ws, member, text, locale="en"):
    outcome = execute(ctx_for(session, ws, member, locale), "pipeline", text)
    message = outcome.reply
    assert validate_message({"text": message.text, "blocks": message.blocks}) == []
    return render(message).replace("*", "")


@pytest.fixture
def ws(session):
    return f.workspace(session)


@pytest.fixture
def boss(session, ws):
    return f.member(session, ws, "UBOSS", Role.admin, name="Boss")


def stage(session, ws, name):
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    return next(s for s in stages_of(session=session, pipeline_id=pipeline.id) if s.name == name)


def move(session, actor, deal, name, at):
    deals.move_deal(session=session, actor=actor, deal=deal, stage_text=name, now=at)


def close(session, actor, deal, won, at):
    deals.close_deal(session=session, actor=actor, deal=deal, won=won, now=at)


# --- calibration ---------------------------------------------------------------------------


@pytest.fixture
def reached_proposal(session, ws, boss):
    contact = stage(session, ws, "Contact")
    contact.probability = 25  # measured 29 %: 4 points off, not flagged
    session.add(contact)
    for i in range(24):
        d = f.deal(session, ws, boss, f"Deal {i}", "1000000", now=T0 - 100 * DAY)
        move(session, boss, d, "Proposal", T0 - 90 * DAY)
        if i == 0:  # through Proposal twice: one deal, once
            move(session, boss, d, "Meeting", T0 - 80 * DAY)
            move(session, boss, d, "Proposal", T0 - 70 * DAY)
        close(session, boss, d, i < 7, T0 - 30 * DAY)
    for i in range(2):  # closed 200 days ago: outside the window
        d = f.deal(session, ws, boss, f"Old {i}", "1000000", now=T0 - 260 * DAY)
        move(session, boss, d, "Proposal", T0 - 250 * DAY)
        close(session, boss, d, False, T0 - 200 * DAY)
    session.flush()


def test_calibration_measures_the_share_of_closed_deals_that_reached_each_stage(
    session, ws, reached_proposal
):
    rows = {r.stage: r for r in cal.calibration(session=session, workspace_id=ws.id, now=T0)}
    proposal = rows["Proposal"]
    assert (proposal.configured, proposal.reached, proposal.won, proposal.measured) == (
        60,
        24,
        7,
        29,
    )
    assert proposal.flagged
    assert (rows["Contact"].reached, rows["Contact"].measured, rows["Contact"].flagged) == (
        24,
        29,
        False,
    )
    assert (rows["Meeting"].reached, rows["Meeting"].flagged) == (1, False)  # too few
    assert (rows["Qualification"].reached, rows["Qualification"].measured) == (0, None)
    assert [r.stage for r in cal.flagged(list(rows.values()))] == ["Proposal"]


def test_nineteen_deals_are_not_enough_to_flag_a_stage(session, ws, boss):
    for i in range(19):
        d = f.deal(session, ws, boss, f"Deal {i}", "1000000", now=T0 - 100 * DAY)
        move(session, boss, d, "Proposal", T0 - 90 * DAY)
        close(session, boss, d, False, T0 - 30 * DAY)
    rows = {r.stage: r for r in cal.calibration(session=session, workspace_id=ws.id, now=T0)}
    assert (rows["Proposal"].reached, rows["Proposal"].measured) == (19, 0)
    assert not rows["Proposal"].flagged


@pytest.mark.parametrize(
    "locale, line, button",
    [
        (
            "en",
            "New business · Proposal is set to 60%, but 29% of the 24 deals that reached it "
            "were won.",
            "Set Proposal to 29%",
        ),
        (
            "ko",
            "New business · Proposal 단계의 가능성은 60%로 설정되어 있지만, 이 단계를 거친 딜 "
            "24건 중 29%만 성사되었습니다.",
            "Proposal 단계를 29%로",
        ),
    ],
)
def test_metrics_flag_the_stage_and_offer_the_measured_value(
    session, ws, boss, reached_proposal, locale, line, button
):
    text = said(session, ws, boss, "metrics", locale)
    assert line in text
    assert button in text


def test_an_admin_applies_the_measured_probability_with_the_button_s_command(
    session, ws, boss, reached_proposal
):
    text = said(session, ws, boss, 'calibrate Proposal pipeline:"New business"')
    assert text.strip() == (
        "New business · Proposal: probability 60% → 29% "
        "(7 of 24 deals that reached it in the last 180 days were won)."
    )
    assert stage(session, ws, "Proposal").probability == 29
    assert "Proposal is set to" not in said(session, ws, boss, "metrics")


def test_a_rep_cannot_apply_it_and_nothing_changes(session, ws, boss, reached_proposal):
    rep = f.member(session, ws, "UREP", Role.rep, name="Rep")
    with pytest.raises(NotAllowed):
        said(session, ws, rep, "calibrate Proposal")
    assert stage(session, ws, "Proposal").probability == 60


def test_a_stage_with_too_few_deals_is_not_calibrated(session, ws, boss, reached_proposal):
    with pytest.raises(InvalidInput) as err:
        said(session, ws, boss, "calibrate Meeting")
    assert err.value.render("en").startswith(
        "Only 1 closed deal reached Meeting in the last 180 days; at least 20 are needed"
    )
    assert stage(session, ws, "Meeting").probability == 40


def test_the_weekly_summary_names_the_stage_to_recalibrate(session, ws, boss, reached_proposal):
    ws.digest_channel = "CDIGEST"
    f.deal(session, ws, boss, "New this week", "1000000", now=T0 - 3 * DAY)
    planned = jobs.plan_weekly_summary(session, ws, T0, True)
    first = planned[0].messages[0]
    assert validate_message({"text": first.text, "blocks": first.blocks}) == []
    assert "Proposal 단계의 가능성은 60%로 설정되어 있지만" in render(first)


# --- coach -------------------------------------------------------------------------------


@pytest.fixture
def lee(session, ws, boss):
    lee = f.member(session, ws, "ULEE", Role.rep, name="Lee")
    f.member(session, ws, "UKIM", Role.rep, name="Kim")
    for i in range(4):  # won: three in October, one in November; 40 days each
        closed = T0 - 20 * DAY if i < 3 else T0 - timedelta(hours=1)
        d = f.deal(session, ws, boss, f"Won {i}", "20000000", now=closed - 40 * DAY, owner=lee)
        close(session, boss, d, True, closed)
    for i in range(4):
        d = f.deal(session, ws, boss, f"Lost {i}", "5000000", now=T0 - 50 * DAY, owner=lee)
        close(session, boss, d, False, T0 - 10 * DAY)
    a = f.deal(session, ws, boss, "A", "50000000", now=T0 - DAY, owner=lee)
    move(session, boss, a, "Proposal", T0 - DAY)
    a.expected_close = date(2026, 11, 20)
    b = f.deal(session, ws, boss, "B", "10000000", now=T0 - DAY, owner=lee)
    move(session, boss, b, "Meeting", T0 - DAY)
    b.expected_close = date(2026, 12, 15)
    c = f.deal(session, ws, boss, "C", "30000000", now=T0 - DAY, owner=lee)
    move(session, boss, c, "Negotiation", T0 - DAY)
    d = f.deal(session, ws, boss, "D", "10000000", now=T0 - 30 * DAY, owner=lee)
    d.expected_close = date(2026, 11, 30)
    session.add_all([a, b, d])
    session.flush()
    said(session, ws, boss, "quota @Lee 1억 period:2026-11")
    return lee


def test_the_coach_works_out_the_month_and_the_quarter_from_lee_s_own_numbers(session, ws, lee):
    data = dc.coach(session=session, workspace=ws, member=lee, now=T0, team_size=2)
    assert (data.numbers.win_rate, data.numbers.avg_deal_size, data.numbers.own) == (
        Decimal("0.5"),
        Decimal("20000000.00"),
        True,
    )
    assert round(data.numbers.cycle_days, 6) == 40
    month = data.month
    assert (month.span.label, month.amount, month.source, month.won) == (
        "2026-11",
        Decimal("100000000"),
        "own",
        Decimal("20000000.00"),
    )
    assert (month.open_count, month.open_weighted, month.shortfall) == (
        2,
        Decimal("31000000.00"),
        Decimal("49000000.00"),
    )
    assert data.needs(month) == dc.Needs(deals=4, leads=8, more_deals=5)
    quarter = data.quarter
    assert (quarter.span.label, quarter.amount, quarter.won, quarter.open_weighted) == (
        "2026-Q4",
        Decimal("300000000.00"),
        Decimal("80000000.00"),
        Decimal("35000000.00"),
    )
    assert data.needs(quarter) == dc.Needs(deals=11, leads=22, more_deals=19)
    assert [(d.title, d.stalled) for d in data.focus] == [("D", True), ("A", False), ("C", False)]


def test_coach_me_in_english(session, ws, lee):
    text = said(session, ws, lee, "coach")
    for line in [
        "Pipeline coach: Lee",
        "Your last 180 days: win rate 50% · average deal ₩20,000,000 · sales cycle 40 days",
        "This month (2026-11): target ₩100,000,000 (your quota) · won ₩20,000,000 · "
        "₩80,000,000 to go",
        "Open deals closing by then: 2, expected revenue ₩31,000,000 · not yet covered: ₩49,000,000",
        "To close the gap: win 4 more deals, from 8 leads; add 5 new deals to your pipeline",
        "This quarter (2026-Q4): target ₩300,000,000 (your quota) · won ₩80,000,000",
        "• :warning: D12 D · Contact (stalled) · expected revenue ₩1,000,000 · closes Nov 30, 2026",
        "• D9 A · Proposal · expected revenue ₩30,000,000 · closes Nov 20, 2026",
        "• D11 C · Negotiation · expected revenue ₩24,000,000 · no close date",
    ]:
        assert line in text, line


def test_coach_me_in_korean(session, ws, lee):
    text = said(session, ws, lee, "코치", "ko")
    for line in [
        "파이프라인 코치: Lee",
        "최근 180일 내 실적: 성사율 50% · 평균 거래 규모 2천만원 · 영업 주기 40일",
        "이번 달 (2026-11): 목표 1억원 (개인 목표) · 성사 2천만원 · 남은 금액 8천만원",
        "목표까지: 딜 4건을 더 성사시켜야 하고, 그러려면 리드 8건이 필요합니다.",
        "새 딜 5건을 더 만드세요.",
    ]:
        assert line in text, line


def test_a_team_quota_is_shared_among_the_reps_and_a_newcomer_borrows_the_team_s_numbers(
    session, ws, boss, lee
):
    said(session, ws, boss, "quota team 3억 period:2026-11")
    kim = next(m for m in dc.reps(session=session, workspace=ws) if m.name == "Kim")
    data = dc.coach(session=session, workspace=ws, member=kim, now=T0, team_size=2)
    assert (data.month.amount, data.month.source) == (Decimal("150000000.00"), "team")
    assert not data.numbers.own and data.numbers.win_rate == Decimal("0.5")
    assert "The team's last 180 days" in said(session, ws, kim, "coach")
    team = said(session, ws, boss, "coach team")
    assert "@ULEE: target ₩100,000,000 · won ₩20,000,000" in team
    assert "@UKIM: target ₩150,000,000 · won ₩0" in team
    assert "Team: target ₩250,000,000 · won ₩20,000,000" in team


def test_without_any_quota_the_coach_says_how_to_set_one(session, ws, boss):
    rep = f.member(session, ws, "UREP", Role.rep, name="Rep")
    text = said(session, ws, rep, "coach me")
    assert "This month (2026-11): no quota set." in text
    assert jobs.plan_pipeline_coach(session, ws, T0, True) == []


@pytest.mark.parametrize(
    "text, error",
    [
        ("quota @Lee 1억 period:90d", "A quota is for one calendar month"),
        ("quota @Lee period:2027-Q1", "How much? Give the quota as an amount"),
        ("quota 1억 period:2027-Q1", "Whose quota? Mention the person"),
        ("quota @Lee 0 period:2027-Q1", "A quota must be more than zero."),
        ("quota @Lee $5,000 period:2027-Q1", "The quota is in USD, but this workspace's"),
    ],
)
def test_bad_quotas_say_how_to_write_them_and_store_nothing(session, ws, boss, lee, text, error):
    before = len(session.exec(select(Quota)).all())
    with pytest.raises(InvalidInput) as err:
        said(session, ws, boss, text)
    assert error in err.value.render("en")
    assert len(session.exec(select(Quota)).all()) == before


def test_only_admins_set_quotas(session, ws, lee):
    with pytest.raises(NotAllowed):
        said(session, ws, lee, "quota @Lee 5억 period:2026-11")


def test_a_quota_is_replaced_not_doubled_and_the_amount_is_read_back(session, ws, boss, lee):
    text = said(session, ws, boss, "quota @Lee 1억5천 period:2026-11")
    assert "Quota set: @ULEE · 2026-11 · ₩150,000,000" in text
    assert "Amount read as ₩150,000,000." in text
    rows = session.exec(select(Quota).where(Quota.scope == f"m{lee.id}")).all()
    assert [(r.period, r.amount) for r in rows] == [("2026-11", Decimal("150000000.00"))]


def test_the_monday_coaching_dm_is_recorded_once_per_rep_and_week(engine, session, ws, lee):
    session.commit()
    for _ in range(2):
        result = jobs.run_for_workspace(
            engine, jobs.PIPELINE_COACH, ws.id, at=T0, now=T0, force=False
        )
        assert result.error is None
    session.expire_all()
    rows = session.exec(select(Outbox).where(Outbox.job == jobs.PIPELINE_COACH)).all()
    assert [r.key.split(":")[2:] for r in rows] == [["dm", "ULEE", "2026-W45"]]


def test_the_apply_button_in_pipeline_metrics_recalibrates_the_stage_end_to_end(db_url):
    """Signed requests into the running app: `/pipeline metrics` offers the measured value,
    an admin's click applies it, a rep's click changes nothing."""
    from sqlmodel import Session

    from storage.db import make_engine
    from tests.slackapp import running_app, wait

    engine = make_engine(db_url)
    with Session(engine) as session:
        ws = f.workspace(session, locale="en")
        boss = f.member(session, ws, "U1", Role.admin, name="Boss")
        f.member(session, ws, "U2", Role.rep, name="Rep")
        for i in range(24):
            d = f.deal(session, ws, boss, f"Deal {i}", "1000000", now=T0 - 100 * DAY)
            close(session, boss, d, i < 7, T0 - 30 * DAY)
        ws_id = ws.id
        session.commit()
    engine.dispose()

    def contact_probability(app):
        with Session(app.engine) as session:
            return stage(session, session.get(type(ws), ws_id), "Contact").probability

    with running_app(db_url) as app:
        status, reply = app.command("/pipeline", "metrics")
        assert status == 200
        buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
        (apply,) = [b for b in buttons if b["action_id"].startswith("help.run:calibrate:")]
        assert apply["text"]["text"] == "Set Contact to 29%"
        status, _ = app.action([{**apply, "block_id": "x", "action_ts": "1.2"}], user="U2")
        assert status == 200
        (refusal,) = wait(lambda: [c for c in app.slack.calls if c.method == "response_url"])
        assert "admin" in refusal.args["text"]
        assert contact_probability(app) == 10
        status, _ = app.action([{**apply, "block_id": "x", "action_ts": "1.3"}], user="U1")
        assert status == 200
        wait(lambda: contact_probability(app) == 29, what="the admin's click applied")
        assert app.slack.problems == []
