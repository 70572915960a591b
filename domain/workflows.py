"""Workflows: per workspace, trigger + optional conditions → actions (docs/concepts.md).

A workflow runs inside the transaction of the change that triggered it (its posts are
outbox rows of that transaction), so the change and its effects are stored together or
not at all.

**Once per change.** Every trigger names its change (``h<stage history row>`` for a deal
entering a stage, ``l<lead>`` for a new lead, ``d<deal>/<stall episode>``…); a
``workflow_run`` row per (workflow, change) is inserted first, ``ON CONFLICT DO NOTHING``,
and the actions run only when the insert took. A retried request, a second click or a
second replica finds the row and does nothing; the fire count counts runs.

**No loops.** A change a person (or a scheduled job) makes fires workflows (level 1). The
changes their actions make — a converted lead's new deal, a renewal deal, a new owner —
fire workflows once more (level 2), so "lead ≥ 300 employees → convert" is followed by
"deal created → …". Changes made by level-2 actions fire nothing: two workflows can never
set each other off for ever. Cadences are not workflows: a deal a workflow creates still
gets its stage's cadence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from domain.errors import InvalidInput
from storage import outbox
from storage.models import (
    Cadence,
    Company,
    Deal,
    Lead,
    Member,
    Pipeline,
    Stage,
    StageHistory,
    Workflow,
    WorkflowRun,
    Workspace,
)

TRIGGERS = (
    "lead_created",
    "lead_status",
    "deal_created",
    "deal_stage",
    "deal_won",
    "deal_lost",
    "deal_stalled",
    "renewal_due",
)
LEAD_TRIGGERS = frozenset({"lead_created", "lead_status"})
ACTIONS = ("task", "cadence", "convert", "owner", "post", "renewal")
CONDITIONS = (
    *("pipeline", "stage", "amount_min", "amount_max", "owner"),
    *("source", "size_min", "size_max", "text"),
)
TASK_KINDS = ("call", "email", "meeting", "todo")
MAX_DEPTH = 2  # see "No loops" above
MAX_ACTIONS = 10
MAX_DAYS = 365
MAX_MONTHS = 120
MAX_TEXT = 1000
JOB = "workflow"  # the outbox job of workflow posts
_DEPTH = "salesbot.workflow_depth"  # session.info key


# ---------------------------------------------------------------- running


def fire(
    *,
    session: Session,
    workspace: Workspace,
    trigger: str,
    change: str,
    now: datetime,
    deal: Deal | None = None,
    lead: Lead | None = None,
    stage_id: int | None = None,
    actor: Member | None = None,
) -> int:
    """Run the workspace's active workflows for ``trigger`` whose conditions hold, each once
    for ``change``. Returns how many ran."""
    depth = session.info.get(_DEPTH, 0)
    if depth >= MAX_DEPTH:
        return 0
    rules = session.exec(
        select(Workflow)
        .where(
            Workflow.workspace_id == workspace.id,
            Workflow.trigger == trigger,
            Workflow.active.is_(True),
        )
        .order_by(Workflow.id)
    ).all()
    ran = 0
    for rule in rules:
        if rule.stage_id is not None and rule.stage_id != stage_id:
            continue
        if not _holds(session, json.loads(rule.conditions or "{}"), deal=deal, lead=lead):
            continue
        if not _claim(session, rule, change, now):
            continue
        session.execute(
            sa.update(Workflow)
            .where(Workflow.id == rule.id)
            .values(fired=Workflow.fired + 1)
            .execution_options(synchronize_session=False)
        )
        session.info[_DEPTH] = depth + 1
        try:
            for n, action in enumerate(json.loads(rule.actions or "[]")):
                _act(session, workspace, rule, action, f"{change}/{n}", now, deal, lead, actor)
        finally:
            session.info[_DEPTH] = depth
        ran += 1
    return ran


def any_active(*, session: Session, workspace_id: int, trigger: str) -> bool:
    """Whether any workflow would look at ``trigger`` (the scheduled jobs ask first)."""
    return (
        session.execute(
            sa.select(Workflow.id)
            .where(
                Workflow.workspace_id == workspace_id,
                Workflow.trigger == trigger,
                Workflow.active.is_(True),
            )
            .limit(1)
        ).first()
        is not None
    )


def active_in(*, session: Session, workspace_ids: list[int], trigger: str) -> set[int]:
    """Which of ``workspace_ids`` have a workflow that would look at ``trigger`` (the
    scheduler's batches ask for all their workspaces at once)."""
    if not workspace_ids:
        return set()
    return set(
        session.execute(
            sa.select(Workflow.workspace_id)
            .where(
                Workflow.workspace_id.in_(workspace_ids),
                Workflow.trigger == trigger,
                Workflow.active.is_(True),
            )
            .distinct()
        ).scalars()
    )


def _claim(session: Session, rule: Workflow, change: str, now: datetime) -> bool:
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(WorkflowRun)
        .values(workspace_id=rule.workspace_id, workflow_id=rule.id, change=change[:128], at=now)
        .on_conflict_do_nothing(index_elements=["workflow_id", "change"])
        .returning(WorkflowRun.id)
    )
    return session.execute(stmt).first() is not None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _holds(session: Session, cond: dict, *, deal: Deal | None, lead: Lead | None) -> bool:
    """Every condition holds for the subject (a condition about something the subject
    does not have — a lead's amount — does not hold)."""
    if not cond:
        return True
    subject = deal if deal is not None else lead
    if subject is None:
        return False
    if "pipeline" in cond and (deal is None or deal.pipeline_id != cond["pipeline"]):
        return False
    if "stage" in cond:
        stage = deal.stage_id if deal is not None else lead.status_id
        if stage != cond["stage"]:
            return False
    if "amount_min" in cond or "amount_max" in cond:
        if deal is None:
            return False
        low, high = _decimal(cond.get("amount_min")), _decimal(cond.get("amount_max"))
        if (low is not None and deal.amount < low) or (high is not None and deal.amount > high):
            return False
    if "owner" in cond and subject.owner_id != cond["owner"]:
        return False
    source_lead = lead if lead is not None else _lead_of(session, deal)
    if "source" in cond:
        source = (source_lead.source if source_lead else None) or ""
        if source.casefold() != str(cond["source"]).casefold():
            return False
    if "size_min" in cond or "size_max" in cond:
        size = _size(session, subject, source_lead)
        if size is None:
            return False
        if "size_min" in cond and size < int(cond["size_min"]):
            return False
        if "size_max" in cond and size > int(cond["size_max"]):
            return False
    if "text" in cond:
        name = deal.title if deal is not None else lead.name
        company = session.get(Company, subject.company_id) if subject.company_id else None
        haystack = f"{name} {company.name if company else ''}".casefold()
        if str(cond["text"]).casefold() not in haystack:
            return False
    return True


