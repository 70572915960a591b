"""The scheduled jobs: "what is due" (scheduler.due) turned into outbox rows.

Each job is a *planner*: ``plan(session, workspace, at, force) -> list[Post]`` reads, asks
:mod:`scheduler.due` what is due at ``at`` and renders the views. :func:`run_for_workspace`
(the one wrapper every job shares: session, error isolation, enqueue) records all posts of
one run in one transaction. Sending is the drain's business (:mod:`scheduler.drain`).

Outbox keys (``job:workspace:target:period``), which make every post once-only:

================  ==============================  =========================================
job               targets                         period
================  ==============================  =========================================
stall-warnings    ``thread`` · ``dm:<owner>``     ``d<deal>/<episode>``
stall-digest      ``ch:<digest>`` · ``dm:<mgr>``  local date ``2026-12-01`` (``#2``… parts)
renewal-alerts    thread · dm owner · channel     ``d<deal>/<renewal date>/<offset>``
weekly-summary    ``ch:<digest>``                 ISO week ``2026-W49`` (parts, ``#chart…``)
task-reminders    ``dm:<owner>``                  ``t<task>/<due time>``
pipeline-coach    ``dm:<rep>``                    ISO week ``2026-W49``
alert-digests     ``dm:<member>``                 release ``r20261203T2300Z/i<first item>``
lead-scores       ``dm:<owner>`` (job ``mql``)    ``l<lead>/<crossing>``
================  ==============================  =========================================

Alerts (issue 16, domain.alerts): the stall warnings, renewal alerts and task reminders also
go to the channels of the admins' routes (target ``ch:<channel>``, period
``<event>/<period above>``), and their DMs go through each owner's choices — muted: none;
batching or quiet hours: held, then sent by alert-digests, one DM per member and release.

A post split into several messages (a big digest) is recorded as a first row and replies
that go into its thread (``thread_of``). When the first row already exists the whole post
was recorded by an earlier run, and none of its parts is recorded again — even if today's
split would come out different.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain import alerts, automation, deal_reads, money, stall_digest, tasks, weekly, workflows
from domain.deal_reads import DealRow, Stalled
from domain.isolate import each_pipeline
from domain.refs import deal_pipelines, stage_names_of
from domain.stall import calendar_stalled_sql, episode_key_sql, is_business_day
from domain.workspaces import managers, member_locale
from i18n import fmt, t
from scheduler import digest as figures
from scheduler import due
from storage import outbox
from storage.db import session_scope, time_limit
from storage.models import Deal, Member, Outbox, Stage, Workspace
from views import alerts as alert_views
from views import notifications as views
from views import tasks as task_views
from views.message import Message

log = logging.getLogger(__name__)

STALL_WARNINGS = "stall-warnings"
STALL_DIGEST = "stall-digest"
RENEWAL_ALERTS = "renewal-alerts"
WEEKLY_SUMMARY = "weekly-summary"
TASK_REMINDERS = "task-reminders"
PIPELINE_COACH = "pipeline-coach"
ALERT_DIGESTS = "alert-digests"
LEAD_SCORES = "lead-scores"
MAX_WARNINGS_PER_RUN = 500  # new stall episodes warned per workspace per hourly run
MAX_CHARTS = 5  # board charts attached to a weekly summary (largest pipelines first)


@dataclass
class Post:
    """One message (or file) for one target, before it is recorded."""

    target: str
    period: str
    payload: dict[str, Any]


@dataclass
class Thread:
    """A post of several messages: the first goes to ``to``, the rest into its thread."""

    target: str
    period: str
    to: dict[str, str]
    messages: list[Message]
    uploads: list[dict[str, Any]] = field(default_factory=list)


Planned = Post | Thread


def message_payload(to: dict[str, str], message: Message, thread_ts: str | None = None) -> dict:
    payload: dict[str, Any] = {
        "to": to,
        "message": {"text": message.text, "blocks": message.blocks},
    }
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return payload


def _channel(ws: Workspace) -> str | None:
    """Where channel digests go: the digest channel, else the deals channel."""
    return ws.digest_channel or ws.deals_channel


def _deal_place(deal: DealRow, ws: Workspace) -> tuple[dict[str, str], str | None] | None:
    """A deal's thread (its card), or the deals channel when it has none."""
    if deal.has_thread:
        return {"channel": deal.thread_channel}, deal.thread_ts
    if ws.deals_channel:
        return {"channel": ws.deals_channel}, None
    return None


