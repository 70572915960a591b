"""``salesbot workspace delete T --yes``: one workspace's data, install included, erased
from every table (GDPR-style), with the counts; the other workspace keeps all of its own."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Installation
from sqlmodel import SQLModel

from bot.oauth import installation_store
from bot.settings import Settings
from cli.main import cmd_workspace_delete
from commands.outcome import Outcome, Post, PostKind
from commands.record import record
from storage.db import session_scope
from storage.models import Role
from tests import factories as f
from views.message import Message


def fill(engine, team: str) -> None:
    with session_scope(engine) as s:
        ws = f.workspace(s, team)
        boss = f.member(s, ws, f"U{team}", Role.admin)
        f.deal(s, ws, boss, title="Acme ERP")
        f.deal(s, ws, boss, title="Busan Port")
        dm = Post(PostKind.dm, Message(text="hello"), user=f"U{team}")
        record(s, workspace_id=ws.id, outcome=Outcome(posts=(dm,)), now=f.T0)
    installation_store(Settings(client_id="111.222"), engine).save(
        Installation(
            app_id="A1",
            enterprise_id=None,
            team_id=team,
            user_id=f"U{team}",
            bot_token=f"xoxb-{team}",
            bot_id="B1",
            bot_user_id="UBOT",
            installed_at=datetime.now(UTC).timestamp(),
        )
    )


def rows(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }


def delete(db_url, team, yes):
    args = argparse.Namespace(team=team, yes=yes)
    return cmd_workspace_delete(args, Settings(database_url=db_url))


def test_workspace_delete_erases_one_workspace_everywhere_and_reports_counts(
    db_url, engine, capsys
):
    fill(engine, "T1")
    one = rows(engine)
    fill(engine, "T2")
    both = rows(engine)

    assert delete(db_url, "T1", yes=False) == 1
    asked = capsys.readouterr().out
    assert asked.startswith("would erase ") and asked.endswith("run again with --yes to erase\n")
    assert rows(engine) == both, "without --yes nothing changes"

    assert delete(db_url, "T1", yes=True) == 0
    said = capsys.readouterr().out
    erased = {name: n for name, n in one.items() if n}
    assert said == (
        f"erased T1: {sum(erased.values())} rows ("
        + ", ".join(f"{name} {n}" for name, n in sorted(erased.items()))
        + ")\n"
    )
    assert {"deal", "member", "outbox", "slack_bots", "slack_installations"} <= set(erased)
    assert rows(engine) == {name: both[name] - one[name] for name in both}

    assert delete(db_url, "T1", yes=True) == 2
    assert capsys.readouterr().out == "no workspace or install with team id T1\n"
