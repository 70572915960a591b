"""Every ``/deal list`` reply, ``/deal find`` reply and App Home view of a workspace, as JSON:
the before/after check of a faster list path (issue 17).

    python -m bench.list_replies --db URL --out FILE [--prepare]

Needs workspace TBENCH (``bench.data``). ``--prepare`` (on a copy: it writes) adds what the
bench workspace lacks so every branch of the list is drawn: deals in dollars (rated) and in
yen (no rate), a rep who reads English, and the custom fields of ``bench.fields`` with their values. The replies are
rendered through the real handlers (``commands.handlers.run``) for a manager and a rep, for
many filter shapes and pages, at several fixed instants (a weekday, a weekend, a Korean
holiday), on calendar and on business days; two runs of the same code give the same file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from bench.reports import TEAM
from commands.context import Ctx
from commands.grammar import parse
from commands.handlers import run
from domain.clock import FixedClock
from storage.db import make_engine
from storage.models import Deal, ExchangeRate, Member, Role, Workspace

VARIANTS = (
    "list mine",
    "list",
    "list stalled",
    "list mine stalled",
    "list owner:{other}",
    "list owner:{other} stalled sort:amount",
    'list pipeline:"신규 영업"',
    "list pipeline:SMB stalled",
    'list pipeline:"신규 영업" stage:제안',
    'list pipeline:"신규 영업" stage:수주',
    'list pipeline:"신규 영업" stage:실주 mine',
    "list close:this-month",
    "list close:overdue",
    "list close:next-month sort:close",
    "list mine close:this-quarter",
    "list sort:amount",
    "list sort:close",
    "list mine sort:amount",
    "list budget>=1억 industry:제조",
    "list industry:IT sort:amount",
    "list mine industry:금융 stalled",
    "find 10",
    "find Corp",
    "find 없는말",
)
OFFSETS = (0, 20, 40, 980)
INSTANTS = (
    datetime(2026, 12, 3, 9, 17, tzinfo=UTC),  # a Thursday morning in Seoul
    datetime(2026, 12, 5, 23, 59, 59, tzinfo=UTC),  # Sunday 08:59 in Seoul
    datetime(2026, 10, 5, 3, 0, tzinfo=UTC),  # 추석 (2026-10-05 in Korea)
    datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC),
)


def prepare(engine) -> None:
    """Other currencies and custom fields on a copy of the bench workspace."""
    from bench.fields import ensure_fields

    with Session(engine) as session:
        ws = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
        ids = session.exec(select(Deal.id).where(Deal.workspace_id == ws.id)).all()
        dollars, yen = ids[::7], ids[3::11]
        session.execute(sa.update(Deal).where(Deal.id.in_(dollars)).values(currency="USD"))
        session.execute(sa.update(Deal).where(Deal.id.in_(yen)).values(currency="JPY"))
        rep = session.exec(
            select(Member).where(Member.workspace_id == ws.id, Member.role == Role.rep)
        ).first()
        rep.locale = "en"  # one reader in English
        session.add(ExchangeRate(workspace_id=ws.id, base="KRW", currency="USD", rate="1380.5"))
        session.commit()
    ensure_fields(engine)


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def replies(engine) -> dict:
    from views.home import home

    out: dict = {}
    for business in (False, True):
        with Session(engine) as session:
            ws = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
            ws.stall_business_days = business
            session.commit()
        for at in INSTANTS:
            with Session(engine) as session:
                ws = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
                members = session.exec(
                    select(Member).where(Member.workspace_id == ws.id).order_by(Member.id)
                ).all()
                manager = next(m for m in members if m.role != Role.rep)
                rep = next(m for m in members if m.role == Role.rep)
                for member in (manager, rep):
                    ctx = Ctx(session=session, workspace=ws, member=member, clock=FixedClock(at))
                    other = f"<@{members[7].slack_user_id}>"
                    for variant in VARIANTS:
                        text = variant.format(other=other)
                        cmd = parse("/deal", text, today=ctx.today())
                        for offset in OFFSETS if hasattr(cmd, "offset") else (0,):
                            if offset:
                                cmd = dataclasses.replace(cmd, offset=offset)
                            key = f"{business}|{at.isoformat()}|{member.slack_user_id}|{text}|{offset}"
                            out[key] = _plain(run(cmd, ctx).reply)
                    key = f"{business}|{at.isoformat()}|{member.slack_user_id}|home"
                    out[key] = home(session=session, workspace=ws, member=member, now=at)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--prepare", action="store_true")
    args = parser.parse_args(argv)
    engine = make_engine(args.db)
    if args.prepare:
        prepare(engine)
    data = replies(engine)
    with open(args.out, "w") as f:
        json.dump(data, f, ensure_ascii=False, indent=1, sort_keys=True)
    print(f"{len(data)} replies -> {args.out}")


if __name__ == "__main__":
    main()
