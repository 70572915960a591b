"""The rows an export writes, narrowed by the same filters as ``/deal list`` / ``/lead list``.

Deals export closed deals too (an export is the team's data, not the open list) unless a
filter says otherwise (``stalled`` is open by definition; ``stage:Won`` is the won ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlmodel import Session

from commands import grammar
from commands import types as c
from commands.handlers.fields import field_conditions
from domain import custom_fields, exports
from domain.deal_reads import deal_filters, today_in
from domain.errors import InvalidInput
from domain.leads import lead_statuses
from domain.refs import find_member, find_pipeline, match_stage, stages_of
from storage.models import Deal, Lead, Member, Workspace


def export_rows(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member | None,
    entity: str,
    filters: str,
    now: datetime,
) -> tuple[list[str], Iterator[list[str]]]:
    where = []
    if entity == "deals":
        where = deal_where(session=session, workspace=workspace, actor=actor, text=filters, now=now)
    elif entity == "leads":
        where = lead_where(session=session, workspace=workspace, actor=actor, text=filters, now=now)
    elif filters.strip():
        raise InvalidInput("export.no_filters")
    custom = []
    if entity in custom_fields.ENTITIES:  # their columns follow the built-in ones (issue 15)
        custom = custom_fields.fields(session=session, workspace_id=workspace.id, entity=entity)
    rows = exports.rows(
        session=session, workspace_id=workspace.id, entity=entity, where=where, custom=custom
    )
    return exports.headers(entity, custom), rows


def _owner(session, workspace, actor, mine: bool, ref: c.UserRef | None) -> Member | None:
    if mine:
        return actor
    if ref is None:
        return None
    return find_member(
        session=session, workspace_id=workspace.id, slack_id=ref.slack_id, name=ref.name
    )


def deal_where(*, session, workspace, actor, text: str, now: datetime) -> list:
    cmd = grammar.parse("deal", f"list {text}", today=today_in(workspace, now))
    if not isinstance(cmd, c.DealList):
        raise InvalidInput("export.bad_filters", value=text)
    return deal_filters_of(session=session, workspace=workspace, actor=actor, cmd=cmd, now=now)


def deal_filters_of(*, session, workspace, actor, cmd: c.DealList, now: datetime) -> list:
    owner = _owner(session, workspace, actor, cmd.mine, cmd.owner)
    pipeline = (
        find_pipeline(session=session, workspace_id=workspace.id, name=cmd.pipeline)
        if cmd.pipeline or cmd.stage
        else None
    )
    stage = None
    if cmd.stage is not None:
        stage = match_stage(stages_of(session=session, pipeline_id=pipeline.id), cmd.stage.text)
    return deal_filters(
        session=session,
        workspace=workspace,
        now=now,
        owner_id=owner.id if owner else None,
        pipeline_id=pipeline.id if pipeline else None,
        stage_id=stage.id if stage else None,
        stalled=cmd.stalled,
        include_closed=True,
        extra=tuple(
            field_conditions(
                session, workspace, today_in(workspace, now), "deals", cmd.custom, Deal.id
            )
        ),
    )


def lead_where(*, session, workspace, actor, text: str, now: datetime) -> list:
    cmd = grammar.parse("lead", f"list {text}", today=today_in(workspace, now))
    if not isinstance(cmd, c.LeadList):
        raise InvalidInput("export.bad_filters", value=text)
    return lead_filters_of(session=session, workspace=workspace, actor=actor, cmd=cmd)


def lead_filters_of(*, session, workspace, actor, cmd: c.LeadList) -> list:
    where = []
    if cmd.status:
        statuses = lead_statuses(session=session, workspace_id=workspace.id)
        where.append(Lead.status_id == match_stage(statuses, cmd.status).id)
    owner = _owner(session, workspace, actor, cmd.mine, cmd.owner)
    if owner is not None:
        where.append(Lead.owner_id == owner.id)
    return where
