"""Custom fields (issue 15, point 1): a workspace's own fields on deals, leads, companies and
people, their typed values, the filters over them and the stages that require them.

**Storage.** A field is a :class:`~storage.models.CustomField`; a value is one typed
:class:`~storage.models.CustomValue` row per (field, record) — one per chosen option of a
multi select. ``value_text`` holds text, options, a member's Slack id, url/email/phone and a
money value's currency; ``value_number`` numbers, money and checkboxes (1/0), exact;
``value_date`` dates. Each column is indexed per (workspace, field, value), so a filter is an
index range turned into ``record id IN (…)`` by :func:`condition`, in SQL.

**Values** come here typed (the adapter reads the text with the money, date and user grammar:
:mod:`commands.field_values`): ``str`` for text, select, url, email, phone and member (a Slack
id); ``tuple[str, ...]`` for a multi select; ``Decimal`` for a number; ``(Decimal, currency or
None)`` for money; ``date``; ``bool`` for a checkbox; ``None`` clears the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.errors import Conflict, InvalidInput, NotFound
from domain.fields import FieldSpec, cell
from domain.refs import deal_pipelines, find_pipeline, match_stage, stages_of
from domain.workspaces import require_admin
from storage import bulk
from storage.config_version import kept
from storage.models import CustomField, CustomValue, Deal, Member, Outcome, Stage, Workspace

KINDS = (
    *("text", "number", "money", "date", "select", "multiselect"),
    *("member", "checkbox", "url", "email", "phone"),
)
SELECTS = ("select", "multiselect")
NUMBERS = ("number", "money", "checkbox")
ENTITIES = ("deals", "leads", "companies", "people")
MAX_FIELDS = 50  # per entity: a card and a modal stay within Slack's limits
MAX_OPTIONS = 100  # a static select's limit
MAX_TEXT = 500
MAX_NUMBER = Decimal("1e15")
_KEY = re.compile(r"[a-z가-힣][a-z0-9가-힣_-]{0,39}")
# Keys the grammar already gives a meaning (commands.grammar KEY_ALIASES and the list flags):
# a custom field may not take one, or ``/deal set 42 amount:…`` would mean two things.
RESERVED = frozenset(
    {
        *("amount", "stage", "close", "sort", "owner", "company", "contact", "pipeline"),
        *("status", "email", "source", "size", "title", "name", "reason", "date", "target"),
        *("reps", "period", "avg", "winrate", "by", "due", "deal", "lead", "kind", "text"),
        *("currency", "rate", "mrr", "until", "type", "for", "options", "required", "key"),
        *("number", "external_id", "created", "lost_reason", "id", "score"),
        *("금액", "단계", "마감일", "마감", "정렬", "담당자", "회사", "고객", "파이프라인"),
        *("상태", "이메일", "출처", "유입경로", "규모", "제목", "이름", "사유", "이유"),
        *("갱신일", "날짜", "목표", "인원", "기간", "평균", "성사율", "기준", "기한", "언제"),
        *("딜", "리드", "종류", "내용", "통화", "환율", "유형", "대상", "옵션", "필수", "키"),
    }
)
_URL = re.compile(r"https?://[^\s<>\"]+\.[^\s<>\"]+", re.IGNORECASE)
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-.]{5,30}")


@dataclass(frozen=True)
class Shown:
    """A field and its value on one record, for a card or ``/deal show``."""

    key: str
    name: str
    kind: str
    value: Any


class MissingFields(InvalidInput):
    """A move into a stage that requires fields the deal does not have yet. ``fields`` and
    ``stage_id`` let the adapter offer a modal to fill them (and then move)."""

    def __init__(self, *, number: int, stage: Stage, fields: list[CustomField]):
        names = ", ".join(f.name for f in fields)
        super().__init__("field.missing_for_stage", number=number, stage=stage.name, fields=names)
        self.fields = fields
        self.stage_id = stage.id
        self.number = number


# --- definitions -------------------------------------------------------------------------


def options_of(field: CustomField) -> list[str]:
    try:
        found = json.loads(field.options or "[]")
    except ValueError:
        return []
    return [str(o) for o in found] if isinstance(found, list) else []


def key_for(name: str) -> str:
    """``Decision maker`` -> ``decision_maker``; ``예산`` -> ``예산``."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return re.sub(r"[^a-z0-9가-힣_]", "", key).strip("_")[:40]


def _check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or key in RESERVED:
        raise InvalidInput("field.bad_key", value=key)
    return key


