"""/pipeline new | edit | settings | role: the admin side."""

from __future__ import annotations

from sqlmodel import select

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.deals import resolve_user
from commands.outcome import Outcome
from domain import money, workspaces
from domain import settings as domain_settings
from domain.refs import find_pipeline, stages_of
from i18n import t
from storage.models import Member, Role
from views import blocks as b
from views import import_modals, modals
from views import money as money_view
from views import settings as settings_view
from views.deals import who
from views.message import Message


@handles(c.PipelineNew)
def new(cmd: c.PipelineNew, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    return Outcome(modal=modals.pipeline_edit(ctx.locale))


@handles(c.PipelineEdit)
def edit(cmd: c.PipelineEdit, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    pipeline = find_pipeline(session=ctx.session, workspace_id=ctx.workspace.id, name=cmd.name)
    stages = stages_of(session=ctx.session, pipeline_id=pipeline.id)
    return Outcome(modal=modals.pipeline_edit(ctx.locale, pipeline, stages))


@handles(c.PipelineImport)
def import_file(cmd: c.PipelineImport, ctx: Ctx) -> Outcome:
    """Admins bring a team's data in: the file modal (bot.listeners.imports does the rest)."""
    workspaces.require_admin(ctx.member)
    return Outcome(modal=import_modals.upload(ctx.locale, ctx.channel_id))


def role_members(ctx: Ctx, role: Role) -> list[str]:
    return list(
        ctx.session.exec(
            select(Member.slack_user_id).where(
                Member.workspace_id == ctx.workspace.id, Member.role == role
            )
        )
    )


@handles(c.PipelineSettings)
def settings(cmd: c.PipelineSettings, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    if cmd.rate is not None:
        return _set_rate(cmd.rate, ctx)
    if cmd.changes:
        return change_settings(cmd, ctx)
    conversion = money.conversion(session=ctx.session, workspace_id=ctx.workspace.id)
    view = modals.settings(
        ctx,
        role_members(ctx, Role.manager),
        role_members(ctx, Role.admin),
        rates=money_view.rates_line(conversion, ctx.locale),
    )
    return Outcome(modal=view)


def change_settings(cmd: c.PipelineSettings, ctx: Ctx) -> Outcome:
    """``/pipeline settings language:en timezone:America/New_York``; the reply is in the
    language the workspace speaks now (switching to English answers in English)."""
    changed = domain_settings.change_settings(
        session=ctx.session, actor=ctx.member, workspace=ctx.workspace, changes=list(cmd.changes)
    )
    locale = workspaces.member_locale(ctx.member, ctx.workspace)
    return Outcome(reply=Message(text=settings_view.changed(changed, locale)))


@handles(c.Role)
def role(cmd: c.Role, ctx: Ctx) -> Outcome:
    member = resolve_user(ctx, cmd.user)
    workspaces.set_role(session=ctx.session, actor=ctx.member, member=member, role=cmd.role)
    text = t(
        ctx.locale,
        "workspace.role_set",
        user=who(member),
        role=t(ctx.locale, f"workspace.role.{member.role}"),
    )
    return Outcome(reply=Message(text=text))


def _set_rate(rate: tuple, ctx: Ctx) -> Outcome:
    """``/pipeline settings rate:USD=1380`` (issue 13): the reply lists every rate."""
    currency, value = rate
    conversion = money.set_rates(
        session=ctx.session, workspace=ctx.workspace, actor=ctx.member, rates=[rate], now=ctx.now()
    )
    if value is None:
        first = t(ctx.locale, "money.rate_removed", currency=currency)
    else:
        shown = money_view.rate_text(currency, value, conversion.base, ctx.locale)
        first = t(ctx.locale, "money.rate_set", rate=shown, currency=currency)
    text = f"{first}\n{money_view.rates_line(conversion, ctx.locale)}"
    return Outcome(reply=Message(text=text, blocks=[b.section(text)]))
