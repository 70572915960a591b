"""Pipelines and their stages: validated definitions, created and edited by admins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.errors import InvalidInput
from domain.refs import stages_of
from domain.stall import stalled_since_sql
from domain.workspaces import require_admin
from storage.models import Deal, Lead, Member, Outcome, Pipeline, PipelineKind, Stage, StageHistory

MAX_STAGES = 30
MAX_NAME = 100


@dataclass(frozen=True)
class StageSpec:
    name: str
    probability: int
    stall_days: int | None
    outcome: str
    id: int | None = None  # an existing stage being kept


def validate(name: str, stages: list[StageSpec]) -> None:
    """At least one open, one won and one lost stage; probabilities 0–100; unique names."""
    if not name.strip():
        raise InvalidInput("pipeline.name_required")
    if len(name) > MAX_NAME:
        raise InvalidInput("pipeline.name_too_long", limit=MAX_NAME)
    if not stages or len(stages) > MAX_STAGES:
        raise InvalidInput("pipeline.stage_count", limit=MAX_STAGES)
    seen: set[str] = set()
    for spec in stages:
        key = spec.name.strip().lower()
        if not key:
            raise InvalidInput("pipeline.stage_name_required")
        if len(spec.name) > MAX_NAME:
            raise InvalidInput("pipeline.name_too_long", limit=MAX_NAME)
        if key in seen:
            raise InvalidInput("pipeline.stage_duplicate", name=spec.name)
        seen.add(key)
        if not 0 <= spec.probability <= 100:
            raise InvalidInput("pipeline.bad_probability", name=spec.name, value=spec.probability)
        if spec.stall_days is not None and not 1 <= spec.stall_days <= 365:
            raise InvalidInput("pipeline.bad_stall_days", name=spec.name, value=spec.stall_days)
        if spec.outcome not in {o.value for o in Outcome}:
            raise InvalidInput("pipeline.bad_outcome", name=spec.name, value=spec.outcome)
    outcomes = {spec.outcome for spec in stages}
    for needed in (Outcome.open, Outcome.won, Outcome.lost):
        if needed.value not in outcomes:
            raise InvalidInput(f"pipeline.needs_{needed.value}")


def _check_unique_name(session, workspace_id: int, name: str, exclude_id: int | None) -> None:
    query = select(Pipeline.id).where(
        Pipeline.workspace_id == workspace_id,
        Pipeline.kind == PipelineKind.deal,
        sa.func.lower(Pipeline.name) == name.strip().lower(),
    )
    if exclude_id is not None:
        query = query.where(Pipeline.id != exclude_id)
    if session.exec(query).first() is not None:
        raise InvalidInput("pipeline.name_taken", name=name)


def create_pipeline(
    *, session: Session, actor: Member, name: str, stages: list[StageSpec]
) -> Pipeline:
    require_admin(actor)
    validate(name, stages)
    _check_unique_name(session, actor.workspace_id, name, None)
    position = session.exec(
        select(sa.func.coalesce(sa.func.max(Pipeline.position), 0)).where(
            Pipeline.workspace_id == actor.workspace_id
        )
    ).one()
    pipeline = Pipeline(
        workspace_id=actor.workspace_id,
        name=name.strip(),
        kind=PipelineKind.deal,
        position=position + 1,
    )
    session.add(pipeline)
    session.flush()
    _write_stages(session, pipeline, stages, existing=[])
    return pipeline


def edit_pipeline(
    *, session: Session, actor: Member, pipeline: Pipeline, name: str, stages: list[StageSpec]
) -> Pipeline:
    """Rename, reorder, add and remove stages. A stage that still holds deals stays."""
    require_admin(actor)
    if pipeline.workspace_id != actor.workspace_id:
        raise InvalidInput("pipeline.not_found", text=pipeline.name, names="")
    validate(name, stages)
    _check_unique_name(session, actor.workspace_id, name, pipeline.id)
    existing = stages_of(session=session, pipeline_id=pipeline.id)
    kept = {spec.id for spec in stages if spec.id is not None}
    for stage in existing:
        if stage.id in kept:
            continue
        in_use = session.exec(
            select(sa.func.count()).select_from(Deal).where(Deal.stage_id == stage.id)
        ).one()
        if in_use:
            raise InvalidInput("pipeline.stage_in_use", name=stage.name, count=in_use)
        _refuse_if_referenced(session, stage)
    pipeline.name = name.strip()
    session.add(pipeline)
    _write_stages(session, pipeline, stages, existing)
    return pipeline


def _refuse_if_referenced(session: Session, stage: Stage) -> None:
    """A stage leads sit in, or that deal histories point to, stays: deleting it would break
    them (the database refuses) and silently rewrite past conversion rates."""
    leads = session.exec(
        select(sa.func.count()).select_from(Lead).where(Lead.status_id == stage.id)
    ).one()
    if leads:
        raise InvalidInput("pipeline.stage_holds_leads", name=stage.name, count=leads)
    # Every move out of a stage follows a move into it, so the entries are enough to count.
    h = StageHistory
    moves = session.exec(
        select(sa.func.count()).select_from(h).where(h.to_stage_id == stage.id)
    ).one()
    if moves:
        raise InvalidInput("pipeline.stage_has_history", name=stage.name, count=moves)


def _write_stages(session, pipeline: Pipeline, stages: list[StageSpec], existing: list[Stage]):
    by_id = {s.id: s for s in existing}
    keep = {spec.id for spec in stages if spec.id in by_id}
    for stage in existing:
        if stage.id not in keep:
            session.delete(stage)
    # Park kept stages on temporary names first so renames/reorders never clash on the
    # (pipeline, name) unique constraint mid-flush. (Plain text: PostgreSQL refuses NUL.)
    parked = uuid.uuid4().hex
    for stage in existing:
        if stage.id in keep:
            stage.name = f"{parked}-{stage.id}"
            session.add(stage)
    session.flush()
    for position, spec in enumerate(stages, start=1):
        stage = by_id.get(spec.id) if spec.id in keep else None
        if stage is None:
            stage = Stage(workspace_id=pipeline.workspace_id, pipeline_id=pipeline.id, position=0)
        stage.name = spec.name.strip()
        stage.position = position
        stage.probability = spec.probability
        rethreshold = stage.id is not None and stage.stall_days != spec.stall_days
        stage.stall_days = spec.stall_days
        stage.outcome = Outcome(spec.outcome)
        session.add(stage)
        if rethreshold:
            refresh_stalled_since(session, stage)
    session.flush()


def refresh_stalled_since(session: Session, stage: Stage) -> None:
    """A stage's stall threshold changed: every deal in it gets its ``stalled_since`` again
    (:func:`domain.stall.stalled_since`), in one statement."""
    dialect = session.get_bind().dialect.name
    since = (
        sa.null()
        if stage.stall_days is None
        else stalled_since_sql(Deal.stage_entered_at, stage.stall_days, dialect)
    )
    session.execute(
        sa.update(Deal)
        .where(Deal.workspace_id == stage.workspace_id, Deal.stage_id == stage.id)
        .values(stalled_since=since),
        execution_options={"synchronize_session": False},
    )
