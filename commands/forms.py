"""Modal submissions (``view["state"]["values"]``) → typed commands, with per-field errors.

Slack sends ``{block_id: {action_id: element_state}}``; every input of views/modals.py uses
action_id ``value`` and its block id is the field name. Each parser reads every field, collects
every problem under its block id (rendered in the user's locale), and raises
:class:`FieldErrors` once, so the modal stays open with all messages under their fields
(``ack(response_action="errors", errors=...)``). Values are parsed by commands.values, the
same parsers the slash commands use, so ``759만원`` or ``+30d`` mean the same in both places.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from commands import values as v
from commands.lexer import shown
from commands.types import DealNew, LeadNew, StageRef, TaskNew, UserRef
from commands.when import parse_due
from domain.errors import InvalidInput, SalesbotError
from domain.pipelines import MAX_NAME, StageSpec, validate
from domain.settings import (
    SettingsForm,
    clean_currency,
    clean_locale,
    clean_time,
    clean_timezone,
)
from i18n import t
from storage.models import Stage

__all__ = [
    "FieldErrors",
    "SettingsForm",
    "deal_new",
    "field_for",
    "lead_new",
    "lost_reason",
    "note_text",
    "pipeline_form",
    "settings_form",
    "task_field",
    "task_new",
]

ERROR_LIMIT = 2000  # Slack's limit for one field's error message
MAX_TEXT = 200  # title, name and company columns
MAX_SOURCE = 100
MAX_REASON = 500
MAX_SIZE = 10_000_000
_LINE_PROBLEMS = 5  # stage-line problems listed at once; a count says how many more

T = TypeVar("T")


class FieldErrors(Exception):
    """Messages under modal fields: ``errors`` maps block id → text in the user's locale."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = {block: _clip(text) for block, text in errors.items()}
        super().__init__(self.errors)


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


# --- reading element states ------------------------------------------------------------


def _element(values: dict, block: str) -> dict[str, Any]:
    """One input's state. What Slack would never send (a block that is not an object, an
    element that is not one) reads as an untouched input."""
    actions = values.get(block) if isinstance(values, dict) else None
    if not isinstance(actions, dict):
        return {}
    element = actions["value"] if "value" in actions else next(iter(actions.values()), None)
    return element if isinstance(element, dict) else {}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _text(values: dict, block: str) -> str:
    """A plain_text_input's value, stripped; an untouched input is ``""``."""
    return (_string(_element(values, block).get("value")) or "").strip()


def _option(values: dict, block: str) -> dict[str, Any] | None:
    option = _element(values, block).get("selected_option")
    return option if isinstance(option, dict) and _string(option.get("value")) else None


def _user(values: dict, block: str) -> str | None:
    return _string(_element(values, block).get("selected_user"))


def _users(values: dict, block: str) -> list[str]:
    users = _element(values, block).get("selected_users")
    return [u for u in users if _string(u)] if isinstance(users, list) else []


def _conversation(values: dict, block: str) -> str | None:
    element = _element(values, block)
    return _string(element.get("selected_conversation")) or _string(element.get("selected_channel"))


class _Errors:
    """Collects one message per block while every field is read."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.errors: dict[str, str] = {}

    def add(self, block: str, key: str, **params: Any) -> None:
        self.errors.setdefault(block, t(self.locale, key, **params))

    def read(self, block: str, parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except InvalidInput as err:
            self.errors.setdefault(block, err.render(self.locale))
            return None

    def raise_any(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


def _required(errors: _Errors, values: dict, block: str, key: str) -> str:
    text = _text(values, block)
    if not text:
        errors.add(block, key)
    elif len(text) > MAX_TEXT:
        errors.add(block, "form.too_long", limit=MAX_TEXT)
    return text


def _optional(errors: _Errors, values: dict, block: str, limit: int = MAX_TEXT) -> str | None:
    text = _text(values, block)
    if len(text) > limit:
        errors.add(block, "form.too_long", limit=limit)
    return text or None


# --- deal, lead, lost, note ------------------------------------------------------------


def deal_new(values: dict, *, locale: str, today: date) -> DealNew:
    """The new-deal modal. The pipeline select's value is an id; the command wants its name."""
    errors = _Errors(locale)
    title = _required(errors, values, "title", "form.title_required")
    amount_text = _text(values, "amount")
    amount = errors.read("amount", lambda: v.parse_amount(amount_text)) if amount_text else None
    pipeline = _option(values, "pipeline")
    stage = _text(values, "stage")
    close_text = _text(values, "close")
    close = (
        errors.read("close", lambda: v.parse_date(close_text, today=today)) if close_text else None
    )
    company = _optional(errors, values, "company")
    owner = _user(values, "owner")
    errors.raise_any()
    return DealNew(
        title=title,
        amount=amount,
        stage=StageRef(stage) if stage else None,
        pipeline=_pipeline_name(pipeline),
        close=close,
        owner=UserRef(slack_id=owner) if owner else None,
        company=company,
    )