# ---------------------------------------------------------------- planners


def plan_stall_warnings(session: Session, ws: Workspace, at: datetime, force: bool) -> list[Post]:
    """One warning per stall episode: into the deal's thread and to its owner by DM."""
    rows = deal_reads.stalled_deals(session=session, workspace=ws, now=at)
    items = stall_warning_items(ws, rows, at)
    # Most hours every stalled deal was warned about already: look the keys up (unique index)
    # instead of rendering thousands of messages for ON CONFLICT to throw away.
    keys = {ws.id: stall_warning_keys(ws, items)}
    new = _new_keys(session, [k for ks in keys[ws.id] for k in ks])
    return stall_warnings_of(session, [ws], at, {ws.id: items}, keys, new)[ws.id]


def unwarned_stalled(
    session: Session, workspaces: Sequence[Workspace], at: datetime
) -> dict[int, list[DealRow]]:
    """The stalled deals of ``workspaces`` at ``at`` (every pipeline, lead pipelines too) whose
    current episode has no warning recorded yet (:func:`not_warned`), by workspace id."""
    return deal_reads.stalled_deals_of(
        session=session,
        workspaces=workspaces,
        now=at,
        every_pipeline=True,
        where=not_warned(workspaces, session.get_bind().dialect.name, at),
    )


def not_warned(
    workspaces: Sequence[Workspace], dialect: str, at: datetime
) -> sa.ColumnElement[bool]:
    """For :func:`deal_reads.stalled_deals_of`: leave out the deals whose current stall
    episode was warned about already — an outbox row under one of the keys
    :func:`stall_warning_keys` would put together (its thread's when it has a place, its
    owner's DM's when it has an owner), which :func:`_new_episodes` would set aside anyway.

    Most hours nearly every stalled deal was warned about in an earlier hour; so the
    database answers that from the outbox's unique key, and only the few not warned yet
    are read and judged (at a fleet's 09:00, ~2,400 of ~288,000). It is the same test as
    the keys' (a recorded key), hence the same warnings after a missed hour, a restart, a
    changed threshold or a snooze that ran out: nothing here remembers when it last ran.
    Only episodes without a snooze are tested (a snoozed episode's key carries the snooze
    date, read and judged as before); a key spelled wrong here matches no row and leaves
    the deal in, never out. On PostgreSQL the deals of calendar-day workspaces not yet over
    their threshold at ``at`` (within ``stalled_since``'s margin) are left out too
    (:func:`domain.stall.calendar_stalled_sql`): judged, they would be set aside."""
    period = sa.literal("d").op("||")(sa.cast(Deal.id, sa.String)).op("||")("/")
    period = period.op("||")(episode_key_sql(Deal.stage_entered_at, dialect))
    prefix = sa.literal(f"{STALL_WARNINGS}:").op("||")(sa.cast(Deal.workspace_id, sa.String))

    def recorded(key) -> sa.ColumnElement[bool]:
        return sa.exists(sa.select(sa.literal(1)).where(Outbox.key == key))

    with_channel = [ws.id for ws in workspaces if ws.deals_channel]
    has_place = sa.or_(  # _deal_place: DealRow.has_thread, or the deals channel
        sa.and_(
            Deal.thread_channel.is_not(None),
            Deal.thread_ts.is_not(None),
            Deal.thread_channel != "",
            Deal.thread_ts != "",
        ),
        Deal.workspace_id.in_(with_channel) if with_channel else sa.false(),
    )
    owner = Member.slack_user_id
    thread_warned = sa.and_(has_place, recorded(prefix.op("||")(":thread:").op("||")(period)))
    dm_key = prefix.op("||")(":dm:").op("||")(owner).op("||")(":").op("||")(period)
    dm_warned = sa.and_(owner.is_not(None), owner != "", recorded(dm_key))
    new = sa.or_(Deal.snoozed_until.is_not(None), sa.not_(sa.or_(thread_warned, dm_warned)))
    calendar = [ws.id for ws in workspaces if not ws.stall_business_days]
    over = calendar_stalled_sql(Deal.stage_entered_at, Stage.stall_days, at, dialect)
    if over is None or not calendar:
        return new
    return sa.and_(new, sa.or_(Deal.workspace_id.not_in(calendar), over))


