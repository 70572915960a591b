"""``salesbot import`` and ``salesbot export`` end to end: a real database, the real CLI."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from cli.main import main
from commands.importing import execute, prepare
from domain.metrics.boards import board
from domain.refs import deal_pipelines
from domain.workspaces import (
    WorkspaceDefaults,
    get_or_create_member,
    get_or_create_workspace,
    get_workspace,
)
from storage.db import make_engine
from storage.models import Company, Deal, ImportRun, Member, Stage, StageHistory
from tests.factories import T0

KO_HEADERS = ["외부 ID", "딜 이름", "금액", "단계", "담당자", "회사", "마감일"]
STAGES = ["Contact", "Qualification", "미팅", "Proposal", "협상", "Won", "Lost"]
AMOUNTS = [("1억 2천만", 120_000_000), ("759만원", 7_590_000), ("3,500,000", 3_500_000)]


def korean_csv(n: int, *, prefix: str = "X") -> tuple[bytes, int]:
    """``n`` deals under Korean headers; returns the file and the sum of its amounts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(KO_HEADERS)
    total = 0
    for i in range(n):
        written, value = AMOUNTS[i % len(AMOUNTS)]
        total += value
        day = f"2027. {i % 12 + 1}. {i % 28 + 1}."
        owner = "kim@acme.kr" if i % 2 else "U0LEE"
        company = f"회사{i % 50}"
        writer.writerow([f"{prefix}{i}", f"딜 {i}", written, STAGES[i % 7], owner, company, day])
    return out.getvalue().encode("utf-8"), total


