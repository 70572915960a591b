"""Korean that reads naturally, and the same care in English (issue 13).

A Korean workspace gets Korean stage and status names; the other language's default names and
Korean particles typed after a word (``201을``, ``205번``, ``Meeting으로``, ``협상 단계``) are
understood everywhere; the replies the review quoted read as a Korean team would write them.
Each case runs through the console (the real command path, a real database) in ko and en.
"""

from __future__ import annotations

import io
import re

import pytest
from sqlmodel import Session, select

import i18n
from cli.console import Console
from commands import types as c
from commands.grammar import parse
from domain import names
from domain.clock import FixedClock
from domain.workspaces import WorkspaceDefaults, get_or_create_workspace
from i18n import catalog, fmt, t
from storage.db import make_engine
from storage.models import Pipeline, Stage, Workspace
from tests.factories import T0
from views.text import render


class Team:
    """One workspace in the console, its next deal D201 and its next lead L41."""

    def __init__(self, engine, locale: str, *, stage_names: str | None = None, team: str = ""):
        self.engine = engine
        self.team = team or f"T-{locale}-{stage_names}"
        self.console = Console(
            engine,
            team_id=self.team,
            user_id="U1",
            clock=FixedClock(T0),
            defaults=WorkspaceDefaults(locale=locale, stage_names=stage_names),
            out=io.StringIO(),
        )
        self.console.locale()  # creates the workspace
        with Session(engine) as session:
            ws = session.exec(select(Workspace).where(Workspace.team_id == self.team)).one()
            ws.next_deal_number, ws.next_lead_number = 200, 40
            session.add(ws)
            session.commit()

    def say(self, line: str) -> str:
        """The reply to a slash command as the user reads it (an error included)."""
        command, _, text = line.removeprefix("/").partition(" ")
        before = len(self.console.out.getvalue())
        outcome = self.console.command(command, text)
        if outcome is not None and outcome.reply is not None:
            return render(outcome.reply)
        return self.console.out.getvalue()[before:].strip()

    def confirmed(self, line: str) -> str:
        """A command that asks first (won, lost, a closing move), confirmed with its button."""
        self.say(line)
        outcome = self.console.click("1")
        return render(outcome.reply).split("\n[")[0]  # the answer, without its buttons


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def ko(engine):
    return Team(engine, "ko")


@pytest.fixture
def en(engine):
    return Team(engine, "en")


# --- default names ------------------------------------------------------------------------


def _pipelines(engine, team: str) -> dict[str, list[str]]:
    with Session(engine) as session:
        ws = session.exec(select(Workspace).where(Workspace.team_id == team)).one()
        pipelines = session.exec(
            select(Pipeline).where(Pipeline.workspace_id == ws.id).order_by(Pipeline.id)
        ).all()
        return {
            p.name: [
                s.name
                for s in session.exec(
                    select(Stage).where(Stage.pipeline_id == p.id).order_by(Stage.position)
                )
            ]
            for p in pipelines
        }


def test_a_korean_workspace_gets_korean_stage_and_status_names(ko):
    assert _pipelines(ko.engine, ko.team) == {
        "신규 영업": ["컨택", "니즈 파악", "미팅", "제안", "협상", "수주", "실주"],
        "갱신 관리": ["갱신 예정", "업셀", "다운셀", "갱신", "이탈"],
        "리드": ["신규", "육성", "MQL", "컨택 중", "전환", "SQL"],
    }


def test_an_english_workspace_gets_english_names(en):
    assert _pipelines(en.engine, en.team) == {
        "New business": [
            "Contact", "Qualification", "Meeting", "Proposal", "Negotiation", "Won", "Lost"
        ],
        "Renewals": ["Renewal due", "Upgraded", "Downgraded", "Renewed", "Churned"],
        "Leads": ["NEW", "Nurturing", "MQL", "Working", "Convert", "SQL"],
    }  # fmt: skip


