"""``/lead set L7 title:CTO size:120 industry:제조`` (issue 15): built-in and custom fields of
a lead, read and checked before anything is written (domain.lead_edits), the lead rescored."""

from __future__ import annotations

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.handlers.fields import read_values
from commands.handlers.leads import resolve_lead
from commands.outcome import Outcome
from domain import lead_edits
from domain.errors import InvalidInput
from i18n import fmt, t
from storage.models import Lead
from views import fields as fv
from views.message import Message


@handles(c.LeadSet)
def set_(cmd: c.LeadSet, ctx: Ctx) -> Outcome:
    lead = resolve_lead(ctx, cmd.lead)
    try:
        values = read_values(ctx, "leads", None, cmd.custom)
    except InvalidInput as err:
        if err.key == "field.unknown_key":  # the built-in keys of a lead, not a deal's
            raise InvalidInput("leadset.unknown_key", **err.params) from None
        raise
    built_in = {
        "name": cmd.name,
        "email": cmd.email,
        "source": cmd.source,
        "company_size": cmd.size,
        "job_title": cmd.title,
    }
    plain, custom = lead_edits.set_fields(
        session=ctx.session, workspace=ctx.workspace, actor=ctx.member, lead=lead,
        now=ctx.now(), built_in=built_in, values=values,
    )  # fmt: skip
    return Outcome(reply=Message(text=changes_text(ctx, lead, plain, custom)))


def changes_text(ctx: Ctx, lead: Lead, plain, custom) -> str:
    """ "@kim updated L7: Job title — → CTO; Industry — → 제조." and the score now."""
    loc = ctx.locale
    parts = [
        t(loc, "field.change", name=t(loc, f"leadset.name.{column}"),
          old=_shown(old), new=_shown(new))
        for column, old, new in plain
    ]  # fmt: skip
    parts += fv.change_parts(custom, loc)
    line = t(loc, "field.updated", actor=f"<@{ctx.member.slack_user_id}>",
             ref=f"L{lead.number}", changes="; ".join(parts))  # fmt: skip
    ctx.session.refresh(lead)
    return f"{line}\n{t(loc, 'leadset.score', score=lead.score)}"


def _shown(value) -> str:
    return fmt.EMPTY if value in (None, "") else str(value)
