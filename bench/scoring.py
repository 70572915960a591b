"""Lead scoring at scale: the daily ``lead-scores`` recompute of a whole workspace, and the
one-lead recompute every lead command and note pays.

    python -m bench.scoring --url sqlite:////tmp/bench-scoring.db --leads 10000
    python -m bench.scoring --url postgresql://postgres@127.0.0.1:5432/bench_scoring --leads 100000

Makes workspace ``TSCORE`` (recreated each run) with N leads (sizes, sources and job titles
spread so the default rules give a spread of scores) and 2 notes per lead over the last 60
days, a tenth of the leads converted into deals that carry a thread message each, then times
:func:`domain.lead_scores.recompute` over the whole workspace twice (the first run writes every
score, the second finds nothing changed) and over one lead (median of 50). Prints the figures
and a JSON line. ``--field-rules`` also gives every lead an ``industry`` (a select custom field
for leads) and a ``seats`` number, and scores them with ``field industry 제조 +10`` and
``field seats >= 100 +20`` besides the default rules (issue 15): the cost of the custom values.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from domain import custom_fields, lead_scores
from domain import leads as lead_ops
from domain.scoring import DEFAULT, Rule
from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from storage.db import make_engine, upgrade
from storage.models import Activity, Deal, Lead, LeadScoring, Role, Workspace

TEAM = "TSCORE"
SOURCES = ("webinar", "referral", "website", "event", None)
TITLES = ("CTO", "VP Sales", "Engineer", "대표", "팀장", None)


def fill(engine, n: int, now: datetime) -> int:
    """The workspace and its leads; returns the workspace id."""
    rnd = random.Random(15)
    with Session(engine) as session:
        old = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).first()
        if old is not None:
            session.delete(old)
            session.commit()
    with Session(engine, expire_on_commit=False) as session:
        ws = get_or_create_workspace(
            session=session, team_id=TEAM, name=TEAM, defaults=WorkspaceDefaults(stage_names="en")
        )
        owner = get_or_create_member(session=session, workspace=ws, slack_user_id="USCORE")
        first = lead_ops.lead_statuses(session=session, workspace_id=ws.id)[0]
        deal = Deal(
            workspace_id=ws.id,
            number=1,
            title="bench",
            pipeline_id=first.pipeline_id,  # any pipeline will do: only the link is read
            stage_id=first.id,
            stage_entered_at=now,
        )
        session.add(deal)
        session.flush()
        rows = [
            {
                "workspace_id": ws.id,
                "number": i + 1,
                "name": f"lead {i}",
                "status_id": first.id,
                "source": rnd.choice(SOURCES),
                "company_size": int(rnd.lognormvariate(4, 1.5)),
                "job_title": rnd.choice(TITLES),
                "owner_id": owner.id,
                "status_changed_at": now,
                "created_at": now,
                "deal_id": deal.id if i % 10 == 0 else None,
            }
            for i in range(n)
        ]
        for i in range(0, n, 5000):
            session.execute(sa.insert(Lead), rows[i : i + 5000])
        ids = session.exec(select(Lead.id).where(Lead.workspace_id == ws.id)).all()
        notes = [
            {
                "workspace_id": ws.id,
                "lead_id": lead_id,
                "kind": "note",
                "text": "called",
                "at": now - timedelta(days=rnd.uniform(0, 60)),
            }
            for lead_id in ids
            for _ in range(2)
        ]
        for i in range(0, len(notes), 5000):
            session.execute(sa.insert(Activity), notes[i : i + 5000])
        session.commit()
    with engine.connect() as conn:  # planner statistics, as after a real day of writes
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    return ws.id


INDUSTRIES = ("제조", "IT", "금융", "유통")
FIELD_RULES = (
    Rule("field", 10, value="제조", key="industry", op="="),
    Rule("field", 20, value="100", key="seats", op=">="),
)


def fill_fields(engine, ws_id: int) -> None:
    """Two custom fields for leads, a value of each on every lead, and the field rules."""
    rnd = random.Random(16)
    with Session(engine, expire_on_commit=False) as session:
        ws = session.get(Workspace, ws_id)
        admin = get_or_create_member(session=session, workspace=ws, slack_user_id="USCORE")
        admin.role = Role.admin
        industry = custom_fields.define(
            session=session, actor=admin, workspace=ws, name="Industry", kind="select",
            entity="leads", key="industry", options=list(INDUSTRIES),
        )  # fmt: skip
        seats = custom_fields.define(
            session=session, actor=admin, workspace=ws, name="Seats", kind="number",
            entity="leads", key="seats",
        )  # fmt: skip
        ids = session.exec(select(Lead.id).where(Lead.workspace_id == ws_id)).all()
        for i in range(0, len(ids), 5000):
            items = [
                (lead_id, {industry.id: rnd.choice(INDUSTRIES), seats.id: rnd.randint(1, 500)})
                for lead_id in ids[i : i + 5000]
            ]
            custom_fields.write_imported(session=session, workspace=ws, entity="leads", items=items)
        rules = [r.as_json() for r in (*DEFAULT.rules, *FIELD_RULES)]
        session.add(LeadScoring(workspace_id=ws_id, rules=json.dumps(rules, ensure_ascii=False)))
        session.commit()


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--json", help="also write the JSON line here")
    parser.add_argument("--field-rules", action="store_true", help="custom-field rules too")
    args = parser.parse_args()
    now = datetime.now(UTC)
    engine = make_engine(args.url)
    upgrade(engine)
    ws_id = fill(engine, args.leads, now)
    if args.field_rules:
        fill_fields(engine, ws_id)

    def whole() -> None:
        with Session(engine) as session:
            lead_scores.recompute(session=session, workspace=session.get(Workspace, ws_id), now=now)
            session.commit()

    first, again = timed(whole), timed(whole)
    with Session(engine) as session:
        some = session.exec(select(Lead).where(Lead.workspace_id == ws_id).limit(50)).all()
        one = []
        for lead in some:
            one.append(
                timed(
                    lambda lead=lead: lead_scores.lead_changed(session=session, lead=lead, now=now)
                )
            )
        session.rollback()
        crossed = session.exec(
            select(sa.func.count()).where(Lead.workspace_id == ws_id, Lead.above_mql.is_(True))
        ).one()
    figures = {
        "leads": args.leads,
        "database": engine.dialect.name,
        "field_rules": args.field_rules,
        "whole_workspace_first_ms": round(first),
        "whole_workspace_again_ms": round(again),
        "leads_per_second": round(args.leads / (first / 1000)),
        "one_lead_median_ms": round(statistics.median(one), 1),
        "above_threshold": crossed,
    }
    print(f"lead-scores over {args.leads:,} leads ({engine.dialect.name}):")
    print(
        f"  whole workspace, first run   {first:10.0f} ms  ({figures['leads_per_second']:,} leads/s)"
    )
    print(f"  whole workspace, unchanged   {again:10.0f} ms")
    print(f"  one lead (median of 50)      {figures['one_lead_median_ms']:10.1f} ms")
    print(f"  leads above the threshold    {crossed:10,}")
    line = json.dumps(figures)
    print(line)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
