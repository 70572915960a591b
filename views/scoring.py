"""Lead scores: rules as sentences, a score explained, the rules modal, the MQL DM."""

from __future__ import annotations

from typing import Any

from domain.scoring import FIT_KINDS, Rule, Score, Scoring
from i18n import fmt, t
from views import blocks as b
from views.ids import View
from views.message import Message
from views.modals import _modal, text_input

RULES_PER_SECTION = 20


def signed(points: int) -> str:
    return f"+{points}" if points >= 0 else f"−{abs(points)}"


def _size(rule: Rule, locale: str, form: str) -> str:
    if rule.low is not None and rule.high is not None:
        which = "range"
    elif rule.low is not None:
        which = "at_least"
    else:
        which = "at_most"
    return t(
        locale,
        f"scoring.{form}.size_{which}",
        low=fmt.number(rule.low, locale),
        high=fmt.number(rule.high, locale),
    )


def label(rule: Rule, locale: str) -> str:
    """Short, for an explanation: ``size ≥ 100``, ``webinar``, ``title “cto”``, ``notes``."""
    if rule.kind == "size":
        return _size(rule, locale, "label")
    if rule.kind == "field":
        return _field(rule, locale, "label")
    return t(locale, f"scoring.label.{rule.kind}", value=rule.value or "")


def _field(rule: Rule, locale: str, form: str) -> str:
    """``industry “제조”``, ``employees ≥ 100`` (custom fields for leads, issue 15)."""
    which = "eq" if rule.op in (None, "=") else "compare"
    op = {">=": "≥", "<=": "≤"}.get(rule.op or "", rule.op or "")
    return t(locale, f"leadset.{form}.{which}", key=rule.key or "", op=op, value=rule.value or "")


def sentence(rule: Rule, scoring: Scoring, locale: str) -> str:
    """A rule as the modal lists it: ``+20 when the company has 100 to 999 employees``."""
    if rule.kind == "size":
        what = _size(rule, locale, "rule")
    elif rule.kind == "field":
        what = _field(rule, locale, "rule")
    elif rule.kind in FIT_KINDS:
        what = t(locale, f"scoring.rule.{rule.kind}", value=rule.value or "")
    else:
        what = t(
            locale,
            f"scoring.rule.{rule.kind}",
            days=scoring.window_days,
            half_life=scoring.half_life_days,
        )
    return t(locale, "scoring.rule.line", points=signed(rule.points), what=what)


def explanation(score: Score, locale: str) -> str:
    """``+20 size ≥ 100, +10 webinar, +7 notes (3)``; no points: a dash."""
    if not score.parts:
        return fmt.EMPTY
    parts = []
    for part in score.parts:
        text = f"{signed(part.points)} {label(part.rule, locale)}"
        if part.count:
            text += f" ({fmt.number(part.count, locale)})"
        parts.append(text)
    return ", ".join(parts)


def score_field(score: Score, scoring: Scoring, locale: str) -> str:
    """``/lead show``'s score field: the score, the threshold and why."""
    return t(
        locale,
        "scoring.field",
        score=fmt.number(score.total, locale),
        threshold=fmt.number(scoring.threshold, locale),
        why=explanation(score, locale),
    )


def score_block(score: Score, scoring: Scoring, job_title: str | None, locale: str) -> dict:
    """``/lead show``: the job title the title rules read, and the score explained."""
    items = [score_field(score, scoring, locale)]
    items.append(t(locale, "scoring.job_title", value=job_title or fmt.EMPTY))
    return b.fields(items)


def mql_dm(lead, status: str, score: Score, scoring: Scoring, locale: str) -> Message:
    """To the owner: the lead crossed the MQL threshold, its status, and why."""
    text = t(
        locale,
        "scoring.mql_dm",
        ref=f"L{lead.number}",
        name=lead.name,
        score=fmt.number(score.total, locale),
        threshold=fmt.number(scoring.threshold, locale),
        status=status,
    )
    why = t(locale, "scoring.why", why=explanation(score, locale))
    return Message(text=text, blocks=[b.section(text), b.context(why)])


def modal(scoring: Scoring, locale: str) -> dict[str, Any]:
    """The rules as sentences (numbered), a select to remove some, lines to add, numbers."""
    lines = [
        f"{i}. {sentence(rule, scoring, locale)}" for i, rule in enumerate(scoring.rules, start=1)
    ]
    blocks: list[dict[str, Any]] = [b.section(t(locale, "scoring.modal.intro"))]
    for i in range(0, len(lines), RULES_PER_SECTION):
        blocks.append(b.section("\n".join(lines[i : i + RULES_PER_SECTION])))
    if not lines:
        blocks.append(b.context(t(locale, "scoring.modal.no_rules")))
    if scoring.rules:
        options = [
            b.option(f"{i + 1}. {sentence(rule, scoring, locale)}", str(i))
            for i, rule in enumerate(scoring.rules)
        ]
        blocks.append(
            {
                "type": "input",
                "block_id": "remove",
                "optional": True,
                "label": b.plain(t(locale, "scoring.modal.remove"), 2000),
                "element": {
                    "type": "multi_static_select",
                    "action_id": "value",
                    "placeholder": b.plain(t(locale, "scoring.modal.remove_hint"), 150),
                    "options": options[: b.SELECT_OPTIONS],
                },
            }
        )
    blocks += [
        text_input(
            "add",
            t(locale, "scoring.modal.add"),
            optional=True,
            multiline=True,
            placeholder="size 100-999 +20",
        ),
        b.context(t(locale, "scoring.modal.add_help")),
        text_input(
            "threshold", t(locale, "scoring.modal.threshold"), initial=str(scoring.threshold)
        ),
        text_input("window", t(locale, "scoring.modal.window"), initial=str(scoring.window_days)),
        text_input(
            "half_life", t(locale, "scoring.modal.half_life"), initial=str(scoring.half_life_days)
        ),
    ]
    return _modal(
        View.scoring, t(locale, "scoring.modal.heading"), t(locale, "modal.save"), blocks, locale
    )
