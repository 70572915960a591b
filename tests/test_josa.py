"""Korean particles (조사) by how a word is read, and the ko catalog sentences that use them."""

from __future__ import annotations

import re
import string

import pytest

import i18n
from domain import deals
from i18n import catalog, josa, t
from tests.factories import T0, deal, member, workspace
from views.deals import change_text

# How each word ends when a Korean reader says it, and so which kind of ending it has:
# "C" a final consonant other than ㄹ, "L" final ㄹ, "V" a vowel, None not known.
WORDS = [
    # numbers 0–20: Sino-Korean, decided by the last digit or unit
    ("0", "영", "C"),
    ("1", "일", "L"),
    ("2", "이", "V"),
    ("3", "삼", "C"),
    ("4", "사", "V"),
    ("5", "오", "V"),
    ("6", "육", "C"),
    ("7", "칠", "L"),
    ("8", "팔", "L"),
    ("9", "구", "V"),
    ("10", "십", "C"),
    ("11", "일", "L"),
    ("12", "이", "V"),
    ("13", "삼", "C"),
    ("14", "사", "V"),
    ("15", "오", "V"),
    ("16", "육", "C"),
    ("17", "칠", "L"),
    ("18", "팔", "L"),
    ("19", "구", "V"),
    ("20", "십", "C"),
    # bigger numbers: the last unit spoken
    ("42", "이", "V"),
    ("100", "백", "C"),
    ("201", "일", "L"),
    ("1000", "천", "C"),
    ("10000", "만", "C"),
    ("12000", "천", "C"),  # 만 이천
    ("10010", "십", "C"),  # 만 십
    ("100000", "만", "C"),  # 십만
    ("1,000,000", "만", "C"),  # 백만
    ("7,590,000", "만", "C"),  # 칠백오십구만
    ("3,795,000", "천", "C"),  # 삼백칠십구만 오천
    ("100000000", "억", "C"),
    ("1000000000000", "조", "V"),
    ("1.5", "오", "V"),  # 일 점 오
    ("3.0", "영", "C"),
    ("007", "칠", "L"),  # 공공칠
    ("010", "공", "C"),  # 공일공
    ("-1", "일", "L"),
    # refs
    ("D1", "일", "L"),
    ("D2", "이", "V"),
    ("D3", "삼", "C"),
    ("D4", "사", "V"),
    ("D5", "오", "V"),
    ("D6", "육", "C"),
    ("D7", "칠", "L"),
    ("D8", "팔", "L"),
    ("D9", "구", "V"),
    ("D10", "십", "C"),
    ("D201", "일", "L"),
    ("L41", "일", "L"),
    ("L42", "이", "V"),
    ("L43", "삼", "C"),
    ("T3", "삼", "C"),
    ("2026-Q4", "사", "V"),
    # Latin letters as they are spelled out
    ("A", "에이", "V"),
    ("B", "비", "V"),
    ("C", "씨", "V"),
    ("D", "디", "V"),
    ("E", "이", "V"),
    ("F", "에프", "V"),
    ("G", "지", "V"),
    ("H", "에이치", "V"),
    ("I", "아이", "V"),
    ("J", "제이", "V"),
    ("K", "케이", "V"),
    ("L", "엘", "L"),
    ("M", "엠", "C"),
    ("N", "엔", "C"),
    ("O", "오", "V"),
    ("P", "피", "V"),
    ("Q", "큐", "V"),
    ("R", "알", "L"),
    ("S", "에스", "V"),
    ("T", "티", "V"),
    ("U", "유", "V"),
    ("V", "브이", "V"),
    ("W", "더블유", "V"),
    ("X", "엑스", "V"),
    ("Y", "와이", "V"),
    ("Z", "제트", "V"),
    ("x", "엑스", "V"),
    # acronyms, letter by letter
    ("CFO", "오", "V"),
    ("MQL", "엘", "L"),
    ("SQL", "엘", "L"),
    ("CRM", "엠", "C"),
    ("ERP", "피", "V"),
    ("HR", "알", "L"),
    ("PM", "엠", "C"),
    ("KRW", "더블유", "V"),
    ("USD", "디", "V"),
    ("B2B", "비", "V"),
    ("Acme ERP", "피", "V"),
    # Hangul by its last syllable's 받침
    ("서울", "울", "L"),
    ("부산", "산", "C"),
    ("대구", "구", "V"),
    ("딜", "딜", "L"),
    ("리드", "드", "V"),
    ("단계", "계", "V"),
    ("파이프라인", "인", "C"),
    ("고객", "객", "C"),
    ("미팅", "팅", "C"),
    ("이메일", "일", "L"),
    ("연필", "필", "L"),
    ("관리자", "자", "V"),
    ("매니저", "저", "V"),
    ("영업 담당자", "자", "V"),
    ("김민수", "수", "V"),
    ("홍길동", "동", "C"),
    ("759만원", "원", "C"),
    # signs read aloud, and what does not count
    ("80%", "퍼센트", "V"),
    ("$12,000", "달러", "V"),  # 만 이천 달러
    ("₩3,795,000", "원", "C"),
    ("김민수(관리자)", "수", "V"),  # a parenthetical does not count
    ("홍길동 (매니저)", "동", "C"),
    ("*D201*", "일", "L"),
    ("“서울”", "울", "L"),
    ("`L43`", "삼", "C"),
    # not known: say no particle rather than guess
    ("Qualification", None, None),
    ("Contact", None, None),
    ("Acme Corp", None, None),
    ("iPhone", None, None),
    ("TLOCAL", None, None),  # six capitals: a word, not an acronym
    ("hello", None, None),
    ("🔥", None, None),
    ("<@U123>", None, None),
    ("東京", None, None),
    ("ㅋㅋ", None, None),
    ("?", None, None),
    ("", None, None),
]

