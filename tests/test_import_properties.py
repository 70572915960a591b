"""Properties of import and export: any file of valid rows comes back out as the same rows;
any invalid cell is reported with its row and column, and then nothing is written."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from commands.cells import read_table, write_table
from commands.exporting import export_rows
from commands.importing import execute, prepare
from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from i18n.fmt import korean_units
from storage.models import Deal
from tests.factories import T0

HEADERS = ["external_id", "Deal name", "Amount", "Currency", "Stage", "Close date", "Company"]
STAGES = ["Contact", "Qualification", "Meeting", "Proposal", "Negotiation", "Won", "Lost"]
CHARS = "abcXYZ019 ,.'\"-&/가나다딜회사김"
PROPERTY = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

text = st.text(alphabet=CHARS, min_size=1, max_size=30).map(str.strip).filter(bool)


@st.composite
def deal_row(draw, index: int):
    currency = draw(st.sampled_from(["KRW", "USD"]))
    if currency == "KRW":
        value = Decimal(draw(st.integers(0, 10**13)))
        written = draw(
            st.sampled_from([f"{value}", f"{value:,}", f"₩{value:,}", korean_units(int(value))])
        )
    else:
        value = Decimal(draw(st.integers(0, 10**11))) / 100
        written = draw(st.sampled_from([f"{value}", f"${value:,}"]))
    close = draw(st.none() | st.dates(date(2020, 1, 1), date(2035, 12, 31)))
    close_written = ""
    if close:
        close_written = draw(
            st.sampled_from([close.isoformat(), f"{close.year}. {close.month}. {close.day}."])
        )
    title, stage, company = draw(text), draw(st.sampled_from(STAGES)), draw(st.none() | text)
    written_row = [f"X{index}", title, written, currency, stage, close_written, company or ""]
    expected = [f"X{index}", title, value, currency, stage, close, company]
    return written_row, expected


rows_strategy = st.integers(1, 12).flatmap(lambda n: st.tuples(*(deal_row(i) for i in range(n))))


def _workspace(engine) -> str:
    team = f"T{uuid.uuid4().hex[:8]}"
    with Session(engine) as session:
        ws = get_or_create_workspace(
            session=session, team_id=team, defaults=WorkspaceDefaults(stage_names="en")
        )
        get_or_create_member(session=session, workspace=ws, slack_user_id="UADMIN")
        session.commit()
    return team


def _import(engine, team: str, data: bytes, *, skip_invalid=False):
    with Session(engine) as session:
        prepared = prepare(
            session=session,
            team_id=team,
            entity="deals",
            data=data,
            filename="f.csv",
            overrides=[],
            actor=None,
            now=T0,
        )
    if prepared.plan.errors and not skip_invalid:
        return prepared, None
    return prepared, execute(
        engine, prepared, team_id=team, actor_id=None, now=T0, skip_invalid=skip_invalid
    )


def _csv(rows: list[list[str]]) -> bytes:
    return write_table(HEADERS, rows, "csv")


@PROPERTY
@given(rows=rows_strategy, fmt=st.sampled_from(["csv", "xlsx"]))
def test_valid_rows_import_and_export_back_as_the_same_rows(engine, rows, fmt):
    team = _workspace(engine)
    data = write_table(HEADERS, [r for r, _ in rows], fmt)
    prepared, run = _import(engine, team, data)
    assert prepared.plan.errors == []
    assert run.created == len(rows)
    with Session(engine) as session:
        from domain.workspaces import get_workspace

        ws = get_workspace(session=session, team_id=team)
        headers, out = export_rows(
            session=session, workspace=ws, actor=None, entity="deals", filters="", now=T0
        )
        exported = read_table(write_table(headers, list(out), fmt))
    col = {h: i for i, h in enumerate(exported.headers)}
    got = [
        [
            r[col["external_id"]],
            r[col["title"]],
            Decimal(r[col["amount"]]),
            r[col["currency"]],
            r[col["stage"]],
            date.fromisoformat(r[col["close"]]) if r[col["close"]] else None,
            r[col["company"]] or None,
        ]
        for r in exported.rows
    ]
    assert got == [e for _, e in rows]
    # and importing the export again changes nothing
    prepared, _ = _import(engine, team, write_table(headers, exported.rows, fmt))
    assert (prepared.plan.count("skip"), prepared.plan.errors) == (len(rows), [])


BAD = {"Amount": "lots", "Close date": "2026-13-45", "Stage": "Nowhere", "Currency": "dollars"}


@PROPERTY
@given(rows=rows_strategy, data=st.data())
def test_any_invalid_cell_is_reported_by_row_and_column_and_nothing_is_written(engine, rows, data):
    team = _workspace(engine)
    written = [list(r) for r, _ in rows]
    index = data.draw(st.integers(0, len(written) - 1))
    column = data.draw(st.sampled_from(sorted(BAD)))
    written[index][HEADERS.index(column)] = BAD[column]
    if column == "Currency":  # a marked amount beside it would report the conflict too
        written[index][HEADERS.index("Amount")] = "1000"
    prepared, run = _import(engine, team, _csv(written))
    assert run is None
    assert [(e.row, e.column) for e in prepared.plan.errors] == [(index + 2, column)]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Deal)).one() == 0


def test_a_csv_from_korean_excel_reads(engine):
    """Excel saves Korean CSV as CP949 unless told otherwise."""
    data = "딜 이름,금액\n에이스,1억 2천만\n".encode("cp949")
    table = read_table(data, "딜.csv")
    assert table.headers == ["딜 이름", "금액"] and table.rows == [["에이스", "1억 2천만"]]
    out = list(csv.reader(io.StringIO(write_table(["a"], [["b"]], "csv").decode("utf-8-sig"))))
    assert out == [["a"], ["b"]]
