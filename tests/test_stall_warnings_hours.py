"""The hourly stall warnings over the hours: each stall episode warned once, whatever
happened between two ticks — the scheduler down for hours, a threshold lowered, a snooze
run out or taken back, two scheduler processes at once. The warnings read only the deals
whose current episode has no warning recorded yet (scheduler.jobs.not_warned); these specs
hold that to what the outbox keys promise."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from domain import deals
from domain.pipelines import refresh_stalled_since
from domain.stall import episode_key, episode_key_sql
from scheduler import jobs
from scheduler.runner import Ticker
from storage.db import session_scope
from storage.models import Deal, Member, Outbox, Stage, Workspace
from tests import factories as f
from tests.schedulers import tick_at_once
from tests.test_scheduler_jobs import NoSend

T0 = f.T0  # Monday 2026-11-02 09:30 in Seoul


def warned(engine) -> list[str]:
    """The stall warnings recorded, as ``target:period`` (the deal and its episode)."""
    with session_scope(engine) as s:
        keys = s.exec(select(Outbox.key).where(Outbox.job == jobs.STALL_WARNINGS)).all()
    return sorted(k.split(":", 2)[2] for k in keys)


def tick(engine, at: datetime, processes: int = 1) -> int:
    """One tick at ``at`` (by ``processes`` schedulers at once); the warnings it recorded."""
    tickers = [Ticker(engine, NoSend(), now=lambda: at, batch=2) for _ in range(processes)]
    if processes == 1:
        reports = tickers[0].tick(at, send=False)
    else:
        reports = [r for rs in tick_at_once(tickers, at) for r in rs]
    ours = [r for r in reports if r.job == jobs.STALL_WARNINGS]
    assert not [e for r in ours for e in r.errors]
    return sum(r.recorded for r in ours)


def a_deal(engine, title: str, entered: datetime, team: str = "T1") -> tuple[int, int]:
    """A deal (with an owner and a card) entered into the first stage at ``entered``:
    (its id, that stage's stall days)."""
    with session_scope(engine) as s:
        ws = s.exec(select(Workspace).where(Workspace.team_id == team)).first()
        if ws is None:
            ws = f.workspace(s, team, deals_channel=f"C{team}")
            f.member(s, ws, f"U{team}")
        rep = s.exec(select(Member).where(Member.workspace_id == ws.id)).first()
        deal = f.deal(s, ws, rep, title=title, now=entered)
        deals.record_card(session=s, deal_id=deal.id, home=(f"C{team}", f"17.{deal.id}", None))
        return deal.id, s.get(Stage, deal.stage_id).stall_days


def of(deal_id: int, keys: list[str]) -> list[str]:
    return [k for k in keys if f":d{deal_id}/" in k]


def test_a_deal_that_stalled_while_the_scheduler_was_down_is_warned_once_when_it_is_back(
    engine,
):
    deal_id, days = a_deal(engine, "Down", T0)
    assert tick(engine, T0 + timedelta(hours=1)) == 0  # fresh
    # Down from the next hour until days after the deal stalled.
    back = T0 + timedelta(days=days + 3, hours=5)
    assert tick(engine, back) == 2  # into its thread and to its owner
    assert [k.split(":")[0] for k in of(deal_id, warned(engine))] == ["dm", "thread"]
    assert tick(engine, back + timedelta(hours=1)) == 0
    assert tick(engine, back + timedelta(days=2)) == 0  # a second outage: still once


def test_lowering_a_stage_threshold_warns_the_deals_it_stalls_at_the_next_tick(engine):
    deal_id, days = a_deal(engine, "Threshold", T0)
    at = T0 + timedelta(days=3, hours=1)
    assert days > 3 and tick(engine, at) == 0
    with session_scope(engine) as s:
        stage = s.get(Stage, s.get(Deal, deal_id).stage_id)
        stage.stall_days = 1  # "stalled after 1 day", as /pipeline edit saves it
        s.add(stage)
        s.flush()
        refresh_stalled_since(s, stage)
    assert tick(engine, at + timedelta(hours=1)) == 2
    assert len(of(deal_id, warned(engine))) == 2
    assert tick(engine, at + timedelta(hours=2)) == 0


def test_a_snooze_that_runs_out_warns_again_once_and_a_snooze_taken_back_warns_at_once(engine):
    deal_id, days = a_deal(engine, "Snoozed", T0)
    other_id, _ = a_deal(engine, "Unsnoozed", T0)
    stalled = T0 + timedelta(days=days + 1, hours=1)
    until = (stalled + timedelta(hours=9)).date() + timedelta(days=3)  # Seoul's date
    assert tick(engine, stalled) == 4  # both, thread and DM
    with session_scope(engine) as s:
        s.get(Deal, deal_id).snoozed_until = until
    for hours in (1, 2, 24, 48):
        assert tick(engine, stalled + timedelta(hours=hours)) == 0
    # 10:30 in Seoul on the snooze date: the episode comes back, once.
    back = stalled + timedelta(days=3)
    assert tick(engine, back) == 2
    again = [k for k in of(deal_id, warned(engine)) if k.endswith(f"~{until.isoformat()}")]
    assert sorted(k.split(":")[0] for k in again) == ["dm", "thread"]
    assert tick(engine, back + timedelta(hours=1)) == 0
    # A deal moved into a stage and snoozed before any tick saw it stalled; the snooze is
    # taken back after it stalled: the next tick warns at once (the episode without snooze).
    later = back + timedelta(days=1)
    moved = later - timedelta(days=days + 2)
    with session_scope(engine) as s:
        deal = s.get(Deal, other_id)
        deal.stage_entered_at = moved
        deal.stalled_since = moved + timedelta(days=days - 1)
        deal.snoozed_until = (later + timedelta(days=5)).date()
    assert tick(engine, later) == 0
    with session_scope(engine) as s:
        s.get(Deal, other_id).snoozed_until = None
    assert tick(engine, later + timedelta(hours=1)) == 2
    assert tick(engine, later + timedelta(hours=2)) == 0


@pytest.mark.parametrize("processes", [2, 3])
def test_schedulers_ticking_at_once_warn_each_episode_once(engine, processes):
    for team in ("TA", "TB", "TC", "TD", "TE"):
        for n in range(3):
            a_deal(engine, f"{team} {n}", T0 + timedelta(hours=n), team)
    days = a_deal(engine, "Late", T0 + timedelta(days=5), "TA")[1]
    at = T0 + timedelta(days=days + 1, hours=3)
    assert tick(engine, at, processes) == 2 * 15
    assert tick(engine, at + timedelta(hours=1), processes) == 0
    assert len(warned(engine)) == len(set(warned(engine))) == 2 * 15
    assert tick(engine, at + timedelta(days=5), processes) == 2  # "Late" stalled since
    assert len(warned(engine)) == 2 * 16


def test_the_warnings_read_only_the_deals_whose_episode_was_not_warned(engine):
    """At a fleet's hour nearly every stalled deal was warned in an earlier one: those are
    left in the database, not read and judged again."""
    first, days = a_deal(engine, "Warned", T0)
    at = T0 + timedelta(days=days + 1, hours=1)
    assert tick(engine, at) == 2
    second, _ = a_deal(engine, "New", T0 + timedelta(hours=2))
    third, _ = a_deal(engine, "Half", T0 + timedelta(hours=2))
    later = at + timedelta(hours=3)
    with session_scope(engine) as s:  # only its DM was recorded: not new either
        deal = s.get(Deal, third)
        period = f"d{third}/{episode_key(deal.stage_entered_at)}"
        s.add(
            Outbox(
                workspace_id=deal.workspace_id,
                deal_id=third,
                key=f"{jobs.STALL_WARNINGS}:{deal.workspace_id}:dm:UT1:{period}",
                job=jobs.STALL_WARNINGS,
                target="dm:UT1",
                period=period,
                payload="{}",
                status="sent",
                next_attempt_at=later,
                created_at=later,
            )
        )
    with session_scope(engine) as s:
        workspaces = list(s.exec(select(Workspace)))
        read = jobs.unwarned_stalled(s, workspaces, later)
    assert [d.id for rows in read.values() for d in rows] == [second]
    assert tick(engine, later) == 2
    assert of(third, warned(engine)) == [f"dm:UT1:{period}"]


@pytest.mark.parametrize(
    "entered",
    [
        datetime(2026, 11, 2, 0, 30),
        datetime(2026, 11, 2, 0, 30, 0, 1),
        datetime(2026, 3, 9, 23, 59, 59, 999999),
        datetime(1999, 12, 31, 15, 0, 7, 120000),
    ],
)
def test_the_episode_spelled_in_sql_is_the_episode_key(engine, entered):
    entered = entered.replace(tzinfo=T0.tzinfo)
    deal_id, _ = a_deal(engine, "Spelled", entered)
    with session_scope(engine) as s:
        dialect = s.get_bind().dialect.name
        spelled = s.execute(
            sa.select(episode_key_sql(Deal.stage_entered_at, dialect)).where(Deal.id == deal_id)
        ).scalar_one()
        assert spelled == episode_key(s.get(Deal, deal_id).stage_entered_at)


@pytest.mark.parametrize("business_days", [False, True])
def test_the_read_leaves_out_no_deal_the_stall_clock_calls_stalled(engine, business_days):
    """Deals entered around their threshold, a microsecond apart: every one stall_status
    calls stalled is read (PostgreSQL leaves the calendar clock's others in the database)."""
    from domain.stall import stall_status

    _, days = a_deal(engine, "First", T0)
    # The calendar clock's edge; the business-day clock's falls on a local midnight, and
    # its deals are read within stalled_since's margin either way.
    at = T0 + timedelta(days=days + (1 if not business_days else 4))
    ids = {}
    for step in (-2, -1, 0, 1, 2):
        for hours in (0, 12, 30):
            entered = T0 + timedelta(hours=hours, microseconds=step)
            ids[a_deal(engine, f"Edge {step} {hours}", entered)[0]] = entered
    with session_scope(engine) as s:
        ws = s.exec(select(Workspace)).one()
        ws.stall_business_days = business_days
        s.add(ws)
        s.execute(sa.delete(Outbox))
    with session_scope(engine) as s:
        ws = s.exec(select(Workspace)).one()
        dialect = s.get_bind().dialect.name
        read = jobs.unwarned_stalled(s, [ws], at)[ws.id]
        stalled = {
            deal_id
            for deal_id, entered in ids.items()
            if stall_status(
                stage_entered_at=entered,
                stall_days=days,
                snoozed_until=None,
                now=at,
                tz=ws.timezone,
                business_days=business_days,
            ).stalled
        }
    assert stalled and (business_days or stalled < set(ids))  # both sides of the edge
    assert stalled <= {d.id for d in read}
    if dialect == "postgresql" and not business_days:
        assert stalled == {d.id for d in read} - {min(d.id for d in read)}  # "First" too