def _lead_of(session: Session, deal: Deal | None) -> Lead | None:
    if deal is None:
        return None
    return session.exec(select(Lead).where(Lead.deal_id == deal.id)).first()


def _size(session: Session, subject, lead: Lead | None) -> int | None:
    if lead is not None and lead.company_size is not None:
        return lead.company_size
    company = session.get(Company, subject.company_id) if subject.company_id else None
    return company.employees if company else None


def _act(session, workspace, rule, action, change, now, deal, lead, actor) -> None:
    do = action.get("do")
    subject = deal if deal is not None else lead
    if do == "task":
        _task(session, workspace, rule, action, change, now, deal, lead)
    elif do == "cadence" and deal is not None:
        _enroll(session, workspace, action, deal, now)
    elif do == "convert" and lead is not None and lead.deal_id is None:
        from domain import leads

        owner = session.get(Member, lead.owner_id) if lead.owner_id else actor
        if owner is not None:
            leads.convert(session=session, workspace=workspace, actor=owner, lead=lead, now=now)
    elif do == "owner" and subject is not None:
        member = _next_owner(session, rule, action.get("members") or [])
        if member is not None and member.id != subject.owner_id:
            if deal is not None:  # told in the deal's timeline, by Salesbot
                from domain.deals import _activity

                _activity(session, deal, "owner", None, now, old=deal.owner_id, new=member.id)
                deal.version += 1
                deal.updated_at = now
            subject.owner_id = member.id
            session.add(subject)
            session.flush()
    elif do == "post" and action.get("channel"):
        _post(session, workspace, rule, action, change, now, deal, lead)
    elif do == "renewal" and deal is not None and deal.closed_at is not None:
        from domain import renewals

        renewals.create_renewal(
            session=session,
            deal=deal,
            months=int(action.get("months") or 12),
            now=now,
            actor=actor,
        )