def test_both_languages_keep_the_same_probabilities_and_outcomes(engine):
    with Session(engine) as session:
        spans = []
        for locale in ("ko", "en"):
            ws = get_or_create_workspace(
                session=session, team_id=f"T{locale}", defaults=WorkspaceDefaults(locale=locale)
            )
            rows = session.exec(
                select(Stage.probability, Stage.stall_days, Stage.outcome)
                .where(Stage.workspace_id == ws.id)
                .order_by(Stage.pipeline_id, Stage.position)
            ).all()
            spans.append([tuple(r) for r in rows])
        assert spans[0] == spans[1] and len(spans[0]) == 18


def test_every_default_name_has_its_other_language_as_an_alias():
    for group in (*names.NEW_BUSINESS, *names.RENEWALS, *names.LEAD_STATUSES, *names.PIPELINES):
        en_name, ko_name = group[:2]
        assert names.aliases(en_name) == names.aliases(ko_name)
        assert {en_name.lower(), ko_name.lower()} <= set(names.aliases(en_name))
    assert names.aliases("My own stage") == ("my own stage",)


@pytest.mark.parametrize(
    ("typed", "tried"),
    [
        ("Meeting으로", ["meeting으로", "meeting"]),
        ("협상 단계", ["협상 단계", "협상"]),
        ("협상단계로", ["협상단계로", "협상단계", "협상"]),
        ("니즈 파악 단계로", ["니즈 파악 단계로", "니즈 파악 단계", "니즈 파악"]),
        ("MQL로", ["mql로", "mql"]),
        ("육성으로", ["육성으로", "육성"]),
        ("  Negotiation ", ["negotiation"]),
        ("갱신 예정", ["갱신 예정"]),
    ],
)
def test_particles_after_a_stage_are_tried_without_them(typed, tried):
    assert names.variants(typed) == tried


@pytest.mark.parametrize(
    ("text", "number"),
    [("201을", 201), ("205번", 205), ("D201을", 201), ("201번을", 201), ("#42에", 42)],
)
def test_particles_after_a_deal_number_are_stripped(text, number):
    assert parse("deal", f"show {text}", today=T0.date()) == c.DealShow(
        deal=c.DealRef(number=number)
    )


def test_a_two_word_stage_with_danggye_after_a_title():
    cmd = parse("deal", "move 한빛 ERP 협상 단계로", today=T0.date())
    assert cmd == c.DealMove(deal=c.DealRef(text="한빛 ERP"), stage=c.StageRef("협상 단계로"))


# --- the quoted commands, in ko and en --------------------------------------------------------


def test_deal_move_201_hyeopsang_works_in_both_languages(ko, en):
    for team in (ko, en):
        team.say("/deal new 한빛소프트 ERP amount:759만원")
    assert ko.say("/deal move 201 협상") == "@U1님이 D201을 컨택 단계에서 협상 단계로 옮겼습니다."
    assert en.say("/deal move 201 협상") == "@U1 moved D201 from Contact to Negotiation."
    # and the English name in the Korean workspace
    assert (
        ko.say("/deal move 201 Proposal") == "@U1님이 D201을 협상 단계에서 제안 단계로 옮겼습니다."
    )


def test_input_particles_are_stripped(ko, en):
    for team in (ko, en):
        team.say("/deal new 한빛소프트 ERP amount:759만원")
    assert ko.say("/deal move 201을 Meeting으로") == (
        "@U1님이 D201을 컨택 단계에서 미팅 단계로 옮겼습니다."
    )
    assert en.say("/deal move 201을 Meeting으로") == "@U1 moved D201 from Contact to Meeting."
    assert (
        ko.say("/deal move 201 협상 단계") == "@U1님이 D201을 미팅 단계에서 협상 단계로 옮겼습니다."
    )
    assert en.say("/deal move 201 협상 단계로") == "@U1 moved D201 from Meeting to Negotiation."
    assert ko.say("/deal show 201번").startswith("D201 · 한빛소프트 ERP\n")
    assert en.say("/deal show 201번").startswith("D201 · 한빛소프트 ERP\n")


def test_pipelines_answer_to_either_name(ko, en):
    assert en.say("/pipeline 갱신").startswith("Pipeline: Renewals\n")
    assert en.say("/pipeline 신규 영업").startswith("Pipeline: New business\n")
    assert ko.say("/pipeline Renewals").startswith("파이프라인: 갱신 관리\n")
    assert ko.say("/deal list pipeline:renewals") == "조건에 맞는 딜이 없습니다: 갱신 관리."