def _check_options(kind: str, options: list[str]) -> list[str]:
    cleaned: list[str] = []
    for option in options:
        option = " ".join(option.split())
        if not option:
            continue
        if len(option) > 75:
            raise InvalidInput("field.option_too_long", value=option[:40], limit=75)
        if option.casefold() not in {o.casefold() for o in cleaned}:
            cleaned.append(option)
    if kind in SELECTS and not cleaned:
        raise InvalidInput("field.needs_options")
    if kind not in SELECTS and cleaned:
        raise InvalidInput("field.options_for_selects")
    if len(cleaned) > MAX_OPTIONS:
        raise InvalidInput("field.too_many_options", limit=MAX_OPTIONS)
    return cleaned


def _required_stage(
    session: Session, workspace_id: int, entity: str, pipeline_id: int | None, text: str | None
) -> Stage | None:
    if not text:
        return None
    if entity != "deals":
        raise InvalidInput("field.required_deals_only")
    if pipeline_id is None:
        pipeline_id = deal_pipelines(session=session, workspace_id=workspace_id)[0].id
    return match_stage(stages_of(session=session, pipeline_id=pipeline_id), text)


def define(
    *,
    session: Session,
    actor: Member,
    workspace: Workspace,
    name: str,
    kind: str,
    entity: str = "deals",
    key: str | None = None,
    options: list[str] | tuple[str, ...] = (),
    pipeline: str | None = None,
    required_stage: str | None = None,
) -> CustomField:
    """``/pipeline field new "Budget" type:money``: admins only."""
    require_admin(actor)
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise InvalidInput("field.bad_name")
    if kind not in KINDS:
        raise InvalidInput("field.bad_type", value=kind, types=", ".join(KINDS))
    if entity not in ENTITIES:
        raise InvalidInput("field.bad_entity", value=entity)
    key = _check_key(key or key_for(name))
    cleaned = _check_options(kind, list(options))
    pipeline_id = None
    if pipeline:
        if entity != "deals":
            raise InvalidInput("field.pipeline_deals_only")
        pipeline_id = find_pipeline(session=session, workspace_id=workspace.id, name=pipeline).id
    stage = _required_stage(session, workspace.id, entity, pipeline_id, required_stage)
    existing = session.exec(
        select(CustomField).where(
            CustomField.workspace_id == workspace.id,
            CustomField.entity == entity,
            CustomField.key == key,
        )
    ).first()
    if existing is not None:
        raise Conflict("field.exists", key=key, name=existing.name)
    count = len(fields(session=session, workspace_id=workspace.id, entity=entity, archived=True))
    if count >= MAX_FIELDS:
        raise InvalidInput("field.too_many", limit=MAX_FIELDS)
    field = CustomField(
        workspace_id=workspace.id,
        entity=entity,
        key=key,
        name=name,
        kind=kind,
        options=json.dumps(cleaned, ensure_ascii=False),
        pipeline_id=pipeline_id,
        required_stage_id=stage.id if stage else None,
        position=count,
    )
    session.add(field)
    session.flush()
    return field


def edit(
    *,
    session: Session,
    actor: Member,
    field: CustomField,
    name: str | None = None,
    options: list[str] | None = None,
    required_stage_id: int | None = None,
    archived: bool | None = None,
) -> CustomField:
    """The ``/pipeline fields`` modal: rename, change options, required stage, archive.
    ``required_stage_id`` 0 removes the requirement."""
    require_admin(actor)
    if name is not None:
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise InvalidInput("field.bad_name")
        field.name = name
    if options is not None and field.kind in SELECTS:
        field.options = json.dumps(_check_options(field.kind, options), ensure_ascii=False)
    if required_stage_id is not None:
        if required_stage_id == 0:
            field.required_stage_id = None
        else:
            stage = session.get(Stage, required_stage_id)
            if stage is None or stage.workspace_id != field.workspace_id:
                raise NotFound("pipeline.stage_not_found", stage=str(required_stage_id))
            if field.entity != "deals":
                raise InvalidInput("field.required_deals_only")
            field.required_stage_id = stage.id
    if archived is not None:
        field.archived = archived
    session.add(field)
    session.flush()
    return field


