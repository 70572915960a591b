"""The report benchmarks at a tiny size: the generator fills a real database the app can use,
and ``bench.reports`` prints the figures it promises (CI runs benchmarks only at this size)."""

from __future__ import annotations

import importlib.util
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from bench import commands as commands_bench
from bench import data, reports
from bench import scheduler as scheduler_bench
from commands import types as c
from commands.context import Ctx
from commands.handlers import run
from domain.clock import FixedClock
from storage.db import make_engine
from storage.models import Deal, Member, Outcome, Stage, StageHistory, Workspace

DEALS = 300
VERSIONS = Path(__file__).parent.parent / "storage" / "migrations" / "versions"


def _migration(revision: str):
    path = next(VERSIONS.glob(f"{revision}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_fills_a_workspace_the_app_can_keep_using(db_url):
    now = datetime.now(UTC)
    out = io.StringIO()
    result = data.fill(db_url, DEALS, now=now, out=out)
    printed = json.loads(out.getvalue().strip().splitlines()[-1])
    assert printed["rows"]["deal"] == DEALS and printed["rows"]["member"] == 1000
    assert result["rows_per_second"] > 0 and "rows/s" in out.getvalue()
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        ws = session.exec(select(Workspace).where(Workspace.team_id == "TBENCH")).one()
        assert ws.next_deal_number == DEALS
        outcomes = dict(
            session.exec(
                select(Stage.outcome, sa.func.count())
                .join(Deal, Deal.stage_id == Stage.id)
                .group_by(Stage.outcome)
            ).all()
        )
        assert {Outcome.open, Outcome.won, Outcome.lost} <= set(outcomes)
        history = session.exec(select(sa.func.count()).select_from(StageHistory)).one()
        assert history > DEALS  # a creation row per deal, and moves
        # the stays it writes are the ones migration 0002 derives from the history
        h = StageHistory
        stays = select(h.id, h.left_at, h.prev_entry_at, h.progressed).order_by(h.id)
        generated = session.exec(stays).all()
        assert any(p for *_, p in generated) and not all(p for *_, p in generated)
        assert any(again for _, _, again, _ in generated)  # deals that came back to a stage
        session.exec(sa.update(h).values(left_at=None, prev_entry_at=None, progressed=False))
        session.exec(sa.text(_migration("0002").BACKFILL))
        assert session.exec(stays).all() == generated
        session.rollback()
        # amounts are exact hundredths of whole 10,000-won steps
        amounts = session.exec(select(Deal.amount).limit(50)).all()
        assert all(a > 0 and a % 10_000 == 0 for a in amounts)
        # the app creates the next deal after the generated ones
        admin = session.exec(
            select(Member).where(Member.workspace_id == ws.id, Member.role == "admin")
        ).first()
        ctx = Ctx(session=session, workspace=ws, member=admin, clock=FixedClock(now))
        run(c.DealNew(title="After the bench", amount=c.Amount(1000)), ctx)
        session.commit()
        made = session.exec(select(Deal).where(Deal.title == "After the bench")).one()
        assert made.number == DEALS + 1
        board = run(c.PipelineBoard(), ctx).reply
        assert board.blocks and "컨택" in str(board.blocks)  # a ko workspace: Korean stages
    engine.dispose()


def test_reports_benchmark_prints_its_figures(db_url):
    out = io.StringIO()
    result = reports.main(["--url", db_url, "--deals", str(DEALS), "--repeat", "1"], out=out)
    printed = json.loads(out.getvalue().strip().splitlines()[-1])
    assert printed == json.loads(json.dumps(result))
    timings = printed["sizes"][str(DEALS)]["timings"]
    for name in ("board", "metrics", "metrics_all", "forecast", "plan", "metrics_command"):
        assert timings[name]["median_ms"] > 0 and timings[name]["runs"] == 1
    assert printed["sizes"][str(DEALS)]["fill"]["total_rows"] > DEALS
    assert printed["peak_rss_mb"] > 0
    assert "median ms" in out.getvalue()
    # --reuse keeps the filled database
    again = reports.main(
        ["--url", db_url, "--deals", str(DEALS), "--repeat", "1", "--reuse"], out=io.StringIO()
    )
    assert again["sizes"][str(DEALS)]["fill"] is None


def test_scheduler_benchmark_times_the_digest_and_the_weekly_summary(db_url):
    out = io.StringIO()
    result = scheduler_bench.main(
        ["--url", db_url, "--deals", str(DEALS), "--repeat", "1", "--tasks", "3000"], out=out
    )
    printed = json.loads(out.getvalue().strip().splitlines()[-1])
    assert printed == json.loads(json.dumps(result))
    timings = printed["sizes"][str(DEALS)]["timings"]
    assert timings["task_backlog"]["posts"] > timings["task_reminders"]["posts"]
    assert timings["task_morning"]["posts"] > 0
    for name in ("stall_digest", "weekly_summary", "task_reminders"):
        assert timings[name]["median_ms"] > 0 and timings[name]["runs"] == 1
    assert printed["sizes"][str(DEALS)]["facts"]["stalled"] > 0


def test_commands_benchmark_compares_salesbot_with_bare_bolt(db_url):
    data.fill(db_url, DEALS, out=io.StringIO())
    result = commands_bench.run(db_url, requests=40, concurrency=2, warmup=8, oauth_workspaces=20)
    assert result["oauth"]["workspaces"] == 20
    for app in ("salesbot", "bare_bolt", "oauth"):
        figures = result[app]
        assert figures["requests"] == 40 and figures["statuses"] == {200: 40}
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
        assert set(figures["by_command"]) == {
            "/deal show",
            "/deal move",
            "/deal list",
            "/pipeline",
        }
    assert result["salesbot"]["peak_rss_mb"] > 0
    assert result["p50_ratio"] == round(
        result["salesbot"]["p50_ms"] / result["bare_bolt"]["p50_ms"], 2
    )
    assert "p50 ratio" in commands_bench.table(result)


def test_commands_benchmark_prints_one_table_per_concurrency(db_url, capsys):
    data.fill(db_url, DEALS, out=io.StringIO())
    argv = ["--db", db_url, "--requests", "20", "--warmup", "4", "--commands", "show"]
    assert commands_bench.main([*argv, "--concurrency", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "concurrency 1\n" in out and "concurrency 2\n" in out
    printed = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["concurrency"] for r in printed] == [1, 2]
    for result in printed:
        show = result["salesbot"]["per_command"]["show"]
        assert show["requests"] == 20 and show["cpu_ms"] >= 0
