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
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlmodel import select

from commands.context import Ctx
from commands.dispatch import execute
from commands.failures import user_message
from commands.outcome import Outcome
from commands.record import record
from domain.clock import Clock, SystemClock
from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from i18n import t
from storage.db import session_scope
from storage.models import Member, Workspace
from views.message import Message
from views.text import NO_NAMES, Names, render

COMMANDS = ("lead", "deal", "pipeline", "task", "company", "person")
MODAL_USAGE = {  # a modal's callback_id → the usage line that does the same by text
    "deal_new": "deal_new",
    "lead_new": "lead_new",
    "pipeline_edit": "pipeline_edit",
    "settings": "pipeline_settings",
    "cadence_edit": "pipeline_cadence",
    "workflows": "pipeline_workflows",
    "task_new": "task_new",
    "import_file": "pipeline_import",
    "qualify": "deal_qualify",
    "scoring": "pipeline_scoring",
    "alert_routes": "pipeline_alert",
    "field_fill": "deal_custom",
    "field_edit": "pipeline_field",
}


class Held:
    """Scheduled posts the console did not print (the stall warnings of 200 demo deals would
    fill the screen at start): kept to show on ``:jobs``, announced in one line."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[tuple[str, str, Message]] = []  # (job, channel, message)
        self.unannounced: Counter[str] = Counter()
        self.last = 0.0  # time.monotonic() of the latest post held

    def add(self, job: str, channel: str, message: Message) -> None:
        with self.lock:
            self.posts.append((job, channel, message))
            self.unannounced[job] += 1
            self.last = time.monotonic()

    def announce(self, quiet_for: float = 0.0) -> Counter[str]:
        """What was held since the last announcement, once nothing came for ``quiet_for`` s."""
        with self.lock:
            if time.monotonic() - self.last < quiet_for:
                return Counter()
            counts, self.unannounced = self.unannounced, Counter()
            return counts

    def take(self) -> list[tuple[str, str, Message]]:
        with self.lock:
            posts, self.posts = self.posts, []
            self.unannounced.clear()
            return posts


class ConsoleSurface:
    """Where posts go in the console: printed, with a fake channel/ts so threads work.

    With ``held``, posts of scheduled jobs (outbox keys ``<job>:…``) are kept there instead of
    printed; what someone typed, and ``:jobs run``, always print.
    """

    def __init__(
        self,
        out: TextIO,
        locale: str,
        held: Held | None = None,
        names: Callable[[], Names] = lambda: NO_NAMES,
    ) -> None:
        self.out = out
        self.locale = locale
        self.held = held
        self.names = names
        self._ts = itertools.count(1)

    def _job(self, key: str) -> str | None:
        from scheduler.jobs import NAMES

        job = key.split(":", 1)[0]
        return job if self.held is not None and job in NAMES else None

    def _say(self, key: str, channel: str, message: Message) -> None:
        body = render(message, self.names()).replace("\n", "\n    ")
        print(t(self.locale, f"console.{key}", channel=channel, text=body), file=self.out)

    # The outbox's Sender protocol (scheduler.drain): every post shows up here.
    def post(
        self, channel: str, message: Message, thread_ts: str | None = None, *, key: str = ""
    ) -> str:
        job = self._job(key)
        if job is not None:
            self.held.add(job, channel, message)
        else:
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
        self.held = Held()
        self._print = threading.Lock()  # the scheduler's thread prints too
        self.buttons: list[dict] = []  # the last reply's buttons, for :click N (issue 13)

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
        with self._print:
            print(text, file=self.out, flush=True)

    def surface(self, locale: str, *, hold: bool = True) -> ConsoleSurface:
        return ConsoleSurface(self.out, locale, self.held if hold else None, self.names)

    def names(self) -> dict[str, str]:
        """The workspace's people by Slack id, so ``<@UDEMO1>`` reads ``@김영업`` as in Slack."""
        with session_scope(self.engine, readonly=True) as session:
            rows = session.exec(
                select(Member.slack_user_id, Member.name)
                .join(Workspace, Workspace.id == Member.workspace_id)
                .where(Workspace.team_id == self.team_id, Member.name != "")
            )
            return dict(rows.all())

    def announce_held(self, quiet_for: float = 0.0) -> None:
        """One line for scheduled posts held back since the last one: "3 stall warnings would
        be sent; `:jobs` to see them"."""
        counts = self.held.announce(quiet_for)
        if not counts:
            return
        locale = self.locale()
        from scheduler.jobs import NAMES

        parts = [
            t(locale, f"console.held_{'one' if counts[job] == 1 else 'many'}.{job}", count=n)
            for job in NAMES
            if (n := counts.get(job, 0))
        ]
        self.say(t(locale, "console.held", posts=t(locale, "console.held_join").join(parts)))

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

    def click(self, which: str) -> Outcome | None:
        """Press the ``which``-th button of the last reply, as Slack would send it."""
        from bot.listeners.actions import OpenModal, step_for, work_for

        locale = "en"
        n = int(which) if which.isdigit() else 0
        if not 1 <= n <= len(self.buttons):
            self.say(t(self.locale(), "sales.console.no_button", n=which))
            return None
        try:
            with session_scope(self.engine) as session:
                ctx = self._ctx(session)
                locale, workspace_id = ctx.locale, ctx.workspace.id
                step = step_for(self.buttons[n - 1])
                if step is None or isinstance(step, OpenModal):
                    self.say(t(locale, "console.modal", usage=""))
                    return None
                outcome = work_for(step, ctx)
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
            self.say(render(outcome.reply, self.names()))
            self.buttons = buttons_of(outcome.reply)
            if self.buttons:
                self.say(buttons_hint(self.buttons, locale))
        if outcome.modal is not None:
            usage = MODAL_USAGE.get(outcome.modal.get("callback_id", ""), "")
            hint = t(locale, f"grammar.usage.{usage}") if usage else ""
            self.say(t(locale, "console.modal", usage=hint))

    def _send(self, locale: str, workspace_id: int) -> None:
        """Print what the command recorded in the outbox (the drain a Slack app runs)."""
        from scheduler.drain import drain

        try:
            drain(self.engine, self.surface(locale), workspace_id=workspace_id)
        except Exception as exc:
            self.say(user_message(exc, locale))
        self.announce_held()

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
        if verb == "jobs" and not args:
            self._show_held(locale)
            return True
        if verb == "click" and args:
            self.click(args[0])
            return True
        if verb == "jobs" and len(args) >= 2 and args[0] == "run":
            self._run_job(args[1], args[2:], locale)
            return True
        self.say(t(locale, "console.meta_help"))
        return True

    def _show_held(self, locale: str) -> None:
        posts = self.held.take()
        if not posts:
            self.say(t(locale, "console.held_none"))
            return
        surface = self.surface(locale, hold=False)
        for _job, channel, message in posts:
            surface.post(channel, message)

    def _run_job(self, name: str, rest: list[str], locale: str) -> None:
        """``:jobs run NAME [TIME]`` or ``--at TIME``, as ``salesbot jobs run`` takes it."""
        from cli.jobs import BadInstant, parse_instant
        from scheduler import runner
        from scheduler.jobs import NAMES

        if name not in NAMES:
            self.say(t(locale, "console.job_unknown", name=name, names=", ".join(NAMES)))
            return
        if rest and rest[0] == "--at":
            rest = rest[1:]
        if len(rest) > 1:
            self.say(t(locale, "console.job_usage"))
            return
        try:
            at = parse_instant(rest[0]) if rest else self.clock.now()
        except BadInstant as err:
            self.say(t(locale, f"console.bad_time_{err.reason}", value=err.text))
            return
        try:
            report = runner.run_job(
                name,
                engine=self.engine,
                sender=self.surface(locale, hold=False),
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

    def start_scheduler(self, *, tick_seconds: float = 60.0):
        """The schedule of this console's workspace only, running alongside; what it would
        send is held and announced in one line (see :class:`Held`)."""
        from scheduler import runner

        background = runner.start(
            engine=self.engine,
            sender=self.surface(self.locale()),
            team_id=self.team_id,
            tick_seconds=tick_seconds,
        )
        stop = threading.Event()

        def announce() -> None:  # the drainer sends in bursts; one line after each
            while not stop.wait(0.5):
                self.announce_held(quiet_for=1.0)

        threading.Thread(target=announce, name="salesbot-console-held", daemon=True).start()
        background.stop_announcing = stop
        return background

    def repl(self, stdin: TextIO = sys.stdin, *, scheduler: bool = True) -> None:
        """Interactive: the scheduler runs alongside; line editing and history when the
        terminal allows."""
        self.welcome()
        background = self.start_scheduler() if scheduler else None
        if stdin is sys.stdin:
            _line_editing()
        try:
            self._loop(stdin)
        finally:
            if background is not None:
                background.stop_announcing.set()
                background.shutdown(wait=False)  # and the drainer it started

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


HISTORY = Path.home() / ".salesbot_history"


def _line_editing() -> None:
    """Arrow keys, Ctrl-R and a history kept between sessions (readline, where there is one)."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return
    import atexit
    import contextlib

    readline.set_history_length(1000)
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(HISTORY)

    atexit.register(save)


def buttons_of(message: Message) -> list[dict]:
    """The buttons in a message's actions blocks, in order (what ``:click N`` presses)."""
    return [
        element
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button" and not element.get("url")
    ]


def buttons_hint(buttons: list[dict], locale: str) -> str:
    labels = [
        t(locale, "sales.console.button", n=n, label=b["text"]["text"])
        for n, b in enumerate(buttons, start=1)
    ]
    return t(locale, "sales.console.buttons", buttons=", ".join(labels))