def fields(
    *,
    session: Session,
    workspace_id: int,
    entity: str,
    pipeline_id: int | None = None,
    archived: bool = False,
) -> list[CustomField]:
    """The entity's fields in order; with ``pipeline_id``, those that apply to it."""
    query = select(CustomField).where(
        CustomField.workspace_id == workspace_id, CustomField.entity == entity
    )
    if not archived:
        query = query.where(CustomField.archived.is_(False))
    if pipeline_id is not None:
        query = query.where(
            sa.or_(CustomField.pipeline_id.is_(None), CustomField.pipeline_id == pipeline_id)
        )
    return list(session.exec(query.order_by(CustomField.position, CustomField.id)))


def field_by_id(*, session: Session, workspace_id: int, field_id: int) -> CustomField:
    field = session.get(CustomField, field_id)
    if field is None or field.workspace_id != workspace_id:
        raise NotFound("field.not_found", key=str(field_id))
    return field


def find(*, session: Session, workspace_id: int, entity: str, key: str) -> CustomField:
    """A live field by key (or by name, case-insensitive)."""
    wanted = key.strip().lower()
    for field in fields(session=session, workspace_id=workspace_id, entity=entity):
        if field.key == wanted or field.name.casefold() == wanted.casefold():
            return field
    raise InvalidInput("field.unknown_key", value=key)


# --- values ----------------------------------------------------------------------------------


def _option(field: CustomField, text: str) -> str:
    for option in options_of(field):
        if option.casefold() == " ".join(text.split()).casefold():
            return option
    raise InvalidInput(
        "field.bad_option", field=field.name, value=text[:60], options=", ".join(options_of(field))
    )


def _rows(field: CustomField, value: Any, currency: str) -> list[dict[str, Any]]:
    """The typed rows a value is stored as (checked against the field's kind)."""
    kind = field.kind
    if kind == "multiselect":
        chosen: list[str] = []
        for text in value:
            option = _option(field, text)
            if option not in chosen:
                chosen.append(option)
        return [{"value_text": o} for o in chosen]
    if kind == "select":
        return [{"value_text": _option(field, value)}]
    if kind == "number":
        if abs(value) >= MAX_NUMBER:
            raise InvalidInput("field.bad_number", field=field.name, value=str(value))
        return [{"value_number": value}]
    if kind == "money":
        amount, written = value
        if amount < 0 or amount >= MAX_NUMBER:
            raise InvalidInput("field.bad_number", field=field.name, value=str(amount))
        return [{"value_number": amount, "value_text": (written or currency).upper()}]
    if kind == "checkbox":
        return [{"value_number": Decimal(1 if value else 0)}]
    if kind == "date":
        return [{"value_date": value}]
    text = " ".join(str(value).split())
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput("field.bad_text", field=field.name, limit=MAX_TEXT)
    if kind == "url" and not _URL.fullmatch(text):
        raise InvalidInput("field.bad_url", field=field.name, value=text[:60])
    if kind == "phone" and not _PHONE.fullmatch(text):
        raise InvalidInput("field.bad_phone", field=field.name, value=text[:60])
    return [{"value_text": text}]


def _value(field: CustomField, rows: list[tuple]) -> Any:
    """Stored rows ``(text, number, date)`` back to the typed value."""
    if not rows:
        return None
    text, number, day = rows[0]
    kind = field.kind
    if kind == "multiselect":
        order = {o: i for i, o in enumerate(options_of(field))}
        return tuple(sorted((r[0] for r in rows), key=lambda o: order.get(o, len(order))))
    if kind == "number":
        return number
    if kind == "money":
        return (number, text)
    if kind == "checkbox":
        return bool(number)
    if kind == "date":
        return day
    return text


def values_of(
    *, session: Session, fields: list[CustomField], record_ids: list[int]
) -> dict[int, dict[int, Any]]:
    """``{record id: {field id: value}}`` of the records' values for ``fields``."""
    if not fields or not record_ids:
        return {}
    by_id = {f.id: f for f in fields}
    v = CustomValue
    found: dict[tuple[int, int], list[tuple]] = {}
    query = (
        sa.select(v.record_id, v.field_id, v.value_text, v.value_number, v.value_date)
        .where(v.field_id.in_(by_id), v.record_id.in_(record_ids))
        .order_by(v.id)
    )
    session.flush()
    for record_id, field_id, text, number, day in session.execute(query):
        found.setdefault((record_id, field_id), []).append((text, number, day))
    out: dict[int, dict[int, Any]] = {}
    for (record_id, field_id), rows in found.items():
        out.setdefault(record_id, {})[field_id] = _value(by_id[field_id], rows)
    return out


