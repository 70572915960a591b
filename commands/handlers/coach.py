"""/pipeline coach | quota | calibrate: the pipeline coach, quotas, and applying a measured
stage probability (docs/metrics.md#coach, #calibration)."""

from __future__ import annotations

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.deals import resolve_user
from commands.outcome import Outcome
from commands.readback import read_back
from domain import coach as dc
from domain import quotas as q
from domain.metrics import calibration as cal
from domain.refs import find_pipeline
from i18n import fmt, t
from views import blocks as b
from views import coach as cv
from views.message import Message


@handles(c.PipelineCoach)
def coach(cmd: c.PipelineCoach, ctx: Ctx) -> Outcome:
    session, ws = ctx.session, ctx.workspace
    reps = dc.reps(session=session, workspace=ws)
    if cmd.team:
        rows = [
            dc.coach(session=session, workspace=ws, member=m, now=ctx.now(), team_size=len(reps))
            for m in reps
        ]
        return Outcome(reply=cv.team(rows, currency=ws.currency, locale=ctx.locale))
    member = resolve_user(ctx, cmd.user) or ctx.member
    data = dc.coach(
        session=session, workspace=ws, member=member, now=ctx.now(), team_size=len(reps)
    )
    return Outcome(reply=cv.coaching(data, currency=ws.currency, locale=ctx.locale))


@handles(c.PipelineQuota)
def quota(cmd: c.PipelineQuota, ctx: Ctx) -> Outcome:
    member = resolve_user(ctx, cmd.user)
    if cmd.period is None:
        span = q.quarter_of(ctx.today())
    else:
        span = q.span_of(cmd.period.start, cmd.period.end)
    q.set_quota(
        session=ctx.session,
        workspace=ctx.workspace,
        actor=ctx.member,
        member=member,
        span=span,
        amount=cmd.amount.value,
        currency=cmd.amount.currency or ctx.workspace.currency,
        now=ctx.now(),
    )
    who = f"<@{member.slack_user_id}>" if member else t(ctx.locale, "coach.team_word")
    text = t(
        ctx.locale,
        "coach.quota_set",
        who=who,
        period=span.label,
        amount=fmt.money(cmd.amount.value, ctx.workspace.currency, ctx.locale),
    )
    message = read_back(Message(text, [b.section(text)]), ctx, cmd.amount, "coach.quota_read_back")
    return Outcome(reply=message)


@handles(c.PipelineCalibrate)
def calibrate(cmd: c.PipelineCalibrate, ctx: Ctx) -> Outcome:
    pipeline = find_pipeline(session=ctx.session, workspace_id=ctx.workspace.id, name=cmd.pipeline)
    row, old = cal.apply_measured(
        session=ctx.session,
        workspace_id=ctx.workspace.id,
        actor=ctx.member,
        pipeline_id=pipeline.id,
        stage_text=cmd.stage,
        now=ctx.now(),
    )
    return Outcome(reply=cv.calibrated(row, old, ctx.locale))
