"""The fields a file's columns map to, per entity: one registry for import and export.

A :class:`FieldSpec` names a field (``key``, also its export header), the entity it belongs
to, its ``kind`` (how a cell is read and written), the headers teams give that column in
English and Korean (matched case- and space-insensitively), and whether export writes it but
import ignores it (``number``: a deal's number is the workspace's, never the file's).

Custom fields (issue 15, point 1) plug in by adding specs at run time: :func:`fields_for`
is the one place import and export ask "which fields does a deal have?".

Kinds: ``text``, ``external_id``, ``money`` (with a ``currency`` column beside it),
``currency``, ``int``, ``date``, ``datetime``, ``email``, ``member``, ``stage``,
``pipeline``. Cells are read by :mod:`commands.cells` and written by :func:`cell`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

ENTITIES = ("deals", "leads", "companies", "people")


@dataclass(frozen=True)
class FieldSpec:
    key: str
    entity: str
    kind: str
    ko: str
    aliases: tuple[str, ...] = ()
    export_only: bool = False
    required: bool = False

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.key, self.key.replace("_", " "), self.ko, *self.aliases)


@dataclass(frozen=True)
class CellError:
    """A cell that does not read or resolve: its row as the spreadsheet numbers it (the
    header is row 1), its column's header, and a catalog key with its parameters."""

    row: int
    column: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]  # field key -> value; a blank cell is None


def _deal(key, kind, ko, *aliases, **kw) -> FieldSpec:
    return FieldSpec(key, "deals", kind, ko, aliases, **kw)


def _lead(key, kind, ko, *aliases, **kw) -> FieldSpec:
    return FieldSpec(key, "leads", kind, ko, aliases, **kw)


_EXTERNAL = ("external id", "외부 id", "외부아이디", "id")

FIELDS: tuple[FieldSpec, ...] = (
    _deal("external_id", "external_id", "외부 ID", *_EXTERNAL),
    _deal("number", "int", "번호", "딜 번호", export_only=True),
    _deal(
        "title", "text", "딜 이름", "deal", "deal name", "name", "딜명", "딜", "제목", required=True
    ),
    _deal("amount", "money", "금액", "value", "deal value", "딜 금액", "거래 금액"),
    _deal("currency", "currency", "통화"),
    _deal("pipeline", "pipeline", "파이프라인"),
    _deal("stage", "stage", "단계", "deal stage", "딜 단계", "스테이지"),
    _deal("owner", "member", "담당자", "owner email", "rep", "영업 담당자", "담당자 이메일"),
    _deal("company", "text", "회사", "account", "company name", "organization", "회사명", "고객사"),
    _deal("contact", "text", "고객", "person", "contact name", "고객 이름", "고객명"),
    _deal("close", "date", "마감일", "close date", "expected close", "예상 마감일", "마감"),
    _deal("lost_reason", "text", "실패 사유", "lost reason", "사유"),
    _deal("created", "datetime", "생성일", "created at", "created date", "등록일"),
    _lead("external_id", "external_id", "외부 ID", *_EXTERNAL),
    _lead("number", "int", "번호", "리드 번호", export_only=True),
    _lead("name", "text", "이름", "lead", "lead name", "리드 이름", "리드명", required=True),
    _lead("status", "stage", "상태", "lead status", "리드 상태"),
    _lead("source", "text", "유입 경로", "소스", "출처"),
    _lead("email", "email", "이메일", "e-mail", "메일"),
    _lead("company", "text", "회사", "account", "company name", "회사명", "고객사"),
    _lead("size", "int", "회사 규모", "company size", "employees", "직원 수", "규모"),
    _lead("owner", "member", "담당자", "owner email", "rep", "영업 담당자"),
    _lead("created", "datetime", "생성일", "created at", "created date", "등록일"),
    _lead("score", "int", "점수", "lead score", "리드 점수", export_only=True),  # as last scored
    FieldSpec("external_id", "companies", "external_id", "외부 ID", _EXTERNAL),
    FieldSpec("name", "companies", "text", "회사", ("company", "회사명", "이름"), required=True),
    FieldSpec("employees", "companies", "int", "직원 수", ("size", "company size", "규모")),
    FieldSpec("external_id", "people", "external_id", "외부 ID", _EXTERNAL),
    FieldSpec(
        "name", "people", "text", "이름", ("person", "contact", "고객", "고객명"), required=True
    ),
    FieldSpec("email", "people", "email", "이메일", ("e-mail", "메일")),
    FieldSpec("phone", "people", "text", "전화번호", ("phone number", "전화", "연락처", "휴대폰")),
    FieldSpec("company", "people", "text", "회사", ("account", "company name", "회사명")),
)

HISTORY_COLUMNS = ("deal", "title", "from_stage", "to_stage", "at", "left_at", "by", "import_run")


def fields_for(entity: str, custom: tuple[FieldSpec, ...] = ()) -> tuple[FieldSpec, ...]:
    """The entity's fields; ``custom``: the workspace's custom fields as specs (kind
    ``custom:<kind>``, :func:`domain.custom_fields.specs`), after the built-in ones."""
    return tuple(spec for spec in FIELDS if spec.entity == entity) + tuple(custom)


def header_key(text: str) -> str:
    """A header as compared: case, spaces, ``_``, ``-`` and a trailing ``*`` aside."""
    return re.sub(r"[\s_\-*]+", "", text).casefold()


def detect(
    entity: str, headers: list[str], custom: tuple[FieldSpec, ...] = ()
) -> dict[int, FieldSpec]:
    """Column index → field, by header; a field is taken by its first matching column."""
    by_header: dict[str, FieldSpec] = {}
    for spec in fields_for(entity, custom):
        for name in spec.headers:
            by_header.setdefault(header_key(name), spec)
    mapping: dict[int, FieldSpec] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        spec = by_header.get(header_key(header or ""))
        if spec is not None and spec.key not in taken and not spec.export_only:
            mapping[index] = spec
            taken.add(spec.key)
    return mapping


def find_field(entity: str, name: str, custom: tuple[FieldSpec, ...] = ()) -> FieldSpec | None:
    wanted = header_key(name)
    for spec in fields_for(entity, custom):
        if not spec.export_only and any(header_key(h) == wanted for h in spec.headers):
            return spec
    return None


def cell(value) -> str:
    """A value as an export writes it, exactly and so that import reads it back: amounts as
    plain decimals (``12000000``, ``12000.5``), dates ISO, datetimes ISO in UTC."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
