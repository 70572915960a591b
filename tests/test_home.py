"""App Home: my open deals (stalled first), my tasks due, the default pipeline's board."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from storage.models import Pipeline, Role, Stage, Task
from tests.factories import T0, deal, member, workspace
from tests.fakeslack.blockkit import validate_view
from views.home import home
from views.ids import Action


def all_text(view: dict) -> str:
    """Everything a person reads on the page (text, fields, context, button labels)."""
    return json.dumps(view["blocks"], ensure_ascii=False)


def section_texts(view: dict) -> list[str]:
    return [blk["text"]["text"] for blk in view["blocks"] if blk["type"] == "section"]


def test_an_empty_workspace_renders_a_valid_home_in_english(session):
    ws = workspace(session, locale="en")
    me = member(session, ws, "U1")
    view = home(session=session, workspace=ws, member=me, now=T0)
    assert view["type"] == "home"
    assert validate_view(view) == []
    text = all_text(view)
    assert "You have no open deals" in text
    assert "Nothing due today" in text
    assert "Board: New business" in text
    assert "No open deals in this pipeline yet" in text


def test_an_empty_workspace_renders_in_korean_for_a_korean_workspace(session):
    ws = workspace(session, locale="ko")
    me = member(session, ws, "U1")
    view = home(session=session, workspace=ws, member=me, now=T0)
    assert validate_view(view) == []
    assert "진행 중인 딜이 없습니다" in all_text(view)
    assert view["blocks"][0]["text"]["text"] == "한눈에 보는 내 영업 현황"


def test_a_workspace_without_any_deal_pipeline_still_renders(session):
    ws = workspace(session, locale="en")
    me = member(session, ws, "U1")
    for p in session.exec(select(Pipeline).where(Pipeline.workspace_id == ws.id)).all():
        for s in session.exec(select(Stage).where(Stage.pipeline_id == p.id)).all():
            session.delete(s)
        session.flush()
        session.delete(p)
    session.flush()
    view = home(session=session, workspace=ws, member=me, now=T0)
    assert validate_view(view) == []
    assert "No pipeline yet" in all_text(view)


def test_the_buttons_rerun_new_deal_my_deals_and_stalled_deals(session):
    ws = workspace(session, locale="en")
    me = member(session, ws, "U1")
    view = home(session=session, workspace=ws, member=me, now=T0)
    (actions,) = [blk for blk in view["blocks"] if blk["type"] == "actions"]
    buttons = actions["elements"]
    assert [btn["value"] for btn in buttons] == [
        "/deal new",
        "/deal list mine",
        "/deal list stalled",
    ]
    assert all(btn["action_id"].split(":")[0] == Action.help_run for btn in buttons)
    assert len({btn["action_id"] for btn in buttons}) == 3  # unique within the block


def test_300_deals_stay_within_100_blocks_and_slack_limits(session):
    ws = workspace(session, locale="ko")
    me = member(session, ws, "U1")
    for i in range(300):
        deal(
            session,
            ws,
            me,
            title=f"Deal {i:03d} " + "긴 이름 " * 20,
            amount=str(1_000_000 + i),
            now=T0 - timedelta(days=i % 40),
            company_name=f"Company {i}",
        )
    for i in range(40):
        session.add(
            Task(
                workspace_id=ws.id,
                owner_id=me.id,
                text="Call back <the CFO> & send the deck " * 20,
                due_at=T0 - timedelta(hours=i),
            )
        )
    session.flush()
    view = home(session=session, workspace=ws, member=me, now=T0)
    assert len(view["blocks"]) <= 100
    assert validate_view(view) == []
    text = all_text(view)
    assert "300건 중 20건" in text  # showing 20 of 300
    assert "할 일 40개 중 10개" in text
    assert "&lt;the CFO&gt; &amp; send" in text  # people's words escaped for mrkdwn
    board = next(s for s in section_texts(view) if "Contact" in s and "(10%)" in s)
    assert "딜 300건" in board


def test_stalled_deals_come_first(session):
    ws = workspace(session, locale="en")
    me = member(session, ws, "U1")
    deal(session, ws, me, title="Fresh deal", now=T0 - timedelta(days=1))
    deal(session, ws, me, title="Sleepy deal", now=T0 - timedelta(days=30))  # Contact: 7 days
    view = home(session=session, workspace=ws, member=me, now=T0)
    rows = next(s for s in section_texts(view) if "Fresh deal" in s)
    assert rows.index("Sleepy deal") < rows.index("Fresh deal")
    assert rows.splitlines()[0].startswith("🔴")
    assert "1 stalled" in all_text(view)


def test_only_my_open_deals_are_listed_but_the_board_counts_everyones(session):
    ws = workspace(session, locale="en")
    me = member(session, ws, "U1")
    other = member(session, ws, "U2", Role.manager)
    deal(session, ws, me, title="Mine", amount="1000000")
    deal(session, ws, other, title="Theirs", amount="2000000")
    won = deal(session, ws, me, title="Already won", stage_text="Won")
    assert won.closed_at is not None
    view = home(session=session, workspace=ws, member=me, now=T0)
    text = all_text(view)
    assert "Mine" in text
    assert "Theirs" not in text
    assert "Already won" not in text
    assert "*Your open deals*: 1, ₩1,000,000" in text
    assert "2 open · ₩3,000,000" in text  # the board: both open deals


def test_tasks_due_by_the_end_of_today_in_the_workspace_timezone(session):
    ws = workspace(session, locale="en", timezone="Asia/Seoul")  # T0 is 09:30 in Seoul
    me = member(session, ws, "U1")
    other = member(session, ws, "U2")
    d = deal(session, ws, me, title="Acme ERP")
    due = [
        ("Overdue call", T0 - timedelta(days=1), False, me),
        ("Send proposal tonight", T0 + timedelta(hours=14), False, me),  # 23:30 Seoul
        ("Tomorrow's meeting", T0 + timedelta(hours=15), False, me),  # 00:30 next day
        ("Done already", T0 - timedelta(hours=1), True, me),
        ("Someone else's", T0, False, other),
    ]
    for text, at, done, owner in due:
        session.add(
            Task(
                workspace_id=ws.id,
                owner_id=owner.id,
                deal_id=d.id,
                text=text,
                due_at=at,
                done=done,
            )
        )
    session.flush()
    view = home(session=session, workspace=ws, member=me, now=T0)
    tasks = next(s for s in section_texts(view) if "Overdue call" in s)
    assert "Send proposal tonight" in tasks
    assert "Tomorrow's meeting" not in tasks
    assert "Done already" not in tasks
    assert "Someone else's" not in tasks
    first, second = tasks.splitlines()
    assert "overdue" in first and "D1" in first
    assert "overdue" not in second
    assert "*Tasks due today*: 2" in all_text(view)


def test_the_member_locale_wins_over_the_workspace_locale(session):
    ws = workspace(session, locale="en")
    me = member(session, ws, "U1")
    me.locale = "ko"
    session.add(me)
    deal(session, ws, me, title="Acme ERP", amount="7590000")
    view = home(session=session, workspace=ws, member=me, now=T0)
    assert "759만원" in all_text(view)
    assert "예상 매출" in all_text(view)


def test_the_board_counts_stalls_on_the_business_day_clock(session):
    # Entered the 7-day Contact stage on Friday 2026-10-16 (Seoul): by Monday 2026-10-26 that
    # is 10 calendar days (stalled) but only 6 business days (not stalled).
    ws = workspace(session, locale="en", stall_business_days=True)
    me = member(session, ws, "U1")
    entered = T0 - timedelta(days=17)
    now = T0 - timedelta(days=7)
    deal(session, ws, me, title="Weekend deal", now=entered)
    view = home(session=session, workspace=ws, member=me, now=now)
    assert not any("🔴" in text for text in section_texts(view))
    ws.stall_business_days = False
    session.add(ws)
    session.flush()
    view = home(session=session, workspace=ws, member=me, now=now)
    assert sum("🔴 1 stalled" in text for text in section_texts(view)) == 2  # mine, board
