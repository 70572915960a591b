"""Importing rows: resolve them in the workspace, plan create/update/skip, write in batches.

**Plan.** :func:`plan` reads what the workspace already has once (members, pipelines,
companies, and the deals' keys), resolves each parsed row's owner, pipeline and stage, and
decides: *create*; *update* when a row with the same ``external_id`` exists — or, when the
file has no external id for the row, the same title (name) and company; *skip* when that
row would not change. A cell that does not resolve is a :class:`~commands.cells.CellError`
like a cell that does not parse. A blank cell leaves an existing value as it is.

**Write.** :func:`write_batch` writes one batch in the caller's transaction (the caller
commits per batch). Deals go in by ``COPY`` (PostgreSQL) or ``executemany`` (SQLite), their
first stays in one more statement, numbers taken as one block from the workspace counter.
Nothing is posted: an imported deal has no card until someone touches it, and then the
usual path posts it (``card_update`` and thread posts carry the card to post first).

**Resuming.** A crash between batches leaves the earlier batches committed; running the same
file again plans those rows as *skip* (or *update*) and creates only the rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from domain import automation, close_counters, counters, custom_fields, lead_scores
from domain import deals as deal_ops
from domain import names as default_names
from domain.errors import SalesbotError
from domain.fields import CellError, ParsedRow
from domain.refs import match_stage
from domain.stall import stalled_since
from storage import bulk
from storage.models import (
    Company,
    Deal,
    ImportRun,
    Lead,
    Member,
    Outcome,
    Person,
    Pipeline,
    PipelineKind,
    Role,
    Stage,
    StageHistory,
    Workspace,
)
from storage.types import utcnow

BATCH = 5000
_WON = {"won", "closed won", "성사", "수주"}
_LOST = {"lost", "closed lost", "실패", "실주"}
# What Korean teams call the default stages (GLOSSARY.md), for files exported from other CRMs.
STAGE_ALIASES = {
    "컨택": "Contact",
    "연락": "Contact",
    "검증": "Qualification",
    "자격 검증": "Qualification",
    "미팅": "Meeting",
    "제안": "Proposal",
    "협상": "Negotiation",
    "육성": "Nurturing",
    "전환": "Convert",
    "갱신 임박": "Renewal due",
}
_TABLES = {"deals": Deal, "leads": Lead, "companies": Company, "people": Person}


@dataclass
class Planned:
    row: int
    action: str  # "create" | "update" | "skip"
    values: dict[str, Any]  # column -> value for the entity's table (+ "company"/"contact")
    id: int | None = None
    reason: str | None = None  # catalog key of a skip


@dataclass
class Plan:
    entity: str
    rows: list[Planned] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def bad_rows(self) -> set[int]:
        return {e.row for e in self.errors}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- what the workspace has -----------------------------------------------------------------


class _Lookup:
    def __init__(self, session: Session, workspace: Workspace, entity: str):
        ws = workspace.id
        self.session, self.workspace, self.entity = session, workspace, entity
        self.members = session.exec(select(Member).where(Member.workspace_id == ws)).all()
        kind = PipelineKind.lead if entity == "leads" else PipelineKind.deal
        self.pipelines = session.exec(
            select(Pipeline)
            .where(Pipeline.workspace_id == ws, Pipeline.kind == kind)
            .order_by(Pipeline.position, Pipeline.id)
        ).all()
        stages = session.exec(
            select(Stage).where(Stage.workspace_id == ws).order_by(Stage.position, Stage.id)
        ).all()
        self.stages: dict[int, list[Stage]] = {}
        for stage in stages:
            self.stages.setdefault(stage.pipeline_id, []).append(stage)
        self.companies: dict[str, int] = {}
        self.company_names: dict[int, str] = {}
        for cid, name in session.execute(
            sa.select(Company.id, Company.name).where(Company.workspace_id == ws)
        ):
            self.companies.setdefault(name.casefold(), cid)
            self.company_names[cid] = name
        self.people: dict[tuple[int | None, str], int] = {}
        self.person_names: dict[int, str] = {}
        if entity in ("deals", "people"):
            for pid, name, cid in session.execute(
                sa.select(Person.id, Person.name, Person.company_id).where(
                    Person.workspace_id == ws
                )
            ):
                self.people.setdefault((cid, name.casefold()), pid)
                self.person_names[pid] = name

        self._cache: dict[tuple, Any] = {}

    def cached(self, kind: str, fn, *args):
        """``fn(*args)`` once per distinct arguments: a file names the same few owners,
        pipelines and stages on every row. Errors are cached too."""
        key = (kind, *(getattr(a, "id", a) for a in args))
        if key not in self._cache:
            try:
                self._cache[key] = (fn(*args), None)
            except SalesbotError as exc:
                self._cache[key] = (None, exc)
        value, error = self._cache[key]
        if error is not None:
            raise error
        return value

    def default_pipeline(self) -> Pipeline:
        return next((p for p in self.pipelines if p.is_default), self.pipelines[0])

    def pipeline(self, text: str | None) -> Pipeline:
        if not text:
            return self.default_pipeline()
        wanted = text.strip().casefold()
        for p in self.pipelines:
            if p.name.casefold() == wanted:
                return p
        same = default_names.aliases(text)  # a default pipeline by its name in the other language
        for p in self.pipelines:
            if default_names.key(p.name) in same:
                return p
        raise SalesbotError(
            "import.unknown_pipeline", value=text, names=", ".join(p.name for p in self.pipelines)
        )

    def stage(self, pipeline: Pipeline, text: str | None) -> Stage:
        stages = self.stages[pipeline.id]
        if not text:
            return next((s for s in stages if s.outcome == Outcome.open), stages[0])
        word = text.strip().casefold()
        for outcome, words in ((Outcome.won, _WON), (Outcome.lost, _LOST)):
            if word in words and not any(s.name.casefold() == word for s in stages):
                found = next((s for s in stages if s.outcome == outcome), None)
                if found is not None:
                    return found
        alias = STAGE_ALIASES.get(" ".join(word.split()), "").casefold()
        exact = [s for s in stages if s.name.casefold() in (word, alias)]
        if exact:
            return exact[0]
        same = default_names.aliases(text)  # a default stage by its name in the other language
        exact = [s for s in stages if default_names.key(s.name) in same]
        if exact:
            return exact[0]
        try:
            return match_stage(stages, text)
        except SalesbotError:
            names = ", ".join(s.name for s in stages)
            raise SalesbotError("import.unknown_stage", value=text, stages=names) from None

    def member(self, text: str | None, actor: Member | None) -> int | None:
        if not text:
            return actor.id if actor else None
        value = text.strip().removeprefix("@")
        if value.startswith("<@") and value.endswith(">"):
            value = value[2:-1].split("|")[0]
        folded = value.casefold()
        if "@" in value:
            found = [m for m in self.members if (m.email or "").casefold() == folded]
        else:
            found = [m for m in self.members if m.slack_user_id == value]
            if not found:
                found = [m for m in self.members if (m.name or "").casefold() == folded]
        if len(found) == 1:
            return found[0].id
        if len(found) > 1:
            raise SalesbotError("import.ambiguous_owner", value=text)
        if _is_slack_id(value):  # Slack vouches for the id: a colleague who has not used us yet
            member = Member(
                workspace_id=self.workspace.id, slack_user_id=value, name=value, role=Role.rep
            )
            self.session.add(member)
            self.session.flush()
            self.members.append(member)
            return member.id
        raise SalesbotError("import.unknown_owner", value=text)


def _is_slack_id(text: str) -> bool:
    return len(text) <= 32 and text[:1] in ("U", "W") and text.isalnum() and text.isupper()


# --- planning --------------------------------------------------------------------------------


def plan(
    *,
    session: Session,
    workspace: Workspace,
    entity: str,
    rows: list[ParsedRow],
    errors: list[CellError],
    columns: dict[str, str],
    actor: Member | None,
) -> Plan:
    """Decide each row's fate. ``columns`` names the header each field came from (for the
    errors); ``errors`` are the parse errors so far (their rows are not planned)."""
    look = _Lookup(session, workspace, entity)
    result = Plan(entity=entity, errors=list(errors))
    bad = {e.row for e in errors}
    resolve = {
        "deals": _resolve_deal,
        "leads": _resolve_lead,
        "companies": _resolve_company,
        "people": _resolve_person,
    }[entity]
    existing = _existing(session, workspace.id, entity, look)
    customs = _Customs(session, workspace, entity, existing)
    seen: dict[Any, int] = {}
    for parsed in rows:
        if parsed.row in bad:
            continue
        try:
            values = resolve(look, parsed.values, actor)
            values["_custom"] = customs.read(look, parsed.values)
        except _CellFailure as failure:
            result.errors.append(
                CellError(parsed.row, columns.get(failure.key, failure.key), *failure.error)
            )
            continue
        key = _identity(entity, values, look)
        if key in seen:
            column = columns.get("external_id") or columns.get(_NAME[entity], "")
            result.errors.append(
                CellError(parsed.row, column, "import.duplicate_row", {"other": seen[key]})
            )
            continue
        seen[key] = parsed.row
        current = existing.get(key)
        if current is None:
            result.rows.append(Planned(parsed.row, "create", values))
            continue
        changed = {
            k: v for k, v in values.items() if v is not None and current.get(k, v) != _cmp(k, v)
        }
        changed.pop("_custom", None)
        if customs.changed(current["id"], values["_custom"]):
            changed["_custom"] = values["_custom"]
        for key in values.get("_defaulted", ()):  # a blank cell leaves the value as it is
            changed.pop(key, None)
        changed.pop("_defaulted", None)
        if not changed:
            result.rows.append(Planned(parsed.row, "skip", values, current["id"], "unchanged"))
        else:
            result.rows.append(Planned(parsed.row, "update", changed, current["id"]))
    result.errors.sort(key=lambda e: (e.row, e.column))
    return result


_NAME = {"deals": "title", "leads": "name", "companies": "name", "people": "name"}


class _Customs:
    """A file's custom-field columns (issue 15): each cell checked and normalized as
    ``/deal set`` stores it (a bad one is a cell error), compared with what the row has so
    an unchanged row stays a skip."""

    def __init__(self, session: Session, workspace: Workspace, entity: str, existing: dict):
        self.currency = workspace.currency
        self.fields = custom_fields.fields(
            session=session, workspace_id=workspace.id, entity=entity
        )
        self.current: dict[int, dict[int, Any]] = {}
        ids = [row["id"] for row in existing.values()]
        for start in range(0, len(ids) if self.fields else 0, 5000):
            self.current.update(
                custom_fields.values_of(
                    session=session, fields=self.fields, record_ids=ids[start : start + 5000]
                )
            )

    def read(self, look: _Lookup, parsed: dict) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for spec in self.fields:
            value = parsed.get(spec.key)
            if value is None:
                continue
            if spec.kind == "member":
                member_id = _guard(spec.key, look.cached, "m", look.member, value, None)
                value = next(m.slack_user_id for m in look.members if m.id == member_id)
            out[spec.id] = _guard(spec.key, custom_fields.normalized, spec, value, self.currency)
        return out

    def changed(self, record_id: int, values: dict[int, Any]) -> bool:
        have = self.current.get(record_id, {})
        return any(have.get(fid) != value for fid, value in values.items())


def _cmp(key: str, value):
    return value.casefold() if key in ("company", "contact") and isinstance(value, str) else value


class _CellFailure(Exception):
    def __init__(self, key: str, error: SalesbotError):
        self.key = key
        self.error = (error.key, dict(error.params))


def _guard(key: str, fn, *args):
    try:
        return fn(*args)
    except SalesbotError as exc:
        raise _CellFailure(key, exc) from None


def _identity(entity: str, values: dict, look: _Lookup):
    if values.get("external_id"):
        return ("x", values["external_id"])
    name = values[_NAME[entity]].casefold()
    if entity in ("companies",):
        return ("n", name, "")
    return ("n", name, (values.get("company") or "").casefold())


def _resolve_deal(look: _Lookup, v: dict, actor: Member | None) -> dict:
    pipeline = _guard("pipeline", look.cached, "p", look.pipeline, v.get("pipeline"))
    stage = _guard("stage", look.cached, "s", look.stage, pipeline, v.get("stage"))
    owner = _guard("owner", look.cached, "m", look.member, v.get("owner"), actor)
    currency = v.get("currency") or v.get("amount_currency") or look.workspace.currency
    return {
        "external_id": v.get("external_id"),
        "title": v["title"],
        "amount": v.get("amount"),
        "currency": currency if (v.get("amount") is not None or v.get("currency")) else None,
        "pipeline_id": pipeline.id,
        "stage_id": stage.id,
        "_defaulted": _defaulted(v, stage_id=("stage", "pipeline"), owner_id=("owner",)),
        "owner_id": owner,
        "company": v.get("company"),
        "contact": v.get("contact"),
        "expected_close": v.get("close"),
        "lost_reason": v.get("lost_reason"),
        "created_at": v.get("created"),
    }


def _defaulted(v: dict, **sources: tuple[str, ...]) -> tuple[str, ...]:
    """The columns given a default because their cells were blank."""
    keys = [k for k, fields in sources.items() if not any(v.get(f) for f in fields)]
    if "stage_id" in keys:
        keys.append("pipeline_id")
    return tuple(keys)


def _resolve_lead(look: _Lookup, v: dict, actor: Member | None) -> dict:
    pipeline = look.default_pipeline()
    stage = _guard("status", look.cached, "s", look.stage, pipeline, v.get("status"))
    owner = _guard("owner", look.cached, "m", look.member, v.get("owner"), actor)
    return {
        "external_id": v.get("external_id"),
        "name": v["name"],
        "status_id": stage.id,
        "_defaulted": _defaulted(v, status_id=("status",), owner_id=("owner",)),
        "source": v.get("source"),
        "email": v.get("email"),
        "company": v.get("company"),
        "company_size": v.get("size"),
        "owner_id": owner,
        "created_at": v.get("created"),
    }


def _resolve_company(look: _Lookup, v: dict, actor: Member | None) -> dict:
    return {"external_id": v.get("external_id"), "name": v["name"], "employees": v.get("employees")}


def _resolve_person(look: _Lookup, v: dict, actor: Member | None) -> dict:
    return {
        "external_id": v.get("external_id"),
        "name": v["name"],
        "email": v.get("email"),
        "phone": v.get("phone"),
        "company": v.get("company"),
    }


def _existing(session: Session, ws: int, entity: str, look: _Lookup) -> dict[Any, dict]:
    """Every existing row of the entity by its identity, with the values a row compares to."""
    table = _TABLES[entity]
    columns = {
        "deals": ("title", "amount", "currency", "pipeline_id", "stage_id", "owner_id")
        + ("company_id", "person_id", "expected_close", "lost_reason", "created_at"),
        "leads": ("name", "status_id", "source", "email", "company_id", "company_size")
        + ("owner_id", "created_at"),
        "companies": ("name", "employees"),
        "people": ("name", "email", "phone", "company_id"),
    }[entity]
    query = sa.select(table.id, table.external_id, *(getattr(table, c) for c in columns)).where(
        table.workspace_id == ws
    )
    found: dict[Any, dict] = {}
    for row in session.execute(query):
        current = dict(row._mapping)
        company_id = current.pop("company_id", None)
        company = look.company_names.get(company_id, "") if company_id else ""
        if entity != "companies":
            current["company"] = company.casefold() if company else None
        person_id = current.pop("person_id", None)
        if entity == "deals":
            name = look.person_names.get(person_id) if person_id else None
            current["contact"] = name.casefold() if name else None
        if current["external_id"]:
            found.setdefault(("x", current["external_id"]), current)
        name = current[_NAME[entity]].casefold()
        found.setdefault(("n", name, "" if entity == "companies" else company.casefold()), current)
    return found


# --- runs ------------------------------------------------------------------------------------


def start_run(
    *,
    session: Session,
    workspace_id: int,
    entity: str,
    filename: str,
    digest: str,
    actor: Member | None,
    rows: int,
    now: datetime,
    run_id: int | None = None,
) -> ImportRun:
    """The run of this file: ``run_id`` (recorded before the file was read: a Slack import),
    else the unfinished one of the same file (resumed), else a new one."""
    if run_id is not None:
        run = session.get(ImportRun, run_id)
        run.digest, run.status = digest, "running"
    else:
        run = session.exec(
            select(ImportRun).where(
                ImportRun.workspace_id == workspace_id,
                ImportRun.digest == digest,
                ImportRun.entity == entity,
                ImportRun.status == "running",
            )
        ).first()
    if run is None:
        run = ImportRun(
            workspace_id=workspace_id,
            entity=entity,
            filename=filename[:255],
            digest=digest,
            by_member_id=actor.id if actor else None,
            started_at=now,
        )
    run.rows = rows
    session.add(run)
    session.flush()
    return run


def finish_run(*, session: Session, run_id: int, plan: Plan, now: datetime) -> ImportRun:
    run = session.get(ImportRun, run_id)
    run.status = "done"
    run.created = plan.count("create")
    run.updated = plan.count("update")
    run.skipped = plan.count("skip") + len(plan.bad_rows)
    run.finished_at = now
    session.add(run)
    return run


# --- writing ---------------------------------------------------------------------------------


class Names:
    """A run's companies and contacts by folded name, read once for the first batch and kept
    up to date as batches create them (a batch that fails ends the run, and with it this)."""

    def __init__(self) -> None:
        self.companies: dict[str, int] | None = None
        self.people: dict[tuple[int | None, str], int] | None = None

    def load(self, session: Session, ws: int) -> None:
        if self.companies is None:
            self.companies = {}
            query = sa.select(Company.id, Company.name).where(Company.workspace_id == ws)
            for cid, name in session.execute(query.order_by(Company.id)):
                self.companies.setdefault(name.casefold(), cid)
        if self.people is None:
            self.people = {}
            query = sa.select(Person.id, Person.name, Person.company_id).where(
                Person.workspace_id == ws
            )
            for pid, name, cid in session.execute(query.order_by(Person.id)):
                self.people.setdefault((cid, name.casefold()), pid)


def write_batch(
    *,
    session: Session,
    workspace: Workspace,
    entity: str,
    rows: list[Planned],
    run_id: int,
    actor: Member | None,
    now: datetime,
    names: Names | None = None,
) -> None:
    """Write one batch of planned rows (creates and updates) in the caller's transaction."""
    names = names or Names()
    names.load(session, workspace.id)
    look = _Lookup.__new__(_Lookup)  # only the name maps
    look.session, look.workspace = session, workspace
    look.companies = _companies(session, workspace.id, rows, names.companies)
    look.people = names.people
    creates = [r for r in rows if r.action == "create"]
    updates = [r for r in rows if r.action == "update"]
    if entity == "companies":
        _write_companies(session, workspace.id, creates, updates, now)
    elif entity == "people":
        _write_people(session, workspace.id, look, creates, updates, now)
    elif entity == "leads":
        _write_leads(session, workspace, look, creates, updates, now)
    else:
        _write_deals(session, workspace, look, creates, updates, run_id, actor, now)
    custom_fields.write_imported(
        session=session,
        workspace=workspace,
        entity=entity,
        items=[(r.id, r.values.get("_custom") or {}) for r in creates + updates],
    )
    if entity == "leads" and creates + updates:  # scored now, crossings as history (no DMs)
        ids = [r.id for r in creates + updates]
        lead_scores.recompute(
            session=session, workspace=workspace, now=now, lead_ids=ids, act=False
        )


