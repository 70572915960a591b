"""Editing pipelines: what an admin may change, and what stays because deals depend on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from domain import deals, pipelines
from domain.errors import InvalidInput
from domain.refs import find_pipeline, stages_of
from storage.models import Role, Stage
from tests import factories as f


def specs(session, pipeline, drop: str) -> list[pipelines.StageSpec]:
    return [
        pipelines.StageSpec(s.name, s.probability, s.stall_days, s.outcome, id=s.id)
        for s in stages_of(session=session, pipeline_id=pipeline.id)
        if s.name != drop
    ]


@pytest.fixture
def setup(session):
    ws = f.workspace(session)
    admin = f.member(session, ws, "UADMIN", Role.admin)
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    return ws, admin, pipeline


def names(session, pipeline) -> list[str]:
    return [s.name for s in stages_of(session=session, pipeline_id=pipeline.id)]


def test_a_stage_holding_deals_cannot_be_removed(session, setup):
    ws, admin, pipeline = setup
    f.deal(session, ws, admin, stage_text="Meeting")
    session.commit()
    before = names(session, pipeline)
    with pytest.raises(InvalidInput) as err:
        pipelines.edit_pipeline(
            session=session,
            actor=admin,
            pipeline=pipeline,
            name=pipeline.name,
            stages=specs(session, pipeline, "Meeting"),
        )
    assert err.value.key == "pipeline.stage_in_use"
    session.rollback()
    assert names(session, pipeline) == before


def test_a_stage_deals_have_passed_through_stays_and_the_admin_is_told_why(session, setup):
    ws, admin, pipeline = setup
    d = f.deal(session, ws, admin, stage_text="Meeting")
    deals.move_deal(
        session=session, actor=admin, deal=d, stage_text="Proposal", now=f.T0 + timedelta(days=1)
    )
    session.commit()
    before = names(session, pipeline)
    with pytest.raises(InvalidInput) as err:
        pipelines.edit_pipeline(
            session=session,
            actor=admin,
            pipeline=pipeline,
            name=pipeline.name,
            stages=specs(session, pipeline, "Meeting"),
        )
    assert err.value.key == "pipeline.stage_has_history"
    assert err.value.params == {"name": "Meeting", "count": 1}
    session.rollback()
    assert names(session, pipeline) == before


def test_an_unused_stage_can_be_removed(session, setup):
    ws, admin, pipeline = setup
    f.deal(session, ws, admin)  # in Contact: Meeting was never used
    session.commit()
    pipelines.edit_pipeline(
        session=session,
        actor=admin,
        pipeline=pipeline,
        name=pipeline.name,
        stages=specs(session, pipeline, "Meeting"),
    )
    session.commit()
    assert "Meeting" not in names(session, pipeline)
    assert session.exec(select(Stage).where(Stage.name == "Meeting")).all() == []


def test_stages_can_swap_names_and_places_and_keep_their_deals(session, setup):
    ws, admin, pipeline = setup
    d = f.deal(session, ws, admin, stage_text="Meeting")
    session.commit()
    current = {s.name: s for s in stages_of(session=session, pipeline_id=pipeline.id)}
    order = ["Contact", "Meeting", "Qualification", "Proposal", "Negotiation", "Won", "Lost"]
    renamed = {"Meeting": "Qualification", "Qualification": "Meeting"}
    stages = [
        pipelines.StageSpec(
            renamed.get(n, n),
            current[n].probability,
            current[n].stall_days,
            current[n].outcome,
            id=current[n].id,
        )
        for n in order
    ]
    pipelines.edit_pipeline(
        session=session, actor=admin, pipeline=pipeline, name="Direct sales", stages=stages
    )
    session.commit()
    assert names(session, pipeline) == [renamed.get(n, n) for n in order]
    session.refresh(d)
    # The deal stays on its stage row, which is now called Qualification and sits second.
    assert d.stage_id == current["Meeting"].id
    assert session.get(Stage, d.stage_id).name == "Qualification"
    assert session.get(Stage, d.stage_id).position == 2
