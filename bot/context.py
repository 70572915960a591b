"""What every listener needs, resolved once per request.

The middleware makes sure the workspace and the acting member exist (first contact creates
them: the workspace with its default pipelines, the member with the role docs/commands.md gives,
their name and locale from ``users.info``) and puts their ids, locale and timezone into
Bolt's context. Who someone is rarely changes, so the answer, with a copy of both rows, is
kept per process: each request reads the workspace's ``config_version`` (one indexed
integer, storage.config_version) and trusts the copy while it matches, so a settings or role
change made by any process is seen by the next request; after :data:`KNOWN_FOR` the copy is
read again regardless. Listeners then run one unit of work with :meth:`Deps.perform`: the
same :class:`commands.context.Ctx` the console uses, on the session's own copies of the rows
(``merge(load=False)``: no query), and the outcome's posts recorded in the outbox before the
transaction commits.

When the database cannot be reached, the middleware still knows (or guesses: the workspace
default) the person's language, so the one error path answers "can't reach the database"
in it (commands.failures).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from slack_bolt.middleware import Middleware
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from bot.budget import AckWatch
from bot.settings import Settings
from commands.context import Ctx
from commands.outcome import Outcome, Post, PostKind
from commands.record import record
from domain.clock import Clock, SystemClock
from domain.workspaces import get_or_create_member, get_or_create_workspace, member_locale
from storage.db import reader, session_scope
from storage.models import Member, Workspace
from storage.workspace_version import config_version
from views.message import Message

log = logging.getLogger(__name__)
KNOWN_FOR = 3600.0  # seconds a copy is trusted at most, even when its version matches


@dataclass(frozen=True)
class Known:
    workspace_id: int
    member_id: int | None
    locale: str
    timezone: str
    until: float
    version: int = -1  # the workspace's config_version the copies were read at
    workspace: Workspace | None = None  # detached copies: merged into each request's session
    member: Member | None = None


ARRIVED = "salesbot_arrived"  # context key: time.monotonic() when the request arrived


@dataclass
class Deps:
    settings: Settings
    engine: object
    clock: Clock = field(default_factory=SystemClock)
    # Sends the outbox: woken after every commit that recorded posts (scheduler.drain).
    drainer: object = None
    # OAuth mode: each workspace's bot token (bot.tokens.Tokens); None with SLACK_BOT_TOKEN.
    tokens: object = None
    # The app's one error handler (set by bot.app.create_app; bot.listeners.guarded).
    on_error: object = None
    # Read-only commands run in the listener's thread while fewer than 8 do, acked by
    # ack_watch if still running after ack_budget; the others run in ``readers`` so the
    # listener can ack within Slack's 3 seconds however long a report takes (see
    # bot.listeners.commands). Imports plan in ``readers`` too (bot.listeners.imports).
    inline_reads: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(8)
    )
    ack_watch: AckWatch = field(default_factory=AckWatch)
    readers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(8, thread_name_prefix="salesbot-read")
    )
    # Seconds from a request's arrival (bot.server stamps it) to the ack that says "crunching"
    # or "saving" if the answer is not ready: Slack waits 3 s in all, the HTTP way included.
    ack_budget: float = 2.0
    # /pipeline import runs here, after the ack (bot.importer); recorded in the database first.
    importer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="salesbot-import")
    )
    # The app's Web API clients, one per workspace (bot.clients.Clients; set by create_app).
    clients: object = None
    known: dict[tuple[str, str | None], Known] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # Per listener thread: a read-only session kept between requests (see _reading).
    reading: threading.local = field(default_factory=threading.local)

    def budget_left(self, context) -> float:
        """What is left of ``ack_budget`` for this request: counted from its arrival at the
        server, so a slow start (a loaded machine, the first request's imports) is in it."""
        arrived = context.get(ARRIVED)
        if arrived is None:  # Socket Mode: counted from here
            return self.ack_budget
        return self.ack_budget - (time.monotonic() - arrived)

    @contextmanager
    def acting(self, context, *, channel: str | None = None, readonly: bool = False):
        known = context.get("salesbot_known")
        here = self.reading
        if readonly and known is not None and known.workspace is not None and not _busy(here):
            with _reading(self.engine, here, known) as (session, workspace, member):
                yield Ctx(
                    session,
                    workspace,
                    member,
                    clock=self.clock,
                    channel_id=channel,
                    public_url=self.settings.public_url,
                )
            return
        with session_scope(self.engine, readonly=readonly) as session:
            if known is not None and known.workspace is not None:
                workspace = session.merge(known.workspace, load=False)
                member = known.member and session.merge(known.member, load=False)
            else:
                workspace = session.get(Workspace, context["salesbot_workspace_id"])
                member = session.get(Member, context["salesbot_member_id"])
            yield Ctx(
                session,
                workspace,
                member,
                clock=self.clock,
                channel_id=channel,
                public_url=self.settings.public_url,
            )

    def perform(self, context, request, work, *, readonly: bool = False) -> Outcome:
        """One unit of work: ``work(ctx) -> Outcome``, its posts recorded in the outbox in the
        same transaction (and its reply too, as a DM, when ``request`` can only be answered
        that way). A read-only unit of work records in a short transaction of its own after
        it (on SQLite a read transaction cannot take the write lock safely)."""
        dm_to = request.user_id if request.replies_by_dm else None
        with self.acting(context, channel=request.channel_id, readonly=readonly) as ctx:
            outcome = work(ctx)
            reply_to = dm_to if outcome.modal is None else None
            if not readonly:
                record(
                    ctx.session,
                    workspace_id=ctx.workspace.id,
                    outcome=outcome,
                    now=ctx.now(),
                    reply_to=reply_to,
                )
                return outcome
            workspace_id, now = ctx.workspace.id, ctx.now()
        if outcome.has_posts or (reply_to and outcome.reply is not None):
            with session_scope(self.engine) as session:
                record(
                    session, workspace_id=workspace_id, outcome=outcome, now=now, reply_to=reply_to
                )
        return outcome

    def perform_in_budget(
        self, context, request, work, *, late: Callable[[], None], readonly: bool = False
    ) -> Outcome:
        """:meth:`perform`, with ``late()`` called (the ack: "saving", "crunching", the
        modal closed) if it still runs when this request's budget is spent."""
        with self.ack_watch.watch(self.budget_left(context), late):
            return self.perform(context, request, work, readonly=readonly)

    def dm(self, context, user_id: str, message: Message) -> None:
        """A message to ``user_id``'s DM through the outbox (an answer with nowhere else to
        go); best effort when even the database is out of reach."""
        workspace_id = context.get("salesbot_workspace_id")
        if workspace_id is None:
            log.warning("no workspace to DM %s from: %s", user_id, message.text[:200])
            return
        try:
            with session_scope(self.engine) as session:
                record(
                    session,
                    workspace_id=workspace_id,
                    outcome=Outcome(posts=(Post(PostKind.dm, message, user=user_id),)),
                    now=self.clock.now(),
                )
        except Exception:
            log.exception("could not record a DM to %s", user_id)
            return
        self.wake()

    def wake(self) -> None:
        if self.drainer is not None:
            self.drainer.wake()

    def today(self, context) -> date:
        return self.clock.now().astimezone(ZoneInfo(context["salesbot_timezone"])).date()

    def forget(self, team_id: str) -> None:
        with self.lock:
            for key in [k for k in self.known if k[0] == team_id]:
                del self.known[key]
        if self.clients is not None:
            self.clients.forget(team_id)


def _busy(here: threading.local) -> bool:
    return getattr(here, "busy", False)


@contextmanager
def _reading(engine, here: threading.local, known: Known):
    """A read-only unit of work on this thread's kept session (issue 17: a new ``Session``
    and two ``merge`` per request were a quarter of a bare Bolt app's whole request).

    The session holds the workspace and member copies of ``known`` between requests and
    nothing else: after each unit of work everything it loaded is expunged (the next
    request's queries must not meet last request's objects in the identity map), its
    ``info`` is cleared, and its connection went back to the pool with the commit. The
    models have no relationships, so the two copies hold columns only. A new ``Known`` (its
    ``config_version`` moved, or its hour ran out) replaces them; an error drops the session
    (its rollback expired the copies). Commits like ``session_scope(readonly=True)``.
    """
    session = getattr(here, "session", None)
    if session is None or here.known is not known:
        if session is not None:
            session.close()
        session = here.session = Session(reader(engine), expire_on_commit=False)
        here.workspace = session.merge(known.workspace, load=False)
        here.member = known.member and session.merge(known.member, load=False)
        here.known = known
    here.busy = True
    try:
        yield session, here.workspace, here.member
        if _begun(session):
            session.commit()
    except BaseException:
        here.session = here.known = None
        try:
            session.rollback()
        finally:
            session.close()
        raise
    finally:
        here.busy = False
    keep = (here.workspace, here.member)
    for obj in list(session.identity_map.values()):
        if obj is not keep[0] and obj is not keep[1]:
            session.expunge(obj)
    session.info.clear()


def _begun(session: Session) -> bool:
    """Whether a unit of work on the kept session began anything to commit: a work that
    read nothing (``/deal help``) left no transaction, and committing would begin and end
    an empty one (SQLAlchemy's transaction machinery: a tenth of that request's CPU)."""
    return session._transaction is not None or bool(
        session._new or session._deleted or session.identity_map._modified
    )


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
        "timezone": user.get("tz"),
        "is_admin": bool(user.get("is_admin") or user.get("is_owner")),
    }


