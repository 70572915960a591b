"""The scheduler end to end: run_job → outbox → slack_sdk → a local Slack (tests.fakeslack).

What a sales team would notice: the digest names the right deals, nothing is posted twice
(repeated runs, two schedulers at once), a Slack hiccup delays a post but never loses it, and
a post Slack will never take is given up on once.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.sender import SlackSender
from domain import deals
from domain.pipelines import StageSpec, create_pipeline
from i18n import t
from scheduler import jobs
from scheduler.drain import drain
from scheduler.runner import run_job
from storage import outbox
from storage.db import make_engine, session_scope
from storage.models import Role
from tests import factories as f
from tests.fakeslack import FakeSlack

T0 = f.T0  # Monday 2026-11-02 09:30 in Seoul
AT = T0 + timedelta(days=20)  # Sunday 2026-11-22 09:30 in Seoul: Stale ERP is 13 days over
ROOT = Path(__file__).parent.parent


@pytest.fixture
def slack():
    with FakeSlack(team_id="T1") as fake:
        yield fake


def sender_for(slack) -> SlackSender:
    return SlackSender(WebClient(token="xoxb-test", base_url=slack.url), pace=0)


def later(seconds: float):
    """A clock ``seconds`` ahead: the retries' backoff has run out."""
    return lambda: datetime.now(UTC) + timedelta(seconds=seconds)


def setup(engine, *, stalled: int = 1):
    with session_scope(engine) as s:
        ws = f.workspace(s, digest_channel="CDIGEST", deals_channel="CDEALS")
        f.member(s, ws, "UADMIN", Role.admin)
        f.member(s, ws, "UMGR", Role.manager)
        rep = f.member(s, ws, "UREP", Role.rep)
        for n in range(stalled):
            title = "Stale ERP" if n == 0 else f"Stale {n}"
            f.deal(s, ws, rep, title=title, amount=str(1_000_000 + n), now=T0)
        f.deal(s, ws, rep, title="Fresh CRM", amount="5000000", now=AT - timedelta(days=2))
        return ws.id


def posts(slack, channel=None):
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if channel is None or c.args["channel"] == channel
    ]


def blob(calls) -> str:
    return " ".join(str(c.args.get("blocks")) + c.args.get("text", "") for c in calls)


def test_the_digest_names_the_stalled_deals_and_not_the_fresh_ones(engine, slack):
    setup(engine)
    report = run_job("stall-digest", engine=engine, sender=sender_for(slack), at=AT, team_id="T1")
    assert (report.recorded, report.sent, report.errors) == (3, 3, [])
    for channel in ("CDIGEST", "DUADMIN", "DUMGR"):
        (post,) = posts(slack, channel)
        assert "Stale ERP" in blob([post])
        assert "Fresh CRM" not in blob([post])
    assert posts(slack, "DUREP") == []  # reps get warnings, not the managers' digest
    assert slack.problems == []


def test_running_the_same_digest_twice_posts_once(engine, slack):
    setup(engine)
    run_job("stall-digest", engine=engine, sender=sender_for(slack), at=AT)
    again = run_job(
        "stall-digest", engine=engine, sender=sender_for(slack), at=AT + timedelta(hours=3)
    )
    assert (again.recorded, again.already, again.sent) == (0, 3, 0)
    assert len(posts(slack)) == 3


def test_two_schedulers_on_one_database_post_once(db_url, slack):
    with_engine = make_engine(db_url)
    setup(with_engine)
    with_engine.dispose()
    barrier = threading.Barrier(3)
    reports = []

    def scheduler_process():
        engine = make_engine(db_url)  # its own pool, as a second process would have
        try:
            barrier.wait()
            for job in ("stall-warnings", "stall-digest"):
                reports.append(run_job(job, engine=engine, sender=sender_for(slack), at=AT))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=scheduler_process) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(not r.errors for r in reports), [r.errors for r in reports]
    assert sum(r.recorded for r in reports) == 5  # 2 warnings (thread + owner) + 3 digests
    sent = [(c.args["channel"], c.args.get("thread_ts"), c.args["text"]) for c in posts(slack)]
    assert len(sent) == 5 == len(set(sent))


def test_a_429_then_success_posts_once(engine, slack):
    setup(engine)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    first = run_job("stall-digest", engine=engine, sender=sender_for(slack), at=AT)
    assert (first.sent, first.retried) == (2, 1)
    with session_scope(engine) as s:
        pending = [r for r in outbox.counts(s).items()]
        assert dict(pending) == {"sent": 2, "pending": 1}
    early = drain(engine, sender_for(slack))  # Retry-After not over yet: nothing is tried
    assert early.sent == 0
    retry = drain(engine, sender_for(slack), now=later(2))
    assert retry.sent == 1
    assert sorted(c.args["channel"] for c in posts(slack)) == ["CDIGEST", "DUADMIN", "DUMGR"]