def stall_warning_items(ws: Workspace, rows: Sequence[DealRow], at: datetime) -> list[Stalled]:
    """The stalled deals among ``rows`` whose warnings may be due (one per episode)."""
    return due.stall_warnings_due(
        rows,
        at=at,
        tz=ws.timezone,
        business_days=ws.stall_business_days,
        country=ws.holiday_country,
    )


def stall_warning_keys(ws: Workspace, items: Sequence[Stalled]) -> list[tuple[str, ...]]:
    """The outbox keys of each of ``items`` (its thread's, its owner's DM's), which tell
    whether it was warned about already."""
    prefix = f"{STALL_WARNINGS}:{ws.id}:"
    out = []
    for item in items:
        deal = item.deal
        period = due.stall_warning_period(item)
        targets = ["thread"] if deal.has_thread or ws.deals_channel else []  # _deal_place
        if deal.owner_slack_id:
            targets.append(f"dm:{deal.owner_slack_id}")
        out.append(tuple(outbox.checked_key(f"{prefix}{t}:{period}") for t in targets))
    return out


def _new_episodes(
    items: Sequence[Stalled], keys: Sequence[tuple[str, ...]], new: set[str]
) -> list[Stalled]:
    """The episodes among ``items`` none of whose ``keys`` was recorded (all in ``new``),
    newest stalls first, at most :data:`MAX_WARNINGS_PER_RUN`."""
    # A new episode is one none of whose targets was warned (a new owner does not make it new).
    fresh = [i for i, ks in zip(items, keys, strict=True) if all(k in new for k in ks)]
    # The newest stalls first: they are the news. A backlog (a first run over years of data)
    # goes out MAX_WARNINGS_PER_RUN episodes an hour, which is faster than Slack lets one
    # workspace post anyway, and keeps each run's memory and time bounded.
    fresh.sort(key=lambda i: (i.status.days_over, i.deal.id))
    return fresh[:MAX_WARNINGS_PER_RUN]


@dataclass
class WarningReads:
    """What the warnings of workspaces with a new episode read besides their deals, each
    kind in one statement for all of them (:func:`warning_reads`)."""

    workflows: set[int]  # workspaces with an active "deal stalled" workflow
    routers: dict[int, alerts.Router]  # by workspace
    audiences: dict[int, alerts.Audience]  # by workspace
    stages: dict[int, list[tuple[int, str]]]  # by pipeline: (id, name) in order


def warning_reads(
    session: Session, workspaces: Sequence[Workspace], fresh: dict[int, list[Stalled]]
) -> WarningReads:
    ids = [ws.id for ws in workspaces]
    pipelines = sorted({i.deal.pipeline_id for ws in workspaces for i in fresh[ws.id]})
    return WarningReads(
        workflows=workflows.active_in(
            session=session, workspace_ids=ids, trigger=automation.STALLED
        ),
        routers=alerts.routers_of(session, list(workspaces)),
        audiences=alerts.audiences_of(session, list(workspaces)),
        stages=stage_names_of(session=session, pipeline_ids=pipelines),
    )


def stall_warnings_of(
    session: Session,
    workspaces: Sequence[Workspace],
    at: datetime,
    items: dict[int, list[Stalled]],
    keys: dict[int, list[tuple[str, ...]]],
    new: set[str],
) -> dict[int, list[Post]]:
    """The warnings of each workspace's ``items`` (:func:`stall_warning_items`) whose
    episode has no recorded key (its ``keys``, :func:`stall_warning_keys`, all in ``new``,
    :func:`_new_keys`), whatever read them: one workspace (:func:`plan_stall_warnings`) or
    a batch of them (:mod:`scheduler.batches`). Only the workspaces with a new episode read
    their workflows, routes, alert choices and stage names: together, one statement per
    kind."""
    fresh = {ws.id: _new_episodes(items[ws.id], keys[ws.id], new) for ws in workspaces}
    out: dict[int, list[Post]] = {ws.id: [] for ws in workspaces}
    posting = [ws for ws in workspaces if fresh[ws.id]]
    if not posting:
        return out  # what follows would only read (routes, alert prefs) and post nothing
    reads = warning_reads(session, posting, fresh)
    for ws in posting:
        out[ws.id] = _stall_warning_posts(session, ws, at, fresh[ws.id], reads)
    return out


