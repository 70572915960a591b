"""Korean particles (조사) by how a word is read, and the ko catalog sentences that use them."""

from __future__ import annotations

import pytest

import i18n
from i18n import josa

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
        i18n._PARTICLE_FORMATTER.vformat("{ref:을/가} 옮겼습니다", (), {"ref": "D1"})


def test_numbers_are_read_whatever_their_type():
    assert josa.attach(201, "을/를") == "201을"
    assert josa.attach(42, "이/가") == "42가"
