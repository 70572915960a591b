"""Inbound leads (docs/inbound.md): ``/pipeline inbound``, the leads-channel buttons, and
the post a new inbound lead makes — recorded in the outbox in the transaction that stores
the lead (:func:`receive`), so a retry, a restart or a second replica posts it once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from commands import types as c
from commands.context import Ctx
from commands.handlers import handles
from commands.outcome import Outcome
from domain import inbound, workspaces
from domain import inbound_touch as touches
from domain.refs import find_member
from domain.settings import _clean_channel
from storage import outbox
from storage.models import InboundLead, Workspace
from views import inbound as views
from views.message import Message


@handles(c.PipelineInbound)
def settings(cmd: c.PipelineInbound, ctx: Ctx) -> Outcome:
    workspaces.require_admin(ctx.member)
    now = ctx.now()
    common = {"session": ctx.session, "workspace": ctx.workspace, "actor": ctx.member, "now": now}
    if cmd.rotate:
        source, secret = inbound.rotate(**common)
    else:
        source, secret = inbound.enable(**common)
    if cmd.channel is not None or cmd.round_robin is not None:
        channel = None if cmd.channel is None else (_clean_channel(cmd.channel) or "")
        source = inbound.configure(**common, channel=channel, round_robin=cmd.round_robin)
    return Outcome(reply=setup_message(ctx, source, secret))


def setup_message(ctx: Ctx, source, secret: str | None) -> Message:
    return views.setup(
        key=source.key,
        public_url=ctx.public_url,
        channel=inbound.channel_of(source, ctx.workspace),
        round_robin=source.round_robin,
        secret=secret,
        locale=ctx.locale,
    )


def rotate(ctx: Ctx) -> Outcome:
    """The "Rotate secret" button: the new secret, to the admin alone, once."""
    _, secret = inbound.rotate(
        session=ctx.session, workspace=ctx.workspace, actor=ctx.member, now=ctx.now()
    )
    return Outcome(reply=views.rotated(secret, ctx.locale))


def receive(
    *, session: Session, source_id: int, submission: inbound.Submission, now: datetime
) -> inbound.Accepted:
    """Store a submission and, when it made a lead, record its post in the leads channel."""
    accepted = inbound.submit(session=session, source_id=source_id, submission=submission, now=now)
    if accepted.created:
        workspace = session.get(Workspace, accepted.lead.workspace_id)
        source = inbound.source_of(session=session, workspace_id=workspace.id)
        channel = inbound.channel_of(source, workspace)
        if channel:
            message = _message(session, workspace, accepted.inbound)
            outbox.enqueue(
                session,
                workspace_id=workspace.id,
                job=inbound.JOB,
                target=f"l{accepted.lead.id}",
                period="new",
                payload={
                    "kind": "channel",
                    "to": {"channel": channel},
                    "message": {"text": message.text, "blocks": message.blocks},
                },
                now=now,
            )
    return accepted


def _message(session: Session, workspace: Workspace, row: InboundLead) -> Message:
    view = touches.view_of(session=session, inbound=row)
    return views.lead_message(view, locale=workspace.locale, tz=workspace.timezone)


def touch(ctx: Ctx, verb: str, lead_id: int, slack_user: str | None = None) -> Outcome:
    """Claim, Assign or Disqualify from the lead's message: the change, the message updated
    in place (through the outbox, after the post itself), and a word to the clicker."""
    row = touches.inbound_of(session=ctx.session, workspace_id=ctx.workspace.id, lead_id=lead_id)
    common = {"session": ctx.session, "inbound": row, "actor": ctx.member, "now": ctx.now()}
    params: dict = {}
    if verb == "claim":
        activity = touches.claim(**common)
    elif verb == "assign":
        member = find_member(
            session=ctx.session, workspace_id=ctx.workspace.id, slack_id=slack_user
        )
        activity = touches.assign(**common, member=member)
        params["user"] = f"<@{member.slack_user_id}>"
    else:
        activity = touches.disqualify(**common)
    view = touches.view_of(session=ctx.session, inbound=row)
    message = views.lead_message(view, locale=ctx.workspace.locale, tz=ctx.workspace.timezone)
    if outbox.get_by_key(ctx.session, row.post_key) is not None:  # posted (or to be)
        outbox.enqueue(
            ctx.session,
            workspace_id=ctx.workspace.id,
            job=inbound.JOB,
            target=f"l{lead_id}",
            period=f"a{activity}",
            payload={
                "kind": "update",
                "update_of": row.post_key,
                "message": {"text": message.text, "blocks": message.blocks},
            },
            now=ctx.now(),
        )
    return Outcome(reply=views.done(f"inbound.done.{verb}", view, ctx.locale, **params))
