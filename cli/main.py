"""The ``salesbot`` command.

``salesbot`` alone does the right thing for where you are: with Slack tokens in the
environment it serves the Slack app (HTTP, or Socket Mode when only an app token is set);
without them it fills a local demo workspace and opens the console, and says how to connect
Slack. Every sub-command reads its configuration from the environment (``.env``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

from bot.settings import ConfigError, Settings
from domain.clock import SystemClock
from i18n import t
from storage.db import current_revision, make_engine, unreachable, upgrade

log = logging.getLogger("salesbot")


def engine_for(settings: Settings, *, serving: bool = False):
    """The engine, with the schema brought up to date where that is safe to do unasked.

    SQLite (one file, one host) is always upgraded on start. PostgreSQL is upgraded when it
    is empty; a populated one is upgraded by ``salesbot db upgrade`` as a deploy step, so
    several replicas never race to migrate.

    A server (``serving``) starts even when the database does not answer: it says so on
    ``/healthz`` (503) and to every command, and brings the schema up to date in the
    background once the database is back. Other commands stop with a one-line message.
    """
    engine = make_engine(settings.database_url)
    try:
        _migrate_if_safe(engine)
    except Exception as exc:
        if not unreachable(exc):
            raise
        if not serving:
            raise SystemExit(f"salesbot can't reach its database: {_first_line(exc)}") from None
        log.warning("database unreachable at start (%s); serving anyway", _first_line(exc))
        threading.Thread(
            target=_migrate_when_back, args=(engine,), name="salesbot-migrate", daemon=True
        ).start()
    return engine


def _migrate_if_safe(engine) -> None:
    if engine.dialect.name == "sqlite" or current_revision(engine) is None:
        upgrade(engine)


def _migrate_when_back(engine, every: float = 5.0) -> None:
    while True:
        time.sleep(every)
        try:
            _migrate_if_safe(engine)
        except Exception as exc:
            if unreachable(exc):
                continue
            log.exception("bringing the schema up to date failed")
            return
        log.info("database reachable again; schema up to date")
        return


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


# --- sub-commands ----------------------------------------------------------------------------


def cmd_auto(args, settings: Settings) -> int:
    if settings.slack_started:  # a token or a secret: Slack is meant, so it must be complete
        settings.check_slack("auto")
        if settings.signing_secret:
            return cmd_serve(args, settings)
        return cmd_socket(args, settings)
    locale = settings.defaults.locale
    print(t(locale, "console.no_slack"))
    args.demo = True
    args.script = None
    return cmd_console(args, settings)


def slack_engine(settings: Settings):
    """The engine a Slack app serves from: never one holding the demo workspace."""
    from cli.demo import demo_team

    engine = engine_for(settings, serving=True)
    try:
        team = demo_team(engine)
    except Exception as exc:
        if not unreachable(exc):
            raise
        return engine  # checked again by nobody: a database that is down holds nothing yet
    if team is not None:
        raise ConfigError([t(settings.defaults.locale, "startup.demo_database", team=team)])
    return engine


def cmd_serve(args, settings: Settings) -> int:
    from bot.server import serve

    settings.check_slack("serve")
    engine = slack_engine(settings)
    serve(
        settings,
        engine=engine,
        host=getattr(args, "host", "0.0.0.0"),
        port=getattr(args, "port", 3000),
        scheduler=not getattr(args, "no_scheduler", False),
        workers=getattr(args, "workers", None) or os.cpu_count() or 1,
    )
    return 0


def cmd_socket(args, settings: Settings) -> int:
    from bot.socket import run

    settings.check_slack("socket")
    engine = slack_engine(settings)
    run(
        settings,
        engine=engine,
        scheduler=not getattr(args, "no_scheduler", False),
    )
    return 0


def cmd_console(args, settings: Settings) -> int:
    from cli.console import Console
    from cli.demo import demo_settings, fill

    if getattr(args, "demo", False):
        settings = demo_settings(settings)
    engine = engine_for(settings)
    team = getattr(args, "team", "TLOCAL")
    user = getattr(args, "user", "ULOCAL")
    clock = SystemClock()
    if getattr(args, "demo", False):
        summary = fill(
            engine, team_id=team, now=clock.now(), defaults=settings.defaults, admin=(user, "you")
        )
        key = "console.demo_done" if summary.created else "console.demo_exists"
        print(
            t(
                settings.defaults.locale,
                key,
                team=team,
                deals=summary.deals,
                leads=summary.leads,
                companies=summary.companies,
            )
        )
    console = Console(engine, team_id=team, user_id=user, clock=clock, defaults=settings.defaults)
    script = getattr(args, "script", None)
    if script:
        with sys.stdin if script == "-" else Path(script).open(encoding="utf-8") as fh:
            console.run_script(fh)
        return 0
    if not sys.stdin.isatty():
        console.run_script(sys.stdin)
        return 0
    console.repl()
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from cli.demo import demo_settings, fill

    settings = demo_settings(settings)
    engine = engine_for(settings)
    summary = fill(
        engine,
        team_id=args.team,
        now=SystemClock().now(),
        deals=args.deals,
        defaults=settings.defaults,
    )
    key = "console.demo_done" if summary.created else "console.demo_exists"
    print(
        t(
            settings.defaults.locale,
            key,
            team=summary.team_id,
            deals=summary.deals,
            leads=summary.leads,
            companies=summary.companies,
        )
    )
    return 0


def cmd_db_upgrade(args, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def cmd_workspace_delete(args, settings: Settings) -> int:
    """Erase one workspace's data from every table and its install (GDPR-style)."""
    from sqlmodel import Session

    from domain.installs import erase

    engine = engine_for(settings)
    with Session(engine) as session:
        counts = erase(session=session, team_id=args.team)
        if counts is None:
            print(f"no workspace or install with team id {args.team}")
            return 2
        if not args.yes:
            session.rollback()
        else:
            session.commit()
    rows = ", ".join(f"{table} {n}" for table, n in sorted(counts.items()))
    total = sum(counts.values())
    if not args.yes:
        print(f"would erase {total} rows of {args.team} ({rows}); run again with --yes to erase")
        return 1
    print(f"erased {args.team}: {total} rows ({rows})")
    return 0


