"""``/company``, ``/person`` and ``/deal export`` through the console: the same handlers as
Slack, rendered as text."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlmodel import Session, select

from cli.console import Console
from commands.cells import read_table
from domain.clock import FixedClock
from domain.workspaces import WorkspaceDefaults
from storage.db import make_engine
from storage.models import Person
from tests.factories import T0

SETUP = """\
/lead new "Kim Minsu" company:Acme email:kim@acme.kr source:webinar size:120
/lead convert L1 amount:7590000
/deal new "Acme ERP" amount:1억2천만 company:Acme
/deal new "Acme CRM" amount:500만 company:Acme
/deal won 3
:click 1
/deal new "Acme pilot" amount:100만 company:Acme
/deal lost 4 reason:budget
:click 1
/deal new "Beta ERP" amount:300만 company:"Beta Corp"
/deal note 2 Called the CFO
"""


def run(engine, script: str, *, locale="en", user="U1") -> str:
    """In workspace T-<locale>, created in that language, without the default workflows (a
    won deal's renewal would be one more open deal of Acme's)."""
    out = io.StringIO()
    c = Console(
        engine,
        team_id=f"T-{locale}",
        user_id=user,
        clock=FixedClock(T0),
        defaults=WorkspaceDefaults(locale=locale, automation=False),
        out=out,
    )
    c.run_script(io.StringIO(script))
    return out.getvalue()


def test_company_show_answers_what_we_have_going_on_with_acme(db_url):
    engine = make_engine(db_url)
    run(engine, SETUP)
    text = run(engine, "/company show acme\n")
    assert "Traceback" not in text
    assert "Acme" in text
    assert "*Open deals*\n2 · ₩127,590,000" in text  # D1 (from the lead) and D2
    assert "*Won*\n1 · ₩5,000,000" in text
    assert "*Lost*\n1" in text
    assert "D2 *Acme ERP* · ₩120,000,000 · Contact" in text
    assert "D3 *Acme CRM* · ₩5,000,000 · Won" in text
    assert "D4 *Acme pilot* · ₩1,000,000 · Lost" in text
    assert "• Kim Minsu · kim@acme.kr" in text
    assert "L1 Kim Minsu · SQL" in text  # converted
    assert "• D2 · Nov 2, 2026" in text and "@you: Called the CFO" in text  # recent activity
    assert "Beta ERP" not in text

    run(engine, SETUP, locale="ko")
    ko = run(engine, "/company show Acme\n", locale="ko")
    assert "*진행 중인 딜*\n2건 · 1억 2,759만원" in ko
    assert "*성사*\n1건 · 500만원" in ko


def test_company_find_and_unknown_names(db_url):
    engine = make_engine(db_url)
    run(engine, SETUP)
    text = run(engine, "/company find corp\n/company show Nowhere\n/company show c\n")
    assert "• *Beta Corp* · 1 open · 0 won" in text
    assert "No company is called “Nowhere”. Try `/company find Nowhere`." in text
    assert "More than one company matches “c”: Acme, Beta Corp." in text


def test_person_show_and_deal_show_link_each_other(db_url):
    engine = make_engine(db_url)
    run(engine, SETUP)
    text = run(engine, "/person show kim\n/deal show 1\n/lead show L1\n")
    assert "Kim Minsu" in text and "*Company*\nAcme" in text and "*Email*\nkim@acme.kr" in text
    assert "D1 *Acme — Kim Minsu*" in text  # the deal converted from the lead has the person
    assert "Company: `/company show Acme` · Contact: `/person show Kim Minsu`" in text
    ko = run(engine, "/person show 없는사람\n", locale="ko")  # an empty workspace
    assert "“없는사람” 고객이 없습니다." in ko


def test_deal_export_sends_the_filtered_deals_as_a_csv_to_the_dm(db_url):
    engine = make_engine(db_url)
    run(engine, SETUP)
    text = run(engine, "/deal export stage:Won\n/deal export\n")
    assert "Exporting 1 row: `deals-" in text
    paths = re.findall(r"(/\S+salesbot-deals-\S+\.csv)", text)
    assert len(paths) == 2
    won = read_table(Path(paths[0]).read_bytes())
    assert [r[2] for r in won.rows] == ["Acme CRM"]
    everything = read_table(Path(paths[1]).read_bytes())
    titles = ["Acme — Kim Minsu", "Acme ERP", "Acme CRM", "Acme pilot", "Beta ERP"]
    assert [r[2] for r in everything.rows] == titles
    leads = run(engine, "/lead export\n")
    assert "Exporting 1 row: `leads-" in leads
    assert "0행을 내보냅니다." in run(engine, "/lead export\n", locale="ko")
    with Session(engine) as session:
        assert session.exec(select(Person)).first() is not None


def test_an_export_past_the_row_limit_says_how_to_narrow_it_and_sends_nothing(db_url, monkeypatch):
    from commands.handlers import companies

    engine = make_engine(db_url)
    run(engine, SETUP)
    monkeypatch.setattr(companies, "EXPORT_MAX_ROWS", 4)  # SETUP has 5 deals
    text = run(engine, "/deal export\n")
    assert "More than 4 deals match" in text and "stage:Proposal" in text
    assert "salesbot export deals --team" in text
    assert not re.findall(r"salesbot-deals-\S+\.csv", text), "no file"
    ko = run(engine, SETUP + "/deal export\n", locale="ko")
    assert "조건에 맞는 딜이 4건을 넘어" in ko and "필터" in ko
    narrowed = run(engine, "/deal export stage:Won\n")
    assert "Exporting 1 row: `deals-" in narrowed
    monkeypatch.setattr(companies, "EXPORT_MAX_ROWS", 5)
    assert "Exporting 5 rows: `deals-" in run(engine, "/deal export\n")