def _pipeline_name(option: dict[str, Any] | None) -> str | None:
    """The selected pipeline's label. A label clipped to Slack's 75 characters ends in "…":
    without it, it is still a unique prefix of the name, which is how pipelines are found."""
    if not option:
        return None
    label = ((option.get("text") or {}).get("text") or "").strip()
    return label.removesuffix("…").strip() or None


def lead_new(values: dict, *, locale: str) -> LeadNew:
    errors = _Errors(locale)
    name = _required(errors, values, "name", "form.name_required")
    company = _optional(errors, values, "company")
    email_text = _text(values, "email")
    email = errors.read("email", lambda: v.parse_email(email_text)) if email_text else None
    source = _optional(errors, values, "source", MAX_SOURCE)
    size_text = _text(values, "size")
    size = None
    if size_text:
        try:
            size = v.parse_count(size_text, key="size", maximum=MAX_SIZE)
        except InvalidInput:
            errors.add("size", "form.bad_size", value=shown(size_text))
    title = _optional(errors, values, "title")  # the job title the scoring reads (issue 15)
    errors.raise_any()
    return LeadNew(name=name, company=company, email=email, source=source, size=size, title=title)


def lost_reason(values: dict) -> str | None:
    """Optional; longer than the column allows is cut rather than refused."""
    return _text(values, "reason")[:MAX_REASON] or None


def note_text(values: dict, *, locale: str) -> str:
    text = _text(values, "text")
    if not text:
        raise FieldErrors({"text": t(locale, "form.note_required")})
    return text


# --- the pipeline editor ---------------------------------------------------------------

_OUTCOMES = {
    "open": "open",
    "won": "won",
    "lost": "lost",
    "진행": "open",
    "성사": "won",
    "실패": "lost",
}
_NO_STALL = {"", "-", "–", "—", "none", "no", "없음"}
_PROBABILITY = re.compile(r"([0-9]{1,3})(?:\.0+)?\s*%?")
_STALL = re.compile(r"([0-9]{1,4})\s*(?:d|days?|일)?", re.IGNORECASE)


