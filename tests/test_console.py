"""The offline console: the same slash commands and handlers as Slack, rendered as text."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session, func, select

from cli.console import Console
from domain.clock import FixedClock
from domain.deal_reads import list_deals
from domain.workspaces import WorkspaceDefaults
from storage.db import make_engine
from storage.models import Deal, Lead, Member, Stage, StageHistory, Workspace
from tests.factories import T0

SCRIPT = """\
# a lead, converted, moved through three stages and won
/lead new "Kim Minsu" company:Acme email:kim@acme.kr source:webinar size:120
/lead convert L1 amount:7590000 pipeline:"New business"
/deal move D1 Qualification
/deal move 1 Meet
/deal won #1
:click 1
"""


def console(
    engine, *, team="T1", user="U1", locale="en", clock=None
) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    c = Console(
        engine,
        team_id=team,
        user_id=user,
        clock=clock or FixedClock(T0),
        defaults=WorkspaceDefaults(locale=locale),
        out=out,
    )
    return c, out


def test_script_lead_convert_three_stages_won_leaves_four_history_rows(db_url):
    engine = make_engine(db_url)
    c, out = console(engine)
    c.run_script(io.StringIO(SCRIPT))
    text = out.getvalue()
    assert "Traceback" not in text
    with Session(engine) as session:
        deal = session.exec(select(Deal).where(Deal.number == 1)).one()
        assert session.get(Stage, deal.stage_id).name == "Won"
        assert deal.closed_at is not None
        history = session.exec(
            select(StageHistory).where(StageHistory.deal_id == deal.id).order_by(StageHistory.id)
        ).all()
        names = {s.id: s.name for s in session.exec(select(Stage))}
        assert [names[h.to_stage_id] for h in history] == [
            "Contact",
            "Qualification",
            "Meeting",
            "Won",
        ]
        lead = session.exec(select(Lead)).one()
        assert lead.deal_id == deal.id
    # The card and every change were "posted" to the console's channel, in its thread.
    assert "↳" in text and "D1" in text
    engine.dispose()


def test_wrong_input_is_explained_in_the_users_language_and_changes_nothing(db_url):
    engine = make_engine(db_url)
    for locale in ("en", "ko"):
        c, out = console(engine, locale=locale, team=f"T-{locale}")
        c.run_script(
            io.StringIO(
                "/deal move 999 Nowhere\n/deal new amount:abc\n/deal set 42 close:2026-13-45\n"
            )
        )
        text = out.getvalue()
        assert "Traceback" not in text and "error id" not in text
        if locale == "ko":
            assert "딜" in text and "2026-13-45" in text
        else:
            assert "D999" in text and "abc" in text and "2026-13-45" in text
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Deal)).one() == 0
        assert session.exec(select(func.count()).select_from(StageHistory)).one() == 0
    engine.dispose()


def test_workspace_b_can_never_read_move_or_list_workspace_a_deals(db_url):
    engine = make_engine(db_url)
    a, _ = console(engine, team="TA")
    a.run_script(io.StringIO('/deal new "Secret A" amount:1000000\n'))
    b, out = console(engine, team="TB")
    b.run_script(
        io.StringIO(
            "/deal show 1\n/deal move 1 Meeting\n/deal won D1\n/deal list\n"
            "/deal find Secret\n/deal show Secret\n"
        )
    )
    text = out.getvalue()
    assert "Secret A" not in text
    with Session(engine) as session:
        deal = session.exec(select(Deal)).one()
        assert session.get(Stage, deal.stage_id).name == "Contact"
    engine.dispose()


def test_plan_with_the_product_spec_example_gives_200_deals_250_leads_25_per_rep(db_url):
    engine = make_engine(db_url)
    c, out = console(engine)
    c.run_script(io.StringIO("/pipeline plan target:100000000 reps:10 avg:500000 winrate:80%\n"))
    text = out.getvalue()
    assert "200" in text and "250" in text and "25" in text, text


def test_plan_uses_the_measured_average_deal_size_and_win_rate(db_url):
    engine = make_engine(db_url)
    clock = FixedClock(T0 - timedelta(days=20))
    c, out = console(engine, clock=clock)
    # Four deals of 500,000 won and one lost in the last 90 days: 500,000 average, 80 % win rate.
    lines = [
        f'/deal new "Won {i}" amount:500000\n/deal won "Won {i}"\n:click 1\n' for i in range(4)
    ]
    lines.append(
        '/deal new "Lost one" amount:900000\n/deal lost "Lost one" reason:budget\n:click 1\n'
    )
    c.run_script(io.StringIO("".join(lines)))
    clock.advance(days=20)
    out.truncate(0)
    c.run_script(io.StringIO("/pipeline plan target:100000000 reps:10\n"))
    text = out.getvalue()
    assert "200" in text and "250" in text and "25" in text, text


def test_console_command_runs_a_script_file_in_a_fresh_process(tmp_path, db_url):
    script = tmp_path / "tour.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": db_url, "SALESBOT_LOCALE": "en"}
    env.pop("SLACK_BOT_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "console", "--script", str(script), "--team", "TCLI"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "D1" in done.stdout and "Traceback" not in done.stdout + done.stderr
    engine = make_engine(db_url)
    with Session(engine) as session:
        # D1's four stays, and its renewal's (the default workflow) in Renewal due.
        assert session.exec(select(func.count()).select_from(StageHistory)).one() == 5
        assert session.exec(select(Member).where(Member.slack_user_id == "ULOCAL")).first()
    engine.dispose()


def test_demo_fills_a_workspace_every_report_can_use(tmp_path):
    from cli.demo import fill

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    from storage.db import upgrade

    upgrade(engine)
    summary = fill(engine, team_id="TDEMO", now=T0, admin=("UYOU", "you"))
    assert summary.created and 180 <= summary.deals <= 220 and summary.leads >= 30
    again = fill(engine, team_id="TDEMO", now=T0)
    assert not again.created and again.deals == summary.deals
    with Session(engine) as session:
        closed = session.exec(select(func.count()).where(Deal.closed_at.is_not(None))).one()
        renewals = session.exec(select(func.count()).where(Deal.renewal_date.is_not(None))).one()
        oldest = session.exec(select(func.min(Deal.created_at))).one()
        amounts = session.exec(select(Deal.amount)).all()
    assert closed > 20 and renewals > 20
    assert T0 - oldest.replace(tzinfo=T0.tzinfo) > timedelta(days=150)
    assert all(a >= Decimal(0) for a in amounts)
    with Session(engine) as session:
        ws = session.exec(select(Workspace).where(Workspace.team_id == "TDEMO")).one()
        you = session.exec(select(Member).where(Member.slack_user_id == "UYOU")).one()
        open_deals = list_deals(session=session, workspace=ws, now=T0).total
        stalled = list_deals(session=session, workspace=ws, now=T0, stalled=True).total
        yours = list_deals(session=session, workspace=ws, now=T0, owner_id=you.id).total
    assert 0.15 * open_deals <= stalled <= 0.6 * open_deals, (stalled, open_deals)  # "some"
    assert yours >= 10  # the console user finds deals of their own
    c, out = console(engine, team="TDEMO")
    c.run_script(io.StringIO("/deal list stalled\n/pipeline\n/pipeline metrics\n"))
    assert "Traceback" not in out.getvalue()
    engine.dispose()


def test_scheduled_posts_print_in_the_console_once_however_often_the_job_runs(db_url):
    engine = make_engine(db_url)
    c, out = console(engine)
    c.run_script(
        io.StringIO(
            '/deal new "Quiet deal" amount:1000000\n'
            ":jobs run stall-digest 2026-12-20T09:00+09:00\n"
            ":jobs run stall-digest 2026-12-20T09:30+09:00\n"
        )
    )
    text = out.getvalue()
    assert text.count("Quiet deal — Contact") == 1, text  # the admin's DM, once
    assert "0 sent" in text.splitlines()[-1]
    engine.dispose()


def test_people_read_as_their_names_as_in_slack_and_an_unknown_id_stays():
    from views.text import plain

    names = {"UDEMO1": "김영업", "UBLANK": ""}
    assert (
        plain("<@UDEMO1>님이 <@U404>에게 넘겼습니다", names) == "@김영업님이 @U404에게 넘겼습니다"
    )
    assert plain("<@UBLANK> · <@UDEMO1|kim>") == "@UBLANK · kim"
    assert plain("<#C1> <!here>") == "#C1 @here"
