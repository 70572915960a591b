"""Lead scoring rules and the score: a pure function of the rules, a lead's facts and a date.

**Fit** rules read the lead: its company size in a range (``size 100-999 +20``), its source
(``source webinar +10``, the whole source, any case) and a keyword in its job title
(``title cto +15``, anywhere in the title, any case), or a custom field's value for leads
(``field industry 제조 +10``: a text or select equal to it, any case, a multi select having
it; ``field employees >= 100 +20``: a number or money amount compared). Every rule that
matches adds its points (negative points subtract).

**Activity** rules give points per event of a kind: a note (``note``) or thread message
(``message``) on the lead or on the deal it became, a task of the lead (or its deal) done
(``task``). Only events of the last ``window_days`` count, and each **decays**: it is worth
``points × ½^(age / half_life_days)``, so with the default half-life of 7 days a note is
worth its full 5 points today, 2.5 after a week, 1.25 after two, nothing after the window
(30 days). An activity rule's contribution is rounded half up once, over all its events.

Storing scores and acting on the MQL threshold is :mod:`domain.lead_scores`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain import names
from domain.errors import InvalidInput

FIT_KINDS = ("size", "source", "title", "field")
COMPARE = (">=", "<=", ">", "<")  # a field rule's ops beside equality ("=")
ACTIVITY_KINDS = ("note", "message", "task")
KINDS = FIT_KINDS + ACTIVITY_KINDS
MAX_RULES = 50
MAX_POINTS = 1000
MAX_DAYS = 365
MAX_THRESHOLD = 100_000


@dataclass(frozen=True)
class Rule:
    kind: str  # one of KINDS
    points: int
    low: int | None = None  # size: at least (None: no lower bound)
    high: int | None = None  # size: at most (None: no upper bound)
    value: str | None = None  # source, or a title keyword (lower case), or a field's value
    key: str | None = None  # field: the custom field's key (for leads)
    op: str | None = None  # field: "=" or one of COMPARE

    def matches(self, facts: Facts) -> bool:
        if self.kind == "size":
            if facts.size is None:
                return False
            return (self.low is None or facts.size >= self.low) and (
                self.high is None or facts.size <= self.high
            )
        if self.kind == "source":
            return facts.source is not None and names.key(facts.source) == self.value
        if self.kind == "title":
            return facts.title is not None and (self.value or "") in facts.title.lower()
        if self.kind == "field":
            return _field_matches(self, facts.custom.get(self.key or ""))
        return False

    def as_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Scoring:
    rules: tuple[Rule, ...]
    threshold: int = 50
    window_days: int = 30
    half_life_days: int = 7


def _field_matches(rule: Rule, value: Any) -> bool:
    if value is None:
        return False
    if rule.op in COMPARE:
        amount = value[0] if isinstance(value, tuple) and len(value) == 2 else value
        if not isinstance(amount, Decimal | int) or isinstance(amount, bool):
            return False
        wanted = number_of(rule.value)
        return wanted is not None and {
            ">=": amount >= wanted, "<=": amount <= wanted, ">": amount > wanted,
            "<": amount < wanted,
        }[rule.op]  # fmt: skip
    if isinstance(value, tuple):  # a multi select: has the option
        return any(names.key(str(v)) == rule.value for v in value)
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return value == number_of(rule.value)
    return names.key(str(value)) == rule.value


def number_of(text: str | None) -> Decimal | None:
    try:
        return Decimal((text or "").replace(",", ""))
    except InvalidOperation:
        return None


DEFAULT_RULES = (
    Rule("size", 30, low=1000),
    Rule("size", 20, low=100, high=999),
    Rule("size", 10, low=10, high=99),
    Rule("source", 15, value="referral"),
    Rule("source", 10, value="webinar"),
    Rule("source", 5, value="website"),
    Rule("title", 15, value="ceo"),
    Rule("title", 15, value="cto"),
    Rule("title", 10, value="vp"),
    Rule("title", 10, value="director"),
    Rule("title", 15, value="대표"),
    Rule("title", 10, value="이사"),
    Rule("title", 5, value="팀장"),
    Rule("note", 5),
    Rule("message", 3),
    Rule("task", 5),
)
DEFAULT = Scoring(rules=DEFAULT_RULES)


@dataclass(frozen=True)
class Facts:
    """What the rules read about one lead. ``events``: (kind, when) of its activity."""

    size: int | None = None
    source: str | None = None
    title: str | None = None
    events: tuple[tuple[str, datetime], ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)  # custom fields for leads, by key


@dataclass(frozen=True)
class Part:
    """One rule's contribution: its points (rounded), and for activity how many events."""

    rule: Rule
    points: int
    count: int = 0


@dataclass(frozen=True)
class Score:
    total: int
    parts: tuple[Part, ...] = field(default_factory=tuple)


def decayed(points: int, age: timedelta, half_life_days: int) -> float:
    """``points`` halved every ``half_life_days``: 5 points a week old with a 7-day
    half-life are worth 2.5."""
    days = max(age.total_seconds(), 0.0) / 86400
    return points * 0.5 ** (days / half_life_days)


def _round(value: float) -> int:
    """Half up, away from zero: 2.5 → 3, -2.5 → -3."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def compute(scoring: Scoring, facts: Facts, now: datetime) -> Score:
    """The lead's score at ``now`` and what it is made of, rules in their order."""
    window = timedelta(days=scoring.window_days)
    parts = []
    for rule in scoring.rules:
        if rule.kind in FIT_KINDS:
            if rule.matches(facts):
                parts.append(Part(rule, rule.points))
            continue
        ages = [now - at for kind, at in facts.events if kind == rule.kind]
        ages = [age for age in ages if timedelta(0) <= age <= window]
        if not ages:
            continue
        value = sum(decayed(rule.points, age, scoring.half_life_days) for age in ages)
        points = _round(value)
        if points:
            parts.append(Part(rule, points, len(ages)))
    return Score(total=sum(p.points for p in parts), parts=tuple(parts))


def rules_from_json(text: str) -> tuple[Rule, ...]:
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return ()
    out = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            continue
        try:
            out.append(
                Rule(
                    kind=item["kind"],
                    points=int(item.get("points", 0)),
                    low=None if item.get("low") is None else int(item["low"]),
                    high=None if item.get("high") is None else int(item["high"]),
                    value=item.get("value"),
                    key=item.get("key"),
                    op=item.get("op"),
                )
            )
        except (TypeError, ValueError):
            continue
    return tuple(out)


def check(scoring: Scoring) -> None:
    """Everything an admin may save, checked before anything is written."""
    if len(scoring.rules) > MAX_RULES:
        raise InvalidInput("scoring.too_many", limit=MAX_RULES)
    if not 0 < scoring.threshold <= MAX_THRESHOLD:
        raise InvalidInput("scoring.bad_threshold", value=scoring.threshold)
    for days in (scoring.window_days, scoring.half_life_days):
        if not 0 < days <= MAX_DAYS:
            raise InvalidInput("scoring.bad_days", value=days, limit=MAX_DAYS)
    for rule in scoring.rules:
        if rule.kind not in KINDS or abs(rule.points) > MAX_POINTS:
            raise InvalidInput("scoring.bad_points", value=rule.points, limit=MAX_POINTS)
