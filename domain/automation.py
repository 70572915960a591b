"""The one place changes to deals and leads set cadences and workflows going.

:mod:`domain.deals` calls :func:`stage_entered` for every path a deal enters a stage (created
in it, moved, won, lost; a converted lead and a workflow's renewal are created deals too);
:mod:`domain.leads` calls :func:`lead_created` and :func:`lead_status_changed`. All of it
runs in the caller's transaction: the change and what it set going are stored together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlmodel import Session

from domain import alerts, cadences, workflows
from storage.models import Deal, Lead, Member, Outcome, Stage, StageHistory, Workspace

_PAUSED = "salesbot.automation_paused"  # session.info key


@contextmanager
def paused(session: Session) -> Iterator[None]:
    """Replaying history (the demo's past months, an import of old deals): no cadence, no
    workflow for the changes made inside."""
    before = session.info.get(_PAUSED, False)
    session.info[_PAUSED] = True
    try:
        yield
    finally:
        session.info[_PAUSED] = before


def stage_entered(
    *,
    session: Session,
    deal: Deal,
    history: StageHistory,
    target: Stage,
    actor: Member | None,
    now: datetime,
    source: Stage | None = None,
) -> None:
    """``deal`` entered ``target`` (its stay: ``history``), coming from ``source`` (None: the
    deal was just created in it): the old stay's cadence tasks are skipped, the workflows
    run, then the stage's cadence starts (for the owner the workflows may have set)."""
    if session.info.get(_PAUSED):
        return
    workspace = session.get(Workspace, deal.workspace_id)
    if source is not None:
        cadences.left(session=session, deal=deal, stage_id=source.id, now=now)
    change = f"h{history.id}"
    fire = {"session": session, "workspace": workspace, "now": now, "deal": deal, "actor": actor}
    if source is None:
        workflows.fire(trigger="deal_created", change=f"d{deal.id}", **fire)
    workflows.fire(trigger="deal_stage", change=change, stage_id=target.id, **fire)
    if target.outcome == Outcome.won:
        workflows.fire(trigger="deal_won", change=change, **fire)
    elif target.outcome == Outcome.lost:
        workflows.fire(trigger="deal_lost", change=change, **fire)
    # Issue 16: the admins' alert routes (won, lost, moved, created) post to their channels.
    alerts.stage_entered(
        session=session, deal=deal, source=source, target=target, change=change, now=now
    )
    # After the workflows: an owner a workflow just set gets the stage's cadence.
    cadences.entered(
        session=session, workspace=workspace, deal=deal, history_id=history.id, entered_at=now
    )


def lead_created(
    *, session: Session, workspace: Workspace, lead: Lead, actor: Member | None, now: datetime
) -> None:
    if session.info.get(_PAUSED):
        return
    workflows.fire(
        session=session,
        workspace=workspace,
        trigger="lead_created",
        change=f"l{lead.id}",
        now=now,
        lead=lead,
        actor=actor,
    )


def lead_status_changed(
    *, session: Session, lead: Lead, activity_id: int, actor: Member | None, now: datetime
) -> None:
    if session.info.get(_PAUSED):
        return
    workflows.fire(
        session=session,
        workspace=session.get(Workspace, lead.workspace_id),
        trigger="lead_status",
        change=f"l{lead.id}/a{activity_id}",
        now=now,
        lead=lead,
        stage_id=lead.status_id,
        actor=actor,
    )


STALLED = "deal_stalled"  # the trigger the stall-warnings job fires


def deals_stalled(
    *,
    session: Session,
    workspace: Workspace,
    stalls: list[tuple[int, str]],
    now: datetime,
    active: bool | None = None,
) -> None:
    """From the stall-warnings job: ``(deal id, episode)`` pairs, each fired once.
    ``active``: whether the workspace has an active "deal stalled" workflow, when the
    caller read that already (:func:`domain.workflows.active_in`)."""
    _from_job(session, workspace, STALLED, stalls, now, active)


def renewals_approaching(
    *, session: Session, workspace: Workspace, renewals: list[tuple[int, str]], now: datetime
) -> None:
    """From the renewal-alerts job: ``(deal id, alert period)`` pairs, each fired once."""
    _from_job(session, workspace, "renewal_due", renewals, now)


def _from_job(
    session, workspace, trigger: str, items: list[tuple[int, str]], now, active=None
) -> None:
    if session.info.get(_PAUSED) or not items:
        return
    if active is None:
        active = workflows.any_active(session=session, workspace_id=workspace.id, trigger=trigger)
    if not active:
        return
    for deal_id, period in items:
        deal = session.get(Deal, deal_id)
        if deal is None:
            continue
        workflows.fire(
            session=session,
            workspace=workspace,
            trigger=trigger,
            change=period,
            now=now,
            deal=deal,
        )
