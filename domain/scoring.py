"""Lead scoring: a workspace's rules give each lead points for fit and for recent activity.

**Fit** rules read the lead: its company size in a range (``size 100-999 +20``), its source
(``source webinar +10``, the whole source, any case) and a keyword in its job title
(``title cto +15``, anywhere in the title, any case). Every rule that matches adds its
points (negative points subtract). A "custom field value" rule is a follow-up for when
custom fields land (issue 15, point 1).

**Activity** rules give points per event of a kind: a note (``note``) or thread message
(``message``) on the lead or on the deal it became, a task of the lead (or its deal) done
(``task``). Only events of the last ``window_days`` count, and each **decays**: it is worth
``points × ½^(age / half_life_days)``, so with the default half-life of 7 days a note is
worth its full 5 points today, 2.5 after a week, 1.25 after two, nothing after the window
(30 days). An activity rule's contribution is rounded half up once, over all its events.

:func:`compute` is the pure function (explicit ``now``); :func:`recompute` stores scores and
acts on the **MQL threshold**: a lead whose score reaches it while below it before *crosses*
it. A crossing is claimed by one conditional ``UPDATE … WHERE above_mql = false`` (one
process wins, however many recompute at once), counted in ``mql_crossings``, moves an open
lead still before the ``MQL`` status to ``MQL`` (the status every workspace has,
domain.names), and tells the lead's owner by DM through the outbox under the key
``mql:<ws>:dm:<owner>:l<lead>/<crossing>``: once per crossing. Falling below the threshold
(decay, stricter rules) clears ``above_mql`` so a later crossing tells the owner again; the
status is left where it is. Leads are recomputed when created or changed, when a note or a
task of theirs is added or done, when the rules change, and daily by the ``lead-scores``
job (decay).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from domain import names
from domain.errors import InvalidInput
from domain.workspaces import require_admin
from storage import outbox
from storage.models import (
    Activity,
    Lead,
    LeadScoring,
    Member,
    Outcome,
    Stage,
    Task,
    TaskStatus,
    Workspace,
)

FIT_KINDS = ("size", "source", "title")
ACTIVITY_KINDS = ("note", "message", "task")
KINDS = FIT_KINDS + ACTIVITY_KINDS
MAX_RULES = 50
MAX_POINTS = 1000
MAX_DAYS = 365
MAX_THRESHOLD = 100_000
JOB = "mql"  # the outbox job of MQL DMs


@dataclass(frozen=True)
class Rule:
    kind: str  # one of KINDS
    points: int
    low: int | None = None  # size: at least (None: no lower bound)
    high: int | None = None  # size: at most (None: no upper bound)
    value: str | None = None  # source, or a title keyword (lower case)

    def matches(self, facts: Facts) -> bool:
        if self.kind == "size":
            if facts.size is None:
                return False
            return (self.low is None or facts.size >= self.low) and (
                self.high is None or facts.size <= self.high
            )
        if self.kind == "source":
            return facts.source is not None and names.key(facts.source) == self.value
        if self.kind == "title":
            return facts.title is not None and (self.value or "") in facts.title.lower()
        return False

    def as_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Scoring:
    rules: tuple[Rule, ...]
    threshold: int = 50
    window_days: int = 30
    half_life_days: int = 7


DEFAULT_RULES = (
    Rule("size", 30, low=1000),
    Rule("size", 20, low=100, high=999),
    Rule("size", 10, low=10, high=99),
    Rule("source", 15, value="referral"),
    Rule("source", 10, value="webinar"),
    Rule("source", 5, value="website"),
    Rule("title", 15, value="ceo"),
    Rule("title", 15, value="cto"),
    Rule("title", 10, value="vp"),
    Rule("title", 10, value="director"),
    Rule("title", 15, value="대표"),
    Rule("title", 10, value="이사"),
    Rule("title", 5, value="팀장"),
    Rule("note", 5),
    Rule("message", 3),
    Rule("task", 5),
)
DEFAULT = Scoring(rules=DEFAULT_RULES)


@dataclass(frozen=True)
class Facts:
    """What the rules read about one lead. ``events``: (kind, when) of its activity."""

    size: int | None = None
    source: str | None = None
    title: str | None = None
    events: tuple[tuple[str, datetime], ...] = ()


@dataclass(frozen=True)
class Part:
    """One rule's contribution: its points (rounded), and for activity how many events."""

    rule: Rule
    points: int
    count: int = 0


