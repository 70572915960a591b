"""``salesbot demo``: a workspace full of realistic sample data, so every report has something.

Built through the domain functions (the same rules as real use), with the clock set back in
time for each step: companies and people, leads in every status, ~200 deals over both
default pipelines with stage history over the last six months, some won, some lost, some
stalled, renewals coming up. Seeded, so two runs give the same workspace.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import func, select

from domain import automation, lead_scores
from domain import deals as deal_ops
from domain import leads as lead_ops
from domain.refs import find_pipeline, stages_of
from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from storage.db import session_scope
from storage.models import Company, Deal, Lead, Member, Outcome, Role, Workspace

COMPANIES = [
    "Acme Korea",
    "한빛소프트",
    "Daehan Logistics",
    "서울바이오",
    "Mirae Retail",
    "누리테크",
    "Hanul Energy",
    "가온식품",
    "Blue Harbor",
    "다온헬스케어",
    "Seoul Fintech",
    "하늘항공",
    "Greenfield Labs",
    "바른건설",
    "Orbit Media",
    "새봄교육",
    "Kumo Robotics",
    "푸른물산",
    "Pinecone Analytics",
    "동방제약",
    "Jeju Travel",
    "우리정밀",
    "Nova Security",
    "한결물류",
    "Summit Insurance",
    "별빛게임즈",
    "Coral Commerce",
    "도담농업",
    "Vertex Cloud",
    "이음모빌리티",
]
PEOPLE = [
    "김민수",
    "이서연",
    "박지훈",
    "최유진",
    "정하늘",
    "강도윤",
    "조수아",
    "윤서준",
    "장예린",
    "임현우",
    "Jane Park",
    "David Lee",
    "Sophie Kim",
    "Michael Choi",
    "Grace Yoon",
]
PRODUCTS = [
    "ERP rollout",
    "CRM licences",
    "보안 솔루션",
    "클라우드 이전",
    "Analytics suite",
    "HR 시스템",
    "물류 자동화",
    "Data platform",
    "Support plan",
    "모바일 앱",
    "Pilot",
    "Annual subscription",
]
REPS = [("UDEMO1", "김영업"), ("UDEMO2", "이세일즈"), ("UDEMO3", "박딜"), ("UDEMO4", "kim")]
MANAGER = ("UDEMOM", "최매니저")
SOURCES = ["webinar", "referral", "website", "event", "outbound", "partner"]


DEMO_URL = "sqlite:///salesbot-demo.db"


def demo_settings(settings):
    """Demo data lives in a file of its own (``./salesbot-demo.db``) unless DATABASE_URL says
    where: a later ``salesbot serve`` on ``./salesbot.db`` never finds demo deals to post."""
    from dataclasses import replace

    if settings.database_configured:
        return settings
    return replace(settings, database_url=DEMO_URL)


def demo_team(engine) -> str | None:
    """The team id of a demo workspace in this database (found by its demo manager), if any."""
    with session_scope(engine, readonly=True) as session:
        return session.exec(
            select(Workspace.team_id)
            .join(Member, Member.workspace_id == Workspace.id)
            .where(Member.slack_user_id == MANAGER[0])
        ).first()


@dataclass
class DemoSummary:
    team_id: str
    deals: int
    leads: int
    companies: int
    created: bool


def _amount(rng: random.Random) -> Decimal:
    """Log-normal around 15,000,000 KRW, rounded to 10,000 won like real quotes."""
    value = rng.lognormvariate(16.5, 0.8)
    return Decimal(int(value // 10_000 * 10_000) or 1_000_000)


def fill(
    engine,
    *,
    team_id: str = "TLOCAL",
    now: datetime,
    deals: int = 200,
    seed: int = 7,
    defaults: WorkspaceDefaults | None = None,
    admin: tuple[str, str] | None = None,
) -> DemoSummary:
    rng = random.Random(seed)
    with session_scope(engine) as session:
        ws = get_or_create_workspace(
            session=session, team_id=team_id, name=team_id, defaults=defaults
        )
        existing = session.exec(select(func.count()).where(Deal.workspace_id == ws.id)).one()
        if existing:
            return _summary(session, ws, created=False)
        you = None
        if admin:
            you = get_or_create_member(
                session=session, workspace=ws, slack_user_id=admin[0], name=admin[1]
            )
        manager = get_or_create_member(
            session=session, workspace=ws, slack_user_id=MANAGER[0], name=MANAGER[1]
        )
        if manager.role == Role.rep:
            manager.role = Role.manager
            session.add(manager)
        reps = [
            get_or_create_member(session=session, workspace=ws, slack_user_id=uid, name=name)
            for uid, name in REPS
        ]
        for rep in reps:  # the first member of a workspace becomes its admin; demo reps are reps
            if rep.role == Role.admin and admin:
                rep.role = Role.rep
                session.add(rep)
        owners = reps + [you] if you else reps  # so "/deal list mine" has something to show
        # Past months replayed: no cadence tasks overdue since spring, no renewals of them.
        with automation.paused(session):
            _leads(session, ws, reps, rng, now)
            for i in range(deals):
                _deal(session, ws, owners, manager, rng, now, i)
        # Scored as the daily job would have, its crossings long past (no MQL DMs at start).
        lead_scores.recompute(session=session, workspace=ws, now=now, act=False)
        return _summary(session, ws, created=True)


def _summary(session, ws, *, created: bool) -> DemoSummary:
    def count(model) -> int:
        return session.exec(select(func.count()).where(model.workspace_id == ws.id)).one()

    return DemoSummary(ws.team_id, count(Deal), count(Lead), count(Company), created)


def _leads(session, ws, reps: list[Member], rng: random.Random, now: datetime) -> None:
    statuses = [s.name for s in lead_ops.lead_statuses(session=session, workspace_id=ws.id)]
    for i in range(40):
        created = now - timedelta(days=rng.uniform(0, 180))
        owner = rng.choice(reps)
        lead_ops.create_lead(
            session=session,
            workspace=ws,
            actor=owner,
            name=f"{rng.choice(PEOPLE)} {i + 1}",
            now=created,
            company_name=rng.choice(COMPANIES),
            email=f"contact{i + 1}@example.kr",
            source=rng.choice(SOURCES),
            size=rng.choice([12, 45, 120, 300, 850, 2400]),
            owner=owner,
            status=rng.choice(statuses[:-1]),
        )


def _deal(session, ws, reps, manager, rng: random.Random, now: datetime, i: int) -> None:
    renewal = rng.random() < 0.25
    pipeline = find_pipeline(
        session=session, workspace_id=ws.id, name="Renewals" if renewal else None
    )
    stages = stages_of(session=session, pipeline_id=pipeline.id)
    open_stages = [s for s in stages if s.outcome == Outcome.open]
    won = [s for s in stages if s.outcome == Outcome.won]
    lost = next(s for s in stages if s.outcome == Outcome.lost)
    owner = rng.choice(reps)
    company = rng.choice(COMPANIES)
    fate = rng.random()
    target = rng.randint(0, len(open_stages) - 1)
    path = open_stages[1 : target + 1]
    closing = won if fate < 0.3 else [lost] if fate < 0.45 else []
    # Most open deals are being worked (a recent move); the rest sit and stall.
    worked = not closing and rng.random() < 0.6
    gap_days = 5 if worked else 21
    age = rng.uniform(1, 2 + gap_days * len(path)) if worked else rng.uniform(1, 182)
    at = now - timedelta(days=age, hours=rng.uniform(0, 8))
    change = deal_ops.create_deal(
        session=session,
        workspace=ws,
        actor=owner,
        title=f"{company} {rng.choice(PRODUCTS)}",
        now=at,
        amount=_amount(rng),
        pipeline_name=pipeline.name,
        close=(now + timedelta(days=rng.randint(-20, 150))).date(),
        owner=owner,
        company_name=company,
        contact_name=rng.choice(PEOPLE),
    )
    deal = change.deal
    if renewal:
        deal_ops.set_renewal(
            session=session,
            actor=owner,
            deal=deal,
            now=at,
            renewal_date=(now + timedelta(days=rng.randint(3, 120))).date(),
            mrr=Decimal(rng.choice([300_000, 500_000, 1_200_000, 2_500_000])),
        )
    # Walk the stages forward with realistic gaps; older deals got further.
    for stage in path + closing[:1]:
        step = at + timedelta(days=rng.uniform(1, gap_days))
        if step >= now - timedelta(hours=1):
            break
        at = step
        actor = manager if rng.random() < 0.1 else owner
        deal_ops.move_deal(
            session=session,
            actor=actor,
            deal=deal,
            stage_id=stage.id,
            now=at,
            lost_reason=rng.choice(["budget", "timing", "competitor", "no decision"]),
        )
    if rng.random() < 0.3:
        deal_ops.add_note(
            session=session,
            actor=owner,
            deal=deal,
            text=rng.choice(
                ["CFO 미팅 완료, 파일럿 원함", "Sent the proposal deck", "가격 협상 중"]
            ),
            now=min(at + timedelta(hours=2), now),
        )