def _created_ids(creates: list[Planned], ids: list[int]) -> None:
    """The new rows' ids, for their custom values (custom_fields.write_imported)."""
    for r, new_id in zip(creates, ids, strict=True):
        r.id = new_id


def _companies(session: Session, ws: int, rows: list[Planned], found: dict) -> dict[str, int]:
    """The companies the batch names (``found``, completed with the missing ones)."""
    missing: dict[str, str] = {}
    for r in rows:
        name = r.values.get("company")
        if name and name.casefold() not in found:
            missing.setdefault(name.casefold(), name)
    if missing:
        new = [{"workspace_id": ws, "name": n, "created_at": utcnow()} for n in missing.values()]
        for cid, row in zip(bulk.insert(session, Company, new, ids=True), new, strict=True):
            found[row["name"].casefold()] = cid
    return found


def _people(session: Session, ws: int, pairs: set[tuple[int | None, str]], found: dict) -> dict:
    """Contacts by (company id, folded name), creating the missing ones."""
    missing = {}
    for cid, name in pairs:
        if (cid, name.casefold()) not in found:
            missing.setdefault((cid, name.casefold()), (cid, name))
    if missing:
        new = [
            {"workspace_id": ws, "name": n, "company_id": c, "created_at": utcnow()}
            for c, n in missing.values()
        ]
        for pid, row in zip(bulk.insert(session, Person, new, ids=True), new, strict=True):
            found[(row["company_id"], row["name"].casefold())] = pid
    return found


