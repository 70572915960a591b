"""The slash-command grammar, as a spec: what users type -> the typed command (docs/commands.md)."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands import types as c
from commands.grammar import parse
from commands.handlers.help import TOPICS
from commands.lexer import plain, rest, tokens
from domain.errors import InvalidInput
from i18n import t

TODAY = date(2026, 11, 23)
D42 = c.DealRef(number=42)
L7 = c.LeadRef(number=7)


def amount(value: str, currency: str | None = None) -> c.Amount:
    return c.Amount(Decimal(value), currency)


def run(line: str) -> c.Command:
    command, _, text = line.partition(" ")
    return parse(command, text, today=TODAY)


# Every example of docs/commands.md, then the decisions of the grammar brief.
PRODUCT_EXAMPLES = [
    (
        '/lead new "Kim Minsu" company:"Acme" email:kim@acme.kr source:webinar size:120',
        c.LeadNew(
            name="Kim Minsu", company="Acme", email="kim@acme.kr", source="webinar", size=120
        ),
    ),
    ("/lead status L7 MQL", c.LeadStatus(lead=L7, status="MQL")),
    (
        '/lead convert L7 amount:7590000 pipeline:"New business"',
        c.LeadConvert(lead=L7, amount=amount("7590000"), pipeline="New business"),
    ),
    ("/lead list", c.LeadList()),
    ("/lead list status:MQL mine", c.LeadList(status="MQL", mine=True)),
    ("/lead show L7", c.LeadShow(lead=L7)),
    (
        '/deal new "Acme ERP" amount:7,590,000 stage:Proposal close:2026-12-31 owner:@kim '
        'company:"Acme"',
        c.DealNew(
            title="Acme ERP",
            amount=amount("7590000"),
            stage=c.StageRef("Proposal"),
            close=date(2026, 12, 31),
            owner=c.UserRef(name="kim"),
            company="Acme",
        ),
    ),
    ("/deal move 42 Negotiation", c.DealMove(deal=D42, stage=c.StageRef("Negotiation"))),
    ("/deal won 42", c.DealWon(deal=D42)),
    ('/deal lost 42 reason:"budget"', c.DealLost(deal=D42, reason="budget")),
    (
        "/deal set 42 amount:8000000 close:2027-01-15 owner:@lee",
        c.DealSet(
            deal=D42,
            amount=amount("8000000"),
            close=date(2027, 1, 15),
            owner=c.UserRef(name="lee"),
        ),
    ),
    (
        "/deal renewal 42 date:2027-03-01 mrr:500000",
        c.DealRenewal(deal=D42, date=date(2027, 3, 1), mrr=amount("500000")),
    ),
    (
        "/deal note 42 Called the CFO, they want a pilot first",
        c.DealNote(deal=D42, text="Called the CFO, they want a pilot first"),
    ),
    ("/deal show 42", c.DealShow(deal=D42)),
    ("/deal list", c.DealList()),
    (
        "/deal list mine stage:Proposal pipeline:Renewals stalled",
        c.DealList(mine=True, stage=c.StageRef("Proposal"), pipeline="Renewals", stalled=True),
    ),
    ("/deal list @kim", c.DealList(owner=c.UserRef(name="kim"))),
    ("/deal find acme", c.DealFind(query="acme")),
    ("/pipeline", c.PipelineBoard()),
    ("/pipeline Renewals", c.PipelineBoard(name="Renewals")),
    ("/pipeline forecast", c.PipelineForecast(by="month")),
    ("/pipeline forecast month", c.PipelineForecast(by="month")),
    ("/pipeline forecast quarter", c.PipelineForecast(by="quarter")),
    ("/pipeline metrics", c.PipelineMetrics()),
    (
        "/pipeline metrics period:90d",
        c.PipelineMetrics(period=c.Period(days=90, label="90d")),
    ),
    (
        "/pipeline plan target:100000000 reps:10",
        c.PipelinePlan(target=amount("100000000"), reps=10),
    ),
    ("/pipeline new", c.PipelineNew()),
    ("/pipeline edit Renewals", c.PipelineEdit(name="Renewals")),
    ("/pipeline settings", c.PipelineSettings()),
]


@pytest.mark.parametrize(("line", "expected"), PRODUCT_EXAMPLES, ids=lambda x: str(x)[:50])
def test_every_example_of_the_product_spec_parses_to_its_command(line, expected):
    assert run(line) == expected


BRIEF_DECISIONS = [
    # help
    ("/deal", c.Help("deal")),
    ("/lead", c.Help("lead")),
    ("/deal help", c.Help("deal")),
    ("/pipeline help", c.Help("pipeline")),
    ("/deal help move", c.Help("deal", topic="move")),
    ("/deal HELP Move", c.Help("deal", topic="move")),
    ("/deal help nonsense", c.Help("deal")),
    ("/deal move help", c.Help("deal", topic="move")),
    ("/pipeline help role", c.Help("pipeline", topic="role")),
    ("/deal 도움말 이동", c.Help("deal", topic="move")),
    # modals
    ("/lead new", c.LeadNew(name=None)),
    ("/deal new", c.DealNew(title=None)),
    ("/deal new   ", c.DealNew(title=None)),
    # titles: free words joined with single spaces, or quoted
    ("/deal new Acme ERP amount:1m", c.DealNew(title="Acme ERP", amount=amount("1000000"))),
    ("/deal new   Acme    ERP  ", c.DealNew(title="Acme ERP")),
    ('/deal new "Acme ERP"', c.DealNew(title="Acme ERP")),
    ("/deal new “Acme ERP” amount:12k", c.DealNew(title="Acme ERP", amount=amount("12000"))),
    ('/deal new "Acme" ERP', c.DealNew(title="Acme ERP")),
    ("/deal new title:Acme amount:5", c.DealNew(title="Acme", amount=amount("5"))),
    ("/deal new Acme contact:Kim", c.DealNew(title="Acme", contact="Kim")),
    ("/deal new Acme pipeline:Renewals", c.DealNew(title="Acme", pipeline="Renewals")),
    ("/deal new R&amp;D deal", c.DealNew(title="R&D deal")),
    ("/deal new Acme amount: 5", c.DealNew(title="Acme", amount=amount("5"))),
    ("/deal new Acme AMOUNT:5", c.DealNew(title="Acme", amount=amount("5"))),
    ("/DEAL NEW Acme", c.DealNew(title="Acme")),
    ("deal new Acme", c.DealNew(title="Acme")),
    ("/deal new Acme amount:$12,000.50", c.DealNew(title="Acme", amount=amount("12000.50", "USD"))),
    ("/deal new Acme amount:759만원", c.DealNew(title="Acme", amount=amount("7590000", "KRW"))),
    ("/deal new Acme 금액:759만", c.DealNew(title="Acme", amount=amount("7590000", "KRW"))),
    ("/deal new Acme close:tomorrow", c.DealNew(title="Acme", close=date(2026, 11, 24))),
    ("/deal new Acme close:+30d", c.DealNew(title="Acme", close=date(2026, 12, 23))),
    # deal references
    ("/deal won D42", c.DealWon(deal=D42)),
    ("/deal won d42", c.DealWon(deal=D42)),
    ("/deal won #42", c.DealWon(deal=D42)),
    ("/deal won acme", c.DealWon(deal=c.DealRef(text="acme"))),
    ("/deal won acme erp", c.DealWon(deal=c.DealRef(text="acme erp"))),
    ('/deal show "Acme ERP"', c.DealShow(deal=c.DealRef(text="Acme ERP"))),
    # move: the last free word(s) are the stage
    ("/deal move 42 3", c.DealMove(deal=D42, stage=c.StageRef("3"))),
    ("/deal move D42 Closed won", c.DealMove(deal=D42, stage=c.StageRef("Closed won"))),
    (
        '/deal move "Acme ERP" Negotiation',
        c.DealMove(deal=c.DealRef(text="Acme ERP"), stage=c.StageRef("Negotiation")),
    ),
    (
        '/deal move "Acme ERP" "Closed won"',
        c.DealMove(deal=c.DealRef(text="Acme ERP"), stage=c.StageRef("Closed won")),
    ),
    (
        "/deal move acme erp Proposal",
        c.DealMove(deal=c.DealRef(text="acme erp"), stage=c.StageRef("Proposal")),
    ),
    ('/deal move 42 stage:"Closed won"', c.DealMove(deal=D42, stage=c.StageRef("Closed won"))),
    ("/deal 이동 42 Proposal", c.DealMove(deal=D42, stage=c.StageRef("Proposal"))),
    # note: the rest verbatim, Slack markup made plain
    (
        "/deal note 42 Met <@U1|kim> &amp; CFO: see <https://acme.kr|deck>  ok",
        c.DealNote(deal=D42, text="Met @kim & CFO: see deck  ok"),
    ),
    ('/deal note 42 "quoted note"', c.DealNote(deal=D42, text="quoted note")),
    ('/deal note 42 he said "maybe', c.DealNote(deal=D42, text='he said "maybe')),
    ("/deal note 42 line one\nline two", c.DealNote(deal=D42, text="line one\nline two")),
    ('/deal note "Acme ERP" hello', c.DealNote(deal=c.DealRef(text="Acme ERP"), text="hello")),
    # lost: reason by key or as free words after a number or a quoted title
    ("/deal lost 42", c.DealLost(deal=D42)),
    ("/deal lost 42 budget cut", c.DealLost(deal=D42, reason="budget cut")),
    ("/deal lost 42 budget: too high", c.DealLost(deal=D42, reason="budget: too high")),
    ("/deal lost 42 reason: budget was cut", c.DealLost(deal=D42, reason="budget was cut")),
    (
        "/deal lost acme erp reason:budget cut",
        c.DealLost(deal=c.DealRef(text="acme erp"), reason="budget cut"),
    ),
    ("/deal lost acme erp", c.DealLost(deal=c.DealRef(text="acme erp"))),
    (
        '/deal lost "Acme ERP" no budget',
        c.DealLost(deal=c.DealRef(text="Acme ERP"), reason="no budget"),
    ),
    ("/deal lost 42 사유:예산 부족", c.DealLost(deal=D42, reason="예산 부족")),
    # set / renewal
    ('/deal set 42 title:"Acme ERP 2"', c.DealSet(deal=D42, title="Acme ERP 2")),
    ("/deal set 42 company:Acme", c.DealSet(deal=D42, company="Acme")),
    (
        "/deal set acme close:2027-01-15",
        c.DealSet(deal=c.DealRef(text="acme"), close=date(2027, 1, 15)),
    ),
    ("/deal set 42 owner:lee", c.DealSet(deal=D42, owner=c.UserRef(name="lee"))),
    ("/deal renewal 42 mrr:50만원", c.DealRenewal(deal=D42, mrr=amount("500000", "KRW"))),
    ("/deal renewal 42 date:+1y", c.DealRenewal(deal=D42, date=date(2027, 11, 23))),
    # snooze
    ("/deal snooze 42 until:2026-12-01", c.DealSnooze(deal=D42, until=date(2026, 12, 1))),
    ("/deal snooze 42 +7d", c.DealSnooze(deal=D42, until=date(2026, 11, 30))),
    ("/deal snooze 42 7d", c.DealSnooze(deal=D42, until=date(2026, 11, 30))),
    ("/deal snooze 42 tomorrow", c.DealSnooze(deal=D42, until=date(2026, 11, 24))),
    ("/deal snooze 42 내일까지", c.DealSnooze(deal=D42, until=date(2026, 11, 24))),
    (
        "/deal snooze acme erp +2w",
        c.DealSnooze(deal=c.DealRef(text="acme erp"), until=date(2026, 12, 7)),
    ),
    # list / find
    ("/deal list stalled mine", c.DealList(mine=True, stalled=True)),
    ("/deal list <@U123|kim>", c.DealList(owner=c.UserRef(slack_id="U123", name="kim"))),
    ("/deal list owner:<@U123>", c.DealList(owner=c.UserRef(slack_id="U123"))),
    ('/deal list pipeline:"New business"', c.DealList(pipeline="New business")),
    ("/deal find  acme   erp ", c.DealFind(query="acme erp")),
    ("/deal find R&amp;D: q3", c.DealFind(query="R&D: q3")),
    # leads
    (
        '/lead new "Kim Minsu" company:"Acme" email:kim@acme.kr source:webinar size:120 '
        "owner:@kim status:MQL",
        c.LeadNew(
            name="Kim Minsu",
            company="Acme",
            email="kim@acme.kr",
            source="webinar",
            size=120,
            owner=c.UserRef(name="kim"),
            status="MQL",
        ),
    ),
    (
        "/lead new Kim email:<mailto:kim@acme.kr|kim@acme.kr>",
        c.LeadNew(name="Kim", email="kim@acme.kr"),
    ),
    ("/lead status 7 Working", c.LeadStatus(lead=L7, status="Working")),
    ("/lead status #7 status:MQL", c.LeadStatus(lead=L7, status="MQL")),
    (
        '/lead status "Kim Minsu" MQL',
        c.LeadStatus(lead=c.LeadRef(text="Kim Minsu"), status="MQL"),
    ),
    (
        '/lead convert L7 amount:7590000 pipeline:"New business" stage:Proposal '
        'title:"Acme ERP" close:2026-12-31',
        c.LeadConvert(
            lead=L7,
            amount=amount("7590000"),
            pipeline="New business",
            stage=c.StageRef("Proposal"),
            title="Acme ERP",
            close=date(2026, 12, 31),
        ),
    ),
    ("/lead convert l7", c.LeadConvert(lead=L7)),
    ("/lead list @kim", c.LeadList(owner=c.UserRef(name="kim"))),
    ("/lead show kim", c.LeadShow(lead=c.LeadRef(text="kim"))),
    # pipelines
    ("/pipeline New business", c.PipelineBoard(name="New business")),
    ('/pipeline "Settings"', c.PipelineBoard(name="Settings")),
    ("/pipeline board Renewals", c.PipelineBoard(name="Renewals")),
    ("/pipeline forecast quarter pipeline:Renewals", c.PipelineForecast("quarter", "Renewals")),
    ("/pipeline forecast by:quarter", c.PipelineForecast("quarter")),
    ("/pipeline forecast 분기", c.PipelineForecast("quarter")),
    (
        "/pipeline metrics Renewals period:this-month <@U9|lee>",
        c.PipelineMetrics(
            pipeline="Renewals",
            period=c.Period(start=date(2026, 11, 1), end=date(2026, 12, 1), label="2026-11"),
            owner=c.UserRef(slack_id="U9", name="lee"),
        ),
    ),
    ("/pipeline metrics New business", c.PipelineMetrics(pipeline="New business")),
    (
        "/pipeline metrics 2026-Q3",
        c.PipelineMetrics(
            period=c.Period(start=date(2026, 7, 1), end=date(2026, 10, 1), label="2026-Q3")
        ),
    ),
    ("/pipeline metrics 30d", c.PipelineMetrics(period=c.Period(days=30, label="30d"))),
    (
        "/pipeline metrics period:2026",
        c.PipelineMetrics(
            period=c.Period(start=date(2026, 1, 1), end=date(2027, 1, 1), label="2026")
        ),
    ),
    (
        "/pipeline plan target:1억 reps:10 period:last-quarter avg:5m winrate:80%",
        c.PipelinePlan(
            target=amount("100000000", "KRW"),
            reps=10,
            period=c.Period(start=date(2026, 7, 1), end=date(2026, 10, 1), label="2026-Q3"),
            avg=amount("5000000"),
            winrate=Decimal("0.8"),
        ),
    ),
    (
        "/pipeline plan target:5m winrate:0.8",
        c.PipelinePlan(amount("5000000"), winrate=Decimal("0.8")),
    ),
    ('/pipeline edit "New business"', c.PipelineEdit(name="New business")),
    ("/pipeline role <@U123|kim> admin", c.Role(c.UserRef("U123", "kim"), "admin")),
    ("/pipeline role @kim Manager", c.Role(c.UserRef(name="kim"), "manager")),
    ("/pipeline role rep <@U5>", c.Role(c.UserRef("U5"), "rep")),
]


@pytest.mark.parametrize(("line", "expected"), BRIEF_DECISIONS, ids=lambda x: str(x)[:50])
def test_each_form_of_the_grammar_gives_its_command(line, expected):
    assert run(line) == expected


def test_a_slack_mention_after_owner_keeps_the_user_id_and_the_name():
    cmd = run("/deal new Acme owner:<@U123|kim>")
    assert cmd == c.DealNew(title="Acme", owner=c.UserRef(slack_id="U123", name="kim"))


def test_a_mention_whose_label_has_spaces_stays_one_word():
    cmd = run("/deal set 42 owner:<@U123|Kim Minsu>")
    assert cmd == c.DealSet(deal=D42, owner=c.UserRef(slack_id="U123", name="Kim Minsu"))


def test_a_channel_in_a_title_reads_as_its_name():
    assert run("/deal new Acme <#C1|deals> launch") == c.DealNew(title="Acme #deals launch")


@pytest.mark.parametrize(
    "text",
    ["“Acme ERP”", "”Acme ERP”", "„Acme ERP“", "‘Acme ERP’", '"Acme ERP”', '“Acme ERP"'],
)
def test_smart_quotes_group_words_like_straight_ones(text):
    assert parse("deal", f"new {text} amount:1", today=TODAY).title == "Acme ERP"


def test_smart_quotes_work_in_key_values():
    cmd = run("/lead new Kim company:“Acme Korea” source:‘Web inar’")
    assert cmd == c.LeadNew(name="Kim", company="Acme Korea", source="Web inar")


def test_apostrophes_are_letters_not_quotes():
    assert run("/deal new Kim's ERP").title == "Kim's ERP"
    assert run("/deal new Kim’s ERP").title == "Kim’s ERP"


def test_a_url_is_a_word_not_a_key():
    assert run("/deal find https://acme.kr").query == "https://acme.kr"
    assert run("/deal new Acme <https://acme.kr|site>").title == "Acme site"


KOREAN = [
    (
        "/deal 추가 에이씨미 금액:759만원 단계:제안 마감일:내일 담당자:@kim 회사:에이씨미",
        c.DealNew(
            title="에이씨미",
            amount=amount("7590000", "KRW"),
            stage=c.StageRef("제안"),
            close=date(2026, 11, 24),
            owner=c.UserRef(name="kim"),
            company="에이씨미",
        ),
    ),
    ("/deal 목록 내꺼 정체", c.DealList(mine=True, stalled=True)),
    ("/deal 성사 42", c.DealWon(deal=D42)),
    ("/deal 실패 42 사유: 예산 부족", c.DealLost(deal=D42, reason="예산 부족")),
    ("/deal 메모 42 다음 주 미팅", c.DealNote(deal=D42, text="다음 주 미팅")),
    ("/deal 미루기 42 모레", c.DealSnooze(deal=D42, until=date(2026, 11, 25))),
    ("/lead 상태 L7 MQL", c.LeadStatus(lead=L7, status="MQL")),
    ("/lead 전환 L7 금액:1억 2천만", c.LeadConvert(lead=L7, amount=amount("120000000", "KRW"))),
    ("/pipeline 예측 분기별", c.PipelineForecast("quarter")),
    (
        "/pipeline 지표 기간:지난분기",
        c.PipelineMetrics(
            period=c.Period(start=date(2026, 7, 1), end=date(2026, 10, 1), label="2026-Q3")
        ),
    ),
    ("/pipeline 역할 @kim 매니저", c.Role(c.UserRef(name="kim"), "manager")),
    (
        "/pipeline 계획 목표:1억 인원:5 성사율:20%",
        c.PipelinePlan(amount("100000000", "KRW"), reps=5, winrate=Decimal("0.2")),
    ),
]


@pytest.mark.parametrize(("line", "expected"), KOREAN, ids=lambda x: str(x)[:40])
def test_korean_sub_commands_and_keys_are_aliases(line, expected):
    assert run(line) == expected


def test_an_amount_may_keep_the_spaces_people_write_in_it():
    assert run("/deal new Acme amount:1억 2천만 close:tomorrow").amount == amount(
        "120000000", "KRW"
    )
    assert run("/deal set 42 amount:379만 5천원").amount == amount("3795000", "KRW")
    assert run("/deal set 42 amount:12000 USD").amount == amount("12000", "USD")
    assert run("/deal renewal 42 mrr: 50만 원").mrr == amount("500000", "KRW")


def _interpreted(value: str) -> c.Amount:
    return c.Amount(Decimal(value), "KRW", interpreted=True)


SPACED_VALUES = [
    # amounts: the group after 억 counts 만, spaced or not, Hangul numerals too
    ("/deal new Acme amount:1억5천", c.DealNew(title="Acme", amount=_interpreted("150000000"))),
    ("/deal new Acme amount:1억 5천", c.DealNew(title="Acme", amount=_interpreted("150000000"))),
    ("/deal new Acme amount:1억 5000", c.DealNew(title="Acme", amount=_interpreted("150000000"))),
    ("/deal set 42 amount:일억 오천", c.DealSet(deal=D42, amount=_interpreted("150000000"))),
    ("/deal set 42 금액:천오백만원", c.DealSet(deal=D42, amount=amount("15000000", "KRW"))),
    ("/deal renewal 42 mrr:오십만", c.DealRenewal(deal=D42, mrr=amount("500000", "KRW"))),
    (
        "/lead convert L7 amount:3억 2천5백",
        c.LeadConvert(lead=L7, amount=_interpreted("325000000")),
    ),
    (
        "/pipeline plan target:1억5천 avg:오백만",
        c.PipelinePlan(_interpreted("150000000"), avg=amount("5000000", "KRW")),
    ),
    # dates as Korean spreadsheets and people write them, with their spaces
    ("/deal new Acme close:2026. 12. 31.", c.DealNew(title="Acme", close=date(2026, 12, 31))),
    ("/deal new Acme close:12월 31일", c.DealNew(title="Acme", close=date(2026, 12, 31))),
    ("/deal new Acme close:2026년 12월 31일", c.DealNew(title="Acme", close=date(2026, 12, 31))),
    ("/deal new Acme 마감일:다음 주 금요일", c.DealNew(title="Acme", close=date(2026, 12, 4))),
    ("/deal set 42 close:다음주 금요일", c.DealSet(deal=D42, close=date(2026, 12, 4))),
    ("/deal set 42 close:이번 달 말", c.DealSet(deal=D42, close=date(2026, 11, 30))),
    ("/deal set 42 close:다음 달 15일", c.DealSet(deal=D42, close=date(2026, 12, 15))),
    ("/deal set 42 close:end of month", c.DealSet(deal=D42, close=date(2026, 11, 30))),
    ("/deal set 42 close:next friday", c.DealSet(deal=D42, close=date(2026, 12, 4))),
    (
        "/deal set 42 close:12/31 amount:1억 5천",
        c.DealSet(deal=D42, close=date(2026, 12, 31), amount=_interpreted("150000000")),
    ),
    ("/lead convert L7 close:20261231", c.LeadConvert(lead=L7, close=date(2026, 12, 31))),
    ("/deal renewal 42 date:다음 달 말", c.DealRenewal(deal=D42, date=date(2026, 12, 31))),
    ("/deal snooze 42 다음주 금요일", c.DealSnooze(deal=D42, until=date(2026, 12, 4))),
    ("/deal snooze 42 until:다음 주 월요일", c.DealSnooze(deal=D42, until=date(2026, 11, 30))),
    (
        '/deal snooze "Acme ERP" 12월 1일',
        c.DealSnooze(c.DealRef(text="Acme ERP"), date(2026, 12, 1)),
    ),
    # periods
    ("/pipeline metrics period:30일", c.PipelineMetrics(period=c.Period(days=30, label="30d"))),
    ("/pipeline metrics 기간:최근 30일", c.PipelineMetrics(period=c.Period(days=30, label="30d"))),
    ("/pipeline metrics 최근 30일", c.PipelineMetrics(period=c.Period(days=30, label="30d"))),
    (
        "/pipeline metrics Renewals 지난 30일",
        c.PipelineMetrics(pipeline="Renewals", period=c.Period(days=30, label="30d")),
    ),
    (
        "/pipeline metrics period:최근 3개월",
        c.PipelineMetrics(period=c.Period(start=date(2026, 8, 23), end=date(2026, 11, 24))),
    ),
    (
        "/pipeline plan target:1억 period:최근 90일 동안",
        c.PipelinePlan(amount("100000000", "KRW"), period=c.Period(days=90, label="90d")),
    ),
]


@pytest.mark.parametrize(("line", "expected"), SPACED_VALUES, ids=lambda x: str(x)[:50])
def test_korean_amounts_dates_and_periods_keep_the_spaces_people_write(line, expected):
    assert run(line) == expected


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("/deal new Acme amount:1억 5", "grammar.amount_ambiguous", "1억 5"),
        ("/deal new Acme close:2/30", "grammar.bad_date", "2/30"),
        ("/deal new Acme close:12월 32일", "grammar.bad_date", "12월 32일"),
        ("/deal set 42 close:다음 주 someday", "grammar.bad_date", "다음 주"),
        ("/deal snooze 42 이번주 월요일", "grammar.snooze_past", "이번주 월요일"),
        ("/pipeline metrics period:0일", "grammar.bad_period", "0일"),
    ],
)
def test_a_spaced_value_that_cannot_be_meant_is_quoted_whole(line, key, value):
    with pytest.raises(InvalidInput) as caught:
        run(line)
    assert (caught.value.key, caught.value.params["value"]) == (key, value)
    assert caught.value.render("en") and caught.value.render("ko")


def test_a_pipeline_named_like_a_sub_command_still_shows_its_board():
    assert run("/pipeline new business") == c.PipelineBoard(name="new business")
    assert run('/pipeline "plan B"') == c.PipelineBoard(name="plan B")
    assert run("/pipeline new") == c.PipelineNew()


def test_the_lexer_keeps_escapes_whole_and_the_rest_verbatim():
    words = list(tokens('owner:<@U1|Kim Minsu> "a b" c:d http://x.kr 10:30'))
    assert [(w.key, w.text, w.quoted) for w in words] == [
        ("owner", "<@U1|Kim Minsu>", False),
        (None, "a b", True),
        ("c", "d", False),
        (None, "http://x.kr", False),
        (None, "10:30", False),
    ]
    assert rest('  "one two"  ', 0) == "one two"
    assert rest(' "one" and "two" ', 0) == '"one" and "two"'
    assert plain("<@U1|kim> <#C1|deals> <!here> <https://a.kr> a &lt;b&gt; &amp;") == (
        "@kim #deals @here https://a.kr a <b> &"
    )


# --- errors ---------------------------------------------------------------------------

ERRORS = [
    ("/deal frobnicate", "grammar.unknown_subcommand", "deal", "frobnicate"),
    ("/deal 42", "grammar.unknown_subcommand", "deal", "42"),
    ("/deal amount:5", "grammar.unknown_subcommand", "deal", "amount:5"),
    ("/lead promote L7", "grammar.unknown_subcommand", "lead", "promote"),
    (
        "/deal new X reason:red",
        "grammar.unknown_key",
        "deal_new",
        "reason:",
    ),  # colour: may be a custom field
    ("/deal new X amount:1 amount:2", "grammar.duplicate_key", "deal_new", "amount:"),
    ("/deal new X amount:1 AMOUNT:2", "grammar.duplicate_key", "deal_new", "amount:"),
    ("/deal new amount:abc", "grammar.bad_amount", "deal_new", "abc"),
    ("/deal new amount:1m", "grammar.missing_title", "deal_new", None),
    ('/deal new "" amount:1m', "grammar.missing_title", "deal_new", None),
    ("/deal new X amount:", "grammar.missing_value", "deal_new", "amount:"),
    ('/deal new X company:""', "grammar.missing_value", "deal_new", "company:"),
    ("/deal new X amount:5 extra", "grammar.extra_words", "deal_new", "extra"),
    ("/deal new title:X Y", "grammar.extra_words", "deal_new", "Y"),
    ('/deal new "Acme ERP', "grammar.unterminated_quote", "deal_new", '"Acme ERP'),
    ('/deal "Acme', "grammar.unterminated_quote", "deal", '"Acme'),
    ("/deal new X amount:-5", "grammar.amount_negative", "deal_new", "-5"),
    ("/deal new X close:2026-13-45", "grammar.bad_date", "deal_new", "2026-13-45"),
    ("/deal new X owner:<#C1|deals>", "grammar.bad_user", "deal_new", "#deals"),
    ("/deal set 42 close:2026-13-45", "grammar.bad_date", "deal_set", "2026-13-45"),
    ("/deal set 42", "grammar.nothing_to_change", "deal_set", None),
    ("/deal set 42 stage:Won", "grammar.unknown_key", "deal_set", "stage:"),
    ("/deal set amount:5", "grammar.missing_deal", "deal_set", None),
    ("/deal renewal 42", "grammar.nothing_to_change", "deal_renewal", None),
    ("/deal renewal 42 mrr:lots", "grammar.bad_amount", "deal_renewal", "lots"),
    ("/deal move 42", "grammar.missing_stage", "deal_move", None),
    ("/deal move", "grammar.missing_deal", "deal_move", None),
    ("/deal move 42 Won stage:Lost", "grammar.extra_words", "deal_move", "Won"),
    ("/deal won", "grammar.missing_deal", "deal_won", None),
    ("/deal won 42 now", "grammar.extra_words", "deal_won", "now"),
    ("/deal won 42 amount:5", "grammar.unknown_key", "deal_won", "amount:"),
    ("/deal show", "grammar.missing_deal", "deal_show", None),
    ("/deal lost", "grammar.missing_deal", "deal_lost", None),
    ("/deal lost reason:budget", "grammar.missing_deal", "deal_lost", None),
    ("/deal lost 42 reason:", "grammar.missing_value", "deal_lost", "reason:"),
    ("/deal lost acme amount:5", "grammar.unknown_key", "deal_lost", "amount:"),
    ("/deal note 42", "grammar.missing_note", "deal_note", None),
    ("/deal note 42    ", "grammar.missing_note", "deal_note", None),
    ("/deal note", "grammar.missing_deal", "deal_note", None),
    ("/deal find", "grammar.missing_query", "deal_find", None),
    ("/deal snooze 42", "grammar.missing_date", "deal_snooze", None),
    ("/deal snooze 42 today", "grammar.snooze_past", "deal_snooze", "today"),
    ("/deal snooze 42 until:2026-11-01", "grammar.snooze_past", "deal_snooze", "2026-11-01"),
    ("/deal snooze 42 someday", "grammar.bad_date", "deal_snooze", "someday"),
    ("/deal list everything", "grammar.extra_words", "deal_list", "everything"),
    ("/lead new Kim company:Acme Korea", "grammar.extra_words", "lead_new", "Korea"),
    ("/deal new Acme title:Acme", "grammar.extra_words", "deal_new", "Acme"),
    ("/deal list mine @kim", "grammar.mine_and_user", "deal_list", "@kim"),
    ("/deal list @kim @lee", "grammar.extra_words", "deal_list", "@lee"),
    ("/deal list stage:", "grammar.missing_value", "deal_list", "stage:"),
    ("/lead new company:Acme", "grammar.missing_name", "lead_new", None),
    ("/lead new Kim size:many", "grammar.bad_number", "lead_new", "many"),
    ("/lead new Kim email:kim-at-acme", "grammar.bad_email", "lead_new", "kim-at-acme"),
    ("/lead status L7", "grammar.missing_status", "lead_status", None),
    ("/lead status", "grammar.missing_lead", "lead_status", None),
    ("/lead convert", "grammar.missing_lead", "lead_convert", None),
    ("/lead convert L7 amount:7.5.9", "grammar.bad_amount", "lead_convert", "7.5.9"),
    ("/lead list status:MQL everyone", "grammar.extra_words", "lead_list", "everyone"),
    ("/lead show L7 L8", "grammar.extra_words", "lead_show", "L8"),
    ("/pipeline forecast weekly", "grammar.extra_words", "pipeline_forecast", "weekly"),
    ("/pipeline forecast by:week", "grammar.bad_forecast_by", "pipeline_forecast", "week"),
    ("/pipeline forecast month quarter", "grammar.extra_words", "pipeline_forecast", "quarter"),
    ("/pipeline metrics period:forever", "grammar.bad_period", "pipeline_metrics", "forever"),
    ("/pipeline metrics X pipeline:Y", "grammar.extra_words", "pipeline_metrics", "X"),
    ("/pipeline plan reps:10", "grammar.missing_target", "pipeline_plan", None),
    ("/pipeline plan target:1억 reps:0", "grammar.bad_reps", "pipeline_plan", "0"),
    ("/pipeline plan target:1억 winrate:150%", "grammar.bad_winrate", "pipeline_plan", "150%"),
    ("/pipeline plan target:1억 big", "grammar.extra_words", "pipeline_plan", "big"),
    ("/pipeline plan 100000000", "grammar.extra_words", "pipeline_plan", "100000000"),
    ("/pipeline settings now", "grammar.extra_words", "pipeline_settings", "now"),
    ("/pipeline edit", "grammar.missing_pipeline", "pipeline_edit", None),
    ("/pipeline role @kim", "grammar.missing_role", "pipeline_role", None),
    ("/pipeline role admin", "grammar.missing_user", "pipeline_role", None),
    ("/pipeline role @kim boss", "grammar.bad_role", "pipeline_role", "boss"),
    ("/pipeline role @kim @lee admin", "grammar.extra_words", "pipeline_role", "@lee"),
    ("/pipeline period:90d", "grammar.unknown_key", "pipeline_board", "period:"),
]


@pytest.mark.parametrize(("line", "key", "usage", "value"), ERRORS, ids=lambda x: str(x)[:40])
def test_mistakes_name_what_was_wrong_and_show_the_right_form(line, key, usage, value):
    with pytest.raises(InvalidInput) as caught:
        run(line)
    err = caught.value
    assert (err.key, err.params.get("usage")) == (key, usage)
    assert err.params.get("value") == value
    for locale in ("en", "ko"):
        message = err.render(locale)
        if value is not None:
            assert f"`{value}`" in message  # what was wrong, quoted
        assert t(locale, f"grammar.usage.{usage}") in message  # and how to write it


def test_an_unknown_command_is_refused():
    with pytest.raises(InvalidInput) as caught:
        parse("/sale", "new X", today=TODAY)
    assert caught.value.key == "grammar.unknown_command"
    assert "/sale" in caught.value.render("ko")


def test_error_messages_read_in_korean():
    with pytest.raises(InvalidInput) as caught:
        run("/deal new Acme amount:abc")
    message = caught.value.render("ko")
    assert "금액" in message and "`abc`" in message and "이렇게 써 주세요" in message


def test_a_long_or_backticked_value_is_quoted_safely():
    with pytest.raises(InvalidInput) as caught:
        run("/deal new Acme amount:`" + "9" * 200)
    value = caught.value.params["value"]
    assert "`" not in value and len(value) <= 60


# --- the catalogs ---------------------------------------------------------------------

LOCALES = Path(__file__).resolve().parents[1] / "i18n" / "locales"


def _flat(table: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = value
    return out


def _catalog(locale: str) -> dict[str, str]:
    with (LOCALES / locale / "grammar.toml").open("rb") as fh:
        return _flat(tomllib.load(fh))


def test_en_and_ko_grammar_catalogs_have_the_same_keys_and_placeholders():
    en, ko = _catalog("en"), _catalog("ko")
    assert en.keys() == ko.keys()
    for key in en:
        assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", ko[key])), key


def test_every_help_topic_has_a_usage_line_in_both_languages():
    for names in TOPICS.values():
        for name in [*names]:
            assert t("en", f"grammar.usage.{name}") != t("ko", f"grammar.usage.{name}")


def test_every_grammar_key_raised_in_the_code_is_in_the_catalog():
    root = LOCALES.parents[1] / "commands"
    raised = set()
    for name in ("grammar.py", "values.py", "lexer.py"):
        raised |= set(re.findall(r'"grammar\.(\w+)"', (root / name).read_text()))
    assert raised and raised <= set(_catalog("en"))


# --- property: nothing but a command or a readable InvalidInput -----------------------


def _words(text: str) -> list[str]:
    return text.split()


SUB_COMMANDS = _words(
    "new move won lost set renewal note show list find snooze status convert forecast metrics "
    "plan edit settings role board help"
)
FRAGMENTS = st.sampled_from(
    SUB_COMMANDS
    + _words(
        "mine stalled month quarter admin 이동 amount: stage: close: owner: company: title: "
        "reason: date: mrr: until: target: reps: avg: winrate: period: pipeline: status: email: "
        "size: 금액: colour: 42 D42 #42 L7 0 -5 1.234 7,590,000 7.59m 12k 759만 759만원 억 천만 "
        "1억5천 1억5 5000 오천 일억 12/31 2/30 12월 31일 다음주 다음 주 금요일 달 말 next friday "
        "end of month 최근 30일 3개월 2026. 12. 31. "
        "$12,000.50 $5만원 ₩7,590,000 2026-12-31 2026-13-45 today tomorrow +30d +2w +1m "
        '+99999y 90d 2026-Q3 80% " “ ” ‘ ’ <@U123|kim> <@U123> <#C1|deals> '
        "<https://acme.kr|site> <mailto:a@b.kr|a@b.kr> &amp; &lt; @kim kim@acme.kr : :: < > | ` "
        "{value} { } % é İ ß"
    )
    + ["1억 2천만", "12000 USD", "9" * 30, '"Acme ERP"', "“Acme ERP”", " ", "\n", "\x00"]
)
GRAMMARISH = st.lists(FRAGMENTS, max_size=8).map(" ".join)
JOINED = st.lists(FRAGMENTS, max_size=8).map("".join)


def _parses_or_explains(command: str, text: str) -> None:
    try:
        result = parse(command, text, today=TODAY)
    except InvalidInput as err:
        assert err.render("en") and err.render("ko")
        assert err.key.startswith("grammar.")
        return
    assert isinstance(result, c.Command)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["lead", "deal", "pipeline"]), st.one_of(st.text(), GRAMMARISH, JOINED))
def test_any_text_parses_or_is_explained_in_both_languages(command, text):
    _parses_or_explains(command, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["lead", "deal", "pipeline"]),
    st.sampled_from(SUB_COMMANDS),
    st.one_of(GRAMMARISH, st.text(max_size=40)),
)
def test_any_arguments_to_any_sub_command_parse_or_are_explained(command, sub, text):
    _parses_or_explains(command, f"{sub} {text}")