def set_values(
    *,
    session: Session,
    workspace: Workspace,
    record_id: int,
    values: dict[int, tuple[CustomField, Any]],
) -> dict[str, tuple[Any, Any]]:
    """Write ``{field id: (field, value)}`` on one record (None clears); every value is
    checked before anything is written. Returns ``{key: (old, new)}`` of what changed."""
    if not values:
        return {}
    planned = {
        fid: (field, None if value is None else _rows(field, value, workspace.currency))
        for fid, (field, value) in values.items()
    }
    current = values_of(
        session=session, fields=[f for f, _ in values.values()], record_ids=[record_id]
    ).get(record_id, {})
    changes: dict[str, tuple[Any, Any]] = {}
    for fid, (field, rows) in planned.items():
        new = None if rows is None else _value(field, [_triple(r) for r in rows])
        old = current.get(fid)
        if old == new:
            continue
        changes[field.key] = (old, new)
        session.execute(
            sa.delete(CustomValue).where(
                CustomValue.field_id == fid, CustomValue.record_id == record_id
            )
        )
        for row in rows or ():
            session.add(
                CustomValue(workspace_id=workspace.id, field_id=fid, record_id=record_id, **row)
            )
    session.flush()
    return changes


def set_deal_values(
    *,
    session: Session,
    actor: Member,
    deal: Deal,
    workspace: Workspace,
    values: dict[int, tuple[CustomField, Any]],
    now,
) -> list[tuple[CustomField, Any, Any]]:
    """``/deal set 42 budget:…``: the deal's owner, managers and admins; ``(field, old, new)``
    of what changed (the card redraws: the deal's version moves on)."""
    from domain.deals import lock_deal, require_can_change

    if not values:
        return []
    deal = lock_deal(session, deal)
    require_can_change(actor, deal)
    for field, _ in values.values():
        if field.pipeline_id is not None and field.pipeline_id != deal.pipeline_id:
            raise InvalidInput("field.other_pipeline", field=field.name)
    changed = set_values(session=session, workspace=workspace, record_id=deal.id, values=values)
    if changed:
        deal.updated_at = now
        deal.version += 1
        session.add(deal)
        session.flush()
    by_key = {f.key: f for f, _ in values.values()}
    return [(by_key[key], old, new) for key, (old, new) in changed.items()]


def _triple(row: dict[str, Any]) -> tuple:
    return (row.get("value_text"), row.get("value_number"), row.get("value_date"))


def shown(
    *,
    session: Session,
    workspace_id: int,
    entity: str,
    record_id: int,
    pipeline_id=None,
    workspace: Workspace | None = None,
):
    """The record's fields that have a value, in order, for a card or ``/deal show``. With
    ``workspace``, a workspace without live fields of ``entity`` (kept per config_version,
    which every field's change bumps) answers without a read."""
    if workspace is not None and not _has_fields(session, workspace, entity):
        return []
    defs = fields(
        session=session, workspace_id=workspace_id, entity=entity, pipeline_id=pipeline_id
    )
    got = values_of(session=session, fields=defs, record_ids=[record_id]).get(record_id, {})
    return [Shown(f.key, f.name, f.kind, got[f.id]) for f in defs if got.get(f.id) is not None]


def _has_fields(session: Session, workspace: Workspace, entity: str) -> bool:
    def load() -> bool:
        query = sa.select(CustomField.id).where(
            CustomField.workspace_id == workspace.id,
            CustomField.entity == entity,
            CustomField.archived.is_(False),
        )
        return session.execute(query.limit(1)).first() is not None

    return kept(session, workspace, f"has_fields:{entity}", load)


# --- filters ---------------------------------------------------------------------------------

OPS = (":", ">=", "<=", ">", "<")


def condition(
    field: CustomField, op: str, value: Any, record_column, currency: str
) -> sa.ColumnElement:
    """``record_column IN (SELECT record_id FROM custom_value WHERE …)``: one index range on
    (workspace, field, value). ``:`` is equality (a multi select: has that option); money
    compares within one currency (the written one, else ``currency``, the workspace's)."""
    v = CustomValue
    where = [v.workspace_id == field.workspace_id, v.field_id == field.id]
    if op != ":" and field.kind not in ("number", "money", "date"):
        raise InvalidInput("field.no_compare", field=field.name)
    if field.kind in SELECTS:
        where.append(v.value_text == _option(field, value))
    elif field.kind == "money":
        amount, written = value
        where.append(v.value_text == (written or currency).upper())
        where.append(_compare(v.value_number, op, amount))
    elif field.kind == "number":
        where.append(_compare(v.value_number, op, value))
    elif field.kind == "checkbox":
        where.append(v.value_number == Decimal(1 if value else 0))
    elif field.kind == "date":
        where.append(_compare(v.value_date, op, value))
    else:
        where.append(v.value_text == " ".join(str(value).split()))
    return record_column.in_(sa.select(v.record_id).where(*where))


