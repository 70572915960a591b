"""Leads that arrive by themselves: a workspace's endpoint, its web form, and what a new
inbound lead sets going (docs/inbound.md).

**The endpoint.** ``/pipeline inbound`` turns it on: an :class:`InboundSource` with a public
``key`` (the URLs ``POST /leads/<key>`` and ``GET /forms/<key>``) and a secret shown once.
Only the secret's SHA-256 is stored; a sender's secret is hashed and compared in constant
time (:func:`secret_matches`). The secret is 32 random bytes, so a fast hash is enough: there
is no password to guess. Rotating makes a new one; the old one stops working at once.

**The form.** A page cannot keep a secret, so the hosted form carries a *form token*: the
time the page was served, signed with the source's ``form_key`` (HMAC-SHA256, never shown).
A token is good for :data:`FORM_TOKEN_AGE`; form posts have their own, stricter bucket.

**Rate limits** are token buckets in the database (:func:`take`): the source row is locked
(``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` serialises anyway) for the whole submission,
so every replica counts against the same bucket, exactly. A limited post stores nothing and
is answered 429 with the seconds until the next token.

**Retries.** A sender's ``Idempotency-Key`` names the submission; without one, the same
payload within :data:`RETRY_WINDOW` is the same submission. Either way a retry answers the
lead that was made, takes no token and posts nothing again; a key sent again with other
fields is a mistake the sender hears about (:class:`~domain.errors.Conflict`). Checking and storing happen
under the source's lock, and the retry key is unique per workspace besides.

**A new lead** is a lead like any other (:func:`domain.leads.create_lead`, so the "lead
created" workflows run), owned by nobody — or by the next rep in turn when the source says
round-robin — and recorded with what the sender gave beyond a lead's own fields. Duplicates
by email or company are looked up before it is stored.

What people then do with the lead, and how fast (speed to lead), is
:mod:`domain.inbound_touch`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from domain import custom_fields, lead_scores
from domain import leads as lead_ops
from domain.errors import Conflict
from domain.workspaces import require_admin
from storage.models import (
    Company,
    Deal,
    InboundLead,
    InboundSource,
    Lead,
    Member,
    Person,
    Role,
    Workspace,
)


@dataclass(frozen=True)
class Bucket:
    capacity: float  # tokens when full: the burst
    per_second: float  # refill rate


#: ``POST /leads/<key>`` with the secret: a burst of 60, then one a second (3,600 an hour).
API_BUCKET = Bucket(capacity=60, per_second=1.0)
#: The web form: a burst of 20, then one every 6 seconds (600 an hour).
FORM_BUCKET = Bucket(capacity=20, per_second=1 / 6)
RETRY_WINDOW = timedelta(minutes=10)
FORM_TOKEN_AGE = timedelta(days=1)
KEY_MAX = 255  # characters of an Idempotency-Key
JOB = "inbound"  # the outbox job of inbound lead posts


# ---------------------------------------------------------------- the source


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(source: InboundSource, given: str | None) -> bool:
    """Constant time, whatever ``given`` is."""
    return hmac.compare_digest(hash_secret(given or ""), source.secret_hash)


def _new_secret() -> str:
    return "sbin_" + secrets.token_urlsafe(32)


def source_of(*, session: Session, workspace_id: int) -> InboundSource | None:
    return session.exec(
        select(InboundSource).where(InboundSource.workspace_id == workspace_id)
    ).first()


def by_key(*, session: Session, key: str) -> InboundSource | None:
    if not key or len(key) > 32:
        return None
    return session.exec(select(InboundSource).where(InboundSource.key == key)).first()


def enable(
    *, session: Session, workspace: Workspace, actor: Member, now: datetime
) -> tuple[InboundSource, str | None]:
    """The workspace's source, made now if it had none; the secret only when made now."""
    require_admin(actor)
    source = source_of(session=session, workspace_id=workspace.id)
    if source is not None:
        return source, None
    secret = _new_secret()
    source = InboundSource(
        workspace_id=workspace.id,
        key=secrets.token_urlsafe(12),
        secret_hash=hash_secret(secret),
        form_key=secrets.token_hex(32),
        api_tokens=API_BUCKET.capacity,
        api_at=now,
        form_tokens=FORM_BUCKET.capacity,
        form_at=now,
        rotated_at=now,
        created_at=now,
    )
    session.add(source)
    session.flush()
    return source, secret


