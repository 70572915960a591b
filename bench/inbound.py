"""A flood on the inbound lead endpoint: N posts from C concurrent senders, real HTTP into the
app on waitress (tests/fakeslack as Slack), a real database.

    python -m bench.inbound --url sqlite:////tmp/bench-inbound.db --posts 1000
    python -m bench.inbound --url postgresql://postgres@127.0.0.1:5432/bench_inbound --posts 1000

Prints posts/s through the endpoint, p50 / p99 latency of accepted (201) and limited (429)
answers, how many of each, and whether every accepted lead was stored and posted once (the
outbox drained). The bucket (docs/inbound.md) lets a burst of 60 through, then one a second:
the figure is what a flood costs the server, not how many leads it takes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, func, select


def _post(url: str, body: bytes, headers: dict) -> tuple[int, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, (time.perf_counter() - started) * 1000


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}"


def run(url: str, posts: int, senders: int) -> dict:
    from bot.server import serve_in_thread
    from domain import inbound
    from domain.workspaces import WorkspaceDefaults, get_or_create_workspace
    from storage.db import make_engine, session_scope, upgrade
    from storage.models import Lead, Member, Outbox, Role
    from storage.types import utcnow
    from tests.fakeslack import FakeSlack
    from tests.slackapp import settings_for

    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        ws = get_or_create_workspace(
            session=session, team_id="TINBOUND", defaults=WorkspaceDefaults(locale="en")
        )
        admin = Member(workspace_id=ws.id, slack_user_id="UADMIN", role=Role.admin)
        session.add(admin)
        session.flush()
        source, secret = inbound.enable(session=session, workspace=ws, actor=admin, now=utcnow())
        key = source.key
        ws.deals_channel = "CLEADS"
    with FakeSlack(team_id="TINBOUND") as slack:
        running = serve_in_thread(settings_for(slack, url), engine=engine)
        try:
            endpoint = f"{running.url}/leads/{key}"
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
            bodies = [
                json.dumps({"name": f"Flood {n}", "email": f"f{n}@example.com"}).encode()
                for n in range(posts)
            ]
            started = time.perf_counter()
            with ThreadPoolExecutor(senders) as pool:
                answers = list(pool.map(lambda b: _post(endpoint, b, headers), bodies))
            elapsed = time.perf_counter() - started
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with Session(engine) as session:
                    unsent = session.exec(
                        select(func.count())
                        .select_from(Outbox)
                        .where(Outbox.status.in_(("pending", "sending")))
                    ).one()
                if not unsent:
                    break
                time.sleep(0.1)
        finally:
            running.close()
        with Session(engine) as session:
            stored = session.exec(select(func.count()).select_from(Lead)).one()
        posted = len(slack.messages("CLEADS"))
    engine.dispose()
    accepted = [ms for status, ms in answers if status == 201]
    limited = [ms for status, ms in answers if status == 429]
    return {
        "database": url.split(":", 1)[0],
        "posts": posts,
        "senders": senders,
        "seconds": round(elapsed, 2),
        "posts_per_s": round(posts / elapsed, 1),
        "accepted": len(accepted),
        "limited": len(limited),
        "other": posts - len(accepted) - len(limited),
        "accepted_p50_ms": _ms(accepted, 0.5),
        "accepted_p99_ms": _ms(accepted, 0.99),
        "limited_p50_ms": _ms(limited, 0.5),
        "limited_p99_ms": _ms(limited, 0.99),
        "median_ms": round(statistics.median(ms for _, ms in answers), 1),
        "stored": stored,
        "posted": posted,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="an empty database (it is migrated)")
    p.add_argument("--posts", type=int, default=1000)
    p.add_argument("--senders", type=int, default=8)
    args = p.parse_args(argv)
    result = run(args.url, args.posts, args.senders)
    width = max(len(k) for k in result)
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")
    print(json.dumps(result))
    ok = result["stored"] == result["accepted"] == result["posted"] and not result["other"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
