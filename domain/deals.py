"""Deals: create, move, edit, note, and the thread conversation.

Every change returns a :class:`Change` saying who did what, so the adapter can update the
deal's card and reply in its thread without knowing the rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from domain import close_counters, counters, custom_fields
from domain.errors import InvalidInput, NotAllowed
from domain.refs import find_pipeline, match_stage, stages_of
from domain.stall import stalled_since
from domain.workspaces import can_manage_any_deal
from storage.models import (
    Activity,
    Company,
    Deal,
    Member,
    Outcome,
    Person,
    Pipeline,
    Stage,
    StageHistory,
    Workspace,
)

MAX_AMOUNT = Decimal(10) ** 15
MAX_TITLE = 200
MAX_NAME = 200  # company.name, person.name


@dataclass
class Change:
    """One thing that happened to a deal; ``kind`` is an i18n key under ``deal.change``."""

    deal: Deal
    kind: str
    actor: Member
    params: dict[str, Any] = field(default_factory=dict)


def expected_revenue(amount: Decimal, probability: int) -> Decimal:
    """Amount × stage probability (docs/concepts.md): 7,590,000 at 50 % counts 3,795,000."""
    return (Decimal(amount) * Decimal(probability) / Decimal(100)).quantize(Decimal("0.01"))


def _check_amount(amount: Decimal | None) -> None:
    if amount is not None and not (0 <= amount < MAX_AMOUNT):
        raise InvalidInput("deal.bad_amount", value=str(amount))


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("deal.title_required", usage="deal_new")
    if len(title) > MAX_TITLE:
        raise InvalidInput("deal.title_too_long", limit=MAX_TITLE)
    return title


def _next_number(session: Session, workspace_id: int, column) -> int:
    """Per-workspace numbers, allocated atomically by the database."""
    return session.execute(
        sa.update(Workspace)
        .where(Workspace.id == workspace_id)
        .values({column: column + 1})
        .returning(column)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def get_or_create_company(*, session: Session, workspace_id: int, name: str | None):
    """The workspace's company called ``name`` (case aside), created if there is none.

    The name is trimmed once and that one string is looked up and stored: first as written
    (what the unique constraint compares), then case-insensitively with the database folding
    both sides (SQLite's ``lower()`` folds ASCII only, Python's folds ``Ä`` too). A name
    longer than the column is refused, never cut: two names sharing their first 200
    characters would otherwise be stored as one and looked up as two.
    """
    name = _entity_name(name, "deal.company_too_long")
    if name is None:
        return None
    company = _named(session, Company, name, Company.workspace_id == workspace_id)
    if company is None:
        company = Company(workspace_id=workspace_id, name=name)
        session.add(company)
        session.flush()
    return company


def get_or_create_person(
    *, session: Session, workspace_id: int, name: str | None, company_id: int | None, email=None
):
    """The company's contact called ``name``, created if there is none (as companies are)."""
    name = _entity_name(name, "deal.contact_too_long")
    if name is None:
        return None
    person = _named(
        session,
        Person,
        name,
        Person.workspace_id == workspace_id,
        Person.company_id == company_id,
    )
    if person is None:
        person = Person(workspace_id=workspace_id, name=name, company_id=company_id)
        person.email = email
        session.add(person)
        session.flush()
    return person


def _entity_name(name: str | None, too_long: str) -> str | None:
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(too_long, limit=MAX_NAME)
    return name or None


def _named(session: Session, table, name: str, *where):
    """The row called exactly ``name``, else one whose name folds to the same."""
    exact = session.exec(select(table).where(*where, table.name == name)).first()
    if exact is not None:
        return exact
    folded = sa.func.lower(table.name) == sa.func.lower(sa.literal(name, sa.String))
    return session.exec(select(table).where(*where, folded).order_by(table.id)).first()


def _activity(session, deal: Deal, kind: str, actor: Member | None, at: datetime, **params):
    session.add(
        Activity(
            workspace_id=deal.workspace_id,
            deal_id=deal.id,
            kind=kind,
            text=json.dumps(params, ensure_ascii=False, default=str),
            author_id=actor.id if actor else None,
            at=at,
        )
    )


