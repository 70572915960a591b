"""``salesbot jobs list``, ``salesbot jobs run NAME`` and ``salesbot scheduler``.

``jobs run`` runs one job once, as if at ``--at`` (default: now), for one workspace or all,
then drains the outbox — the same code path the scheduler takes, so it is also the way to
re-send what a Slack outage held back. Running it twice posts nothing the second time.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from datetime import UTC, datetime

from scheduler import jobs as job_names

log = logging.getLogger(__name__)


class BadInstant(ValueError):
    """Not an instant ``jobs run`` takes: ``reason`` is ``format`` or ``offset``."""

    def __init__(self, text: str, reason: str) -> None:
        self.text, self.reason = text, reason
        super().__init__(text, reason)


def parse_instant(text: str) -> datetime:
    """``2026-12-01T09:00+09:00`` (or ``…Z``); a time without an offset is refused (whose
    09:00?). The console's ``:jobs run`` takes exactly the same forms."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInstant(text, "format") from None
    if value.tzinfo is None:
        raise BadInstant(text, "offset")
    return value


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except BadInstant as err:
        if err.reason == "offset":
            raise argparse.ArgumentTypeError(
                f"{text!r} needs a UTC offset, e.g. 2026-12-01T09:00+09:00"
            ) from None
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {text!r}") from None


def _engine(settings):
    from cli.main import engine_for

    return engine_for(settings)


def _sender(settings, engine):
    from bot.sender import SlackSender

    return SlackSender.from_settings(settings, pace=settings.slack_pace, engine=engine)


def cmd_list(args, settings) -> int:
    from scheduler.runner import next_runs

    at = args.at or datetime.now(UTC)
    rows = list(next_runs(_engine(settings), at, args.team))
    if not rows:
        print("no workspaces yet")
        return 0
    width = max(len(name) for name in job_names.NAMES)
    current = None
    for row in rows:
        if row.team_id != current:
            current = row.team_id
            print(f"{row.team_id} ({row.timezone})")
        print(f"  {row.job:<{width}}  next {row.at.isoformat(timespec='minutes')}")
    return 0


def cmd_run(args, settings) -> int:
    from scheduler.runner import run_job

    at = args.at or datetime.now(UTC)
    engine = _engine(settings)
    try:
        report = run_job(
            args.name,
            engine=engine,
            sender=_sender(settings, engine),
            at=at,
            team_id=args.team,
            lease=settings.outbox_lease,
            backoff_base=settings.outbox_backoff,
        )
    except LookupError as exc:
        print(exc)
        return 2
    print(
        f"{report.job} at {at.isoformat(timespec='minutes')}: {report.workspaces} workspace(s), "
        f"{report.recorded} post(s) recorded, {report.already} already recorded; "
        f"sent {report.sent}, retry later {report.retried + report.waiting}, "
        f"failed {report.failed}"
    )
    if report.recovered:
        print(f"  {report.recovered} found already in Slack after an interrupted send")
    if report.in_flight:
        print(
            f"  {report.in_flight} in flight (another process, or a run that was interrupted): "
            f"sent once its lease runs out, by the next run or the scheduler"
        )
    for error in report.errors:
        print(f"  ! {error}")
    return 1 if report.failed else 0


def cmd_scheduler(args, settings) -> int:
    from scheduler.runner import start

    log.info("running the scheduler alone (Ctrl-C to stop)")
    engine = _engine(settings)
    sender = _sender(settings, engine)
    with contextlib.suppress(KeyboardInterrupt):
        start(settings, engine=engine, sender=sender, tick_seconds=args.tick, blocking=True)
    return 0


def register(subparsers) -> None:
    """Add ``jobs`` and ``scheduler`` to ``salesbot``'s sub-commands."""
    jobs = subparsers.add_parser("jobs", help="list or run the scheduled jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)

    listing = jobs_sub.add_parser("list", help="jobs and their next run per workspace")
    listing.add_argument("--team", help="one workspace (Slack team id)")
    listing.add_argument("--at", type=_instant, help="as if now were this instant")
    listing.set_defaults(func=cmd_list)

    run = jobs_sub.add_parser("run", help="run one job once, then send what it recorded")
    run.add_argument("name", choices=job_names.NAMES)
    run.add_argument("--team", help="one workspace (Slack team id); default: all")
    run.add_argument(
        "--at", type=_instant, help="as if at this instant, e.g. 2026-12-01T09:00+09:00"
    )
    run.set_defaults(func=cmd_run)

    scheduler = subparsers.add_parser("scheduler", help="run the scheduler alone (blocking)")
    scheduler.add_argument("--tick", type=float, default=60.0, help="seconds between ticks")
    scheduler.set_defaults(func=cmd_scheduler)
