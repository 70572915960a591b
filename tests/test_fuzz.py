"""Fuzzing: whatever a person types or a stranger sends, the answer is kind.

Hypothesis draws the inputs (tests/fuzzing.py); the examples are derandomized, so CI runs the
same ones every time, and the count is bounded so the file runs in seconds per database.

* Slash-command texts, long and odd, for every sub-command, run against a real database: each
  is a normal outcome or a translated Salesbot error, never a database error.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from commands.context import Ctx
from commands.dispatch import execute
from domain.clock import FixedClock
from domain.errors import SalesbotError
from domain.workspaces import WorkspaceDefaults
from i18n import catalog
from storage.db import session_scope
from storage.models import Member, Role, Workspace
from tests.factories import T0, deal, member
from tests.fuzzing import slash_texts

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _seed(engine) -> tuple[int, int]:
    """A workspace with an admin, a rep called kim, a deal (D1) and a lead (L1)."""
    from domain import leads
    from domain.workspaces import get_or_create_workspace

    with session_scope(engine) as session:
        ws = get_or_create_workspace(
            session=session, team_id="T1", defaults=WorkspaceDefaults(locale="en")
        )
        admin = member(session, ws, "U1", Role.admin, name="Lee")
        member(session, ws, "U2", name="kim")
        deal(session, ws, admin, company_name="Acme", contact_name="Kim Minsu")
        leads.create_lead(session=session, workspace=ws, actor=admin, name="Kim", now=T0)
        return ws.id, admin.id


def test_any_command_text_is_an_outcome_or_a_translated_error_never_a_database_error(engine):
    workspace_id, member_id = _seed(engine)
    en, ko = catalog("en"), catalog("ko")

    @FUZZ
    @given(typed=slash_texts())
    def run(typed):
        command, text = typed
        try:
            with session_scope(engine) as session:
                ws, actor = session.get(Workspace, workspace_id), session.get(Member, member_id)
                execute(Ctx(session, ws, actor, clock=FixedClock(T0)), command, text)
        except SalesbotError as err:
            assert err.key in en and err.key in ko, err.key
            assert err.render("en") and err.render("ko")

    run()