def _deal_columns(values: dict, look) -> dict:
    out = {k: v for k, v in values.items() if not k.startswith("_")}
    company = out.pop("company", None)
    out.pop("contact", None)
    if company is not None:
        out["company_id"] = look.companies[company.casefold()]
    return out


def _write_deals(session, workspace, look, creates, updates, run_id, actor, now) -> None:
    ws = workspace.id
    pairs = set()
    for r in creates + updates:
        if r.values.get("contact"):
            company = r.values.get("company")
            cid = look.companies[company.casefold()] if company else None
            pairs.add((cid, r.values["contact"]))
    people = _people(session, ws, pairs, look.people)
    stage_rows = session.execute(
        sa.select(Stage.id, Stage.outcome, Stage.stall_days).where(Stage.workspace_id == ws)
    ).all()
    outcomes = {sid: outcome for sid, outcome, _ in stage_rows}
    thresholds = {sid: days for sid, _, days in stage_rows}
    if creates:
        last = session.execute(
            sa.update(Workspace)
            .where(Workspace.id == ws)
            .values(next_deal_number=Workspace.next_deal_number + len(creates))
            .returning(Workspace.next_deal_number)
        ).scalar_one()
        params = []
        for number, r in zip(range(last - len(creates) + 1, last + 1), creates, strict=True):
            cols = _deal_columns(r.values, look)
            cols["person_id"] = _person_id(people, cols.get("company_id"), r.values)
            created = cols.pop("created_at", None) or now
            closed = outcomes[cols["stage_id"]] != Outcome.open
            params.append(
                {
                    **cols,
                    "workspace_id": ws,
                    "number": number,
                    "amount": cols.get("amount") or Decimal(0),
                    "currency": cols.get("currency") or workspace.currency,
                    "stage_entered_at": now,
                    "closed_at": now if closed else None,
                    "lost_reason": cols.get("lost_reason")
                    if outcomes[cols["stage_id"]] == Outcome.lost
                    else None,
                    "created_at": created,
                    "updated_at": now,
                    "owner_id": cols.get("owner_id"),
                    "company_id": cols.get("company_id"),
                    "expected_close": cols.get("expected_close"),
                    "external_id": cols.get("external_id"),
                    "version": 0,
                    "stalled_since": stalled_since(now, thresholds[cols["stage_id"]]),
                }
            )
        ids = bulk.insert(session, Deal, params, ids=True)
        counters.shift(session, after=[counters.place(SimpleNamespace(**p)) for p in params])
        closes = [close_counters.close(SimpleNamespace(**p), [p["stage_id"]]) for p in params]
        close_counters.shift(session, after=closes)
        _created_ids(creates, ids)
        bulk.insert(
            session,
            StageHistory,
            [
                {
                    "workspace_id": ws,
                    "deal_id": deal_id,
                    "from_stage_id": None,
                    "to_stage_id": p["stage_id"],
                    "by_member_id": actor.id if actor else None,
                    "at": now,
                    "left_at": None,
                    "prev_entry_at": None,
                    "progressed": False,
                    "import_run_id": run_id,
                }
                for deal_id, p in zip(ids, params, strict=True)
            ],
        )
    moves = []
    # The columns first (amount and currency move the board counters: read around them), then
    # the stage changes, each a move that keeps the counters itself.
    with counters.following(session, [r.id for r in updates]):
        for r in updates:
            cols = _deal_columns(r.values, look)
            if r.values.get("contact"):
                cols["person_id"] = _person_id(people, cols.get("company_id"), r.values)
            stage_id = cols.pop("stage_id", None)
            cols.pop("pipeline_id", None)  # a deal changes pipeline by moving, never by import
            if cols:
                cols["updated_at"] = now
                session.execute(
                    sa.update(Deal).where(Deal.id == r.id).values(**cols),
                    execution_options={"synchronize_session": False},
                )
            moves.append((r, stage_id))
    for r, stage_id in moves:
        if stage_id is not None:
            deal = session.get(Deal, r.id)
            session.refresh(deal)
            if deal.stage_id != stage_id:
                mover = actor or _admin(session, ws)
                with automation.paused(session):  # imported history starts no cadence
                    deal_ops.move_deal(
                        session=session,
                        actor=mover,
                        deal=deal,
                        stage_id=stage_id,
                        now=now,
                        lost_reason=r.values.get("lost_reason"),
                        require_fields=False,
                    )
                session.execute(
                    sa.update(StageHistory)
                    .where(StageHistory.deal_id == r.id, StageHistory.left_at.is_(None))
                    .values(import_run_id=run_id),
                    execution_options={"synchronize_session": False},
                )