def _task(session, workspace, rule, action, change, now, deal, lead) -> None:
    from domain import tasks
    from domain.cadences import step_due

    subject = deal if deal is not None else lead
    owner_id = action.get("member") or (subject.owner_id if subject is not None else None)
    owner = session.get(Member, owner_id) if owner_id else None
    if owner is None or owner.workspace_id != workspace.id:
        return
    due = step_due(
        now,
        int(action.get("days") or 0),
        tz=workspace.timezone,
        business_days=workspace.stall_business_days,
        country=workspace.holiday_country,
    )
    tasks.create_task(
        session=session,
        workspace=workspace,
        owner=owner,
        text=action.get("text") or "",
        kind=action.get("kind") or "todo",
        due_at=due,
        deal=deal,
        lead=lead,
        origin=f"workflow:{rule.id}:{change}"[:255],
    )


def _enroll(session, workspace, action, deal, now) -> None:
    from domain.cadences import enroll

    cadence = session.get(Cadence, action.get("cadence") or 0)
    if cadence is None or cadence.workspace_id != workspace.id:
        return
    stay = session.execute(
        sa.select(StageHistory.id, StageHistory.at)
        .where(StageHistory.deal_id == deal.id, StageHistory.left_at.is_(None))
        .order_by(StageHistory.at.desc(), StageHistory.id.desc())
    ).first()
    if stay is None:
        return
    enroll(
        session=session,
        workspace=workspace,
        deal=deal,
        cadence=cadence,
        history_id=stay[0],
        entered_at=now,
    )


def _next_owner(session: Session, rule: Workflow, members: list[int]) -> Member | None:
    """The named member, or the next of a round-robin list (the cursor moves atomically)."""
    if not members:
        return None
    if len(members) == 1:
        member_id = members[0]
    else:
        turn = session.execute(
            sa.update(Workflow)
            .where(Workflow.id == rule.id)
            .values(turn=Workflow.turn + 1)
            .returning(Workflow.turn)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        member_id = members[(turn - 1) % len(members)]
    member = session.get(Member, member_id)
    return member if member is not None and member.workspace_id == rule.workspace_id else None


def _post(session, workspace, rule, action, change, now, deal, lead) -> None:
    """The admin's text in a channel, with the deal or lead it is about (through the outbox,
    keyed by workflow and change: posted once)."""
    channel = str(action["channel"])
    about = ""
    if deal is not None:
        about = f"\nD{deal.number} · {deal.title}"
    elif lead is not None:
        about = f"\nL{lead.number} · {lead.name}"
    text = f"{action.get('text') or ''}{about}".strip()
    outbox.enqueue(
        session,
        workspace_id=workspace.id,
        job=JOB,
        target=f"ch:{channel}",
        period=f"w{rule.id}/{change}"[:120],
        payload={"kind": "channel", "to": {"channel": channel}, "message": {"text": text}},
        now=now,
    )


# ---------------------------------------------------------------- editing


@dataclass(frozen=True)
class WorkflowSpec:
    """A workflow as the editor gives it, names already resolved to ids."""

    trigger: str
    actions: list[dict[str, Any]]
    conditions: dict[str, Any]
    stage_id: int | None = None
    active: bool = True


@dataclass(frozen=True)
class WorkflowDraft:
    """A workflow as written: stage, pipeline, member and cadence names not yet looked up
    (members as ``{"slack_id": …}`` or ``{"name": …}``)."""

    trigger: str
    stage: str | None
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]


