"""A ``/pipeline import`` job, after the modal: read the file again, plan, write, report.

:func:`start` records the run (domain.import_jobs) and the first post of its progress
message — "Importing deals.csv…" to the importer's DM — in one transaction, before the
modal is answered. :func:`run` does the work, off the request (bot.importer): it fetches the
file (a callable: Slack's ``files.info`` and download), plans it with the mapping confirmed
in the modal, writes it one batch per transaction (commands.importing), and after every
batch records an update of the message with a heartbeat; the run's end records the final
update (``done``: once, however often the run is resumed) in the transaction that marks
the run done.

Outbox rows (job ``import``, target ``run<id>``, claimed in order: scheduler.drain)::

    post            the message, to {"dm": user}
    <token>.<n>     chat.update of it: n batches written (token: one per attempt)
    done            chat.update of it: the totals, or why the import stopped
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from commands.importing import Prepared, execute, prepare
from commands.record import message_json
from domain import import_jobs
from domain.clock import Clock
from domain.errors import SalesbotError
from storage import outbox
from storage.db import session_scope
from storage.models import ImportRun, Member, Workspace
from views import import_modals
from views.message import Message

log = logging.getLogger(__name__)

JOB = "import"
POST = "post"
DONE = "done"

Fetch = Callable[[str], tuple[bytes, str]]  # file id -> (content, file name)


def _target(run_id: int) -> str:
    return f"run{run_id}"


def _record(session: Session, run: ImportRun, period: str, message: Message, now) -> None:
    options = import_jobs.JobOptions.load(run.options)
    payload: dict = {"message": message_json(message)}
    if period == POST:
        payload |= {"kind": "dm", "to": {"dm": options.user}}
    else:
        post_key = outbox.outbox_key(
            job=JOB, workspace_id=run.workspace_id, target=_target(run.id), period=POST
        )
        payload |= {"kind": "update", "update_of": post_key}
    outbox.enqueue(
        session,
        workspace_id=run.workspace_id,
        job=JOB,
        target=_target(run.id),
        period=period,
        payload=payload,
        now=now,
    )


def dry_run(
    engine,
    *,
    workspace_id: int,
    member_id: int | None,
    entity: str,
    data: bytes,
    filename: str,
    overrides: list[str],
    now: datetime,
) -> Prepared:
    """Plan a file for the preview, keeping nothing (not even the members a file names by
    Slack id: they are created when the import runs). A read-only transaction: on SQLite the
    preview of a big file does not hold the write lock while it plans."""
    with Session(engine.execution_options(salesbot_readonly=True)) as session:
        workspace = session.get(Workspace, workspace_id)
        actor = session.get(Member, member_id) if member_id else None
        prepared = prepare(
            session=session,
            team_id=workspace.team_id,
            entity=entity,
            data=data,
            filename=filename,
            overrides=overrides,
            actor=actor,
            now=now,
        )
        session.rollback()
    return prepared


def claim_stale(engine, now: datetime) -> list[tuple[int, int]]:
    """The runs a dead process left, claimed for this one: (run id, workspace id)."""
    with session_scope(engine) as session:
        claimed = import_jobs.claim_stale(session=session, now=now)
        return [(run_id, session.get(ImportRun, run_id).workspace_id) for run_id in claimed]


def start(
    session: Session,
    *,
    workspace: Workspace,
    file_id: str,
    options: import_jobs.JobOptions,
    actor_id: int | None,
    locale: str,
    now: datetime,
) -> int:
    """Record the run and its progress message; returns the run's id."""
    run = import_jobs.queue(
        session=session,
        workspace_id=workspace.id,
        file_id=file_id,
        options=options,
        actor_id=actor_id,
        now=now,
    )
    _record(session, run, POST, import_modals.progress(options, 0, None, locale), now)
    return run.id


def run(engine, run_id: int, *, fetch: Fetch, clock: Clock, wake: Callable[[], None]) -> None:
    """Do one job to its end (or its failure). Errors of the file or of the import
    (:class:`SalesbotError`) end the run as failed, said in the message; anything else (the
    database went away) leaves it running, for the next process to resume."""
    with session_scope(engine, readonly=True) as session:
        job = session.get(ImportRun, run_id)
        workspace = session.get(Workspace, job.workspace_id)
        options = import_jobs.JobOptions.load(job.options)
        team_id, locale, file_id = (
            workspace.team_id,
            options.locale or workspace.locale,
            job.file_id,
        )
        actor_id = job.by_member_id
    now = clock.now()
    token = uuid.uuid4().hex[:8]
    batches = iter(range(1, 1_000_000))

    def progress(done: int, total: int) -> None:
        message = import_modals.progress(options, done, total, locale)
        with session_scope(engine) as session:
            import_jobs.heartbeat(session=session, run_id=run_id, now=clock.now())
            _record(session, job, f"{token}.{next(batches)}", message, clock.now())
        wake()

    def finished(session: Session, done: ImportRun) -> None:
        _record(session, done, DONE, import_modals.finished(options, done, locale), clock.now())

    try:
        data, _ = fetch(file_id)
        with session_scope(engine) as session:
            actor = session.get(Member, actor_id) if actor_id else None
            prepared = prepare(
                session=session,
                team_id=team_id,
                entity=options.entity,
                data=data,
                filename=options.filename,
                overrides=options.overrides,
                actor=actor,
                now=now,
            )
        execute(
            engine,
            prepared,
            team_id=team_id,
            actor_id=actor_id,
            now=now,
            skip_invalid=options.skip_invalid,
            progress=progress,
            run_id=run_id,
            on_done=finished,
        )
    except SalesbotError as exc:
        message = import_modals.stopped(options, exc.render(locale), locale)
        with session_scope(engine) as session:
            import_jobs.fail(session=session, run_id=run_id, now=clock.now())
            _record(session, job, DONE, message, clock.now())
    wake()
