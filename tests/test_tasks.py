"""Tasks in the domain: numbered per workspace, generated ones made once per origin, done,
snoozed and skipped; and what the reminders read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from domain import tasks
from domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from storage.models import Role, Task, TaskKind, TaskStatus
from tests import factories as f

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def team(session):
    ws = f.workspace(session)
    rep = f.member(session, ws, "UREP", name="lee")
    other = f.member(session, ws, "UOTHER", name="kim")
    boss = f.member(session, ws, "UBOSS", Role.manager, name="park")
    deal = f.deal(session, ws, rep)
    session.commit()
    return ws, rep, other, boss, deal


def _new(session, ws, owner, text="Call the CFO", due=f.T0 + DAY, **kw):
    return tasks.create_task(
        session=session, workspace=ws, owner=owner, text=text, kind="call", due_at=due, **kw
    )


def test_tasks_are_numbered_per_workspace(session, team):
    ws, rep, *_ = team
    first, second = _new(session, ws, rep), _new(session, ws, rep, text="Send the deck")
    other_ws = f.workspace(session, "T2")
    elsewhere = _new(session, other_ws, f.member(session, other_ws, "UX"))
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert first.kind == TaskKind.call and first.status == TaskStatus.open
    assert first.done_at is None and first.origin is None


def test_a_generated_task_is_made_once_per_origin(session, team):
    ws, rep, _, _, deal = team
    origin = f"cadence:1:{deal.id}:0"
    first = _new(session, ws, rep, deal=deal, origin=origin, stage_id=deal.stage_id)
    again = _new(session, ws, rep, text="a retry", deal=deal, origin=origin)
    assert again.id == first.id and again.text == "Call the CFO"
    assert session.exec(select(func.count()).select_from(Task)).one() == 1


def test_text_is_required_and_limited(session, team):
    ws, rep, *_ = team
    with pytest.raises(InvalidInput) as empty:
        _new(session, ws, rep, text="  ")
    assert empty.value.key == "task.text_required"
    with pytest.raises(InvalidInput) as long:
        _new(session, ws, rep, text="x" * 1001)
    assert long.value.key == "task.text_too_long"


def test_done_once_and_only_by_those_who_may(session, team):
    ws, rep, other, boss, _ = team
    task = _new(session, ws, rep)
    with pytest.raises(NotAllowed):
        tasks.complete_task(session=session, task=task, actor=other, now=f.T0)
    assert tasks.complete_task(session=session, task=task, actor=rep, now=f.T0) is True
    assert task.status == TaskStatus.done and task.done_at == f.T0
    # A second click changes nothing.
    assert tasks.complete_task(session=session, task=task, actor=boss, now=f.T0 + HOUR) is False
    assert task.done_at == f.T0


def test_snooze_moves_the_due_time_of_an_open_task(session, team):
    ws, rep, _, boss, _ = team
    task = _new(session, ws, rep)
    tasks.snooze_task(session=session, task=task, actor=boss, due_at=f.T0 + 3 * DAY, now=f.T0)
    assert task.due_at == f.T0 + 3 * DAY
    with pytest.raises(InvalidInput) as past:
        tasks.snooze_task(session=session, task=task, actor=rep, due_at=f.T0 - HOUR, now=f.T0)
    assert past.value.key == "task.due_in_past"
    tasks.complete_task(session=session, task=task, actor=rep, now=f.T0)
    with pytest.raises(Conflict):
        tasks.snooze_task(session=session, task=task, actor=rep, due_at=f.T0 + DAY, now=f.T0)


def test_skip_closes_only_the_open_tasks_of_that_stage(session, team):
    ws, rep, _, _, deal = team
    stage_task = _new(session, ws, rep, deal=deal, stage_id=deal.stage_id, origin="c:1")
    done_task = _new(session, ws, rep, deal=deal, stage_id=deal.stage_id, origin="c:2")
    tasks.complete_task(session=session, task=done_task, actor=rep, now=f.T0)
    own_task = _new(session, ws, rep, deal=deal)
    assert tasks.skip_open_tasks(session=session, deal=deal, stage_id=deal.stage_id) == 1
    for t in (stage_task, done_task, own_task):
        session.refresh(t)
    assert [t.status for t in (stage_task, done_task, own_task)] == ["skipped", "done", "open"]


def test_get_task_by_number(session, team):
    ws, rep, *_ = team
    task = _new(session, ws, rep)
    assert tasks.get_task(session=session, workspace_id=ws.id, number=task.number).id == task.id
    with pytest.raises(NotFound):
        tasks.get_task(session=session, workspace_id=ws.id, number=99)


def test_reminders_read_a_due_time_once(session, team):
    ws, rep, _, _, deal = team
    task = _new(session, ws, rep, deal=deal, due=f.T0)
    _new(session, ws, rep, due=f.T0 + DAY)  # not due yet
    due = tasks.tasks_came_due(session=session, workspace=ws, now=f.T0, lookback=DAY)
    assert [(r.number, r.deal_number, r.owner_slack_id) for r in due] == [(1, deal.number, "UREP")]
    tasks.mark_reminded(session=session, rows=due)
    assert tasks.tasks_came_due(session=session, workspace=ws, now=f.T0, lookback=DAY) == []
    tasks.snooze_task(session=session, task=task, actor=rep, due_at=f.T0 + HOUR, now=f.T0)
    again = tasks.tasks_came_due(session=session, workspace=ws, now=f.T0 + HOUR, lookback=DAY)
    assert [r.due_at for r in again] == [f.T0 + HOUR]


def test_overdue_counts_per_owner(session, team):
    ws, rep, other, _, _ = team
    _new(session, ws, rep, due=f.T0 - DAY)
    _new(session, ws, rep, due=f.T0 - HOUR)
    _new(session, ws, rep, due=f.T0 + HOUR)
    done = _new(session, ws, other, due=f.T0 - DAY)
    tasks.complete_task(session=session, task=done, actor=other, now=f.T0)
    assert tasks.overdue_counts(session=session, workspace=ws, now=f.T0) == {"UREP": 2}


# --- the morning DM and the stall digest's overdue counts ---------------------------------


def _morning_posts(session, ws, at):
    from scheduler import jobs

    return [p for p in jobs.plan_task_reminders(session, ws, at, True) if "morning" in p.period]


def test_the_morning_dm_lists_today_and_overdue_once_a_working_morning(session, team):
    ws, rep, other, boss, deal = team
    tuesday_9 = f.T0 + DAY - timedelta(minutes=25)  # Tuesday 09:05 in Seoul
    _new(session, ws, rep, text="Overdue call", due=f.T0 - DAY)
    _new(session, ws, rep, text="Call at eleven", due=f.T0 + DAY + HOUR, deal=deal)
    _new(session, ws, rep, text="Thursday's", due=f.T0 + 3 * DAY)
    _new(session, ws, other, text="Someone who said no", due=f.T0 + DAY + HOUR)
    tasks.set_morning(session=session, member=other, on=False)
    (post,) = _morning_posts(session, ws, tuesday_9)
    assert (post.target, post.period) == ("dm:UREP", "morning/2026-11-03")
    blocks = post.payload["message"]["blocks"]
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert texts[0] == "*기한 지남* (1)" and "Overdue call" in texts[1]
    assert texts[2] == "*오늘* (1)" and "Call at eleven" in texts[3]
    assert not any("Thursday's" in text for text in texts)
    assert _morning_posts(session, ws, tuesday_9 + 3 * HOUR) == [], "past the morning"
    saturday_9 = tuesday_9 + 4 * DAY
    _new(session, ws, rep, text="Saturday's", due=saturday_9 + HOUR)
    assert _morning_posts(session, ws, saturday_9) == [], "not a working day"


def test_the_stall_digest_counts_each_reps_overdue_tasks():
    from datetime import date

    from views.notifications import stall_digest

    (message,) = stall_digest(
        items=[],
        groups=[],
        day=date(2026, 11, 2),
        locale="en",
        currency="KRW",
        overdue_tasks={"UREP": 3},
    )
    assert "*<@UREP>* · 3 overdue tasks" in str(message.blocks)