def rotate(
    *, session: Session, workspace: Workspace, actor: Member, now: datetime
) -> tuple[InboundSource, str]:
    """A new secret (shown once); the old one stops working when this commits."""
    source, secret = enable(session=session, workspace=workspace, actor=actor, now=now)
    if secret is None:
        secret = _new_secret()
        source.secret_hash = hash_secret(secret)
        source.rotated_at = now
        session.add(source)
        session.flush()
    return source, secret


def configure(
    *,
    session: Session,
    workspace: Workspace,
    actor: Member,
    now: datetime,
    channel: str | None = None,
    round_robin: bool | None = None,
) -> InboundSource:
    source, _ = enable(session=session, workspace=workspace, actor=actor, now=now)
    if channel is not None:
        source.channel = channel
    if round_robin is not None:
        source.round_robin = round_robin
    session.add(source)
    session.flush()
    return source


def channel_of(source: InboundSource, workspace: Workspace) -> str | None:
    """Where new inbound leads are posted: the source's channel, else the deals channel."""
    return source.channel or workspace.deals_channel


# ---------------------------------------------------------------- form tokens


def form_token(source: InboundSource, now: datetime) -> str:
    issued = str(int(now.timestamp()))
    return f"{issued}.{_sign(source, issued)}"


def form_token_valid(source: InboundSource, token: str | None, now: datetime) -> bool:
    issued, _, signature = (token or "").partition(".")
    if not (issued.isascii() and issued.isdigit() and len(issued) <= 12):
        return False
    if not hmac.compare_digest(_sign(source, issued), signature):
        return False
    age = now.timestamp() - int(issued)
    return -60 <= age <= FORM_TOKEN_AGE.total_seconds()


def _sign(source: InboundSource, issued: str) -> str:
    message = f"{source.key}:{issued}".encode()
    return hmac.new(source.form_key.encode(), message, hashlib.sha256).hexdigest()[:40]


# ---------------------------------------------------------------- submitting


@dataclass(frozen=True)
class Submission:
    """What a sender gave, read and checked (commands.inbound_fields): the lead's own
    fields (``name``, ``email``, ``company``, ``size``, ``source``) and the rest (``title``,
    ``phone``, ``notes``, and any other field, as text)."""

    lead: dict[str, Any]
    details: dict[str, str] = field(default_factory=dict)
    via: str = "api"  # api | form
    retry_key: str | None = None  # the sender's Idempotency-Key
    custom: dict[int, Any] = field(default_factory=dict)  # custom fields: {field id: value}

    @property
    def digest(self) -> str:
        given = [self.lead, self.details] + ([self.custom] if self.custom else [])
        body = json.dumps(given, sort_keys=True, default=str)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Accepted:
    lead: Lead
    inbound: InboundLead
    created: bool  # False: a retry of a submission already stored


class Limited(Exception):
    """The bucket is empty: nothing stored; try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def submit(*, session: Session, source_id: int, submission: Submission, now: datetime) -> Accepted:
    """Store one submission (see the module docstring); :class:`Limited` when the bucket
    is empty. The caller posts the new lead in the same transaction (:data:`JOB`)."""
    source = session.exec(
        select(InboundSource).where(InboundSource.id == source_id).with_for_update()
    ).one()
    digest = submission.digest
    retry_key = _retry_key(submission, digest, now)
    known = _known(session, source.workspace_id, retry_key, submission, digest, now)
    if known is not None:
        if submission.retry_key and known.digest != digest:
            raise Conflict("inbound.key_reused")
        lead = session.get(Lead, known.lead_id)
        return Accepted(lead, known, created=False)
    take(source, submission.via, now)
    workspace = session.get(Workspace, source.workspace_id)
    values = submission.lead
    duplicates = find_duplicates(
        session=session,
        workspace_id=workspace.id,
        email=values.get("email"),
        company=values.get("company"),
    )
    owner = _next_rep(session, source) if source.round_robin else None
    lead = lead_ops.create_lead(
        session=session,
        workspace=workspace,
        actor=None,
        name=values["name"],
        now=now,
        company_name=values.get("company"),
        email=values.get("email"),
        source=values.get("source") or ("web form" if submission.via == "form" else None),
        size=values.get("size"),
        owner=owner,
        job_title=submission.details.get("title"),  # the title rules read it (issue 15)
    )
    _keep_phone(session, lead, submission.details.get("phone"))
    _keep_custom(session, workspace, lead, submission.custom, now)
    assigned_by = "rotation" if owner is not None else None
    if owner is None and lead.owner_id is not None:
        assigned_by = "workflow"  # a "lead created" workflow gave it an owner
    inbound = InboundLead(
        workspace_id=workspace.id,
        lead_id=lead.id,
        via=submission.via,
        retry_key=retry_key,
        digest=digest,
        details=json.dumps(submission.details, ensure_ascii=False),
        duplicates=json.dumps(duplicates),
        post_key=post_key(workspace.id, lead.id),
        assigned_by=assigned_by,
        received_at=now,
    )
    session.add_all([source, inbound])
    session.flush()
    return Accepted(lead, inbound, created=True)


def _keep_custom(session: Session, workspace: Workspace, lead: Lead, values, now) -> None:
    """The sender's custom fields for leads (checked already), and the lead scored again."""
    if values:
        custom_fields.write_imported(
            session=session, workspace=workspace, entity="leads", items=[(lead.id, values)]
        )
        lead_scores.lead_changed(session=session, lead=lead, now=now)


