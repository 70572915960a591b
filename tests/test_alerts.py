"""Alerts (issue 16) against a real database: routes pick channels by the deal's pipeline,
stage, owner and amount (at the workspace rates); a member's mutes, batching and quiet hours
decide when their alert DMs go — never twice, never lost, also with two schedulers at once.
Scheduled posts are recorded by the jobs and sent to the local fake Slack."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.sender import SlackSender
from domain import alerts, deals, money
from domain.errors import InvalidInput, NotAllowed, NotFound
from scheduler import jobs
from scheduler.runner import Ticker, run_job
from storage.db import make_engine, session_scope
from storage.models import AlertItem, AlertRoute, Member, Outbox, Role, Workspace
from tests import factories as f
from tests.fakeslack import FakeSlack

T0 = f.T0  # Monday 2026-11-02 09:30 in Seoul
AT = T0 + timedelta(days=20)  # Sunday 2026-11-22 09:30 in Seoul: deals made at T0 are stalled
HOUR = timedelta(hours=1)


@pytest.fixture
def slack():
    with FakeSlack(team_id="T1") as fake:
        yield fake


def sender_for(slack) -> SlackSender:
    return SlackSender(WebClient(token="xoxb-test", base_url=slack.url), pace=0)


def setup(engine, *, stalled: int = 1, locale: str = "en") -> int:
    with session_scope(engine) as s:
        ws = f.workspace(s, digest_channel="CDIGEST", deals_channel="CDEALS", locale=locale)
        f.member(s, ws, "UADMIN", Role.admin)
        rep = f.member(s, ws, "UREP", Role.rep)
        for n in range(stalled):
            f.deal(s, ws, rep, title=f"Stale {n + 1}", amount=str(1_000_000 * (n + 1)), now=T0)
        return ws.id


def member(s, slack_id: str = "UREP") -> Member:
    return s.exec(select(Member).where(Member.slack_user_id == slack_id)).one()


def admin_and_ws(s) -> tuple[Member, Workspace]:
    return member(s, "UADMIN"), s.exec(select(Workspace)).one()


def add_route(engine, event: str, channel: str, **spec) -> None:
    with session_scope(engine) as s:
        admin, ws = admin_and_ws(s)
        alerts.add_route(
            session=s,
            actor=admin,
            workspace=ws,
            spec=alerts.RouteSpec(event, channel, **spec),
            now=T0,
        )


def dms(slack, user: str = "UREP") -> list:
    return [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == f"D{user}"]


def in_channel(slack, channel: str) -> list:
    return [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == channel]


def run(engine, slack, job: str, at: datetime):
    report = run_job(job, engine=engine, sender=sender_for(slack), at=at, force=False)
    assert report.errors == []
    return report


def choose(engine, user: str = "UREP", *, batch=None, quiet=None, timezone=None):
    with session_scope(engine) as s:
        m = member(s, user)
        if timezone:
            m.timezone = timezone
            s.add(m)
        if batch:
            alerts.set_batch(session=s, member=m, batch=batch)
        if quiet:
            alerts.set_quiet(session=s, member=m, quiet=quiet)


# ---------------------------------------------------------------- routes


def test_a_won_deal_of_2억_reaches_wins_with_a_1억_minimum_and_one_of_5천만_does_not(engine):
    ws_id = setup(engine, stalled=0)
    add_route(engine, "won", "CWINS", min_amount=Decimal(100_000_000), currency="KRW")
    with session_scope(engine) as s:
        admin, ws = admin_and_ws(s)
        for title, amount in (("Big", "200000000"), ("Small", "50000000")):
            deal = f.deal(s, ws, admin, title=title, amount=amount, now=T0)
            deals.move_deal(session=s, actor=admin, deal=deal, stage_text="Won", now=T0 + HOUR)
    with session_scope(engine) as s:
        posted = s.exec(select(Outbox).where(Outbox.target == "ch:CWINS")).all()
    assert len(posted) == 1
    message = json.loads(posted[0].payload)["message"]
    assert message["text"] == "Won: D1 Big · ₩200,000,000"
    assert posted[0].key.startswith(f"alert:{ws_id}:ch:CWINS:won/h")


def test_moves_and_new_deals_go_by_pipeline_stage_and_owner(engine):
    setup(engine, stalled=0)
    with session_scope(engine) as s:
        rep = member(s)
    add_route(engine, "moved", "CMOVES", stage="Proposal")
    add_route(engine, "created", "CNEW", pipeline="Renewals")
    add_route(engine, "created", "CREPS", owners=(rep,))
    with session_scope(engine) as s:
        admin, ws = admin_and_ws(s)
        rep = member(s)
        mine = f.deal(s, ws, admin, title="Mine", now=T0)
        theirs = f.deal(s, ws, rep, title="Theirs", now=T0, pipeline_name="Renewals")
        deals.move_deal(session=s, actor=admin, deal=mine, stage_text="Qualification", now=T0)
        deals.move_deal(session=s, actor=admin, deal=mine, stage_text="Proposal", now=T0)
        assert theirs.number == 2
    with session_scope(engine) as s:
        rows = {
            (r.target, json.loads(r.payload)["message"]["text"]) for r in s.exec(select(Outbox))
        }
    assert ("ch:CNEW", "New deal: D2 Theirs · ₩7,590,000") in rows
    assert ("ch:CREPS", "New deal: D2 Theirs · ₩7,590,000") in rows
    moves = [text for target, text in rows if target == "ch:CMOVES"]
    assert moves == ["Moved from Qualification to Proposal: D1 Mine · ₩7,590,000"]
    assert not any(target == "ch:CNEW" and "Mine" in text for target, text in rows)


def test_a_minimum_compares_amounts_at_the_workspace_rates(engine):
    setup(engine, stalled=0)
    with session_scope(engine) as s:
        admin, ws = admin_and_ws(s)
        dollars = f.deal(s, ws, admin, title="Dollars", amount="100000", currency="USD", now=T0)
        route = AlertRoute(
            workspace_id=ws.id,
            number=1,
            event="won",
            channel="CWINS",
            min_amount=Decimal(100_000_000),
            currency="KRW",
        )
        s.add(route)
        s.flush()
        event = alerts.AlertEvent("won", "x", alerts.deal_facts(session=s, deal=dollars))
        # No USD rate: $100,000 cannot be compared with ₩1억, and is not taken for more.
        assert alerts.route(session=s, workspace=ws, event=event) == []
        money.set_rates(
            session=s, workspace=ws, actor=admin, rates=[("USD", Decimal(1380))], now=T0
        )
        assert alerts.route(session=s, workspace=ws, event=event) == ["CWINS"]  # ₩1억 3,800만
        route.min_amount, route.currency = Decimal(150_000), "USD"  # $150,000: ₩2억 700만
        assert alerts.route(session=s, workspace=ws, event=event) == []


def test_two_routes_to_one_channel_post_once_and_removing_a_route_stops_it(engine):
    setup(engine, stalled=0)
    add_route(engine, "won", "CWINS")
    add_route(engine, "won", "CWINS", min_amount=Decimal(1000), currency="KRW")
    add_route(engine, "lost", "CLOST")
    with session_scope(engine) as s:
        admin, ws = admin_and_ws(s)
        alerts.remove_route(session=s, actor=admin, workspace=ws, number=3)
        deal = f.deal(s, ws, admin, title="Twice", now=T0)
        deals.move_deal(session=s, actor=admin, deal=deal, stage_text="Won", now=T0)
        other = f.deal(s, ws, admin, title="Gone", now=T0)
        deals.move_deal(session=s, actor=admin, deal=other, stage_text="Lost", now=T0)
    with session_scope(engine) as s:
        targets = [r.target for r in s.exec(select(Outbox).where(Outbox.job == alerts.JOB))]
    assert targets == ["ch:CWINS"]


def test_routes_are_for_admins_and_checked_before_anything_is_written(engine):
    setup(engine, stalled=0)
    with session_scope(engine) as s:
        admin, ws = admin_and_ws(s)
        rep = member(s)

        def add(actor, event="won", **spec):
            spec = alerts.RouteSpec(event, "CWINS", **spec)
            alerts.add_route(session=s, actor=actor, workspace=ws, spec=spec, now=T0)

        with pytest.raises(NotAllowed):
            add(rep)
        with pytest.raises(InvalidInput):
            add(admin, event="promoted")
        with pytest.raises(NotFound):
            add(admin, pipeline="Nope")
        with pytest.raises(NotFound):
            alerts.remove_route(session=s, actor=admin, workspace=ws, number=7)
        assert alerts.workspace_routes(session=s, workspace_id=ws.id) == []


# ---------------------------------------------------------------- routes from the jobs


def test_stall_warnings_reach_a_stall_route_and_renewal_alerts_do_not(engine, slack):
    setup(engine, stalled=2)
    add_route(engine, "stalled", "CSTALL", min_amount=Decimal(2_000_000), currency="KRW")
    add_route(engine, "renewal", "CRENEW")
    run(engine, slack, jobs.STALL_WARNINGS, AT)
    (post,) = in_channel(slack, "CSTALL")
    assert post.args["text"] == "Stalled in Contact: D2 Stale 2 · ₩2,000,000"
    assert in_channel(slack, "CRENEW") == []
    run(engine, slack, jobs.STALL_WARNINGS, AT + HOUR)  # the same episode: nothing new
    assert len(in_channel(slack, "CSTALL")) == 1


# ---------------------------------------------------------------- mutes


def test_a_muted_deal_sends_its_owner_nothing_and_the_others_still_reach_them(engine, slack):
    setup(engine, stalled=2)
    with session_scope(engine) as s:
        rep = member(s)
        first = s.exec(select(deals.Deal).where(deals.Deal.number == 1)).one()
        alerts.mute_deal(session=s, member=rep, deal=first)
    run(engine, slack, jobs.STALL_WARNINGS, AT)
    texts = [c.args["text"] for c in dms(slack)]
    assert len(texts) == 1 and "Stale 2" in texts[0]
    assert len(in_channel(slack, "CDEALS")) == 2  # the deals' own thread/channel still hears
    run(engine, slack, jobs.STALL_WARNINGS, AT + HOUR)
    run(engine, slack, jobs.ALERT_DIGESTS, AT + 2 * HOUR)
    assert len(dms(slack)) == 1  # muted means never, not later


def test_a_muted_pipeline_sends_nothing_of_its_deals(engine, slack):
    setup(engine, stalled=2)
    with session_scope(engine) as s:
        rep = member(s)
        deal = s.exec(select(deals.Deal)).first()
        alerts.set_muted(session=s, member=rep, kind="p", ids={deal.pipeline_id})
    run(engine, slack, jobs.STALL_WARNINGS, AT)
    assert dms(slack) == []


# ---------------------------------------------------------------- batching


def test_ten_alerts_for_an_hourly_member_are_one_dm_listing_ten(engine, slack):
    setup(engine, stalled=10)
    choose(engine, batch="hourly")
    run(engine, slack, jobs.STALL_WARNINGS, AT)  # 09:30 in Seoul
    assert dms(slack) == []
    with session_scope(engine) as s:
        assert len(s.exec(select(AlertItem)).all()) == 10
    run(engine, slack, jobs.ALERT_DIGESTS, AT + timedelta(minutes=15))  # 09:45: not yet
    assert dms(slack) == []
    run(engine, slack, jobs.ALERT_DIGESTS, AT + timedelta(minutes=30))  # 10:00
    (dm,) = dms(slack)
    assert dm.args["text"] == "Your alerts: 10 alerts"
    listed = json.dumps(dm.args["blocks"], ensure_ascii=False)
    assert all(f"Stale {n}" in listed for n in range(1, 11))
    run(engine, slack, jobs.ALERT_DIGESTS, AT + timedelta(minutes=45))
    run(engine, slack, jobs.STALL_WARNINGS, AT + HOUR)
    run(engine, slack, jobs.ALERT_DIGESTS, AT + 2 * HOUR)
    assert len(dms(slack)) == 1
    assert slack.problems == []


def test_the_digest_is_sent_once_when_two_schedulers_tick_at_once(db_url, slack):
    engine = make_engine(db_url)
    setup(engine, stalled=10)
    choose(engine, batch="daily", timezone="America/New_York")
    Ticker(engine, sender_for(slack)).tick(AT)  # Saturday 19:30 in New York
    engine.dispose()
    barrier = threading.Barrier(3)
    reports = []

    def scheduler_process():
        own = make_engine(db_url)  # its own pool, as a second process would have
        try:
            barrier.wait()
            ticker = Ticker(own, sender_for(slack))
            # The next 09:00 in New York (the workspace's digest time, the member's clock).
            reports.extend(ticker.tick(datetime(2026, 11, 22, 14, 0, tzinfo=UTC)))
        finally:
            own.dispose()

    threads = [threading.Thread(target=scheduler_process) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(not r.errors for r in reports), [r.errors for r in reports]
    digests = [r for r in reports if r.job == jobs.ALERT_DIGESTS]
    assert sum(r.recorded for r in digests) == 1
    (dm,) = dms(slack)
    assert dm.args["text"] == "Your alerts: 10 alerts"
    with session_scope(make_engine(db_url)) as s:
        assert {i.digest for i in s.exec(select(AlertItem))} == {"r20261122T1400Z/i1"}


def test_an_alert_that_comes_late_for_a_sent_digest_gets_a_dm_of_its_own(engine, slack):
    setup(engine, stalled=1)
    choose(engine, batch="hourly")
    run(engine, slack, jobs.STALL_WARNINGS, AT)
    run(engine, slack, jobs.ALERT_DIGESTS, AT + timedelta(minutes=30))
    with session_scope(engine) as s:  # a straggler for the same release, written late
        first = s.exec(select(AlertItem)).one()
        alerts.hold(
            s,
            first.workspace_id,
            first.member_id,
            "late-key",
            first.release_at,
            {"to": {"dm": "UREP"}, "message": {"text": "Late one"}},
            AT,
        )
    run(engine, slack, jobs.ALERT_DIGESTS, AT + timedelta(minutes=45))
    assert [c.args["text"] for c in dms(slack)][1] == "Late one"


# ---------------------------------------------------------------- quiet hours


def test_quiet_hours_hold_a_warning_until_they_end_then_deliver_it(engine, slack):
    setup(engine, stalled=1, locale="ko")
    choose(engine, quiet="20:00-08:00")
    night = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # 23:00 in Seoul
    run(engine, slack, jobs.STALL_WARNINGS, night)
    assert dms(slack) == []
    assert len(in_channel(slack, "CDEALS")) == 1  # the channel is not the member's night
    run(engine, slack, jobs.ALERT_DIGESTS, night + timedelta(hours=8, minutes=45))  # 07:45
    assert dms(slack) == []
    run(engine, slack, jobs.ALERT_DIGESTS, night + 9 * HOUR)  # 08:00
    (dm,) = dms(slack)
    assert dm.args["text"].startswith("정체된 딜:")  # the warning itself, as it would have gone
    assert "Stale 1" in dm.args["text"]


def test_an_alert_outside_quiet_hours_goes_at_once(engine, slack):
    setup(engine, stalled=1)
    choose(engine, quiet="20:00-08:00")
    run(engine, slack, jobs.STALL_WARNINGS, AT)  # 09:30 in Seoul
    assert len(dms(slack)) == 1


def test_two_scheduler_processes_send_the_batch_once(db_url, slack):
    """Real processes (``salesbot jobs run alert-digests``), started together: one DM."""
    from tests.processes import run_cli

    engine = make_engine(db_url)
    setup(engine, stalled=10)
    choose(engine, batch="hourly")
    run(engine, slack, jobs.STALL_WARNINGS, AT)
    engine.dispose()
    at = (AT + timedelta(minutes=30)).isoformat()
    done = []

    def process():
        done.append(run_cli(db_url, slack, "jobs", "run", jobs.ALERT_DIGESTS, "--at", at))

    threads = [threading.Thread(target=process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(d.returncode == 0 for d in done), [d.stdout + d.stderr for d in done]
    (dm,) = dms(slack)
    assert dm.args["text"] == "Your alerts: 10 alerts"


def test_task_reminders_follow_mutes_and_overdue_routes(engine, slack):
    from domain import tasks

    setup(engine, stalled=2)
    add_route(engine, "overdue", "COPS")
    with session_scope(engine) as s:
        rep, ws = member(s), s.exec(select(Workspace)).one()
        one, two = s.exec(select(deals.Deal).order_by(deals.Deal.number)).all()
        for deal, text in ((one, "Call the CFO"), (two, "Send the quote")):
            tasks.create_task(
                session=s,
                workspace=ws,
                owner=rep,
                text=text,
                kind="call",
                due_at=AT - timedelta(minutes=5),
                deal=deal,
            )
        alerts.set_muted(session=s, member=rep, kind="p", ids={two.pipeline_id})
        alerts.set_muted(session=s, member=rep, kind="p", ids=set())  # changed their mind
        alerts.mute_deal(session=s, member=rep, deal=two)
    run(engine, slack, jobs.TASK_REMINDERS, AT)
    reminded = [c.args["text"] for c in dms(slack) if "Call the CFO" in c.args["text"]]
    assert len(reminded) == 1
    assert not any("Send the quote" in c.args["text"] for c in dms(slack))
    routed = sorted(c.args["text"] for c in in_channel(slack, "COPS"))
    assert routed == [
        "Task due: Call the CFO: D1 Stale 1 · ₩1,000,000",
        "Task due: Send the quote: D2 Stale 2 · ₩2,000,000",
    ]