def _person_id(people: dict, company_id, values: dict) -> int | None:
    contact = values.get("contact")
    return people[(company_id, contact.casefold())] if contact else None


def _admin(session: Session, ws: int) -> Member:
    return session.exec(
        select(Member).where(Member.workspace_id == ws).order_by(Member.role != Role.admin)
    ).first()


def _write_leads(session, workspace, look, creates, updates, now) -> None:
    ws = workspace.id
    if creates:
        last = session.execute(
            sa.update(Workspace)
            .where(Workspace.id == ws)
            .values(next_lead_number=Workspace.next_lead_number + len(creates))
            .returning(Workspace.next_lead_number)
        ).scalar_one()
        params = []
        for number, r in zip(range(last - len(creates) + 1, last + 1), creates, strict=True):
            cols = _deal_columns(r.values, look)
            created = cols.pop("created_at", None) or now
            params.append(
                {
                    "workspace_id": ws,
                    "number": number,
                    "name": cols["name"],
                    "status_id": cols["status_id"],
                    "source": cols.get("source"),
                    "email": cols.get("email"),
                    "company_size": cols.get("company_size"),
                    "owner_id": cols.get("owner_id"),
                    "company_id": cols.get("company_id"),
                    "external_id": cols.get("external_id"),
                    "status_changed_at": now,
                    "created_at": created,
                }
            )
        _created_ids(creates, bulk.insert(session, Lead, params, ids=True))
    for r in updates:
        cols = _deal_columns(r.values, look)
        if "status_id" in cols:
            cols["status_changed_at"] = now
        if cols:  # a row whose only change is a custom field's
            session.execute(
                sa.update(Lead).where(Lead.id == r.id).values(**cols),
                execution_options={"synchronize_session": False},
            )