@dataclass(frozen=True)
class Score:
    total: int
    parts: tuple[Part, ...] = field(default_factory=tuple)


def decayed(points: int, age: timedelta, half_life_days: int) -> float:
    """``points`` halved every ``half_life_days``: 5 points a week old with a 7-day
    half-life are worth 2.5."""
    days = max(age.total_seconds(), 0.0) / 86400
    return points * 0.5 ** (days / half_life_days)


def _round(value: float) -> int:
    """Half up, away from zero: 2.5 → 3, -2.5 → -3."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def compute(scoring: Scoring, facts: Facts, now: datetime) -> Score:
    """The lead's score at ``now`` and what it is made of, rules in their order."""
    window = timedelta(days=scoring.window_days)
    parts = []
    for rule in scoring.rules:
        if rule.kind in FIT_KINDS:
            if rule.matches(facts):
                parts.append(Part(rule, rule.points))
            continue
        ages = [now - at for kind, at in facts.events if kind == rule.kind]
        ages = [age for age in ages if timedelta(0) <= age <= window]
        if not ages:
            continue
        value = sum(decayed(rule.points, age, scoring.half_life_days) for age in ages)
        points = _round(value)
        if points:
            parts.append(Part(rule, points, len(ages)))
    return Score(total=sum(p.points for p in parts), parts=tuple(parts))


# ---------------------------------------------------------------- the workspace's rules


def rules_from_json(text: str) -> tuple[Rule, ...]:
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return ()
    out = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            continue
        try:
            out.append(
                Rule(
                    kind=item["kind"],
                    points=int(item.get("points", 0)),
                    low=None if item.get("low") is None else int(item["low"]),
                    high=None if item.get("high") is None else int(item["high"]),
                    value=item.get("value"),
                )
            )
        except (TypeError, ValueError):
            continue
    return tuple(out)


def scoring_of(*, session: Session, workspace_id: int) -> Scoring:
    """The workspace's scoring, or the defaults when admins never changed it."""
    row = session.get(LeadScoring, workspace_id)
    if row is None:
        return DEFAULT
    return Scoring(
        rules=rules_from_json(row.rules),
        threshold=row.threshold,
        window_days=row.window_days,
        half_life_days=row.half_life_days,
    )


def check(scoring: Scoring) -> None:
    """Everything an admin may save, checked before anything is written."""
    if len(scoring.rules) > MAX_RULES:
        raise InvalidInput("scoring.too_many", limit=MAX_RULES)
    if not 0 < scoring.threshold <= MAX_THRESHOLD:
        raise InvalidInput("scoring.bad_threshold", value=scoring.threshold)
    for days in (scoring.window_days, scoring.half_life_days):
        if not 0 < days <= MAX_DAYS:
            raise InvalidInput("scoring.bad_days", value=days, limit=MAX_DAYS)
    for rule in scoring.rules:
        if rule.kind not in KINDS or abs(rule.points) > MAX_POINTS:
            raise InvalidInput("scoring.bad_points", value=rule.points, limit=MAX_POINTS)


def save(
    *, session: Session, actor: Member, workspace: Workspace, scoring: Scoring, now: datetime
) -> int:
    """Admins replace the workspace's scoring; every lead is scored again at once (crossings
    included). Returns how many leads crossed the threshold."""
    require_admin(actor)
    check(scoring)
    row = session.get(LeadScoring, workspace.id) or LeadScoring(workspace_id=workspace.id)
    row.rules = json.dumps([r.as_json() for r in scoring.rules], ensure_ascii=False)
    row.threshold = scoring.threshold
    row.window_days = scoring.window_days
    row.half_life_days = scoring.half_life_days
    row.updated_by_id = actor.id
    row.updated_at = now
    session.add(row)
    session.flush()
    return recompute(session=session, workspace=workspace, now=now)


# ---------------------------------------------------------------- reading the facts


