"""Imports started in Slack: the run is recorded before it starts, so none is lost.

Life of a ``/pipeline import`` run (an ``import_run`` with a ``file_id``)::

    queue ──► queued ──► running ──► done
                 │          │  └───► failed (the file no longer reads, or the import refused)
                 └──────────┴── heartbeat after every batch

The run keeps what is needed to do it again: the Slack file id and the modal's choices
(:class:`JobOptions`). A process that dies mid-import leaves the run queued or running with
a heartbeat that stops moving; :func:`claim_stale` hands each such run to one process (a
conditional ``UPDATE`` of the heartbeat: one claimant however many replicas start at once),
which downloads the file again and runs it. Rows already written plan as unchanged
(domain.imports), so it finishes without duplicates.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from storage.models import ImportRun

STALE = timedelta(minutes=2)  # no heartbeat for this long: the process running it is gone
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class JobOptions:
    """The modal's choices: what the file holds and how to read it, whom to tell."""

    entity: str
    filename: str
    user: str  # the Slack user who confirmed (the progress message goes to their DM)
    skip_invalid: bool = False
    overrides: list[str] = field(default_factory=list)  # "column=field" as `--map` takes
    locale: str = ""  # the language of the progress message (the importer's)

    def dump(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def load(cls, text: str | None) -> JobOptions:
        data = json.loads(text or "{}")
        return cls(
            entity=str(data.get("entity") or "deals"),
            filename=str(data.get("filename") or ""),
            user=str(data.get("user") or ""),
            skip_invalid=bool(data.get("skip_invalid")),
            overrides=[str(o) for o in data.get("overrides") or []],
            locale=str(data.get("locale") or ""),
        )


def queue(
    *,
    session: Session,
    workspace_id: int,
    file_id: str,
    options: JobOptions,
    actor_id: int | None,
    now: datetime,
) -> ImportRun:
    run = ImportRun(
        workspace_id=workspace_id,
        entity=options.entity,
        filename=options.filename[:255],
        digest="",
        by_member_id=actor_id,
        status="queued",
        started_at=now,
        file_id=file_id,
        options=options.dump(),
        heartbeat_at=now,
    )
    session.add(run)
    session.flush()
    return run


def heartbeat(*, session: Session, run_id: int, now: datetime) -> None:
    session.execute(
        sa.update(ImportRun).where(ImportRun.id == run_id).values(heartbeat_at=now),
        execution_options={"synchronize_session": False},
    )


def fail(*, session: Session, run_id: int, now: datetime) -> None:
    session.execute(
        sa.update(ImportRun)
        .where(ImportRun.id == run_id)
        .values(status="failed", finished_at=now, heartbeat_at=now),
        execution_options={"synchronize_session": False},
    )


def claim_stale(*, session: Session, now: datetime, stale: timedelta = STALE) -> list[int]:
    """The Slack runs nobody is running any more, claimed for this process (their heartbeat
    set to ``now`` in the same statement, so a second process finds them fresh)."""
    candidates = session.execute(
        sa.select(ImportRun.id, ImportRun.heartbeat_at).where(
            ImportRun.file_id.is_not(None),
            ImportRun.status.in_(ACTIVE),
            sa.or_(ImportRun.heartbeat_at.is_(None), ImportRun.heartbeat_at < now - stale),
        )
    ).all()
    claimed = []
    for run_id, beat in candidates:
        same = ImportRun.heartbeat_at.is_(None) if beat is None else ImportRun.heartbeat_at == beat
        won = session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id == run_id, ImportRun.status.in_(ACTIVE), same)
            .values(heartbeat_at=now)
            .returning(ImportRun.id),
            execution_options={"synchronize_session": False},
        ).first()
        if won is not None:
            claimed.append(run_id)
    return claimed
