"""/lead list and /lead show as a rep reads them: company, status and the deal a lead became,
read in a few queries however many leads there are."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from commands import types as c
from commands.context import Ctx
from commands.handlers import run
from domain import leads
from domain.clock import FixedClock
from storage.db import session_scope
from storage.models import Member, Workspace
from tests import factories as f
from tests.factories import T0
from tests.fakeslack.blockkit import validate_message
from views.text import render


@contextmanager
def statements(engine):
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def text_of(outcome) -> str:
    message = outcome.reply
    assert validate_message({"text": message.text, "blocks": message.blocks}) == []
    return render(message).replace("*", "")


@pytest.fixture
def team(engine):
    """30 leads from 30 companies by two reps; L1 converted into a deal, L2 qualified."""
    with session_scope(engine) as s:
        ws = f.workspace(s, locale="en")
        kim = f.member(s, ws, "UKIM", name="Kim")
        lee = f.member(s, ws, "ULEE", name="Lee")
        made = [
            leads.create_lead(
                session=s,
                workspace=ws,
                actor=kim if n % 2 else lee,
                name=f"Buyer {n}",
                now=T0,
                company_name=f"Company {n}",
                email=f"buyer{n}@example.com",
                size=10 * n,
            )
            for n in range(1, 31)
        ]
        leads.convert(session=s, workspace=ws, actor=kim, lead=made[0], now=T0, title="Big ERP")
        leads.set_status(session=s, actor=lee, lead=made[1], status="MQL", now=T0)
        return ws.id, kim.id


def run_as(engine, ws_id, member_id, cmd):
    """A command in a fresh unit of work, as a Slack request would run it."""
    with Session(engine, expire_on_commit=False) as s:
        ws, me = s.get(Workspace, ws_id), s.get(Member, member_id)
        ctx = Ctx(session=s, workspace=ws, member=me, clock=FixedClock(T0))
        with statements(engine) as seen:
            outcome = run(cmd, ctx)
        return outcome, seen


def test_the_lead_list_names_company_and_status_in_a_few_queries(engine, team):
    ws_id, kim_id = team
    outcome, seen = run_as(engine, ws_id, kim_id, c.LeadList())
    text = text_of(outcome)
    assert "Leads: 30" in text
    assert "L2 Buyer 2 · Company 2 · MQL" in text
    assert "L3 Buyer 3 · Company 3 · NEW" in text
    assert "L1 Buyer 1 · Company 1 · SQL" in text  # converted: the qualified status
    assert text.index("L30 ") < text.index("L3 ") < text.index("L1 ")  # newest first
    assert len(seen) <= 4, seen  # statuses and the leads with what they point at; not per lead


def test_my_leads_are_only_mine(engine, team):
    ws_id, kim_id = team
    outcome, _ = run_as(engine, ws_id, kim_id, c.LeadList(mine=True))
    text = text_of(outcome)
    assert "Leads: 15" in text
    assert "Buyer 1 " in text and "Buyer 2 " not in text


def test_a_lead_shows_the_deal_it_became(engine, team):
    ws_id, kim_id = team
    outcome, _ = run_as(engine, ws_id, kim_id, c.LeadShow(c.LeadRef(number=1)))
    text = text_of(outcome)
    assert "L1 · Buyer 1" in text
    assert "Company: Company 1" in text
    assert "Deal: D1 · Big ERP" in text
    assert "Employees: 10" in text
    plain, _ = run_as(engine, ws_id, kim_id, c.LeadShow(c.LeadRef(number=3)))
    assert "Deal:" not in text_of(plain)
    assert "Status: NEW" in text_of(plain)
