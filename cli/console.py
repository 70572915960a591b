"""``salesbot console``: type the slash commands, read the replies, offline.

The console is a second adapter beside the Slack app: it builds the same :class:`Ctx`, calls
the same :func:`commands.dispatch.execute`, records the same posts in the outbox in the same
transaction (:func:`commands.record.record`), sends them with the same drain
(:func:`scheduler.drain.drain`) through a :class:`ConsoleSurface` that prints them, and renders
the messages as text (:mod:`views.text`). Nothing here knows a command's grammar or rules.
"""

from __future__ import annotations

import itertools
import shlex
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TextIO

from commands.context import Ctx
from commands.dispatch import execute
from commands.failures import user_message
from commands.outcome import Outcome
from commands.record import record
from domain.clock import Clock, SystemClock
from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from i18n import t
from storage.db import session_scope
from views.message import Message
from views.text import render

COMMANDS = ("lead", "deal", "pipeline", "company", "person")
MODAL_USAGE = {  # a modal's callback_id → the usage line that does the same by text
    "deal_new": "deal_new",
    "lead_new": "lead_new",
    "pipeline_edit": "pipeline_edit",
    "settings": "pipeline_settings",
}


class ConsoleSurface:
    """Where posts go in the console: printed, with a fake channel/ts so threads work."""

    def __init__(self, out: TextIO, locale: str) -> None:
        self.out = out
        self.locale = locale
        self._ts = itertools.count(1)

    def _say(self, key: str, channel: str, message: Message) -> None:
        body = render(message).replace("\n", "\n    ")
        print(t(self.locale, f"console.{key}", channel=channel, text=body), file=self.out)

    # The outbox's Sender protocol (scheduler.drain): every post shows up here.
    def post(
        self, channel: str, message: Message, thread_ts: str | None = None, *, key: str = ""
    ) -> str:
        self._say("thread" if thread_ts else "posted", channel, message)
        return f"{datetime.now().timestamp():.0f}.{next(self._ts):06d}"

    def update(self, channel: str, ts: str, message: Message) -> None:
        self._say("updated", channel, message)

    def dm_channel(self, user_id: str) -> str:
        return f"@{user_id}"

    def permalink(self, channel: str, ts: str) -> str | None:
        return None  # a terminal has no links

    def find_posted(self, channel, key, *, thread_ts=None, since=None) -> str | None:
        return None  # what was printed before a crash is gone with the terminal

    def upload(self, channel, thread_ts, filename: str, content: bytes, title: str) -> None:
        # A new file per upload, created exclusively with a random part in its name: two people
        # (or two reports) saving "funnel.png" into the shared temp dir never overwrite each other.
        name = Path(filename).name or "upload"
        stem, suffix = Path(name).stem, Path(name).suffix
        with tempfile.NamedTemporaryFile(
            prefix=f"salesbot-{stem}-", suffix=suffix, delete=False
        ) as fh:
            fh.write(content)
            path = Path(fh.name)
        print(t(self.locale, "console.upload", title=title, path=path), file=self.out)


