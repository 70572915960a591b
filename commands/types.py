"""Typed commands: what the grammar produces and the handlers consume.

References that need the database (deals, stages, users, pipelines) stay unresolved here;
the domain resolves them inside the workspace, so the parser never touches storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.due_times import Due


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str | None = None  # None: the workspace's currency
    # Read by a rule rather than as written (``1억5천`` is 1억 5천만): the reply confirms it.
    interpreted: bool = False


@dataclass(frozen=True)
class UserRef:
    """``<@U123|kim>`` gives ``slack_id``; a bare ``@kim`` gives ``name`` only."""

    slack_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class DealRef:
    """``42``, ``D42``, ``#42`` give ``number``; anything else is a title prefix."""

    number: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class LeadRef:
    """``7``, ``L7``, ``#7`` give ``number``; anything else is a name prefix."""

    number: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class StageRef:
    """A stage by name, case-insensitive prefix, or 1-based position; or by ``id`` (a select
    on a card carries the stage's id)."""

    text: str
    id: int | None = None


# --- /lead -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Help:
    command: str  # "lead" | "deal" | "pipeline"
    topic: str | None = None  # a sub-command, e.g. "move"


@dataclass(frozen=True)
class LeadNew:
    name: str | None  # None with no other arguments: open the modal
    company: str | None = None
    email: str | None = None
    source: str | None = None
    size: int | None = None
    owner: UserRef | None = None
    status: str | None = None
    title: str | None = None  # the lead's job title (``title:CTO``), read by scoring rules
    custom: tuple[tuple[str, str], ...] = ()  # custom fields for leads: (key, raw text)


@dataclass(frozen=True)
class LeadStatus:
    lead: LeadRef
    status: str


@dataclass(frozen=True)
class LeadConvert:
    lead: LeadRef
    amount: Amount | None = None
    pipeline: str | None = None
    stage: StageRef | None = None
    title: str | None = None
    close: date | None = None


@dataclass(frozen=True)
class LeadList:
    status: str | None = None
    mine: bool = False
    owner: UserRef | None = None


@dataclass(frozen=True)
class LeadShow:
    lead: LeadRef


# --- /deal -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DealNew:
    title: str | None  # None with no other arguments: open the modal
    amount: Amount | None = None
    stage: StageRef | None = None
    pipeline: str | None = None
    close: date | None = None
    owner: UserRef | None = None
    company: str | None = None
    contact: str | None = None
    custom: tuple[tuple[str, str], ...] = ()  # custom fields: (key, raw text) (issue 15)


# Won, lost and a move across open/closed ask first (``confirmed`` False: an ephemeral with
# Confirm/Cancel); the Confirm button, the card's Won button (a Block Kit confirm dialog) and
# the Lost modal run them confirmed (issue 13).
@dataclass(frozen=True)
class DealMove:
    deal: DealRef
    stage: StageRef
    confirmed: bool = False


@dataclass(frozen=True)
class DealWon:
    deal: DealRef
    confirmed: bool = False


@dataclass(frozen=True)
class DealLost:
    deal: DealRef
    reason: str | None = None
    confirmed: bool = False


@dataclass(frozen=True)
class DealReopen:
    """``/deal reopen 5 [stage]``: explicit, so it needs no confirmation."""

    deal: DealRef
    stage: StageRef | None = None


@dataclass(frozen=True)
class DealCancel:
    """The Cancel button of a confirmation: nothing changes."""

    deal: DealRef


@dataclass(frozen=True)
class DealRenewalCreate:
    """The "Create its renewal deal" button after a win (domain.renewals)."""

    deal: DealRef


@dataclass(frozen=True)
class DealSet:
    deal: DealRef
    amount: Amount | None = None
    currency: str | None = None  # ``currency:USD``: switch the deal's currency explicitly
    close: date | None = None
    owner: UserRef | None = None
    title: str | None = None
    company: str | None = None
    custom: tuple[tuple[str, str], ...] = ()  # custom fields: (key, raw text) (issue 15)


@dataclass(frozen=True)
class DealRenewal:
    deal: DealRef
    date: date | None = None
    mrr: Amount | None = None