def test_a_title_with_a_particle_after_it(ko):
    ko.say("/deal new 한빛소프트 ERP")
    assert ko.say('/deal move "한빛소프트 ERP를" 협상으로') == (
        "@U1님이 D201을 컨택 단계에서 협상 단계로 옮겼습니다."
    )
    assert ko.say("/deal show 한빛소프트를").startswith("D201 · 한빛소프트 ERP\n")


def test_an_english_named_korean_workspace_keeps_its_names_and_takes_korean_ones(engine):
    old = Team(engine, "ko", stage_names="en")  # created before Korean defaults existed
    old.say("/deal new 한빛소프트 ERP")
    assert old.say("/deal move 201 협상") == (
        "@U1님이 D201을 Contact 단계에서 Negotiation 단계로 옮겼습니다."
    )
    assert old.say('/deal list pipeline:"갱신 관리"') == "조건에 맞는 딜이 없습니다: Renewals."


def test_lead_statuses_by_either_name_and_called_statuses(ko, en):
    assert ko.say("/lead new 김민수") == "리드 L41을 만들었습니다: *김민수*\n[딜로 전환]"
    en.say("/lead new Kim Minsu")
    assert ko.say("/lead status L41을 MQL로") == "L41: 상태 신규 → MQL"
    assert ko.say("/lead status 41번 Nurturing") == "L41: 상태 MQL → 육성"
    assert en.say("/lead status L41 육성으로") == "L41: status NEW → Nurturing."
    assert ko.say("/lead status L41 zz") == (
        "“zz” 상태가 없습니다. 상태: 신규, 육성, MQL, 컨택 중, 전환, SQL (또는 `3`처럼 순서)"
    )
    assert en.say("/lead status L41 zz") == (
        "There is no status “zz”. Statuses: NEW, Nurturing, MQL, Working, Convert, SQL "
        "(or a position, like `3`)"
    )


def test_a_closed_deal_says_when_it_closed_not_zero_days_in_its_stage(ko, en):
    for team in (ko, en):
        team.say("/deal new 한빛소프트 ERP amount:759만원")
        team.confirmed("/deal won 201")
    shown_ko, shown_en = ko.say("/deal show 201"), en.say("/deal show 201")
    assert "일째" not in shown_ko and "days in this stage" not in shown_en
    assert "\n  2026년 11월 2일 성사\n" in shown_ko
    assert "\n  Won on Nov 2, 2026\n" in shown_en
    assert "수주 (100%)\n" in shown_ko  # not "수주 (100%) · 성사"
    assert "Won (100%)\n" in shown_en  # not "Won (100%) · Won"


def test_an_open_deal_names_its_stall_threshold_jeongche_gijun(ko, en):
    ko.say("/deal new 한빛소프트 ERP")
    en.say("/deal new Hanbit ERP")
    assert "\n  이 단계에서 0일째 (정체 기준 7일)\n" in ko.say("/deal show 201")
    assert "\n  0 of 7 days in this stage\n" in en.say("/deal show 201")


def test_won_says_the_stage_only_when_it_says_more_than_won(ko, en):
    for team in (ko, en):
        team.say("/deal new 한빛소프트 ERP")
        team.say("/deal new 한빛소프트 갱신 pipeline:갱신")
    assert ko.confirmed("/deal won 201") == "🎉 @U1님이 D201 딜을 성사시켰습니다."
    assert en.confirmed("/deal won 201") == "🎉 @U1 won D201."
    assert ko.confirmed("/deal move 202 업셀") == "🎉 @U1님이 D202 딜을 성사시켰습니다: 업셀"
    assert en.confirmed("/deal move 202 업셀") == "🎉 @U1 won D202: Upgraded."


def test_a_search_without_results_says_so_plainly(ko, en):
    assert ko.say("/deal find zzzzzz") == (
        "“zzzzzz” 검색 결과가 없습니다. 딜 제목이나 회사 이름의 일부로 찾거나 "
        "`/deal list`로 전체 목록을 확인하세요."
    )
    assert en.say("/deal find zzzzzz") == (
        "No deal matches “zzzzzz”. Search for part of a title or a company name, "
        "or see them all with `/deal list`."
    )


