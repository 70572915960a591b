"""The custom-field admin grammar (issue 15, point 1), on the pieces of :mod:`commands.grammar`.

``/pipeline field new "Budget" type:money``, ``/pipeline field new "Decision maker"
type:member for:deal``, ``/pipeline field new "Industry" type:select options:제조,IT,금융``
(also ``key:``, ``pipeline:`` to scope a deal field, ``required:Proposal`` to require it from
a stage), and ``/pipeline fields [for:lead]``. Values are set and filtered with the
commands' own ``key:value`` grammar (``/deal set 42 budget:5000만원``, ``/deal list
budget>=1억``): :mod:`commands.field_values`.
"""

from __future__ import annotations

from datetime import date

from commands import grammar as g
from commands import types as c
from commands.lexer import next_token, plain, shown
from commands.values import within_limit
from domain.custom_fields import KINDS
from domain.errors import InvalidInput

TYPES = {
    **dict.fromkeys(("text", "string", "텍스트", "문자"), "text"),
    **dict.fromkeys(("number", "num", "int", "숫자"), "number"),
    **dict.fromkeys(("money", "amount", "currency", "금액", "돈"), "money"),
    **dict.fromkeys(("date", "day", "날짜", "일자"), "date"),
    **dict.fromkeys(("select", "single", "single_select", "choice", "선택", "단일선택"), "select"),
    **dict.fromkeys(
        ("multiselect", "multi", "multi_select", "multi-select", "tags", "다중선택", "태그"),
        "multiselect",
    ),
    **dict.fromkeys(("member", "user", "person", "멤버", "사용자", "담당자"), "member"),
    **dict.fromkeys(
        ("checkbox", "check", "bool", "boolean", "yesno", "체크박스", "체크"), "checkbox"
    ),
    **dict.fromkeys(("url", "link", "링크", "주소"), "url"),
    **dict.fromkeys(("email", "e-mail", "mail", "이메일"), "email"),
    **dict.fromkeys(("phone", "tel", "전화", "전화번호"), "phone"),
}
FOR = {
    **dict.fromkeys(("deal", "deals", "딜"), "deals"),
    **dict.fromkeys(("lead", "leads", "리드"), "leads"),
    **dict.fromkeys(("company", "companies", "회사", "고객사"), "companies"),
    **dict.fromkeys(("person", "people", "contact", "contacts", "고객", "사람"), "people"),
}
NEW_WORDS = frozenset({"new", "add", "create", "추가", "등록"})


KINDS_SHOWN = ", ".join(KINDS)


def _kind(value: str, today: date) -> str:
    kind = TYPES.get(plain(value).strip().lower())
    if kind is None:
        raise InvalidInput("field.bad_type", value=shown(plain(value)), types=KINDS_SHOWN)
    return kind


def _entity(value: str, today: date) -> str:
    entity = FOR.get(plain(value).strip().lower())
    if entity is None:
        raise InvalidInput("field.bad_entity", value=shown(plain(value)))
    return entity


def _options(value: str, today: date) -> tuple[str, ...]:
    return tuple(o.strip() for o in plain(value).split(",") if o.strip())


def _key(value: str, today: date) -> str:
    return within_limit(plain(value).strip().lower(), "name")


NEW_KEYS: dict[str, g.Parser] = {
    **dict.fromkeys(("type", "유형", "타입"), _kind),
    **dict.fromkeys(("for", "대상"), _entity),
    **dict.fromkeys(("options", "옵션", "선택지"), _options),
    **dict.fromkeys(("key", "키"), _key),
    **dict.fromkeys(("pipeline",), g._pipeline),
    **dict.fromkeys(("required", "필수"), g._limited("stage")),
}
_CANONICAL = {
    **dict.fromkeys(("type", "유형", "타입"), "kind"),
    **dict.fromkeys(("for", "대상"), "entity"),
    **dict.fromkeys(("options", "옵션", "선택지"), "options"),
    **dict.fromkeys(("key", "키"), "key"),
    "pipeline": "pipeline",
    **dict.fromkeys(("required", "필수"), "required"),
}


def pipeline_field(text: str, pos: int, today: date) -> c.Command:
    """``field new "Budget" type:money …``."""
    first = next_token(text, pos)
    if first is None or first.key is not None or first.text.lower() not in NEW_WORDS:
        raise InvalidInput("field.usage_new")
    words, values = g._read(g._all_tokens(text, first.end), NEW_KEYS, today)
    name = within_limit(g._joined(words), "name")
    if not name:
        raise InvalidInput("field.missing_name")
    found: dict = {}
    for key, value in values.items():
        canonical = _CANONICAL[key]
        if canonical in found:
            raise InvalidInput("grammar.duplicate_key", value=shown(key + ":"))
        found[canonical] = value
    if "kind" not in found:
        raise InvalidInput("field.missing_type", types=KINDS_SHOWN)
    return c.PipelineFieldNew(name=name, **found)


def pipeline_fields(text: str, pos: int, today: date) -> c.Command:
    spec = dict.fromkeys(("for", "대상"), _entity)
    words, values = g._read(g._all_tokens(text, pos), spec, today)
    entity = next(iter(values.values()), None)
    if words and entity is None and len(words) == 1:
        entity = _entity(words[0].text, today)  # /pipeline fields lead
    elif words:
        raise g._extra(words[0])
    return c.PipelineFields(entity=entity)


# Registered with the shared grammar (commands.grammar imports this module at its end).
g.SUBCOMMANDS["pipeline"].update(
    {
        **dict.fromkeys(("field", "필드"), "field"),
        **dict.fromkeys(("fields", "필드목록"), "fields"),
    }
)
g._PARSERS.update({"pipeline_field": pipeline_field, "pipeline_fields": pipeline_fields})
