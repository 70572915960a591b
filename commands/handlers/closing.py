"""/deal move, won, lost and reopen: closing or reopening a deal is asked first (issue 13).

``/deal won 5``, ``/deal lost 5 budget`` and a move that closes or reopens a deal answer with
an ephemeral question and Confirm/Cancel buttons; Confirm runs the command ``confirmed`` and
its answer replaces the question. The card's Won button carries a Block Kit confirm dialog
and the Lost button opens a modal: both are confirmations already. ``/deal reopen 5 [stage]``
is explicit and needs none. A win outside the Renewals pipeline offers to create the deal's
renewal deal (domain.renewals.create_renewal) with a button.
"""

from __future__ import annotations

from dataclasses import replace

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.deals import announce, card_channel, card_message, resolve_deal
from commands.handlers.fields import offers_fill
from commands.outcome import Outcome, Post, PostKind
from domain import deals, renewals
from domain.errors import InvalidInput
from domain.refs import find_pipeline, match_stage, stages_of
from domain.workspaces import RENEWALS_NAME
from i18n import t
from storage.models import Deal, Pipeline, Stage
from storage.models import Outcome as StageOutcome
from views import closing as cv
from views import deals as dv
from views.message import Message


def _target(ctx: Ctx, deal: Deal, *, text: str | None = None, stage_id: int | None = None):
    stages = stages_of(session=ctx.session, pipeline_id=deal.pipeline_id)
    current = next(s for s in stages if s.id == deal.stage_id)
    if stage_id is not None:
        target = next((s for s in stages if s.id == stage_id), None)
        if target is None:
            raise InvalidInput("deal.stage_not_in_pipeline")
    else:
        target = match_stage(stages, text or "")
    return current, target


def _outcome_stage(ctx: Ctx, deal: Deal, outcome: StageOutcome) -> Stage:
    stages = stages_of(session=ctx.session, pipeline_id=deal.pipeline_id)
    target = next((s for s in stages if s.outcome == outcome), None)
    if target is None:
        raise InvalidInput("deal.no_outcome_stage", outcome=outcome.value)
    return target


def _ask(ctx: Ctx, deal: Deal, current: Stage, target: Stage, do: str, reason=None):
    """The question, or None when the move neither closes nor reopens the deal."""
    if target.id == current.id:
        return None  # the domain says "already in that stage"
    if current.outcome == StageOutcome.open and target.outcome == StageOutcome.open:
        return None
    deals.require_can_change(ctx.member, deal)  # a rep is told now, not after confirming
    if current.outcome != StageOutcome.open and target.outcome == StageOutcome.open:
        kind = "reopen"
    else:
        kind = {"won": "won", "lost": "lost"}.get(target.outcome, "move")
        kind = "move" if current.outcome != StageOutcome.open else kind
    text = cv.question(
        kind,
        number=deal.number,
        title=deal.title,
        amount=deal.amount,
        currency=deal.currency,
        from_stage=current.name,
        to_stage=target.name,
        reason=reason,
        locale=ctx.locale,
    )
    message = cv.confirm(
        question=text,
        do=do,
        number=deal.number,
        stage_id=target.id if do == "move" else None,
        reason=reason,
        locale=ctx.locale,
    )
    return Outcome(reply=message)


def _done(ctx: Ctx, change: deals.Change, confirmed: bool) -> Outcome:
    """The change told to the team; a confirmed answer replaces its question; a win outside
    Renewals offers the renewal deal."""
    outcome = announce(ctx, change)
    if change.kind == "won" and _offers_renewal(ctx, change.deal):
        reply = cv.with_renewal_offer(outcome.reply, change.deal.number, ctx.locale)
        outcome = replace(outcome, reply=reply)
    return replace(outcome, replace=confirmed)


def _offers_renewal(ctx: Ctx, deal: Deal) -> bool:
    pipeline = ctx.session.get(Pipeline, deal.pipeline_id)
    if pipeline is None or pipeline.name in RENEWALS_NAME:
        return False
    return renewals.renewal_of(session=ctx.session, deal=deal) is None


@handles(c.DealMove)
@offers_fill
def move(cmd: c.DealMove, ctx: Ctx) -> Outcome:
    deal = resolve_deal(ctx, cmd.deal)
    if not cmd.confirmed:
        current, target = _target(ctx, deal, text=cmd.stage.text, stage_id=cmd.stage.id)
        asked = _ask(ctx, deal, current, target, "move")
        if asked is not None:
            return asked
    change = deals.move_deal(
        session=ctx.session,
        actor=ctx.member,
        deal=deal,
        stage_text=cmd.stage.text,
        stage_id=cmd.stage.id,
        now=ctx.now(),
    )
    return _done(ctx, change, cmd.confirmed)


