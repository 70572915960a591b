"""/deal handlers: translate the typed command, call the domain, render the result."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import sqlalchemy as sa

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.outcome import Outcome, Post, PostKind
from commands.readback import read_back
from domain import deal_reads, deals, duplicates, money
from domain.deal_page import deal_page
from domain.refs import find_deal, find_member, find_pipeline, match_stage, stages_of
from i18n import t
from storage.models import Company, Deal, Member
from views import closing as cv
from views import companies as companies_view
from views import deals as dv
from views import modals
from views.message import Message


def resolve_deal(ctx: Ctx, ref: c.DealRef):
    return find_deal(
        session=ctx.session, workspace_id=ctx.workspace.id, number=ref.number, text=ref.text
    )


def resolve_user(ctx: Ctx, ref: c.UserRef | None) -> Member | None:
    if ref is None:
        return None
    return find_member(
        session=ctx.session, workspace_id=ctx.workspace.id, slack_id=ref.slack_id, name=ref.name
    )


def members_by_id(ctx: Ctx, ids) -> dict:
    """``{id: member}`` as read-only rows (a Core select: they are only shown)."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    query = sa.select(*Member.__table__.columns).where(Member.id.in_(ids))
    ctx.session.flush()  # a Core select does not autoflush
    return {m.id: m for m in ctx.session.execute(query)}


def card_message(ctx: Ctx, deal) -> Message:
    data = deal_reads.card(session=ctx.session, workspace=ctx.workspace, deal=deal, now=ctx.now())
    return dv.card(data, ctx.workspace, ctx.workspace.locale)


def home_of(deal) -> tuple[str, str] | None:
    """The deal's card (channel, ts), when it has one."""
    return (deal.thread_channel, deal.thread_ts) if deal.thread_ts else None


def card_channel(ctx: Ctx) -> str | None:
    """Where a deal's card goes: the deals channel, else the channel the command came from."""
    return ctx.workspace.deals_channel or ctx.channel_id


def thread_post(ctx: Ctx, deal, line: str) -> Post:
    """A reply in the deal's thread (carrying the card, should the deal still have none)."""
    return Post(
        PostKind.thread,
        Message(text=line),
        deal_id=deal.id,
        channel=card_channel(ctx),
        home=home_of(deal),
        card=None if home_of(deal) else card_message(ctx, deal),
    )


def announce(ctx: Ctx, change: deals.Change, *, new: bool = False) -> Outcome:
    """A change is confirmed to the actor and told to the team: the card and its thread."""
    ws_locale = ctx.workspace.locale
    extra = {}
    if change.kind == "updated":
        fields = change.params["fields"]
        extra = members_by_id(ctx, [v for v in fields.get("owner", ())])
        company_ids = [v for v in fields.get("company", ()) if v]
        for company_id in company_ids:
            extra[("company", company_id)] = ctx.session.get(Company, company_id).name
    deal = change.deal
    card = Post(
        PostKind.card if new else PostKind.card_update,
        card_message(ctx, deal),
        deal_id=deal.id,
        channel=card_channel(ctx),
        home=home_of(deal),
    )
    posts = [card]
    if not new:
        line = dv.change_text(change, ws_locale, extra)
        posts.append(
            Post(
                PostKind.thread,
                Message(text=line),
                deal_id=deal.id,
                channel=card_channel(ctx),
                home=home_of(deal),
            )
        )
    mine = dv.change_text(change, ctx.locale, extra)
    return Outcome(reply=Message(text=mine), posts=tuple(posts))


@handles(c.DealNew)
def new(cmd: c.DealNew, ctx: Ctx) -> Outcome:
    from commands.handlers import fields  # custom fields (issue 15)

    if cmd.title is None:
        return Outcome(modal=fields.with_inputs(ctx, modals.deal_new(ctx)))
    custom = fields.read_values(ctx, "deals", None, cmd.custom)  # checked before anything
    change = deals.create_deal(
        session=ctx.session,
        workspace=ctx.workspace,
        actor=ctx.member,
        title=cmd.title,
        now=ctx.now(),
        amount=cmd.amount.value if cmd.amount else None,
        currency=cmd.amount.currency if cmd.amount else None,
        pipeline_name=cmd.pipeline,
        stage_text=cmd.stage.text if cmd.stage else None,
        close=cmd.close,
        owner=resolve_user(ctx, cmd.owner),
        company_name=cmd.company,
        contact_name=cmd.contact,
    )
    fields.set_new(ctx, change.deal, custom)
    similar = duplicates.similar_deals(session=ctx.session, deal=change.deal)
    duplicates.refuse_exact_repeat(deal=change.deal, similar=similar, now=ctx.now())
    outcome = announce(ctx, change, new=True)
    reply = read_back(outcome.reply, ctx, cmd.amount, "deal.read_back")
    return replace(
        outcome, reply=cv.with_warnings(reply, new_deal_warnings(ctx, change.deal, similar))
    )


