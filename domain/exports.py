"""Exporting rows: every field of the registry (:mod:`domain.fields`), as import reads it.

Headers are the field keys; amounts are plain exact decimals with their currency beside
them; dates ISO; owners their Slack user id (which import resolves, and creates as a rep in a
workspace that does not know them yet). So exporting and importing into an empty workspace
recreates the same deals. Rows stream in id order, a thousand at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from domain import custom_fields
from domain.fields import HISTORY_COLUMNS, cell, fields_for
from storage.models import (
    Company,
    CustomField,
    Deal,
    ImportRun,
    Lead,
    Member,
    Person,
    Pipeline,
    Stage,
    StageHistory,
)


def headers(entity: str, custom: list[CustomField] = ()) -> list[str]:
    if entity == "history":
        return list(HISTORY_COLUMNS)
    return [spec.key for spec in fields_for(entity)] + [f.key for f in custom]


def rows(
    *, session: Session, workspace_id: int, entity: str, where=(), custom: list[CustomField] = ()
) -> Iterator[list[str]]:
    """The entity's rows as export cells; ``where`` narrows deals (``deal_filters``);
    ``custom``: the custom fields whose columns follow (read a thousand rows at a time)."""
    query = {
        "deals": _deals,
        "leads": _leads,
        "companies": _companies,
        "people": _people,
        "history": _history,
    }[entity](workspace_id, list(where))
    if custom and entity in _TABLES:
        yield from _with_custom(session, query.add_columns(_TABLES[entity].id), list(custom))
        return
    for row in session.execute(query.execution_options(yield_per=1000)):
        yield [cell(v) for v in row]


_TABLES = {"deals": Deal, "leads": Lead, "companies": Company, "people": Person}


def _with_custom(session: Session, query, custom: list[CustomField]) -> Iterator[list[str]]:
    batch: list = []

    def flush() -> Iterator[list[str]]:
        ids = [row[-1] for row in batch]
        got = custom_fields.values_of(session=session, fields=custom, record_ids=ids)
        for row in batch:
            mine = got.get(row[-1], {})
            yield [cell(v) for v in row[:-1]] + [
                custom_fields.export_cell(f, mine.get(f.id)) for f in custom
            ]
        batch.clear()

    for row in session.execute(query):
        batch.append(row)
        if len(batch) >= 1000:
            yield from flush()
    yield from flush()


def _deals(ws: int, where: list) -> sa.Select:
    return (
        sa.select(
            Deal.external_id,
            Deal.number,
            Deal.title,
            Deal.amount,
            Deal.currency,
            Pipeline.name,
            Stage.name,
            Member.slack_user_id,
            Company.name,
            Person.name,
            Deal.expected_close,
            Deal.lost_reason,
            Deal.created_at,
        )
        .join(Pipeline, Pipeline.id == Deal.pipeline_id)
        .join(Stage, Stage.id == Deal.stage_id)
        .outerjoin(Member, Member.id == Deal.owner_id)
        .outerjoin(Company, Company.id == Deal.company_id)
        .outerjoin(Person, Person.id == Deal.person_id)
        .where(Deal.workspace_id == ws, *where)
        .order_by(Deal.id)
    )


def _leads(ws: int, where: list) -> sa.Select:
    return (
        sa.select(
            Lead.external_id,
            Lead.number,
            Lead.name,
            Stage.name,
            Lead.source,
            Lead.email,
            Company.name,
            Lead.company_size,
            Member.slack_user_id,
            Lead.created_at,
            Lead.score,
        )
        .join(Stage, Stage.id == Lead.status_id)
        .outerjoin(Member, Member.id == Lead.owner_id)
        .outerjoin(Company, Company.id == Lead.company_id)
        .where(Lead.workspace_id == ws, *where)
        .order_by(Lead.id)
    )


def _companies(ws: int, where: list) -> sa.Select:
    return (
        sa.select(Company.external_id, Company.name, Company.employees)
        .where(Company.workspace_id == ws, *where)
        .order_by(Company.id)
    )


def _people(ws: int, where: list) -> sa.Select:
    return (
        sa.select(Person.external_id, Person.name, Person.email, Person.phone, Company.name)
        .outerjoin(Company, Company.id == Person.company_id)
        .where(Person.workspace_id == ws, *where)
        .order_by(Person.id)
    )


def _history(ws: int, where: list) -> sa.Select:
    source = aliased(Stage)
    target = aliased(Stage)
    return (
        sa.select(
            Deal.number,
            Deal.title,
            source.name,
            target.name,
            StageHistory.at,
            StageHistory.left_at,
            Member.slack_user_id,
            ImportRun.id,
        )
        .join(Deal, Deal.id == StageHistory.deal_id)
        .outerjoin(source, source.id == StageHistory.from_stage_id)
        .join(target, target.id == StageHistory.to_stage_id)
        .outerjoin(Member, Member.id == StageHistory.by_member_id)
        .outerjoin(ImportRun, ImportRun.id == StageHistory.import_run_id)
        .where(StageHistory.workspace_id == ws, *where)
        .order_by(StageHistory.deal_id, StageHistory.at, StageHistory.id)
    )
