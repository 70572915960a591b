"""BANT qualification: Budget, Authority, Need, Timeline, a checklist on New business deals.

``deal.qualification`` holds one bit per criterion met (:data:`CRITERIA` order). The checklist
applies to the deals of the New business pipeline: the workspace's default deal pipeline, or
one named "New business" / "신규 영업" (domain.names). Other pipelines (Renewals, custom
ones) have none: :func:`checklist` is None for their deals and ``/deal qualify`` says so.

"Past Qualification" (the weekly summary's count) is an open deal in a stage whose position
comes after the pipeline's Qualification stage (``Qualification`` / ``니즈 파악`` or an alias);
a pipeline without such a stage counts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from domain import names
from domain.deals import lock_deal, require_can_change
from domain.errors import InvalidInput
from domain.refs import stages_of
from storage.config_version import kept
from storage.models import Activity, Deal, Member, Outcome, Pipeline, PipelineKind, Stage

CRITERIA = ("budget", "authority", "need", "timeline")
ALL = (1 << len(CRITERIA)) - 1
QUALIFICATION_STAGE = names.NEW_BUSINESS[1]  # ("Qualification", "니즈 파악", …)


def bit(criterion: str) -> int:
    return 1 << CRITERIA.index(criterion)


def met(mask: int) -> tuple[bool, ...]:
    """``0b0101`` → (True, False, True, False): budget and need met."""
    return tuple(bool(mask & bit(c)) for c in CRITERIA)


def applies(pipeline: Pipeline) -> bool:
    """The New business pipeline: the default deal pipeline, or one named so."""
    if pipeline.kind != PipelineKind.deal:
        return False
    return pipeline.is_default or names.key(pipeline.name) in names.aliases(names.PIPELINES[0][0])


def checklist_pipelines(session: Session, workspace) -> frozenset[int]:
    """Ids of the workspace's pipelines that have the checklist, kept per ``config_version``
    (a pipeline's change bumps it): a card asks this instead of reading its pipeline."""

    def load() -> frozenset[int]:
        query = sa.select(Pipeline).where(Pipeline.workspace_id == workspace.id)
        return frozenset(p.id for p in session.execute(query).scalars() if applies(p))

    return kept(session, workspace, "checklist_pipelines", load)


def checklist_of(*, session: Session, workspace, deal) -> tuple[bool, ...] | None:
    """:func:`checklist` for a deal of ``workspace`` (a row or an entity), without a read."""
    if deal.pipeline_id not in checklist_pipelines(session, workspace):
        return None
    return met(deal.qualification or 0)


def checklist(*, session: Session, deal: Deal) -> tuple[bool, ...] | None:
    """The deal's BANT as (budget, authority, need, timeline) met, or None when its pipeline
    has no checklist."""
    pipeline = session.get(Pipeline, deal.pipeline_id)
    if pipeline is None or not applies(pipeline):
        return None
    return met(deal.qualification or 0)


@dataclass(frozen=True)
class Qualified:
    deal: Deal
    before: int
    after: int

    @property
    def changed(self) -> tuple[tuple[str, bool], ...]:
        """The criteria this change ticked (True) or unticked (False), in BANT order."""
        return tuple(
            (c, bool(self.after & bit(c))) for c in CRITERIA if (self.before ^ self.after) & bit(c)
        )


def qualify(
    *,
    session: Session,
    actor: Member,
    deal: Deal,
    now: datetime,
    tick: frozenset[str] = frozenset(),
    untick: frozenset[str] = frozenset(),
) -> Qualified:
    """Tick and untick criteria on the deal (its owner, or a manager). Ticking what is already
    ticked changes nothing and is no error; the activity records what changed."""
    unknown = (tick | untick) - set(CRITERIA)
    if unknown:
        raise InvalidInput("qualify.unknown", value=sorted(unknown)[0])
    require_can_change(actor, deal)
    if checklist(session=session, deal=deal) is None:
        pipeline = session.get(Pipeline, deal.pipeline_id)
        raise InvalidInput("qualify.no_checklist", number=deal.number, pipeline=pipeline.name)
    deal = lock_deal(session, deal)
    before = deal.qualification or 0
    after = before
    for criterion in tick:
        after |= bit(criterion)
    for criterion in untick:
        after &= ~bit(criterion)
    result = Qualified(deal=deal, before=before, after=after)
    if after != before:
        deal.qualification = after
        deal.updated_at = now
        deal.version = (deal.version or 0) + 1
        session.add(deal)
        session.add(
            Activity(
                workspace_id=deal.workspace_id,
                deal_id=deal.id,
                kind="qualified",
                text=" ".join(("+" if on else "-") + c for c, on in result.changed),
                author_id=actor.id,
                at=now,
            )
        )
        session.flush()
    return result


def past_qualification(stages: list[Stage]) -> list[int]:
    """The ids of the open stages after the Qualification stage (none without one)."""
    wanted = {names.key(n) for n in QUALIFICATION_STAGE}
    qualification = next((s for s in stages if names.key(s.name) in wanted), None)
    if qualification is None:
        return []
    return [
        s.id for s in stages if s.outcome == Outcome.open and s.position > qualification.position
    ]


def unqualified_past_qualification(*, session: Session, pipeline: Pipeline) -> int | None:
    """Open deals of the pipeline past its Qualification stage with a criterion unmet; None
    for a pipeline without the checklist.

    Counted index-only: ``ix_deal_open_stage`` carries ``qualification`` (migration
    0023_weekly)."""
    if not applies(pipeline):
        return None
    stage_ids = past_qualification(stages_of(session=session, pipeline_id=pipeline.id))
    if not stage_ids:
        return 0
    return session.execute(
        sa.select(sa.func.count())
        .select_from(Deal)
        .where(
            Deal.workspace_id == pipeline.workspace_id,
            Deal.closed_at.is_(None),
            Deal.stage_id.in_(stage_ids),
            Deal.qualification != ALL,
        )
    ).scalar_one()
