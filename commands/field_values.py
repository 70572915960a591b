"""A custom field's value as typed (``budget:5000만원``, ``close_by:다음 주 금요일``,
``decision_maker:@kim``, ``industry:제조``, ``tags:IT,금융``), read by its field's kind with
the commands' own readers: money by :func:`commands.values.parse_amount`, dates by
:func:`commands.values.parse_date`, people by :func:`commands.values.parse_user`. The result is
what :mod:`domain.custom_fields` stores (a member stays a :class:`UserRef` until the adapter
finds them in the workspace). ``-``, ``none``, ``없음`` clear a field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from commands.lexer import plain, shown
from commands.types import UserRef
from commands.values import parse_amount, parse_date, parse_email, parse_user
from domain.errors import InvalidInput
from storage.models import CustomField

CLEAR = frozenset({"-", "none", "clear", "없음", "삭제", "비움"})
YES = frozenset({"yes", "y", "true", "on", "1", "✓", "✔", "v", "예", "네", "o", "체크"})
NO = frozenset({"no", "n", "false", "off", "0", "✗", "x", "아니오", "아니요"})


def read(field: CustomField, raw: str, *, today: date, clearing: bool = True) -> Any:
    """The typed value of ``raw`` for ``field``; a mistake names the field and the form."""
    text = " ".join(plain(raw).split())
    if clearing and text.lower() in CLEAR:
        return None
    return read_kind(field.kind, field.name, text, today=today)


def read_kind(kind: str, name: str, text: str, *, today: date, cell: bool = False) -> Any:
    """``read`` by kind and name; a file's ``cell`` keeps a member as written (the import
    finds them by email, Slack id or name, like an owner)."""
    if cell and kind == "member":
        return text
    try:
        return _read(kind, name, text, today)
    except InvalidInput as err:
        if err.key.startswith("field."):
            raise
        raise InvalidInput(f"field.bad.{kind}", field=name, value=shown(text)) from None


def _read(kind: str, name: str, text: str, today: date) -> Any:
    if kind == "money":
        amount = parse_amount(text)
        return (amount.value, amount.currency)
    if kind == "number":
        amount = parse_amount(text)
        if amount.currency is not None:
            raise InvalidInput("grammar.bad_amount", value=shown(text))
        return amount.value
    if kind == "date":
        return parse_date(text, today=today)
    if kind == "member":
        return parse_user(text, bare=True)
    if kind == "email":
        return parse_email(text)
    if kind == "checkbox":
        low = text.lower()
        if low in YES or low in NO:
            return low in YES
        raise InvalidInput("field.bad.checkbox", field=name, value=shown(text))
    if kind == "multiselect":
        return tuple(o.strip() for o in text.split(",") if o.strip())
    return text


def is_user(value: Any) -> bool:
    return isinstance(value, UserRef)


def state_text(element: dict) -> str:
    """An input's state as typed text: ``<@U1>`` for a user, ``a,b`` for several options."""
    if not isinstance(element, dict):
        return ""
    if isinstance(element.get("selected_option"), dict):
        return str(element["selected_option"].get("value") or "")
    if isinstance(element.get("selected_options"), list):
        return ",".join(
            str(o.get("value") or "") for o in element["selected_options"] if isinstance(o, dict)
        )
    if element.get("selected_user"):
        return f"<@{element['selected_user']}>"
    if element.get("selected_date"):
        return str(element["selected_date"])
    return str(element.get("value") or "").strip()


def answers(values: dict) -> tuple[tuple[str, str], ...]:
    """A modal's ``cf:<key>`` inputs (the new-deal modal) as ``(key, text)``, blanks left out."""
    out = []
    for block, actions in (values or {}).items():
        if not (isinstance(block, str) and block.startswith("cf:") and isinstance(actions, dict)):
            continue
        element = actions.get("value", next(iter(actions.values()), {}))
        text = state_text(element)
        if text:
            out.append((block[3:43], text))
    return tuple(out)