def _retry_key(submission: Submission, digest: str, now: datetime) -> str:
    if submission.retry_key:  # hashed: any length, and two long keys never share a prefix
        return "k:" + hashlib.sha256(submission.retry_key.encode("utf-8")).hexdigest()
    window = int(now.timestamp() // RETRY_WINDOW.total_seconds())
    return f"p:{digest}:{window}"


def _known(session, workspace_id, retry_key, submission, digest, now) -> InboundLead | None:
    """The submission this one repeats: the same retry key, or (without a sender's key) the
    same payload in the last :data:`RETRY_WINDOW`."""
    same = InboundLead.retry_key == retry_key
    if not submission.retry_key:
        recent = sa.and_(
            InboundLead.digest == digest, InboundLead.received_at >= now - RETRY_WINDOW
        )
        same = sa.or_(same, recent)
    return session.exec(
        select(InboundLead).where(InboundLead.workspace_id == workspace_id, same)
    ).first()


def take(source: InboundSource, via: str, now: datetime) -> None:
    """One token from the source's bucket for ``via``, refilled for the time gone by."""
    bucket, prefix = (FORM_BUCKET, "form") if via == "form" else (API_BUCKET, "api")
    tokens, at = getattr(source, f"{prefix}_tokens"), getattr(source, f"{prefix}_at")
    elapsed = max((now - at).total_seconds(), 0.0)
    tokens = min(bucket.capacity, tokens + elapsed * bucket.per_second)
    if tokens < 1:
        raise Limited(max(1, math.ceil((1 - tokens) / bucket.per_second)))
    setattr(source, f"{prefix}_tokens", tokens - 1)
    setattr(source, f"{prefix}_at", max(now, at))


def _next_rep(session: Session, source: InboundSource) -> Member | None:
    """The next rep in turn (by when they joined); None when the workspace has no rep."""
    reps = session.exec(
        select(Member)
        .where(Member.workspace_id == source.workspace_id, Member.role == Role.rep)
        .order_by(Member.id)
    ).all()
    if not reps:
        return None
    source.turn += 1
    return reps[(source.turn - 1) % len(reps)]


def _keep_phone(session: Session, lead: Lead, phone: str | None) -> None:
    person = session.get(Person, lead.person_id) if phone and lead.person_id else None
    if person is not None and not person.phone:
        person.phone = phone
        session.add(person)


def post_key(workspace_id: int, lead_id: int) -> str:
    from storage.outbox import outbox_key

    return outbox_key(job=JOB, workspace_id=workspace_id, target=f"l{lead_id}", period="new")


def find_duplicates(
    *, session: Session, workspace_id: int, email: str | None, company: str | None
) -> dict[str, list[str]]:
    """Leads with the same email; leads and deals of a company of the same name."""
    found: dict[str, list[str]] = {}
    if email:
        numbers = session.exec(
            select(Lead.number)
            .where(Lead.workspace_id == workspace_id, sa.func.lower(Lead.email) == email.lower())
            .order_by(Lead.number)
            .limit(5)
        ).all()
        if numbers:
            found["email"] = [f"L{n}" for n in numbers]
    if company:
        folded = sa.func.lower(Company.name) == sa.func.lower(sa.literal(company, sa.String))
        company_id = session.exec(
            select(Company.id).where(Company.workspace_id == workspace_id, folded)
        ).first()
        if company_id is not None:
            leads = session.exec(
                select(Lead.number)
                .where(Lead.company_id == company_id)
                .order_by(Lead.number)
                .limit(5)
            ).all()
            deals = session.exec(
                select(Deal.number)
                .where(Deal.company_id == company_id)
                .order_by(Deal.number)
                .limit(5)
            ).all()
            refs = [f"L{n}" for n in leads] + [f"D{n}" for n in deals]
            if refs:
                found["company"] = refs
    return found
