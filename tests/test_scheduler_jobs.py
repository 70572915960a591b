"""The jobs against a real database: what each records in the outbox, and that it records once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from domain import deals, weekly
from scheduler import due, jobs
from scheduler.runner import Ticker
from storage import outbox
from storage.db import session_scope
from storage.models import Outbox, Role, Task
from tests import factories as f

T0 = f.T0  # Monday 2026-11-02 09:30 in Seoul
LATER = T0 + timedelta(days=20)  # Sunday 2026-11-22 09:30 in Seoul


class NoSend:
    """A sender for runs that must not send (the tests read the outbox instead)."""

    def post(self, *a, **k):
        raise AssertionError("no sending here")

    dm_channel = upload = post


def setup(engine, **settings):
    with session_scope(engine) as s:
        ws = f.workspace(s, digest_channel="CDIGEST", deals_channel="CDEALS", **settings)
        admin = f.member(s, ws, "UADMIN", Role.admin)
        manager = f.member(s, ws, "UMGR", Role.manager)
        rep = f.member(s, ws, "UREP", Role.rep)
        stale = f.deal(s, ws, rep, title="Stale ERP", amount="10000000", now=T0)
        fresh = f.deal(
            s, ws, rep, title="Fresh CRM", amount="5000000", now=LATER - timedelta(days=2)
        )
        deals.record_card(session=s, deal_id=stale.id, home=("CDEALS", "1700000000.000001", None))
        return ws.id, {"admin": admin.id, "manager": manager.id, "rep": rep.id}, stale.id, fresh.id


def rows(engine, job=None) -> list[Outbox]:
    with session_scope(engine) as s:
        query = select(Outbox).order_by(Outbox.id)
        if job:
            query = query.where(Outbox.job == job)
        return list(s.exec(query))


def run(engine, job, ws_id, at, force=True):
    return jobs.run_for_workspace(engine, job, ws_id, at=at, now=datetime.now(UTC), force=force)


def summary_at(s, ws_id, at) -> weekly.WeeklySummary:
    """The weekly summary the job sends at ``at``: of the previous local week."""
    ws = s.get(jobs.Workspace, ws_id)
    start, end = due.week_window(at, ws.timezone)
    return weekly.compute(session=s, workspace=ws, start=start, end=end, now=at)


def texts(rs) -> str:
    return " ".join(json.loads(r.payload).get("message", {}).get("text", "") for r in rs)


def test_the_digest_names_the_stalled_deal_and_not_the_fresh_one(engine):
    ws_id, _, _, _ = setup(engine)
    result = run(engine, jobs.STALL_DIGEST, ws_id, LATER)
    assert result.error is None
    recorded = rows(engine, jobs.STALL_DIGEST)
    assert sorted(r.target for r in recorded) == ["ch:CDIGEST", "dm:UADMIN", "dm:UMGR"]
    for r in recorded:
        blocks = json.dumps(json.loads(r.payload)["message"]["blocks"], ensure_ascii=False)
        assert "Stale ERP" in blocks
        assert "Fresh CRM" not in blocks
        assert r.period == "2026-11-22"


def test_running_the_digest_again_the_same_day_records_nothing_new(engine):
    ws_id, *_ = setup(engine)
    first = run(engine, jobs.STALL_DIGEST, ws_id, LATER)
    second = run(engine, jobs.STALL_DIGEST, ws_id, LATER + timedelta(hours=5))
    assert (first.recorded, first.already) == (3, 0)
    assert (second.recorded, second.already) == (0, 3)
    assert len(rows(engine)) == 3


def test_the_digest_waits_for_the_local_digest_time_unless_forced(engine):
    ws_id, *_ = setup(engine, digest_time="18:00")
    assert run(engine, jobs.STALL_DIGEST, ws_id, LATER, force=False).recorded == 0
    evening = datetime(2026, 11, 22, 18, 0, tzinfo=UTC) - timedelta(hours=9)
    assert run(engine, jobs.STALL_DIGEST, ws_id, evening, force=False).recorded == 3


def test_nothing_stalled_posts_nothing_or_an_all_clear_when_asked(engine):
    ws_id, *_ = setup(engine)
    early = T0 + timedelta(days=1)
    assert run(engine, jobs.STALL_DIGEST, ws_id, early).recorded == 0
    with session_scope(engine) as s:
        ws = s.get(jobs.Workspace, ws_id)
        ws.digest_all_clear = True
        s.add(ws)
    assert run(engine, jobs.STALL_DIGEST, ws_id, early).recorded == 3
    for r in rows(engine):
        assert ":white_check_mark:" in json.dumps(json.loads(r.payload)["message"]["blocks"])


def test_a_stall_warning_goes_to_the_thread_and_the_owner_once_per_episode(engine):
    ws_id, _, stale_id, _ = setup(engine)
    run(engine, jobs.STALL_WARNINGS, ws_id, LATER)
    run(engine, jobs.STALL_WARNINGS, ws_id, LATER + timedelta(hours=1))
    warned = rows(engine, jobs.STALL_WARNINGS)
    assert sorted(r.target for r in warned) == ["dm:UREP", "thread"]
    thread = next(r for r in warned if r.target == "thread")
    payload = json.loads(thread.payload)
    assert payload["to"] == {"channel": "CDEALS"}
    assert payload["thread_ts"] == "1700000000.000001"
    assert "Stale ERP" in payload["message"]["text"]


def test_a_deal_moved_away_and_back_is_warned_again(engine):
    ws_id, members, stale_id, _ = setup(engine)
    run(engine, jobs.STALL_WARNINGS, ws_id, LATER)
    with session_scope(engine) as s:
        deal = s.get(deals.Deal, stale_id)
        rep = s.get(deals.Member, members["rep"])
        deals.move_deal(session=s, actor=rep, deal=deal, stage_text="Qualification", now=LATER)
        deal = s.get(deals.Deal, stale_id)
        deals.move_deal(session=s, actor=rep, deal=deal, stage_text="Contact", now=LATER)
    assert run(engine, jobs.STALL_WARNINGS, ws_id, LATER + timedelta(days=3)).recorded == 0
    run(engine, jobs.STALL_WARNINGS, ws_id, LATER + timedelta(days=8))
    episodes = {
        r.period for r in rows(engine, jobs.STALL_WARNINGS) if r.period.startswith(f"d{stale_id}/")
    }
    assert len(episodes) == 2


def test_a_backlog_of_stalls_is_warned_newest_first_a_bounded_batch_per_run(engine, monkeypatch):
    monkeypatch.setattr(jobs, "MAX_WARNINGS_PER_RUN", 2)
    with session_scope(engine) as s:
        ws = f.workspace(s)
        rep = f.member(s, ws, "UREP", Role.rep)
        ids = [  # Contact stalls after 7 days: these are 1, 3, 5, 7 and 9 days over
            f.deal(s, ws, rep, title=f"Deal {n}", now=LATER - timedelta(days=8 + n)).id
            for n in (8, 6, 4, 2, 0)
        ]
        ws_id = ws.id

    def warned() -> list[int]:
        periods = [r.period for r in rows(engine, jobs.STALL_WARNINGS)]
        return [int(p.split("/")[0][1:]) for p in periods]

    hour = timedelta(hours=1)
    assert run(engine, jobs.STALL_WARNINGS, ws_id, LATER).recorded == 2
    assert set(warned()) == {ids[4], ids[3]}  # the freshest stalls are the news
    run(engine, jobs.STALL_WARNINGS, ws_id, LATER + hour)
    assert set(warned()) == {ids[4], ids[3], ids[2], ids[1]}
    run(engine, jobs.STALL_WARNINGS, ws_id, LATER + 2 * hour)
    assert sorted(warned()) == sorted(ids)  # then the rest of the backlog, once each
    assert run(engine, jobs.STALL_WARNINGS, ws_id, LATER + 3 * hour).recorded == 0


def test_a_snoozed_deal_is_not_warned_before_its_date(engine):
    ws_id, members, stale_id, _ = setup(engine)
    with session_scope(engine) as s:
        deal = s.get(deals.Deal, stale_id)
        rep = s.get(deals.Member, members["rep"])
        deals.snooze(
            session=s,
            actor=rep,
            deal=deal,
            until=date(2026, 11, 25),
            today=date(2026, 11, 22),
            now=LATER,
        )
    assert run(engine, jobs.STALL_WARNINGS, ws_id, LATER).recorded == 0
    on_the_day = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert run(engine, jobs.STALL_WARNINGS, ws_id, on_the_day).recorded == 2


def test_renewal_alerts_fire_once_per_offset_to_thread_owner_and_channel(engine):
    ws_id, members, stale_id, _ = setup(engine)
    with session_scope(engine) as s:
        deal = s.get(deals.Deal, stale_id)
        rep = s.get(deals.Member, members["rep"])
        deals.set_renewal(
            session=s,
            actor=rep,
            deal=deal,
            now=T0,
            renewal_date=date(2027, 1, 1),
            mrr=Decimal(990000),
        )
    thirty_before = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # 18:00 in Seoul, 30 days before
    assert run(engine, jobs.RENEWAL_ALERTS, ws_id, thirty_before).recorded == 3
    assert run(engine, jobs.RENEWAL_ALERTS, ws_id, thirty_before + timedelta(hours=2)).recorded == 0
    assert run(engine, jobs.RENEWAL_ALERTS, ws_id, thirty_before + timedelta(days=1)).recorded == 0
    alerts = rows(engine, jobs.RENEWAL_ALERTS)
    assert sorted(r.target for r in alerts) == ["ch:CDIGEST", "dm:UREP", "thread"]
    assert {r.period for r in alerts} == {f"d{stale_id}/2027-01-01/30"}
    assert "99만원" in texts(alerts)
    seven_before = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
    assert run(engine, jobs.RENEWAL_ALERTS, ws_id, seven_before).recorded == 3


def test_a_task_that_came_due_reminds_its_owner_once(engine):
    ws_id, members, stale_id, _ = setup(engine)
    with session_scope(engine) as s:
        s.add(
            Task(
                workspace_id=ws_id,
                number=1,
                owner_id=members["rep"],
                deal_id=stale_id,
                text="Send the proposal",
                due_at=LATER - timedelta(minutes=10),
            )
        )
        s.add(
            Task(
                workspace_id=ws_id,
                number=2,
                owner_id=members["rep"],
                text="Later",
                due_at=LATER + timedelta(hours=2),
            )
        )
    assert run(engine, jobs.TASK_REMINDERS, ws_id, LATER).recorded == 1
    assert run(engine, jobs.TASK_REMINDERS, ws_id, LATER + timedelta(minutes=15)).recorded == 0
    (reminder,) = rows(engine, jobs.TASK_REMINDERS)
    assert reminder.target == "dm:UREP"
    assert "Send the proposal" in texts([reminder])


def test_the_weekly_summary_counts_last_weeks_new_won_and_lost(engine):
    ws_id, members, stale_id, _ = setup(engine)
    week_of = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)  # Tuesday of the week 9–15 November
    with session_scope(engine) as s:
        ws = s.get(jobs.Workspace, ws_id)
        rep = s.get(deals.Member, members["rep"])
        won = f.deal(s, ws, rep, title="Won one", amount="3000000", now=week_of)
        lost = f.deal(s, ws, rep, title="Lost one", amount="2000000", now=week_of)
        deals.move_deal(
            session=s, actor=rep, deal=won, stage_text="Proposal", now=week_of + timedelta(hours=1)
        )
        deals.close_deal(session=s, actor=rep, deal=won, won=True, now=week_of + timedelta(days=1))
        deals.close_deal(
            session=s, actor=rep, deal=lost, won=False, now=week_of + timedelta(days=2)
        )
    monday = datetime(2026, 11, 16, 0, 30, tzinfo=UTC)  # 09:30 in Seoul
    with session_scope(engine) as s:
        summary = summary_at(s, ws_id, monday)
    assert (summary.start, summary.end) == (date(2026, 11, 9), date(2026, 11, 15))
    new_business = summary.pipelines[0]
    assert new_business.name == "New business"
    assert (new_business.new_count, new_business.new_amount) == (2, Decimal("5000000.00"))
    assert (new_business.won_count, new_business.won_amount) == (1, Decimal("3000000.00"))
    assert (new_business.lost_count, new_business.lost_amount) == (1, Decimal("2000000.00"))
    assert new_business.stalled_count == 1  # the stale deal, 14 days in a 7-day stage
    assert new_business.movers[0].deal == "D3 Won one"
    assert new_business.win_rate == Decimal("0.5")


def test_biggest_movers_are_the_largest_deals_that_really_moved_per_pipeline(engine):
    ws_id, members, *_ = setup(engine)
    week_of = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        ws = s.get(jobs.Workspace, ws_id)
        rep = s.get(deals.Member, members["rep"])

        def deal(title, amount, *stages, pipeline=None):
            d = f.deal(s, ws, rep, title=title, amount=amount, now=T0, pipeline_name=pipeline)
            for hours, stage in enumerate(stages, start=1):
                deals.move_deal(
                    session=s,
                    actor=rep,
                    deal=d,
                    stage_text=stage,
                    now=week_of + timedelta(hours=hours),
                )

        # The twenty largest went there and back: not movers, and more than the first look.
        for i in range(20):
            deal(f"Round trip {i}", str(900_000_000 - i), "Meeting", "Contact")
        deal("Big, idle", "800000000")  # no move this week
        deal("Small mover", "1000000", "Meeting")
        for amount in ("5000000", "7000000", "6000000"):
            deal(f"Mover {amount}", amount, "Meeting", "Proposal")
        deal("Renewal mover", "2000000", "Renewed", pipeline="Renewals")
    monday = datetime(2026, 11, 16, 0, 30, tzinfo=UTC)
    with session_scope(engine) as s:
        summary = summary_at(s, ws_id, monday)
    by_name = {p.name: p.movers for p in summary.pipelines}
    assert [
        (m.deal.split(" ", 1)[1], m.from_stage, m.to_stage) for m in by_name["New business"]
    ] == [
        ("Mover 7000000", "Contact", "Proposal"),
        ("Mover 6000000", "Contact", "Proposal"),
        ("Mover 5000000", "Contact", "Proposal"),
    ]
    assert [m.deal.split(" ", 1)[1] for m in by_name["Renewals"]] == ["Renewal mover"]


def test_the_weekly_summary_records_messages_and_a_chart_once(engine):
    ws_id, *_ = setup(engine)
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    assert run(engine, jobs.WEEKLY_SUMMARY, ws_id, monday, force=False).recorded >= 2
    assert (
        run(engine, jobs.WEEKLY_SUMMARY, ws_id, monday + timedelta(days=2), force=False).recorded
        == 0
    )
    recorded = rows(engine, jobs.WEEKLY_SUMMARY)
    assert recorded[0].period == "2026-W48"
    uploads = [json.loads(r.payload) for r in recorded if "upload" in json.loads(r.payload)]
    assert uploads and all(u["thread_of"] == recorded[0].key for u in uploads)


def test_one_workspace_failing_does_not_stop_the_others(engine):
    ws_id, *_ = setup(engine)
    with session_scope(engine) as s:
        broken = f.workspace(s, "TBROKEN", timezone="Not/AZone", digest_channel="CX")
        broken_id = broken.id
    assert run(engine, jobs.STALL_DIGEST, broken_id, LATER).error is not None
    assert run(engine, jobs.STALL_DIGEST, ws_id, LATER).recorded == 3


def test_the_tick_runs_each_job_once_per_slot_and_picks_up_new_workspaces(engine):
    ws_id, *_ = setup(engine)
    sent = []

    class Collect:
        def post(self, channel, message, thread_ts=None, *, key=""):
            sent.append((channel, message.text))
            return f"{len(sent)}.0"

        def dm_channel(self, user_id):
            return "D" + user_id

        def upload(self, *a):
            sent.append(("upload", a[2]))

    ticker = Ticker(engine, Collect())
    ticker.tick(LATER)
    first = len(sent)
    assert first > 0
    ticker.tick(LATER + timedelta(minutes=1))
    assert len(sent) == first  # same slots: nothing run, nothing sent
    with session_scope(engine) as s:
        f.workspace(s, "T2", digest_channel="C2")
    ticker.tick(LATER + timedelta(minutes=2))
    assert len(sent) == first  # T2 has no deals: nothing to say, but it was looked at
    assert any(key[0] != ws_id for key in ticker.done)
    with session_scope(engine) as s:
        assert outbox.counts(s) == {"sent": first}


def test_the_weekly_rates_agree_with_domain_metrics_pipeline_by_pipeline(engine):
    from domain import metrics

    ws_id, members, *_ = setup(engine)
    with session_scope(engine) as s:
        ws = s.get(jobs.Workspace, ws_id)
        rep = s.get(deals.Member, members["rep"])
        for n in range(12):
            at = T0 + timedelta(days=n % 9, hours=n)
            deal = f.deal(s, ws, rep, title=f"Deal {n}", amount=str(1_000_000 * (n + 1)), now=at)
            if n % 3 == 0:
                deals.move_deal(session=s, actor=rep, deal=deal, stage_text="Meeting", now=at)
            if n % 4 == 1:
                deals.close_deal(
                    session=s, actor=rep, deal=deal, won=True, now=at + timedelta(days=2)
                )
            if n % 4 == 2:
                deals.close_deal(
                    session=s, actor=rep, deal=deal, won=False, now=at + timedelta(days=1)
                )
        renewal = f.deal(s, ws, rep, title="Renewal", now=T0, pipeline_name="Renewals")
        deals.close_deal(session=s, actor=rep, deal=renewal, won=True, now=T0 + timedelta(days=3))
    monday = datetime(2026, 11, 9, 0, 30, tzinfo=UTC)
    with session_scope(engine) as s:
        ws = s.get(jobs.Workspace, ws_id)
        summary = summary_at(s, ws_id, monday)
        start, end = due.week_window(monday, ws.timezone)
        for week in summary.pipelines:
            want = metrics.metrics(
                session=s,
                workspace_id=ws_id,
                start=start,
                end=end,
                now=monday,
                pipeline_id=week.pipeline_id,
            )
            assert week.won_count == want.won_count
            assert week.won_amount == want.won_amount
            assert week.lost_count == want.lost_count
            assert week.win_rate == want.win_rate
            assert week.avg_deal_size == want.avg_deal_size
            assert week.cycle_days == pytest.approx(want.sales_cycle_days)
            assert week.avg_open_age == pytest.approx(want.avg_open_age_days)
            assert week.velocity == want.velocity_per_day
            conv = want.bottleneck_conversion
            slow = want.bottleneck_time
            assert week.bottleneck_conversion == ((conv.name, conv.conversion) if conv else None)
            assert week.bottleneck_slow == (
                (slow.name, pytest.approx(slow.mean_days_in_stage)) if slow else None
            )
    assert summary.pipelines[0].won_count > 0 and summary.pipelines[0].win_rate is not None
