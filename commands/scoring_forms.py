"""The scoring modal's fields (``/pipeline scoring``) → a :class:`domain.scoring.Scoring`,
and the BANT modal's checkboxes.

New rules are written one a line, the points last::

    size 100-999 +20      size >= 1000 +30      size < 10 -5      size 100+ +20
    source webinar +10    title cto +15         title "vice president" +10
    note +5               message +3            task +5
    field industry 제조 +10                      field employees >= 100 +20

Korean words work for the kinds (규모, 유입경로/출처, 직함/직책, 메모, 메시지, 할일) and
points may end in 점 (``+20점``). A line that cannot be read is answered under the field with
its number and what was written; nothing is saved.
"""

from __future__ import annotations

import re

from commands.forms import FieldErrors, _element, _text
from domain.errors import InvalidInput
from domain.qualify import CRITERIA
from domain.scoring import MAX_DAYS, MAX_POINTS, Rule, Scoring, number_of
from i18n import t

KIND_WORDS = {
    **dict.fromkeys(("size", "employees", "규모", "직원수", "인원"), "size"),
    **dict.fromkeys(("source", "출처", "유입경로"), "source"),
    **dict.fromkeys(("title", "job", "직함", "직책"), "title"),
    **dict.fromkeys(("note", "notes", "메모"), "note"),
    **dict.fromkeys(("message", "messages", "메시지"), "message"),
    **dict.fromkeys(("task", "tasks", "할일", "할 일", "완료"), "task"),
    **dict.fromkeys(("field", "custom", "필드", "항목"), "field"),
}
_FIELD = re.compile(r"^([^\s<>=:≥≤]+)\s*(>=|<=|=>|=<|≥|≤|>|<|=|:)?\s*(.+)$")
_OPS = {"=>": ">=", "≥": ">=", "=<": "<=", "≤": "<=", ":": "=", None: "="}
_LINE = re.compile(r"^\s*(\S+)\s*(.*?)\s*([+-]?\d{1,6})\s*점?\s*$")
_RANGE = re.compile(r"^(\d{1,9})\s*[-~–]\s*(\d{1,9})$")
_AT_LEAST = re.compile(r"^(?:(?:>=|≥|=>)\s*(\d{1,9})|(\d{1,9})\s*\+|(?:>)\s*(\d{1,9}))$")
_AT_MOST = re.compile(r"^(?:(?:<=|≤|=<)\s*(\d{1,9})|(?:<)\s*(\d{1,9}))$")
MAX_VALUE = 100


def parse_rule(line: str) -> Rule:
    """One line → a rule; InvalidInput ``scoring.bad_rule`` when it cannot be read."""
    found = _LINE.match(line)
    kind = KIND_WORDS.get(found[1].lower()) if found else None
    if found is None or kind is None:
        raise InvalidInput("scoring.bad_rule", value=line.strip())
    what, points = found[2].strip(), int(found[3])
    if abs(points) > MAX_POINTS:
        raise InvalidInput("scoring.bad_points", value=points, limit=MAX_POINTS)
    if kind == "size":
        return _size(what, points, line)
    if kind == "field":
        return _field(what, points, line)
    if kind in ("source", "title"):
        value = " ".join(what.strip("\"'“”").split()).lower()
        if not value or len(value) > MAX_VALUE:
            raise InvalidInput("scoring.bad_rule", value=line.strip())
        return Rule(kind, points, value=value)
    if what:
        raise InvalidInput("scoring.bad_rule", value=line.strip())
    return Rule(kind, points)


def _field(what: str, points: int, line: str) -> Rule:
    """``industry 제조``, ``industry:"IT 서비스"``, ``employees >= 100`` (the field's key or
    name; whether it exists and has that kind is checked on saving, domain.lead_scores)."""
    found = _FIELD.match(what)
    if found is None:
        raise InvalidInput("scoring.bad_rule", value=line.strip())
    op = _OPS.get(found[2], found[2])
    value = " ".join(found[3].strip("\"'“”").split()).lower()
    if not value or len(value) > MAX_VALUE or (op != "=" and number_of(value) is None):
        raise InvalidInput("scoring.bad_rule", value=line.strip())
    return Rule("field", points, value=value, key=found[1].lower(), op=op)


def _size(what: str, points: int, line: str) -> Rule:
    what = what.replace(" ", "")
    if m := _RANGE.match(what):
        low, high = int(m[1]), int(m[2])
        if low <= high:
            return Rule("size", points, low=low, high=high)
    elif m := _AT_LEAST.match(what):
        low = int(m[1] or m[2] or int(m[3]) + 1)
        return Rule("size", points, low=low)
    elif m := _AT_MOST.match(what):
        high = int(m[1]) if m[1] else int(m[2]) - 1
        if high >= 0:
            return Rule("size", points, high=high)
    raise InvalidInput("scoring.bad_rule", value=line.strip())


def parse_rules(text: str) -> list[Rule]:
    """Every non-empty line; the first bad one names its line number."""
    rules = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rules.append(parse_rule(line))
        except InvalidInput as err:
            err.params["line"] = number
            raise
    return rules


def _selected(values: dict, block: str) -> set[str]:
    """The values of a checkboxes or multi-select input's chosen options."""
    chosen = _element(values, block).get("selected_options")
    options = chosen if isinstance(chosen, list) else []
    return {str(o.get("value")) for o in options if isinstance(o, dict) and o.get("value")}


def ticked(values: dict) -> frozenset[str]:
    """The BANT modal's ticked criteria (views.qualify.modal); anything else is ignored."""
    picked = _selected(values, "criteria")
    return frozenset(c for c in CRITERIA if c in picked)


def _removed(values: dict) -> set[int]:
    return {int(v) for v in _selected(values, "remove") if v.isdigit() and len(v) < 6}


def _number(values: dict, block: str, low: int, high: int, locale: str, errors: dict) -> int:
    text = _text(values, block)
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    errors[block] = t(locale, "scoring.modal.bad_number", low=low, high=high)
    return low


def scoring_form(values: dict, *, current: Scoring, locale: str) -> Scoring:
    """The modal's fields: keep the rules not ticked for removal, add the new lines, and the
    threshold, window and half-life. Every field is checked; FieldErrors names the bad ones."""
    errors: dict[str, str] = {}
    threshold = _number(values, "threshold", 1, 100_000, locale, errors)
    window = _number(values, "window", 1, MAX_DAYS, locale, errors)
    half_life = _number(values, "half_life", 1, MAX_DAYS, locale, errors)
    added: list[Rule] = []
    try:
        added = parse_rules(_text(values, "add"))
    except InvalidInput as err:
        line = err.params.get("line", 1)
        errors["add"] = t(locale, "scoring.modal.bad_line", line=line, value=err.render(locale))
    if errors:
        raise FieldErrors(errors)
    removed = _removed(values)
    kept = [r for i, r in enumerate(current.rules) if i not in removed]
    return Scoring(
        rules=tuple(kept + added),
        threshold=threshold,
        window_days=window,
        half_life_days=half_life,
    )
