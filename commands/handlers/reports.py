"""/pipeline [name] | forecast | metrics | plan: the read-only reports.

Choices every report shares:

- **Pipeline**: a name or prefix picks one deal pipeline (:func:`domain.refs.find_pipeline`);
  none picks the workspace's default pipeline; ``all`` (or ``전체``) takes every deal
  pipeline, unless a pipeline is really called that. The plan has no pipeline argument: it
  plans for the whole team, so it measures and compares all deal pipelines.
- **Period** (metrics and plan): ``period:`` as parsed by the grammar; without one, the **last
  90 days** up to now (:data:`DEFAULT_DAYS`). ``90d`` means the 90 × 24 hours before now;
  a named month, quarter or year runs from local midnight to local midnight in the workspace's
  timezone.
- **Money** is shown in the workspace currency: deals in other currencies are converted at
  the workspace's rates, or left out of the totals and listed per currency when there is no
  rate; the report says which under its figures (domain.money, views.money).
- Replies are ephemeral (reports change nothing). The forecast attaches its chart and the
  metrics attach the stage-conversion funnel as uploads to the person's DM (recorded in the
  outbox as chart specs, drawn when sent: views.chart_specs); the board stays text-only, as
  it is the command people run most, and its picture goes out with the weekly summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.deals import resolve_user
from commands.outcome import Outcome, Upload
from commands.readback import read_back
from domain import inbound_touch, money
from domain import metrics as m
from domain.errors import InvalidInput, NotFound
from domain.metrics import calibration
from domain.refs import find_pipeline, kept_pipeline
from i18n import fmt, t
from storage.models import Pipeline
from views import blocks as b
from views import chart_specs
from views import inbound as iv
from views import losses as lv
from views import reports as rv
from views.message import Message
from views.money import with_note

DEFAULT_DAYS = 90
ALL_WORDS = {"all", "*", "전체", "모두"}


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    text: str  # how the report names it


def window(period: c.Period | None, ctx: Ctx) -> Window:
    """The reporting window of ``period`` (default: the last 90 days) as aware UTC datetimes."""
    loc = ctx.locale
    now = ctx.now()
    if period is None or period.days:
        count = period.days if period and period.days else DEFAULT_DAYS
        start = now - timedelta(days=count)
        label = t(loc, "reports.last_days", days=fmt.number(count, loc))
        first, last = start.astimezone(ctx.tz).date(), ctx.today()
        return Window(start, now, _range(loc, label, first, last))
    if period.start is None or period.end is None or period.end <= period.start:
        raise InvalidInput("reports.bad_period")
    start, end = _midnight(period.start, ctx), _midnight(period.end, ctx)
    last = period.end - timedelta(days=1)
    return Window(start, end, _range(loc, period.label, period.start, last))


def _midnight(day: date, ctx: Ctx) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ctx.tz).astimezone(UTC)


def _range(loc: str, label: str, first: date, last: date) -> str:
    start, end = fmt.day(first, loc), fmt.day(last, loc)
    if label:
        return t(loc, "reports.range_labeled", label=label, start=start, end=end)
    return t(loc, "reports.range", start=start, end=end)


def pipeline_or_all(ctx: Ctx, name: str | None) -> Pipeline | None:
    """The named (or default) deal pipeline; None for ``all``."""
    try:
        return find_pipeline(session=ctx.session, workspace_id=ctx.workspace.id, name=name)
    except NotFound:
        if name and name.strip().lower() in ALL_WORDS:
            return None
        raise


def _title(pipeline: Pipeline | None, ctx: Ctx) -> str:
    return pipeline.name if pipeline else t(ctx.locale, "reports.all_pipelines")


def _same_currency(amount: c.Amount | None, ctx: Ctx) -> None:
    cur = ctx.workspace.currency.upper()
    if amount is not None and amount.currency and amount.currency.upper() != cur:
        raise InvalidInput("reports.plan_currency", currency=amount.currency, workspace=cur)


@handles(c.PipelineBoard)
def board(cmd: c.PipelineBoard, ctx: Ctx) -> Outcome:
    pipeline = kept_pipeline(session=ctx.session, workspace=ctx.workspace, name=cmd.name)
    tally = _tally(ctx)
    data = m.board(
        session=ctx.session,
        workspace_id=ctx.workspace.id,
        pipeline_id=pipeline.id,
        now=ctx.now(),
        tally=tally,
        pipeline=pipeline,
    )
    message = rv.board(data, currency=ctx.workspace.currency, locale=ctx.locale, today=ctx.today())
    return Outcome(reply=with_note(message, tally.note(), ctx.locale))


def _tally(ctx: Ctx) -> money.Tally:
    return money.tally(session=ctx.session, workspace_id=ctx.workspace.id)


@handles(c.PipelineMetrics)
def metrics(cmd: c.PipelineMetrics, ctx: Ctx) -> Outcome:
    pipeline = pipeline_or_all(ctx, cmd.pipeline)
    owner = resolve_user(ctx, cmd.owner)
    span = window(cmd.period, ctx)
    tally = _tally(ctx)
    data = m.metrics(
        session=ctx.session,
        workspace_id=ctx.workspace.id,
        start=span.start,
        end=span.end,
        now=ctx.now(),
        pipeline_id=pipeline.id if pipeline else None,
        owner_id=owner.id if owner else None,
        tally=tally,
    )
    name = _title(pipeline, ctx)
    message = rv.metrics(
        data,
        name=name,
        period=span.text,
        currency=ctx.workspace.currency,
        locale=ctx.locale,
        owner=f"<@{owner.slack_user_id}>" if owner else None,
    )
    losses = m.lost_reasons(
        session=ctx.session,
        workspace_id=ctx.workspace.id,
        start=span.start,
        end=span.end,
        pipeline_id=pipeline.id if pipeline else None,
        owner_id=owner.id if owner else None,
    )
    why = lv.lost_reasons(losses, currency=ctx.workspace.currency, locale=ctx.locale)
    if why and len(message.blocks) < b.MESSAGE_BLOCKS:  # issue 13: why deals were lost
        message = Message(text=message.text, blocks=[*message.blocks, b.section(why)])
    speed = owner is None and iv.speed_line(  # the workspace's, not one rep's
        inbound_touch.speed_to_lead(
            session=ctx.session, workspace_id=ctx.workspace.id, start=span.start, end=span.end
        ),
        ctx.locale,
    )
    if speed and len(message.blocks) < b.MESSAGE_BLOCKS:  # issue 15: inbound speed to lead
        message = Message(text=message.text, blocks=[*message.blocks, b.section(speed)])
    message = _with_calibration(message, ctx, pipeline)
    message = with_note(message, tally.note(), ctx.locale)
    uploads = []
    if any(s.entered for s in data.stages):
        uploads.append(
            Upload(
                "funnel.png",
                t(ctx.locale, "reports.funnel.upload_title", name=name),
                chart_specs.funnel(
                    data.stages,
                    ctx.locale,
                    name=name,
                    owner=(owner.name or owner.slack_user_id) if owner else None,
                    period=span.text,
                ),
                ctx.member.slack_user_id,
            )
        )
    return Outcome(reply=message, uploads=tuple(uploads))


def _with_calibration(message, ctx: Ctx, pipeline: Pipeline | None):
    """Stages whose probability is off from what the team measures (docs/metrics.md)."""
    from views.coach import calibration_blocks
    from views.message import Message

    rows = calibration.flagged(
        calibration.calibration(
            session=ctx.session,
            workspace_id=ctx.workspace.id,
            now=ctx.now(),
            pipeline_id=pipeline.id if pipeline else None,
        )
    )
    extra = calibration_blocks(rows, ctx.locale)
    if not extra or len(message.blocks) + len(extra) > 50:
        return message
    return Message(text=message.text, blocks=[*message.blocks, *extra])


@handles(c.PipelineForecast)
def forecast(cmd: c.PipelineForecast, ctx: Ctx) -> Outcome:
    by = "quarter" if cmd.by == "quarter" else "month"
    pipeline = pipeline_or_all(ctx, cmd.pipeline)
    owner = resolve_user(ctx, cmd.owner)
    tally = _tally(ctx)
    rows = m.forecast(
        session=ctx.session,
        workspace_id=ctx.workspace.id,
        by=by,
        now=ctx.now(),
        tz=ctx.workspace.timezone,
        pipeline_id=pipeline.id if pipeline else None,
        owner_id=owner.id if owner else None,
        tally=tally,
    )
    name = _title(pipeline, ctx)
    if owner is not None:  # one rep's forecast (issue 13): the title names them
        name = f"{name} · {owner.name or '@' + owner.slack_user_id}"
    currency = ctx.workspace.currency
    message = rv.forecast(rows, name=name, by=by, currency=currency, locale=ctx.locale)
    message = with_note(message, tally.note(), ctx.locale)
    uploads = []
    if rows:
        spec = chart_specs.forecast(rows, ctx.locale, currency, by, name=name)
        title = t(ctx.locale, "reports.forecast.upload_title", name=name)
        uploads.append(Upload(f"forecast-{by}.png", title, spec, ctx.member.slack_user_id))
    return Outcome(reply=message, uploads=tuple(uploads))


@handles(c.PipelinePlan)
def plan(cmd: c.PipelinePlan, ctx: Ctx) -> Outcome:
    _same_currency(cmd.target, ctx)
    _same_currency(cmd.avg, ctx)
    span = window(cmd.period, ctx)
    avg = cmd.avg.value if cmd.avg else None
    rate = cmd.winrate
    tally = _tally(ctx)
    if avg is None or rate is None:
        measured = m.win_stats(
            session=ctx.session,
            workspace_id=ctx.workspace.id,
            start=span.start,
            end=span.end,
            tally=tally,
        )
        avg = avg if avg is not None else measured.avg_deal_size
        rate = rate if rate is not None else measured.win_rate
    result = m.plan(target=cmd.target.value, avg_deal_size=avg, win_rate=rate, reps=cmd.reps)
    open_now = m.open_pipeline(session=ctx.session, workspace_id=ctx.workspace.id, tally=tally)
    message = rv.plan(
        result,
        name=t(ctx.locale, "reports.all_pipelines"),
        target=cmd.target.value,
        avg=avg,
        avg_measured=cmd.avg is None,
        win_rate=rate,
        rate_measured=cmd.winrate is None,
        period=span.text,
        reps=cmd.reps,
        open_now=open_now,
        currency=ctx.workspace.currency,
        locale=ctx.locale,
    )
    message = read_back(message, ctx, cmd.target, "reports.plan.target_read_back")
    message = read_back(message, ctx, cmd.avg, "reports.plan.avg_read_back")
    return Outcome(reply=with_note(message, tally.note(), ctx.locale))
