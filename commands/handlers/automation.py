"""/pipeline cadence | workflows: the admins' editors, and what their modals submit."""

from __future__ import annotations

from commands import automation_forms as af
from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.outcome import Outcome
from domain import cadences, workflows, workspaces
from domain.errors import NotFound
from domain.refs import find_pipeline, match_stage, stages_of
from i18n import t
from storage.models import Pipeline, Stage
from views import automation as views
from views.message import Message


def cadence_modal(ctx: Ctx, stage: Stage) -> dict:
    pipeline = ctx.session.get(Pipeline, stage.pipeline_id)
    cadence = cadences.cadence_of_stage(session=ctx.session, stage_id=stage.id)
    steps = cadences.cadence_steps(session=ctx.session, cadence=cadence) if cadence else []
    return views.cadence_edit(
        ctx.locale, stage=stage, pipeline=pipeline, cadence=cadence, lines=af.step_lines(steps)
    )


@handles(c.PipelineCadence)
def cadence(cmd: c.PipelineCadence, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    pipeline = find_pipeline(session=ctx.session, workspace_id=ctx.workspace.id, name=cmd.pipeline)
    stage = match_stage(stages_of(session=ctx.session, pipeline_id=pipeline.id), cmd.stage)
    return Outcome(modal=cadence_modal(ctx, stage))


def stage_of_workspace(ctx: Ctx, stage_id: int | None) -> Stage:
    stage = ctx.session.get(Stage, stage_id) if stage_id else None
    if stage is None or stage.workspace_id != ctx.workspace.id:
        raise NotFound("pipeline.stage_not_found", text="?", stages="")
    return stage


def save_cadence(ctx: Ctx, stage_id: int | None, values: dict) -> Outcome:
    """The cadence editor's submission: checked whole, then saved."""
    stage = stage_of_workspace(ctx, stage_id)
    name, active, steps = af.cadence_form(values, locale=ctx.locale)
    saved = cadences.save_cadence(
        session=ctx.session, actor=ctx.member, stage=stage, name=name, active=active, steps=steps
    )
    if saved is None:
        return Outcome(reply=Message(text=t(ctx.locale, "cadence.removed", stage=stage.name)))
    state = t(ctx.locale, "cadence.on" if saved.active else "cadence.off")
    text = t(
        ctx.locale,
        "cadence.saved",
        name=saved.name,
        stage=stage.name,
        count=len(steps),
        state=state,
    )
    return Outcome(reply=Message(text=text))


@handles(c.PipelineWorkflows)
def workflows_list(cmd: c.PipelineWorkflows, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    rows = workflows.workflow_rows(session=ctx.session, workspace=ctx.workspace)
    return Outcome(modal=views.workflows_modal(rows, ctx.locale, ctx.workspace.currency))


def save_workflows(ctx: Ctx, values: dict) -> Outcome:
    """The workflows modal's submission: the on/off switches, and a new workflow if one was
    written (everything checked before anything is written)."""
    workspaces.require_admin(ctx.member)
    draft = af.workflow_form(values, locale=ctx.locale)
    spec = None
    if draft is not None:
        spec = workflows.resolve(session=ctx.session, workspace=ctx.workspace, draft=draft)
        workflows.check(spec)
    switched = 0
    active = af.active_workflows(values)
    if active is not None:
        switched = workflows.set_active(
            session=ctx.session, actor=ctx.member, workspace=ctx.workspace, active_ids=active
        )
    if spec is not None:
        workflows.add_workflow(
            session=ctx.session, actor=ctx.member, workspace=ctx.workspace, spec=spec
        )
    text = t(ctx.locale, "workflow.saved", added=int(spec is not None), switched=switched)
    return Outcome(reply=Message(text=text))