def _compare(column, op: str, value):
    return {
        ":": column == value,
        ">=": column >= value,
        "<=": column <= value,
        ">": column > value,
        "<": column < value,
    }[op]


# --- required from a stage ---------------------------------------------------------------


def missing_for_stage(
    *, session: Session, deal: Deal, target: Stage, stages: list[Stage]
) -> list[CustomField]:
    """The fields the deal lacks that ``target`` requires: a field required from stage S
    applies to S, every later open stage and the won stage of S's pipeline (never lost)."""
    if target.outcome == Outcome.lost:
        return []
    by_id = {s.id: s for s in stages}
    defs = [
        f
        for f in fields(
            session=session,
            workspace_id=deal.workspace_id,
            entity="deals",
            pipeline_id=deal.pipeline_id,
        )
        if f.required_stage_id in by_id
    ]
    due = [
        f
        for f in defs
        if target.outcome == Outcome.won or target.position >= by_id[f.required_stage_id].position
    ]
    if not due:
        return []
    got = values_of(session=session, fields=due, record_ids=[deal.id]).get(deal.id, {})
    return [f for f in due if got.get(f.id) in (None, (), "")]


def require_for_stage(*, session: Session, deal: Deal, target: Stage, stages: list[Stage]) -> None:
    missing = missing_for_stage(session=session, deal=deal, target=target, stages=stages)
    if missing:
        raise MissingFields(number=deal.number, stage=target, fields=missing)


# --- import and export (domain.fields, domain.imports, domain.exports) ---------------------


def specs(*, session: Session, workspace_id: int, entity: str) -> tuple[FieldSpec, ...]:
    """The entity's live custom fields as import/export specs: the header is the key (or
    the field's name), the kind ``custom:<kind>``."""
    return tuple(
        spec_of(f) for f in fields(session=session, workspace_id=workspace_id, entity=entity)
    )


def spec_of(field: CustomField) -> FieldSpec:
    """A field as an import/export spec (also an inbound lead's, commands.inbound_fields)."""
    return FieldSpec(field.key, field.entity, f"custom:{field.kind}", field.name)


def normalized(field: CustomField, value: Any, currency: str) -> Any:
    """A value as it would be stored and read back (checked: a bad one raises)."""
    if value is None:
        return None
    return _value(field, [_triple(r) for r in _rows(field, value, currency)])


def export_cell(field: CustomField, value: Any) -> str:
    """As import reads it back: money ``12000000 KRW``, dates ISO, options joined by ``,``."""
    if value is None or value == ():
        return ""
    if field.kind == "money":
        amount, currency = value
        return f"{cell(amount)} {currency}"
    if field.kind == "multiselect":
        return ",".join(value)
    if field.kind == "checkbox":
        return "yes" if value else "no"
    return cell(value)


def write_imported(
    *,
    session: Session,
    workspace: Workspace,
    entity: str,
    items: list[tuple[int, dict[int, Any]]],
) -> None:
    """An import batch's values, ``(record id, {field id: normalized value})`` each: the
    records' old values of those fields go, the new ones come in one insert."""
    items = [(rid, vals) for rid, vals in items if vals]
    if not items:
        return
    by_id = {f.id: f for f in fields(session=session, workspace_id=workspace.id, entity=entity)}
    v = CustomValue
    for rid, vals in items:
        session.execute(
            sa.delete(v).where(v.record_id == rid, v.field_id.in_(list(vals))),
            execution_options={"synchronize_session": False},
        )
    rows = [
        {"workspace_id": workspace.id, "field_id": fid, "record_id": rid, **_store(row)}
        for rid, vals in items
        for fid, value in vals.items()
        if value is not None and fid in by_id
        for row in _stored_rows(by_id[fid], value, workspace.currency)
    ]
    if rows:
        bulk.insert(session, CustomValue, rows)


def _stored_rows(field: CustomField, value: Any, currency: str) -> list[dict[str, Any]]:
    if field.kind == "money":  # normalized already: (amount, currency)
        return [{"value_number": value[0], "value_text": value[1]}]
    return _rows(field, value, currency)


def _store(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "value_text": row.get("value_text"),
        "value_number": row.get("value_number"),
        "value_date": row.get("value_date"),
    }
