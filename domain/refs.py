"""Resolving what people type (numbers, prefixes, names) to rows of one workspace.

Every lookup filters on the workspace: a number from another workspace is simply not found.
"""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, select

from domain import names
from domain.errors import Ambiguous, NotFound
from storage.config_version import kept
from storage.models import Deal, Lead, Member, Pipeline, PipelineKind, Role, Stage, Workspace

MAX_CANDIDATES = 10


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.lower() + "%"


def find_deal(
    *, session: Session, workspace_id: int, number: int | None = None, text: str | None = None
) -> Deal:
    """A deal by number, or by a unique title prefix (exact title wins over prefixes)."""
    if number is not None:
        deal = session.exec(
            select(Deal).where(Deal.workspace_id == workspace_id, Deal.number == number)
        ).first()
        if deal is None:
            raise NotFound("deal.not_found_number", number=number)
        return deal
    query = (text or "").strip()
    if not query:
        raise NotFound("deal.not_found_text", text=query)
    rows = session.exec(
        select(Deal)
        .where(
            Deal.workspace_id == workspace_id,
            sa.func.lower(Deal.title).like(_like_prefix(query), escape="\\"),
        )
        .order_by(Deal.closed_at.is_not(None), Deal.number.desc())
        .limit(MAX_CANDIDATES + 1)
    ).all()
    exact = [d for d in rows if d.title.lower() == query.lower()]
    if len(exact) == 1:
        return exact[0]
    if len(rows) == 1:
        return rows[0]
    if not rows:
        if (shorter := _without_particle(query)) is not None:  # "/deal move 한빛소프트를 협상"
            try:
                return find_deal(session=session, workspace_id=workspace_id, text=shorter)
            except NotFound:
                pass
        raise NotFound("deal.not_found_text", text=query)
    raise Ambiguous("deal.ambiguous", text=query, candidates=rows[:MAX_CANDIDATES])


def find_lead(
    *, session: Session, workspace_id: int, number: int | None = None, text: str | None = None
) -> Lead:
    if number is not None:
        lead = session.exec(
            select(Lead).where(Lead.workspace_id == workspace_id, Lead.number == number)
        ).first()
        if lead is None:
            raise NotFound("lead.not_found_number", number=number)
        return lead
    query = (text or "").strip()
    rows = session.exec(
        select(Lead)
        .where(
            Lead.workspace_id == workspace_id,
            sa.func.lower(Lead.name).like(_like_prefix(query), escape="\\"),
        )
        .order_by(Lead.number.desc())
        .limit(MAX_CANDIDATES + 1)
    ).all()
    exact = [r for r in rows if r.name.lower() == query.lower()]
    if len(exact) == 1:
        return exact[0]
    if len(rows) == 1:
        return rows[0]
    if not rows:
        if (shorter := _without_particle(query)) is not None:
            try:
                return find_lead(session=session, workspace_id=workspace_id, text=shorter)
            except NotFound:
                pass
        raise NotFound("lead.not_found_text", text=query)
    raise Ambiguous("lead.ambiguous", text=query, candidates=rows[:MAX_CANDIDATES])


def _without_particle(text: str) -> str | None:
    """``한빛소프트를`` → ``한빛소프트``: what to try when the text as written matches nothing."""
    tries = names.variants(text)
    return tries[1] if len(tries) > 1 else None


def stages_of(*, session: Session, pipeline_id: int) -> list[Stage]:
    return list(
        session.exec(
            select(Stage).where(Stage.pipeline_id == pipeline_id).order_by(Stage.position, Stage.id)
        )
    )


def stage_names_of(
    *, session: Session, pipeline_ids: list[int]
) -> dict[int, list[tuple[int, str]]]:
    """``(id, name)`` of each pipeline's stages in order (a select's options), as plain
    values, for several pipelines in one statement."""
    out: dict[int, list[tuple[int, str]]] = {pid: [] for pid in pipeline_ids}
    if not out:
        return out
    for pid, sid, name in session.execute(
        sa.select(Stage.pipeline_id, Stage.id, Stage.name)
        .where(Stage.pipeline_id.in_(list(out)))
        .order_by(Stage.pipeline_id, Stage.position, Stage.id)
    ):
        out[pid].append((sid, name))
    return out


def match_stage(stages: list[Stage], text: str, *, errors: str = "pipeline.stage") -> Stage:
    """By exact name, then the other language's default name (``협상`` for Negotiation), then
    the same without Korean particles (``Meeting으로``, ``협상 단계``), then a unique
    case-insensitive prefix of a name or alias, then 1-based position.

    ``errors`` names the messages: lead statuses are called statuses (``lead.status``)."""
    found, candidates = _by_name(stages, text)
    if found is not None:
        return found
    stage_names = ", ".join(s.name for s in stages)
    if candidates:
        raise Ambiguous(f"{errors}_ambiguous", text=text, stages=stage_names, candidates=candidates)
    query = names.variants(text)[-1].removesuffix("번")
    if query.isdigit() and 1 <= int(query) <= len(stages):
        return stages[int(query) - 1]
    raise NotFound(f"{errors}_not_found", text=text, stages=stage_names)


