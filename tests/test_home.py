"""App Home: my open deals (stalled first), my tasks due, the default pipeline's board."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import select

from domain import counters, metrics
from domain.home import home_page
from domain.refs import find_pipeline, stages_of
from domain.stall import stalled_since
from storage.models import Deal, Pipeline, Role, Stage, Task
from tests.factories import T0, deal, member, workspace
from tests.fakeslack.blockkit import validate_view
from views.home import home, render
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
    assert "No tasks due this week. `/task new` adds one." in text
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
                number=i + 1,
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
    assert "할 일 40개 중 12개" in text
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


def test_my_tasks_overdue_first_then_today_then_this_week_with_done_and_snooze(session):
    ws = workspace(session, locale="en", timezone="Asia/Seoul")  # T0 is Monday 09:30 in Seoul
    me = member(session, ws, "U1")
    other = member(session, ws, "U2")
    d = deal(session, ws, me, title="Acme ERP")
    due = [
        ("Overdue call", T0 - timedelta(days=1), False, me),
        ("Send proposal tonight", T0 + timedelta(hours=14), False, me),  # 23:30 Seoul
        ("Tomorrow's meeting", T0 + timedelta(hours=15), False, me),  # 00:30 next day
        ("Sunday night", T0 + timedelta(days=6, hours=14), False, me),  # Sun 23:30 Seoul
        ("Next Monday", T0 + timedelta(days=6, hours=15), False, me),  # Mon 00:30: next week
        ("Done already", T0 - timedelta(hours=1), True, me),
        ("Someone else's", T0, False, other),
    ]
    for number, (text, at, done, owner) in enumerate(due, 1):
        session.add(
            Task(
                workspace_id=ws.id,
                number=number,
                owner_id=owner.id,
                deal_id=d.id,
                text=text,
                due_at=at,
                status="done" if done else "open",
            )
        )
    session.flush()
    view = home(session=session, workspace=ws, member=me, now=T0)
    blocks = view["blocks"]
    start = next(i for i, blk in enumerate(blocks) if "*My tasks* (4)" in str(blk))
    shown = [
        blk["text"]["text"] if blk["type"] == "section" else blk["elements"][0]["text"]
        for blk in blocks[start + 1 : start + 12]
        if blk["type"] in ("section", "context")
    ]
    assert shown == [
        "*Overdue*",
        "*T1* ☑️ Overdue call · Sun, Nov 1, 9:30 AM · D1 Acme ERP · <@U1>",
        "*Today*",
        "*T2* ☑️ Send proposal tonight · Mon, Nov 2, 11:30 PM · D1 Acme ERP · <@U1>",
        "*This week*",
        "*T3* ☑️ Tomorrow's meeting · Tue, Nov 3, 12:30 AM · D1 Acme ERP · <@U1>",
        "*T4* ☑️ Sunday night · Sun, Nov 8, 11:30 PM · D1 Acme ERP · <@U1>",
    ]
    (first_buttons,) = [blk for blk in blocks if blk.get("block_id") == "task:T1"]
    assert [e["value"] for e in first_buttons["elements"]] == [
        "/task done T1",
        "/task snooze T1 +1d",
        "/task snooze T1 +1w",
    ]
    assert validate_view(view) == []


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


def bulk_deals(session, ws, owner, stage, entered_at: list) -> None:
    """Many open deals at once (one INSERT), entered into ``stage`` at the given instants, with
    what the domain keeps beside them (stalled since, the board counters)."""
    first = session.exec(select(sa.func.coalesce(sa.func.max(Deal.number), 0))).one() + 1
    session.execute(
        sa.insert(Deal),
        [
            {
                "workspace_id": ws.id,
                "number": first + i,
                "title": f"Bulk {first + i}",
                "amount": Decimal("1000"),
                "currency": ws.currency,
                "owner_id": owner.id,
                "pipeline_id": stage.pipeline_id,
                "stage_id": stage.id,
                "stage_entered_at": at,
                "stalled_since": stalled_since(at, stage.stall_days),
                "created_at": at,
                "updated_at": at,
                "version": 0,
            }
            for i, at in enumerate(entered_at)
        ],
    )
    counters.rebuild(session, ws.id)  # written around the domain: the board counters follow


def test_the_board_counts_every_business_day_stall_as_the_pipeline_board_does(session):
    """2,100 deals stalled on the business-day clock (more than the old 2,000-deal scan) and
    50 that are only calendar-stalled, over a weekend: App Home's board says what
    ``/pipeline`` says."""
    ws = workspace(session, locale="en", stall_business_days=True)
    me = member(session, ws, "U1")
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name=None)
    contact, meeting = (
        next(s for s in stages_of(session=session, pipeline_id=pipeline.id) if s.name == name)
        for name in ("Contact", "Meeting")
    )
    now = T0 - timedelta(days=7)  # Monday 2026-10-26 09:30 in Seoul
    weeks_ago = [now - timedelta(days=20, minutes=i) for i in range(2_100)]
    friday = [now - timedelta(days=10, minutes=i) for i in range(50)]  # 10 days, 6 business
    bulk_deals(session, ws, me, contact, weeks_ago + friday)
    bulk_deals(session, ws, me, meeting, friday)
    view = home(session=session, workspace=ws, member=me, now=now)
    board = metrics.board(session=session, workspace_id=ws.id, pipeline_id=pipeline.id, now=now)
    assert [(s.name, s.stalled) for s in board.stages if s.count] == [
        ("Contact", 2_100),
        ("Meeting", 0),
    ]
    lines = "\n".join(section_texts(view))
    contact_line = next(line for line in lines.splitlines() if line.startswith("*Contact*"))
    assert contact_line.endswith("🔴 2,100 stalled")
    meeting_line = next(line for line in lines.splitlines() if line.startswith("*Meeting*"))
    assert "stalled" not in meeting_line
    assert "*Your open deals*: 2,200, ₩2,200,000 · 🔴 2,100 stalled" in lines


def test_the_home_view_renders_what_the_domain_read(session):
    """The view only renders: a page read by :func:`domain.home.home_page` in one unit of
    work renders the same blocks after that unit of work is gone."""
    ws = workspace(session, locale="en")
    me = member(session, ws, "U1")
    deal(session, ws, me, title="Sleepy deal", now=T0 - timedelta(days=30))
    session.add(Task(workspace_id=ws.id, number=1, owner_id=me.id, text="Call the CFO", due_at=T0))
    session.flush()
    page = home_page(session=session, workspace=ws, member=me, now=T0, deal_rows=20, task_rows=10)
    session.close()  # nothing left to query with
    view = render(page, workspace=ws, member=me, now=T0)
    assert validate_view(view) == []
    text = all_text(view)
    assert "Sleepy deal" in text and "Call the CFO" in text and "🔴 1 stalled" in text
