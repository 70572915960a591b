"""Cadences: a stage's follow-up plan that turns into the owner's tasks (docs/concepts.md).

A cadence is attached to one stage. When a deal enters the stage (created in it, moved,
converted, imported: every path goes through :func:`domain.automation.stage_entered`) its
owner gets one task per step, due relative to the entry:

- **Day N** is N days after the local date the deal entered the stage (in the workspace's
  timezone), at 09:00 local; with the workspace's business-day setting (the one the stall
  clock uses) it is the N-th business day after it, weekends and the workspace country's
  public holidays skipped. Day 0 is the entry day itself (due at the entry if that is later
  than 09:00).
- A task's ``origin`` is ``cadence:<cadence>:h<stage history row>:<step>``: one entry into a
  stage never gets the same step twice (a retried request, a double click, two replicas),
  while a deal that leaves and comes back gets the cadence again.
- Leaving the stage closes that stage's open cadence tasks as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from domain.errors import InvalidInput
from domain.stall import is_business_day
from storage.models import Cadence, CadenceStep, Deal, Member, Stage, Workspace

KINDS = ("call", "email", "meeting", "todo")
MAX_STEPS = 20
MAX_OFFSET = 365
MAX_TEXT = 1000
MAX_NAME = 100
DUE_TIME = time(9, 0)

# The playbook (issue 14): (day, kind, English text, Korean text).
PLAYBOOK_NAME = {"en": "Playbook", "ko": "플레이북"}
PLAYBOOK = (
    (1, "call", "Discovery call", "첫 통화 (니즈 파악)"),
    (2, "email", "Follow-up email", "후속 이메일"),
    (4, "call", "Second call", "두 번째 통화"),
    (7, "email", "Email with the deck", "소개 자료 첨부 이메일"),
    (10, "call", "Third call", "세 번째 통화"),
    (14, "email", "Final email", "마지막 이메일"),
)


@dataclass(frozen=True)
class StepSpec:
    """A step as written in the editor: day offset, kind, text."""

    offset: int
    kind: str
    text: str


def add_business_days(day: date, n: int, country: str) -> date:
    """The ``n``-th business day after ``day`` (``day`` itself for 0)."""
    while n > 0:
        day += timedelta(days=1)
        if is_business_day(day, country):
            n -= 1
    return day


def step_due(
    entered_at: datetime,
    offset: int,
    *,
    tz: str,
    business_days: bool = False,
    country: str = "KR",
) -> datetime:
    """When step ``offset`` of a cadence is due for an entry at ``entered_at`` (see above)."""
    if entered_at.tzinfo is None:
        raise ValueError("step_due needs an aware datetime")
    zone = ZoneInfo(tz)
    entered_day = entered_at.astimezone(zone).date()
    if business_days:
        day = add_business_days(entered_day, offset, country)
    else:
        day = entered_day + timedelta(days=offset)
    due = datetime.combine(day, DUE_TIME, tzinfo=zone)
    return max(due, entered_at.astimezone(zone))


def add_playbook(*, session: Session, workspace: Workspace, stage: Stage) -> Cadence:
    """The default cadence of a new workspace's first New business stage, in its language."""
    korean = workspace.locale == "ko"
    cadence = Cadence(
        workspace_id=workspace.id,
        stage_id=stage.id,
        name=PLAYBOOK_NAME["ko" if korean else "en"],
    )
    session.add(cadence)
    session.flush()
    for position, (day, kind, en, ko) in enumerate(PLAYBOOK, start=1):
        session.add(
            CadenceStep(
                workspace_id=workspace.id,
                cadence_id=cadence.id,
                position=position,
                day_offset=day,
                kind=kind,
                text=ko if korean else en,
            )
        )
    return cadence


def cadence_of_stage(*, session: Session, stage_id: int) -> Cadence | None:
    return session.exec(select(Cadence).where(Cadence.stage_id == stage_id)).first()


def cadence_steps(*, session: Session, cadence: Cadence) -> list[CadenceStep]:
    return list(
        session.exec(
            select(CadenceStep)
            .where(CadenceStep.cadence_id == cadence.id)
            .order_by(CadenceStep.position, CadenceStep.id)
        )
    )


