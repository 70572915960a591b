"""docs/metrics.md metrics on small data sets checked by hand, on SQLite and PostgreSQL.

Deals are made and moved through the domain functions at explicit times, so stage history
is exactly what a team would have produced by running the commands on those days.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain import deals, leads, metrics
from domain.errors import InvalidInput
from domain.refs import find_pipeline, stages_of
from domain.stall import stall_status
from i18n import fmt
from storage.models import Role
from tests import factories as f
from tests.factories import T0

DAY = timedelta(days=1)
PERIOD = {"start": T0 - 90 * DAY, "end": T0, "now": T0}


@pytest.fixture
def ws(session):
    return f.workspace(session)


@pytest.fixture
def boss(session, ws):
    return f.member(session, ws, "UBOSS", Role.admin, name="Boss")


@pytest.fixture
def kim(session, ws, boss):
    return f.member(session, ws, "UKIM", name="Kim")


@pytest.fixture
def lee(session, ws, boss):
    return f.member(session, ws, "ULEE", name="Lee")


def deal(session, ws, actor, amount, created, **kw):
    return f.deal(
        session, ws, actor, title=f"D {amount} {created}", amount=amount, now=created, **kw
    )


def move(session, actor, d, stage, at):
    return deals.move_deal(session=session, actor=actor, deal=d, stage_text=stage, now=at).deal


def close(session, actor, d, at, won=True):
    return deals.close_deal(session=session, actor=actor, deal=d, won=won, now=at).deal


def default_pipeline(session, ws):
    return find_pipeline(session=session, workspace_id=ws.id, name=None)


def run(session, ws, **kw):
    return metrics.metrics(session=session, workspace_id=ws.id, **{**PERIOD, **kw})


# --- empty and single -----------------------------------------------------------------------


def test_an_empty_workspace_has_nothing_to_divide_by(session, ws):
    m = run(session, ws)
    assert (m.lead_count, m.won_count, m.lost_count, m.open_count) == (0, 0, 0, 0)
    for undefined in (
        m.mql_to_sql,
        m.avg_deal_size,
        m.win_rate,
        m.sales_cycle_days,
        m.sales_cycle_median_days,
        m.avg_open_age_days,
        m.velocity_per_day,
        m.bottleneck_conversion,
        m.bottleneck_time,
    ):
        assert undefined is None
    assert m.weighted_forecast == 0 and m.reps == ()
    # the open stages of both default deal pipelines: 5 new business, 1 renewals
    assert [s.conversion for s in m.stages] == [None] * 6
    assert fmt.percent(m.win_rate, "ko") == fmt.EMPTY == "—"
    b = metrics.board(
        session=session, workspace_id=ws.id, pipeline_id=default_pipeline(session, ws).id, now=T0
    )
    assert [s.name for s in b.stages] == [
        "Contact",
        "Qualification",
        "Meeting",
        "Proposal",
        "Negotiation",
    ]
    assert (b.count, b.amount, b.weighted, b.stalled) == (0, 0, 0, 0)
    forecast = metrics.forecast(session=session, workspace_id=ws.id, by="month", now=T0, tz="UTC")
    assert forecast == []
    assert metrics.open_pipeline(session=session, workspace_id=ws.id) == (0, 0, 0)


def test_a_single_open_deal_has_an_age_but_no_rates(session, ws, boss):
    deal(session, ws, boss, "7590000", T0 - 3 * DAY, stage_text="Proposal")
    m = run(session, ws)
    assert m.open_count == 1 and m.open_amount == Decimal("7590000")
    assert m.avg_open_age_days == pytest.approx(3, abs=1e-3)
    assert m.weighted_forecast == Decimal("4554000")  # 60 %
    assert m.win_rate is None and m.avg_deal_size is None and m.velocity_per_day is None


def test_a_single_won_deal(session, ws, boss):
    d = deal(session, ws, boss, "1000000", T0 - 12 * DAY)
    close(session, boss, d, T0 - 2 * DAY)
    m = run(session, ws)
    assert (m.won_count, m.lost_count, m.win_rate) == (1, 0, 1)
    assert m.avg_deal_size == Decimal("1000000")
    assert m.sales_cycle_days == pytest.approx(10, abs=1e-3)
    assert m.sales_cycle_median_days == pytest.approx(10, abs=1e-3)
    assert m.open_count == 0 and m.velocity_per_day == 0  # nothing open moves nothing


# --- the §2 figures ---------------------------------------------------------------------------


@pytest.fixture
def book(session, ws, boss, kim, lee):
    """Three won, one lost, two open in the period; one won long before it."""
    won = [
        ("1000000", 30, 10, kim),  # amount, created days ago, won days ago, owner
        ("3000000", 50, 10, kim),
        ("500000", 70, 2, lee),
    ]
    for amount, created, closed, owner in won:
        close(
            session,
            boss,
            deal(session, ws, boss, amount, T0 - created * DAY, owner=owner),
            T0 - closed * DAY,
        )
    lost = deal(session, ws, boss, "500000", T0 - 20 * DAY, owner=lee)
    close(session, boss, lost, T0 - 5 * DAY, won=False)
    old = deal(session, ws, boss, "9000000", T0 - 120 * DAY, owner=kim)
    close(session, boss, old, T0 - 100 * DAY)
    deal(session, ws, boss, "7590000", T0 - 10 * DAY, stage_text="Proposal", owner=kim)
    deal(session, ws, boss, "2000000", T0 - 4 * DAY, owner=lee)  # Contact, 10 %


def test_section_2_figures(session, ws, book):
    m = run(session, ws)
    assert (m.won_count, m.lost_count) == (3, 1)
    assert m.won_amount == Decimal("4500000")
    assert m.win_rate == Decimal(3) / Decimal(4)
    assert m.avg_deal_size == Decimal("1500000.00")
    assert m.sales_cycle_days == pytest.approx((20 + 40 + 68) / 3, abs=1e-3)
    assert m.sales_cycle_median_days == pytest.approx(40, abs=1e-3)
    assert (m.open_count, m.open_amount) == (2, Decimal("9590000"))
    assert m.avg_open_age_days == pytest.approx(7, abs=1e-3)
    assert m.weighted_forecast == Decimal("4754000")  # 7,590,000 × 60 % + 2,000,000 × 10 %
    # open × win rate × average deal size / cycle = 2 × 0.75 × 1,500,000 / (128 / 3)
    assert m.velocity_per_day == pytest.approx(Decimal("52734.38"), abs=Decimal("0.02"))


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(session, ws, boss):
    for created in (10, 20, 30, 50):
        close(session, boss, deal(session, ws, boss, "100", T0 - created * DAY), T0 - DAY)
    m = run(session, ws)
    assert m.sales_cycle_median_days == pytest.approx(24, abs=1e-3)  # (19 + 29) / 2


def test_per_rep_table(session, ws, book, kim, lee):
    rows = {r.name: r for r in run(session, ws).reps}
    assert set(rows) == {"Kim", "Lee"}
    assert (rows["Kim"].won_count, rows["Kim"].won_amount, rows["Kim"].lost_count) == (
        2,
        Decimal("4000000"),
        0,
    )
    assert rows["Kim"].open_count == 1 and rows["Kim"].weighted == Decimal("4554000")
    assert (rows["Lee"].won_count, rows["Lee"].lost_count) == (1, 1)
    assert rows["Lee"].win_rate == Decimal("0.5")
    assert [r.name for r in run(session, ws).reps] == ["Kim", "Lee"]  # by weighted amount


def test_owner_filter(session, ws, book, lee):
    m = run(session, ws, owner_id=lee.id)
    assert (m.won_count, m.lost_count, m.open_count) == (1, 1, 1)
    assert m.avg_deal_size == Decimal("500000.00")
    assert [r.name for r in m.reps] == ["Lee"]


def test_pipeline_filter(session, ws, boss, book):
    renewals = find_pipeline(session=session, workspace_id=ws.id, name="Renewals")
    deal(session, ws, boss, "300000", T0 - DAY, pipeline_name="Renewals")
    m = run(session, ws, pipeline_id=renewals.id)
    assert (m.open_count, m.won_count, m.weighted_forecast) == (1, 0, Decimal("210000"))
    assert [s.name for s in m.stages] == ["Renewal due"]
    everything = run(session, ws)
    assert everything.open_count == 3


def test_mql_to_sql_counts_leads_created_in_the_period(session, ws, boss):
    def lead(name, at, status=None):
        return leads.create_lead(
            session=session, workspace=ws, actor=boss, name=name, now=at, status=status
        )

    converted = lead("A", T0 - 10 * DAY)
    leads.convert(session=session, workspace=ws, actor=boss, lead=converted, now=T0 - 5 * DAY)
    lead("B", T0 - 20 * DAY, status="SQL")
    lead("C", T0 - 20 * DAY, status="MQL")
    lead("D", T0 - 3 * DAY)
    lead("Old", T0 - 200 * DAY, status="SQL")
    m = run(session, ws)
    assert (m.lead_count, m.qualified_leads, m.mql_to_sql) == (4, 2, Decimal("0.5"))


# --- the §2 rates, once: per pipeline, per owner, for the plan ---------------------------------


@pytest.fixture
def two_pipelines(session, ws, boss, book):
    """The book, plus a renewals pipeline with one renewed, one churned and one open deal."""
    for amount, created, closed, won in (("300000", 40, 3, True), ("100000", 25, 4, False)):
        d = deal(session, ws, boss, amount, T0 - created * DAY, pipeline_name="Renewals")
        close(session, boss, d, T0 - closed * DAY, won=won)
    deal(session, ws, boss, "250000", T0 - 6 * DAY, pipeline_name="Renewals")


def same_rates(rates, m, now=T0):
    """Every §2 rate of a :class:`metrics.Rates` group equals the one ``metrics()`` reports."""
    assert (rates.won_count, rates.won_amount, rates.lost_count) == (
        m.won_count,
        m.won_amount,
        m.lost_count,
    )
    assert (rates.open_count, rates.open_amount, rates.weighted) == (
        m.open_count,
        m.open_amount,
        m.weighted_forecast,
    )
    assert rates.avg_deal_size == m.avg_deal_size
    assert rates.win_rate == m.win_rate
    assert rates.cycle_days == pytest.approx(m.sales_cycle_days)
    assert rates.open_age_days(now) == pytest.approx(m.avg_open_age_days)
    assert rates.velocity_per_day == m.velocity_per_day


def test_rates_grouped_by_pipeline_are_each_pipelines_metrics(session, ws, two_pipelines):
    grouped = metrics.grouped_rates(
        session=session, workspace_id=ws.id, start=PERIOD["start"], end=T0, by="pipeline"
    )
    renewals = find_pipeline(session=session, workspace_id=ws.id, name="Renewals")
    new_business = default_pipeline(session, ws)
    assert set(grouped.groups) == {new_business.id, renewals.id}
    for pipeline in (new_business, renewals):
        same_rates(grouped.groups[pipeline.id], run(session, ws, pipeline_id=pipeline.id))
    same_rates(grouped.total, run(session, ws))
    assert grouped.groups[renewals.id].lost_amount == Decimal("100000")
    assert grouped.groups[renewals.id].win_rate == Decimal("0.5")


def test_rates_grouped_by_owner_are_the_per_rep_table(session, ws, two_pipelines, kim, lee):
    m = run(session, ws)
    grouped = metrics.grouped_rates(
        session=session, workspace_id=ws.id, start=PERIOD["start"], end=T0, by="owner"
    )
    same_rates(grouped.total, m)
    for rep in m.reps:
        rates = grouped.groups[rep.owner_id]
        assert (rep.open_count, rep.open_amount, rep.weighted) == (
            rates.open_count,
            rates.open_amount,
            rates.weighted,
        )
        assert (rep.won_count, rep.won_amount, rep.lost_count, rep.win_rate) == (
            rates.won_count,
            rates.won_amount,
            rates.lost_count,
            rates.win_rate,
        )
    for owner in (kim, lee):
        same_rates(grouped.groups[owner.id], run(session, ws, owner_id=owner.id))


def test_the_plan_measures_the_average_deal_size_metrics_reports(session, ws, boss):
    """Two deals won at 1,000,000.01 and 1,000,000.00: a mean of half a cent over. The plan
    and ``/pipeline metrics`` show the same cent (it used to round the other way)."""
    for amount in ("1000000.01", "1000000.00"):
        close(session, boss, deal(session, ws, boss, amount, T0 - 9 * DAY), T0 - DAY)
    close(session, boss, deal(session, ws, boss, "5", T0 - 9 * DAY), T0 - DAY, won=False)
    measured = metrics.win_stats(session=session, workspace_id=ws.id, start=PERIOD["start"], end=T0)
    m = run(session, ws)
    assert measured.avg_deal_size == m.avg_deal_size == Decimal("1000000.01")
    assert measured.win_rate == m.win_rate == Decimal(2) / Decimal(3)
    assert (measured.won_count, measured.won_amount, measured.lost_count) == (
        2,
        Decimal("2000000.01"),
        1,
    )


# --- stage conversion, time in stage, bottleneck ---------------------------------------------


@pytest.fixture
def journeys(session, ws, boss):
    a = deal(session, ws, boss, "100", T0 - 20 * DAY)  # Contact
    move(session, boss, a, "Qualification", T0 - 15 * DAY)
    move(session, boss, a, "Meeting", T0 - 10 * DAY)
    move(session, boss, a, "Qualification", T0 - 8 * DAY)  # backwards
    close(session, boss, a, T0 - 5 * DAY, won=False)
    b = deal(session, ws, boss, "100", T0 - 20 * DAY)
    close(session, boss, b, T0 - 12 * DAY)  # straight to won
    deal(session, ws, boss, "100", T0 - 6 * DAY)  # still in Contact


def stats(m):
    return {s.name: s for s in m.stages}


def test_stage_conversion_counts_deals_that_moved_on_not_back(session, ws, journeys):
    s = stats(run(session, ws, pipeline_id=default_pipeline(session, ws).id))
    assert (s["Contact"].entered, s["Contact"].progressed) == (3, 2)
    assert s["Contact"].conversion == Decimal(2) / Decimal(3)
    # a entered Qualification twice; it moved on once: one deal, converted
    assert (s["Qualification"].entered, s["Qualification"].progressed) == (1, 1)
    # from Meeting it went back, then lost: not converted
    assert (s["Meeting"].entered, s["Meeting"].progressed) == (1, 0)
    assert s["Proposal"].entered == 0 and s["Proposal"].conversion is None


def test_a_deal_back_in_a_stage_counts_once_per_period(session, ws, boss):
    """Entered Meeting before the period and twice in it; the first entry in the period led on
    (to Proposal), the second did not: one deal entered, one converted."""
    d = deal(session, ws, boss, "100", T0 - 120 * DAY)
    move(session, boss, d, "Meeting", T0 - 100 * DAY)  # before the 90-day period
    move(session, boss, d, "Contact", T0 - 95 * DAY)
    move(session, boss, d, "Meeting", T0 - 50 * DAY)
    move(session, boss, d, "Proposal", T0 - 40 * DAY)
    move(session, boss, d, "Meeting", T0 - 30 * DAY)
    move(session, boss, d, "Contact", T0 - 20 * DAY)
    s = stats(run(session, ws, pipeline_id=default_pipeline(session, ws).id))
    assert (s["Meeting"].entered, s["Meeting"].progressed) == (1, 1)
    assert (s["Contact"].entered, s["Contact"].progressed) == (1, 0)  # back at the start
    assert (s["Proposal"].entered, s["Proposal"].progressed) == (1, 0)


def test_time_in_stage_and_bottlenecks(session, ws, journeys):
    m = run(session, ws, pipeline_id=default_pipeline(session, ws).id)
    s = stats(m)
    assert s["Contact"].stays == 3
    assert s["Contact"].mean_days_in_stage == pytest.approx((5 + 8 + 6) / 3, abs=1e-3)
    assert s["Qualification"].mean_days_in_stage == pytest.approx((5 + 3) / 2, abs=1e-3)
    assert s["Meeting"].mean_days_in_stage == pytest.approx(2, abs=1e-3)
    assert s["Proposal"].mean_days_in_stage is None
    assert m.bottleneck_conversion.name == "Meeting"
    assert m.bottleneck_time.name == "Contact"


def test_a_past_period_sees_moves_made_after_it(session, ws, boss):
    """A stay that began in the period and ended after it lasts until the move, not until now."""
    d = deal(session, ws, boss, "100", T0 - 40 * DAY)
    move(session, boss, d, "Meeting", T0 - 10 * DAY)
    m = run(
        session,
        ws,
        start=T0 - 60 * DAY,
        end=T0 - 20 * DAY,
        pipeline_id=default_pipeline(session, ws).id,
    )
    s = stats(m)
    assert (s["Contact"].entered, s["Contact"].progressed) == (1, 1)
    assert s["Contact"].mean_days_in_stage == pytest.approx(30, abs=1e-3)
    assert s["Meeting"].entered == 0 and s["Meeting"].stays == 0


def test_stays_that_ended_before_the_period_do_not_count(session, ws, boss):
    d = deal(session, ws, boss, "100", T0 - 200 * DAY)
    move(session, boss, d, "Meeting", T0 - 150 * DAY)
    s = stats(run(session, ws, pipeline_id=default_pipeline(session, ws).id))
    assert s["Contact"].entered == 0 and s["Contact"].stays == 0
    # still in Meeting: that stay overlaps the period and runs until now
    assert s["Meeting"].entered == 0 and s["Meeting"].stays == 1
    assert s["Meeting"].mean_days_in_stage == pytest.approx(150, abs=1e-3)


# --- the board --------------------------------------------------------------------------------


def test_board_amounts_and_the_product_example(session, ws, boss):
    pipeline = default_pipeline(session, ws)
    meeting = next(
        s for s in stages_of(session=session, pipeline_id=pipeline.id) if s.name == "Meeting"
    )
    meeting.probability = 50
    session.add(meeting)
    deal(session, ws, boss, "7590000", T0, stage_text="Meeting")
    deal(session, ws, boss, "1000000.50", T0, stage_text="Meeting")
    closed = deal(session, ws, boss, "99", T0, stage_text="Meeting")
    close(session, boss, closed, T0)
    b = metrics.board(session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=T0)
    row = next(s for s in b.stages if s.name == "Meeting")
    assert (row.count, row.amount) == (2, Decimal("8590000.50"))
    assert row.weighted == Decimal("4295000.25")
    assert fmt.money(Decimal("3795000"), "KRW", "ko") == "379만 5천원"
    assert b.count == 2 and b.weighted == Decimal("4295000.25")


@pytest.mark.parametrize("business_days", [False, True])
def test_board_stalled_count_agrees_with_the_stall_clock(session, ws, boss, business_days):
    """The board's SQL count equals :func:`domain.stall.stall_status` deal by deal."""
    ws.stall_business_days = business_days
    session.add(ws)
    pipeline = default_pipeline(session, ws)
    now = T0 + timedelta(hours=5)
    made = []
    for hours in range(0, 24 * 40, 17):  # Contact: 7 stall days; 0 to 40 days in stage
        made.append(deal(session, ws, boss, "100", now - timedelta(hours=hours)))
    snoozed_today = deal(session, ws, boss, "100", now - 30 * DAY)
    snoozed_today.snoozed_until = f.T0.date()
    snoozed_later = deal(session, ws, boss, "100", now - 30 * DAY)
    snoozed_later.snoozed_until = f.T0.date() + DAY
    session.add_all([snoozed_today, snoozed_later])
    session.flush()
    made += [snoozed_today, snoozed_later]
    expected = sum(
        stall_status(
            stage_entered_at=d.stage_entered_at,
            stall_days=7,
            snoozed_until=d.snoozed_until,
            now=now,
            tz=ws.timezone,
            business_days=business_days,
            country=ws.holiday_country,
        ).stalled
        for d in made
    )
    b = metrics.board(session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=now)
    contact = next(s for s in b.stages if s.name == "Contact")
    assert contact.count == len(made)
    assert 0 < contact.stalled == expected < len(made)


