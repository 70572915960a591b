"""/company, /person, and the exports of /deal and /lead (issue 15, points 5 and 6)."""

from __future__ import annotations

from itertools import islice

from commands import types as c
from commands.cells import write_table
from commands.context import Ctx
from commands.exporting import deal_filters_of, lead_filters_of
from commands.handlers import handles
from commands.handlers.deals import members_by_id
from commands.handlers.fields import with_custom_fields
from commands.outcome import Outcome, Upload
from domain import companies, custom_fields, exports
from domain.errors import InvalidInput
from i18n import fmt, t
from views import companies as cv
from views.message import Message

# The most rows ``/deal export`` and ``/lead export`` put in one file. The file rides in the
# outbox row that sends it to the DM (base64 in its payload): 50,000 deals are about 10 MB of
# CSV. Past that, narrow the filters, or an admin runs ``salesbot export`` (a file on disk).
EXPORT_MAX_ROWS = 50_000


@handles(c.CompanyShow)
def company_show(cmd: c.CompanyShow, ctx: Ctx) -> Outcome:
    company = companies.find_company(
        session=ctx.session, workspace_id=ctx.workspace.id, text=cmd.query
    )
    view = companies.company_view(session=ctx.session, company=company)
    members = members_by_id(ctx, [a.author_id for a, _ in view.activity])
    message = cv.company_details(view, ctx.workspace, members, ctx.locale)
    return Outcome(reply=with_custom_fields(ctx, message, "companies", company.id))


@handles(c.CompanyFind)
def company_find(cmd: c.CompanyFind, ctx: Ctx) -> Outcome:
    rows = companies.find_companies(
        session=ctx.session, workspace_id=ctx.workspace.id, query=cmd.query
    )
    return Outcome(reply=cv.company_list(rows, cmd.query, ctx.locale))


@handles(c.PersonShow)
def person_show(cmd: c.PersonShow, ctx: Ctx) -> Outcome:
    person = companies.find_person(
        session=ctx.session, workspace_id=ctx.workspace.id, text=cmd.query
    )
    message = cv.person_details(
        companies.person_view(session=ctx.session, person=person), ctx.locale
    )
    return Outcome(reply=with_custom_fields(ctx, message, "people", person.id))


def _export(ctx: Ctx, entity: str, where: list) -> Outcome:
    custom = custom_fields.fields(session=ctx.session, workspace_id=ctx.workspace.id, entity=entity)
    rows = list(
        islice(
            exports.rows(
                session=ctx.session,
                workspace_id=ctx.workspace.id,
                entity=entity,
                where=where,
                custom=custom,
            ),
            EXPORT_MAX_ROWS + 1,
        )
    )
    if len(rows) > EXPORT_MAX_ROWS:
        raise InvalidInput(
            f"export.too_many_{entity}",
            limit=fmt.number(EXPORT_MAX_ROWS, ctx.locale),
            team=ctx.workspace.team_id,
        )
    data = write_table(exports.headers(entity, custom), rows, "csv")
    day = ctx.today().isoformat()
    filename = f"{entity}-{day}.csv"
    title = t(ctx.locale, f"export.title_{entity}", count=len(rows))
    text = t(ctx.locale, "export.sent", count=len(rows), filename=filename)
    upload = Upload(filename, title, None, ctx.member.slack_user_id, content=data)
    return Outcome(reply=Message(text=text), uploads=(upload,))


@handles(c.DealExport)
def deal_export(cmd: c.DealExport, ctx: Ctx) -> Outcome:
    where = deal_filters_of(
        session=ctx.session,
        workspace=ctx.workspace,
        actor=ctx.member,
        cmd=cmd.filters,
        now=ctx.now(),
    )
    return _export(ctx, "deals", where)


@handles(c.LeadExport)
def lead_export(cmd: c.LeadExport, ctx: Ctx) -> Outcome:
    where = lead_filters_of(
        session=ctx.session, workspace=ctx.workspace, actor=ctx.member, cmd=cmd.filters
    )
    return _export(ctx, "leads", where)
