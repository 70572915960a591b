"""Sales sense (issue 13): closing asks first, reopen is explicit, closed deals are not snoozed,
new deals are questioned (past close date, duplicates), lists filter by close date and sort.

Exact replies in English and Korean, through the console (the same handlers as Slack; its
``:click N`` presses a reply's button). The Slack path, with signed requests, buttons and
response_url, is tests/test_sales_sense_e2e.py.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from cli.console import Console
from domain.clock import FixedClock
from domain.workspaces import WorkspaceDefaults
from storage.db import make_engine
from storage.models import Deal, Lead, Stage
from tests.factories import T0  # Monday 2026-11-02, 09:30 in Seoul


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def console(engine, locale: str, user: str = "U1") -> Console:
    return Console(
        engine,
        team_id="T1",
        user_id=user,
        user_name=user,
        clock=FixedClock(T0),
        defaults=WorkspaceDefaults(locale=locale, stage_names="en", automation=False),
        out=io.StringIO(),
    )


def reply(c: Console, line: str) -> str:
    name, _, text = line.lstrip("/").partition(" ")
    before = len(c.out.getvalue())
    outcome = c.command(name, text)
    if outcome is None:  # an error: the console printed it
        return c.out.getvalue()[before:].strip()
    return outcome.reply.text


def last_line(c: Console) -> str:
    return c.out.getvalue().strip().splitlines()[-1]


def stage_of(engine, number: int) -> str:
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.number == number)).one()
        return s.get(Stage, deal.stage_id).name


WON_ASKS = {
    "en": "Mark D1 “Acme ERP” (₩7,590,000) as won (Won)?",
    "ko": "D1 “Acme ERP” (759만원) 딜을 성사로 처리할까요? (Won 단계)",
}


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_won_asks_first_and_cancel_changes_nothing(engine, locale):
    c = console(engine, locale)
    reply(c, '/deal new "Acme ERP" amount:7590000 company:Acme')
    assert reply(c, "/deal won 1") == WON_ASKS[locale]
    assert [b["text"]["text"] for b in c.buttons] == (
        ["Confirm", "Cancel"] if locale == "en" else ["확인", "취소"]
    )
    assert stage_of(engine, 1) == "Contact"
    outcome = c.click("2")
    assert outcome.replace is True
    assert (
        outcome.reply.text
        == {
            "en": "Cancelled: D1 is unchanged.",
            "ko": "취소했습니다. D1 딜은 그대로입니다.",
        }[locale]
    )
    assert stage_of(engine, 1) == "Contact"


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_confirming_a_win_wins_and_offers_the_renewal_deal(engine, locale):
    c = console(engine, locale)
    reply(c, '/deal new "Acme ERP" amount:7590000 company:Acme')
    reply(c, "/deal won 1")
    won = c.click("1")
    assert stage_of(engine, 1) == "Won" and won.replace is True
    assert (
        won.reply.text
        == {
            "en": "🎉 <@U1> won D1.",
            "ko": "🎉 <@U1>님이 D1 딜을 성사시켰습니다.",
        }[locale]
    )
    assert (
        won.reply.blocks[1]["text"]["text"]
        == {
            "en": "Create its renewal deal in Renewals (renews a year after the win)?",
            "ko": "갱신 관리 파이프라인에 이 딜의 갱신 딜을 만들까요? (성사 1년 뒤 갱신)",
        }[locale]
    )
    offer = list(c.buttons)
    created = c.click("1")
    assert (
        created.reply.text
        == {
            "en": "<@U1> created D2 “Acme ERP” in Renewals, the renewal of D1: "
            "renews Nov 2, 2027, MRR ₩632,500.",
            "ko": "<@U1>님이 D1의 갱신 딜 D2 “Acme ERP” 딜을 Renewals 파이프라인에 만들었습니다: "
            "갱신일 2027년 11월 2일, MRR 63만 2,500원.",
        }[locale]
    )
    assert stage_of(engine, 2) == "Renewal due"
    c.buttons = offer  # the offer pressed again (a second click on a stale message)
    again = c.click("1")
    assert (
        again.reply.text
        == {
            "en": "D1 already has its renewal deal: D2 “Acme ERP”.",
            "ko": "D1에는 이미 갱신 딜이 있습니다: D2 “Acme ERP”.",
        }[locale]
    )
    with Session(engine) as s:
        assert len(s.exec(select(Deal)).all()) == 2


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_lost_asks_with_its_reason_and_a_move_out_of_won_asks_to_reopen(engine, locale):
    c = console(engine, locale)
    reply(c, '/deal new "Acme ERP" amount:7590000')
    assert (
        reply(c, "/deal lost 1 budget cut")
        == {
            "en": "Mark D1 “Acme ERP” (₩7,590,000) as lost (Lost)? Reason: budget cut",
            "ko": "D1 “Acme ERP” (759만원) 딜을 실패로 처리할까요? (Lost 단계) 사유: budget cut",
        }[locale]
    )
    c.click("1")
    assert stage_of(engine, 1) == "Lost"
    with Session(engine) as s:
        assert s.exec(select(Deal)).one().lost_reason == "budget cut"
    assert (
        reply(c, "/deal move 1 Proposal")
        == {
            "en": "D1 “Acme ERP” is closed (Lost). Reopen it in Proposal?",
            "ko": "D1 “Acme ERP” 딜은 종료된 딜입니다 (Lost). Proposal 단계로 다시 열까요?",
        }[locale]
    )
    assert stage_of(engine, 1) == "Lost"
    assert (
        reply(c, "/deal move 1 Won")
        == {
            "en": "Move D1 “Acme ERP” from Lost to Won?",
            "ko": "D1 “Acme ERP” 딜을 Lost 단계에서 Won 단계로 옮길까요?",
        }[locale]
    )
    c.click("1")
    assert stage_of(engine, 1) == "Won"


def test_an_open_move_does_not_ask(engine):
    c = console(engine, "en")
    reply(c, '/deal new "Acme ERP" amount:7590000')
    assert reply(c, "/deal move 1 Meeting") == "<@U1> moved D1 from Contact to Meeting."
    assert c.buttons == []


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_reopen_is_explicit_and_needs_no_confirmation(engine, locale):
    c = console(engine, locale)
    reply(c, '/deal new "Acme ERP" amount:7590000')
    assert (
        reply(c, "/deal reopen 1")
        == {
            "en": "D1 is open already (Contact); `/deal move` moves an open deal.",
            "ko": "D1 딜은 이미 진행 중입니다 (Contact 단계). 진행 중인 딜은 `/deal move`로 옮기세요.",
        }[locale]
    )
    reply(c, "/deal won 1")
    c.click("1")
    assert (
        reply(c, "/deal reopen 1 Won")
        == {
            "en": "Won is not an open stage: a deal is reopened into an open stage.",
            "ko": "Won 단계는 진행 단계가 아닙니다. 딜은 진행 단계로만 다시 열 수 있습니다.",
        }[locale]
    )
    assert (
        reply(c, "/deal reopen 1 Proposal")
        == {
            "en": "<@U1> moved D1 from Won to Proposal.",
            "ko": "<@U1>님이 D1을 Won 단계에서 Proposal 단계로 옮겼습니다.",
        }[locale]
    )
    assert stage_of(engine, 1) == "Proposal"
    reply(c, "/deal lost 1")
    c.click("1")
    reply(c, "/deal reopen 1")
    assert stage_of(engine, 1) == "Contact"


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_closed_deal_cannot_be_snoozed(engine, locale):
    c = console(engine, locale)
    reply(c, '/deal new "Acme ERP" amount:7590000')
    reply(c, "/deal won 1")
    c.click("1")
    assert (
        reply(c, "/deal snooze 1 +7d")
        == {
            "en": "D1 is closed (Won): only open deals stall, so there is nothing to snooze.",
            "ko": "D1 딜은 종료된 딜입니다 (Won). 진행 중인 딜만 정체되므로 미룰 알림이 없습니다.",
        }[locale]
    )
    with Session(engine) as s:
        assert s.exec(select(Deal)).one().snoozed_until is None


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_new_deal_closing_in_the_past_is_questioned(engine, locale):
    c = console(engine, locale)
    text = reply(c, '/deal new "Acme ERP" amount:7590000 close:2026-10-30')
    assert (
        text.splitlines()[-1]
        == {
            "en": "⚠️ The expected close Oct 30, 2026 is in the past. If that was not meant, "
            "change it: `/deal set D1 close:<date>`.",
            "ko": "⚠️ 예상 마감일이 이미 지났습니다 (2026년 10월 30일). 의도한 날짜가 아니라면 "
            "바꿔 주세요: `/deal set D1 close:<날짜>`",
        }[locale]
    )
    assert "⚠️" not in reply(c, '/deal new "Beta" amount:1000 close:2026-11-30')


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_deal_like_an_existing_one_is_created_with_a_warning(engine, locale):
    c = console(engine, locale)
    reply(c, '/deal new "Acme ERP" amount:7590000 company:Acme')
    c.clock.advance(hours=1)
    text = reply(c, '/deal new "acme  erp" amount:9000000 company:ACME')
    assert (
        text.splitlines()[-1]
        == {
            "en": "⚠️ A deal with the same title and company exists already: D1. "
            "Both are kept; check it is not the same deal.",
            "ko": "⚠️ 제목과 회사가 같은 딜이 이미 있습니다: D1. "
            "둘 다 남겨 두었으니 같은 딜이 아닌지 확인해 주세요.",
        }[locale]
    )
    assert "⚠️" not in reply(c, '/deal new "Acme ERP" amount:7590000 company:Other')
    with Session(engine) as s:
        assert len(s.exec(select(Deal)).all()) == 3


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_same_deal_sent_twice_in_a_row_is_created_once(engine, locale):
    c = console(engine, locale)
    reply(c, '/deal new "Acme ERP" amount:7590000 company:Acme')
    assert (
        reply(c, '/deal new "Acme ERP" amount:7590000 company:Acme')
        == {
            "en": "You created D1 with the same title, company and amount a moment ago, so nothing "
            "new was created. `/deal show D1` shows it.",
            "ko": "방금 제목, 회사, 금액이 같은 D1 딜을 만들었으므로 새 딜은 만들지 않았습니다. "
            "확인: `/deal show D1`",
        }[locale]
    )
    with Session(engine) as s:
        assert len(s.exec(select(Deal)).all()) == 1
    c.clock.advance(minutes=11)  # later, it is a new deal (with a warning)
    assert "⚠️" in reply(c, '/deal new "Acme ERP" amount:7590000 company:Acme')


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_lead_with_a_known_email_or_company_is_created_with_a_warning(engine, locale):
    c = console(engine, locale)
    reply(c, '/lead new "Kim Minsu" company:Acme email:kim@acme.kr')
    text = reply(c, '/lead new "Minsu Kim" email:KIM@acme.kr')
    assert (
        text.splitlines()[-1]
        == {
            "en": "⚠️ A lead with the same email exists already: L1. "
            "Both are kept; check it is not the same person.",
            "ko": "⚠️ 이메일이 같은 리드가 이미 있습니다: L1. "
            "둘 다 남겨 두었으니 같은 사람이 아닌지 확인해 주세요.",
        }[locale]
    )
    text = reply(c, '/lead new "Lee Jiwon" company:acme')
    assert (
        text.splitlines()[-1]
        == {
            "en": "⚠️ A lead from the same company exists already: L1. "
            "Both are kept; check it is not the same person.",
            "ko": "⚠️ 회사가 같은 리드가 이미 있습니다: L1. "
            "둘 다 남겨 두었으니 같은 사람이 아닌지 확인해 주세요.",
        }[locale]
    )
    assert "⚠️" not in reply(c, '/lead new "Park" company:Beta email:park@beta.kr')
    with Session(engine) as s:
        assert len(s.exec(select(Lead)).all()) == 4


def test_deal_list_filters_by_close_date_and_sorts_by_amount(engine):
    c = console(engine, "en")
    for title, amount, close in (
        ("Small", 1000, "2026-11-20"),
        ("Big", 9000, "2026-11-28"),
        ("Next month", 5000, "2026-12-10"),
        ("Late", 3000, "2026-10-15"),
        ("Undated", 7000, None),
    ):
        line = f'/deal new "{title}" amount:{amount}' + (f" close:{close}" if close else "")
        reply(c, line)
    listed = reply(c, "/deal list close:this-month sort:amount")
    assert listed == "*this month · largest first*: 2 deals, ₩10,000"
    rows = c.out.getvalue().split("*this month · largest first*")[-1]
    assert rows.index("Big") < rows.index("Small") and "Next month" not in rows
    assert reply(c, "/deal list close:next-month").startswith("*next month*: 1 deal")
    assert reply(c, "/deal list close:overdue").startswith("*overdue*: 1 deal")
    assert reply(c, "/deal list close:this-quarter").startswith("*this quarter*: 4 deals")
    by_close = c.command("deal", "list sort:close").reply
    order = [r for r in by_close.blocks[1]["text"]["text"].splitlines()]
    assert [
        next(t for t in ("Late", "Small", "Big", "Next", "Undated") if t in r) for r in order
    ] == [
        "Late",
        "Small",
        "Big",
        "Next",
        "Undated",
    ]


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_bad_close_range_or_sort_says_how_to_write_it(engine, locale):
    c = console(engine, locale)
    assert reply(c, "/deal list close:someday").startswith(
        {
            "en": "`someday` is not a close-date range. Write `close:this-month`, "
            "`next-month`, `this-quarter` or `overdue`.",
            "ko": "`someday`: 마감일 범위를 알 수 없습니다.",
        }[locale]
    )
    assert reply(c, "/deal list sort:size").startswith(
        {"en": "`size` is not a sort order.", "ko": "`size`: 정렬 기준을 알 수 없습니다."}[locale]
    )


def test_the_korean_forms_of_close_and_sort_work(engine):
    c = console(engine, "ko")
    reply(c, '/deal new "큰 딜" amount:9000 close:2026-11-28')
    assert reply(c, "/deal list 마감일:이번달 정렬:금액").startswith(
        "*이번 달 마감 · 큰 금액순*: 딜 1건"
    )


def test_a_rep_is_told_before_being_asked_to_confirm_someone_elses_deal(engine):
    owner = console(engine, "en", user="U1")
    reply(owner, '/deal new "Acme ERP" amount:7590000')
    other = console(engine, "en", user="U2")
    assert reply(other, "/deal won 1").startswith("D1 belongs to another rep.")
    assert other.buttons == []
    assert timedelta(0) == timedelta(0)


def _losses(c: Console) -> None:
    for n, (title, reason) in enumerate(
        (("L1", "Budget"), ("L2", "budget"), ("L3", None), ("L4", "Chose a rival")), start=1
    ):
        reply(c, f'/deal new "{title}" amount:{n}00000')
        reply(c, f"/deal lost {n}" + (f" {reason}" if reason else ""))
        c.click("1")


WHY_LOST = {
    "en": "*Why deals were lost*\n• Budget: 2 (₩300,000)\n• Chose a rival: 1 (₩400,000)\n"
    "• no reason given: 1 (₩300,000)",
    "ko": "*실패 사유*\n• Budget: 2건 (30만원)\n• Chose a rival: 1건 (40만원)\n• 사유 없음: 1건 (30만원)",
}


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_metrics_break_the_lost_deals_down_by_reason(engine, locale):
    c = console(engine, locale)
    _losses(c)
    c.clock.advance(hours=1)
    message = c.command("pipeline", "metrics").reply
    assert message.blocks[-1]["text"]["text"] == WHY_LOST[locale]


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_weekly_summary_says_why_the_weeks_deals_were_lost(engine, locale):
    from datetime import datetime

    from domain import weekly
    from scheduler import due
    from storage.models import Workspace
    from views.notifications import weekly_summary

    c = console(engine, locale)
    _losses(c)
    at = T0 + timedelta(days=7)  # the Monday after: the summary of the week of T0
    with Session(engine) as s:
        ws = s.exec(select(Workspace)).one()
        start, end = due.week_window(at, ws.timezone)
        summary = weekly.compute(session=s, workspace=ws, start=start, end=end, now=at)
        texts = [
            blk.get("text", {}).get("text")
            for m in weekly_summary(summary=summary, locale=locale)
            for blk in m.blocks
        ]
    assert WHY_LOST[locale] in texts
    assert isinstance(at, datetime)


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_one_reps_forecast(engine, locale):
    lee = console(engine, locale, user="ULEE")
    reply(lee, '/deal new "Lee deal" amount:1000000 close:2026-12-20')
    kim = console(engine, locale, user="UKIM")
    reply(kim, '/deal new "Kim deal" amount:5000000 close:2026-12-20')
    message = kim.command("pipeline", "forecast <@ULEE>").reply
    assert (
        message.blocks[0]["text"]["text"]
        == {
            "en": "Forecast by month: New business · ULEE",  # the rep's name
            "ko": "월별 매출 예측: New business · ULEE",
        }[locale]
    )
    assert "100만원" in str(message.blocks) or "₩1,000,000" in str(message.blocks)
    assert "500만원" not in str(message.blocks) and "₩5,000,000" not in str(message.blocks)


@pytest.mark.parametrize(
    "text, command",
    [
        ("reopen 42", "DealReopen(deal=DealRef(number=42, text=None), stage=None)"),
        ("reopen 42 Proposal", "StageRef(text='Proposal', id=None)"),
        ('재개 "Acme ERP" stage:Meeting', "StageRef(text='Meeting', id=None)"),
        ("list close:next-month sort:close", "close='next-month', sort='close', offset=0"),
    ],
)
def test_the_new_deal_grammar(text, command):
    from commands.grammar import parse

    assert command in repr(parse("deal", text, today=T0.date()))


def test_forecast_takes_a_rep():
    from commands import types as c
    from commands.grammar import parse

    cmd = parse("pipeline", "forecast quarter @lee", today=T0.date())
    assert cmd == c.PipelineForecast("quarter", None, c.UserRef(name="lee"))