def test_board_exactly_at_the_threshold_is_not_stalled(session, ws, boss):
    pipeline = default_pipeline(session, ws)
    deal(session, ws, boss, "100", T0 - 7 * DAY - timedelta(hours=23))  # 7 whole days
    deal(session, ws, boss, "100", T0 - 8 * DAY)  # 8 whole days
    b = metrics.board(session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=T0)
    assert b.stages[0].stalled == 1


# --- forecast ----------------------------------------------------------------------------------


def test_forecast_by_month_and_quarter(session, ws, boss):
    deal(session, ws, boss, "1000000", T0, stage_text="Proposal", close=date(2026, 11, 30))
    deal(session, ws, boss, "2000000", T0, stage_text="Contact", close=date(2026, 12, 1))
    deal(session, ws, boss, "4000000", T0, stage_text="Negotiation", close=date(2027, 1, 15))
    deal(session, ws, boss, "500000", T0, stage_text="Contact", close=date(2026, 10, 1))  # overdue
    deal(session, ws, boss, "300000", T0, stage_text="Contact")  # no date
    won = deal(session, ws, boss, "9", T0, close=date(2026, 11, 1))
    close(session, boss, won, T0)
    months = metrics.forecast(
        session=session, workspace_id=ws.id, by="month", now=T0, tz="Asia/Seoul"
    )
    assert [(r.period_label, r.count, r.amount, r.weighted, r.overdue_count) for r in months] == [
        ("2026-10", 1, Decimal("500000"), Decimal("50000"), 1),
        ("2026-11", 1, Decimal("1000000"), Decimal("600000"), 0),
        ("2026-12", 1, Decimal("2000000"), Decimal("200000"), 0),
        ("2027-01", 1, Decimal("4000000"), Decimal("3200000"), 0),
        ("", 1, Decimal("300000"), Decimal("30000"), 0),
    ]
    assert months[0].start_date == date(2026, 10, 1) and months[-1].start_date is None
    quarters = metrics.forecast(
        session=session, workspace_id=ws.id, by="quarter", now=T0, tz="Asia/Seoul"
    )
    assert [(r.period_label, r.count, r.weighted) for r in quarters] == [
        ("2026-Q4", 3, Decimal("850000")),
        ("2027-Q1", 1, Decimal("3200000")),
        ("", 1, Decimal("30000")),
    ]
    assert quarters[1].start_date == date(2027, 1, 1)
    assert metrics.open_pipeline(session=session, workspace_id=ws.id) == (
        5,
        Decimal("7800000"),
        Decimal("4080000"),
    )