def test_a_500_on_one_dm_leaves_the_others_sent_and_retries_that_one(engine, slack):
    setup(engine)
    slack.fail_next("chat.postMessage", status=500, when=lambda a: a.get("channel") == "DUMGR")
    first = run_job("stall-digest", engine=engine, sender=sender_for(slack), at=AT)
    assert (first.sent, first.retried, first.failed) == (2, 1, 0)
    assert {c.args["channel"] for c in posts(slack)} == {"CDIGEST", "DUADMIN"}
    retry = drain(engine, sender_for(slack), now=later(10))
    assert retry.sent == 1
    (dm,) = posts(slack, "DUMGR")
    assert "Stale ERP" in blob([dm])
    with session_scope(engine) as s:
        row = outbox.get_by_key(s, dm_key(s, "UMGR"))
        assert (row.status, row.attempts) == ("sent", 2)


def dm_key(session, user: str) -> str:
    ws = f.workspace(session)
    return outbox.outbox_key(
        job="stall-digest", workspace_id=ws.id, target=f"dm:{user}", period="2026-11-22"
    )


def test_a_permanent_error_is_recorded_and_not_retried(engine, slack, caplog):
    setup(engine)
    slack.fail_next(
        "chat.postMessage", error="channel_not_found", when=lambda a: a["channel"] == "CDIGEST"
    )
    first = run_job("stall-digest", engine=engine, sender=sender_for(slack), at=AT)
    assert (first.sent, first.failed) == (2, 1)
    assert any("channel_not_found" in e for e in first.errors)
    calls = len(slack.calls_to("chat.postMessage", ok_only=False))
    later_drain = drain(engine, sender_for(slack), now=later(86_400))
    assert later_drain.sent == later_drain.failed == 0
    assert len(slack.calls_to("chat.postMessage", ok_only=False)) == calls
    with session_scope(engine) as s:
        assert outbox.counts(s) == {"sent": 2, "failed": 1}
    assert sum("failed permanently" in r.message for r in caplog.records) == 1


def test_a_400_deal_digest_is_posted_in_parts_in_one_thread(engine, slack):
    setup(engine, stalled=400)
    report = run_job("stall-digest", engine=engine, sender=sender_for(slack), at=AT)
    assert report.failed == report.retried == report.waiting == 0
    assert slack.problems == []
    channel = posts(slack, "CDIGEST")
    parent, replies = channel[0], channel[1:]
    assert "thread_ts" not in parent.args
    assert replies and all(c.args["thread_ts"] == parent.response["ts"] for c in replies)
    everything = blob(channel)
    for n in range(1, 400):
        assert (
            f"Stale {n} " in everything
            or f"Stale {n}\n" in everything
            or f"Stale {n} —" in everything
        )