def test_an_unknown_member_is_not_found_rather_than_unknown(ko, en):
    assert ko.say("/deal list @kim") == (
        "이 워크스페이스에서 @kim님을 찾지 못했습니다. "
        "Slack에서 @를 입력하고 목록에서 골라 멘션해 주세요."
    )
    assert en.say("/deal list @kim") == (
        "I can't find @kim in this workspace. Type @ in Slack and pick them from the list."
    )


def test_a_list_of_one_deal_says_one_deal(en, ko):
    en.say("/deal new Hanbit ERP amount:1000")
    ko.say("/deal new 한빛소프트 ERP amount:1000")
    assert en.say("/deal list").startswith("*All open deals*: 1 deal, ₩1,000\n")
    assert ko.say("/deal list").startswith("*진행 중인 모든 딜*: 딜 1건, ")
    en.say("/deal new Hanbit CRM amount:1000")
    assert en.say("/deal list").startswith("*All open deals*: 2 deals, ₩2,000\n")


# --- the catalogs as a whole ----------------------------------------------------------------


def test_english_plurals_follow_the_count():
    assert i18n.plural(1, "deal", "deals") == "1 deal"
    assert i18n.plural("1", "deal", "deals") == "1 deal"
    assert i18n.plural(0, "deal", "deals") == "0 deals"
    assert i18n.plural("1,201", "deal", "deals") == "1,201 deals"
    assert t(
        "en", "scheduler.digest.text", count="1", date="Dec 3", amount="₩1", weighted="₩1"
    ) == ("1 stalled deal on Dec 3: ₩1 (expected revenue ₩1).")
    assert t("en", "pipeline.saved", name="X", count=1) == "Pipeline *X* saved: 1 stage."


def test_no_english_template_puts_a_bare_count_before_a_plural_noun():
    bare = re.compile(
        r"\{(count|deals|leads|open|companies)\} (more )?(deals|leads|stages|periods|companies)\b"
    )
    assert [k for k, v in catalog("en").items() if bare.search(v)] == []


def test_one_word_for_expected_revenue_in_english():
    words = {k: re.sub(r"\{[^{}]*\}", "", v) for k, v in catalog("en").items()}
    weighted = [k for k, v in words.items() if re.search(r"\b[Ww]eighted\b", v)]
    bare_expected = [k for k, v in catalog("en").items() if re.search(r"expected \{", v)]
    assert weighted == [] and bare_expected == []


@pytest.mark.parametrize(
    ("word", "instead"),
    [
        ("정체 기준일", "정체 기준"),
        ("다이제스트", "일일 요약"),
        ("슬랙", "Slack"),
        ("에이씨미", "a Korean company name (한빛소프트)"),
        ("가중", "예상 매출"),
    ],
)
def test_ko_catalog_avoids_the_words_the_review_flagged(word, instead):
    assert [k for k, v in catalog("ko").items() if word in v] == [], instead


def test_ko_help_examples_use_korean_names():
    usage = {k: v for k, v in catalog("ko").items() if k.startswith("grammar.usage.")}
    assert "한빛소프트" in usage["grammar.usage.deal_new"]
    assert "stage:제안" in usage["grammar.usage.deal_new"]
    assert usage["grammar.usage.deal_move"].startswith("`/deal move 42 협상`")
    assert not [k for k, v in usage.items() if "Acme" in v or "Closed won" in v]


def test_lead_messages_call_statuses_statuses():
    lead_keys = {k: v for k, v in catalog("ko").items() if k.startswith("lead.status")}
    assert lead_keys and not [k for k, v in lead_keys.items() if "단계" in v]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("ko", "2026년 11월 2일 오전 9:30"), ("en", "Nov 2, 2026, 9:30 AM")],
)
def test_timestamps_are_to_the_minute(locale, expected):
    assert fmt.moment(T0.replace(second=41), "Asia/Seoul", locale) == expected