def resolve(*, session: Session, workspace: Workspace, draft: WorkflowDraft) -> WorkflowSpec:
    """Names → ids, in the workspace (an unknown one raises the usual "not found")."""
    from domain.leads import lead_statuses
    from domain.refs import find_member, find_pipeline, match_stage, stages_of

    def member_id(ref: dict) -> int:
        return find_member(
            session=session,
            workspace_id=workspace.id,
            slack_id=ref.get("slack_id"),
            name=ref.get("name"),
        ).id

    cond = dict(draft.conditions)
    pipeline = None
    if "pipeline" in cond:
        pipeline = find_pipeline(session=session, workspace_id=workspace.id, name=cond["pipeline"])
        cond["pipeline"] = pipeline.id
    if draft.trigger in LEAD_TRIGGERS:
        stages = lead_statuses(session=session, workspace_id=workspace.id)
    else:
        if pipeline is None:
            pipeline = find_pipeline(session=session, workspace_id=workspace.id, name=None)
        stages = stages_of(session=session, pipeline_id=pipeline.id)
    if "stage" in cond:
        cond["stage"] = match_stage(stages, cond["stage"]).id
    if "owner" in cond:
        cond["owner"] = member_id(cond["owner"])
    stage_id = match_stage(stages, draft.stage).id if draft.stage else None
    actions = []
    for action in draft.actions:
        action = dict(action)
        if isinstance(action.get("member"), dict):
            action["member"] = member_id(action["member"])
        if "members" in action:
            action["members"] = [member_id(m) for m in action["members"]]
        if isinstance(action.get("cadence"), str):
            action["cadence"] = _cadence_id(session, workspace.id, action["cadence"])
        actions.append(action)
    return WorkflowSpec(draft.trigger, actions, cond, stage_id=stage_id)


def _cadence_id(session: Session, workspace_id: int, name: str) -> int:
    rows = session.exec(select(Cadence).where(Cadence.workspace_id == workspace_id)).all()
    wanted = name.strip().casefold()
    for cadence in rows:
        if cadence.name.casefold() == wanted:
            return cadence.id
    names = ", ".join(c.name for c in rows) or "-"
    raise InvalidInput("workflow.cadence_not_found", text=name, names=names)


def check(spec: WorkflowSpec) -> None:
    """Refuse a workflow that could not run: no action, an action its trigger has no
    subject for, numbers out of range."""
    if spec.trigger not in TRIGGERS:
        raise InvalidInput("workflow.bad_trigger", value=spec.trigger)
    if not spec.actions:
        raise InvalidInput("workflow.no_action")
    if len(spec.actions) > MAX_ACTIONS:
        raise InvalidInput("workflow.too_many_actions", limit=MAX_ACTIONS)
    on_lead = spec.trigger in LEAD_TRIGGERS
    for action in spec.actions:
        do = action.get("do")
        if do not in ACTIONS:
            raise InvalidInput("workflow.bad_action", value=str(do))
        if do == "task":
            text = (action.get("text") or "").strip()
            if not text or len(text) > MAX_TEXT:
                raise InvalidInput("workflow.task_text", limit=MAX_TEXT)
            if not 0 <= int(action.get("days") or 0) <= MAX_DAYS:
                raise InvalidInput("workflow.bad_days", limit=MAX_DAYS)
        if do in ("cadence", "renewal") and on_lead:
            raise InvalidInput(f"workflow.{do}_needs_deal")
        if do == "convert" and not on_lead:
            raise InvalidInput("workflow.convert_needs_lead")
        if do == "renewal" and spec.trigger != "deal_won":
            raise InvalidInput("workflow.renewal_needs_won")
        if do == "renewal" and not 1 <= int(action.get("months") or 0) <= MAX_MONTHS:
            raise InvalidInput("workflow.bad_months", limit=MAX_MONTHS)
        if do == "owner" and not action.get("members"):
            raise InvalidInput("workflow.owner_needs_member")
        if do == "post" and not action.get("channel"):
            raise InvalidInput("workflow.post_needs_channel")
    if spec.trigger == "deal_stage" and spec.stage_id is None:
        raise InvalidInput("workflow.stage_required")


def add_workflow(
    *, session: Session, actor: Member, workspace: Workspace, spec: WorkflowSpec
) -> Workflow:
    """Admins only; everything is checked before the row is written."""
    from domain.workspaces import require_admin

    require_admin(actor)
    check(spec)
    rule = Workflow(
        workspace_id=workspace.id,
        trigger=spec.trigger,
        stage_id=spec.stage_id,
        conditions=json.dumps(spec.conditions, ensure_ascii=False, default=str),
        actions=json.dumps(spec.actions, ensure_ascii=False, default=str),
        active=spec.active,
    )
    session.add(rule)
    session.flush()
    return rule


