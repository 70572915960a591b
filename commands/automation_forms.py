"""The cadence and workflow editors' text (modal fields) → specs and drafts.

Cadence steps, one a line: ``day | kind | text`` — ``1 | call | Discovery call``,
``4 | 통화 | 두 번째 통화``; the day may be written ``1``, ``1d``, ``1일``, ``day 1``.

Workflow conditions, space separated: ``pipeline:"New business"`` ``stage:Contact``
``amount>=10000000`` ``amount<=5억`` ``owner:@lee`` ``source:web`` ``size>=300`` ``size<=1000``
``text:enterprise`` (Korean keys too: 파이프라인, 단계, 금액, 담당자, 출처, 규모, 포함).

Workflow actions, one a line (the first word says which):

- ``task 1 call First call`` (``할일 1일 통화 첫 통화``): a task due in N days, kind optional,
  for the owner, or for ``@member`` at the end of the line;
- ``cadence Playbook`` (``케이던스``): enrol the deal in a cadence;
- ``convert`` (``전환``): turn the lead into a deal;
- ``owner @lee`` or ``owner @a @b @c`` (``담당자``): set the owner, round-robin over several
  (or the people picked in the modal's member field);
- ``post New lead!`` (``알림``): post the text to the channel picked in the modal;
- ``renewal 12`` (``갱신 12개월``): create the renewal deal, N months after the close.
"""

from __future__ import annotations

import re

from commands.forms import FieldErrors, _conversation, _element, _option, _text, _users
from commands.values import parse_amount
from domain.cadences import KINDS, StepSpec
from domain.errors import InvalidInput
from domain.workflows import TRIGGERS, WorkflowDraft
from i18n import t

KIND_WORDS = {
    **dict.fromkeys(("call", "통화", "전화", "콜"), "call"),
    **dict.fromkeys(("email", "e-mail", "mail", "이메일", "메일"), "email"),
    **dict.fromkeys(("meeting", "미팅", "회의"), "meeting"),
    **dict.fromkeys(("todo", "task", "할일", "할 일"), "todo"),
}
ACTION_WORDS = {
    **dict.fromkeys(("task", "할일", "할일:", "업무"), "task"),
    **dict.fromkeys(("cadence", "케이던스"), "cadence"),
    **dict.fromkeys(("convert", "전환"), "convert"),
    **dict.fromkeys(("owner", "assign", "담당자", "배정"), "owner"),
    **dict.fromkeys(("post", "notify", "알림", "게시"), "post"),
    **dict.fromkeys(("renewal", "renew", "갱신"), "renewal"),
}
CONDITION_KEYS = {
    **dict.fromkeys(("pipeline", "파이프라인"), "pipeline"),
    **dict.fromkeys(("stage", "status", "단계", "상태"), "stage"),
    **dict.fromkeys(("amount", "금액"), "amount"),
    **dict.fromkeys(("owner", "담당자"), "owner"),
    **dict.fromkeys(("source", "출처", "유입경로"), "source"),
    **dict.fromkeys(("size", "규모", "직원수"), "size"),
    **dict.fromkeys(("text", "포함", "텍스트"), "text"),
}
_DAY = re.compile(r"^(?:day\s*)?(-?\d{1,6})\s*(?:d|days?|일|일차|일째)?$", re.IGNORECASE)
_MONTHS = re.compile(r"^(\d{1,4})\s*(?:m|months?|개월|달)?$", re.IGNORECASE)
_CONDITION = re.compile(r'(\S+?)(>=|<=|≥|≤|:|=)("[^"]*"|“[^”]*”|\S+)')
_USER = re.compile(r"^(?:<@([A-Z0-9]+)(?:\|[^>]*)?>|@(\S+))$")


def _unquote(text: str) -> str:
    text = text.strip()
    for a, b in (('"', '"'), ("“", "”")):
        if len(text) >= 2 and text.startswith(a) and text.endswith(b):
            return text[1:-1].strip()
    return text


def _day(text: str) -> int:
    match = _DAY.match(text.strip())
    if match is None:
        raise InvalidInput("cadence.bad_day", value=text.strip()[:40])
    return int(match.group(1))


# --- cadences ---------------------------------------------------------------------------