def create_deal(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member,
    title: str,
    now: datetime,
    amount: Decimal | None = None,
    currency: str | None = None,
    pipeline_name: str | None = None,
    stage_text: str | None = None,
    close: date | None = None,
    owner: Member | None = None,
    company_name: str | None = None,
    contact_name: str | None = None,
    lead_id: int | None = None,
) -> Change:
    title = _check_title(title)
    _check_amount(amount)
    pipeline = find_pipeline(session=session, workspace_id=workspace.id, name=pipeline_name)
    stages = stages_of(session=session, pipeline_id=pipeline.id)
    stage = match_stage(stages, stage_text) if stage_text else _first_open(stages)
    company = get_or_create_company(session=session, workspace_id=workspace.id, name=company_name)
    person = get_or_create_person(
        session=session,
        workspace_id=workspace.id,
        name=contact_name,
        company_id=company.id if company else None,
    )
    deal = Deal(
        workspace_id=workspace.id,
        number=_next_number(session, workspace.id, Workspace.next_deal_number),
        title=title,
        amount=amount if amount is not None else Decimal(0),
        currency=(currency or workspace.currency).upper(),
        owner_id=(owner or actor).id,
        company_id=company.id if company else None,
        person_id=person.id if person else None,
        pipeline_id=pipeline.id,
        stage_id=stage.id,
        stage_entered_at=now,
        expected_close=close,
        closed_at=now if stage.outcome != Outcome.open else None,
        created_at=now,
        updated_at=now,
        stalled_since=stalled_since(now, stage.stall_days),
    )
    session.add(deal)
    session.flush()
    counters.shift(session, after=[counters.place(deal)])
    close_counters.shift(session, after=[close_counters.close(deal, [stage.id])])
    history = StageHistory(
        workspace_id=workspace.id,
        deal_id=deal.id,
        from_stage_id=None,
        to_stage_id=stage.id,
        by_member_id=actor.id,
        at=now,
    )
    session.add(history)
    _activity(session, deal, "created", actor, now, stage=stage.name)
    session.flush()
    _entered(session, deal, history, stage, actor, now)
    return Change(deal=deal, kind="created", actor=actor, params={"stage": stage.name})


def _entered(session, deal, history, target, actor, now, source=None) -> None:
    """Every path into a stage ends here: the stage's cadence and the workflows
    (:mod:`domain.automation`; imported late, since its actions create deals too)."""
    from domain import automation

    automation.stage_entered(
        session=session,
        deal=deal,
        history=history,
        target=target,
        actor=actor,
        now=now,
        source=source,
    )


def _first_open(stages: list[Stage]) -> Stage:
    for stage in stages:
        if stage.outcome == Outcome.open:
            return stage
    return stages[0]


def require_can_change(actor: Member, deal: Deal) -> None:
    """Reps change their own deals; managers and admins any (docs/concepts.md#roles)."""
    if deal.owner_id != actor.id and not can_manage_any_deal(actor):
        raise NotAllowed("deal.not_yours", number=deal.number)