def new_deal_warnings(ctx: Ctx, deal, similar) -> list[str]:
    """Questions about a new deal (issue 13): a close date in the past, a likely duplicate."""
    warnings = []
    if deal.expected_close is not None and deal.expected_close < ctx.today():
        warnings.append(cv.past_close(deal.number, deal.expected_close, ctx.locale))
    if similar:
        warnings.append(t(ctx.locale, "sales.duplicate.deal", refs=cv.refs(similar, "D")))
    return warnings


# /deal move, won and lost (and reopen) ask before they close or reopen a deal:
# commands/handlers/closing.py.


@handles(c.DealSet)
def set_(cmd: c.DealSet, ctx: Ctx) -> Outcome:
    if cmd.custom:  # custom fields (issue 15): commands/handlers/fields.py
        from commands.handlers.fields import set_deal

        return set_deal(cmd, ctx)
    deal = resolve_deal(ctx, cmd.deal)
    change = deals.set_fields(
        session=ctx.session,
        actor=ctx.member,
        deal=deal,
        now=ctx.now(),
        amount=cmd.amount.value if cmd.amount else None,
        currency=cmd.amount.currency if cmd.amount else None,
        switch_to=cmd.currency,
        close=cmd.close,
        owner=resolve_user(ctx, cmd.owner),
        title=cmd.title,
        company_name=cmd.company,
    )
    outcome = announce(ctx, change)
    return replace(outcome, reply=read_back(outcome.reply, ctx, cmd.amount, "deal.read_back"))


@handles(c.DealRenewal)
def renewal(cmd: c.DealRenewal, ctx: Ctx) -> Outcome:
    deal = resolve_deal(ctx, cmd.deal)
    change = deals.set_renewal(
        session=ctx.session,
        actor=ctx.member,
        deal=deal,
        now=ctx.now(),
        renewal_date=getattr(cmd, "date", None),
        mrr=cmd.mrr.value if cmd.mrr else None,
        mrr_currency=cmd.mrr.currency if cmd.mrr else None,
    )
    outcome = announce(ctx, change)
    return replace(outcome, reply=read_back(outcome.reply, ctx, cmd.mrr, "deal.read_back"))


@handles(c.DealNote)
def note(cmd: c.DealNote, ctx: Ctx) -> Outcome:
    deal = resolve_deal(ctx, cmd.deal)
    change = deals.add_note(
        session=ctx.session, actor=ctx.member, deal=deal, text=cmd.text, now=ctx.now()
    )
    line = dv.change_text(change, ctx.workspace.locale, {})
    return Outcome(
        reply=Message(text=dv.change_text(change, ctx.locale, {})),
        posts=(thread_post(ctx, change.deal, line),),
    )


@handles(c.DealSnooze)
def snooze(cmd: c.DealSnooze, ctx: Ctx) -> Outcome:
    deal = resolve_deal(ctx, cmd.deal)
    change = deals.snooze(
        session=ctx.session,
        actor=ctx.member,
        deal=deal,
        until=cmd.until,
        today=ctx.today(),
        now=ctx.now(),
    )
    return announce(ctx, change)