# --- parser ----------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="salesbot", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    p.set_defaults(func=cmd_auto)
    sub = p.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="serve the Slack app over HTTP (POST /slack/events)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--no-scheduler", action="store_true", help="for extra replicas")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="serving processes on the port (default: one per core; 1 runs on waitress)",
    )
    serve.set_defaults(func=cmd_serve)

    socket = sub.add_parser("socket", help="run the Slack app over Socket Mode")
    socket.add_argument("--no-scheduler", action="store_true")
    socket.set_defaults(func=cmd_socket)

    console = sub.add_parser("console", help="type slash commands offline")
    console.add_argument("--script", help="run commands from FILE ('-' for stdin) and exit")
    console.add_argument("--team", default="TLOCAL", help="workspace (Slack team id)")
    console.add_argument("--user", default="ULOCAL", help="act as this Slack user id")
    console.add_argument(
        "--demo",
        action="store_true",
        help="fill the workspace with demo data (in ./salesbot-demo.db unless DATABASE_URL is set)",
    )
    console.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="show the logs"
    )
    console.set_defaults(func=cmd_console)

    demo = sub.add_parser(
        "demo",
        help="fill a workspace with sample data (in ./salesbot-demo.db unless DATABASE_URL is set)",
    )
    demo.add_argument("--team", default="TLOCAL")
    demo.add_argument("--deals", type=int, default=200)
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    workspace = sub.add_parser("workspace", help="workspace data (GDPR)")
    ws_sub = workspace.add_subparsers(dest="workspace_command", required=True)
    delete = ws_sub.add_parser("delete", help="erase a workspace's data, install included")
    delete.add_argument("team", help="the workspace's Slack team id (T…)")
    delete.add_argument("--yes", action="store_true", help="really erase (else: counts only)")
    delete.set_defaults(func=cmd_workspace_delete)

    try:
        from cli import jobs
    except ImportError:  # pragma: no cover - the scheduler CLI is optional at import time
        jobs = None
    if jobs is not None:
        jobs.register(sub)
    from cli import transfer

    transfer.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The console (and ``salesbot`` alone, which opens it without Slack) shows replies, not
    # logs: only warnings, unless -v asks for everything.
    quiet = args.func in (cmd_console, cmd_auto) and not args.verbose
    level = logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if not args.verbose:  # one line per loaded Alembic plugin says nothing to an operator
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if quiet:  # "run time of job … was missed" on a busy laptop is not the console user's news
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
    try:
        settings = Settings.from_env()
        from bot.redact import install

        install(settings.secrets)  # tokens and secrets never reach the log
        if args.func is cmd_auto and settings.slack_started:  # a server after all: its logs
            logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
            logging.getLogger("apscheduler").setLevel(logging.NOTSET)
        return args.func(args, settings) or 0
    except ConfigError as err:
        print(err.header, file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