def _events(
    session: Session, workspace_id: int, leads: list, since: datetime, kinds: set[str]
) -> dict[int, list[tuple[str, datetime]]]:
    """Each lead's activity since ``since``: its own and its deal's notes and thread
    messages, and the tasks of either done."""
    out: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    if not leads or not kinds:
        return out
    by_deal = {row.deal_id: row.id for row in leads if row.deal_id is not None}
    ids = [row.id for row in leads]
    whole = len(ids) > 500  # the whole workspace: filter by workspace, not a long IN list
    talk = sorted(kinds & {"note", "message"})
    if talk:
        a = Activity
        where = [a.workspace_id == workspace_id, a.kind.in_(talk), a.at >= since]
        own = a.lead_id.is_not(None) if whole else a.lead_id.in_(ids)
        for lead_id, kind, at in session.execute(
            sa.select(a.lead_id, a.kind, a.at).where(*where, own)
        ):
            out[lead_id].append((kind, at))
        if by_deal:
            deals = a.deal_id.is_not(None) if whole else a.deal_id.in_(list(by_deal))
            for deal_id, kind, at in session.execute(
                sa.select(a.deal_id, a.kind, a.at).where(*where, deals)
            ):
                if deal_id in by_deal:
                    out[by_deal[deal_id]].append((kind, at))
    if "task" in kinds:
        t = Task
        where = [t.workspace_id == workspace_id, t.status == TaskStatus.done, t.done_at >= since]
        if not whole:
            where.append(sa.or_(t.lead_id.in_(ids), t.deal_id.in_(list(by_deal) or [-1])))
        for lead_id, deal_id, at in session.execute(
            sa.select(t.lead_id, t.deal_id, t.done_at).where(*where)
        ):
            owner = lead_id if lead_id is not None else by_deal.get(deal_id)
            if owner is not None:
                out[owner].append(("task", at))
    return out


_COLUMNS = (
    Lead.id,
    Lead.score,
    Lead.above_mql,
    Lead.company_size,
    Lead.source,
    Lead.job_title,
    Lead.deal_id,
)


def _facts(session: Session, workspace_id: int, scoring: Scoring, now: datetime, *where):
    rows = session.execute(
        sa.select(*_COLUMNS).where(Lead.workspace_id == workspace_id, *where)
    ).all()
    kinds = {r.kind for r in scoring.rules if r.kind in ACTIVITY_KINDS}
    since = now - timedelta(days=scoring.window_days)
    events = _events(session, workspace_id, rows, since, kinds)
    return [
        (row, Facts(row.company_size, row.source, row.job_title, tuple(events.get(row.id, ()))))
        for row in rows
    ]


def explain(*, session: Session, lead: Lead, now: datetime) -> tuple[Score, Scoring]:
    """``/lead show``: the lead's score now, rule by rule, and the scoring it follows."""
    session.flush()
    scoring = scoring_of(session=session, workspace_id=lead.workspace_id)
    ((_, facts),) = _facts(session, lead.workspace_id, scoring, now, Lead.id == lead.id)
    return compute(scoring, facts, now), scoring


# ---------------------------------------------------------------- storing, crossing


def recompute(
    *, session: Session, workspace: Workspace, now: datetime, lead_ids: list[int] | None = None
) -> int:
    """Score the workspace's leads (or those of ``lead_ids``) at ``now`` and store what
    changed; act on the threshold crossings. Returns how many leads crossed it now."""
    session.flush()
    scoring = scoring_of(session=session, workspace_id=workspace.id)
    where = [] if lead_ids is None else [Lead.id.in_(lead_ids)]
    changed, risen, fallen = [], [], []
    for row, facts in _facts(session, workspace.id, scoring, now, *where):
        score = compute(scoring, facts, now)
        if score.total != row.score:
            changed.append({"id": row.id, "score": score.total, "scored_at": now})
        above = score.total >= scoring.threshold
        if above and not row.above_mql:
            risen.append((row.id, score))
        elif not above and row.above_mql:
            fallen.append(row.id)
    if changed:
        session.execute(sa.update(Lead), changed)
    if fallen:
        session.execute(
            sa.update(Lead)
            .where(Lead.id.in_(fallen), Lead.above_mql.is_(True))
            .values(above_mql=False)
            .execution_options(synchronize_session=False)
        )
    mql: dict[int, Stage | None] = {}  # the MQL status of each lead pipeline, read once
    crossed = sum(
        _cross(session, workspace, lead_id, Crossing(score, scoring, now), mql)
        for lead_id, score in risen
    )
    touched = {c["id"] for c in changed} | set(fallen) | {lead_id for lead_id, _ in risen}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Lead) and obj.id in touched:
            session.expire(obj)
    return crossed