class Console:
    def __init__(
        self,
        engine,
        *,
        team_id: str = "TLOCAL",
        user_id: str = "ULOCAL",
        user_name: str = "you",
        channel: str = "console",
        clock: Clock | None = None,
        defaults: WorkspaceDefaults | None = None,
        out: TextIO = sys.stdout,
    ) -> None:
        self.engine = engine
        self.team_id = team_id
        self.user_id = user_id
        self.user_name = user_name
        self.channel = channel
        self.clock = clock or SystemClock()
        self.defaults = defaults
        self.out = out

    # --- context ---------------------------------------------------------------------------

    def _ctx(self, session) -> Ctx:
        workspace = get_or_create_workspace(
            session=session, team_id=self.team_id, name=self.team_id, defaults=self.defaults
        )
        member = get_or_create_member(
            session=session, workspace=workspace, slack_user_id=self.user_id, name=self.user_name
        )
        return Ctx(session, workspace, member, clock=self.clock, channel_id=self.channel)

    def locale(self) -> str:
        with session_scope(self.engine) as session:
            return self._ctx(session).locale

    def say(self, text: str) -> None:
        print(text, file=self.out)

    # --- lines -----------------------------------------------------------------------------

    def welcome(self) -> None:
        with session_scope(self.engine) as session:
            ctx = self._ctx(session)
            role = t(ctx.locale, f"workspace.role.{ctx.member.role}")
            self.say(
                t(ctx.locale, "console.welcome", team=self.team_id, user=self.user_name, role=role)
            )

    def handle(self, line: str) -> bool:
        """Run one line; False when the user asked to leave."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith(":"):
            return self._meta(line[1:])
        name, _, text = line.lstrip("/").partition(" ")
        if not line.startswith("/") or name.lower() not in COMMANDS:
            self.say(t(self.locale(), "console.unknown"))
            return True
        self.command(name.lower(), text)
        return True

    def command(self, name: str, text: str) -> Outcome | None:
        locale = "en"
        try:
            with session_scope(self.engine) as session:
                ctx = self._ctx(session)
                locale = ctx.locale
                workspace_id = ctx.workspace.id
                outcome = execute(ctx, name, text)
                record(session, workspace_id=workspace_id, outcome=outcome, now=ctx.now())
        except Exception as exc:  # the one error path: rendered, never a traceback
            self.say(user_message(exc, locale))
            return None
        self._show(outcome, locale)
        if outcome.has_posts:
            self._send(locale, workspace_id)
        return outcome

    def _show(self, outcome: Outcome, locale: str) -> None:
        if outcome.reply is not None:
            self.say(render(outcome.reply))
        if outcome.modal is not None:
            usage = MODAL_USAGE.get(outcome.modal.get("callback_id", ""), "")
            hint = t(locale, f"grammar.usage.{usage}") if usage else ""
            self.say(t(locale, "console.modal", usage=hint))

    def _send(self, locale: str, workspace_id: int) -> None:
        """Print what the command recorded in the outbox (the drain a Slack app runs)."""
        from scheduler.drain import drain

        try:
            drain(self.engine, ConsoleSurface(self.out, locale), workspace_id=workspace_id)
        except Exception as exc:
            self.say(user_message(exc, locale))

    def _meta(self, line: str) -> bool:
        words = shlex.split(line) if line.strip() else ["help"]
        verb, args = words[0].lower(), words[1:]
        locale = self.locale()
        if verb in ("q", "quit", "exit"):
            return False
        if verb == "as" and args:
            self.user_id = args[0]
            self.user_name = args[1] if len(args) > 1 else args[0]
            with session_scope(self.engine) as session:
                ctx = self._ctx(session)
                role = t(ctx.locale, f"workspace.role.{ctx.member.role}")
            self.say(t(locale, "console.as_user", user=self.user_name, role=role))
            return True
        if verb == "jobs" and len(args) >= 2 and args[0] == "run":
            self._run_job(args[1], args[2] if len(args) > 2 else None, locale)
            return True
        self.say(t(locale, "console.meta_help"))
        return True

    def _run_job(self, name: str, at_text: str | None, locale: str) -> None:
        from scheduler import runner
        from scheduler.jobs import NAMES

        if name not in NAMES:
            self.say(t(locale, "console.job_unknown", name=name, names=", ".join(NAMES)))
            return
        try:
            at = datetime.fromisoformat(at_text) if at_text else self.clock.now()
            if at.tzinfo is None:
                raise ValueError("the time needs a UTC offset, like 2026-12-01T09:00+09:00")
            report = runner.run_job(
                name,
                engine=self.engine,
                sender=ConsoleSurface(self.out, locale),
                at=at,
                team_id=self.team_id,
            )
        except Exception as exc:
            self.say(user_message(exc, locale))
            return
        self.say(
            t(
                locale,
                "console.job_done",
                name=name,
                at=at.isoformat(),
                sent=report.sent,
                pending=report.retried + report.waiting,
                failed=report.failed,
            )
        )

    # --- loops -----------------------------------------------------------------------------

    def run_script(self, lines) -> None:
        for line in lines:
            if line.strip() and not line.lstrip().startswith("#"):
                self.say(f"> {line.rstrip()}")
            if not self.handle(line):
                break

    def repl(self, stdin: TextIO = sys.stdin, *, scheduler: bool = True) -> None:
        """Interactive: the scheduler runs alongside and its posts print here as they go."""
        self.welcome()
        background = None
        if scheduler:
            from scheduler import runner

            background = runner.start(
                engine=self.engine, sender=ConsoleSurface(self.out, self.locale())
            )
        try:
            self._loop(stdin)
        finally:
            if background is not None:
                background.shutdown(wait=False)

    def _loop(self, stdin: TextIO) -> None:
        while True:
            try:
                line = input("salesbot> ") if stdin is sys.stdin else stdin.readline()
            except (EOFError, KeyboardInterrupt):
                self.say("")
                return
            if stdin is not sys.stdin and not line:
                return
            if not self.handle(line):
                return
