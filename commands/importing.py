"""One import of one file, for the CLI and for Slack: read, map, parse, plan, write.

:func:`prepare` reads the file and plans it in one short transaction (nothing written);
:func:`execute` writes the plan one batch per transaction (``domain.imports.BATCH`` rows),
calling ``progress(done, total)`` after each, and records the run. With any invalid row
nothing is written unless ``skip_invalid``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from commands.cells import Table, parse_rows, read_table
from domain import custom_fields, imports
from domain.deal_reads import today_in
from domain.errors import InvalidInput
from domain.fields import FieldSpec, detect, fields_for, find_field
from domain.workspaces import get_workspace
from storage.models import ImportRun, Member


@dataclass
class Prepared:
    entity: str
    filename: str
    digest: str
    table: Table
    mapping: dict[int, FieldSpec]
    plan: imports.Plan

    @property
    def ignored(self) -> list[str]:
        return [h for i, h in enumerate(self.table.headers) if i not in self.mapping and h]


def mapping_for(
    entity: str, headers: list[str], overrides: list[str], custom: tuple[FieldSpec, ...] = ()
) -> dict[int, FieldSpec]:
    """Detected by header, then ``column=field`` overrides (``column=`` ignores a column; a
    column is named by its header, or ``#3`` for the third: the Slack preview's selects);
    ``custom``: the workspace's custom fields (their key or name is their header)."""
    mapping = detect(entity, headers, custom)
    for item in overrides:
        column, sep, name = item.partition("=")
        index = _column(column.strip(), headers)
        if not sep or index is None:
            raise InvalidInput("import.bad_map", value=item)
        if not name.strip():
            mapping.pop(index, None)
            continue
        spec = find_field(entity, name, custom)
        if spec is None:
            known = ", ".join(s.key for s in fields_for(entity, custom) if not s.export_only)
            raise InvalidInput("import.unknown_field", value=name, fields=known)
        for other, taken in list(mapping.items()):
            if taken.key == spec.key:
                mapping.pop(other)
        mapping[index] = spec
    missing = [s.key for s in fields_for(entity) if s.required and s not in mapping.values()]
    if missing:
        raise InvalidInput("import.missing_column", field=missing[0])
    return dict(sorted(mapping.items()))


def _column(name: str, headers: list[str]) -> int | None:
    if name in headers:
        return headers.index(name)
    if name.startswith("#") and name[1:].isdecimal() and 1 <= int(name[1:]) <= len(headers):
        return int(name[1:]) - 1
    return None


def prepare(
    *,
    session: Session,
    team_id: str,
    entity: str,
    data: bytes,
    filename: str,
    overrides: list[str],
    actor: Member | None,
    now: datetime,
) -> Prepared:
    if entity not in ("deals", "leads", "companies", "people"):
        raise InvalidInput("import.unknown_entity", value=entity)
    workspace = get_workspace(session=session, team_id=team_id)
    table = read_table(data, filename)
    custom = custom_fields.specs(session=session, workspace_id=workspace.id, entity=entity)
    mapping = mapping_for(entity, table.headers, overrides, custom)
    rows, errors = parse_rows(
        table, mapping, today=today_in(workspace, now), timezone=workspace.timezone
    )
    columns = {spec.key: table.headers[i] for i, spec in mapping.items()}
    plan = imports.plan(
        session=session,
        workspace=workspace,
        entity=entity,
        rows=rows,
        errors=errors,
        columns=columns,
        actor=actor,
    )
    return Prepared(entity, filename, imports.digest(data), table, mapping, plan)


def execute(
    engine,
    prepared: Prepared,
    *,
    team_id: str,
    actor_id: int | None,
    now: datetime,
    skip_invalid: bool,
    progress: Callable[[int, int], None] | None = None,
    batch: int = imports.BATCH,
    run_id: int | None = None,
    on_done: Callable[[Session, ImportRun], None] | None = None,
) -> ImportRun:
    """Write the plan; refuses (``import.invalid_rows``) when rows are invalid and not skipped.
    ``run_id``: the run recorded before (a Slack import's job), else the unfinished run of the
    same file, else a new one. ``on_done(session, run)`` runs in the transaction that marks
    the run done (a Slack import's last message: recorded with it, or not at all)."""
    plan = prepared.plan
    if plan.errors and not skip_invalid:
        raise InvalidInput("import.invalid_rows", count=len(plan.bad_rows))
    todo = [r for r in plan.rows if r.action in ("create", "update")]
    with Session(engine) as session:
        workspace = get_workspace(session=session, team_id=team_id)
        actor = session.get(Member, actor_id) if actor_id else None
        run = imports.start_run(
            session=session,
            workspace_id=workspace.id,
            entity=prepared.entity,
            filename=prepared.filename,
            digest=prepared.digest,
            actor=actor,
            rows=len(prepared.table.rows),
            now=now,
            run_id=run_id,
        )
        session.commit()
        run_id = run.id
    done = 0
    names = imports.Names()
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        with Session(engine) as session:
            workspace = get_workspace(session=session, team_id=team_id)
            actor = session.get(Member, actor_id) if actor_id else None
            imports.write_batch(
                session=session,
                workspace=workspace,
                entity=prepared.entity,
                rows=chunk,
                run_id=run_id,
                actor=actor,
                now=now,
                names=names,
            )
            session.commit()
        done += len(chunk)
        if progress is not None:
            progress(done, len(todo))
    with Session(engine) as session:
        run = imports.finish_run(session=session, run_id=run_id, plan=plan, now=now)
        session.flush()
        if on_done is not None:
            on_done(session, run)
        session.commit()
        session.refresh(run)
        return run
