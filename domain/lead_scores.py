"""Lead scores stored, and the MQL threshold acted on (the rules and the score itself are
:mod:`domain.scoring`).

:func:`recompute` scores leads at ``now`` and stores what changed. A lead whose score
reaches the workspace's threshold while below it before *crosses* it. A crossing is claimed by
one conditional ``UPDATE … WHERE above_mql = false`` (one process wins, however many
recompute at once), counted in ``mql_crossings``, moves an open lead still before the ``MQL``
status to ``MQL`` (the status every workspace has, domain.names), and tells the lead's owner
by DM through the outbox under the key ``mql:<ws>:dm:<owner>:l<lead>/<crossing>``: once per
crossing. Falling below the threshold (decay, stricter rules) clears ``above_mql`` so a later
crossing tells the owner again; the status is left where it is. Leads are recomputed when
created or changed, when a note or a task of theirs is added or done, when activity happens
on the deal they became, when the rules change, and daily by the ``lead-scores`` job (decay).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from domain import custom_fields, names
from domain.errors import InvalidInput
from domain.scoring import (
    ACTIVITY_KINDS,
    COMPARE,
    DEFAULT,
    Facts,
    Score,
    Scoring,
    check,
    compute,
    rules_from_json,
)
from domain.workspaces import require_admin
from storage import outbox
from storage.models import (
    Activity,
    CustomField,
    Lead,
    LeadScoring,
    Member,
    Outcome,
    Stage,
    Task,
    TaskStatus,
    Workspace,
)

JOB = "mql"  # the outbox job of MQL DMs


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


def save(
    *, session: Session, actor: Member, workspace: Workspace, scoring: Scoring, now: datetime
) -> int:
    """Admins replace the workspace's scoring; every lead is scored again at once (crossings
    included). Returns how many leads crossed the threshold."""
    require_admin(actor)
    check(scoring)
    scoring = _check_fields(session, workspace.id, scoring)
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


def _check_fields(session: Session, workspace_id: int, scoring: Scoring) -> Scoring:
    """A field rule names a live custom field for leads (by key or name: kept by key);
    ``>=`` and the like a number or money field; an equality a field that can equal text
    (not a member, a date, a checkbox)."""
    rules = []
    for rule in scoring.rules:
        if rule.kind == "field":
            rule = replace(rule, key=_rule_field(session, workspace_id, rule).key)
        rules.append(rule)
    return replace(scoring, rules=tuple(rules))


def _rule_field(session: Session, workspace_id: int, rule) -> CustomField:
    try:
        field = custom_fields.find(
            session=session, workspace_id=workspace_id, entity="leads", key=rule.key or ""
        )
    except InvalidInput:
        raise InvalidInput("leadset.rule_unknown_field", value=rule.key or "") from None
    numeric = field.kind in ("number", "money")
    if rule.op in COMPARE and not numeric:
        raise InvalidInput("leadset.rule_not_number", field=field.name, op=rule.op)
    if field.kind in ("member", "date", "checkbox"):
        raise InvalidInput("leadset.rule_kind", field=field.name)
    return field


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
    # A few leads are found by their ids alone (ix_activity_lead, ix_task_lead: the ids are
    # the workspace's already), the whole workspace by its id.
    if talk:
        a = Activity
        where = [a.kind.in_(talk), a.at >= since]
        if whole:
            where.append(a.workspace_id == workspace_id)
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
        where = [t.status == TaskStatus.done, t.done_at >= since]
        if whole:
            where.append(t.workspace_id == workspace_id)
        else:
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
    custom = _custom(session, workspace_id, scoring, [row.id for row in rows])
    return [
        (
            row,
            Facts(
                row.company_size, row.source, row.job_title, tuple(events.get(row.id, ())),
                custom.get(row.id, {}),
            ),
        )
        for row in rows
    ]  # fmt: skip


def _custom(session: Session, workspace_id: int, scoring: Scoring, ids: list[int]) -> dict:
    """``{lead id: {key: value}}`` of the custom fields the field rules read (none: no query)."""
    keys = {r.key for r in scoring.rules if r.kind == "field"}
    if not keys or not ids:
        return {}
    defs = [
        f
        for f in custom_fields.fields(session=session, workspace_id=workspace_id, entity="leads")
        if f.key in keys
    ]
    out: dict[int, dict] = {}
    for start in range(0, len(ids), 1000):
        got = custom_fields.values_of(
            session=session, fields=defs, record_ids=ids[start : start + 1000]
        )
        for lead_id, values in got.items():
            out[lead_id] = {f.key: values.get(f.id) for f in defs}
    return out


def explain(*, session: Session, lead: Lead, now: datetime) -> tuple[Score, Scoring]:
    """``/lead show``: the lead's score now, rule by rule, and the scoring it follows."""
    session.flush()
    scoring = scoring_of(session=session, workspace_id=lead.workspace_id)
    ((_, facts),) = _facts(session, lead.workspace_id, scoring, now, Lead.id == lead.id)
    return compute(scoring, facts, now), scoring


# ---------------------------------------------------------------- storing, crossing


def recompute(
    *,
    session: Session,
    workspace: Workspace,
    now: datetime,
    lead_ids: list[int] | None = None,
    act: bool = True,
) -> int:
    """Score the workspace's leads (or those of ``lead_ids``) at ``now`` and store what
    changed; act on the threshold crossings. Returns how many leads crossed it now.

    ``act=False`` is for history brought in (the demo, an import): a lead above the threshold
    is marked as above it, as if it crossed back then, without a status move or a DM — else
    a first import would DM its owners about every good lead at once."""
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
    if risen and not act:
        session.execute(
            sa.update(Lead)
            .where(Lead.id.in_([lead_id for lead_id, _ in risen]))
            .values(above_mql=True)
            .execution_options(synchronize_session=False)
        )
        risen = []
    mql: dict[int, Stage | None] = {}  # the MQL status of each lead pipeline, read once
    # The whole workspace: each crossed lead leaves the session once done, so thousands of
    # crossings (a first run, a lower threshold) do not make every flush slower.
    forget = lead_ids is None
    crossed = sum(
        _cross(session, workspace, lead_id, Crossing(score, scoring, now), mql, forget)
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
    forget: bool = False,
) -> bool:
    """Claim the crossing (one process wins), move the lead to MQL, tell its owner; with
    ``forget``, the lead and its new activity leave the session afterwards."""
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
    moved = []
    if target is not None and status.position < target.position:
        from domain.leads import move_status

        moved.append(
            move_status(
                session=session, lead=lead, source=status, target=target, actor=None, now=now
            )
        )
        status = target
    owner = session.get(Member, lead.owner_id) if lead.owner_id else None
    if owner is not None:
        _tell(session, workspace, lead, owner, status.name, number, crossing)
    if forget:
        session.flush()
        for obj in (*moved, lead):
            session.expunge(obj)
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