def cadence_form(values: dict, *, locale: str) -> tuple[str, bool, list[StepSpec]]:
    """Name, on/off, and the steps; every line's problem listed under the steps field."""
    name = _text(values, "name")
    option = _option(values, "active")
    active = option is None or option.get("value") != "off"
    steps, problems = [], []
    for number, line in enumerate(_text(values, "steps").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            steps.append(_step_line(line))
        except InvalidInput as err:
            problems.append(t(locale, "form.stage_line", line=number, problem=err.render(locale)))
    errors = {}
    if problems:
        errors["steps"] = "\n".join(problems[:5])
    if steps and not name:
        errors["name"] = t(locale, "cadence.name_required")
    if errors:
        raise FieldErrors(errors)
    return name, active, steps


def _step_line(line: str) -> StepSpec:
    parts = [p.strip() for p in line.split("|")]
    if len(parts) == 2:
        parts = [parts[0], "todo", parts[1]]
    if len(parts) != 3:
        raise InvalidInput("cadence.bad_line")
    offset = _day(parts[0])
    kind = KIND_WORDS.get(parts[1].lower())
    if kind is None:
        raise InvalidInput("cadence.bad_kind", line="", value=parts[1][:40])
    return StepSpec(offset=offset, kind=kind, text=parts[2])


def step_lines(steps) -> str:
    """The editor's text for existing steps (the inverse of :func:`cadence_form`)."""
    return "\n".join(f"{s.day_offset} | {s.kind} | {s.text}" for s in steps)


# --- workflows --------------------------------------------------------------------------


def active_workflows(values: dict) -> set[int] | None:
    """The workflows left switched on (None: the field was not in the form)."""
    element = _element(values, "active")
    if not element:
        return None
    chosen = element.get("selected_options") or []
    ids = set()
    for option in chosen if isinstance(chosen, list) else []:
        value = option.get("value") if isinstance(option, dict) else None
        if isinstance(value, str) and value.isdigit():
            ids.add(int(value))
    return ids


def workflow_form(values: dict, *, locale: str) -> WorkflowDraft | None:
    """The "add a workflow" part: None when left empty; a draft with names still unresolved."""
    option = _option(values, "trigger")
    trigger = option.get("value") if option else None
    stage = _text(values, "stage") or None
    conditions_text = _text(values, "conditions")
    actions_text = _text(values, "actions")
    if trigger is None and not (stage or conditions_text or actions_text):
        return None
    errors: dict[str, str] = {}
    if trigger not in TRIGGERS:
        errors["trigger"] = t(locale, "workflow.trigger_required")
    conditions: dict = {}
    try:
        conditions = parse_conditions(conditions_text)
    except InvalidInput as err:
        errors["conditions"] = err.render(locale)
    actions, problems = [], []
    channel = _conversation(values, "channel")
    members = [{"slack_id": u} for u in _users(values, "members")]
    for number, line in enumerate(actions_text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            actions.append(parse_action(line, channel=channel, members=members))
        except InvalidInput as err:
            problems.append(t(locale, "form.stage_line", line=number, problem=err.render(locale)))
    if problems:
        errors["actions"] = "\n".join(problems[:5])
    elif not actions:
        errors["actions"] = t(locale, "workflow.no_action")
    if errors:
        raise FieldErrors(errors)
    return WorkflowDraft(trigger=trigger, stage=stage, conditions=conditions, actions=actions)


def parse_conditions(text: str) -> dict:
    """``key:value`` / ``key>=value`` pairs → a dict of names and numbers (see the module)."""
    out: dict = {}
    rest = _CONDITION.sub(lambda m: _condition(m, out) or " ", text)
    if rest.strip():
        raise InvalidInput("workflow.bad_condition", value=rest.strip()[:60])
    return out


def _condition(match: re.Match, out: dict) -> str:
    raw_key, op, raw = match.group(1), match.group(2), _unquote(match.group(3))
    key = CONDITION_KEYS.get(raw_key.lower())
    op = {"≥": ">=", "≤": "<="}.get(op, op)
    if key is None or not raw:
        raise InvalidInput("workflow.bad_condition", value=match.group(0)[:60])
    if key in ("amount", "size"):
        if op not in (">=", "<="):
            raise InvalidInput("workflow.bad_condition", value=match.group(0)[:60])
        suffix = "min" if op == ">=" else "max"
        if key == "amount":
            out[f"amount_{suffix}"] = str(parse_amount(raw).value)
        else:
            if not raw.isdigit():
                raise InvalidInput("workflow.bad_condition", value=match.group(0)[:60])
            out[f"size_{suffix}"] = int(raw)
        return " "
    if op not in (":", "="):
        raise InvalidInput("workflow.bad_condition", value=match.group(0)[:60])
    if key == "owner":
        out["owner"] = _user_ref(raw)
    else:
        out[key] = raw[:200]
    return " "


def _user_ref(text: str) -> dict:
    match = _USER.match(text.strip())
    if match is None:
        raise InvalidInput("workflow.bad_member", value=text.strip()[:40])
    return {"slack_id": match.group(1)} if match.group(1) else {"name": match.group(2)}


def parse_action(line: str, *, channel: str | None = None, members: list | None = None) -> dict:
    words = line.strip().split()
    verb = ACTION_WORDS.get(words[0].lower()) if words else None
    if verb is None:
        raise InvalidInput("workflow.bad_action", value=(words[0] if words else "")[:40])
    rest = words[1:]
    if verb == "task":
        return _task_action(rest)
    if verb == "cadence":
        name = _unquote(" ".join(rest))
        if not name:
            raise InvalidInput("workflow.cadence_name_required")
        return {"do": "cadence", "cadence": name}
    if verb == "convert":
        return {"do": "convert"}
    if verb == "owner":
        refs = [_user_ref(w) for w in rest] or list(members or [])
        if not refs:
            raise InvalidInput("workflow.owner_needs_member")
        return {"do": "owner", "members": refs}
    if verb == "post":
        text = _unquote(" ".join(rest))
        if not channel:
            raise InvalidInput("workflow.post_needs_channel")
        if not text:
            raise InvalidInput("workflow.post_needs_text")
        return {"do": "post", "channel": channel, "text": text[:1000]}
    months = 12
    if rest:
        match = _MONTHS.match(" ".join(rest))
        if match is None:
            raise InvalidInput("workflow.bad_months_text", value=" ".join(rest)[:40])
        months = int(match.group(1))
    return {"do": "renewal", "months": months}


def _task_action(words: list[str]) -> dict:
    if not words:
        raise InvalidInput("workflow.task_text")
    days = 0
    match = _DAY.match(words[0])
    if match is not None:
        days = int(match.group(1))
        words = words[1:]
    kind = "todo"
    if words and words[0].lower() in KIND_WORDS:
        kind = KIND_WORDS[words[0].lower()]
        words = words[1:]
    member = None
    if words and _USER.match(words[-1]):
        member = _user_ref(words[-1])
        words = words[:-1]
    text = _unquote(" ".join(words))
    if not text:
        raise InvalidInput("workflow.task_text")
    action = {"do": "task", "text": text, "kind": kind, "days": days}
    if member is not None:
        action["member"] = member
    return action


__all__ = ["KINDS", "active_workflows", "cadence_form", "step_lines", "workflow_form"]
