"""An inbound lead's fields, read like a row of an imported file (docs/inbound.md).

A sender's field names map like a CSV's headers (:func:`domain.fields.find_field`, English
and Korean: ``name``/``이름``, ``email``/``이메일``, ``company``/``회사``, ``size``/``직원 수``,
``source``/``유입 경로``), and their values are read by the same readers
(:func:`commands.cells.parse_rows`), so ``size: "1,200"`` and a bad email answer with the
same reasons an import gives. Beyond a lead's own fields: ``title``, ``phone``, ``notes``
(``message``) and ``first_name`` + ``last_name`` (joined into ``name`` when there is none).
The workspace's custom fields for leads map by key or name and are read and checked as an
import cell is (a select's options, a number's range; not a member: a sender assigns nobody).
Any other field is kept as text and shown with the lead. Fields a sender may not set
(``owner``, ``status``, ``number``…) are kept as text too, never applied.

Every problem is reported at once, field by field; a submission with any is stored not at
all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from commands.cells import Table, parse_rows
from domain import custom_fields as cf
from domain.errors import SalesbotError
from domain.fields import CellError, FieldSpec, find_field, header_key
from domain.inbound import Submission
from storage.models import CustomField

LEAD_FIELDS = frozenset({"name", "email", "company", "size", "source"})
EXTRAS = (
    FieldSpec("title", "inbound", "text", "직함", ("job title", "직책", "position", "직위")),
    FieldSpec(
        "phone",
        "inbound",
        "text",
        "전화번호",
        ("phone number", "전화", "연락처", "휴대폰", "mobile"),
    ),
    FieldSpec(
        "notes", "inbound", "text", "메모", ("note", "message", "comments", "문의", "문의 내용")
    ),
    FieldSpec("first_name", "inbound", "text", "first name", ("firstname", "given name")),
    FieldSpec(
        "last_name", "inbound", "text", "last name", ("lastname", "surname", "family name", "성")
    ),
)
IGNORED = frozenset({"form_token", "website", "idempotency_key"})  # the form's own fields
MAX_OTHER = 20  # fields beyond the known ones
MAX_NAME = 50  # characters of an unknown field's name
MAX_OTHER_VALUE = 500
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # a NUL, half a surrogate pair


@dataclass(frozen=True)
class FieldProblem:
    field: str  # as the sender named it
    key: str  # catalog key of the reason
    params: dict[str, Any]


class BadSubmission(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(problems)
        self.problems = problems


def _spec(name: str, custom: tuple[FieldSpec, ...] = ()) -> FieldSpec | None:
    spec = find_field("leads", name, custom)
    if spec is not None and (spec.key in LEAD_FIELDS or spec in custom):
        return spec
    wanted = header_key(name)
    return next((s for s in EXTRAS if any(header_key(h) == wanted for h in s.headers)), None)


def read_submission(
    fields: dict[str, Any],
    *,
    today: date,
    timezone: str,
    via: str = "api",
    retry_key: str | None = None,
    custom: list[CustomField] = (),
    currency: str = "KRW",
) -> Submission:
    """The sender's fields as a :class:`Submission`; :class:`BadSubmission` with every
    problem otherwise. ``custom``: the workspace's custom fields for leads, ``currency``
    its currency (a money value without one is in it)."""
    by_key = {f.key: f for f in custom if f.kind != "member"}
    specs = tuple(cf.spec_of(f) for f in by_key.values())
    problems: list[FieldProblem] = []
    headers, cells, mapping, other = [], [], {}, {}
    taken: set[str] = set()
    for name, value in fields.items():
        if name in IGNORED:
            continue
        if not isinstance(value, str | int | float | bool) and value is not None:
            problems.append(FieldProblem(name, "inbound.bad_value", {}))
            continue
        text = "" if value is None else str(value)
        if _UNSTORABLE.search(name) or _UNSTORABLE.search(text):
            problems.append(
                FieldProblem(_UNSTORABLE.sub("?", name)[:MAX_NAME], "import.bad_text", {})
            )
            continue
        spec = _spec(name, specs)
        if spec is None or spec.key in taken:
            if len(name) > MAX_NAME or len(other) >= MAX_OTHER:
                problems.append(FieldProblem(name[:MAX_NAME], "inbound.too_many_fields", {}))
            elif len(text) > MAX_OTHER_VALUE:
                problems.append(FieldProblem(name, "import.too_long", {"limit": MAX_OTHER_VALUE}))
            elif text.strip():
                other[name] = text.strip()
            continue
        taken.add(spec.key)
        mapping[len(headers)] = spec
        headers.append(name)
        cells.append(text)
    parsed, errors = parse_rows(
        Table(headers=headers, rows=[cells]), mapping, today=today, timezone=timezone
    )
    problems += [_problem(e) for e in errors if e.key != "import.required"]
    values = dict(parsed[0].values) if parsed else {}
    if not values.get("name"):
        joined = " ".join(v for v in (values.get("first_name"), values.get("last_name")) if v)
        values["name"] = joined or None
    chosen = _custom_values(by_key, values, headers, mapping, currency, problems)
    told = {spec.key for p in problems if (spec := _spec(p.field, specs)) is not None}
    if not values.get("name") and not told & {"name", "first_name", "last_name"}:
        named = next((h for i, h in enumerate(headers) if mapping[i].key == "name"), "name")
        problems.append(FieldProblem(named, "import.required", {}))
    if problems:
        raise BadSubmission(problems)
    lead = {k: v for k, v in values.items() if k in LEAD_FIELDS and v is not None}
    details = {
        k: v for k, v in values.items() if k in ("title", "phone", "notes") and v is not None
    }
    return Submission(
        lead=lead,
        details={**details, **other},
        via=via,
        retry_key=retry_key or None,
        custom=chosen,
    )


def _custom_values(by_key, values, headers, mapping, currency, problems) -> dict[int, Any]:
    """``{field id: value}`` as stored (options, ranges checked, as an import's cell)."""
    out: dict[int, Any] = {}
    for index, spec in mapping.items():
        field = by_key.get(spec.key)
        if field is None or spec.kind != f"custom:{field.kind}" or values.get(spec.key) is None:
            continue
        try:
            out[field.id] = cf.normalized(field, values[spec.key], currency)
        except SalesbotError as err:
            problems.append(FieldProblem(headers[index], err.key, dict(err.params)))
    return out


def _problem(error: CellError) -> FieldProblem:
    return FieldProblem(error.column, error.key, dict(error.params))