def _stall_warning_posts(
    session: Session, ws: Workspace, at: datetime, fresh: list[Stalled], reads: WarningReads
) -> list[Post]:
    # Issue 14: "deal stalled" workflows, once per episode, in this run's transaction.
    automation.deals_stalled(
        session=session,
        workspace=ws,
        stalls=[(i.deal.id, due.stall_warning_period(i)) for i in fresh],
        now=at,
        active=ws.id in reads.workflows,
    )
    stages = reads.stages
    posts = []
    router, audience = reads.routers[ws.id], reads.audiences[ws.id]
    for item in fresh:
        period = due.stall_warning_period(item)
        deal = item.deal
        rendered: dict[str, Message] = {}

        def render(locale: str, deal=deal, item=item, rendered=rendered) -> Message:
            if locale not in rendered:
                rendered[locale] = views.stall_warning(
                    deal=deal,
                    status=item.status,
                    stages=stages[deal.pipeline_id],
                    locale=locale,
                    currency=ws.currency,
                )
            return rendered[locale]

        place = _deal_place(deal, ws)
        if place is not None:
            posts.append(
                Post("thread", period, message_payload(place[0], render(ws.locale), place[1]))
            )
        event = alerts.AlertEvent("stalled", period, alerts.DealFacts.of_row(deal))
        posts += [Post(*row) for row in alerts.routed_rows(router, event)]
        if deal.owner_slack_id:
            locale = deal.owner_locale or ws.locale
            dm = Post(
                f"dm:{deal.owner_slack_id}",
                period,
                message_payload({"dm": deal.owner_slack_id}, render(locale)),
            )
            posts += _alert_dm(
                audience,
                STALL_WARNINGS,
                dm,
                deal.owner_id,
                at,
                deal_id=deal.id,
                pipeline_id=deal.pipeline_id,
            )
    return posts


def _alert_dm(
    audience, job: str, post: Post, member_id, at: datetime, *, deal_id, pipeline_id
) -> list[Post]:
    """``[post]`` when its member gets it now; none when they muted the deal or its pipeline,
    or when it waits for their digest or the end of their quiet hours (held in the
    database, sent by alert-digests)."""
    key = outbox.outbox_key(
        job=job, workspace_id=audience.workspace.id, target=post.target, period=post.period
    )
    now = audience.dm(
        member_id=member_id,
        deal_id=deal_id,
        pipeline_id=pipeline_id,
        key=key,
        payload=post.payload,
        at=at,
        now=at,
    )
    return [post] if now else []


def plan_stall_digest(session: Session, ws: Workspace, at: datetime, force: bool) -> list[Thread]:
    """Stalled deals by owner, to the digest channel and each manager by DM. The figures
    are summed in the database and only the deals listed are read (scheduler.digest.read);
    where that cannot be exact, or fails, every stalled deal is read pipeline by pipeline and
    folded in Python, each pipeline failing alone (domain.isolate)."""
    period = due.digest_due(at, ws.timezone, ws.digest_time, force=force)
    if period is None:
        return []
    conversion = money.conversion(session=session, workspace_id=ws.id)
    summed, failed = _digest_summed(session, ws, at, conversion)
    if summed is None:
        pipelines = deal_pipelines(session=session, workspace_id=ws.id)
        done, failed = each_pipeline(
            session,
            pipelines,
            lambda p: deal_reads.stalled_deals(
                session=session, workspace=ws, now=at, pipeline_id=p.id
            ),
        )
        items = due.stalled_on(ws, [row for _, rows in done for row in rows], at)
        groups = due.group_by_owner(items, conversion)
        summed = stall_digest.summarize(items, groups, conversion, views.DIGEST_DEALS)
    if not summed.count and not failed and not ws.digest_all_clear:
        return []
    return stall_digest_threads(
        ws,
        at,
        period,
        summed,
        failed=failed,
        overdue_tasks=tasks.overdue_counts(session=session, workspace=ws, now=at),
        managers=managers(session=session, workspace=ws),
    )


def _digest_summed(
    session: Session, ws: Workspace, at: datetime, conversion: money.Conversion
) -> tuple[stall_digest.StallDigest | None, list[str]]:
    """:func:`scheduler.digest.read` in a savepoint; None when it cannot or did not work."""
    try:
        with session.begin_nested():
            return figures.read(
                session=session,
                workspace=ws,
                now=at,
                conversion=conversion,
                limit=views.DIGEST_DEALS,
            ), []
    except Exception:
        log.exception("stall digest of workspace %s summed in SQL failed; reading rows", ws.id)
        return None, []