def _lookup(deps: Deps, team_id: str, user_id: str | None) -> Known | None:
    """The cheap path: both already exist (a read-only transaction)."""
    with session_scope(deps.engine, readonly=True) as session:
        ws = session.exec(select(Workspace).where(Workspace.team_id == team_id)).first()
        if ws is None:
            return None
        member = None
        if user_id:
            member = session.exec(
                select(Member).where(Member.workspace_id == ws.id, Member.slack_user_id == user_id)
            ).first()
            if member is None:
                return None
        return _known(ws, member)


def _known(ws: Workspace, member: Member | None) -> Known:
    return Known(
        ws.id,
        member.id if member else None,
        member_locale(member, ws),
        ws.timezone,
        time.monotonic() + KNOWN_FOR,
        ws.config_version,
        ws,
        member,
    )


def _first_contact(deps: Deps, client, team_id: str, user_id: str | None) -> Known:
    profile = _profile(client, user_id) if user_id else {}
    with session_scope(deps.engine) as session:
        ws = get_or_create_workspace(
            session=session, team_id=team_id, defaults=deps.settings.defaults
        )
        member = None
        if user_id:
            member = get_or_create_member(
                session=session,
                workspace=ws,
                slack_user_id=user_id,
                name=profile.get("name", ""),
                is_workspace_admin=profile.get("is_admin", False),
                locale=profile.get("locale"),
                timezone=profile.get("timezone"),
            )
        created = _known(ws, member)
    # Copies as committed (creating them bumped the version past what these objects hold).
    return _lookup(deps, team_id, user_id) or created


