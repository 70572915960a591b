"""Slash-command latency: Salesbot against a bare Bolt app, in the same run.

    python -m bench.commands --db URL [--requests 2000] [--concurrency 8] [--json FILE]

The database must hold a workspace filled by ``python -m bench.data`` (team TBENCH). Both apps
run as their own processes on waitress (``bench.server``); a local Slack-compatible server
(tests/fakeslack), in a third process, takes the Web API calls Salesbot makes after its acks
(card updates, thread replies). Each worker thread keeps one HTTP connection and sends signed
slash commands, a fixed mix of ``/deal show``, ``/deal move``, ``/pipeline`` and ``/deal list mine``; the bare app
acks the same commands with a fixed text: the floor any Bolt app pays. Reports p50/p95/p99,
throughput, the ratio Salesbot / bare Bolt, and the serving process's peak RSS.

``--oauth-workspaces N`` installs N workspaces by OAuth (``bench.installs``; TBENCH one of
them) and runs Salesbot a second time in OAuth mode, where every request and every post looks
its workspace's token up (``oauth`` in the results, beside ``salesbot`` with one bot token).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlmodel import Session, select

from bench.server import SECRET
from storage.db import make_engine
from storage.models import Deal, Member, Role, Stage, Workspace
from tests.slackreq import slash

TEAM = "TBENCH"
UNAUTHORIZED = b"installation with this app is no longer available"  # Bolt's answer


def workload(db_url: str, n: int, seed: int = 1) -> list[tuple[str, str, str]]:
    """(command, text, user) triples: a manager acting on random deals of the workspace."""
    engine = make_engine(db_url)
    with Session(engine) as session:
        ws = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
        manager = (
            session.exec(
                select(Member).where(Member.workspace_id == ws.id, Member.role != Role.rep)
            ).first()
            or session.exec(select(Member).where(Member.workspace_id == ws.id)).first()
        )
        top = session.exec(
            select(Deal.number).where(Deal.workspace_id == ws.id).order_by(Deal.number.desc())
        ).first()
        stage_names = sorted(
            {
                s.name
                for s in session.exec(
                    select(Stage).where(Stage.workspace_id == ws.id, Stage.outcome == "open")
                )
            }
        )
    engine.dispose()
    rng = random.Random(seed)
    mix = []
    for i in range(n):
        number = rng.randint(1, top)
        kind = i % 4
        if kind == 0:
            mix.append(("/deal", f"show {number}", manager.slack_user_id))
        elif kind == 1:
            mix.append(
                ("/deal", f'move {number} "{rng.choice(stage_names)}"', manager.slack_user_id)
            )
        elif kind == 2:
            mix.append(("/pipeline", "", manager.slack_user_id))
        else:
            mix.append(("/deal", "list mine", manager.slack_user_id))
    return mix


def start(kind: str, db_url: str | None, api_url: str) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, "-m", "bench.server", kind, "--api-url", api_url]
    if db_url:
        cmd += ["--db", db_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise SystemExit(f"{kind} server did not start: {line!r}")
    return proc, int(line.split()[1])


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def fire(port: int, mix, concurrency: int, response_url: str) -> dict:
    local = threading.local()
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(item):
        command, text, user = item
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body, headers = slash(
            command, text, team_id=TEAM, user_id=user, response_url=response_url, secret=SECRET
        )
        started = time.perf_counter()
        try:
            local.conn.request("POST", "/slack/events", body=body, headers=headers)
            response = local.conn.getresponse()
            answer = response.read()
            status = response.status
            if status == 200 and (not answer or UNAUTHORIZED in answer):
                # OAuth mode, no install found: Bolt acks with nothing (or its apology) and
                # says so through the response_url. Every command of the mix answers in the ack.
                status = 403
        except (OSError, http.client.HTTPException):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 0
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            by_kind.setdefault(f"{command} {text.split(' ', 1)[0]}".strip(), []).append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, mix))
    wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "statuses": statuses,
        "p50_ms": round(q[49] * 1000, 2),
        "p95_ms": round(q[94] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "throughput_rps": round(len(latencies) / wall, 1),
        "by_command": {kind: _percentiles(values) for kind, values in sorted(by_kind.items())},
    }


def _percentiles(values: list[float]) -> dict:
    q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
    return {"n": len(values), "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2)}


def run(
    db_url: str,
    requests: int = 2000,
    concurrency: int = 8,
    warmup: int = 100,
    oauth_workspaces: int = 0,
) -> dict:
    mix = workload(db_url, requests + warmup)
    results = {}
    kinds = ("bare", "salesbot")
    if oauth_workspaces:
        from bench.installs import install

        install(db_url, oauth_workspaces)
        kinds += ("oauth",)
    for kind in kinds:
        slack, slack_port = start("fakeslack", None, "")
        api_url = f"http://127.0.0.1:{slack_port}/api/"
        response_url = f"http://127.0.0.1:{slack_port}/response/bench"
        proc, port = start(kind, db_url if kind != "bare" else None, api_url)
        try:
            fire(port, mix[:warmup], concurrency, response_url)  # warm caches and pools
            results[kind] = fire(port, mix[warmup:], concurrency, response_url)
            results[kind]["peak_rss_mb"] = peak_rss_mb(proc.pid)
        finally:
            for p in (proc, slack):
                p.terminate()
                p.wait(10)
    engine = make_engine(db_url)
    with Session(engine) as session:
        deals = session.exec(select(Deal.id).order_by(Deal.id.desc())).first()
    engine.dispose()
    result = {
        "database": db_url.split(":")[0],
        "deals": deals,
        "concurrency": concurrency,
        "salesbot": results["salesbot"],
        "bare_bolt": results["bare"],
        "p50_ratio": round(results["salesbot"]["p50_ms"] / results["bare"]["p50_ms"], 2),
    }
    if oauth_workspaces:
        result["oauth"] = {"workspaces": oauth_workspaces, **results["oauth"]}
    return result


def table(result: dict) -> str:
    rows = [("", "salesbot", "bare bolt")]
    for key in ("requests", "p50_ms", "p95_ms", "p99_ms", "throughput_rps", "peak_rss_mb"):
        rows.append((key, str(result["salesbot"][key]), str(result["bare_bolt"][key])))
    rows.append(("p50 ratio", str(result["p50_ratio"]), ""))
    if "oauth" in result:
        oauth = result["oauth"]
        rows.append(
            (
                f"oauth ({oauth['workspaces']} workspaces) p50/p99",
                f"{oauth['p50_ms']} / {oauth['p99_ms']}",
                f"{oauth['throughput_rps']} req/s",
            )
        )
    for kind, figures in result["salesbot"]["by_command"].items():
        bare = result["bare_bolt"]["by_command"].get(kind, {})
        rows.append(
            (
                f"  {kind} p50/p99",
                f"{figures['p50_ms']} / {figures['p99_ms']}",
                f"{bare.get('p50_ms')} / {bare.get('p99_ms')}",
            )
        )
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(width[i]) for i, c in enumerate(r)) for r in rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--json", help="also write the JSON result to this file")
    p.add_argument("--oauth-workspaces", type=int, default=0, help="also run in OAuth mode")
    args = p.parse_args(argv)
    result = run(args.db, args.requests, args.concurrency, oauth_workspaces=args.oauth_workspaces)
    print(f"{result['deals']} deals on {result['database']}, concurrency {args.concurrency}")
    print(table(result))
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