def _by_name(rows, text: str):
    """``(row, [])`` for the row ``text`` names — its exact name, the other language's default
    name, the same without Korean particles, then a unique prefix of a name or alias — else
    ``(None, candidates)``: the rows an ambiguous prefix matches, or none at all."""
    tries = names.variants(text)
    for query in tries:
        found = _named(rows, query, lambda r: (names.key(r.name),), first=True)
        found = found or _named(rows, query, lambda r: names.aliases(r.name))
        if found:
            return found, []
    for query in (tries[0], tries[-1]):
        prefixed = [r for r in rows if any(a.startswith(query) for a in names.aliases(r.name))]
        if len(prefixed) == 1:
            return prefixed[0], []
        if prefixed:
            return None, prefixed
    return None, []


def _named(rows, query: str, names_of, *, first: bool = False):
    """The one row one of whose names is ``query`` (the first, with ``first``), else None."""
    if not query:
        return None
    matches = [r for r in rows if query in names_of(r)]
    return matches[0] if len(matches) == 1 or (first and matches) else None


def deal_pipelines(*, session: Session, workspace_id: int) -> list[Pipeline]:
    return list(
        session.exec(
            select(Pipeline)
            .where(Pipeline.workspace_id == workspace_id, Pipeline.kind == PipelineKind.deal)
            .order_by(Pipeline.position, Pipeline.id)
        )
    )


def find_pipeline(
    *,
    session: Session,
    workspace_id: int,
    name: str | None,
    kind: PipelineKind = PipelineKind.deal,
    workspace: Workspace | None = None,
) -> Pipeline:
    """A pipeline by name or prefix; ``None`` gives the default one. With ``workspace``, the
    match is made on the workspace's kept pipeline names (storage.config_version) and only
    the pipeline found is loaded (hot paths: ``/pipeline``); no match reads them all."""
    if workspace is not None:
        found = _kept_match(session, workspace, kind, name)
        if found is not None:
            return session.get(Pipeline, found.id)
    pipelines = list(
        session.exec(
            select(Pipeline)
            .where(Pipeline.workspace_id == workspace_id, Pipeline.kind == kind)
            .order_by(Pipeline.position, Pipeline.id)
        )
    )
    if name is None or not name.strip():
        for p in pipelines:
            if p.is_default:
                return p
        if pipelines:
            return pipelines[0]
        raise NotFound("pipeline.none")
    found, candidates = _by_name(pipelines, name)
    if found is not None:
        return found
    listed = ", ".join(p.name for p in pipelines)
    if candidates:
        raise Ambiguous("pipeline.ambiguous", text=name, names=listed, candidates=candidates)
    raise NotFound("pipeline.not_found", text=name, names=listed)


class PipelineName(NamedTuple):
    """What a read shows of a pipeline, kept per workspace version (:func:`kept_pipeline`)."""

    id: int
    name: str
    is_default: bool
    kind: str


def kept_pipeline(
    *, session: Session, workspace: Workspace, name: str | None
) -> PipelineName | Pipeline:
    """:func:`find_pipeline`'s deal pipeline for a read that needs only its id, name and
    kind (``/pipeline``): the workspace's kept copy when the name matches, no statement
    (issue 17: loading the entity was a sixth of the board's request); otherwise what
    ``find_pipeline`` finds or raises."""
    found = _kept_match(session, workspace, PipelineKind.deal, name)
    if found is not None:
        return found
    return find_pipeline(session=session, workspace_id=workspace.id, name=name)


def _kept_match(session: Session, workspace: Workspace, kind, name: str | None):
    """The pipeline :func:`find_pipeline` finds, matched on kept names; None: read them all."""

    def load() -> tuple[PipelineName, ...]:
        query = (
            sa.select(Pipeline.id, Pipeline.name, Pipeline.is_default, Pipeline.kind)
            .where(Pipeline.workspace_id == workspace.id, Pipeline.kind == kind)
            .order_by(Pipeline.position, Pipeline.id)
        )
        return tuple(PipelineName(*row) for row in session.execute(query))

    rows = kept(session, workspace, f"pipelines:{kind}", load)
    if name is None or not name.strip():
        return next((r for r in rows if r.is_default), rows[0] if rows else None)
    found, _ = _by_name(rows, name)
    return found


def find_member(
    *,
    session: Session,
    workspace_id: int,
    slack_id: str | None = None,
    name: str | None = None,
) -> Member:
    """A member by Slack id (from ``<@U123>``) or by display name (a bare ``@kim``)."""
    if slack_id:
        member = session.exec(
            select(Member).where(
                Member.workspace_id == workspace_id, Member.slack_user_id == slack_id
            )
        ).first()
        if member is not None:
            return member
        # Slack vouches for the id: a colleague who has not used Salesbot yet becomes a rep.
        member = Member(
            workspace_id=workspace_id, slack_user_id=slack_id, name=name or slack_id, role=Role.rep
        )
        session.add(member)
        session.flush()
        return member
    query = (name or "").strip().lstrip("@").lower()
    rows = session.exec(
        select(Member).where(
            Member.workspace_id == workspace_id,
            sa.or_(
                sa.func.lower(Member.name) == query, sa.func.lower(Member.slack_user_id) == query
            ),
        )
    ).all()
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise Ambiguous("member.ambiguous", name=name, candidates=rows)
    raise NotFound("member.not_found_name", name=name)
