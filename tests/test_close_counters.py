"""Probability calibration from the close counters answers exactly what the query over every
closed deal's history answered (issue 17), whatever the history: deals created open or closed,
moved on, won, lost, reopened and closed again, moved between closed stages, at any instant —
and at every ``now``, the window's ends on or off midnight UTC.

The reference is the query calibration ran before the counters, kept here as it was.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from domain import close_counters, deals
from domain.metrics import calibration as cal
from domain.refs import find_pipeline, stages_of
from storage.models import CloseCounter, Deal, Outcome, Role, Stage, StageHistory
from tests import factories as f
from tests.factories import T0


def by_history(session, workspace_id, now):
    """Per stage, (closed deals that reached it, of which won): the query before counters."""
    since = now - timedelta(days=cal.WINDOW_DAYS)
    closed = (
        sa.select(Deal.id.label("deal_id"), (Stage.outcome == Outcome.won.value).label("won"))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.workspace_id == workspace_id,
            Deal.closed_at.is_not(None),
            Deal.closed_at >= since,
            Deal.closed_at < now,
            Stage.outcome.in_((Outcome.won.value, Outcome.lost.value)),
        )
        .subquery()
    )
    reached = (
        sa.select(StageHistory.to_stage_id.label("stage_id"), closed.c.deal_id, closed.c.won)
        .join(closed, closed.c.deal_id == StageHistory.deal_id)
        .where(StageHistory.workspace_id == workspace_id)
        .distinct()
        .subquery()
    )
    rows = session.execute(
        sa.select(
            reached.c.stage_id,
            sa.func.count(),
            sa.func.sum(sa.case((reached.c.won, 1), else_=0)),
        ).group_by(reached.c.stage_id)
    ).all()
    return {stage_id: (int(n), int(won or 0)) for stage_id, n, won in rows}


def measured(session, workspace_id, now):
    rows = cal.calibration(session=session, workspace_id=workspace_id, now=now)
    return {r.stage_id: (r.reached, r.won) for r in rows}


def expected(session, workspace_id, now):
    """The reference's figures for the stages calibration shows (the open ones)."""
    counts = by_history(session, workspace_id, now)
    shown = measured(session, workspace_id, now)
    return {stage_id: counts.get(stage_id, (0, 0)) for stage_id in shown}


def kept(session):
    c = CloseCounter
    rows = session.execute(
        sa.select(c.workspace_id, c.day, c.stage_id, c.reached_id, c.count).where(c.count != 0)
    ).all()
    return sorted(tuple(r) for r in rows)


def recounted(session):
    dialect = session.get_bind().dialect.name
    rows = session.execute(close_counters.recount(dialect)).all()
    return sorted(tuple(r) for r in rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_calibration_from_counters_equals_the_history_query_over_random_histories(session, seed):
    rnd = random.Random(seed)
    ws = f.workspace(session)
    boss = f.member(session, ws, "UBOSS", Role.admin, name="Boss")
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    stages = stages_of(session=session, pipeline_id=pipeline.id)
    closed = [s for s in stages if s.outcome != Outcome.open]
    at = T0 - timedelta(days=400)
    made = []
    for _ in range(160):
        at += timedelta(hours=rnd.randint(0, 60), seconds=rnd.randint(0, 3599))
        if not made or rnd.random() < 0.25:
            start = rnd.choice(stages if rnd.random() < 0.2 else stages[:1])
            made.append(
                f.deal(session, ws, boss, f"D{len(made)}", "1000", now=at, stage_text=start.name)
            )
            continue
        deal = rnd.choice(made)
        if deal.closed_at is not None and rnd.random() < 0.3:
            target = rnd.choice(closed)  # a closed deal moves to the other outcome
        else:
            target = rnd.choice(stages)
        if target.id != deal.stage_id:
            deals.move_deal(session=session, actor=boss, deal=deal, stage_id=target.id, now=at)
    session.flush()
    assert kept(session) == recounted(session)
    instants = [at, at + timedelta(days=1)]
    for _ in range(12):
        instants.append(T0 - timedelta(days=rnd.randint(0, 400), seconds=rnd.randint(0, 86399)))
    midnight = datetime(T0.year, T0.month, T0.day, tzinfo=UTC)
    instants += [midnight, midnight - timedelta(days=37), midnight + timedelta(microseconds=1)]
    for now in instants:
        assert measured(session, ws.id, now) == expected(session, ws.id, now), now
    # A stage turned from won to lost: its deals count as lost at once, as the query says.
    won = next(s for s in closed if s.outcome == Outcome.won)
    won.outcome = Outcome.lost
    session.add(won)
    session.flush()
    assert measured(session, ws.id, at) == expected(session, ws.id, at)
    assert any(n for n, _ in measured(session, ws.id, at).values())


def test_a_rebuild_gives_the_counters_the_domain_kept(session):
    ws = f.workspace(session)
    boss = f.member(session, ws, "UBOSS", Role.admin, name="Boss")
    d = f.deal(session, ws, boss, "A", "1000", now=T0 - timedelta(days=10))
    deals.move_deal(
        session=session, actor=boss, deal=d, stage_text="Proposal", now=T0 - timedelta(days=9)
    )
    deals.close_deal(session=session, actor=boss, deal=d, won=True, now=T0 - timedelta(days=8))
    deals.move_deal(
        session=session, actor=boss, deal=d, stage_text="Meeting", now=T0 - timedelta(days=7)
    )
    deals.close_deal(session=session, actor=boss, deal=d, won=False, now=T0 - timedelta(days=6))
    session.flush()
    before = kept(session)
    # Lost now, on its last close's day, once for each stage it went into (Won included)
    assert [r[4] for r in before] == [1] * len({h for *_, h, _ in before})
    assert len(before) == 5  # the first stage, Proposal, Won, Meeting, Lost
    assert {r[1] for r in before} == {(T0 - timedelta(days=6)).date()}
    close_counters.rebuild(session, ws.id)
    session.flush()
    assert kept(session) == before
