"""Each serving process keeps the workspace and the acting member between requests
(bot.context); ``workspace.config_version`` (storage.config_version) says when the copy is
stale. A settings or role change made anywhere, by another replica with its own engine or by
the console, is seen by the very next request everywhere."""

from __future__ import annotations

import io
from contextlib import contextmanager

import sqlalchemy as sa
from sqlmodel import Session, select

from cli.console import Console
from domain.clock import FixedClock
from domain.workspaces import WorkspaceDefaults
from i18n import t
from storage.db import make_engine, session_scope
from storage.models import Member, Stage, Workspace
from tests.factories import T0
from tests.slackapp import running_app


def _text(answer) -> str:
    status, body = answer
    assert status == 200
    return body["text"] if isinstance(body, dict) else body


def _admins_only(text: str) -> bool:
    return text in (t("en", "workspace.admin_only"), t("ko", "workspace.admin_only"))


def _version(engine, team="T1") -> int:
    with Session(engine) as session:
        return session.exec(select(Workspace.config_version).where(Workspace.team_id == team)).one()


def test_a_role_change_on_one_replica_is_seen_by_the_next_request_on_another(db_url):
    with running_app(db_url) as a, running_app(db_url, slack=a.slack) as b:
        assert _text(a.command("/deal", "list", user="U1"))  # U1, the first, is an admin
        refused = _text(b.command("/pipeline", "settings currency:USD", user="U2"))
        assert _admins_only(refused)  # B now holds U2 as a rep
        _text(a.command("/pipeline", "role <@U2> admin", user="U1"))
        changed = _text(b.command("/pipeline", "settings currency:USD", user="U2"))
        assert "KRW → USD" in changed
        # ...and A, which held the workspace at KRW, sees B's change at once.
        shown = _text(a.command("/pipeline", "settings currency:KRW", user="U1"))
        assert "USD → KRW" in shown
        _text(a.command("/pipeline", "role <@U2> rep", user="U1"))
        assert _admins_only(_text(b.command("/pipeline", "settings currency:EUR", user="U2")))


def test_a_settings_change_from_the_console_is_seen_by_the_next_slash_command(db_url):
    with running_app(db_url) as app:
        before = _text(app.command("/deal", "new Alpha", user="U1"))
        listed_before = _text(app.command("/deal", "list", user="U1"))
        engine = make_engine(db_url)  # another process's engine, as `salesbot console` has
        try:
            console = Console(
                engine,
                team_id="T1",
                user_id="U1",
                clock=FixedClock(T0),
                defaults=WorkspaceDefaults(locale="en"),
                out=io.StringIO(),
            )
            console.handle("/pipeline settings currency:USD")
        finally:
            engine.dispose()
        listed_after = _text(app.command("/deal", "list", user="U1"))  # a read-only command
        after = _text(app.command("/deal", "new Beta", user="U1"))  # one that writes
        assert "0원" in before and "0원" in listed_before.splitlines()[0]
        assert "$0" in after and "$0" in listed_after.splitlines()[0]


def test_changes_to_what_requests_cache_bump_the_version_once_per_flush(engine):
    with session_scope(engine) as session:
        ws = Workspace(team_id="TV")
        session.add(ws)
        session.flush()
        member = Member(workspace_id=ws.id, slack_user_id="UV", name="Vee")
        session.add(member)
    start = _version(engine, "TV")
    assert start == 1  # the member's creation

    def bumped(change) -> int:
        before = _version(engine, "TV")
        with session_scope(engine) as session:
            change(session)
        return _version(engine, "TV") - before

    def rename_workspace(s):
        s.exec(select(Workspace).where(Workspace.team_id == "TV")).one().name = "V"

    def role(s):
        s.get(Member, member.id).role = "manager"

    def same_role(s):
        s.get(Member, member.id).role = "manager"  # no actual change

    def stage(s):
        pipeline_id = s.exec(select(Stage.pipeline_id)).first()
        if pipeline_id is None:
            return
        s.get(Stage, s.exec(select(Stage.id)).first()).name = "Renamed"

    def counter(s):
        s.execute(
            sa.update(Workspace)
            .where(Workspace.team_id == "TV")
            .values(next_deal_number=Workspace.next_deal_number + 1)
        )

    assert bumped(rename_workspace) == 1
    assert bumped(role) == 1
    assert bumped(same_role) == 0
    assert bumped(counter) == 0
    assert bumped(lambda s: s.delete(s.get(Member, member.id))) == 1


