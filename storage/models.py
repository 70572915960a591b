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
    created_at: datetime = _created()
    # OAuth mode: set when Slack said the app was uninstalled or its tokens revoked; nothing
    # is planned or posted for the workspace until it is installed again (bot.oauth).
    uninstalled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("workspace_id", "slack_user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    slack_user_id: str = Field(max_length=32)
    name: str = Field(default="", max_length=200)
    role: Role = Field(default=Role.rep, sa_type=sa.String(16))
    locale: str | None = Field(default=None, max_length=8)
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
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    name: str = Field(max_length=200)
    employees: int | None = None
    created_at: datetime = _created()


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    company_id: int | None = Field(default=None, foreign_key="company.id", ondelete="SET NULL")
    created_at: datetime = _created()


class Lead(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "number"),
        # Leads created in a period, and how many were qualified (covering, for the metrics).
        sa.Index(
            "ix_lead_created", "workspace_id", "created_at", "owner_id", "status_id", "deal_id"
        ),
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
    status_changed_at: datetime = _created()
    created_at: datetime = _created()


OPEN_STAGE_COLUMNS = (
    *("workspace_id", "closed_at", "stage_id", "stage_entered_at", "pipeline_id", "amount"),
    *("created_at", "expected_close", "owner_id", "snoozed_until"),
)
PIPELINE_CLOSED_COLUMNS = (
    *("workspace_id", "pipeline_id", "closed_at", "stage_id", "owner_id", "created_at"),
    "amount",
)


class Deal(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "number"),
        # Open deals by stage and time in stage (the scheduler, the board), and deals closed in
        # a period. It covers every column the aggregates over open deals read (board,
        # forecast, per-rep, ages), so they never touch the table: an index-only scan.
        sa.Index("ix_deal_open_stage", *OPEN_STAGE_COLUMNS),
        sa.Index("ix_deal_owner", "workspace_id", "owner_id", "closed_at", "amount"),
        sa.Index("ix_deal_renewal", "workspace_id", "renewal_date"),
        # One pipeline's deals closed in a period (win rate, cycle, per rep; covering).
        sa.Index("ix_deal_pipeline_closed", *PIPELINE_CLOSED_COLUMNS),
        # The weekly summary's "new this week"; its biggest movers, largest deals first.
        sa.Index("ix_deal_created", "workspace_id", "created_at"),
        sa.Index("ix_deal_amount", "workspace_id", "pipeline_id", "amount"),
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
    created_at: datetime = _created()
    updated_at: datetime = _created()


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


class Activity(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_activity_deal", "deal_id", "at"),
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
    __table_args__ = (sa.Index("ix_task_due", "workspace_id", "done", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _ws()
    owner_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    deal_id: int | None = Field(default=None, foreign_key="deal.id", ondelete="CASCADE")
    lead_id: int | None = Field(default=None, foreign_key="lead.id", ondelete="CASCADE")
    text: str = Field(max_length=1000)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    done: bool = False
    created_at: datetime = _created()


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


# The OAuth install tables (slack_sdk's installation and state stores), in the same metadata.
import storage.installations  # noqa: E402, F401
