"""What every listener needs, resolved once per request.

The middleware makes sure the workspace and the acting member exist (first contact creates
them: the workspace with its default pipelines, the member with the role PRODUCT.md §3 gives,
their name and locale from ``users.info``) and puts their ids and locale into Bolt's context.
Listeners then open one unit of work with :meth:`Deps.acting`, which yields the same
:class:`commands.context.Ctx` the console uses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.settings import Settings
from commands.context import Ctx
from domain.clock import Clock, SystemClock
from domain.workspaces import get_or_create_member, get_or_create_workspace
from storage.db import session_scope
from storage.models import Member, Workspace

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    engine: object
    clock: Clock = field(default_factory=SystemClock)

    @contextmanager
    def acting(self, context, *, channel: str | None = None) -> Iterator[Ctx]:
        with session_scope(self.engine) as session:
            workspace = session.get(Workspace, context["salesbot_workspace_id"])
            member = session.get(Member, context["salesbot_member_id"])
            yield Ctx(session, workspace, member, clock=self.clock, channel_id=channel)


def _team_id(body: dict) -> str | None:
    team = body.get("team")
    return (
        body.get("team_id")
        or (team.get("id") if isinstance(team, dict) else None)
        or (body.get("user") or {}).get("team_id")
    )


def _user_id(body: dict) -> str | None:
    event = body.get("event") or {}
    if body.get("type") == "event_callback":
        return event.get("user") if isinstance(event.get("user"), str) else None
    user = body.get("user")
    return body.get("user_id") or (user.get("id") if isinstance(user, dict) else None)


def _profile(client, user_id: str) -> dict:
    """Name, locale and admin flag from Slack; empty when Slack cannot tell us."""
    try:
        user = client.users_info(user=user_id, include_locale=True)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        return {}
    return {
        "name": user.get("real_name") or user.get("name") or user_id,
        "locale": user.get("locale"),
        "is_admin": bool(user.get("is_admin") or user.get("is_owner")),
    }


def resolve_context(deps: Deps):
    """Bolt middleware: ensure workspace and member, once per request."""

    def middleware(body, context, client, next):
        team_id = _team_id(body) or context.get("team_id")
        user_id = _user_id(body) or context.get("user_id")
        if team_id:
            with session_scope(deps.engine) as session:
                ws = get_or_create_workspace(
                    session=session, team_id=team_id, defaults=deps.settings.defaults
                )
                context["salesbot_workspace_id"] = ws.id
                context["salesbot_locale"] = ws.locale
                if user_id:
                    member = session.exec(
                        select(Member).where(
                            Member.workspace_id == ws.id, Member.slack_user_id == user_id
                        )
                    ).first()
                    if member is None:
                        profile = _profile(client, user_id)
                        created = get_or_create_member(
                            session=session,
                            workspace=ws,
                            slack_user_id=user_id,
                            name=profile.get("name", ""),
                            is_workspace_admin=profile.get("is_admin", False),
                            locale=profile.get("locale"),
                        )
                        context["salesbot_member_id"] = created.id
                        context["salesbot_locale"] = created.locale or ws.locale
                    else:
                        context["salesbot_member_id"] = member.id
                        context["salesbot_locale"] = member.locale or ws.locale
        next()

    return middleware