@pytest.fixture
def cli(db_url, monkeypatch, capsys):
    """Run ``salesbot ARGS`` against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SALESBOT_LOCALE", "ko")

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def team(cli, db_url):
    """Workspace T1 with an admin (Kim, whose email imports name) and a rep U0LEE."""
    engine = make_engine(db_url)
    with Session(engine) as session:
        ws = get_or_create_workspace(  # English stage names: the Korean file's 미팅 is Meeting
            session=session, team_id="T1", defaults=WorkspaceDefaults(stage_names="en")
        )
        kim = get_or_create_member(session=session, workspace=ws, slack_user_id="UKIM", name="Kim")
        kim.email = "kim@acme.kr"
        session.add(kim)
        session.commit()
    yield engine
    engine.dispose()


def count(engine, table) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_a_thousand_korean_rows_import_and_a_second_import_creates_nothing(cli, team, tmp_path):
    data, total = korean_csv(1000)
    path = tmp_path / "딜.csv"
    path.write_bytes(data)
    code, out, _ = cli("import", "deals", str(path), "--team", "T1")
    assert code == 0
    assert "1000행: 새로 만들 1000건, 업데이트 0건, 변경 없음 0건, 오류 0건." in out
    assert "가져오기 완료: 새로 만듦 1000건, 업데이트 0건, 건너뜀 0건." in out
    with Session(team) as session:
        assert session.exec(select(func.sum(Deal.amount))).one() == total
        first = session.exec(select(Deal).where(Deal.external_id == "X0")).one()
        assert (first.title, first.amount, first.currency) == ("딜 0", 120_000_000, "KRW")
        assert str(first.expected_close) == "2027-01-01"
        assert first.thread_ts is None  # no card until someone touches it
        stage = session.get(
            Stage, session.exec(select(Deal).where(Deal.number == 3)).one().stage_id
        )
        assert stage.name == "Meeting"  # 미팅
        owners = {
            m.slack_user_id
            for m in session.exec(select(Member).join(Deal, Deal.owner_id == Member.id))
        }
        assert owners == {"UKIM", "U0LEE"}  # by email, and by a Slack id not seen before
        history = session.exec(select(StageHistory)).all()
        run = session.exec(select(ImportRun)).one()
        assert len(history) == 1000 and {h.import_run_id for h in history} == {run.id}
        assert (run.status, run.created, run.rows) == ("done", 1000, 1000)
        assert session.exec(select(func.count()).select_from(Company)).one() == 50

    code, out, _ = cli("import", "deals", str(path), "--team", "T1")
    assert code == 0
    assert "1000행: 새로 만들 0건, 업데이트 0건, 변경 없음 1000건, 오류 0건." in out
    assert count(team, Deal) == 1000 and count(team, StageHistory) == 1000

    changed = data.decode().replace("X1,딜 1,759만원,Qualification", "X1,딜 1,800만원,Meeting")
    path.write_text(changed, encoding="utf-8")
    code, out, _ = cli("import", "deals", str(path), "--team", "T1")
    assert "새로 만들 0건, 업데이트 1건, 변경 없음 999건" in out
    with Session(team) as session:
        deal = session.exec(select(Deal).where(Deal.external_id == "X1")).one()
        assert deal.amount == 8_000_000
        assert session.get(Stage, deal.stage_id).name == "Meeting"
        stays = session.exec(select(StageHistory).where(StageHistory.deal_id == deal.id)).all()
        assert len(stays) == 2 and stays[0].left_at is not None
    assert count(team, Deal) == 1000
    code, out, _ = cli("export", "history", "--team", "T1")
    lines = out.lstrip("\ufeff").splitlines()
    assert lines[0] == "deal,title,from_stage,to_stage,at,left_at,by,import_run"
    runs = [r.id for r in _runs(team)]
    first_run, second_run = runs[0], runs[-1]
    assert lines[1].startswith("1,딜 0,,Contact,") and lines[1].endswith(f",UKIM,{first_run}")
    assert any(
        line.startswith("2,딜 1,Qualification,Meeting,") and line.endswith(f",{second_run}")
        for line in lines
    )


def _runs(engine):
    with Session(engine) as session:
        return session.exec(select(ImportRun).order_by(ImportRun.id)).all()


def test_an_invalid_cell_is_reported_by_row_and_column_and_nothing_is_written(cli, team, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(
        "Deal name,Amount,Stage,Close date,Owner\n"
        'Acme ERP,"$12,000",Proposal,2026-12-31,\n'
        "Beta,lots,Proposal,2026-12-31,\n"
        "Gamma,759만원,Nowhere,2026. 12. 31.,\n"
        "Delta,1억 2천만,Contact,2026-02-30,nobody@acme.kr\n",
        encoding="utf-8",
    )
    code, out, err = cli("import", "deals", str(path), "--team", "T1")
    assert code == 1
    assert "3행, “Amount” 열: 금액으로 읽을 수 없습니다: `lots`." in out
    assert "4행, “Stage” 열: “Nowhere” 단계가 없습니다" in out
    assert "5행, “Close date” 열: 날짜로 읽을 수 없습니다: `2026-02-30`." in out
    assert "아무것도 저장하지 않았습니다" in err
    assert count(team, Deal) == 0 and count(team, ImportRun) == 0

    code, out, _ = cli("import", "deals", str(path), "--team", "T1", "--skip-invalid")
    assert code == 1  # still says some rows were not imported
    assert "가져오기 완료: 새로 만듦 1건, 업데이트 0건, 건너뜀 3건." in out
    with Session(team) as session:
        deal = session.exec(select(Deal)).one()
        assert (deal.title, deal.amount, deal.currency) == ("Acme ERP", 12000, "USD")
        assert (
            deal.owner_id
            == session.exec(select(Member.id).where(Member.slack_user_id == "UKIM")).one()
        )


def test_dry_run_shows_the_mapping_and_map_overrides_a_column(cli, team, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("Opportunity,Worth,Notes\nAcme ERP,5000000,call back\n", encoding="utf-8")
    code, _, err = cli("import", "deals", str(path), "--team", "T1", "--dry-run")
    assert code == 2 and "title" in err  # no column is the title
    code, out, _ = cli(
        "import",
        "deals",
        str(path),
        "--team",
        "T1",
        "--dry-run",
        "--map",
        "Opportunity=title",
        "--map",
        "Worth=금액",
    )
    assert code == 0
    assert "  Opportunity → title\n  Worth → amount\n  Notes → (무시)" in out
    assert "미리보기(dry run)라 아무것도 저장하지 않았습니다." in out
    by_number = ("--map", "#1=title", "--map", "#3=lost_reason", "--map", "#4=amount")
    code, out, err = cli("import", "deals", str(path), "--team", "T1", "--dry-run", *by_number)
    assert code == 2 and "“#4=amount”" in err  # the file has three columns
    code, out, _ = cli("import", "deals", str(path), "--team", "T1", "--dry-run", *by_number[:4])
    assert code == 0 and "  Opportunity → title\n  Notes → lost_reason" in out
    assert count(team, Deal) == 0


def test_an_import_killed_between_batches_is_finished_by_running_it_again(team):
    data, total = korean_csv(250)

    class Killed(Exception):
        pass

    def kill_after_first(done, total):
        raise Killed

    def run(progress=None):
        with Session(team) as session:
            actor = session.exec(select(Member)).first()
            prepared = prepare(
                session=session,
                team_id="T1",
                entity="deals",
                data=data,
                filename="deals.csv",
                overrides=[],
                actor=actor,
                now=T0,
            )
            session.commit()
            actor_id = actor.id
        return execute(
            team,
            prepared,
            team_id="T1",
            actor_id=actor_id,
            now=T0,
            skip_invalid=False,
            progress=progress,
            batch=100,
        )

    with pytest.raises(Killed):
        run(kill_after_first)
    assert count(team, Deal) == 100
    run_ = run()
    assert (run_.created, run_.status) == (150, "done")
    assert count(team, Deal) == 250 and count(team, ImportRun) == 1  # the same run, resumed
    with Session(team) as session:
        assert session.exec(select(func.sum(Deal.amount))).one() == total
        numbers = session.exec(select(Deal.number).order_by(Deal.number)).all()
        assert numbers == list(range(1, 251))


def _boards(engine, team_id):
    with Session(engine) as session:
        ws = get_workspace(session=session, team_id=team_id)
        return [
            (b.pipeline_name, [(s.name, s.count, s.amount) for s in b.stages])
            for p in deal_pipelines(session=session, workspace_id=ws.id)
            for b in [board(session=session, workspace_id=ws.id, pipeline_id=p.id, now=T0)]
        ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_into_a_fresh_workspace_gives_the_same_board(cli, team, tmp_path, fmt):
    data, _ = korean_csv(300)
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    assert cli("import", "deals", str(source), "--team", "T1")[0] == 0
    exported = tmp_path / f"deals.{fmt}"
    assert cli("export", "deals", "--team", "T1", "-o", str(exported))[0] == 0
    with Session(team) as session:  # a fresh workspace named like T1 (English stage names)
        get_or_create_workspace(
            session=session, team_id="T2", defaults=WorkspaceDefaults(stage_names="en")
        )
        session.commit()
    code, out, _ = cli("import", "deals", str(exported), "--team", "T2")
    assert code == 0, out
    assert _boards(team, "T2") == _boards(team, "T1")
    again = tmp_path / f"again.{fmt}"
    cli("export", "deals", "--team", "T2", "-o", str(again))
    from commands.cells import read_table

    first, second = read_table(exported.read_bytes()), read_table(again.read_bytes())
    strip = [i for i, h in enumerate(first.headers) if h in ("number", "created")]
    assert [[c for i, c in enumerate(r) if i not in strip] for r in first.rows] == [
        [c for i, c in enumerate(r) if i not in strip] for r in second.rows
    ]


def test_export_filters_like_deal_list(cli, team, tmp_path):
    data, _ = korean_csv(14)
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    cli("import", "deals", str(path), "--team", "T1")
    code, out, _ = cli("export", "deals", "stage:Won", "--team", "T1")
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    assert rows[0][:4] == ["external_id", "number", "title", "amount"]
    assert [r[2] for r in rows[1:]] == ["딜 5", "딜 12"]
    code, out, _ = cli("export", "deals", "<@U0LEE>", "--team", "T1")
    assert len(list(csv.reader(io.StringIO(out)))) == 1 + 7
    code, _, err = cli("export", "companies", "stalled", "--team", "T1")
    assert code == 2 and "필터는 딜과 리드에만" in err


def test_companies_people_and_leads_import_and_export(cli, team, tmp_path):
    (tmp_path / "c.csv").write_text(
        "회사,직원 수,외부 ID\nAcme,120,C1\n베타,30,C2\n", encoding="utf-8"
    )
    (tmp_path / "p.csv").write_text(
        "이름,이메일,전화번호,회사\n김민수,kim@acme.kr,010-1234-5678,Acme\n", encoding="utf-8"
    )
    (tmp_path / "l.csv").write_text(
        "이름,상태,유입 경로,이메일,회사,회사 규모\n이영희,MQL,webinar,lee@beta.kr,베타,30\n",
        encoding="utf-8",
    )
    for entity, name in (("companies", "c"), ("people", "p"), ("leads", "l")):
        code, out, _ = cli("import", entity, str(tmp_path / f"{name}.csv"), "--team", "T1")
        assert code == 0, out
    assert cli("import", "companies", str(tmp_path / "c.csv"), "--team", "T1")[0] == 0
    assert count(team, Company) == 2
    assert cli("export", "people", "--team", "T1")[1].splitlines()[1:] == [
        ",김민수,kim@acme.kr,010-1234-5678,Acme"
    ]
    lead = cli("export", "leads", "--team", "T1")[1].splitlines()[1]
    assert lead.startswith(",1,이영희,MQL,webinar,lee@beta.kr,베타,30,UKIM,")


def test_an_imported_deal_gets_its_card_when_first_touched(cli, team, tmp_path, db_url):
    from tests.test_console import console

    path = tmp_path / "in.csv"
    path.write_text("딜 이름,금액\nAcme ERP,759만원\n", encoding="utf-8")
    cli("import", "deals", str(path), "--team", "T1")
    c, out = console(team, team="T1", user="UKIM")
    c.run_script(io.StringIO("/deal move 1 Meeting\n"))
    text = out.getvalue()
    assert "Acme ERP" in text and "↳" in text  # the card, then the move in its thread
    with Session(team) as session:
        assert session.exec(select(Deal)).one().thread_ts is not None
        assert session.execute(sa.text("select count(*) from outbox")).scalar() >= 2


def test_amounts_round_trip_exactly(cli, team, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        'title,amount,currency\nA,12000.50,USD\nB,"₩3,795,000",\nC,1억5천,\n', encoding="utf-8"
    )
    assert cli("import", "deals", str(path), "--team", "T1")[0] == 0
    out = cli("export", "deals", "--team", "T1")[1]
    amounts = [(r[3], r[4]) for r in csv.reader(io.StringIO(out.lstrip("\ufeff")))][1:]
    assert amounts == [("12000.5", "USD"), ("3795000", "KRW"), ("150000000", "KRW")]
    with Session(team) as session:
        assert session.exec(select(Deal.amount).where(Deal.title == "A")).one() == Decimal(
            "12000.50"
        )


def test_files_that_are_not_tables_are_refused_without_a_traceback(cli, team, tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    code, _, err = cli("import", "deals", str(broken), "--team", "T1")
    assert code == 2
    assert "CSV(UTF-8 또는 엑셀의 한글 인코딩)나 XLSX 파일이 아닙니다." in err
    huge = tmp_path / "huge.csv"
    huge.write_text('딜 이름\n"' + "x" * 200_000 + '"\n', encoding="utf-8")
    assert cli("import", "deals", str(huge), "--team", "T1")[0] == 2
    code, out, _ = cli("import", "deals", str(tmp_path / "missing.csv"), "--team", "T1")
    assert code == 2 and "missing.csv" in out
    assert count(team, Deal) == 0


def test_imported_leads_come_in_scored_without_a_dm_for_each_good_one(cli, team, tmp_path):
    """An import is history: each lead gets its score at once (not at the next daily run),
    and one above the MQL threshold is marked as past it, not announced to its owner."""
    from dataclasses import replace

    from domain import lead_scores
    from storage.models import Lead, Outbox, Workspace

    with Session(team) as session:  # the admin lowers the MQL bar to 40
        ws = session.exec(select(Workspace)).one()
        kim = session.exec(select(Member).where(Member.slack_user_id == "UKIM")).one()
        lower = replace(lead_scores.DEFAULT, threshold=40)
        lead_scores.save(session=session, actor=kim, workspace=ws, scoring=lower, now=T0)
        session.commit()
    (tmp_path / "l.csv").write_text(
        "이름,상태,유입 경로,회사 규모,이메일\n"
        "최대표,신규,referral,1500,ceo@big.kr\n"  # size ≥ 1000: 30, referral: 15
        "박작은,신규,website,5,park@small.kr\n",
        encoding="utf-8",
    )
    code, out, _ = cli("import", "leads", str(tmp_path / "l.csv"), "--team", "T1")
    assert code == 0, out
    with Session(team) as session:
        scores = {
            n: (score, above)
            for n, score, above in session.exec(select(Lead.name, Lead.score, Lead.above_mql))
        }
        assert scores == {"최대표": (45, True), "박작은": (5, False)}
        statuses = session.exec(select(Stage.name).join(Lead, Lead.status_id == Stage.id)).all()
        assert statuses == ["NEW", "NEW"]  # history: not moved to MQL (신규 is NEW here)
        assert session.exec(select(func.count()).select_from(Outbox)).one() == 0


def test_imported_closes_and_reopens_keep_the_close_counters(cli, team, tmp_path):
    """Calibration's close counters (domain.close_counters) follow imports: deals created won
    or lost count, and a second import that reopens some and closes others moves them."""
    from tests.test_close_counters import kept, recounted

    data, _ = korean_csv(14)
    first = tmp_path / "first.csv"
    first.write_bytes(data)
    assert cli("import", "deals", str(first), "--team", "T1")[0] == 0
    with Session(team) as session:
        before = kept(session)
        assert before and before == recounted(session)
    swapped = data.replace(b"Won", b"~").replace(b"Contact", b"Won").replace(b"~", b"Contact")
    second = tmp_path / "second.csv"
    second.write_bytes(swapped)
    code, out, err = cli("import", "deals", str(second), "--team", "T1")
    assert code == 0, out + err
    with Session(team) as session:
        after = kept(session)
        assert after != before and after == recounted(session)