@dataclass(frozen=True)
class DealNote:
    deal: DealRef
    text: str


@dataclass(frozen=True)
class DealShow:
    deal: DealRef


@dataclass(frozen=True)
class DealList:
    mine: bool = False
    owner: UserRef | None = None
    stage: StageRef | None = None
    pipeline: str | None = None
    stalled: bool = False
    close: str | None = None  # this-month, next-month, this-quarter, overdue (issue 13)
    sort: str | None = None  # amount, close, age (the default: stalled first, oldest in stage)
    offset: int = 0  # the page's first row (Next/Previous buttons)
    custom: tuple[tuple[str, str, str], ...] = ()  # custom fields: (key, op, raw) (issue 15)


@dataclass(frozen=True)
class DealFind:
    query: str


@dataclass(frozen=True)
class DealSnooze:
    deal: DealRef
    until: date


# --- /pipeline -------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineBoard:
    name: str | None = None


@dataclass(frozen=True)
class PipelineForecast:
    by: str = "month"  # "month" | "quarter"
    pipeline: str | None = None
    owner: UserRef | None = None  # one rep's forecast: /pipeline forecast @lee (issue 13)


@dataclass(frozen=True)
class Period:
    """A reporting window. ``days`` for ``90d``; ``start``/``end`` for quarters."""

    days: int | None = None
    start: date | None = None
    end: date | None = None  # exclusive
    label: str = ""


@dataclass(frozen=True)
class PipelineMetrics:
    pipeline: str | None = None
    period: Period | None = None
    owner: UserRef | None = None


@dataclass(frozen=True)
class PipelinePlan:
    target: Amount
    reps: int | None = None
    period: Period | None = None
    avg: Amount | None = None
    winrate: Decimal | None = None  # a share, 0 < winrate <= 1


@dataclass(frozen=True)
class PipelineNew:
    pass


@dataclass(frozen=True)
class PipelineEdit:
    name: str


@dataclass(frozen=True)
class PipelineSettings:
    """``/pipeline settings`` opens the form; with ``key:value`` pairs (``timezone:Asia/Seoul
    language:en``) it changes those settings at once. ``changes``: (setting, text) in order."""

    changes: tuple[tuple[str, str], ...] = ()
    # ``rate:USD=1380``: one USD is 1,380 of the workspace currency (None: remove the rate)
    rate: tuple[str, Decimal | None] | None = None


@dataclass(frozen=True)
class PipelineCoach:
    """``/pipeline coach [me|@user|team]``: ``user`` None and ``team`` False is me."""

    user: UserRef | None = None
    team: bool = False


@dataclass(frozen=True)
class PipelineQuota:
    """``/pipeline quota @lee 3억 period:2027-Q1`` (``team`` for the team's target)."""

    amount: Amount
    user: UserRef | None = None  # None: the team
    period: Period | None = None  # None: this quarter


@dataclass(frozen=True)
class PipelineCalibrate:
    """``/pipeline calibrate Proposal pipeline:"New business"``: apply the measured value."""

    stage: str
    pipeline: str | None = None


@dataclass(frozen=True)
class PipelineCadence:
    """``/pipeline cadence Contact [pipeline:Renewals]``: the stage's cadence editor."""

    stage: str
    pipeline: str | None = None


@dataclass(frozen=True)
class PipelineWorkflows:
    """``/pipeline workflows``: the workflows modal."""


@dataclass(frozen=True)
class PipelineImport:
    """``/pipeline import``: the import modal (issue 15; bot.listeners.imports)."""


@dataclass(frozen=True)
class Role:
    """``/pipeline role @user manager`` (admins only)."""

    user: UserRef
    role: str


# --- /task (issue 14) ------------------------------------------------------------------


@dataclass(frozen=True)
class TaskNew:
    text: str | None  # None with no other arguments: open the modal
    due: Due | None = None  # None: tomorrow 09:00 (domain.due_times.DEFAULT_DUE)
    deal: DealRef | None = None
    lead: LeadRef | None = None
    owner: UserRef | None = None  # None: the one who asks
    kind: str | None = None  # None: read from the text ("call", "콜" -> call), else todo