def pipeline_form(
    values: dict, *, locale: str, existing: list[Stage]
) -> tuple[str, list[StageSpec]]:
    """The pipeline editor: a name, and stages one a line (the inverse of modals.stage_lines).

    ``Name | probability | stall days or - | open|won|lost``. Spaces around ``|``, a ``%`` after
    the probability, a missing stall (no threshold) and a missing outcome (open) are fine. A
    line whose name matches an existing stage (any case) keeps that stage's id, so its deals
    and history stay with it.
    """
    errors = _Errors(locale)
    name = _text(values, "name")
    if not name:
        errors.add("name", "pipeline.name_required")
    elif len(name) > MAX_NAME:
        errors.add("name", "pipeline.name_too_long", limit=MAX_NAME)
    by_name = {s.name.strip().lower(): s.id for s in existing}
    specs: list[StageSpec] = []
    problems: list[str] = []
    for number, line in enumerate(_text(values, "stages").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            spec = _stage_line(line)
        except InvalidInput as err:
            problems.append(t(locale, "form.stage_line", line=number, problem=err.render(locale)))
            continue
        specs.append(
            StageSpec(
                name=spec.name,
                probability=spec.probability,
                stall_days=spec.stall_days,
                outcome=spec.outcome,
                id=by_name.get(spec.name.lower()),
            )
        )
    if problems:
        listed = problems[:_LINE_PROBLEMS]
        if len(problems) > len(listed):
            listed.append(t(locale, "form.more_problems", count=len(problems) - len(listed)))
        errors.errors["stages"] = "\n".join(listed)
    elif not specs:
        errors.add("stages", "form.stages_required")
    errors.raise_any()
    try:
        validate(name, specs)
    except InvalidInput as err:
        block = "name" if err.key in ("pipeline.name_required", "pipeline.name_too_long") else None
        if err.key == "pipeline.name_too_long" and len(name) <= MAX_NAME:
            block = None  # a stage's name is too long
        raise FieldErrors({block or "stages": err.render(locale)}) from None
    return name, specs


def _stage_line(line: str) -> StageSpec:
    """One editor line → a spec; a problem raises InvalidInput saying what to write."""
    parts = [p.strip() for p in line.split("|")]
    if len(parts) > 4:
        raise InvalidInput("form.stage_too_many_parts")
    name = parts[0]
    if not name:
        raise InvalidInput("form.stage_no_name")
    if len(name) > MAX_NAME:
        raise InvalidInput("form.stage_name_too_long", limit=MAX_NAME)
    probability_text = parts[1] if len(parts) > 1 else ""
    match = _PROBABILITY.fullmatch(probability_text)
    if not match or int(match[1]) > 100:
        key = "form.stage_bad_probability" if probability_text else "form.stage_no_probability"
        raise InvalidInput(key, name=name, value=shown(probability_text))
    stall_text = parts[2] if len(parts) > 2 else ""
    stall: int | None = None
    if stall_text.lower() not in _NO_STALL:
        stall_match = _STALL.fullmatch(stall_text)
        if not stall_match or not 1 <= int(stall_match[1]) <= 365:
            raise InvalidInput("form.stage_bad_stall", name=name, value=shown(stall_text))
        stall = int(stall_match[1])
    outcome_text = (parts[3] if len(parts) > 3 else "").lower()
    outcome = _OUTCOMES.get(outcome_text or "open")
    if outcome is None:
        raise InvalidInput("form.stage_bad_outcome", name=name, value=shown(outcome_text))
    return StageSpec(name=name, probability=int(match[1]), stall_days=stall, outcome=outcome)


# --- settings --------------------------------------------------------------------------


def settings_form(values: dict, *, locale: str) -> SettingsForm:
    """The settings modal; the same checks domain.settings.update_settings makes, per field."""
    errors = _Errors(locale)
    digest_time = errors.read(
        "digest_time",
        lambda: clean_time(_string(_element(values, "digest_time").get("selected_time"))),
    )
    timezone = errors.read("timezone", lambda: clean_timezone(_text(values, "timezone")))
    language = errors.read("locale", lambda: clean_locale(_selected_value(values, "locale")))
    currency = errors.read("currency", lambda: clean_currency(_selected_value(values, "currency")))
    errors.raise_any()
    return SettingsForm(
        deals_channel=_conversation(values, "deals_channel"),
        digest_channel=_conversation(values, "digest_channel"),
        digest_time=digest_time or "",
        timezone=timezone or "",
        locale=language or "",
        currency=currency or "",
        business_days=_selected_value(values, "stall_clock") == "business",
        managers=_users(values, "managers"),
        admins=_users(values, "admins"),
    )


def _selected_value(values: dict, block: str) -> str:
    option = _option(values, block)
    return (option or {}).get("value") or ""


# --- domain errors → the field they belong to -------------------------------------------

_FIELDS = (
    # (key prefix, block id), most specific first
    ("pipeline.stage_", "stage"),
    ("deal.stage_not_in_pipeline", "stage"),
    ("pipeline.", "pipeline"),
    ("deal.title", "title"),
    ("deal.bad_amount", "amount"),
    ("grammar.bad_amount", "amount"),
    ("grammar.amount_", "amount"),
    ("member.", "owner"),
    ("grammar.bad_user", "owner"),
    ("grammar.bad_date", "close"),
    ("deal.note_", "text"),
    ("lead.name", "name"),
    ("lead.bad_size", "size"),
    ("grammar.bad_email", "email"),
    ("form.bad_timezone", "timezone"),
    ("form.bad_time", "digest_time"),
    ("form.bad_currency", "currency"),
    ("form.bad_locale", "locale"),
    ("form.bad_user", "admins"),
)


def field_for(error: SalesbotError) -> str | None:
    """The modal block a domain error belongs to, by its key; ``None`` if it belongs to none."""
    key = error.key or ""
    if key == "grammar.bad_number":
        return error.params.get("key") or None
    for prefix, block in _FIELDS:
        if key.startswith(prefix):
            return block
    return None


# --- tasks (issue 14) -------------------------------------------------------------------


def task_new(values: dict, *, locale: str, today: date) -> TaskNew:
    """The new-task modal: the same readers as ``/task new`` (a due time, a deal reference)."""
    errors = _Errors(locale)
    text = _required(errors, values, "text", "task.text_required")
    due_text = _text(values, "due")
    due = errors.read("due", lambda: parse_due(due_text, today=today)) if due_text else None
    kind = (_option(values, "kind") or {}).get("value") or None
    owner = _user(values, "owner")
    deal_text = _text(values, "deal")
    deal = errors.read("deal", lambda: v.parse_deal_ref(deal_text)) if deal_text else None
    errors.raise_any()
    return TaskNew(
        text=text,
        due=due,
        deal=deal,
        kind=kind if kind in ("call", "email", "meeting", "todo") else None,
        owner=UserRef(slack_id=owner) if owner else None,
    )


TASK_FIELDS = (
    ("task.text", "text"),
    ("task.due", "due"),
    ("grammar.bad_due", "due"),
    ("deal.", "deal"),
    ("grammar.missing_deal", "deal"),
    ("member.", "owner"),
)


def task_field(error: SalesbotError) -> str:
    """The new-task modal's block a domain error belongs to (the text by default)."""
    key = error.key or ""
    return next((block for prefix, block in TASK_FIELDS if key.startswith(prefix)), "text")