@handles(c.DealWon)
@offers_fill
def won(cmd: c.DealWon, ctx: Ctx) -> Outcome:
    deal = resolve_deal(ctx, cmd.deal)
    if not cmd.confirmed:
        current = ctx.session.get(Stage, deal.stage_id)
        asked = _ask(ctx, deal, current, _outcome_stage(ctx, deal, StageOutcome.won), "won")
        if asked is not None:
            return asked
    change = deals.close_deal(
        session=ctx.session, actor=ctx.member, deal=deal, won=True, now=ctx.now()
    )
    return _done(ctx, change, cmd.confirmed)


@handles(c.DealLost)
def lost(cmd: c.DealLost, ctx: Ctx) -> Outcome:
    deal = resolve_deal(ctx, cmd.deal)
    if not cmd.confirmed:
        current = ctx.session.get(Stage, deal.stage_id)
        target = _outcome_stage(ctx, deal, StageOutcome.lost)
        asked = _ask(ctx, deal, current, target, "lost", cmd.reason)
        if asked is not None:
            return asked
    change = deals.close_deal(
        session=ctx.session,
        actor=ctx.member,
        deal=deal,
        won=False,
        now=ctx.now(),
        reason=cmd.reason,
    )
    return _done(ctx, change, cmd.confirmed)


@handles(c.DealReopen)
def reopen(cmd: c.DealReopen, ctx: Ctx) -> Outcome:
    deal = resolve_deal(ctx, cmd.deal)
    stages = stages_of(session=ctx.session, pipeline_id=deal.pipeline_id)
    current = next(s for s in stages if s.id == deal.stage_id)
    if current.outcome == StageOutcome.open:
        raise InvalidInput("sales.reopen.already_open", ref=f"D{deal.number}", stage=current.name)
    if cmd.stage is not None:
        target = match_stage(stages, cmd.stage.text)
        if target.outcome != StageOutcome.open:
            raise InvalidInput("sales.reopen.needs_open_stage", stage=target.name)
    else:
        target = next(s for s in stages if s.outcome == StageOutcome.open)
    change = deals.move_deal(
        session=ctx.session, actor=ctx.member, deal=deal, stage_id=target.id, now=ctx.now()
    )
    return announce(ctx, change)


@handles(c.DealCancel)
def cancel(cmd: c.DealCancel, ctx: Ctx) -> Outcome:
    text = t(ctx.locale, "sales.confirm.cancelled", ref=f"D{cmd.deal.number}")
    return Outcome(reply=Message(text=text), replace=True)


@handles(c.DealRenewalCreate)
def create_renewal(cmd: c.DealRenewalCreate, ctx: Ctx) -> Outcome:
    deal = resolve_deal(ctx, cmd.deal)
    deals.require_can_change(ctx.member, deal)
    existing = renewals.renewal_of(session=ctx.session, deal=deal)
    if existing is not None:
        text = t(
            ctx.locale,
            "sales.renewal.exists",
            of=f"D{deal.number}",
            ref=f"D{existing.number}",
            title=existing.title,
        )
        return Outcome(reply=Message(text=text), replace=True)
    renewal = renewals.create_renewal(
        session=ctx.session, deal=deal, now=ctx.now(), actor=ctx.member
    )
    pipeline = find_pipeline(
        session=ctx.session, workspace_id=ctx.workspace.id, name=RENEWALS_NAME[0]
    ).name

    def line(locale: str) -> str:
        return cv.renewal_created(
            actor=dv.who(ctx.member),
            renewal=renewal,
            of_number=deal.number,
            pipeline=pipeline,
            locale=locale,
        )

    card = Post(
        PostKind.card,
        card_message(ctx, renewal),
        deal_id=renewal.id,
        channel=card_channel(ctx),
    )
    told = Post(
        PostKind.thread,
        Message(text=line(ctx.workspace.locale)),
        deal_id=deal.id,
        channel=card_channel(ctx),
        home=(deal.thread_channel, deal.thread_ts) if deal.thread_ts else None,
        card=None if deal.thread_ts else card_message(ctx, deal),
    )
    return Outcome(reply=Message(text=line(ctx.locale)), posts=(card, told), replace=True)
