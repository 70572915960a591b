"""``deal.stalled_since`` (domain.stall.stalled_since): never after the first instant the stall
rule can call a deal stalled, on any clock, and kept when a stage's threshold changes — so the
stall queries, which read only deals past it, still find exactly the stalled deals."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from domain import deals
from domain.deal_reads import stalled_deals
from domain.pipelines import StageSpec, edit_pipeline
from domain.refs import find_pipeline, stages_of
from domain.stall import stall_status, stalled_since
from storage.models import Role
from tests import factories as f
from tests.test_stall import CLOCKS

MICRO = timedelta(microseconds=1)


def stalled_at(now, entered, days, tz, country, business) -> bool:
    return stall_status(
        stage_entered_at=entered,
        stall_days=days,
        snoozed_until=None,
        now=now,
        tz=tz,
        business_days=business,
        country=country,
    ).stalled


@pytest.mark.parametrize("business", [False, True])
@pytest.mark.parametrize(("tz", "country", "nows"), CLOCKS)
def test_no_deal_is_stalled_before_its_stalled_since(tz, country, nows, business):
    """Entries every 5 h 17 min around each clock's DST changes and holidays, thresholds of
    0 to 14 days: just before ``stalled_since`` the rule says "not stalled" (and stalling
    only grows with time), and on calendar days it stalls exactly two days after it."""
    for now in nows:
        entered = (now - timedelta(days=20)).astimezone(UTC)
        while entered < now + timedelta(days=2):
            for days in (0, 1, 3, 7, 14):
                since = stalled_since(entered, days)
                assert not stalled_at(since - MICRO, entered, days, tz, country, business)
                if not business:
                    assert stalled_at(since + timedelta(days=2), entered, days, tz, country, False)
                    assert not stalled_at(
                        since + timedelta(days=2) - MICRO, entered, days, tz, country, False
                    )
            entered += timedelta(hours=5, minutes=17)


def test_a_stage_without_threshold_has_none():
    assert stalled_since(f.T0, None) is None


def test_a_threshold_change_moves_every_deal_in_the_stage_and_the_queries_follow(session):
    ws = f.workspace(session)
    boss = f.member(session, ws, "UBOSS", Role.admin)
    made = []
    for k in range(40):
        entered = f.T0 - timedelta(hours=11 * k, microseconds=k * 1234)
        made.append(f.deal(session, ws, boss, title=f"Deal {k}", now=entered, stage_text="Meeting"))
    moved = f.deal(session, ws, boss, title="Moved", now=f.T0 - timedelta(days=30))
    deals.move_deal(
        session=session, actor=boss, deal=moved, stage_text="Meeting", now=f.T0 - timedelta(days=9)
    )
    made.append(moved)
    session.commit()
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)

    def set_meeting(days):
        specs = [
            StageSpec(
                s.name,
                s.probability,
                days if s.name == "Meeting" else s.stall_days,
                s.outcome,
                s.id,
            )
            for s in stages_of(session=session, pipeline_id=pipeline.id)
        ]
        edit_pipeline(
            session=session, actor=boss, pipeline=pipeline, name=pipeline.name, stages=specs
        )
        session.commit()
        for d in made:
            session.refresh(d)

    def stalled_now(days):
        return {
            d.number
            for d in made
            if stall_status(
                stage_entered_at=d.stage_entered_at,
                stall_days=days,
                snoozed_until=None,
                now=f.T0,
                tz=ws.timezone,
            ).stalled
        }

    for days in (3, 10, None, 1):
        set_meeting(days)
        for d in made:
            assert d.stalled_since == stalled_since(d.stage_entered_at, days), (days, d.number)
        found = {r.number for r in stalled_deals(session=session, workspace=ws, now=f.T0)}
        assert found == (stalled_now(days) if days is not None else set())
        assert days is None or 0 < len(found) < len(made)