def lead_changed(*, session: Session, lead: Lead, now: datetime) -> None:
    """A lead was created or changed, or activity of its happened: score it again."""
    from domain import automation

    if session.info.get(automation._PAUSED):  # replaying history (demo, import): the job will
        return
    workspace = session.get(Workspace, lead.workspace_id)
    recompute(session=session, workspace=workspace, now=now, lead_ids=[lead.id])


def deal_activity(*, session: Session, deal_id: int | None, now: datetime) -> None:
    """Activity on a deal counts for the lead it came from (``ix_lead_deal``)."""
    if deal_id is None:
        return
    lead = session.execute(sa.select(Lead).where(Lead.deal_id == deal_id)).scalars().first()
    if lead is not None:
        lead_changed(session=session, lead=lead, now=now)


def task_done(*, session: Session, task: Task, now: datetime) -> None:
    """A task of a lead (or of the deal it became) was done: its lead scores again."""
    lead = session.get(Lead, task.lead_id) if task.lead_id else None
    if lead is not None:
        lead_changed(session=session, lead=lead, now=now)
    else:
        deal_activity(session=session, deal_id=task.deal_id, now=now)


@dataclass(frozen=True)
class Crossing:
    score: Score
    scoring: Scoring
    now: datetime


def _cross(
    session: Session,
    workspace: Workspace,
    lead_id: int,
    crossing: Crossing,
    mql: dict[int, Stage | None],
) -> bool:
    """Claim the crossing (one process wins), move the lead to MQL, tell its owner."""
    now = crossing.now
    number = session.execute(
        sa.update(Lead)
        .where(Lead.id == lead_id, Lead.above_mql.is_(False))
        .values(above_mql=True, mql_crossings=Lead.mql_crossings + 1)
        .returning(Lead.mql_crossings)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if number is None:
        return False  # another process (or an earlier recompute) crossed it already
    lead = session.get(Lead, lead_id, populate_existing=True)
    status = session.get(Stage, lead.status_id)
    if status is None or status.outcome != Outcome.open or lead.deal_id is not None:
        return True  # converted or closed: nobody needs telling
    if status.pipeline_id not in mql:
        mql[status.pipeline_id] = _mql_status(session, status.pipeline_id)
    target = mql[status.pipeline_id]
    if target is not None and status.position < target.position:
        from domain.leads import move_status

        move_status(session=session, lead=lead, source=status, target=target, actor=None, now=now)
        status = target
    owner = session.get(Member, lead.owner_id) if lead.owner_id else None
    if owner is not None:
        _tell(session, workspace, lead, owner, status.name, number, crossing)
    return True


def _mql_status(session: Session, pipeline_id: int) -> Stage | None:
    wanted = set(names.aliases("MQL"))
    stages = session.execute(sa.select(Stage).where(Stage.pipeline_id == pipeline_id)).scalars()
    return next((s for s in stages if names.key(s.name) in wanted), None)


def _tell(
    session: Session,
    workspace: Workspace,
    lead: Lead,
    owner: Member,
    status: str,
    number: int,
    crossing: Crossing,
) -> None:
    from domain.workspaces import member_locale
    from views.scoring import mql_dm  # the DM's words; the domain decides when it is sent

    locale = member_locale(owner, workspace)
    message = mql_dm(lead, status, crossing.score, crossing.scoring, locale)
    outbox.enqueue(
        session,
        workspace_id=workspace.id,
        job=JOB,
        target=f"dm:{owner.slack_user_id}",
        period=f"l{lead.id}/{number}",
        payload={
            "kind": "dm",
            "to": {"dm": owner.slack_user_id},
            "message": {"text": message.text, "blocks": message.blocks},
        },
        now=crossing.now,
    )