def lock_deal(session: Session, deal: Deal) -> Deal:
    """Re-read the deal under a row lock so concurrent moves serialise.

    PostgreSQL takes ``FOR UPDATE``; SQLite already holds the write lock (BEGIN IMMEDIATE).
    """
    return session.exec(
        select(Deal)
        .where(Deal.id == deal.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def move_deal(
    *,
    session: Session,
    actor: Member,
    deal: Deal,
    stage_text: str | None = None,
    stage_id: int | None = None,
    now: datetime,
    lost_reason: str | None = None,
    require_fields: bool = True,
) -> Change:
    """Move the deal into a stage (by name or id), ending its current stay and opening one.

    The move happens at ``now``, or, when another move of this deal committed a later time
    while this one waited for the row lock, at that time: the handler read its clock before
    the lock, so two concurrent moves can hold their times in the opposite order of their
    turns. Taking ``max(now, stage_entered_at)`` of the locked deal means a stay never ends
    before it began and ``stage_entered_at`` is always the open stay's ``at``, whatever the
    clocks of concurrent requests (or replicas) say. A fixed clock in tests still moves at
    exactly the time it gives, since time only moves forward within one deal.
    """
    deal = lock_deal(session, deal)
    now = max(now, deal.stage_entered_at)
    require_can_change(actor, deal)
    stages = stages_of(session=session, pipeline_id=deal.pipeline_id)
    if stage_id is not None:
        matches = [s for s in stages if s.id == stage_id]
        if not matches:
            raise InvalidInput("deal.stage_not_in_pipeline")
        target = matches[0]
    else:
        target = match_stage(stages, stage_text or "")
    if target.id == deal.stage_id:
        raise InvalidInput("deal.already_in_stage", number=deal.number, stage=target.name)
    if require_fields:  # custom fields required from a stage (imports bring their own history)
        custom_fields.require_for_stage(session=session, deal=deal, target=target, stages=stages)
    source = next(s for s in stages if s.id == deal.stage_id)
    was = counters.place(deal)
    closing = deal.closed_at is not None or target.outcome != Outcome.open
    been = close_counters.reached(session, deal.id) if closing else frozenset()
    closed = close_counters.close(deal, been)
    deal.stage_id = target.id
    deal.stage_entered_at = now
    deal.stalled_since = stalled_since(now, target.stall_days)
    deal.snoozed_until = None
    deal.updated_at = now
    deal.version += 1
    if target.outcome == Outcome.open:
        deal.closed_at = None
        deal.lost_reason = None
    else:
        deal.closed_at = now
        reason = (lost_reason or "").strip()[:500] or None
        deal.lost_reason = reason if target.outcome == Outcome.lost else None
    session.add(deal)
    counters.shift(session, [was], [counters.place(deal)])
    close_counters.shift(session, [closed], [close_counters.close(deal, been | {target.id})])
    _close_stay(session, deal.id, target, stages, now)
    h = StageHistory
    history = StageHistory(
        workspace_id=deal.workspace_id,
        deal_id=deal.id,
        from_stage_id=source.id,
        to_stage_id=target.id,
        by_member_id=actor.id,
        at=now,
        prev_entry_at=session.execute(
            sa.select(sa.func.max(h.at)).where(h.deal_id == deal.id, h.to_stage_id == target.id)
        ).scalar(),
    )
    session.add(history)
    kind = {"won": "won", "lost": "lost"}.get(target.outcome, "moved")
    params = {"from": source.name, "to": target.name, "reason": deal.lost_reason or ""}
    _activity(session, deal, kind, actor, now, **params)
    session.flush()
    _entered(session, deal, history, target, actor, now, source)
    return Change(deal=deal, kind=kind, actor=actor, params=params)


def _close_stay(
    session: Session, deal_id: int, target: Stage, stages: list[Stage], now: datetime
) -> None:
    """Before a move into ``target``: end the deal's current stay and mark the earlier stays it
    progresses from — open stages of lower position (all of them when ``target`` is won; none
    when it is lost). The deal row is locked, so concurrent moves cannot interleave here.
    """
    h = StageHistory
    session.execute(
        sa.update(h).where(h.deal_id == deal_id, h.left_at.is_(None)).values(left_at=now),
        execution_options={"synchronize_session": False},
    )
    if target.outcome == Outcome.lost:
        return
    won = target.outcome == Outcome.won
    behind = [
        s.id for s in stages if s.outcome == Outcome.open and (won or s.position < target.position)
    ]
    if behind:
        session.execute(
            sa.update(h)
            .where(h.deal_id == deal_id, h.progressed.is_(False), h.to_stage_id.in_(behind))
            .values(progressed=True),
            execution_options={"synchronize_session": False},
        )


def close_deal(
    *, session: Session, actor: Member, deal: Deal, won: bool, now: datetime, reason=None
) -> Change:
    """Move to the pipeline's first won (or lost) stage."""
    stages = stages_of(session=session, pipeline_id=deal.pipeline_id)
    outcome = Outcome.won if won else Outcome.lost
    target = next((s for s in stages if s.outcome == outcome), None)
    if target is None:
        raise InvalidInput("deal.no_outcome_stage", outcome=outcome.value)
    return move_deal(
        session=session, actor=actor, deal=deal, stage_id=target.id, now=now, lost_reason=reason
    )


def deal_currency(
    deal: Deal, amount: Decimal | None, currency: str | None, switch_to: str | None
) -> str:
    """The currency ``deal`` has after ``/deal set``: changing it is an explicit act.

    An amount without a currency is in the deal's currency. An amount written in another
    currency (``$12,000`` on a won deal, ``1200만`` on a dollar deal) is refused unless the
    command also says ``currency:`` with that currency; ``currency:`` needs an amount in it
    (the old figure is not converted by guesswork).
    """
    have = deal.currency.upper()
    written = currency.upper() if currency else None
    wanted = switch_to.upper() if switch_to else None
    if wanted is None:
        if written is not None and written != have:
            raise InvalidInput(
                "money.other_currency", number=deal.number, have=have, written=written
            )
        return have
    if amount is None:
        raise InvalidInput("money.currency_needs_amount", currency=wanted)
    if written is not None and written != wanted:
        raise InvalidInput("money.currency_conflict", written=written, wanted=wanted)
    return wanted


def set_fields(
    *,
    session: Session,
    actor: Member,
    deal: Deal,
    now: datetime,
    amount: Decimal | None = None,
    currency: str | None = None,
    switch_to: str | None = None,
    close: date | None = None,
    owner: Member | None = None,
    title: str | None = None,
    company_name: str | None = None,
) -> Change:
    """``currency`` is the amount's own (``$``, ``만``; None: as written, no currency), and
    ``switch_to`` the explicit ``currency:`` of the command (:func:`deal_currency`)."""
    deal = lock_deal(session, deal)
    require_can_change(actor, deal)
    changes: dict[str, Any] = {}
    was = counters.place(deal)
    new_currency = deal_currency(deal, amount, currency, switch_to)
    if amount is not None and (amount != deal.amount or new_currency != deal.currency):
        _check_amount(amount)
        changes["amount"] = (deal.amount, amount)
        if new_currency != deal.currency:
            changes["currency"] = (deal.currency, new_currency)
        deal.amount = amount
        deal.currency = new_currency
    if close is not None and close != deal.expected_close:
        changes["close"] = (deal.expected_close, close)
        deal.expected_close = close
    if owner is not None and owner.id != deal.owner_id:
        changes["owner"] = (deal.owner_id, owner.id)
        deal.owner_id = owner.id
    if title is not None:
        new_title = _check_title(title)
        changes["title"] = (deal.title, new_title)
        deal.title = new_title
    if company_name is not None:
        company = get_or_create_company(
            session=session, workspace_id=deal.workspace_id, name=company_name
        )
        changes["company"] = (deal.company_id, company.id if company else None)
        deal.company_id = company.id if company else None
    if not changes:
        asked = (amount, close, owner, title, company_name)
        if any(value is not None for value in asked):
            raise InvalidInput("deal.unchanged", number=deal.number)
        raise InvalidInput("deal.nothing_to_set", usage="deal_set")
    deal.updated_at = now
    deal.version += 1
    session.add(deal)
    counters.shift(session, [was], [counters.place(deal)])
    old_cur, new_cur = changes.get("currency", (deal.currency, deal.currency))
    for key, (old, new) in changes.items():
        if key == "amount":  # the row keeps both currencies: never redrawn in another one
            _activity(
                session, deal, key, actor, now, old=old, new=new,
                old_currency=old_cur, new_currency=new_cur,
            )  # fmt: skip
        elif key != "currency":
            _activity(session, deal, key, actor, now, old=old, new=new)
    session.flush()
    return Change(deal=deal, kind="updated", actor=actor, params={"fields": changes})


def set_renewal(
    *,
    session: Session,
    actor: Member,
    deal: Deal,
    now: datetime,
    renewal_date: date | None = None,
    mrr: Decimal | None = None,
    mrr_currency: str | None = None,
) -> Change:
    deal = lock_deal(session, deal)
    require_can_change(actor, deal)
    deal_currency(deal, mrr, mrr_currency, None)  # the MRR is in the deal's currency
    if renewal_date is None and mrr is None:
        raise InvalidInput("deal.renewal_needs_value", usage="deal_renewal")
    _check_amount(mrr)
    if renewal_date is not None:
        deal.renewal_date = renewal_date
    if mrr is not None:
        deal.mrr = mrr
    deal.updated_at = now
    session.add(deal)
    _activity(
        session, deal, "renewal", actor, now,
        date=deal.renewal_date, mrr=deal.mrr, currency=deal.currency,
    )  # fmt: skip
    session.flush()
    return Change(
        deal=deal, kind="renewal", actor=actor, params={"date": deal.renewal_date, "mrr": deal.mrr}
    )


def snooze(
    *, session: Session, actor: Member, deal: Deal, until: date, today: date, now: datetime
) -> Change:
    """No stall warning for this deal before ``until`` (a local date); open deals only."""
    require_can_change(actor, deal)
    if deal.closed_at is not None:
        stage = session.get(Stage, deal.stage_id)
        raise InvalidInput("sales.snooze.closed", ref=f"D{deal.number}", stage=stage.name)
    if until <= today:
        raise InvalidInput("deal.snooze_past", usage="deal_snooze")
    deal.snoozed_until = until
    session.add(deal)
    _activity(session, deal, "snoozed", actor, now, until=until)
    session.flush()
    return Change(deal=deal, kind="snoozed", actor=actor, params={"until": until})


MAX_NOTE = 3000


def checked_note(text: str, *, empty: str = "deal.note_empty", usage: str = "deal_note") -> str:
    """A note as stored: stripped, not empty, not longer than :data:`MAX_NOTE`."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(empty, usage=usage)
    if len(text) > MAX_NOTE:
        raise InvalidInput("deal.note_too_long", limit=MAX_NOTE)
    return text


def add_note(*, session: Session, actor: Member, deal: Deal, text: str, now: datetime) -> Change:
    """Anyone in the workspace may add a note: the team discusses deals together."""
    text = checked_note(text)
    session.add(
        Activity(
            workspace_id=deal.workspace_id,
            deal_id=deal.id,
            kind="note",
            text=text,
            author_id=actor.id,
            at=now,
        )
    )
    deal.updated_at = now
    session.add(deal)
    session.flush()
    from domain import lead_scores

    lead_scores.deal_activity(session=session, deal_id=deal.id, now=now)  # its lead's activity
    return Change(deal=deal, kind="note", actor=actor, params={"text": text})


def deal_by_thread(*, session: Session, workspace_id: int, channel: str, thread_ts: str):
    return session.exec(
        select(Deal).where(
            Deal.workspace_id == workspace_id,
            Deal.thread_ts == thread_ts,
            Deal.thread_channel == channel,
        )
    ).first()


def record_thread_message(
    *,
    session: Session,
    deal: Deal,
    author: Member | None,
    text: str,
    ts: str,
    at: datetime,
) -> bool:
    """Record a message from the deal's thread once, however often Slack delivers it.

    Returns True when it was new. The unique (workspace, slack_ts) makes the insert a
    no-op for a repeat, on SQLite and PostgreSQL alike, without a failed transaction.
    """
    values = {
        "workspace_id": deal.workspace_id,
        "deal_id": deal.id,
        "kind": "message",
        "text": (text or "")[:4000],
        "author_id": author.id if author else None,
        "slack_ts": ts,
        "at": at,
    }
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(Activity)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["workspace_id", "slack_ts"])
        .returning(Activity.id)
    )
    new = session.execute(stmt).first() is not None
    if new:
        from domain import lead_scores

        lead_scores.deal_activity(session=session, deal_id=deal.id, now=at)  # its lead's activity
    return new


def card_home(*, session: Session, deal_id: int) -> tuple[str, str] | None:
    """The deal's card (channel, ts): its home and thread; None before the card is posted."""
    row = session.execute(
        sa.select(Deal.thread_channel, Deal.thread_ts).where(Deal.id == deal_id)
    ).first()
    return (row[0], row[1]) if row and row[0] and row[1] else None


def record_card(*, session: Session, deal_id: int, home: tuple[str, str, str | None]) -> bool:
    """Remember where a deal's card was posted (channel, ts, permalink). A deal keeps its
    first card: a second never replaces it. True when this call set it."""
    channel, ts, permalink = home
    updated = session.execute(
        sa.update(Deal)
        .where(Deal.id == deal_id, Deal.thread_ts.is_(None))
        .values(thread_channel=channel, thread_ts=ts, thread_permalink=permalink)
        .returning(Deal.id)
        .execution_options(synchronize_session=False)
    ).first()
    return updated is not None


def timeline(*, session: Session, deal: Deal, limit: int = 10) -> list:
    """The deal's latest activities, newest first, as read-only rows (a Core select)."""
    session.flush()  # which does not autoflush
    return list(
        session.execute(
            sa.select(*Activity.__table__.columns)
            .where(Activity.deal_id == deal.id)
            .order_by(Activity.at.desc(), Activity.id.desc())
            .limit(limit)
        )
    )


def deal_stage(*, session: Session, deal: Deal) -> Stage:
    return session.get(Stage, deal.stage_id)


def deal_pipeline(*, session: Session, deal: Deal) -> Pipeline:
    return session.get(Pipeline, deal.pipeline_id)