FORMS = {  # particle spec -> the form after each kind of ending
    "을/를": {"C": "을", "L": "을", "V": "를", None: "을(를)"},
    "이/가": {"C": "이", "L": "이", "V": "가", None: "이(가)"},
    "은/는": {"C": "은", "L": "은", "V": "는", None: "은(는)"},
    "와/과": {"C": "과", "L": "과", "V": "와", None: "와(과)"},
    "으로/로": {"C": "으로", "L": "로", "V": "로", None: "(으)로"},
    "이라/라": {"C": "이라", "L": "이라", "V": "라", None: "(이)라"},
    "이에요/예요": {"C": "이에요", "L": "이에요", "V": "예요", None: "(이)에요"},
}
OLD_PATTERNS = (
    "을(를)",
    "를(을)",
    "(으)로",
    "이(가)",
    "가(이)",
    "은(는)",
    "는(은)",
    "와(과)",
    "과(와)",
)


def test_the_table_is_big_enough_to_be_a_spec():
    assert len(WORDS) >= 100
    assert len({w for w, _, _ in WORDS}) == len(WORDS)


@pytest.mark.parametrize(("word", "reading", "kind"), WORDS, ids=[w or "empty" for w, *_ in WORDS])
def test_words_are_read_as_koreans_say_them(word, reading, kind):
    assert josa.reading_end(word) == reading
    for spec, forms in FORMS.items():
        expected = forms[kind]
        assert josa.particle(word, spec) == (None if kind is None else expected), spec
        assert josa.attach(word, spec) == word + expected, spec


@pytest.mark.parametrize(
    ("word", "spec", "expected"),
    [
        ("D201", "을/를", "D201을"),
        ("L42", "을/를", "L42를"),
        ("D201", "으로/로", "D201로"),
        ("서울", "으로/로", "서울로"),
        ("부산", "으로/로", "부산으로"),
        ("10", "으로/로", "10으로"),
        ("매니저", "으로/로", "매니저로"),
        ("CFO", "와/과", "CFO와"),
        ("MQL", "이/가", "MQL이"),
        ("1,000,000", "은/는", "1,000,000은"),
        ("L43", "이라/라", "L43이라"),
        ("D2", "이에요/예요", "D2예요"),
    ],
)
def test_the_issue_cases(word, spec, expected):
    assert josa.attach(word, spec) == expected


