"""What cadences and workflows add to a deal's creation and moves (issue 14).

    python -m bench.automation --url sqlite:////tmp/bench-automation.db --deals 500
    python -m bench.automation --url postgresql://postgres@127.0.0.1:5432/bench_automation

Creates a fresh workspace (the defaults: the playbook on Contact, three workflows) and times
``create_deal`` in Contact (six cadence tasks, the workflow look-ups) then a move to
Qualification (the six skipped, the look-ups) per deal, each in its own transaction, once
with automation on and once paused (:func:`domain.automation.paused`). Prints medians and
p95 in ms and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime
from decimal import Decimal

from domain import automation, deals
from domain.workspaces import get_or_create_member, get_or_create_workspace
from storage.db import make_engine, session_scope, upgrade
from storage.models import Deal, Member, Workspace


def _time(engine, team: str, n: int, *, on: bool) -> dict[str, float]:
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        ws = get_or_create_workspace(session=s, team_id=team)
        member = get_or_create_member(session=s, workspace=ws, slack_user_id="UBENCH")
        ws_id, member_id = ws.id, member.id
    create, move = [], []
    for i in range(n):
        for phase, out in (("create", create), ("move", move)):
            started = time.perf_counter()
            with session_scope(engine) as s:
                ws, actor = s.get(Workspace, ws_id), s.get(Member, member_id)
                with automation.paused(s) if not on else nullcontext():
                    if phase == "create":
                        deal = deals.create_deal(
                            session=s,
                            workspace=ws,
                            actor=actor,
                            title=f"Deal {i}",
                            amount=Decimal(1_000_000),
                            now=now,
                        ).deal
                        deal_id = deal.id
                    else:
                        deals.move_deal(
                            session=s,
                            actor=actor,
                            deal=s.get(Deal, deal_id),
                            stage_text="Qualification",
                            now=now,
                        )
            out.append((time.perf_counter() - started) * 1000)
    return {
        "create_p50": statistics.median(create),
        "create_p95": statistics.quantiles(create, n=20)[-1],
        "move_p50": statistics.median(move),
        "move_p95": statistics.quantiles(move, n=20)[-1],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--deals", type=int, default=500)
    args = p.parse_args(argv)
    engine = make_engine(args.url)
    upgrade(engine)
    tag = uuid.uuid4().hex[:8]
    result = {
        "on": _time(engine, f"TAUTO-{tag}", args.deals, on=True),
        "paused": _time(engine, f"TOFF-{tag}", args.deals, on=False),
    }
    print(f"{'ms per deal':<24}{'on':>10}{'paused':>10}")
    for key in result["on"]:
        print(f"{key:<24}{result['on'][key]:>10.2f}{result['paused'][key]:>10.2f}")
    print(json.dumps({"deals": args.deals, **result}))
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
