"""The real Salesbot app on a loopback port, wired to a local Slack-compatible server.

``running_app(db_url)`` yields a :class:`Harness` that sends requests exactly as Slack does
(signed, with Slack's payload shapes, see tests/slackreq.py) and reads what the app sent to
Slack (tests/fakeslack). Nothing of our own is mocked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta

from bot.server import serve_in_thread
from bot.settings import Settings
from domain.workspaces import WorkspaceDefaults
from i18n import t
from storage.db import make_engine
from tests import slackreq
from tests.fakeslack import FakeSlack

SECRET = "test-signing-secret"
# The acks of a command past its budget: the answer follows by the response_url.
HELD = {t(locale, key) for locale in ("en", "ko") for key in ("error.saving", "reports.working")}
TEAM = "T1"


@dataclass
class Harness:
    url: str
    slack: FakeSlack
    engine: object
    latencies: list[float] = field(default_factory=list)
    timed: list[tuple[float, str]] = field(default_factory=list)  # (seconds, "/cmd text")
    team: str = TEAM  # the workspace the requests come from (tests/oauthapp.py: several)

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str = "U1",
        channel: str = "C1",
        response_url: str | None = None,
        follow: bool = True,
    ):
        """A signed slash command; returns (status, parsed JSON or text).

        A command past the ack budget (a loaded machine, a held lock) acks "saving" or
        "crunching" and answers by its response_url; with ``follow`` that answer is returned,
        as the user sees it, once it arrives (or the ack, when the answer was a modal).
        ``follow=False`` returns the ack itself.
        """
        target = f"cmd-{time.monotonic_ns()}"
        trigger = slackreq.new_trigger_id()
        body, headers = slackreq.slash(
            command,
            text,
            team_id=self.team,
            user_id=user,
            channel_id=channel,
            response_url=response_url or self.slack.response_url(target),
            trigger_id=trigger,
            secret=SECRET,
        )
        started = time.perf_counter()
        status, text_out = slackreq.post(self.url + "/slack/events", body, headers)
        self.latencies.append(time.perf_counter() - started)
        self.timed.append((self.latencies[-1], f"{command} {text}".strip()))
        reply = _json(text_out)
        if follow and response_url is None and isinstance(reply, dict) and _held(reply):
            answer = self.slack.wait_for_answer(target, trigger, timeout=60)
            return status, reply if answer.method == "views.open" else answer.args
        return status, reply

    def action(
        self,
        actions: list[dict],
        *,
        user: str = "U1",
        channel: str | None = "CDEALS",
        message=None,
        response_url: str | None = "",
        view: dict | None = None,
    ):
        """A signed click; ``response_url=None`` for App Home (none), "" for a fresh one."""
        if response_url == "":
            response_url = self.slack.response_url(f"act-{time.monotonic_ns()}")
        body, headers = slackreq.block_actions(
            actions,
            team_id=self.team,
            user_id=user,
            channel_id=channel,
            message=message,
            view=view,
            response_url=response_url,
            secret=SECRET,
        )
        return slackreq.post(self.url + "/slack/events", body, headers)

    def submit(self, view: dict, *, user: str = "U1"):
        body, headers = slackreq.view_submission(
            view, team_id=self.team, user_id=user, secret=SECRET
        )
        status, text_out = slackreq.post(self.url + "/slack/events", body, headers)
        return status, _json(text_out)

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until the outbox has nothing left to send (every row sent or failed)."""
        from sqlmodel import Session, select

        from storage.models import Outbox

        deadline = time.monotonic() + timeout
        while True:
            with Session(self.engine) as session:
                unsent = session.exec(
                    select(Outbox.key).where(Outbox.status.in_(("pending", "sending")))
                ).all()
            if not unsent:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the outbox did not settle in {timeout}s: {unsent}")
            time.sleep(0.05)

    def event(self, event: dict, *, event_id: str, retry_num: int | None = None):
        body, headers = slackreq.event(
            event, team_id=self.team, event_id=event_id, secret=SECRET, retry_num=retry_num
        )
        return slackreq.post(self.url + "/slack/events", body, headers)


def quiet_automation(harness: Harness) -> None:
    """The workspace made (a help command), with its default cadence and workflows (issue 14)
    switched off: for tests about something else that count tasks or deals."""
    from sqlmodel import Session, select

    from storage.models import Workspace
    from tests.factories import quiet

    harness.command("/deal", "help")
    with Session(harness.engine) as session:
        quiet(session, session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one())
        session.commit()


def wait(predicate, timeout: float = 15.0, what: str = "the app"):
    """Poll ``predicate`` until it gives something truthy (returned), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _json(text: str):
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text


#: The outbox in tests: no pacing between posts, quick retries, short leases.
FAST_OUTBOX = {"slack_pace": 0.0, "outbox_backoff": 0.25, "outbox_lease": timedelta(seconds=3)}


def settings_for(slack: FakeSlack, db_url: str, outbox: dict | None = None, **defaults) -> Settings:
    settings = Settings(
        bot_token="xoxb-test",
        signing_secret=SECRET,
        api_url=slack.url,
        database_url=db_url,
        defaults=WorkspaceDefaults(**{"deals_channel": "CDEALS", "locale": "en", **defaults}),
    )
    return replace(settings, **{**FAST_OUTBOX, **(outbox or {})})


@contextmanager
def running_app(
    db_url: str, clock=None, *, slack: FakeSlack | None = None, outbox=None, **defaults
) -> Iterator[Harness]:
    """The app in a thread of this process (with ``slack``, a second replica beside another
    app on the same fake Slack and database)."""
    engine = make_engine(db_url)
    with _slack(slack) as fake:
        running = serve_in_thread(
            settings_for(fake, db_url, outbox, **defaults), engine=engine, clock=clock
        )
        try:
            harness = Harness(url=running.url, slack=fake, engine=engine)
            harness.deps = running.server.salesbot_deps
            harness.bolt = running.server.salesbot_bolt
            yield harness
        finally:
            running.close()
            engine.dispose()


@contextmanager
def _slack(existing: FakeSlack | None) -> Iterator[FakeSlack]:
    if existing is not None:
        yield existing
        return
    with FakeSlack(team_id=TEAM) as fake:
        yield fake


def filled(view: dict, values: dict) -> dict:
    """The modal as Slack submits it: same view, with the person's answers in state."""
    state = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        answer = values.get(block["block_id"])
        kind = block["element"]["type"]
        if kind == "plain_text_input":
            state[block["block_id"]] = {"value": {"type": kind, "value": answer}}
        elif kind == "static_select":
            chosen = block["element"].get("initial_option")
            state[block["block_id"]] = {"value": {"type": kind, "selected_option": chosen}}
        elif kind == "users_select":
            state[block["block_id"]] = {"value": {"type": kind, "selected_user": answer or "U1"}}
    return {**view, "id": "V1", "state": {"values": state}}


def _held(reply: dict) -> bool:
    return reply.get("text") in HELD and not reply.get("blocks")