def stall_digest_threads(
    ws: Workspace,
    at: datetime,
    period: str,
    summed: stall_digest.StallDigest,
    *,
    failed: Sequence[str],
    overdue_tasks: dict[str, int],
    managers: Sequence,
) -> list[Thread]:
    """The digest of ``summed`` (:mod:`domain.stall_digest`) for the
    channel and each of ``managers``, whatever read it: one workspace
    (:func:`plan_stall_digest`) or a batch of them (:mod:`scheduler.batches`). Nothing when nothing is stalled or failed and no
    all-clear is asked for."""
    if not summed.count and not failed and not ws.digest_all_clear:
        return []
    day = due.local_today(at, ws.timezone)
    rendered: dict[str, list[Message]] = {}

    def render(locale: str) -> list[Message]:
        if locale not in rendered:
            if summed.count or failed:
                rendered[locale] = views.stall_digest_of(
                    digest=summed,
                    day=day,
                    locale=locale,
                    currency=ws.currency,
                    failed=failed,
                    overdue_tasks=overdue_tasks,
                )
            else:
                rendered[locale] = [views.all_clear(day=day, locale=locale)]
        return rendered[locale]

    out = []
    channel = _channel(ws)
    if channel:
        out.append(Thread(f"ch:{channel}", period, {"channel": channel}, render(ws.locale)))
    for manager in managers:
        locale = member_locale(manager, ws)
        uid = manager.slack_user_id
        out.append(Thread(f"dm:{uid}", period, {"dm": uid}, render(locale)))
    return out


def plan_renewal_alerts(session: Session, ws: Workspace, at: datetime, force: bool) -> list[Post]:
    """At each configured offset before a renewal: thread, owner DM and the digest channel."""
    if due.digest_due(at, ws.timezone, ws.digest_time, force=force) is None:
        return []
    offsets = due.parse_offsets(ws.renewal_offsets)
    today = due.local_today(at, ws.timezone)
    rows = deal_reads.renewal_deals(
        session=session, workspace=ws, today=today, horizon_days=max(offsets)
    )
    items = due.renewals_due(rows, at=at, tz=ws.timezone, offsets=offsets)
    # Issue 14: "renewal date approaching" workflows, once per alert.
    automation.renewals_approaching(
        session=session,
        workspace=ws,
        renewals=[(i.deal.id, due.renewal_period(i)) for i in items],
        now=at,
    )
    posts = []
    channel = _channel(ws)
    router, audience = alerts.Router(session, ws), alerts.Audience(session, ws)
    for item in items:
        period = due.renewal_period(item)
        deal = item.deal
        place = _deal_place(deal, ws)
        message = views.renewal_alert(item=item, locale=ws.locale, currency=ws.currency)
        if place is not None and place[1]:  # into the card's thread
            posts.append(Post("thread", period, message_payload(place[0], message, place[1])))
        event = alerts.AlertEvent("renewal", period, alerts.DealFacts.of_row(deal))
        posts += [Post(*row) for row in alerts.routed_rows(router, event, skip=(channel,))]
        if deal.owner_slack_id:
            locale = deal.owner_locale or ws.locale
            own = views.renewal_alert(item=item, locale=locale, currency=ws.currency)
            dm = Post(
                f"dm:{deal.owner_slack_id}",
                period,
                message_payload({"dm": deal.owner_slack_id}, own),
            )
            posts += _alert_dm(
                audience,
                RENEWAL_ALERTS,
                dm,
                deal.owner_id,
                at,
                deal_id=deal.id,
                pipeline_id=deal.pipeline_id,
            )
        if channel:
            posts.append(
                Post(f"ch:{channel}", period, message_payload({"channel": channel}, message))
            )
    return posts