@dataclass(frozen=True)
class TaskList:
    mine: bool = False
    owner: UserRef | None = None
    deal: DealRef | None = None
    window: str | None = None  # "overdue" | "today" | "week" | None (every open task)


@dataclass(frozen=True)
class TaskDone:
    number: int


@dataclass(frozen=True)
class TaskSnooze:
    number: int
    due: Due


@dataclass(frozen=True)
class TaskShow:
    number: int


@dataclass(frozen=True)
class TaskMorning:
    on: bool


# --- /company, /person and exports (issue 15, points 5-6) ----------------------


@dataclass(frozen=True)
class CompanyShow:
    query: str


@dataclass(frozen=True)
class CompanyFind:
    query: str


@dataclass(frozen=True)
class PersonShow:
    query: str


@dataclass(frozen=True)
class DealExport:
    filters: DealList = field(default_factory=DealList)


@dataclass(frozen=True)
class LeadExport:
    filters: LeadList = field(default_factory=LeadList)


@dataclass(frozen=True)
class PipelineInbound:
    """``/pipeline inbound [rotate] [channel:#leads] [assign:round-robin|claim]``: the inbound
    lead endpoint (docs/inbound.md). ``round_robin`` None: unchanged."""

    rotate: bool = False
    channel: str | None = None
    round_robin: bool | None = None


# --- issue 15: qualification and lead scoring ----------------------------------------


@dataclass(frozen=True)
class DealQualify:
    """``/deal qualify 42 budget authority -need``; nothing to tick or untick opens the
    checkboxes."""

    deal: DealRef
    tick: frozenset[str] = frozenset()
    untick: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PipelineScoring:
    """``/pipeline scoring``: the lead-scoring rules modal (admins)."""


@dataclass(frozen=True)
class LeadNote:
    """``/lead note L7 Called, wants a demo``: a note on the lead (scored as activity)."""

    lead: LeadRef
    text: str


@dataclass(frozen=True)
class LeadSet:
    """``/lead set L7 title:CTO size:120 industry:제조``: built-in fields and custom fields."""

    lead: LeadRef
    name: str | None = None
    email: str | None = None
    source: str | None = None
    size: int | None = None
    title: str | None = None
    custom: tuple[tuple[str, str], ...] = ()  # custom fields: (key, raw text)


# --- custom fields (issue 15, point 1) --------------------------------------------------


@dataclass(frozen=True)
class PipelineFieldNew:
    """``/pipeline field new "Budget" type:money for:deal options:a,b required:Proposal``."""

    name: str
    kind: str
    entity: str = "deals"
    key: str | None = None
    options: tuple[str, ...] = ()
    pipeline: str | None = None
    required: str | None = None


@dataclass(frozen=True)
class PipelineFields:
    """``/pipeline fields [for:lead]``: the list, with Edit buttons (the modal)."""

    entity: str | None = None  # None: every entity


Command = (
    Help
    | LeadNew
    | LeadStatus
    | LeadConvert
    | LeadList
    | LeadShow
    | DealNew
    | DealMove
    | DealWon
    | DealLost
    | DealSet
    | DealRenewal
    | DealReopen
    | DealCancel
    | DealRenewalCreate
    | DealNote
    | DealShow
    | DealList
    | DealFind
    | DealSnooze
    | PipelineBoard
    | PipelineForecast
    | PipelineMetrics
    | PipelinePlan
    | PipelineNew
    | PipelineEdit
    | PipelineSettings
    | Role
    | PipelineCoach
    | PipelineQuota
    | PipelineCalibrate
    | TaskNew
    | TaskList
    | TaskDone
    | TaskSnooze
    | TaskShow
    | TaskMorning
    | CompanyShow
    | CompanyFind
    | PersonShow
    | DealExport
    | LeadExport
    | PipelineImport
    | PipelineInbound
    | DealQualify
    | PipelineScoring
    | LeadNote
    | LeadSet
    | PipelineFieldNew
    | PipelineFields
)


__all__ = ["Command", "field"]