def resolve_context(deps: Deps) -> Middleware:
    """Bolt middleware: ensure workspace and member, once per request."""
    return _ResolveContext(deps)


class _ResolveContext(Middleware):
    """A middleware object rather than a function: Bolt calls a function middleware with
    keyword arguments it builds per request by name, which cost more than our work when
    the copies are fresh (issue 17)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def process(self, *, req, resp, next):
        deps, body, context = self.deps, req.body, req.context
        team_id = _team_id(body) or context.get("team_id")
        user_id = _user_id(body) or context.get("user_id")
        # Before any query: the language to answer in if the database turns out unreachable.
        context["salesbot_locale"] = deps.settings.defaults.locale
        if team_id:
            key = (team_id, user_id)
            with deps.lock:
                known = deps.known.get(key)
            if known is not None:
                context["salesbot_locale"] = known.locale
            fresh = known is not None and known.until >= time.monotonic()
            if not fresh or known.version != config_version(deps.engine, team_id):
                known = _lookup(deps, team_id, user_id) or _first_contact(
                    deps, context.client, team_id, user_id
                )
                with deps.lock:
                    deps.known[key] = known
            context["salesbot_workspace_id"] = known.workspace_id
            context["salesbot_member_id"] = known.member_id
            context["salesbot_locale"] = known.locale
            context["salesbot_timezone"] = known.timezone
            context["salesbot_known"] = known
        next()