def plan_weekly_summary(session: Session, ws: Workspace, at: datetime, force: bool) -> list[Thread]:
    """Monday's summary of last week, with the board charts in its thread."""
    period = due.weekly_due(at, ws.timezone, ws.digest_time, force=force)
    channel = _channel(ws)
    if period is None or not channel:
        return []
    first = outbox.outbox_key(
        job=WEEKLY_SUMMARY, workspace_id=ws.id, target=f"ch:{channel}", period=period
    )
    if not force and _taken_keys(session, [first]):
        return []  # recorded already: skip the (not free) computation
    start, end = due.week_window(at, ws.timezone)
    summary = weekly.compute(session=session, workspace=ws, start=start, end=end, now=at)
    if not summary.has_deals:
        return []
    messages = views.weekly_summary(summary=summary, locale=ws.locale)
    return [
        Thread(
            f"ch:{channel}",
            period,
            {"channel": channel},
            messages,
            uploads=_charts(summary, ws.locale),
        )
    ]


def _charts(summary, locale: str) -> list[dict[str, Any]]:
    from views.charts import board_png

    start, end = fmt.day(summary.start, locale), fmt.day(summary.end, locale)
    ranked = sorted(
        (p for p in summary.pipelines if p.open_count),
        key=lambda p: (-p.open_amount, p.pipeline_id),
    )[:MAX_CHARTS]
    uploads = []
    week = t(locale, "scheduler.weekly.chart_title", start=start, end=end)
    for p in ranked:
        png = board_png(p.source, locale, summary.currency, period=week)
        uploads.append(
            {
                "key": f"chart{p.pipeline_id}",
                "filename": f"board-{p.pipeline_id}-{summary.start.isoformat()}.png",
                "title": f"{p.name} · {t(locale, 'scheduler.weekly.chart_title', start=start, end=end)}",
                "content_b64": base64.b64encode(png).decode("ascii"),
            }
        )
    return uploads


MORNING_ROWS = 10  # tasks listed in a morning DM (4 + 2 a row of the 50 blocks a message holds)
MORNING_WINDOW = timedelta(hours=2)  # after the digest time, when the morning DM may go


def plan_task_reminders(session: Session, ws: Workspace, at: datetime, force: bool) -> list[Post]:
    """Tasks that came due: a DM to their owner, once per task and due time (the due time
    is then marked reminded, so later runs do not read it again). From the workspace's
    digest time on a working day, each owner also gets one "today" DM (morning_dms)."""
    rows = tasks.tasks_came_due(session=session, workspace=ws, now=at, lookback=due.TASK_LOOKBACK)
    posts = []
    came_due = due.tasks_due(rows, at=at)
    router, audience = alerts.Router(session, ws), alerts.Audience(session, ws)
    # The tasks' deals, read only when a route or a member's mutes would look at them.
    wanted = "overdue" in router.kinds or bool(audience.mutes)
    task_deals = alerts.deals_of(
        session=session, ids={t.deal_id for t in came_due} if wanted else set()
    )
    for task in came_due:
        locale = task.owner_locale or ws.locale
        message = task_views.reminder(task, locale, task.owner_timezone or ws.timezone)
        to = {"dm": task.owner_slack_id}
        period = due.task_period(task)
        deal = task_deals.get(task.deal_id)
        if deal is not None:
            event = alerts.AlertEvent("overdue", period, deal, text=task.text)
            posts += [Post(*row) for row in alerts.routed_rows(router, event)]
        dm = Post(f"dm:{task.owner_slack_id}", period, message_payload(to, message))
        pipeline_id = deal.pipeline_id if deal is not None else None
        posts += _alert_dm(
            audience,
            TASK_REMINDERS,
            dm,
            task.owner_id,
            at,
            deal_id=task.deal_id,
            pipeline_id=pipeline_id,
        )
    tasks.mark_reminded(session=session, rows=came_due)
    return posts + morning_dms(session, ws, at)


def morning_dms(session: Session, ws: Workspace, at: datetime) -> list[Post]:
    """One DM per owner on a working day, from the digest time for ``MORNING_WINDOW`` (a
    scheduler down all morning sends none: a "today" list at 3 pm is noise): the tasks due
    today and overdue. The outbox key (owner, local date) keeps it to one. Owners who
    turned it off (``/task morning off``) get none."""
    period = morning_period(ws, at)
    if period is None:
        return []
    day = due.local_today(at, ws.timezone)
    owners = tasks.morning_owners(
        session=session,
        workspace=ws,
        now=at,
        until=tasks.end_of_today(ws, at),
        per_owner=MORNING_ROWS,
    )
    posts = []
    for owner in owners:
        locale = owner.locale or ws.locale
        message = task_views.morning(
            owner.rows, owner.total, locale, ws.timezone, at, fmt.day(day, locale)
        )
        to = {"dm": owner.slack_id}
        posts.append(
            Post(f"dm:{owner.slack_id}", f"morning/{period}", message_payload(to, message))
        )
    return posts


