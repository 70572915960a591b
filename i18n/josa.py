"""Korean particles (조사) chosen by how the word before them is read.

A particle has one form after a final consonant (받침) and one after a vowel: ``D201을`` but
``L42를``; (으)로 also takes 로 after ㄹ (``서울로``, ``D201로``). What counts is the sound, so a
word is first read the way a Korean reader says it:

- **Hangul** by the 받침 of its last syllable.
- **Numbers** in Sino-Korean, ending in the last digit or unit spoken: 201 이백일 (ㄹ), 42 사십이
  (vowel), 10 십 (ㅂ), 100 백 (ㄱ), 1000 천 (ㄴ), 10000 만 (ㄴ), 1,000,000 백만 (ㄴ), 10⁸ 억 (ㄱ),
  10¹² 조 (vowel), 0 영 (ㅇ). Commas group digits; digits after a decimal point, and numbers
  with a leading zero, are read one by one (1.5 일 점 오, 007 공공칠). A currency sign in front
  is said last (``$12,000`` 만 이천 달러), and ``%`` is 퍼센트.
- **Latin letters** as Koreans spell them out (A 에이, B 비, … L 엘, M 엠, N 엔, R 알, …), for a
  single letter or an acronym of up to five capitals (``CFO`` 씨에프오, ``MQL`` 엠큐엘). Other
  English words are *not* guessed from their spelling: ``Qualification`` is unknown.
- A closing parenthetical, closing quotes and Slack markup do not count
  (``김민수(관리자)`` is read as 김민수, ``*D201*`` as D201).

Anything else (an English word, a symbol, an emoji, another script, a Slack mention) has no
known reading: :func:`particle` returns None, and :func:`attach` writes both forms the
traditional way (``을(를)``), which is never wrong. Templates should not need that: the
catalogs use a particle only after words with a known reading (refs, numbers, role names) and
phrase sentences about free text (stage names, titles, people) without one. In a catalog
template the particle is a format spec, ``{ref:을/를}`` (see :func:`i18n.t`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RIEUL = 8  # the index of ㄹ among the final consonants of a Hangul syllable

DIGITS = "영일이삼사오육칠팔구"
LETTERS = {  # as a Korean spells out an acronym
    "A": "에이", "B": "비", "C": "씨", "D": "디", "E": "이", "F": "에프", "G": "지",
    "H": "에이치", "I": "아이", "J": "제이", "K": "케이", "L": "엘", "M": "엠", "N": "엔",
    "O": "오", "P": "피", "Q": "큐", "R": "알", "S": "에스", "T": "티", "U": "유",
    "V": "브이", "W": "더블유", "X": "엑스", "Y": "와이", "Z": "제트",
}  # fmt: skip
CURRENCY_SIGNS = {"$": "달러", "₩": "원", "€": "유로", "¥": "엔", "£": "파운드"}
SYMBOLS = {"%": "퍼센트"}
MAX_ACRONYM = 5

_TRANSPARENT = "*_~`'\"”’」』 \t\n"  # closing quotes and markup: the word inside is what is read
_PARENTHETICAL = re.compile(r"\s*\([^()]*\)$")
_NUMBER = re.compile(r"(?:(\d{1,3}(?:,\d{3})+)|(\d+))(?:\.(\d+))?$")
_CURRENCY = re.compile(r"(?:^|[\s(+-])([$₩€¥£])\s?[\d,.]+$")
_LETTERS = re.compile(r"[A-Za-z]+$")


@dataclass(frozen=True)
class Particle:
    consonant: str  # after a final consonant: 을
    vowel: str  # after a vowel: 를
    unknown: str  # when the reading is not known, both forms: 을(를)
    rieul_takes_vowel_form: bool = False  # (으)로: 서울로, not 서울으로

    def after(self, final: int) -> str:
        """The form after a word whose last read syllable ends in ``final`` (0: a vowel)."""
        vowel = final == 0 or (final == RIEUL and self.rieul_takes_vowel_form)
        return self.vowel if vowel else self.consonant


_ALL = (
    Particle("을", "를", "을(를)"),
    Particle("이", "가", "이(가)"),
    Particle("은", "는", "은(는)"),
    Particle("과", "와", "와(과)"),
    Particle("으로", "로", "(으)로", rieul_takes_vowel_form=True),
    Particle("이라", "라", "(이)라"),
    Particle("이에요", "예요", "(이)에요"),
    Particle("이나", "나", "(이)나"),
    Particle("이랑", "랑", "(이)랑"),
    Particle("아", "야", "아(야)"),
)
# A spec names both forms, in either order: "을/를" or "를/을", "와/과" or "과/와".
PARTICLES: dict[str, Particle] = {
    spec: p for p in _ALL for spec in (f"{p.consonant}/{p.vowel}", f"{p.vowel}/{p.consonant}")
}


def _hangul_final(syllable: str) -> int | None:
    code = ord(syllable) - 0xAC00
    return code % 28 if 0 <= code < 11172 else None


def _number_ending(whole: str, decimals: str | None) -> str | None:
    """The last syllable spoken for a number: 201 → 일, 10 → 십, 1000 → 천, 10000 → 만."""
    digits = whole.replace(",", "")
    if decimals:
        return DIGITS[int(decimals[-1])]
    if len(digits) > 1 and digits.startswith("0"):  # 007, 010: read digit by digit, 0 as 공
        return "공" if digits[-1] == "0" else DIGITS[int(digits[-1])]
    n = int(digits)
    if n == 0:
        return "영"
    # Korean groups digits by four; the lowest group that is not 0000 is said last, then its
    # unit: 120,000 십이만 → 만, 12,000 만 이천 → 천, 10,010 만 십 → 십.
    group = 0
    while n % 10_000 == 0:
        n //= 10_000
        group += 1
    if group:
        units = "만억조경해"  # 10⁴, 10⁸, 10¹², 10¹⁶, 10²⁰
        return units[group - 1] if group <= len(units) else None
    n %= 10_000
    zeros = len(str(n)) - len(str(n).rstrip("0"))
    return "십백천"[zeros - 1] if zeros else DIGITS[n % 10]


def reading_end(word: str) -> str | None:
    """The last syllable(s) of ``word`` as a Korean reader says it, or None when unknown."""
    text = word
    while True:
        stripped = _PARENTHETICAL.sub("", text.rstrip(_TRANSPARENT))
        if stripped == text:
            break
        text = stripped
    if not text:
        return None
    last = text[-1]
    if _hangul_final(last) is not None:
        return last
    if last in SYMBOLS:
        return SYMBOLS[last]
    number = _NUMBER.search(text)
    if number:
        sign = _CURRENCY.search(text)
        if sign:
            return CURRENCY_SIGNS[sign.group(1)]
        return _number_ending(number.group(1) or number.group(2), number.group(3))
    letters = _LETTERS.search(text)
    if letters:
        run = letters.group()
        if len(run) == 1 or (run.isupper() and len(run) <= MAX_ACRONYM):
            return LETTERS[run[-1].upper()]
    return None


def final_consonant(word: str) -> int | None:
    """The 받침 ``word`` ends in when read (0 for a vowel), or None when the reading is unknown."""
    end = reading_end(word)
    return _hangul_final(end[-1]) if end else None


def _particle(spec: str | Particle) -> Particle:
    if isinstance(spec, Particle):
        return spec
    try:
        return PARTICLES[spec]
    except KeyError:
        raise ValueError(f"unknown particle {spec!r}; one of {', '.join(PARTICLES)}") from None


def particle(word: str, spec: str | Particle) -> str | None:
    """The particle that follows ``word`` (``particle("D201", "을/를") == "을"``), or None."""
    p = _particle(spec)
    final = final_consonant(str(word))
    return None if final is None else p.after(final)


def attach(word: object, spec: str | Particle) -> str:
    """``word`` and its particle: ``D201을``, ``L42를``; ``Qualification을(를)`` when unknown."""
    text = str(word)
    p = _particle(spec)
    chosen = particle(text, p)
    return text + (p.unknown if chosen is None else chosen)


def is_particle_spec(spec: str) -> bool:
    return spec in PARTICLES