def test_both_orders_of_a_particle_spec_mean_the_same():
    for word in ("D201", "L42", "서울", "CRM"):
        assert josa.attach(word, "를/을") == josa.attach(word, "을/를")
        assert josa.attach(word, "과/와") == josa.attach(word, "와/과")
        assert josa.attach(word, "로/으로") == josa.attach(word, "으로/로")


def test_a_misspelt_particle_fails_loudly():
    with pytest.raises(ValueError):
        josa.attach("D1", "을/가")
    with pytest.raises(ValueError):
        i18n._FORMATTER.vformat("{ref:을/가} 옮겼습니다", (), {"ref": "D1"})


def test_numbers_are_read_whatever_their_type():
    assert josa.attach(201, "을/를") == "201을"
    assert josa.attach(42, "이/가") == "42가"


# --- the formatter in t() --------------------------------------------------------------------


def test_templates_name_the_particle_in_the_format_spec():
    moved = t("ko", "deal.change.moved", actor="<@U1>", ref="D201", **{"from": "A", "to": "B"})
    assert moved == "<@U1>님이 D201을 A 단계에서 B 단계로 옮겼습니다."
    updated = t("ko", "deal.change.updated", actor="<@U1>", ref="D42", changes="금액")
    assert updated == "<@U1>님이 D42를 수정했습니다: 금액."


def test_an_unknown_reading_writes_both_forms_instead_of_failing():
    text = t("ko", "deal.change.updated", actor="<@U1>", ref="Acme", changes="금액")
    assert text == "<@U1>님이 Acme을(를) 수정했습니다: 금액."


def test_templates_without_particles_keep_plain_str_format():
    assert t("ko", "reports.days", days="3") == "3일"
    assert not i18n._has_specs("{count:,}건 · {name}")
    assert i18n._has_specs("{ref:을/를} 옮겼습니다")


# --- the ko catalogs -------------------------------------------------------------------------


def test_no_ko_string_writes_both_particle_forms_any_more():
    left = {k: v for k, v in catalog("ko").items() if any(p in v for p in OLD_PATTERNS)}
    assert left == {}


def particle_fields(locale):
    fields = set()
    for key, template in catalog(locale).items():
        for _, name, spec, _ in string.Formatter().parse(template):
            if name is not None and spec and josa.is_particle_spec(spec):
                fields.add((key, name, spec))
    return fields


def test_particles_follow_only_fields_whose_reading_is_known():
    """Refs, numbers, role names and currency codes. Free text (stage names, titles, people,
    whatever a user typed) gets sentences that need no particle."""
    assert particle_fields("ko") == {
        ("deal.already_in_stage", "number", "은/는"),
        ("deal.not_yours", "number", "은/는"),
        ("deal.change.moved", "ref", "을/를"),
        ("deal.change.updated", "ref", "을/를"),
        ("lead.created", "ref", "을/를"),  # L41을 만들었습니다
        ("lead.converted", "lead", "을/를"),
        ("lead.converted", "ref", "으로/로"),
        ("lead.bad_size", "value", "은/는"),  # str(int)
        ("lead.already_status", "number", "은/는"),
        ("lead.already_converted", "number", "은/는"),
        ("lead.not_yours", "number", "은/는"),
        ("lead.not_found_number", "number", "이/가"),
        ("pipeline.bad_probability", "value", "은/는"),  # an int
        ("pipeline.bad_stall_days", "value", "은/는"),  # an int
        ("reports.plan_currency", "workspace", "으로/로"),  # KRW, USD
        ("workspace.role_set", "role", "으로/로"),  # 관리자, 매니저, 영업 담당자
        ("deal.read_back", "amount", "으로/로"),  # fmt.money: 1억 5천만원, $12,000
        ("reports.plan.target_read_back", "amount", "으로/로"),
        ("reports.plan.avg_read_back", "amount", "으로/로"),
        ("coach.quota_read_back", "amount", "으로/로"),
        ("coach.calibration.line", "configured", "으로/로"),  # a percentage: 퍼센트
        ("coach.calibration.apply", "measured", "으로/로"),
        # tasks (issue 14): T-numbers are ints
        ("task.not_found", "number", "이/가"),
        ("task.not_yours", "number", "은/는"),
        ("task.already_closed", "number", "은/는"),
        ("task.added", "number", "을/를"),
        ("money.currency_conflict", "wanted", "이/가"),  # a currency code: USD, KRW
    }
    assert particle_fields("en") == set()