# --- plan --------------------------------------------------------------------------------------


def test_plan_product_example():
    p = metrics.plan(
        target=Decimal(100_000_000),
        avg_deal_size=Decimal(500_000),
        win_rate=Decimal("0.8"),
        reps=10,
    )
    assert (p.deals_needed, p.leads_needed, p.per_rep) == (200, 250, 25)


def test_plan_rounds_up_to_whole_deals_and_leads():
    p = metrics.plan(
        target=Decimal(1_000_000), avg_deal_size=Decimal(300_000), win_rate=Decimal("0.3")
    )
    assert (p.deals_needed, p.leads_needed, p.per_rep) == (4, 14, None)


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"target": Decimal(0)}, "reports.plan_bad_target"),
        ({"avg_deal_size": None}, "reports.plan_no_avg"),
        ({"win_rate": None}, "reports.plan_no_winrate"),
        ({"win_rate": Decimal("1.5")}, "reports.plan_no_winrate"),
        ({"reps": 0}, "reports.plan_bad_reps"),
    ],
)
def test_plan_refuses_what_it_cannot_divide_by(kw, key):
    args = {"target": Decimal(1000), "avg_deal_size": Decimal(10), "win_rate": Decimal("0.5")}
    with pytest.raises(InvalidInput) as err:
        metrics.plan(**{**args, **kw})
    assert err.value.key == key
    assert err.value.render("ko") and err.value.render("en")
