"""Read-only units of work run on a session each listener thread keeps between requests
(bot.context ``_reading``): it must behave as a new session per request would — every
query sees the database's latest commit, nothing loaded by one request is met by the next,
another process's settings change is seen by the next request, and an error leaves nothing
behind."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from bot.context import Deps, _lookup
from bot.settings import Settings
from commands.dispatch import execute
from domain.clock import FixedClock
from storage.config_version import CHANGED
from storage.db import make_engine, session_scope
from storage.models import Deal, Role, Stage, Workspace
from tests import factories as f
from tests.factories import T0


@pytest.fixture
def world(db_url):
    ours, theirs = make_engine(db_url), make_engine(db_url)  # two serving processes
    with session_scope(theirs) as session:
        ws = f.workspace(session, "T1")
        admin = f.member(session, ws, "U1", Role.admin)
        for i in range(6):
            f.deal(session, ws, admin, title=f"Deal {i}", amount=str(1000 * (i + 1)))
    deps = Deps(settings=Settings(database_url=db_url), engine=ours, clock=FixedClock(T0))
    try:
        yield deps, theirs
    finally:
        ours.dispose()
        theirs.dispose()


def _context(deps: Deps) -> dict:
    known = _lookup(deps, "T1", "U1")
    return {"salesbot_known": known, "salesbot_workspace_id": known.workspace_id}


def _reply(deps: Deps, context: dict, command: str, text: str) -> str:
    with deps.acting(context, readonly=True) as ctx:
        outcome = execute(ctx, command, text)
    return repr((outcome.reply.text, outcome.reply.blocks))


def _plain(deps: Deps, context: dict, command: str, text: str) -> str:
    """The same command on a new session, as before (the thread's kept one is busy)."""
    deps.reading.busy = True
    try:
        return _reply(deps, context, command, text)
    finally:
        deps.reading.busy = False


def test_the_kept_session_answers_as_a_new_one_through_changes_by_another_process(world):
    deps, theirs = world
    rng = random.Random(17)
    context = _context(deps)
    commands = [
        ("/deal", "show 1"),
        ("/deal", "show 4"),
        ("/deal", "list"),
        ("/deal", "list mine"),
        ("/pipeline", ""),
        ("/deal", "help"),
    ]
    kept_workspaces = set()
    for step in range(40):
        change = rng.choice(["title", "amount", "stage", "currency", "none"])
        number = rng.randint(1, 6)
        with session_scope(theirs) as session:
            deal = session.exec(sa.select(Deal).where(Deal.number == number)).scalar_one()
            if change == "title":
                deal.title = f"Renamed {step}"
            elif change == "amount":
                deal.amount = deal.amount + 1
            elif change == "stage":
                stage = session.exec(sa.select(Stage).where(Stage.id == deal.stage_id)).scalar()
                stage.name = f"Stage {step}"  # a watched table: the version moves
            elif change == "currency":
                ws = session.exec(sa.select(Workspace)).scalar_one()
                ws.currency = rng.choice(["USD", "KRW", "EUR"])
        if change in ("stage", "currency"):
            context = _context(deps)  # the middleware's next request: a new copy
        for command, text in rng.sample(commands, 3):
            assert _reply(deps, context, command, text) == _plain(deps, context, command, text)
        with deps.acting(context, readonly=True) as ctx:
            kept_workspaces.add(id(ctx.workspace))
            # Nothing of the last request in the identity map: only the two copies.
            held = [id(o) for o in ctx.session.identity_map.values()]
            assert sorted(held) == sorted([id(ctx.workspace), id(ctx.member)])
    # The kept path was taken: one copy per configuration, not one per request.
    assert len(kept_workspaces) < 40


def test_an_orm_read_sees_the_latest_commit_not_the_last_requests_object(world):
    deps, theirs = world
    context = _context(deps)
    with deps.acting(context, readonly=True) as ctx:
        first = ctx.session.exec(sa.select(Deal).where(Deal.number == 1)).scalar_one()
        assert first.title == "Deal 0"
        workspace = ctx.workspace
    with session_scope(theirs) as session:
        session.exec(sa.update(Deal).where(Deal.number == 1).values(title="Changed"))
    with deps.acting(context, readonly=True) as ctx:
        again = ctx.session.exec(sa.select(Deal).where(Deal.number == 1)).scalar_one()
        assert again.title == "Changed" and again is not first
        assert ctx.workspace is workspace  # the same kept copy


def test_an_error_drops_the_session_and_the_next_request_starts_clean(world):
    deps, _ = world
    context = _context(deps)
    with deps.acting(context, readonly=True) as ctx:
        workspace, currency = ctx.workspace, ctx.workspace.currency
    with pytest.raises(RuntimeError), deps.acting(context, readonly=True) as ctx:
        ctx.session.info[CHANGED] = True
        ctx.session.exec(sa.select(Deal)).all()
        raise RuntimeError("boom")
    with deps.acting(context, readonly=True) as ctx:
        assert ctx.workspace is not workspace
        assert CHANGED not in ctx.session.info
        assert ctx.workspace.currency == currency
        assert len(ctx.session.exec(sa.select(Deal)).all()) == 6


def test_info_is_cleared_and_a_nested_unit_gets_its_own_session(world):
    deps, _ = world
    context = _context(deps)
    with deps.acting(context, readonly=True) as outer:
        outer.session.info[CHANGED] = True
        with deps.acting(context, readonly=True) as inner:
            assert inner.session is not outer.session
    with deps.acting(context, readonly=True) as ctx:
        assert ctx.session is outer.session and CHANGED not in ctx.session.info


def test_the_board_reads_its_pipeline_from_the_kept_names_and_follows_a_rename(world):
    """``/pipeline [name]`` takes the pipeline from the workspace's kept names (no entity):
    the board is the one the loaded entity gives, and another process's rename is seen."""
    from domain import metrics as m
    from domain.errors import NotFound
    from domain.refs import PipelineName, find_pipeline, kept_pipeline
    from storage.models import Pipeline

    deps, theirs = world
    with deps.acting(_context(deps), readonly=True) as ctx:
        row = kept_pipeline(session=ctx.session, workspace=ctx.workspace, name=None)
        entity = find_pipeline(session=ctx.session, workspace_id=ctx.workspace.id, name=None)
        assert isinstance(row, PipelineName) and (row.id, row.name) == (entity.id, entity.name)
        boards = [
            m.board(
                session=ctx.session,
                workspace_id=ctx.workspace.id,
                pipeline_id=row.id,
                now=ctx.now(),
                pipeline=pipeline,
            )
            for pipeline in (row, None)
        ]
        assert boards[0] == boards[1] and boards[0].count == 6
        with pytest.raises(NotFound):
            kept_pipeline(session=ctx.session, workspace=ctx.workspace, name="Nowhere")
    with session_scope(theirs) as session:
        pipeline = session.get(Pipeline, row.id)
        pipeline.name = "Renamed board"
    context = _context(deps)  # the middleware's next request: the version moved
    reply = _reply(deps, context, "/pipeline", "")
    assert "Renamed board" in reply and reply == _reply(deps, context, "/pipeline", "Renamed")


def test_a_session_holding_an_unflushed_change_reads_kept_values_afresh(world):
    """storage.config_version.kept answers from its copy only for a session with no
    unflushed change to what it derives from: a changed, new or deleted stage is seen."""
    from domain.deal_reads import pipeline_names, workspace_stages
    from storage.models import Pipeline

    deps, _ = world
    with session_scope(deps.engine) as session:
        ws = session.exec(sa.select(Workspace)).scalar_one()
        stages = workspace_stages(session, ws)
        assert workspace_stages(session, ws) is stages  # kept: the same copy
        stage = session.get(Stage, next(iter(stages)))
        stage.name = "Unflushed"
        assert workspace_stages(session, ws)[stage.id].name == "Unflushed"
        session.rollback()
    with session_scope(deps.engine) as session:
        ws = session.exec(sa.select(Workspace)).scalar_one()
        names = pipeline_names(session, ws)
        session.add(Pipeline(workspace_id=ws.id, name="Brand new", position=99))
        assert "Brand new" in pipeline_names(session, ws).values()
        session.rollback()
        assert pipeline_names(session, ws) == names
        session.add(Pipeline(workspace_id=ws.id, name="Empty", position=98))
    with session_scope(deps.engine) as session:
        ws = session.exec(sa.select(Workspace)).scalar_one()
        assert "Empty" in pipeline_names(session, ws).values()
        gone = session.exec(sa.select(Pipeline).where(Pipeline.name == "Empty")).scalar_one()
        session.delete(gone)
        assert "Empty" not in pipeline_names(session, ws).values()
        session.rollback()


def test_a_unit_that_read_nothing_leaves_no_transaction_and_the_next_read_is_fresh(world):
    deps, theirs = world
    context = _context(deps)
    assert "Deal 0" in _reply(deps, context, "/deal", "show 1")
    assert not deps.reading.session.in_transaction()
    with session_scope(theirs) as session:
        session.exec(sa.update(Deal).where(Deal.number == 1).values(title="Renamed"))
    help_first = _reply(deps, context, "/deal", "help")  # reads nothing: nothing to commit
    assert not deps.reading.session.in_transaction()
    assert "Renamed" in _reply(deps, context, "/deal", "show 1")
    assert not deps.reading.session.in_transaction()
    with deps.acting(context, readonly=True) as ctx:  # a unit that adds has it committed
        ctx.session.add(Deal(**{**_deal_columns(theirs, 2), "id": None, "number": 99}))
    assert _reply(deps, context, "/deal", "help") == help_first
    assert "Deal 1" in _reply(deps, context, "/deal", "show 99")


def _deal_columns(engine, number: int) -> dict:
    with session_scope(engine) as session:
        deal = session.exec(sa.select(Deal).where(Deal.number == number)).scalar_one()
        return deal.model_dump()