@contextmanager
def another_process(db_url):
    """A session on an engine of its own, as another replica or an admin's script writes."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def test_a_renamed_stage_is_on_the_next_card_of_every_replica(db_url):
    with running_app(db_url) as a, running_app(db_url, slack=a.slack) as b:
        assert "Contact" in _text(a.command("/deal", "new Alpha", user="U1"))
        assert "Contact" in str(b.command("/deal", "show 1", user="U1")[1])  # B keeps stages
        with another_process(db_url) as session:  # a third process renames the stage
            stage = session.exec(select(Stage).where(Stage.name == "Contact")).first()
            stage.name = "First call"
        for app in (a, b):
            shown = str(app.command("/deal", "show 1", user="U1")[1])
            assert "First call" in shown and "Contact (" not in shown


def test_the_move_menu_of_the_next_card_shows_a_changed_probability(db_url):
    """The card's "move to" options are kept between cards (issue 17); what they say follows
    the stages."""
    with running_app(db_url) as app:
        _text(app.command("/deal", "new Alpha", user="U1"))
        assert "Contact (10%)" in str(app.command("/deal", "show 1", user="U1")[1])
        with another_process(db_url) as session:
            stage = session.exec(select(Stage).where(Stage.name == "Contact")).first()
            stage.probability = 15
        shown = str(app.command("/deal", "show 1", user="U1")[1])
        assert "Contact (15%)" in shown and "Contact (10%)" not in shown


def test_the_board_follows_a_currency_and_a_language_change(db_url):
    """The board's summary figures are kept between boards (issue 17); a new currency or
    language writes them anew."""
    with running_app(db_url) as app:
        _text(app.command("/deal", "new Alpha amount:7590000", user="U1"))
        assert "759만원" in _text(app.command("/pipeline", "", user="U1"))  # U1 reads Korean
        _text(app.command("/pipeline", "settings currency:USD", user="U1"))
        assert "예상 매출 $0" in _text(app.command("/pipeline", "", user="U1"))  # no KRW rate
        _text(app.command("/pipeline", "settings currency:KRW", user="U1"))
        assert "759만원, 예상 매출 76만원" in _text(app.command("/pipeline", "", user="U1"))
        with another_process(db_url) as session:
            member = session.exec(select(Member).where(Member.slack_user_id == "U1")).one()
            member.locale = "en"
        shown = _text(app.command("/pipeline", "", user="U1"))
        assert "₩7,590,000" in shown and "₩760,000" in shown and "만원" not in shown


def test_the_timeline_follows_a_language_and_a_timezone_change(db_url):
    """What a history line says is kept between pages (issue 17); the next page writes it
    in the member's new language, and its time in the workspace's new timezone."""
    with running_app(db_url, FixedClock(T0)) as app:
        _text(app.command("/deal", "new Alpha", user="U1"))
        _text(app.command("/deal", "move 1 Meeting", user="U1"))
        shown = str(app.command("/deal", "show 1", user="U1")[1])
        assert "Contact → Meeting 단계 이동" in shown and "오전 9:30" in shown  # Seoul
        with another_process(db_url) as session:
            member = session.exec(select(Member).where(Member.slack_user_id == "U1")).one()
            member.locale = "en"
        shown = str(app.command("/deal", "show 1", user="U1")[1])
        assert "moved it from Contact to Meeting" in shown and "단계 이동" not in shown
        assert "Nov 2, 2026, 9:30 AM" in shown
        with another_process(db_url) as session:
            session.exec(select(Workspace)).one().timezone = "America/New_York"
        shown = str(app.command("/deal", "show 1", user="U1")[1])
        assert "Nov 1, 2026, 7:30 PM" in shown and "9:30 AM" not in shown


def _sections(answer) -> str:
    """The sections' texts of an answer, one after the other."""
    status, body = answer
    assert status == 200
    return "\n\n".join(b["text"]["text"] for b in body["blocks"] if b["type"] == "section")


def test_the_board_follows_a_renamed_stage_and_a_new_count(db_url):
    """A board's stage lines are kept between boards (issue 17); a renamed stage or one more
    deal in it is written anew."""
    with running_app(db_url) as app:
        _text(app.command("/deal", "new Alpha", user="U1"))
        assert "*Contact* · 가능성 10%\n딜 1건" in _sections(
            app.command("/pipeline", "", user="U1")
        )
        with another_process(db_url) as session:
            session.exec(select(Stage).where(Stage.name == "Contact")).first().name = "First call"
        board = _sections(app.command("/pipeline", "", user="U1"))
        assert "*First call* · 가능성 10%\n딜 1건" in board
        assert "Contact" not in board
        _text(app.command("/deal", "new Beta", user="U1"))
        board = _sections(app.command("/pipeline", "", user="U1"))
        assert "*First call* · 가능성 10%\n딜 2건" in board