def morning_period(ws: Workspace, at: datetime) -> str | None:
    """The digest period when ``at`` is in the workspace's morning window on a working
    day (when :func:`morning_dms` may send), else None."""
    period = due.digest_due(at, ws.timezone, ws.digest_time)
    day = due.local_today(at, ws.timezone)
    if period is None or not is_business_day(day, ws.holiday_country):
        return None
    start = datetime.combine(
        day, due.parse_digest_time(ws.digest_time), tzinfo=due.zone(ws.timezone)
    )
    return period if at < start + MORNING_WINDOW else None


def plan_pipeline_coach(session: Session, ws: Workspace, at: datetime, force: bool) -> list[Post]:
    """Monday morning: each rep with a target gets their coaching by DM, once a week."""
    from domain import coach
    from views.coach import coaching

    period = due.weekly_due(at, ws.timezone, ws.digest_time, force=force)
    if period is None:
        return []
    reps = coach.reps(session=session, workspace=ws)
    posts = []
    for member in reps:
        data = coach.coach(
            session=session, workspace=ws, member=member, now=at, team_size=len(reps)
        )
        if data.month.amount is None and data.quarter.amount is None:
            continue  # nothing to coach towards: no quota for them or the team
        locale = member_locale(member, ws)
        message = coaching(
            data, currency=ws.currency, locale=locale, title_key="coach.monday_title"
        )
        to = {"dm": member.slack_user_id}
        posts.append(Post(f"dm:{member.slack_user_id}", period, message_payload(to, message)))
    return posts


def plan_alert_digests(session: Session, ws: Workspace, at: datetime, force: bool) -> list[Post]:
    """Alert DMs held for a batching member or their quiet hours whose time has come: one DM
    per member and release instant (domain.alerts.claim_due claims them once)."""
    posts = []
    for digest in alerts.claim_due(session=session, workspace=ws, at=at):
        message = alert_views.digest(digest.messages, locale=digest.locale)
        to = {"dm": digest.slack_id}
        posts.append(Post(f"dm:{digest.slack_id}", digest.period, message_payload(to, message)))
    return posts


def plan_lead_scores(session: Session, ws: Workspace, at: datetime, force: bool) -> list[Post]:
    """Daily: every lead scored again at ``at``, so activity points decay. A lead that
    crosses the MQL threshold moves to MQL and its owner's DM is recorded by the domain
    (domain.lead_scores, keyed by the crossing), exactly as when a command makes it cross."""
    from domain import lead_scores

    lead_scores.recompute(session=session, workspace=ws, now=at)
    return []


PLANNERS: dict[str, Callable[[Session, Workspace, datetime, bool], Sequence[Planned]]] = {
    STALL_WARNINGS: plan_stall_warnings,
    STALL_DIGEST: plan_stall_digest,
    RENEWAL_ALERTS: plan_renewal_alerts,
    WEEKLY_SUMMARY: plan_weekly_summary,
    TASK_REMINDERS: plan_task_reminders,
    PIPELINE_COACH: plan_pipeline_coach,
    ALERT_DIGESTS: plan_alert_digests,
    LEAD_SCORES: plan_lead_scores,
}
NAMES = tuple(PLANNERS)


# ---------------------------------------------------------------- recording


# On PostgreSQL the keys go as one array parameter (``key = ANY(…)``): one small statement,
# compiled once, where ``IN (…)`` rendered a placeholder per key and a statement per 500 keys
# (a scheduler batch's stall warnings look up a few thousand keys every hour).
_KEYS_IN_ARRAY = sa.select(Outbox.key).where(
    Outbox.key == sa.any_(sa.bindparam("keys", type_=postgresql.ARRAY(sa.String)))
)


# The keys not in the outbox, the keys sent as one text (a few thousand a batch: one string
# is far cheaper to send than an array of them) and only the new ones read back.
_NEW_KEYS = sa.text(
    "SELECT k FROM unnest(string_to_array(:keys, E'\\n')) AS k"
    " WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.key = k)"
).columns(k=sa.String)