def test_the_weekly_summary_uploads_a_chart_that_opens_as_an_image(engine, slack):
    setup(engine)
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    report = run_job("weekly-summary", engine=engine, sender=sender_for(slack), at=monday)
    assert report.errors == []
    (summary,) = posts(slack, "CDIGEST")
    assert slack.problems == []
    assert slack.files, "no chart uploaded"
    chart = slack.files[0]
    assert chart["content"][:8] == b"\x89PNG\r\n\x1a\n"
    assert chart["thread_ts"] == summary.response["ts"]
    from matplotlib import image

    pixels = image.imread(io.BytesIO(chart["content"]), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_a_12_pipeline_weekly_summary_passes_slacks_checks(engine, slack):
    setup(engine)
    with session_scope(engine) as s:
        ws = f.workspace(s)
        admin = f.member(s, ws, "UADMIN", Role.admin)
        for p in range(10):
            stages = [StageSpec(f"Step {k}", 10 * k, 5, "open") for k in range(1, 6)] + [
                StageSpec("Won", 100, None, "won"),
                StageSpec("Lost", 0, None, "lost"),
            ]
            create_pipeline(session=s, actor=admin, name=f"Region {p} enterprise", stages=stages)
            for d in range(3):
                f.deal(
                    s,
                    ws,
                    admin,
                    title=f"R{p} deal {d}",
                    now=T0,
                    pipeline_name=f"Region {p} enterprise",
                )
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    report = run_job("weekly-summary", engine=engine, sender=sender_for(slack), at=monday)
    assert report.errors == []
    assert slack.problems == []
    channel = posts(slack, "CDIGEST")
    assert "Region 9 enterprise" in blob(channel)
    assert len(slack.files) == jobs.MAX_CHARTS


def test_stall_warnings_reach_the_deal_thread_and_the_owner_once(engine, slack):
    ws_id = setup(engine)
    with session_scope(engine) as s:
        deal = s.exec(deals.select(deals.Deal).where(deals.Deal.title == "Stale ERP")).one()
        deals.record_card(session=s, deal_id=deal.id, home=("CDEALS", "1700000000.000009", None))
    for hour in range(3):
        run_job(
            "stall-warnings", engine=engine, sender=sender_for(slack), at=AT + timedelta(hours=hour)
        )
    (thread,) = posts(slack, "CDEALS")
    assert thread.args["thread_ts"] == "1700000000.000009"
    (dm,) = posts(slack, "DUREP")
    assert "Stale ERP" in dm.args["text"]
    assert slack.problems == []
    assert ws_id


def test_the_cli_runs_the_digest_once(db_url, slack):
    engine = make_engine(db_url)
    setup(engine)
    engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.url,
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable,
        "-m",
        "cli.main",
        "jobs",
        "run",
        "stall-digest",
        "--team",
        "T1",
        "--at",
        "2026-11-22T09:30+09:00",
    ]
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "3 post(s) recorded" in outputs[0] and "sent 3" in outputs[0]
    assert "3 already recorded" in outputs[1] and "sent 0" in outputs[1]
    assert len(posts(slack)) == 3
    listing = subprocess.run(
        [sys.executable, "-m", "cli.main", "jobs", "list", "--at", "2026-11-22T09:30+09:00"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"stall-digest +next 2026-11-23T09:00\+09:00", listing.stdout)
    assert re.search(r"stall-warnings +next 2026-11-22T10:00\+09:00", listing.stdout)


def test_a_post_claimed_by_a_process_that_died_is_sent_after_its_lease(engine, slack):
    setup(engine)
    run_job("stall-digest", engine=engine, sender=_Unreachable(), at=AT)  # records; sends fail
    with session_scope(engine) as s:
        for key in [r.key for r in s.exec(outbox.select(outbox.Outbox))]:
            row = outbox.get_by_key(s, key)
            row.status, row.next_attempt_at = "pending", datetime.now(UTC)
            s.add(row)
    with session_scope(engine) as s:
        claimed = outbox.claim_pending(s, now=datetime.now(UTC), limit=3)  # ... then it dies
    assert len(claimed) == 3
    assert drain(engine, sender_for(slack)).sent == 0  # leased: nobody else sends it yet
    assert drain(engine, sender_for(slack), now=later(outbox.LEASE.total_seconds() + 1)).sent == 3
    assert len(posts(slack)) == 3


class _Unreachable:
    def post(self, *a, **k):
        from scheduler.drain import SendError

        raise SendError(retryable=True, error="connection refused")

    dm_channel = upload = post


def test_the_background_scheduler_ticks_and_posts_on_its_own(engine, slack):
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        ws = f.workspace(s, digest_channel="CDIGEST", deals_channel="CDEALS")
        rep = f.member(s, ws, "UREP", Role.rep)
        f.deal(s, ws, rep, title="Forgotten deal", now=now - timedelta(days=40))
    from scheduler.runner import start

    scheduler = start(engine=engine, sender=sender_for(slack), tick_seconds=0.5)
    try:
        slack.wait_for("chat.postMessage", count=2, timeout=20)  # the warning: deals channel + DM
        time.sleep(1.5)  # a few more ticks: same slots, nothing posted again
    finally:
        scheduler.shutdown(wait=True)
    assert "Forgotten deal" in blob(posts(slack, "DUREP"))
    warnings = [c for c in posts(slack) if "Forgotten deal" in c.args["text"]]
    assert len({(c.args["channel"], c.args["text"]) for c in warnings}) == len(warnings)


def _break_the_renewals_pipeline(engine) -> None:
    """A stall threshold nobody could mean (left over from an import, say): computing that
    pipeline's stall clock overflows."""
    import sqlalchemy as sa

    from storage.models import Pipeline, Stage

    with session_scope(engine) as s:
        renewals = s.exec(select(Pipeline).where(Pipeline.name == "Renewals")).one()
        s.execute(
            sa.update(Stage)
            .where(Stage.pipeline_id == renewals.id, Stage.outcome == "open")
            .values(stall_days=10**9)
        )


def test_a_pipeline_that_cannot_be_computed_is_named_and_the_digest_still_goes_out(engine, slack):
    setup(engine)
    _break_the_renewals_pipeline(engine)
    report = run_job("stall-digest", engine=engine, sender=sender_for(slack), at=AT, team_id="T1")
    assert report.errors == [] and report.sent == 3
    (post,) = posts(slack, "CDIGEST")
    assert "Stale ERP" in blob([post]), "the pipelines that could be computed are there"
    assert t("ko", "scheduler.report.not_computed", pipelines="Renewals") in blob([post])
    assert slack.problems == []


def test_a_pipeline_that_cannot_be_computed_is_named_in_the_weekly_summary(engine, slack):
    setup(engine)
    _break_the_renewals_pipeline(engine)
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    report = run_job("weekly-summary", engine=engine, sender=sender_for(slack), at=monday)
    assert report.errors == []
    (summary,) = posts(slack, "CDIGEST")
    assert "New business" in blob([summary])
    assert t("ko", "scheduler.report.not_computed", pipelines="Renewals") in blob([summary])
    assert slack.problems == []
