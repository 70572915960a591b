"""/lead handlers."""

from __future__ import annotations

from dataclasses import replace

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.deals import announce, resolve_user
from commands.handlers.fields import read_values, with_custom_fields, with_inputs
from commands.outcome import Outcome
from commands.readback import read_back
from domain import duplicates, lead_edits, lead_scores, leads
from domain.refs import find_lead, match_stage
from i18n import t
from storage.models import Person
from views import closing as cv
from views import companies as companies_view
from views import leads as lv
from views import modals
from views import scoring as scoring_views
from views.message import Message


def resolve_lead(ctx: Ctx, ref: c.LeadRef):
    return find_lead(
        session=ctx.session, workspace_id=ctx.workspace.id, number=ref.number, text=ref.text
    )


@handles(c.LeadNew)
def new(cmd: c.LeadNew, ctx: Ctx) -> Outcome:
    if cmd.name is None:
        return Outcome(modal=with_inputs(ctx, modals.lead_new(ctx), "leads"))
    custom = read_values(ctx, "leads", None, cmd.custom)  # checked before anything
    lead = leads.create_lead(
        session=ctx.session,
        workspace=ctx.workspace,
        actor=ctx.member,
        name=cmd.name,
        now=ctx.now(),
        company_name=cmd.company,
        email=cmd.email,
        source=cmd.source,
        size=cmd.size,
        owner=resolve_user(ctx, cmd.owner),
        status=cmd.status,
        job_title=cmd.title,
    )
    lead_edits.set_new(session=ctx.session, workspace=ctx.workspace, lead=lead, values=custom,
                       now=ctx.now())  # fmt: skip
    reply = lv.created(lead, ctx.locale)
    found = duplicates.similar_leads(session=ctx.session, lead=lead)
    if found is not None:
        what, others = found
        warning = t(ctx.locale, f"sales.duplicate.lead_{what}", refs=cv.refs(others, "L"))
        reply = cv.with_warnings(reply, [warning])
    return Outcome(reply=reply)


@handles(c.LeadStatus)
def status(cmd: c.LeadStatus, ctx: Ctx) -> Outcome:
    lead = resolve_lead(ctx, cmd.lead)
    before, after = leads.set_status(
        session=ctx.session, actor=ctx.member, lead=lead, status=cmd.status, now=ctx.now()
    )
    text = t(
        ctx.locale, "lead.status_changed", ref=f"L{lead.number}", old=before.name, new=after.name
    )
    return Outcome(reply=Message(text=text))


@handles(c.LeadConvert)
def convert(cmd: c.LeadConvert, ctx: Ctx) -> Outcome:
    lead = resolve_lead(ctx, cmd.lead)
    change = leads.convert(
        session=ctx.session,
        workspace=ctx.workspace,
        actor=ctx.member,
        lead=lead,
        now=ctx.now(),
        amount=cmd.amount.value if cmd.amount else None,
        currency=cmd.amount.currency if cmd.amount else None,
        pipeline_name=cmd.pipeline,
        stage_text=cmd.stage.text if cmd.stage else None,
        title=cmd.title,
        close=cmd.close,
    )
    text = t(
        ctx.locale,
        "lead.converted",
        lead=f"L{lead.number}",
        ref=f"D{change.deal.number}",
        title=change.deal.title,
    )
    reply = read_back(Message(text=text), ctx, cmd.amount, "deal.read_back")
    return replace(announce(ctx, change, new=True), reply=reply)


@handles(c.LeadList)
def list_(cmd: c.LeadList, ctx: Ctx) -> Outcome:
    statuses = leads.lead_statuses(session=ctx.session, workspace_id=ctx.workspace.id)
    status = match_stage(statuses, cmd.status, errors="lead.status") if cmd.status else None
    owner = ctx.member if cmd.mine else resolve_user(ctx, cmd.owner)
    rows = leads.lead_rows(
        session=ctx.session,
        workspace_id=ctx.workspace.id,
        status_id=status.id if status else None,
        owner_id=owner.id if owner else None,
    )
    return Outcome(reply=lv.lead_list(rows, ctx.locale))


@handles(c.LeadShow)
def show(cmd: c.LeadShow, ctx: Ctx) -> Outcome:
    lead = resolve_lead(ctx, cmd.lead)
    row = leads.lead_row(session=ctx.session, lead=lead)
    message = lv.details(row, ctx.locale, ctx.tz)
    contact = ctx.session.get(Person, lead.person_id) if lead.person_id else None
    links = companies_view.related(row.company_name, contact.name if contact else None, ctx.locale)
    if links is not None:  # issue 15: the lead links its company and contact
        message.blocks.append(links)
    score, rules = lead_scores.explain(session=ctx.session, lead=lead, now=ctx.now())
    message.blocks.append(scoring_views.score_block(score, rules, row.job_title, ctx.locale))
    return Outcome(reply=with_custom_fields(ctx, message, "leads", lead.id))
