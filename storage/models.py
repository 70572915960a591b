"""The tables. Every row belongs to a workspace; every query filters on ``workspace_id``.

Money columns are exact (:class:`storage.types.Money`), datetimes are aware UTC
(:class:`storage.types.UTCDateTime`), calendar dates are plain ``date``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.types import Money, UTCDateTime, utcnow


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    rep = "rep"


class Outcome(StrEnum):
    open = "open"
    won = "won"
    lost = "lost"


class PipelineKind(StrEnum):
    deal = "deal"
    lead = "lead"


class TaskKind(StrEnum):
    call = "call"
    email = "email"
    meeting = "meeting"
    todo = "todo"


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    skipped = "skipped"  # closed without being done (a cadence step of a stage the deal left)


def _ws() -> int:
    return Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")


def _created() -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(unique=True, max_length=32)
    name: str = Field(default="", max_length=200)
    deals_channel: str | None = Field(default=None, max_length=32)
    digest_channel: str | None = Field(default=None, max_length=32)
    timezone: str = Field(default="Asia/Seoul", max_length=64)
    locale: str = Field(default="ko", max_length=8)
    currency: str = Field(default="KRW", max_length=3)
    digest_time: str = Field(default="09:00", max_length=5)
    stall_business_days: bool = False
    holiday_country: str = Field(default="KR", max_length=2)
    digest_all_clear: bool = False
    renewal_offsets: str = Field(default="90,60,30,7", max_length=64)
    next_deal_number: int = 0
    next_lead_number: int = 0
    next_task_number: int = 0
    created_at: datetime = _created()
    # OAuth mode: set when Slack said the app was uninstalled or its tokens revoked; nothing
    # is planned or posted for the workspace until it is installed again (bot.oauth).
    uninstalled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Bumped by every change to the workspace, its members, pipelines or stages
    # (storage.config_version): what serving processes check before trusting their copies.
    config_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Member(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workspace_id", "slack_user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    slack_user_id: str = Field(max_length=32)
    name: str = Field(default="", max_length=200)
    role: Role = Field(default=Role.rep, sa_type=sa.String(16))
    locale: str | None = Field(default=None, max_length=8)
    # The member's own timezone (None: the workspace's): due times are read and shown in it.
    timezone: str | None = Field(default=None, max_length=64)
    # The morning "today" DM of their tasks (``/task morning off`` turns it off).
    task_morning: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # Imports name owners by email (migration 0008); Slack's profile email when known.
    email: str | None = Field(default=None, max_length=320)
    created_at: datetime = _created()


class Pipeline(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workspace_id", "kind", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    name: str = Field(max_length=100)
    kind: PipelineKind = Field(default=PipelineKind.deal, sa_type=sa.String(8))
    position: int = 0
    is_default: bool = False


class Stage(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("pipeline_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    pipeline_id: int = Field(foreign_key="pipeline.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    position: int
    probability: int = 0
    stall_days: int | None = None
    outcome: Outcome = Field(default=Outcome.open, sa_type=sa.String(8))


class Company(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "name"),
        sa.Index("uq_company_external_id", "workspace_id", "external_id", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    name: str = Field(max_length=200)
    employees: int | None = None
    external_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = _created()


class Person(SQLModel, table=True):
    __table_args__ = (
        sa.Index("uq_person_external_id", "workspace_id", "external_id", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    company_id: int | None = Field(default=None, foreign_key="company.id", ondelete="SET NULL")
    external_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = _created()


class Lead(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "number"),
        # Leads created in a period, and how many were qualified (covering, for the metrics).
        sa.Index(
            "ix_lead_created", "workspace_id", "created_at", "owner_id", "status_id", "deal_id"
        ),
        sa.Index("uq_lead_external_id", "workspace_id", "external_id", unique=True),
        # ``/lead list``: highest score first (domain.lead_scores, migration 0014).
        sa.Index("ix_lead_score", "workspace_id", "score", "number"),
        # The lead a deal came from: its deal's activity scores the lead.
        sa.Index("ix_lead_deal", "deal_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    number: int
    name: str = Field(max_length=200)
    status_id: int = Field(foreign_key="stage.id")
    source: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    company_size: int | None = None
    owner_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    company_id: int | None = Field(default=None, foreign_key="company.id", ondelete="SET NULL")
    person_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    deal_id: int | None = Field(default=None, foreign_key="deal.id", ondelete="SET NULL")
    external_id: str | None = Field(default=None, max_length=100)
    status_changed_at: datetime = _created()
    created_at: datetime = _created()
    # Lead scoring (domain.lead_scores, migration 0014): the job title the title rules read, the
    # score as last computed, and the MQL threshold crossings (``above_mql`` flips back when
    # the score falls below; each crossing upwards counts one and tells the owner once).
    job_title: str | None = Field(default=None, max_length=200)
    score: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    scored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    above_mql: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    mql_crossings: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# Every index that sums ``amount`` covers ``currency`` too: totals are per currency, then
# converted (domain.money), and stay index-only (migration 0006).
OPEN_STAGE_COLUMNS = (
    *("workspace_id", "closed_at", "stage_id", "stage_entered_at", "pipeline_id", "amount"),
    *("created_at", "expected_close", "owner_id", "snoozed_until", "currency"),
    "qualification",  # the weekly summary's unqualified count (migration 0023_weekly)
)
PIPELINE_CLOSED_COLUMNS = (
    *("workspace_id", "pipeline_id", "closed_at", "stage_id", "owner_id", "created_at"),
    *("amount", "currency"),
)


STALLED_COLUMNS = (
    *("workspace_id", "closed_at", "stalled_since", "stage_id", "stage_entered_at"),
    *("snoozed_until", "owner_id", "currency", "amount"),
)
OWNER_ENTERED_COLUMNS = (
    *("workspace_id", "owner_id", "closed_at", "stage_entered_at", "number", "stage_id"),
    "snoozed_until",
)


class Deal(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "number"),
        # Open deals by stage and time in stage (the scheduler, the board), and deals closed in
        # a period. It covers every column the aggregates over open deals read (board,
        # forecast, per-rep, ages), so they never touch the table: an index-only scan.
        sa.Index("ix_deal_open_stage", *OPEN_STAGE_COLUMNS),
        sa.Index("ix_deal_owner", "workspace_id", "owner_id", "closed_at", "amount", "currency"),
        sa.Index("ix_deal_renewal", "workspace_id", "renewal_date"),
        # One pipeline's deals closed in a period (win rate, cycle, per rep; covering).
        sa.Index("ix_deal_pipeline_closed", *PIPELINE_CLOSED_COLUMNS),
        # The weekly summary's "new this week" (covering: migration 0023_weekly); its biggest
        # movers, largest deals first.
        sa.Index(
            "ix_deal_created", "workspace_id", "created_at", "pipeline_id", "currency", "amount"
        ),
        sa.Index("ix_deal_amount", "workspace_id", "pipeline_id", "currency", "amount"),
        # A won deal has at most one renewal deal (domain.renewals, migration 0010).
        sa.Index("uq_deal_renewal_of", "renewal_of_id", unique=True),
        # An imported deal's id in the system it came from: re-importing updates it.
        sa.Index("uq_deal_external_id", "workspace_id", "external_id", unique=True),
        # Open deals by the instant they may be stalled from (the stall jobs; migration 0019),
        # covering what the stall digest sums over them (migration 0024_stall_order).
        sa.Index("ix_deal_stalled", *STALLED_COLUMNS),
        # One member's open deals in /deal list mine's order, covering the stall rule
        # (domain.deal_reads: stalled first, then by stage entry; migration 0024_stall_order).
        # PostgreSQL's btree does not carry the id as SQLite's does: included (0025).
        sa.Index("ix_deal_owner_entered", *OWNER_ENTERED_COLUMNS, postgresql_include=["id"]),
        # Open deals snoozed, by pipeline (the board's stalled count takes them out; migration
        # 0020): the snoozes, not the deals, so a few rows at any size; covering for that
        # count. Led by the pipeline (which names its workspace), so that SQLite's planner
        # cannot take ix_deal_open_stage's (workspace_id, closed_at) instead.
        sa.Index(
            "ix_deal_snoozed",
            *("pipeline_id", "snoozed_until", "stage_id", "stage_entered_at"),
            "closed_at",  # always NULL here, but SQLite counts it covering only with it
            postgresql_where=sa.text("closed_at IS NULL AND snoozed_until IS NOT NULL"),
            sqlite_where=sa.text("closed_at IS NULL AND snoozed_until IS NOT NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    number: int
    title: str = Field(max_length=200)
    amount: Decimal = Field(default=Decimal(0), sa_type=Money, nullable=False)
    currency: str = Field(default="KRW", max_length=3)
    owner_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    company_id: int | None = Field(default=None, foreign_key="company.id", ondelete="SET NULL")
    person_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    pipeline_id: int = Field(foreign_key="pipeline.id")
    stage_id: int = Field(foreign_key="stage.id")
    stage_entered_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expected_close: date | None = None
    renewal_date: date | None = None
    mrr: Decimal | None = Field(default=None, sa_type=Money)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lost_reason: str | None = Field(default=None, max_length=500)
    snoozed_until: date | None = None
    thread_channel: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32, index=True)
    # The card's permalink, stored when the card is posted: /deal show links it from the ack.
    thread_permalink: str | None = Field(default=None, max_length=500)
    version: int = 0
    external_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    # The won deal this renewal deal renews (domain.renewals.create_renewal).
    renewal_of_id: int | None = Field(default=None, foreign_key="deal.id")
    # BANT qualification (domain.qualify, migration 0014): one bit per criterion met.
    qualification: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # From when the deal may be stalled in its stage: a lower bound (domain.stall.stalled_since)
    # kept on every stage entry and threshold change, so the stall jobs read only deals near or
    # past their threshold (ix_deal_stalled; migration 0019). None: the stage has no threshold.
    stalled_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


ENTERED_COLUMNS = (
    *("workspace_id", "to_stage_id", "at", "prev_entry_at", "progressed", "deal_id"),
)


class StageHistory(SQLModel, table=True):
    """One stay of a deal in a stage: entered ``at``, left ``left_at`` (None while it is there).

    ``left_at``, ``prev_entry_at`` and ``progressed`` are written by :mod:`domain.deals` as the
    deal moves, so the metrics read stage conversion and time in stage from index ranges
    instead of replaying every deal's history (migration 0002 filled them in for old rows).
    """

    __tablename__ = "stage_history"
    __table_args__ = (
        sa.Index("ix_stage_history_deal", "deal_id", "at"),
        # Stage conversion: entries into a stage in a period (covering).
        sa.Index("ix_stage_history_entered", *ENTERED_COLUMNS),
        # Time in stage: stays that ended in or after a period, and current ones (NULL).
        sa.Index("ix_stage_history_left", "workspace_id", "to_stage_id", "left_at", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    deal_id: int = Field(foreign_key="deal.id", ondelete="CASCADE")
    from_stage_id: int | None = Field(default=None, foreign_key="stage.id")
    to_stage_id: int = Field(foreign_key="stage.id", index=True)
    by_member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    at: datetime = _created()
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the deal last entered this same stage before this row (None: the first time). The
    # first entry of a deal into a stage within a period is the row whose previous entry is
    # before the period: counting deals becomes counting rows, no DISTINCT.
    prev_entry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A later move took the deal to a later stage (higher open position, or won), judged with
    # the stage order of the moment of that move.
    progressed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # The import that wrote this stay (an imported deal's first stay, or a stage an import
    # changed); None for moves people made.
    import_run_id: int | None = None


class ImportRun(SQLModel, table=True):
    """One ``salesbot import`` / ``/pipeline import`` of a file: who, what, how far it got.

    A run is re-entered when the same file (``digest``) is imported again before it finished:
    rows already written are found by their external id (or title + company) and updated, so
    a crash mid-file is finished by running it again.
    """

    __tablename__ = "import_run"
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    entity: str = Field(max_length=16)
    filename: str = Field(default="", max_length=255)
    digest: str = Field(max_length=64)
    by_member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    status: str = Field(default="running", max_length=16)  # queued | running | done | failed
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    started_at: datetime = _created()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # ``/pipeline import`` (0016): the Slack file and the choices made in the modal (JSON),
    # so a run whose process died is downloaded and finished again (domain.import_jobs).
    file_id: str | None = Field(default=None, max_length=32)
    options: str | None = Field(default=None, sa_type=sa.Text)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ExchangeRate(SQLModel, table=True):
    """What one unit of ``currency`` is worth in ``base`` (the workspace currency when it was
    set), set by an admin: ``/pipeline settings rate:USD=1380``. Totals convert with the rates
    whose base is the workspace's current currency (domain.money). ``rate`` is a decimal
    written as text, exact on both databases."""

    __tablename__ = "exchange_rate"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "base", "currency"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    base: str = Field(max_length=3)
    currency: str = Field(max_length=3)
    rate: str = Field(max_length=40)
    set_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    updated_at: datetime = _created()


class Activity(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_activity_deal", "deal_id", "at"),
        # A lead's first touch by a person: speed to lead (domain.inbound, migration 0015);
        # its notes of the last days (domain.lead_scores).
        sa.Index("ix_activity_lead", "lead_id", "at"),
        # A thread message is recorded once, however often Slack delivers it.
        sa.UniqueConstraint("workspace_id", "slack_ts", name="uq_activity_slack_ts"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    deal_id: int | None = Field(default=None, foreign_key="deal.id", ondelete="CASCADE")
    lead_id: int | None = Field(default=None, foreign_key="lead.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)
    text: str = Field(default="", max_length=4000)
    author_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    slack_ts: str | None = Field(default=None, max_length=32)
    at: datetime = _created()


class Task(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "number", name="uq_task_number"),
        # A generated task (cadence step, workflow action) is made once: its origin is its key.
        sa.UniqueConstraint("workspace_id", "origin", name="uq_task_origin"),
        sa.Index("ix_task_due", "workspace_id", "status", "due_at"),
        sa.Index("ix_task_owner", "workspace_id", "owner_id", "status", "due_at"),
        sa.Index("ix_task_deal", "deal_id", "status"),
        # A lead's tasks done (domain.lead_scores, migration 0014).
        sa.Index("ix_task_lead", "lead_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    number: int
    owner_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    deal_id: int | None = Field(default=None, foreign_key="deal.id", ondelete="CASCADE")
    lead_id: int | None = Field(default=None, foreign_key="lead.id", ondelete="CASCADE")
    kind: TaskKind = Field(default=TaskKind.todo, sa_type=sa.String(8))
    text: str = Field(max_length=1000)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: TaskStatus = Field(default=TaskStatus.open, sa_type=sa.String(8))
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The due time already reminded: a snooze sets a new due time, which reminds again.
    reminded_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What generated the task, e.g. "cadence:<cadence>:<stage stay>:<step>" (None: a person).
    origin: str | None = Field(default=None, max_length=255)
    created_by_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("member.id", name="fk_task_created_by_id_member", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    # The stage a cadence task belongs to: leaving the stage skips its open tasks.
    stage_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("stage.id", name="fk_task_stage_id_stage", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    created_at: datetime = _created()


class Quota(SQLModel, table=True):
    """A sales target for one member (``scope`` ``m<member id>``) or the team (``team``) in
    one calendar month (``2027-01``) or quarter (``2027-Q1``): the pipeline coach's goal."""

    __table_args__ = (sa.UniqueConstraint("workspace_id", "scope", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    scope: str = Field(max_length=16)
    member_id: int | None = Field(default=None, foreign_key="member.id", ondelete="CASCADE")
    period: str = Field(max_length=8)
    amount: Decimal = Field(sa_type=Money, nullable=False)
    currency: str = Field(default="KRW", max_length=3)
    set_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    updated_at: datetime = _created()


class SlackEvent(SQLModel, table=True):
    """Event ids already handled: Slack retries events, Bolt does not deduplicate."""

    __tablename__ = "slack_event"
    event_id: str = Field(primary_key=True, max_length=64)
    workspace_id: int | None = Field(default=None, foreign_key="workspace.id", ondelete="CASCADE")
    received_at: datetime = _created()


class Outbox(SQLModel, table=True):
    """Every post is recorded before it is sent; ``key`` makes it once-only (storage.outbox)."""

    __table_args__ = (
        sa.Index("ix_outbox_pending", "status", "next_attempt_at"),
        # One deal's posts go out in order: the earlier unsent rows of a deal, by id.
        sa.Index("ix_outbox_deal", "deal_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    deal_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("deal.id", name="fk_outbox_deal_id_deal", ondelete="CASCADE"),
            nullable=True,
        ),
    )
    key: str = Field(unique=True, max_length=255)
    job: str = Field(max_length=32)
    target: str = Field(max_length=64)
    period: str = Field(max_length=64)
    payload: str = Field(sa_type=sa.Text)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _created()
    last_error: str | None = Field(default=None, max_length=500)
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# ---------------------------------------------------------------- cadences and workflows (0009)


class Cadence(SQLModel, table=True):
    """A stage's follow-up plan: its steps become the owner's tasks when a deal enters it."""

    __table_args__ = (sa.UniqueConstraint("stage_id", name="uq_cadence_stage"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    stage_id: int = Field(foreign_key="stage.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    active: bool = True
    created_at: datetime = _created()


class CadenceStep(SQLModel, table=True):
    __tablename__ = "cadence_step"
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    cadence_id: int = Field(foreign_key="cadence.id", index=True, ondelete="CASCADE")
    position: int
    day_offset: int
    kind: str = Field(max_length=16)
    text: str = Field(max_length=1000)


class Workflow(SQLModel, table=True):
    """trigger + conditions → actions (domain.workflows); ``conditions`` and ``actions`` are
    JSON, ``fired`` counts the changes it ran for, ``turn`` is its round-robin cursor."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    trigger: str = Field(max_length=32)
    stage_id: int | None = Field(default=None, foreign_key="stage.id", ondelete="CASCADE")
    conditions: str = Field(default="{}", sa_type=sa.Text)
    actions: str = Field(default="[]", sa_type=sa.Text)
    active: bool = True
    fired: int = 0
    turn: int = 0
    created_at: datetime = _created()


class WorkflowRun(SQLModel, table=True):
    """A workflow ran for one change (``change``: the history row, lead, episode…): once."""

    __tablename__ = "workflow_run"
    __table_args__ = (sa.UniqueConstraint("workflow_id", "change", name="uq_workflow_run"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    workflow_id: int = Field(foreign_key="workflow.id", ondelete="CASCADE")
    change: str = Field(max_length=128)
    at: datetime = _created()


# ---------------------------------------------------------------- inbound leads (0015)


class InboundSource(SQLModel, table=True):
    """A workspace's inbound lead endpoint (domain.inbound, docs/inbound.md): its public
    ``key`` (``POST /leads/<key>``, ``GET /forms/<key>``), the SHA-256 of its secret (the
    secret itself is shown once, never stored), the key that signs its web form's tokens,
    where new leads are posted and how they are assigned, and its two rate-limit buckets
    (tokens left, when last refilled), shared by every replica through the database."""

    __tablename__ = "inbound_source"
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", unique=True, ondelete="CASCADE")
    key: str = Field(unique=True, max_length=32)
    secret_hash: str = Field(max_length=64)
    form_key: str = Field(max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    round_robin: bool = False
    turn: int = 0
    api_tokens: float = 0.0
    api_at: datetime = _created()
    form_tokens: float = 0.0
    form_at: datetime = _created()
    rotated_at: datetime = _created()
    created_at: datetime = _created()


class InboundLead(SQLModel, table=True):
    """One lead that arrived by itself: how it came, what the sender gave beyond the lead's
    own fields, the retry key that makes a resend the same lead, and what it was told."""

    __tablename__ = "inbound_lead"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "retry_key", name="uq_inbound_lead_retry"),
        # Speed to lead: the inbound leads that arrived in a period.
        sa.Index("ix_inbound_lead_received", "workspace_id", "received_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    lead_id: int = Field(foreign_key="lead.id", unique=True, ondelete="CASCADE")
    via: str = Field(max_length=8)  # api | form
    retry_key: str = Field(max_length=160)
    digest: str = Field(max_length=64)
    details: str = Field(default="{}", sa_type=sa.Text)  # title, phone, notes, other fields
    duplicates: str = Field(default="{}", sa_type=sa.Text)
    post_key: str = Field(max_length=255)
    # Who gave it its owner: claim | person | rotation | workflow (None: nobody yet).
    assigned_by: str | None = Field(default=None, max_length=16)
    disqualified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime = _created()


# ---------------------------------------------------------------- alerts (0017, issue 16)


class AlertRoute(SQLModel, table=True):
    """An admin's rule: events of one kind (``won``, ``stalled``…) that match the filters go
    to ``channel`` (domain.alerts). ``number`` is what ``/pipeline alert remove 2`` names;
    ``min_amount`` is in ``currency``; ``owners`` are member ids, comma-separated (one owner,
    or a team of them; empty: anyone's deals)."""

    __tablename__ = "alert_route"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "number", name="uq_alert_route_number"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    number: int
    event: str = Field(max_length=16)
    channel: str = Field(max_length=32)
    pipeline_id: int | None = Field(default=None, foreign_key="pipeline.id", ondelete="CASCADE")
    stage_id: int | None = Field(default=None, foreign_key="stage.id", ondelete="CASCADE")
    min_amount: Decimal | None = Field(default=None, sa_type=Money)
    currency: str | None = Field(default=None, max_length=3)
    owners: str = Field(default="", max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: datetime = _created()


class AlertPrefs(SQLModel, table=True):
    """A member's alert preferences (App Home): batching and quiet hours, in their timezone."""

    __tablename__ = "alert_prefs"
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    member_id: int = Field(foreign_key="member.id", unique=True, ondelete="CASCADE")
    batch: str = Field(default="off", max_length=8)  # off | hourly | daily
    quiet_start: str | None = Field(default=None, max_length=5)  # "20:00"
    quiet_end: str | None = Field(default=None, max_length=5)  # "08:00"


class AlertMute(SQLModel, table=True):
    """A member muted one deal or one pipeline: none of its alerts reach them by DM."""

    __tablename__ = "alert_mute"
    __table_args__ = (sa.UniqueConstraint("member_id", "subject", name="uq_alert_mute"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    subject: str = Field(max_length=24)  # "d<deal id>" | "p<pipeline id>"
    deal_id: int | None = Field(default=None, foreign_key="deal.id", ondelete="CASCADE")
    pipeline_id: int | None = Field(default=None, foreign_key="pipeline.id", ondelete="CASCADE")


class AlertItem(SQLModel, table=True):
    """An alert DM held for later: a batching member's next digest, or the end of their quiet
    hours. ``key`` is the outbox key the DM would have had (once per alert); ``digest`` the
    outbox key of the DM it went out in (None while it waits)."""

    __tablename__ = "alert_item"
    __table_args__ = (sa.Index("ix_alert_item_due", "workspace_id", "digest", "release_at"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    key: str = Field(unique=True, max_length=255)
    release_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    payload: str = Field(sa_type=sa.Text)  # {"to": …, "message": …}: the DM as it would have gone
    digest: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()


# ---------------------------------------------------------------- lead scoring (0014)


class LeadScoring(SQLModel, table=True):
    """A workspace's lead scoring (domain.scoring): the rules as JSON, the MQL threshold, the
    activity window and half-life. No row: the default rules."""

    __tablename__ = "lead_scoring"
    workspace_id: int = Field(primary_key=True, foreign_key="workspace.id", ondelete="CASCADE")
    rules: str = Field(default="[]", sa_type=sa.Text)
    threshold: int = 50
    window_days: int = 30
    half_life_days: int = 7
    updated_by_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    updated_at: datetime = _created()


# ---------------------------------------------------------------- board counters (0019)


class BoardCounter(SQLModel, table=True):
    """Open deals (``closed_at`` NULL) of one stage in one currency: how many and their amount
    (raw hundredths, like :class:`storage.types.Money`), kept in the transaction of every change
    of a deal (domain.counters), so the board reads a few rows instead of aggregating deals.
    The weighted amount is ``amount × the stage's probability``, taken at read time, so a
    probability change needs no rewrite."""

    __tablename__ = "board_counter"
    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    pipeline_id: int = Field(foreign_key="pipeline.id", primary_key=True, ondelete="CASCADE")
    stage_id: int = Field(foreign_key="stage.id", primary_key=True, ondelete="CASCADE")
    currency: str = Field(primary_key=True, max_length=3)
    count: int = Field(default=0, sa_type=sa.BigInteger)
    amount: int = Field(default=0, sa_type=sa.BigInteger)


class EntryDayCounter(SQLModel, table=True):
    """Open deals of one stage that entered it on one UTC day (``deal.stage_entered_at``),
    kept beside :class:`BoardCounter` by domain.counters, so the board's stalled count sums
    a few rows per day of history instead of reading every stalled deal (migration 0020)."""

    __tablename__ = "entry_day_counter"
    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    pipeline_id: int = Field(foreign_key="pipeline.id", primary_key=True, ondelete="CASCADE")
    stage_id: int = Field(foreign_key="stage.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True)
    count: int = Field(default=0, sa_type=sa.BigInteger)


class JobLease(SQLModel, table=True):
    """One scheduled job's current slot for one workspace, claimed by one scheduler process at
    a time (scheduler.leases): replicas share the planning instead of each doing all of it.
    The row moves on to the next slot in place, so the table holds one row per job and
    workspace, whatever the history."""

    __tablename__ = "job_lease"
    # Claims walk a job's rows not done yet, in workspace order, past the done ones.
    __table_args__ = (sa.Index("ix_job_lease_open", "job", "done_at", "workspace_id"),)
    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    job: str = Field(primary_key=True, max_length=32)
    slot: str = Field(max_length=64)
    owner: str | None = Field(default=None, max_length=64)
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


class CustomField(SQLModel, table=True):
    """A workspace's own field on deals, leads, companies or people (issue 15, point 1):
    ``kind`` says how its values are read and stored (domain.custom_fields); ``options`` is a
    JSON list for selects; ``pipeline_id`` scopes a deal field to one pipeline; a deal
    entering ``required_stage_id`` (or a later open stage, or won) must have a value."""

    __tablename__ = "custom_field"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "entity", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    entity: str = Field(max_length=16)
    key: str = Field(max_length=40)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)
    options: str = Field(default="[]", sa_type=sa.Text)
    pipeline_id: int | None = Field(default=None, foreign_key="pipeline.id", ondelete="CASCADE")
    required_stage_id: int | None = Field(default=None, foreign_key="stage.id", ondelete="SET NULL")
    position: int = 0
    archived: bool = False
    created_at: datetime = _created()


# A custom value is one typed row per (field, record) — several for a multi select — so a
# filter is an index range on (workspace, field, value), never a scan (domain.custom_fields).
CUSTOM_VALUE_INDEXES = {
    "ix_custom_value_record": ("field_id", "record_id"),
    "ix_custom_value_text": ("workspace_id", "field_id", "value_text", "record_id"),
    "ix_custom_value_number": (
        *("workspace_id", "field_id", "value_number", "value_text", "record_id"),
    ),
    "ix_custom_value_date": ("workspace_id", "field_id", "value_date", "record_id"),
}


class CustomValue(SQLModel, table=True):
    """``value_text``: text, select options, a member's Slack id, url/email/phone, and a
    money value's currency; ``value_number``: numbers, money and checkboxes (1/0), exact;
    ``value_date``: dates. ``record_id`` is the deal's (lead's…) row id."""

    __tablename__ = "custom_value"
    __table_args__ = tuple(sa.Index(name, *cols) for name, cols in CUSTOM_VALUE_INDEXES.items())
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    field_id: int = Field(foreign_key="custom_field.id", ondelete="CASCADE")
    record_id: int
    value_text: str | None = Field(default=None, max_length=500)
    value_number: Decimal | None = Field(default=None, sa_type=Money)
    value_date: date | None = None


class CloseCounter(SQLModel, table=True):
    """Closed deals by the UTC day they closed, the stage they are in (won or lost) and one
    stage they had reached: how many. Kept in the transaction of every close and reopen
    (domain.close_counters), so probability calibration sums days instead of joining every
    closed deal's history. The stage's outcome is read when the counters are, so a stage
    turned from won to lost counts as it is now, as the deals would."""

    __tablename__ = "close_counter"
    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True)
    stage_id: int = Field(primary_key=True)  # where the closed deal is
    reached_id: int = Field(primary_key=True)  # a stage its history went into
    count: int = Field(default=0, sa_type=sa.BigInteger)


# The OAuth install tables (slack_sdk's installation and state stores), in the same metadata.
import storage.installations  # noqa: E402, F401