def set_active(
    *, session: Session, actor: Member, workspace: Workspace, active_ids: set[int]
) -> int:
    """Switch the workspace's workflows on (those in ``active_ids``) and off (the rest);
    returns how many changed."""
    from domain.workspaces import require_admin

    require_admin(actor)
    changed = 0
    for rule in workspace_workflows(session=session, workspace_id=workspace.id):
        on = rule.id in active_ids
        if rule.active != on:
            rule.active = on
            session.add(rule)
            changed += 1
    session.flush()
    return changed


def workspace_workflows(*, session: Session, workspace_id: int) -> list[Workflow]:
    return list(
        session.exec(
            select(Workflow).where(Workflow.workspace_id == workspace_id).order_by(Workflow.id)
        )
    )


def add_defaults(*, session: Session, workspace: Workspace, new_business: Pipeline) -> None:
    """docs/concepts.md's examples for a new workspace: a first-call task for every new lead;
    a lead from a company of 300 or more converted at once (off); a won New business deal
    renewed in 12 months."""
    first_call = "첫 통화" if workspace.locale == "ko" else "First call"
    specs = (
        WorkflowSpec(
            "lead_created", [{"do": "task", "text": first_call, "kind": "call", "days": 1}], {}
        ),
        WorkflowSpec("lead_created", [{"do": "convert"}], {"size_min": 300}, active=False),
        WorkflowSpec("deal_won", [{"do": "renewal", "months": 12}], {"pipeline": new_business.id}),
    )
    for spec in specs:
        session.add(
            Workflow(
                workspace_id=workspace.id,
                trigger=spec.trigger,
                conditions=json.dumps(spec.conditions),
                actions=json.dumps(spec.actions, ensure_ascii=False),
                active=spec.active,
            )
        )


# ---------------------------------------------------------------- reading, for the views


@dataclass(frozen=True)
class WorkflowRow:
    """A workflow with every id it holds turned into the name to show."""

    id: int
    trigger: str
    stage: str | None
    conditions: dict[str, Any]  # values to show: names, amounts, numbers
    actions: list[dict[str, Any]]
    active: bool
    fired: int


def workflow_rows(*, session: Session, workspace: Workspace) -> list[WorkflowRow]:
    names = _names(session, workspace.id)
    rows = []
    for rule in workspace_workflows(session=session, workspace_id=workspace.id):
        cond = dict(json.loads(rule.conditions or "{}"))
        for key, table in (("pipeline", "pipeline"), ("stage", "stage"), ("owner", "member")):
            if key in cond:
                cond[key] = names[table].get(cond[key], "?")
        actions = []
        for action in json.loads(rule.actions or "[]"):
            action = dict(action)
            if "member" in action and action["member"]:
                action["member"] = names["member"].get(action["member"], "?")
            if "members" in action:
                action["members"] = [names["member"].get(m, "?") for m in action["members"]]
            if "cadence" in action:
                action["cadence"] = names["cadence"].get(action["cadence"], "?")
            actions.append(action)
        stage = names["stage"].get(rule.stage_id) if rule.stage_id else None
        rows.append(
            WorkflowRow(rule.id, rule.trigger, stage, cond, actions, rule.active, rule.fired)
        )
    return rows


def _names(session: Session, workspace_id: int) -> dict[str, dict[int, str]]:
    def pairs(*columns, where) -> dict[int, str]:
        return dict(session.execute(sa.select(*columns).where(where)).all())

    return {
        "pipeline": pairs(Pipeline.id, Pipeline.name, where=Pipeline.workspace_id == workspace_id),
        "stage": pairs(Stage.id, Stage.name, where=Stage.workspace_id == workspace_id),
        "member": pairs(Member.id, Member.slack_user_id, where=Member.workspace_id == workspace_id),
        "cadence": pairs(Cadence.id, Cadence.name, where=Cadence.workspace_id == workspace_id),
    }
