"""/deal qualify, /pipeline scoring, /lead note (issue 15), and what their modals submit."""

from __future__ import annotations

from commands import scoring_forms
from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.deals import card_channel, card_message, home_of, resolve_deal, thread_post
from commands.handlers.leads import resolve_lead
from commands.outcome import Outcome, Post, PostKind
from domain import lead_scores, leads, qualify
from domain.errors import InvalidInput
from domain.workspaces import require_admin
from i18n import fmt, t
from storage.models import Pipeline
from views import qualify as qv
from views import scoring as sv
from views.deals import who
from views.message import Message


def _checklist(ctx: Ctx, deal) -> tuple[bool, ...]:
    met = qualify.checklist(session=ctx.session, deal=deal)
    if met is None:
        pipeline = ctx.session.get(Pipeline, deal.pipeline_id)
        raise InvalidInput("qualify.no_checklist", number=deal.number, pipeline=pipeline.name)
    return met


@handles(c.DealQualify)
def qualify_deal(cmd: c.DealQualify, ctx: Ctx) -> Outcome:
    """Tick and untick; with nothing to tick or untick, the checkboxes."""
    deal = resolve_deal(ctx, cmd.deal)
    if not cmd.tick and not cmd.untick:
        return Outcome(modal=qv.modal(deal, _checklist(ctx, deal), ctx.locale))
    done = qualify.qualify(
        session=ctx.session,
        actor=ctx.member,
        deal=deal,
        now=ctx.now(),
        tick=cmd.tick,
        untick=cmd.untick,
    )
    after = qualify.met(done.after)
    ref = f"D{deal.number}"
    if not done.changed:
        return Outcome(reply=Message(text=qv.unchanged_line(ref, after, ctx.locale)))
    actor = who(ctx.member)
    team_line = qv.change_line(actor, ref, done.changed, after, ctx.workspace.locale)
    card = Post(
        PostKind.card_update,
        card_message(ctx, done.deal),
        deal_id=deal.id,
        channel=card_channel(ctx),
        home=home_of(deal),
    )
    mine = qv.change_line(actor, ref, done.changed, after, ctx.locale)
    return Outcome(reply=Message(text=mine), posts=(card, thread_post(ctx, deal, team_line)))


def qualify_modal(ctx: Ctx, ref: c.DealRef) -> dict:
    """The card's BANT button: the checkboxes of that deal."""
    deal = resolve_deal(ctx, ref)
    return qv.modal(deal, _checklist(ctx, deal), ctx.locale)


def qualify_command(ref: c.DealRef, values: dict) -> c.DealQualify:
    """The checkboxes submitted: exactly the ticked criteria are met."""
    ticked = scoring_forms.ticked(values)
    return c.DealQualify(deal=ref, tick=ticked, untick=frozenset(qualify.CRITERIA) - ticked)


@handles(c.PipelineScoring)
def scoring_rules(cmd: c.PipelineScoring, ctx: Ctx) -> Outcome:
    require_admin(ctx.member)
    current = lead_scores.scoring_of(session=ctx.session, workspace_id=ctx.workspace.id)
    return Outcome(modal=sv.modal(current, ctx.locale))


def save_scoring(ctx: Ctx, values: dict) -> Outcome:
    """The rules modal submitted: checked whole, saved, every lead scored again."""
    require_admin(ctx.member)
    current = lead_scores.scoring_of(session=ctx.session, workspace_id=ctx.workspace.id)
    new = scoring_forms.scoring_form(values, current=current, locale=ctx.locale)
    crossed = lead_scores.save(
        session=ctx.session, actor=ctx.member, workspace=ctx.workspace, scoring=new, now=ctx.now()
    )
    text = t(
        ctx.locale,
        "scoring.saved",
        count=fmt.number(len(new.rules), ctx.locale),
        threshold=fmt.number(new.threshold, ctx.locale),
        crossed=fmt.number(crossed, ctx.locale),
    )
    return Outcome(reply=Message(text=text))


@handles(c.LeadNote)
def lead_note(cmd: c.LeadNote, ctx: Ctx) -> Outcome:
    lead = resolve_lead(ctx, cmd.lead)
    leads.add_note(session=ctx.session, actor=ctx.member, lead=lead, text=cmd.text, now=ctx.now())
    score = fmt.number(lead.score, ctx.locale)
    return Outcome(
        reply=Message(text=t(ctx.locale, "scoring.noted", ref=f"L{lead.number}", score=score))
    )
