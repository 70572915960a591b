"""Qualification and lead scoring grammar (issue 15), on the pieces of :mod:`commands.grammar`.

``/deal qualify 42 budget authority`` ticks criteria, ``-budget`` unticks one (a minus sign
right before the word; ``/deal qualify 42 -budget need`` does both at once), ``all`` and
``-all`` tick or untick the four; Korean words work too (``예산 결정권 니즈 시기``).
After a number or a quoted title every other word is a criterion; after an unquoted title
the criteria are the trailing words that are criteria (``/deal qualify acme erp budget``).
With no criterion the checkboxes open. ``/pipeline scoring`` opens the scoring rules,
``/lead note L7 …`` notes on a lead, and ``/lead new … title:CTO`` gives a job title.
"""

from __future__ import annotations

from datetime import date

from commands import grammar as g
from commands import types as c
from commands.lexer import Token, next_token, plain, rest, shown
from commands.values import within_limit
from domain.errors import InvalidInput
from domain.qualify import CRITERIA

CRITERION_WORDS = {
    **dict.fromkeys(("budget", "예산"), "budget"),
    **dict.fromkeys(("authority", "결정권", "권한", "결재권"), "authority"),
    **dict.fromkeys(("need", "needs", "니즈", "필요"), "need"),
    **dict.fromkeys(("timeline", "timing", "시기", "도입시기", "일정"), "timeline"),
}
ALL_WORDS = frozenset({"all", "bant", "전체", "모두"})
MINUS = ("-", "−", "–")  # a hyphen, and the minus signs a phone or a paste may give


def criterion(word: Token) -> tuple[bool, tuple[str, ...]] | None:
    """``budget`` → (True, ("budget",)); ``-need`` → (False, ("need",)); not one: None."""
    if word.key is not None or word.quoted:
        return None
    text = plain(word.text).strip().lower()
    on = not text.startswith(MINUS)
    text = text.lstrip("".join(MINUS))
    if text in ALL_WORDS:
        return on, CRITERIA
    found = CRITERION_WORDS.get(text)
    return (on, (found,)) if found else None


def deal_qualify(text: str, pos: int, today: date) -> c.Command:
    words, _ = g._read(g._all_tokens(text, pos), {}, today)
    if words and (g._is_number(words[0]) or words[0].quoted):
        ref, marks = words[:1], words[1:]
    else:
        cut = len(words)
        while cut > 1 and criterion(words[cut - 1]) is not None:
            cut -= 1
        ref, marks = words[:cut], words[cut:]
    deal = g._deal_ref(ref)
    tick: set[str] = set()
    untick: set[str] = set()
    for word in marks:
        found = criterion(word)
        if found is None:
            raise InvalidInput("qualify.unknown", value=shown(g._written(word)))
        on, names = found
        (tick if on else untick).update(names)
    both = tick & untick
    if both:
        raise InvalidInput("qualify.both", value=sorted(both, key=CRITERIA.index)[0])
    return c.DealQualify(deal=deal, tick=frozenset(tick), untick=frozenset(untick))


def pipeline_scoring(text: str, pos: int, today: date) -> c.Command:
    words, _ = g._read(g._all_tokens(text, pos), {}, today)
    g._no_words(words)
    return c.PipelineScoring()


def lead_note(text: str, pos: int, today: date) -> c.Command:
    """The note is the rest of the text as written, after a one-word reference."""
    first = next_token(text, pos)
    if first is None or first.key is not None:
        raise InvalidInput("grammar.missing_lead")
    note = plain(rest(text, first.end)).strip()
    if not note:
        raise InvalidInput("grammar.missing_note")
    return c.LeadNote(lead=g._lead_ref([first]), text=within_limit(note, "note"))


# Registered with the shared grammar (commands.grammar imports this module at its end).
g.SUBCOMMANDS["deal"].update(dict.fromkeys(("qualify", "bant", "검증", "자격"), "qualify"))
g.SUBCOMMANDS["pipeline"].update(dict.fromkeys(("scoring", "score", "스코어링", "점수"), "scoring"))
g.SUBCOMMANDS["lead"].update(dict.fromkeys(("note", "메모"), "note"))
g._PARSERS.update(
    {"deal_qualify": deal_qualify, "pipeline_scoring": pipeline_scoring, "lead_note": lead_note}
)
g.LEAD_NEW_KEYS["title"] = g._title  # the job title: /lead new "Kim" title:CTO
g.KEY_ALIASES.update({"직함": "title", "직책": "title"})