def test_role_names_have_a_known_reading():
    for role in ("admin", "manager", "rep"):
        assert josa.particle(t("ko", f"workspace.role.{role}"), "으로/로") == "로"


def test_hard_coded_particles_after_a_field_are_gone():
    """``{lead}를`` was right for L42 and wrong for L41: a field is followed by a particle spec
    or by a word, never by a fixed particle."""
    fixed = re.compile(r"\}[`”*_)]*(을|를|이|가|은|는|와|과|로|으로)(?![가-힣])")
    assert {k: v for k, v in catalog("ko").items() if fixed.search(v)} == {}


# --- the sentences of the issue ---------------------------------------------------------------


def test_the_move_confirmation_reads_naturally(session):
    ws = workspace(session)
    rep = member(session, ws, "U1")
    d = deal(session, ws, rep)
    d.number = 201
    change = deals.move_deal(session=session, actor=rep, deal=d, stage_text="Qual", now=T0)
    assert (
        change_text(change, "ko", {})
        == "<@U1>님이 D201을 Contact 단계에서 Qualification 단계로 옮겼습니다."
    )
    assert change_text(change, "en", {}) == t(
        "en",
        "deal.change.moved",
        actor="<@U1>",
        ref="D201",
        **{"from": "Contact", "to": "Qualification"},
    )


@pytest.mark.parametrize(
    ("number", "converted", "already", "missing"),
    [
        (
            41,
            "리드 L41을 딜 D201로 전환했습니다: *Acme ERP*",
            "L41은 이미 Working 상태입니다.",
            "L41이 없습니다",
        ),
        (
            42,
            "리드 L42를 딜 D201로 전환했습니다: *Acme ERP*",
            "L42는 이미 Working 상태입니다.",
            "L42가 없습니다",
        ),
        (
            43,
            "리드 L43을 딜 D201로 전환했습니다: *Acme ERP*",
            "L43은 이미 Working 상태입니다.",
            "L43이 없습니다",
        ),
    ],
)
def test_lead_messages_for_l41_l42_l43(number, converted, already, missing):
    assert t("ko", "lead.converted", lead=f"L{number}", ref="D201", title="Acme ERP") == converted
    assert t("ko", "lead.already_status", number=number, status="Working") == already
    assert missing in t("ko", "lead.not_found_number", number=number)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("manager", "<@U2>님의 역할이 매니저로 바뀌었습니다."),
        ("admin", "<@U2>님의 역할이 관리자로 바뀌었습니다."),
        ("rep", "<@U2>님의 역할이 영업 담당자로 바뀌었습니다."),
    ],
)
def test_the_role_change(role, expected):
    name = t("ko", f"workspace.role.{role}")
    assert t("ko", "workspace.role_set", user="<@U2>", role=name) == expected


def test_free_text_sentences_need_no_particle():
    assert t("ko", "deal.not_found_text", text="Qualification").startswith(
        "“Qualification”: 이 말로 시작하는 딜이 없습니다."
    )
    assert t("ko", "grammar.bad_amount", value="abc").startswith(
        "금액으로 읽을 수 없습니다: `abc`."
    )
    assert t("ko", "member.ambiguous", name="kim").startswith("이름이 @kim인 사람이 여러 명입니다.")
    assert t("ko", "reports.plan_currency", currency="USD", workspace="KRW").endswith(
        "목표를 KRW로 입력해 주세요."
    )
