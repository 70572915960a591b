"""Workspaces, their defaults, and members with roles."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from domain import names
from domain.errors import InvalidInput, NotAllowed, NotFound
from i18n import normalize_locale
from storage.models import Member, Outcome, Pipeline, PipelineKind, Role, Stage, Workspace

# docs/concepts.md: (names, probability %, stall days, outcome); the names by language are in
# domain.names, and a new workspace gets them in its language (Negotiation or 협상).
NEW_BUSINESS = tuple(
    zip(
        names.NEW_BUSINESS,
        (10, 20, 40, 60, 80, 100, 0),
        (7, 10, 14, 14, 10, None, None),
        (*[Outcome.open] * 5, Outcome.won, Outcome.lost),
        strict=True,
    )
)
RENEWALS = tuple(
    zip(
        names.RENEWALS,
        (70, 100, 100, 100, 0),
        (14, None, None, None, None),
        (Outcome.open, Outcome.won, Outcome.won, Outcome.won, Outcome.lost),
        strict=True,
    )
)
LEAD_STATUSES = tuple(
    zip(
        names.LEAD_STATUSES,
        (0,) * 6,
        (None,) * 6,
        (*[Outcome.open] * 5, Outcome.won),
        strict=True,
    )
)
NEW_BUSINESS_NAME, RENEWALS_NAME, LEADS_NAME = names.PIPELINES


@dataclass(frozen=True)
class WorkspaceDefaults:
    """Defaults for a new workspace, from the environment (docs/operations.md)."""

    timezone: str = "Asia/Seoul"
    locale: str = "ko"
    currency: str = "KRW"
    deals_channel: str | None = None
    digest_channel: str | None = None
    stage_names: str | None = None  # "en" or "ko"; None: the locale's language
    automation: bool = True  # the playbook cadence and the default workflows


def _add_pipeline(session, ws, pipeline_names, kind, stages, position, is_default, *, language):
    pipeline = Pipeline(
        workspace_id=ws.id,
        name=names.default_name(pipeline_names, language),
        kind=kind,
        position=position,
        is_default=is_default,
    )
    session.add(pipeline)
    session.flush()
    for pos, (stage_names, prob, stall, outcome) in enumerate(stages, start=1):
        session.add(
            Stage(
                workspace_id=ws.id,
                pipeline_id=pipeline.id,
                name=names.default_name(stage_names, language),
                position=pos,
                probability=prob,
                stall_days=stall,
                outcome=outcome,
            )
        )
    return pipeline


def get_or_create_workspace(
    *, session: Session, team_id: str, name: str = "", defaults: WorkspaceDefaults | None = None
) -> Workspace:
    """The workspace for a Slack team, created with default pipelines on first contact."""
    ws = session.exec(select(Workspace).where(Workspace.team_id == team_id)).first()
    if ws is not None:
        return ws
    d = defaults or WorkspaceDefaults()
    ws = Workspace(
        team_id=team_id,
        name=name,
        timezone=d.timezone,
        locale=d.locale,
        currency=d.currency,
        deals_channel=d.deals_channel,
        digest_channel=d.digest_channel,
    )
    session.add(ws)
    session.flush()
    # Default names in the workspace's language; the other language's names stay aliases.
    lang = d.stage_names or normalize_locale(d.locale)
    deal, lead = PipelineKind.deal, PipelineKind.lead
    new_business = _add_pipeline(
        session, ws, NEW_BUSINESS_NAME, deal, NEW_BUSINESS, 1, True, language=lang
    )
    _add_pipeline(session, ws, RENEWALS_NAME, deal, RENEWALS, 2, False, language=lang)
    _add_pipeline(session, ws, LEADS_NAME, lead, LEAD_STATUSES, 1, True, language=lang)
    session.flush()
    if d.automation:
        _add_automation(session, ws, new_business)
    session.flush()
    return ws


def _add_automation(session: Session, ws: Workspace, new_business: Pipeline) -> None:
    """The playbook cadence on New business's first stage, and the default workflows."""
    from domain import cadences, workflows

    first = session.exec(
        select(Stage).where(Stage.pipeline_id == new_business.id).order_by(Stage.position)
    ).first()
    cadences.add_playbook(session=session, workspace=ws, stage=first)
    workflows.add_defaults(session=session, workspace=ws, new_business=new_business)


def get_workspace(*, session: Session, team_id: str) -> Workspace:
    ws = session.exec(select(Workspace).where(Workspace.team_id == team_id)).first()
    if ws is None:
        raise NotFound("workspace.not_found", team=team_id)
    return ws


def get_or_create_member(
    *,
    session: Session,
    workspace: Workspace,
    slack_user_id: str,
    name: str = "",
    is_workspace_admin: bool = False,
    locale: str | None = None,
    timezone: str | None = None,
) -> Member:
    """The member for a Slack user, created on first contact (with Slack's timezone for
    them, when it is one we know: their tasks' due times are read in it).

    Slack workspace admins and the first member (the installing user) start as admins;
    everyone else starts as a rep (docs/concepts.md#roles).
    """
    member = session.exec(
        select(Member).where(
            Member.workspace_id == workspace.id, Member.slack_user_id == slack_user_id
        )
    ).first()
    if member is not None:
        if name and member.name != name:
            member.name = name
            session.add(member)
        return member
    first = (
        session.exec(select(Member.id).where(Member.workspace_id == workspace.id)).first() is None
    )
    member = Member(
        workspace_id=workspace.id,
        slack_user_id=slack_user_id,
        name=name or slack_user_id,
        role=Role.admin if (is_workspace_admin or first) else Role.rep,
        locale=locale,
        timezone=known_timezone(timezone),
    )
    session.add(member)
    session.flush()
    return member


def known_timezone(name: str | None) -> str | None:
    """``name`` if it is an IANA timezone this system knows (and fits the column), else None."""
    if not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return name


def set_role(*, session: Session, actor: Member, member: Member, role: str) -> Member:
    require_admin(actor)
    try:
        new_role = Role(role.lower())
    except ValueError:
        raise InvalidInput("workspace.bad_role", value=role, usage="pipeline_role") from None
    if member.workspace_id != actor.workspace_id:
        raise NotFound("workspace.member_not_found", name=member.name)
    member.role = new_role
    session.add(member)
    session.flush()
    return member


def require_admin(actor: Member) -> None:
    if actor.role != Role.admin:
        raise NotAllowed("workspace.admin_only")


def can_manage_any_deal(actor: Member) -> bool:
    return actor.role in (Role.admin, Role.manager)


def managers(*, session: Session, workspace: Workspace) -> list[Member]:
    """Who receives manager digests: managers, and admins (who hold every manager right)."""
    return managers_of(session=session, workspace_ids=[workspace.id])[workspace.id]


def managers_of(*, session: Session, workspace_ids: list[int]) -> dict[int, list[Member]]:
    """:func:`managers` of several workspaces in one statement (a scheduler batch)."""
    out: dict[int, list[Member]] = {ws_id: [] for ws_id in workspace_ids}
    found = session.exec(
        select(Member)
        .where(
            Member.workspace_id.in_(workspace_ids),
            Member.role.in_([Role.manager, Role.admin]),
        )
        .order_by(Member.workspace_id, Member.id)
    )
    for member in found:
        out[member.workspace_id].append(member)
    return out


def member_locale(member: Member | None, workspace: Workspace) -> str:
    return (member.locale if member and member.locale else None) or workspace.locale
