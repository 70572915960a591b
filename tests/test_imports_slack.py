"""Imported data in the running Slack app: no posts at import, a card when first touched,
``/deal export`` as a file in the DM, ``/company show`` answering in the ack."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from commands.cells import read_table
from commands.importing import execute, prepare
from domain.clock import SystemClock
from domain.workspaces import get_or_create_member, get_or_create_workspace
from storage.models import Deal, Outbox
from tests.conftest import SLOWEST_COMMANDS
from tests.slackapp import TEAM, running_app, wait
from tests.test_imports import korean_csv


@pytest.fixture
def app(db_url, request):
    with running_app(db_url) as harness:
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"
        if harness.latencies:
            SLOWEST_COMMANDS.append((*max(harness.timed), request.node.nodeid))


def _import(engine, rows: int) -> None:
    data, _ = korean_csv(rows)
    now = SystemClock().now()
    with Session(engine) as session:
        ws = get_or_create_workspace(session=session, team_id=TEAM)
        admin = get_or_create_member(session=session, workspace=ws, slack_user_id="U1")
        admin.email = "kim@acme.kr"
        session.add(admin)
        session.commit()
        prepared = prepare(
            session=session,
            team_id=TEAM,
            entity="deals",
            data=data,
            filename="딜.csv",
            overrides=[],
            actor=admin,
            now=now,
        )
        session.commit()
        admin_id = admin.id
    execute(engine, prepared, team_id=TEAM, actor_id=admin_id, now=now, skip_invalid=False)


def test_imported_deals_post_nothing_until_touched_then_export_to_the_dm(app):
    assert app.command("/deal", "list")[0] == 200  # the workspace, as Slack set it up
    _import(app.engine, 1000)
    with Session(app.engine) as session:
        assert session.exec(select(func.count()).select_from(Deal)).one() == 1000
        assert session.exec(select(func.count()).select_from(Outbox)).one() == 0
    assert app.slack.calls_to("chat.postMessage") == []  # 1,000 deals, no posts

    status, _ = app.command("/deal", "move 1 Meeting")
    assert status == 200
    card = wait(lambda: app.slack.calls_to("chat.postMessage"))[0]
    assert card.args["channel"] == "CDEALS" and "딜 0" in card.args["text"]
    deal = wait(lambda: _deal(app, 1).thread_ts and _deal(app, 1))
    assert deal.thread_ts == card.response["ts"]

    status, reply = app.command("/deal", "export stage:Won")
    assert status == 200
    assert reply["text"].startswith("143행을 내보냅니다. `deals-")
    upload = wait(lambda: app.slack.state.files)[0]
    table = read_table(upload["content"])
    assert len(table.rows) == 143 and {r[6] for r in table.rows} == {"Won"}
    assert upload["channel"].startswith("D")  # the user's DM with the app

    status, reply = app.command("/company", "show 회사7")
    assert status == 200
    assert "회사7" in str(reply)


def _deal(app, number: int) -> Deal:
    with Session(app.engine) as session:
        return session.exec(select(Deal).where(Deal.number == number)).one()