def _write_companies(session, ws: int, creates, updates, now) -> None:
    if creates:
        ids = bulk.insert(
            session,
            Company,
            [
                {
                    "workspace_id": ws,
                    "name": r.values["name"],
                    "employees": r.values.get("employees"),
                    "external_id": r.values.get("external_id"),
                    "created_at": now,
                }
                for r in creates
            ],
            ids=True,
        )
        _created_ids(creates, ids)
    for r in updates:
        cols = {k: v for k, v in r.values.items() if not k.startswith("_")}
        if cols:
            session.execute(sa.update(Company).where(Company.id == r.id).values(**cols))


def _write_people(session, ws: int, look, creates, updates, now) -> None:
    if creates:
        params = []
        for r in creates:
            cols = _deal_columns(r.values, look)
            params.append(
                {
                    "workspace_id": ws,
                    "name": cols["name"],
                    "email": cols.get("email"),
                    "phone": cols.get("phone"),
                    "company_id": cols.get("company_id"),
                    "external_id": cols.get("external_id"),
                    "created_at": now,
                }
            )
        _created_ids(creates, bulk.insert(session, Person, params, ids=True))
    for r in updates:
        cols = _deal_columns(r.values, look)
        if cols:
            session.execute(sa.update(Person).where(Person.id == r.id).values(**cols))