@handles(c.DealShow)
def show(cmd: c.DealShow, ctx: Ctx) -> Outcome:
    number = cmd.deal.number  # by title: find it first (a prefix may be ambiguous)
    if number is None:
        number = resolve_deal(ctx, cmd.deal).number
    page = deal_page(session=ctx.session, workspace=ctx.workspace, number=number, now=ctx.now())
    data = page.card
    message = dv.deal_details(
        data,
        page.activities,
        page.authors,
        ctx.workspace,
        ctx.locale,
        page.permalink,  # stored when the card was posted: the reply rides in the ack
        page.tasks,
        ctx.now(),
    )
    links = companies_view.related(data.row.company_name, page.contact, ctx.locale)
    if links is not None:  # issue 15: the deal links its company and contact
        message.blocks.insert(len(message.blocks) - 1, links)
    return Outcome(reply=message)


@handles(c.DealList)
def list_(cmd: c.DealList, ctx: Ctx) -> Outcome:
    owner = ctx.member if cmd.mine else resolve_user(ctx, cmd.owner)
    pipeline = (
        find_pipeline(session=ctx.session, workspace_id=ctx.workspace.id, name=cmd.pipeline)
        if cmd.pipeline or cmd.stage
        else None
    )
    stage = None
    if cmd.stage is not None:
        stage = match_stage(stages_of(session=ctx.session, pipeline_id=pipeline.id), cmd.stage.text)
    extra = ()
    if cmd.custom:  # custom-field filters (issue 15): commands/handlers/fields.py
        from commands.handlers import fields

        extra = tuple(fields.filters(ctx, "deals", cmd.custom, Deal.id))
    page = deal_reads.list_deals(
        session=ctx.session,
        workspace=ctx.workspace,
        now=ctx.now(),
        owner_id=owner.id if owner else None,
        pipeline_id=pipeline.id if pipeline else None,
        stage_id=stage.id if stage else None,
        stalled=cmd.stalled,
        offset=cmd.offset,
        close=deal_reads.close_range(cmd.close, ctx.today()) if cmd.close else None,
        sort=cmd.sort,
        extra=extra,
    )
    parts = []
    if owner:
        parts.append(dv.who(owner))
    if pipeline:
        parts.append(pipeline.name)
    if stage:
        parts.append(stage.name)
    if cmd.stalled:
        parts.append(t(ctx.locale, "deal.filter_stalled"))
    if cmd.close:
        parts.append(t(ctx.locale, f"sales.list.close_{cmd.close.replace('-', '_')}"))
    if cmd.sort:
        parts.append(t(ctx.locale, f"sales.list.sort_{cmd.sort}"))
    parts.extend(f"{key}{op}{raw}" for key, op, raw in cmd.custom)
    title = " · ".join(parts) or t(ctx.locale, "deal.filter_all")
    message = dv.deal_list(page, title, ctx.workspace, ctx.locale, pager=list_text(cmd))
    return Outcome(reply=message)


def list_text(cmd: c.DealList) -> str:
    """The ``/deal list`` text that lists ``cmd`` again (the page buttons re-run it)."""
    words = []
    if cmd.mine:
        words.append("mine")
    if cmd.owner is not None:
        who = f"<@{cmd.owner.slack_id}>" if cmd.owner.slack_id else f"@{cmd.owner.name}"
        words.append(f"owner:{who}")
    if cmd.pipeline:
        words.append(f"pipeline:{_quoted(cmd.pipeline)}")
    if cmd.stage is not None:
        words.append(f"stage:{_quoted(cmd.stage.text)}")
    if cmd.stalled:
        words.append("stalled")
    if cmd.close:
        words.append(f"close:{cmd.close}")
    if cmd.sort:
        words.append(f"sort:{cmd.sort}")
    words.extend(f"{key}{op}{_quoted(raw)}" for key, op, raw in cmd.custom)
    return " ".join(words)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


@handles(c.DealFind)
def find(cmd: c.DealFind, ctx: Ctx) -> Outcome:
    rows = deal_reads.find_deals(
        session=ctx.session, workspace=ctx.workspace, query=cmd.query, now=ctx.now()
    )
    tally = money.tally(session=ctx.session, workspace_id=ctx.workspace.id)
    total = sum((tally.amount(r.amount, r.currency, 1, "listed") for r in rows), Decimal(0))
    page = deal_reads.DealPage(rows, len(rows), total, tally.note())
    title = t(ctx.locale, "deal.find_title", query=cmd.query)
    empty = t(ctx.locale, "deal.find_empty", query=cmd.query)
    return Outcome(reply=dv.deal_list(page, title, ctx.workspace, ctx.locale, empty))
