"""Alerts routed, filtered, muted and batched (issue 16; docs/scheduled-posts.md "Alerts").

**Routes (admins).** ``/pipeline alert add won channel:#wins min:1억`` adds a rule: events of
one kind (:data:`EVENTS`) whose deal matches the filters — pipeline, stage, minimum amount,
owner or team — are posted to the channel. :func:`route` is the one function that, given an
event, names the channels; :func:`announce` records the posts in the outbox in the caller's
transaction, keyed by event and channel (``alert:<ws>:ch:<channel>:<kind>/<change>``), so a
retried request, a second replica or a second scheduler posts once, and two routes to one
channel post once. A minimum compares the deal's amount converted at the workspace rates
(domain.money) with the minimum converted the same way: ``min:1억`` takes a $100,000 deal at
₩1,380 to the dollar. A deal in a currency without a rate passes a minimum only in its own
currency.

**Preferences (each member, App Home).** A muted deal or pipeline sends its alert DMs to
nobody who muted it. A member who batches (hourly, daily) or is in their quiet hours gets no
DM at once: the DM is held as an ``alert_item`` (keyed by the outbox key it would have had:
once per alert) with the instant it may go (domain.alert_times), and the alert-digests job
sends the held items of one member and instant as one DM (:func:`claim_due`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from domain import alert_times
from domain.errors import InvalidInput, NotFound
from domain.money import Conversion, conversion
from domain.workspaces import member_locale, require_admin
from storage import outbox
from storage.models import (
    AlertItem,
    AlertMute,
    AlertPrefs,
    AlertRoute,
    Deal,
    Member,
    Pipeline,
    Stage,
    Workspace,
)

#: The events a route can take, in the order the modal lists them.
EVENTS = ("won", "lost", "moved", "created", "stalled", "renewal", "overdue")
JOB = "alert"  # the outbox job of routed channel posts
MAX_ROUTES = 50  # per workspace: the modal lists them all (two blocks each)
MAX_OWNERS = 20


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class DealFacts:
    """What an alert says about its deal, as plain values."""

    id: int
    number: int
    title: str
    amount: Decimal
    currency: str
    pipeline_id: int
    pipeline_name: str
    stage_id: int
    stage_name: str
    owner_id: int | None = None
    owner_slack_id: str | None = None
    permalink: str | None = None

    @classmethod
    def of_row(cls, row: Any) -> DealFacts:
        """From a :class:`domain.deal_reads.DealRow`."""
        return cls(
            row.id,
            row.number,
            row.title,
            row.amount,
            row.currency,
            row.pipeline_id,
            row.pipeline_name,
            row.stage_id,
            row.stage_name,
            row.owner_id,
            row.owner_slack_id,
        )


def deal_facts(*, session: Session, deal: Deal) -> DealFacts:
    pipeline = session.get(Pipeline, deal.pipeline_id)
    stage = session.get(Stage, deal.stage_id)
    owner = session.get(Member, deal.owner_id) if deal.owner_id else None
    return DealFacts(
        deal.id,
        deal.number,
        deal.title,
        deal.amount,
        deal.currency,
        deal.pipeline_id,
        pipeline.name if pipeline else "",
        deal.stage_id,
        stage.name if stage else "",
        deal.owner_id,
        owner.slack_user_id if owner else None,
        deal.thread_permalink,
    )


def deals_of(*, session: Session, ids: set[int | None]) -> dict[int, DealFacts]:
    """The facts of the deals ``ids`` (tasks' deals, for their alerts)."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = session.exec(select(Deal).where(Deal.id.in_(ids))).all()
    return {d.id: deal_facts(session=session, deal=d) for d in rows}


@dataclass(frozen=True)
class AlertEvent:
    """Something happened to a deal. ``change`` names the occurrence (``h<stage stay>``,
    ``d<deal>``, the stall episode, the renewal offset, the task's due time): once per change.
    ``source`` is the stage a move came from; ``text`` what a task said."""

    kind: str
    change: str
    deal: DealFacts
    source: str | None = None
    text: str | None = None


# ---------------------------------------------------------------- routing


def _owner_ids(route: AlertRoute) -> set[int]:
    return {int(p) for p in (route.owners or "").split(",") if p.isdigit()}


def _at_least(deal: DealFacts, route: AlertRoute, rates: Conversion) -> bool:
    """The deal's amount is at least the route's minimum, both at the workspace rates."""
    if route.min_amount is None:
        return True
    currency = (route.currency or rates.base).upper()
    if (deal.currency or rates.base).upper() == currency:
        return Decimal(deal.amount) >= Decimal(route.min_amount)
    amount = rates.to_base(deal.amount, deal.currency or rates.base)
    minimum = rates.to_base(route.min_amount, currency)
    return amount is not None and minimum is not None and amount >= minimum


def holds(route: AlertRoute, event: AlertEvent, rates: Conversion) -> bool:
    """Every filter of ``route`` holds for ``event``."""
    deal = event.deal
    if route.event != event.kind:
        return False
    if route.pipeline_id is not None and route.pipeline_id != deal.pipeline_id:
        return False
    if route.stage_id is not None and route.stage_id != deal.stage_id:
        return False
    owners = _owner_ids(route)
    if owners and deal.owner_id not in owners:
        return False
    return _at_least(deal, route, rates)


class Router:
    """The workspace's routes and rates, read once for a run of many events (``routes``:
    read already, by :func:`routers_of`)."""

    def __init__(
        self, session: Session, workspace: Workspace, routes: list[AlertRoute] | None = None
    ):
        self.workspace = workspace
        if routes is None:
            routes = workspace_routes(session=session, workspace_id=workspace.id)
        self.routes = routes
        self.kinds = {r.event for r in self.routes}
        self.rates = conversion(session=session, workspace_id=workspace.id) if self.routes else None

    def channels(self, event: AlertEvent) -> list[str]:
        if event.kind not in self.kinds:
            return []
        found = [r.channel for r in self.routes if holds(r, event, self.rates)]
        return list(dict.fromkeys(found))


def routers_of(session: Session, workspaces: list[Workspace]) -> dict[int, Router]:
    """The :class:`Router` of each of ``workspaces``, their routes read in one statement."""
    found: dict[int, list[AlertRoute]] = {ws.id: [] for ws in workspaces}
    if found:
        for r in session.exec(
            select(AlertRoute)
            .where(AlertRoute.workspace_id.in_(list(found)))
            .order_by(AlertRoute.workspace_id, AlertRoute.number)
        ):
            found[r.workspace_id].append(r)
    return {ws.id: Router(session, ws, found[ws.id]) for ws in workspaces}


def route(*, session: Session, workspace: Workspace, event: AlertEvent) -> list[str]:
    """The channels ``event`` goes to: every route of its kind whose filters hold, each
    channel once, in route order."""
    return Router(session, workspace).channels(event)


def routed_rows(router: Router, event: AlertEvent, *, skip: tuple[str | None, ...] = ()) -> list:
    """The routed posts of ``event`` as outbox rows ``(target, period, payload)``: one per
    channel, period ``<kind>/<change>`` (channels in ``skip`` already get the post)."""
    channels = [c for c in router.channels(event) if c not in skip]
    if not channels:
        return []
    from views.alerts import channel_alert  # the words of a post; no Slack here

    ws = router.workspace
    message = channel_alert(event, locale=ws.locale, currency=ws.currency)
    body = {"text": message.text, "blocks": message.blocks}
    period = f"{event.kind}/{event.change}"
    return [(f"ch:{c}", period, {"to": {"channel": c}, "message": body}) for c in channels]


def announce(
    *,
    session: Session,
    workspace: Workspace,
    event: AlertEvent,
    now: datetime,
    router: Router | None = None,
) -> int:
    """Record the routed posts of ``event`` in the outbox (in the caller's transaction);
    returns how many were new."""
    rows = routed_rows(router or Router(session, workspace), event)
    if not rows:
        return 0
    return len(outbox.enqueue_many(session, workspace_id=workspace.id, job=JOB, rows=rows, now=now))


def stage_entered(
    *, session: Session, deal: Deal, source: Stage | None, target: Stage, change: str, now: datetime
) -> None:
    """domain.automation's hook: a deal created (``created``), moved, won or lost."""
    workspace = session.get(Workspace, deal.workspace_id)
    router = Router(session, workspace)
    if not router.routes:
        return
    facts = deal_facts(session=session, deal=deal)
    if source is None:
        event = AlertEvent("created", f"d{deal.id}", facts)
    elif target.outcome == "won":
        event = AlertEvent("won", change, facts)
    elif target.outcome == "lost":
        event = AlertEvent("lost", change, facts)
    else:
        event = AlertEvent("moved", change, facts, source=source.name)
    announce(session=session, workspace=workspace, event=event, now=now, router=router)


# ---------------------------------------------------------------- editing routes


@dataclass(frozen=True)
class RouteSpec:
    """A route as written, names not yet looked up (``owners``: members already found)."""

    event: str
    channel: str
    pipeline: str | None = None
    stage: str | None = None
    min_amount: Decimal | None = None
    currency: str | None = None
    owners: tuple[Member, ...] = ()


def workspace_routes(*, session: Session, workspace_id: int) -> list[AlertRoute]:
    return list(
        session.exec(
            select(AlertRoute)
            .where(AlertRoute.workspace_id == workspace_id)
            .order_by(AlertRoute.number)
        )
    )


def add_route(
    *, session: Session, actor: Member, workspace: Workspace, spec: RouteSpec, now: datetime
) -> AlertRoute:
    """Admins only; everything is checked before the row is written."""
    from domain.refs import find_pipeline, match_stage, stages_of

    require_admin(actor)
    if spec.event not in EVENTS:
        raise InvalidInput("alert.bad_event", value=spec.event, events=", ".join(EVENTS))
    if len(spec.owners) > MAX_OWNERS:
        raise InvalidInput("alert.too_many_owners", limit=MAX_OWNERS)
    existing = workspace_routes(session=session, workspace_id=workspace.id)
    if len(existing) >= MAX_ROUTES:
        raise InvalidInput("alert.too_many_routes", limit=MAX_ROUTES)
    pipeline = stage = None
    if spec.pipeline is not None or spec.stage is not None:
        pipeline = find_pipeline(session=session, workspace_id=workspace.id, name=spec.pipeline)
    if spec.stage is not None:
        stage = match_stage(stages_of(session=session, pipeline_id=pipeline.id), spec.stage)
    row = AlertRoute(
        workspace_id=workspace.id,
        number=max((r.number for r in existing), default=0) + 1,
        event=spec.event,
        channel=spec.channel,
        pipeline_id=pipeline.id if spec.pipeline is not None and pipeline else None,
        stage_id=stage.id if stage else None,
        min_amount=spec.min_amount,
        currency=(spec.currency or workspace.currency) if spec.min_amount is not None else None,
        owners=",".join(str(m.id) for m in spec.owners),
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def remove_route(
    *, session: Session, actor: Member, workspace: Workspace, number: int
) -> AlertRoute:
    require_admin(actor)
    row = session.exec(
        select(AlertRoute).where(
            AlertRoute.workspace_id == workspace.id, AlertRoute.number == number
        )
    ).first()
    if row is None:
        raise NotFound("alert.route_not_found", number=number)
    session.delete(row)
    session.flush()
    return row


@dataclass(frozen=True)
class RouteRow:
    """A route with its ids turned into what a sentence shows."""

    number: int
    event: str
    channel: str
    pipeline: str | None
    stage: str | None
    min_amount: Decimal | None
    currency: str | None
    owners: tuple[str, ...]  # Slack user ids


def route_rows(*, session: Session, workspace: Workspace) -> list[RouteRow]:
    routes = workspace_routes(session=session, workspace_id=workspace.id)
    if not routes:
        return []

    def names(*columns, where) -> dict[int, str]:
        return dict(session.execute(sa.select(*columns).where(where)).all())

    pipelines = names(Pipeline.id, Pipeline.name, where=Pipeline.workspace_id == workspace.id)
    stages = names(Stage.id, Stage.name, where=Stage.workspace_id == workspace.id)
    members = names(Member.id, Member.slack_user_id, where=Member.workspace_id == workspace.id)
    return [
        RouteRow(
            r.number,
            r.event,
            r.channel,
            pipelines.get(r.pipeline_id) if r.pipeline_id else None,
            stages.get(r.stage_id) if r.stage_id else None,
            r.min_amount,
            r.currency,
            tuple(members[m] for m in sorted(_owner_ids(r)) if m in members),
        )
        for r in routes
    ]


# ---------------------------------------------------------------- members' preferences


def prefs_of(*, session: Session, member: Member) -> AlertPrefs:
    """The member's preferences (defaults when they never chose: no batching, no quiet)."""
    row = session.exec(select(AlertPrefs).where(AlertPrefs.member_id == member.id)).first()
    return row or AlertPrefs(workspace_id=member.workspace_id, member_id=member.id)


def set_batch(*, session: Session, member: Member, batch: str) -> AlertPrefs:
    if batch not in alert_times.BATCHES:
        raise InvalidInput("alert.bad_batch", value=batch)
    row = prefs_of(session=session, member=member)
    row.batch = batch
    session.add(row)
    session.flush()
    return row


def set_quiet(*, session: Session, member: Member, quiet: str | None) -> AlertPrefs:
    """``"20:00-08:00"``, or None for no quiet hours."""
    row = prefs_of(session=session, member=member)
    if quiet is None:
        row.quiet_start = row.quiet_end = None
    else:
        start, _, end = (alert_times.parse_hhmm(part) for part in quiet.partition("-"))
        if start is None or end is None:
            raise InvalidInput("alert.bad_quiet", value=quiet[:40])
        row.quiet_start, row.quiet_end = f"{start:%H:%M}", f"{end:%H:%M}"
    session.add(row)
    session.flush()
    return row


def muted(*, session: Session, member: Member) -> set[str]:
    """The member's mutes: ``d<deal id>`` and ``p<pipeline id>``."""
    return set(session.exec(select(AlertMute.subject).where(AlertMute.member_id == member.id)))


def set_muted(
    *, session: Session, member: Member, kind: str, ids: set[int], among: set[int] | None = None
) -> None:
    """Mute exactly ``ids`` of ``kind`` (``d`` deals, ``p`` pipelines); with ``among``, only
    those ids are touched (App Home lists the member's open deals, not every muted one)."""
    column = AlertMute.deal_id if kind == "d" else AlertMute.pipeline_id
    table = Deal if kind == "d" else Pipeline
    valid = (
        set(
            session.exec(
                select(table.id).where(table.workspace_id == member.workspace_id, table.id.in_(ids))
            )
        )
        if ids
        else set()
    )
    current = {
        row.subject: row
        for row in session.exec(
            select(AlertMute).where(AlertMute.member_id == member.id, column.is_not(None))
        )
    }
    wanted = {f"{kind}{i}" for i in valid}
    for subject, row in current.items():
        if subject not in wanted and (among is None or int(subject[1:]) in among):
            session.delete(row)
    for i in valid:
        if f"{kind}{i}" not in current:
            session.add(
                AlertMute(
                    workspace_id=member.workspace_id,
                    member_id=member.id,
                    subject=f"{kind}{i}",
                    deal_id=i if kind == "d" else None,
                    pipeline_id=i if kind == "p" else None,
                )
            )
    session.flush()


def mute_deal(*, session: Session, member: Member, deal: Deal, on: bool = True) -> None:
    """The deal card's "Mute" (and "Unmute"): one deal, the others untouched."""
    keep = muted(session=session, member=member)
    deals = {int(s[1:]) for s in keep if s.startswith("d")}
    deals = (deals | {deal.id}) if on else (deals - {deal.id})
    set_muted(session=session, member=member, kind="d", ids=deals)


MAX_HOME_DEALS = 100  # a multi-select holds 100 options


@dataclass(frozen=True)
class AlertHome:
    """What App Home shows of a member's alert choices."""

    batch: str
    quiet: str | None  # "20:00-08:00"
    timezone: str
    pipelines: list[tuple[int, str]]
    deals: list[tuple[int, int, str]]  # (id, number, title): their open deals and muted ones
    muted: set[str]


def home_choices(*, session: Session, workspace: Workspace, member: Member) -> AlertHome:
    prefs = prefs_of(session=session, member=member)
    mutes = muted(session=session, member=member)
    muted_deals = [int(s[1:]) for s in mutes if s.startswith("d")]
    pipelines = session.execute(
        sa.select(Pipeline.id, Pipeline.name)
        .where(Pipeline.workspace_id == workspace.id, Pipeline.kind == "deal")
        .order_by(Pipeline.position, Pipeline.id)
    ).all()
    # Their open deals, and the deals they muted (to unmute them), muted ones first.
    listed = ((Deal.owner_id == member.id) & Deal.closed_at.is_(None)) | Deal.id.in_(muted_deals)
    deals = session.execute(
        sa.select(Deal.id, Deal.number, Deal.title)
        .where(Deal.workspace_id == workspace.id, listed)
        .order_by(Deal.id.in_(muted_deals).desc(), Deal.id.desc())
        .limit(MAX_HOME_DEALS)
    ).all()
    quiet = f"{prefs.quiet_start}-{prefs.quiet_end}" if _quiet(prefs) else None
    return AlertHome(
        batch=prefs.batch,
        quiet=quiet,
        timezone=member.timezone or workspace.timezone,
        pipelines=[tuple(p) for p in pipelines],
        deals=[tuple(d) for d in deals],
        muted=mutes,
    )


# ---------------------------------------------------------------- alert DMs: now, held, or not


def _quiet(prefs: AlertPrefs) -> tuple[time, time] | None:
    start, end = alert_times.parse_hhmm(prefs.quiet_start), alert_times.parse_hhmm(prefs.quiet_end)
    return (start, end) if start is not None and end is not None else None


class Audience:
    """The workspace's members who chose anything (mutes, batching, quiet hours), read once
    per job run. Everyone else gets alert DMs at once, as before."""

    def __init__(self, session: Session, workspace: Workspace, *, read: bool = True):
        self.session = session
        self.workspace = workspace
        self.prefs: dict[int, AlertPrefs] = {}
        self.mutes: dict[int, set[str]] = {}
        self.zones: dict[int, str] = {}
        if read:  # else audiences_of fills them
            _read_audiences(session, {workspace.id: self})

    def fate(
        self, member_id: int | None, *, deal_id: int | None, pipeline_id: int | None, at: datetime
    ) -> str | datetime | None:
        """``"mute"``, the instant the DM may go (held), or None (send now)."""
        if member_id is None:
            return None
        subjects = self.mutes.get(member_id, set())
        if f"d{deal_id}" in subjects or f"p{pipeline_id}" in subjects:
            return "mute"
        prefs = self.prefs.get(member_id)
        if prefs is None:
            return None
        return alert_times.release_at(
            at,
            tz=ZoneInfo(self.zones.get(member_id) or self.workspace.timezone),
            batch=prefs.batch,
            quiet=_quiet(prefs),
            daily_at=alert_times.parse_hhmm(self.workspace.digest_time) or time(9, 0),
        )

    def dm(
        self,
        *,
        member_id: int | None,
        deal_id: int | None,
        pipeline_id: int | None,
        key: str,
        payload: dict[str, Any],
        at: datetime,
        now: datetime,
    ) -> bool:
        """Whether the caller sends this alert DM now; held or muted ones are dealt with here
        (a held one is written, once per ``key``)."""
        fate = self.fate(member_id, deal_id=deal_id, pipeline_id=pipeline_id, at=at)
        if fate is None:
            return True
        if isinstance(fate, datetime):
            hold(self.session, self.workspace.id, member_id, key, fate, payload, now)
        return False


def audiences_of(session: Session, workspaces: list[Workspace]) -> dict[int, Audience]:
    """The :class:`Audience` of each of ``workspaces``: three statements for them all."""
    out = {ws.id: Audience(session, ws, read=False) for ws in workspaces}
    _read_audiences(session, out)
    return out


def _read_audiences(session: Session, audiences: dict[int, Audience]) -> None:
    if not audiences:
        return
    ids = list(audiences)
    for p in session.exec(select(AlertPrefs).where(AlertPrefs.workspace_id.in_(ids))):
        audiences[p.workspace_id].prefs[p.member_id] = p
    for ws_id, member_id, subject in session.execute(
        sa.select(AlertMute.workspace_id, AlertMute.member_id, AlertMute.subject).where(
            AlertMute.workspace_id.in_(ids)
        )
    ):
        audiences[ws_id].mutes.setdefault(member_id, set()).add(subject)
    chose: dict[int, list[Audience]] = {}  # member id: the audiences they chose in
    for a in audiences.values():
        for member_id in {*a.prefs, *a.mutes}:
            chose.setdefault(member_id, []).append(a)
    if not chose:
        return
    for member_id, zone in session.execute(
        sa.select(Member.id, Member.timezone).where(Member.id.in_(list(chose)))
    ):
        for a in chose[member_id]:
            a.zones[member_id] = zone or a.workspace.timezone


def hold(
    session: Session,
    workspace_id: int,
    member_id: int,
    key: str,
    release: datetime,
    payload: dict[str, Any],
    now: datetime,
) -> bool:
    """Keep an alert DM for later; True when this call wrote it (once per ``key``)."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(AlertItem)
        .values(
            workspace_id=workspace_id,
            member_id=member_id,
            key=key,
            release_at=release,
            payload=json.dumps(payload, ensure_ascii=False, default=str),
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(AlertItem.id)
    )
    return session.execute(stmt).first() is not None


@dataclass(frozen=True)
class Digest:
    """Held alerts of one member released at one instant: one DM."""

    slack_id: str
    locale: str
    period: str
    messages: list[dict[str, Any]]  # each alert's message ({"text", "blocks"}), in order


def claim_due(*, session: Session, workspace: Workspace, at: datetime) -> list[Digest]:
    """The held alerts whose time has come, claimed for this run, one :class:`Digest` per
    member and release instant.

    Claiming is one ``UPDATE … WHERE digest IS NULL`` per digest: a second scheduler running
    at the same moment waits for the first one's row locks (PostgreSQL) or its write lock
    (SQLite), then claims nothing. The digest's period is the release instant and its first
    alert (``r20261203T2300Z/i41``): an alert that came in late for an instant already sent
    goes out in a DM of its own instead of being lost.
    """
    rows = session.exec(
        select(AlertItem)
        .where(
            AlertItem.workspace_id == workspace.id,
            AlertItem.digest.is_(None),
            AlertItem.release_at <= at,
        )
        .order_by(AlertItem.member_id, AlertItem.release_at, AlertItem.id)
    ).all()
    groups: dict[tuple[int, datetime], list[AlertItem]] = {}
    for row in rows:
        groups.setdefault((row.member_id, row.release_at), []).append(row)
    members = (
        {m.id: m for m in session.exec(select(Member).where(Member.id.in_({k[0] for k in groups})))}
        if groups
        else {}
    )
    digests = []
    for (member_id, release), items in groups.items():
        member = members.get(member_id)
        if member is None:
            continue
        claimed = _claim(session, [i.id for i in items], alert_times.period(release))
        if claimed:
            locale = member_locale(member, workspace)
            kept = [json.loads(i.payload).get("message") or {} for i in items if i.id in claimed]
            digests.append(Digest(member.slack_user_id, locale, claimed[min(claimed)], kept))
    return digests


def _claim(session: Session, ids: list[int], period: str) -> dict[int, str]:
    """Mark the still unclaimed ``ids`` as this digest's; their digest period names the
    first of them, so a late alert's own DM never takes the key of the digest before it."""

    def mark(where, value: str) -> list[int]:
        return list(
            session.execute(
                sa.update(AlertItem)
                .where(where)
                .values(digest=value)
                .returning(AlertItem.id)
                .execution_options(synchronize_session=False)
            ).scalars()
        )

    claimed = mark(AlertItem.id.in_(ids) & AlertItem.digest.is_(None), "claiming")
    if not claimed:
        return {}
    named = f"{period}/i{min(claimed)}"
    mark(AlertItem.id.in_(claimed), named)
    return dict.fromkeys(claimed, named)