def enroll(
    *,
    session: Session,
    workspace: Workspace,
    deal: Deal,
    cadence: Cadence,
    history_id: int,
    entered_at: datetime,
    created_by: Member | None = None,
) -> int:
    """The cadence's steps as the deal owner's tasks for one stay (``history_id``), tied to
    the deal's current stage so leaving it skips them. Returns how many steps it has."""
    from domain import tasks

    if deal.owner_id is None:
        return 0
    owner = session.get(Member, deal.owner_id)
    created = 0
    for step in cadence_steps(session=session, cadence=cadence):
        due = step_due(
            entered_at,
            step.day_offset,
            tz=workspace.timezone,
            business_days=workspace.stall_business_days,
            country=workspace.holiday_country,
        )
        tasks.create_task(
            session=session,
            workspace=workspace,
            owner=owner,
            text=step.text,
            kind=step.kind,
            due_at=due,
            deal=deal,
            origin=f"cadence:{cadence.id}:h{history_id}:{step.id}",
            stage_id=deal.stage_id,
            created_by=created_by,
        )
        created += 1
    return created


def entered(
    *, session: Session, workspace: Workspace, deal: Deal, history_id: int, entered_at: datetime
) -> None:
    """A deal entered its current stage: the stage's cadence, when it has an active one."""
    cadence = cadence_of_stage(session=session, stage_id=deal.stage_id)
    if cadence is None or not cadence.active:
        return
    enroll(
        session=session,
        workspace=workspace,
        deal=deal,
        cadence=cadence,
        history_id=history_id,
        entered_at=entered_at,
    )


def left(*, session: Session, deal: Deal, stage_id: int, now: datetime) -> None:
    """A deal left ``stage_id``: its open tasks of that stay are closed as skipped."""
    from domain import tasks

    tasks.skip_open_tasks(session=session, deal=deal, stage_id=stage_id, now=now)


# ---------------------------------------------------------------- the editor


def _check_steps(steps: list[StepSpec]) -> None:
    if len(steps) > MAX_STEPS:
        raise InvalidInput("cadence.too_many_steps", limit=MAX_STEPS)
    for n, step in enumerate(steps, start=1):
        if not 0 <= step.offset <= MAX_OFFSET:
            raise InvalidInput(
                "cadence.bad_offset", line=n, value=str(step.offset), limit=MAX_OFFSET
            )
        if step.kind not in KINDS:
            raise InvalidInput("cadence.bad_kind", line=n, value=step.kind)
        if not step.text.strip():
            raise InvalidInput("cadence.text_required", line=n)
        if len(step.text) > MAX_TEXT:
            raise InvalidInput("cadence.text_too_long", line=n, limit=MAX_TEXT)


def save_cadence(
    *,
    session: Session,
    actor: Member,
    stage: Stage,
    name: str,
    active: bool,
    steps: list[StepSpec],
) -> Cadence | None:
    """Replace the stage's cadence (admins only). No steps removes it; tasks already made
    stay as they are. Everything is checked before anything is written."""
    from domain.workspaces import require_admin

    require_admin(actor)
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise InvalidInput("cadence.name_too_long", limit=MAX_NAME)
    _check_steps(steps)
    cadence = cadence_of_stage(session=session, stage_id=stage.id)
    if not steps:
        if cadence is not None:
            session.delete(cadence)
            session.flush()
        return None
    if not name:
        raise InvalidInput("cadence.name_required")
    if cadence is None:
        cadence = Cadence(workspace_id=stage.workspace_id, stage_id=stage.id, name=name)
    cadence.name = name
    cadence.active = active
    session.add(cadence)
    session.flush()
    for old in cadence_steps(session=session, cadence=cadence):
        session.delete(old)
    session.flush()
    for position, step in enumerate(steps, start=1):
        session.add(
            CadenceStep(
                workspace_id=stage.workspace_id,
                cadence_id=cadence.id,
                position=position,
                day_offset=step.offset,
                kind=step.kind,
                text=step.text.strip(),
            )
        )
    session.flush()
    return cadence
