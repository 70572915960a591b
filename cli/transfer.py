"""``salesbot import`` and ``salesbot export``: a team's data in and out as CSV or XLSX.

``import {deals|leads|companies|people} FILE [--team T] [--user U] [--dry-run]
[--skip-invalid] [--map column=field ...]`` prints the column mapping, the rows to create,
update and skip, and every invalid cell (row, column, reason) in the workspace's language.
It exits 1 when any row is invalid (writing nothing unless ``--skip-invalid``), 2 when the
file or a ``--map`` cannot be read. ``export {deals|leads|companies|people|history}
[--team T] [--format csv|xlsx] [filters] [-o FILE]`` writes every row (``/deal list``
filters narrow deals: ``mine`` aside, ``@owner``, ``stage:``, ``pipeline:``, ``stalled``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlmodel import Session, select

from domain.clock import SystemClock
from domain.errors import SalesbotError
from domain.workspaces import get_or_create_member, get_or_create_workspace, get_workspace
from i18n import t
from storage.models import Member, Role

ENTITIES = ("deals", "leads", "companies", "people")


def _engine(settings):
    from cli.main import engine_for

    return engine_for(settings)


def _actor(session: Session, workspace, user: str | None) -> Member | None:
    if user:
        return get_or_create_member(session=session, workspace=workspace, slack_user_id=user)
    return session.exec(
        select(Member)
        .where(Member.workspace_id == workspace.id)
        .order_by(Member.role != Role.admin, Member.id)
    ).first()


def cmd_import(args, settings) -> int:
    from commands.importing import execute, prepare
    from views.imports import report_lines

    engine = _engine(settings)
    now = SystemClock().now()
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(t(settings.defaults.locale, "import.cannot_read", path=path, reason=exc.strerror))
        return 2
    with Session(engine) as session:
        workspace = get_or_create_workspace(
            session=session, team_id=args.team, defaults=settings.defaults
        )
        actor = _actor(session, workspace, args.user)
        locale = workspace.locale
        session.commit()
        actor_id = actor.id if actor else None
        try:
            prepared = prepare(
                session=session,
                team_id=args.team,
                entity=args.entity,
                data=data,
                filename=path.name,
                overrides=args.map or [],
                actor=actor,
                now=now,
            )
        except SalesbotError as exc:
            print(exc.render(locale), file=sys.stderr)
            return 2
        session.commit()  # members an import names by Slack id are created at planning
    for line in report_lines(prepared, locale, dry_run=args.dry_run):
        print(line)
    invalid = bool(prepared.plan.errors)
    if args.dry_run or (invalid and not args.skip_invalid):
        if invalid and not args.dry_run:
            print(t(locale, "import.nothing_written"), file=sys.stderr)
        return 1 if invalid else 0

    def progress(done: int, total: int) -> None:
        print(t(locale, "import.progress", done=done, total=total), file=sys.stderr)

    run = execute(
        engine,
        prepared,
        team_id=args.team,
        actor_id=actor_id,
        now=now,
        skip_invalid=args.skip_invalid,
        progress=progress,
    )
    print(t(locale, "import.done", created=run.created, updated=run.updated, skipped=run.skipped))
    return 1 if invalid else 0


def cmd_export(args, settings) -> int:
    from commands.cells import write_table
    from commands.exporting import export_rows

    engine = _engine(settings)
    with Session(engine) as session:
        try:
            workspace = get_workspace(session=session, team_id=args.team)
        except SalesbotError as exc:
            print(exc.render(settings.defaults.locale), file=sys.stderr)
            return 2
        actor = _actor(session, workspace, args.user)
        try:
            headers, rows = export_rows(
                session=session,
                workspace=workspace,
                actor=actor,
                entity=args.entity,
                filters=" ".join(args.filters),
                now=SystemClock().now(),
            )
        except SalesbotError as exc:
            print(exc.render(workspace.locale), file=sys.stderr)
            return 2
        fmt = args.format or ("xlsx" if (args.output or "").endswith(".xlsx") else "csv")
        data = write_table(headers, list(rows), fmt)
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def register(sub) -> None:
    imp = sub.add_parser("import", help="import deals, leads, companies or people (CSV/XLSX)")
    imp.add_argument("entity", choices=ENTITIES)
    imp.add_argument("file")
    imp.add_argument("--team", default="TLOCAL", help="workspace (Slack team id)")
    imp.add_argument("--user", help="import as this Slack user (default: an admin)")
    imp.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    imp.add_argument("--skip-invalid", action="store_true", help="write the valid rows anyway")
    imp.add_argument(
        "--map", action="append", metavar="COLUMN=FIELD", help="map a column (COLUMN= ignores it)"
    )
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="export as CSV or XLSX (stdout or -o FILE)")
    exp.add_argument("entity", choices=(*ENTITIES, "history"))
    exp.add_argument(
        "filters", nargs="*", help="as in /deal list: @owner stage:X pipeline:Y stalled"
    )
    exp.add_argument("--team", default="TLOCAL")
    exp.add_argument("--user", help="whose deals 'mine' means")
    exp.add_argument("--format", choices=("csv", "xlsx"))
    exp.add_argument("-o", "--output", help="write to FILE instead of stdout")
    exp.set_defaults(func=cmd_export)