def _new_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` have no outbox row yet (in a steady hour, few of them)."""
    unique = set(keys)
    if not unique:
        return unique
    joined = "\n".join(unique)
    if session.get_bind().dialect.name == "postgresql" and joined.count("\n") == len(unique) - 1:
        return set(session.execute(_NEW_KEYS, {"keys": joined}).scalars())
    return unique - _taken_keys(session, list(unique))


def _taken_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` already have an outbox row."""
    taken: set[str] = set()
    unique = sorted(set(keys))
    if not unique:
        return taken
    if session.get_bind().dialect.name == "postgresql":
        for i in range(0, len(unique), 10_000):
            taken.update(
                session.execute(_KEYS_IN_ARRAY, {"keys": unique[i : i + 10_000]}).scalars()
            )
        return taken
    for i in range(0, len(unique), 500):
        chunk = unique[i : i + 500]
        taken.update(session.exec(select(Outbox.key).where(Outbox.key.in_(chunk))))
    return taken


def record(
    session: Session, ws: Workspace, job: str, planned: Sequence[Planned], now: datetime
) -> tuple[int, int]:
    """Enqueue every planned post; returns (recorded now, already recorded before).

    Single posts and the first message of every split post go in first; the rest of a split
    post (its replies and files) only when its first message was new.
    """
    return record_across(session, job, [(ws, planned)], now)[ws.id]


def record_across(
    session: Session,
    job: str,
    planned: Sequence[tuple[Workspace, Sequence[Planned]]],
    now: datetime,
) -> dict[int, tuple[int, int]]:
    """:func:`record` for several workspaces at once (a scheduler batch): their first
    messages in one multi-row insert, then the parts of those that were new in another.
    Returns (recorded now, already recorded before) per workspace id."""
    firsts = [
        (ws.id, item.target, item.period, item.payload)
        if isinstance(item, Post)
        else (ws.id, item.target, item.period, message_payload(item.to, item.messages[0]))
        for ws, items in planned
        for item in items
    ]
    inserted = outbox.enqueue_across(session, job=job, rows=firsts, now=now)
    parts = []
    for ws, items in planned:
        for item in items:
            if isinstance(item, Post):
                continue
            parent = outbox.outbox_key(
                job=job, workspace_id=ws.id, target=item.target, period=item.period
            )
            if parent not in inserted:
                continue  # the whole post was recorded by an earlier run
            for number, message in enumerate(item.messages[1:], start=2):
                payload = message_payload(item.to, message) | {"thread_of": parent}
                parts.append((ws.id, item.target, f"{item.period}#{number}", payload))
            for upload in item.uploads:
                body = {k: v for k, v in upload.items() if k != "key"}
                payload = {"to": item.to, "thread_of": parent, "upload": body}
                parts.append((ws.id, item.target, f"{item.period}#{upload['key']}", payload))
    added = outbox.enqueue_across(session, job=job, rows=parts, now=now)
    out = {}
    for ws, items in planned:
        prefix = f"{job}:{ws.id}:"
        unique_firsts = {(item.target, item.period) for item in items}
        new = sum(1 for key in inserted if key.startswith(prefix))
        new_parts = sum(1 for key in added if key.startswith(prefix))
        out[ws.id] = (new + new_parts, len(unique_firsts) - new)
    return out


@dataclass
class JobResult:
    workspace_id: int
    team_id: str
    recorded: int = 0
    already: int = 0
    error: str | None = None


def run_for_workspace(
    engine: Engine,
    job: str,
    workspace_id: int,
    *,
    at: datetime,
    now: datetime,
    force: bool,
    budget: float | None = None,
) -> JobResult:
    """Plan and record one job for one workspace in one transaction; errors stay here.
    ``budget``: seconds its queries may take (storage.db.time_limit), so a workspace that is
    slow today fails alone instead of holding up the ones after it."""
    planner = PLANNERS[job]
    result = JobResult(workspace_id, "")
    try:
        with session_scope(engine) as session, time_limit(session, budget):
            ws = session.get(Workspace, workspace_id)
            if ws is None:
                return result
            result.team_id = ws.team_id
            planned = planner(session, ws, at, force)
            result.recorded, result.already = record(session, ws, job, planned, now)
    except Exception as exc:  # one workspace's trouble must not stop the others
        log.exception("job %s failed for workspace %s", job, workspace_id)
        result.error = f"{type(exc).__name__}: {exc}"
    return result
