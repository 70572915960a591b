"""The four report commands, through ``commands.handlers.run``, as a user would read them.

Every reply is checked in English and Korean against Slack's Block Kit rules
(tests/fakeslack/blockkit.py); charts must be real PNGs.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from commands import types as c
from commands.context import Ctx
from commands.handlers import run
from domain import deals
from domain.clock import FixedClock
from domain.errors import InvalidInput, NotFound
from domain.refs import find_pipeline, stages_of
from i18n import fmt
from storage.models import Role
from tests import factories as f
from tests.factories import T0
from tests.fakeslack.blockkit import validate_message
from views import chart_specs
from views.text import render

DAY = timedelta(days=1)
LOCALES = ["en", "ko"]


@pytest.fixture
def ws(session):
    return f.workspace(session)


@pytest.fixture
def boss(session, ws):
    return f.member(session, ws, "UBOSS", Role.admin, name="Boss")


def ctx_for(session, ws, member, locale):
    member.locale = locale
    return Ctx(session=session, workspace=ws, member=member, clock=FixedClock(T0))


def reply(outcome):
    message = outcome.reply
    assert validate_message({"text": message.text, "blocks": message.blocks}) == []
    assert message.text.strip()
    return render(message).replace("*", "")  # what a reader sees, without the bold marks


def assert_png(content: bytes):
    from matplotlib.image import imread

    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = imread(io.BytesIO(content), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100


@pytest.fixture
def busy(session, ws, boss):
    """A workspace with won, lost and open deals, one of them the docs/concepts.md 50 % example."""
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    meeting = next(
        s for s in stages_of(session=session, pipeline_id=pipeline.id) if s.name == "Meeting"
    )
    meeting.probability = 50
    session.add(meeting)
    kim = f.member(session, ws, "UKIM", name="Kim")
    for i, (amount, created, closed, won) in enumerate(
        [("1000000", 40, 10, True), ("3000000", 60, 5, True), ("500000", 20, 3, False)]
    ):
        d = f.deal(session, ws, boss, f"Closed {i}", amount, now=T0 - created * DAY, owner=kim)
        deals.move_deal(
            session=session, actor=boss, deal=d, stage_text="Meeting", now=T0 - (created - 2) * DAY
        )
        deals.close_deal(session=session, actor=boss, deal=d, won=won, now=T0 - closed * DAY)
    f.deal(
        session,
        ws,
        boss,
        "Acme ERP",
        "7590000",
        now=T0 - 9 * DAY,
        stage_text="Meeting",
        close=date(2026, 12, 20),
    )
    f.deal(
        session,
        ws,
        boss,
        "Old lead",
        "2000000",
        now=T0 - 30 * DAY,
        close=date(2026, 10, 1),
        owner=kim,
    )
    return kim


# --- empty workspaces ---------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_empty_workspace_reports_render_with_dashes(session, ws, boss, locale):
    ctx = ctx_for(session, ws, boss, locale)
    board = reply(run(c.PipelineBoard(), ctx))
    assert "Contact" in board and "Negotiation" in board
    out = run(c.PipelineMetrics(), ctx)
    text = reply(out)
    assert fmt.EMPTY in text
    assert out.uploads == ()  # nothing moved: no funnel to draw
    forecast = run(c.PipelineForecast(), ctx)
    assert forecast.uploads == ()
    assert ("No open deals" if locale == "en" else "진행 중인 딜이 없습니다") in reply(forecast)


def test_plan_without_history_asks_for_the_missing_figures(session, ws, boss):
    ctx = ctx_for(session, ws, boss, "ko")
    with pytest.raises(InvalidInput) as err:
        run(c.PipelinePlan(target=c.Amount(Decimal(100_000_000))), ctx)
    assert err.value.key == "reports.plan_no_avg"
    assert "avg:" in err.value.render("ko")


# --- board --------------------------------------------------------------------------------------


def test_board_in_korean_writes_won_the_korean_way(session, ws, boss, busy):
    text = reply(run(c.PipelineBoard(), ctx_for(session, ws, boss, "ko")))
    # 7,590,000 at 50 % is 3,795,000: a board figure is a summary, rounded to 만원.
    assert "예상 매출 380만원" in text and "379만 5천원" not in text
    assert "정체된 딜 1건" in text  # the 30-day-old deal in Contact (7 stall days)
    en = reply(run(c.PipelineBoard(), ctx_for(session, ws, boss, "en")))
    assert "₩3,800,000" in en and "₩3,795,000" not in en and "Stalled 1" in en


def test_board_of_a_named_pipeline_and_an_unknown_one(session, ws, boss, busy):
    ctx = ctx_for(session, ws, boss, "en")
    assert "Renewal due" in reply(run(c.PipelineBoard(name="renew"), ctx))
    with pytest.raises(NotFound):
        run(c.PipelineBoard(name="nope"), ctx)


# --- metrics ------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_metrics_show_section_2_and_attach_the_funnel(session, ws, boss, busy, locale):
    out = run(c.PipelineMetrics(), ctx_for(session, ws, boss, locale))
    text = reply(out)
    assert "67%" in text  # win rate: 2 won / 3 closed
    assert fmt.money(Decimal(2_000_000), "KRW", locale) in text  # average won deal
    assert "Meeting" in text and "<@UKIM>" not in text  # views.text shows mentions as @id
    assert "@UKIM" in text
    [upload] = out.uploads
    assert upload.filename.endswith(".png")
    assert_png(chart_specs.render(upload.chart))


def test_metrics_for_a_period_an_owner_and_all_pipelines(session, ws, boss, busy):
    ctx = ctx_for(session, ws, boss, "en")
    quarter = c.Period(start=date(2026, 7, 1), end=date(2026, 10, 1), label="2026-Q3")
    text = reply(run(c.PipelineMetrics(period=quarter), ctx))
    assert "2026-Q3" in text and "Win rate\n—" in text  # nothing closed in Q3
    mine = reply(run(c.PipelineMetrics(owner=c.UserRef(slack_id="UKIM")), ctx))
    assert "Owner: @UKIM" in mine and "Open deals\n1 ·" in mine
    everything = reply(run(c.PipelineMetrics(pipeline="all"), ctx))
    assert "All pipelines" in everything
    with pytest.raises(InvalidInput):
        run(c.PipelineMetrics(period=c.Period(start=date(2026, 7, 1), end=date(2026, 7, 1))), ctx)


def test_metrics_of_a_big_team_stay_inside_block_kit(session, ws, boss):
    for i in range(40):
        rep = f.member(session, ws, f"UREP{i:02d}", name=f"Rep {i}")
        d = f.deal(session, ws, boss, f"Deal {i}", str(1000 * (i + 1)), now=T0 - 5 * DAY, owner=rep)
        if i % 3 == 0:
            deals.close_deal(session=session, actor=boss, deal=d, won=i % 2 == 0, now=T0 - DAY)
    for locale in LOCALES:
        out = run(c.PipelineMetrics(), ctx_for(session, ws, boss, locale))
        assert len(out.reply.blocks) <= 50
        text = reply(out)
        assert ("…and 30 more" if locale == "en" else "…외 30명") in text


# --- forecast -----------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_forecast_by_month_with_its_chart(session, ws, boss, busy, locale):
    out = run(c.PipelineForecast(), ctx_for(session, ws, boss, locale))
    text = reply(out)
    if locale == "en":
        assert "Oct 2026" in text and "Dec 2026" in text and "1 past the expected close" in text
    else:
        assert "2026년 10월" in text and "2026년 12월" in text and "380만원" in text
    [upload] = out.uploads
    assert_png(chart_specs.render(upload.chart))


def test_forecast_by_quarter_and_many_months(session, ws, boss):
    start = date(2026, 1, 1)
    for i in range(40):
        close = date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 15)
        f.deal(session, ws, boss, f"Deal {i}", "1000000", now=T0, close=close)
    ctx = ctx_for(session, ws, boss, "ko")
    months = run(c.PipelineForecast(by="month"), ctx)
    assert len(months.reply.blocks) <= 50
    assert "…외 16개 기간" in reply(months)
    quarters = reply(run(c.PipelineForecast(by="quarter"), ctx))
    assert "2026년 1분기" in quarters and "분기별" in quarters


# --- plan ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_plan_product_example(session, ws, boss, locale):
    cmd = c.PipelinePlan(
        target=c.Amount(Decimal(100_000_000)),
        reps=10,
        avg=c.Amount(Decimal(500_000)),
        winrate=Decimal("0.8"),
    )
    text = reply(run(cmd, ctx_for(session, ws, boss, locale)))
    if locale == "en":
        assert "Deals needed\n200" in text and "Leads needed\n250" in text
        assert "Leads per rep\n25" in text and "80%" in text
    else:
        assert "필요한 딜\n200건" in text and "필요한 리드\n250건" in text
        assert "담당자당 리드\n25건" in text and "1억원" in text


def test_plan_measures_what_it_is_not_told(session, ws, boss, busy):
    cmd = c.PipelinePlan(target=c.Amount(Decimal(20_000_000)), reps=2)
    text = reply(run(cmd, ctx_for(session, ws, boss, "en")))
    # measured: 2 won of 3 closed, 2,000,000 average: 10 deals, 15 leads, 8 per rep
    assert "Deals needed\n10" in text and "Leads needed\n15" in text and "Leads per rep\n8" in text
    assert "measured" in text and "more open deals to have the deals needed" in text


def test_plan_refuses_another_currency(session, ws, boss):
    cmd = c.PipelinePlan(
        target=c.Amount(Decimal(1000), "USD"), avg=c.Amount(Decimal(10)), winrate=Decimal("0.5")
    )
    with pytest.raises(InvalidInput) as err:
        run(cmd, ctx_for(session, ws, boss, "en"))
    assert "KRW" in err.value.render("en")
