"""Slash-command latency: Salesbot against a bare Bolt app, in the same run.

    python -m bench.commands --db URL [--requests 2000] [--concurrency 1,8] [--json FILE]
        [--workers 1,2] [--commands show,list,pipeline] [--profile]

The database must hold a workspace filled by ``python -m bench.data`` (team TBENCH). Both apps
run as their own processes on waitress (``bench.server``); a local Slack-compatible server
(tests/fakeslack), in a third process, takes the Web API calls Salesbot makes after its acks
(card updates, thread replies). Each worker thread keeps one HTTP connection and sends signed
slash commands, a fixed mix of ``/deal show``, ``/deal move``, ``/pipeline`` and ``/deal list mine``; the bare app
acks the same commands with a fixed text: the floor any Bolt app pays. Reports p50/p95/p99,
throughput, the ratio Salesbot / bare Bolt, the serving process's peak RSS and its CPU time
per request (user + system from ``/proc``, over the process and its children: gunicorn's
workers; the system share in brackets: the kernel's part, mostly threads handing the GIL on). Then each of ``--commands`` alone (``show``: ``/deal show N``, ``list``: ``/deal
list mine``, ``pipeline``: ``/pipeline``, ``help``: ``/deal help``, which reads nothing: the
frame every command pays), ``--requests`` of each, for every app: p50/p99,
requests/s and CPU ms per request, and their ratios to bare Bolt's.

``--workers 1,2`` runs Salesbot once per worker count (``salesbot serve --workers N``:
waitress for 1, gunicorn's threaded workers above; ``salesbot_2w`` and so on in the results);
bare Bolt always runs as one waitress process, the floor the issue compares against.

``--concurrency 1,8`` runs the whole comparison once per concurrency (the load generator's
threads, each with its own connection) and prints one table per concurrency.

``--profile`` records the Salesbot server (its workers too) with py-spy while each command
runs alone and prints a summary of the top frames (bench.spy); the raw stacks are kept in
``--profile-dir`` (the system's temporary directory by default), one file per app, command
and concurrency.

``--oauth-workspaces N`` installs N workspaces by OAuth (``bench.installs``; TBENCH one of
them) and runs Salesbot a second time in OAuth mode, where every request and every post looks
its workspace's token up (``oauth`` in the results, beside ``salesbot`` with one bot token).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlmodel import Session, select

from bench import spy as bench_spy
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


def start(
    kind: str, db_url: str | None, api_url: str, workers: int = 1
) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, "-m", "bench.server", kind, "--api-url", api_url]
    if db_url:
        cmd += ["--db", db_url]
    if workers > 1:
        cmd += ["--workers", str(workers)]
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


def cpu_seconds(pid: int, *, system_only: bool = False) -> float:
    """User + system CPU of ``pid`` and its live children (gunicorn's workers), in seconds;
    with ``system_only`` the kernel's share alone (thread switches: futex waits and wakes)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            utime, stime = int(fields[11]), int(fields[12])
            total += (stime if system_only else utime + stime) / tick
    return total


KINDS = {
    "help": ("/deal", "help"),
    "show": ("/deal", "show"),
    "list": ("/deal", "list"),
    "pipeline": ("/pipeline", ""),
}


def only(mix, kind: str) -> list:
    command, verb = KINDS[kind]
    if kind == "help":  # the frame every command pays: it reads nothing
        return [(command, verb, user) for _, _, user in mix]
    return [m for m in mix if m[0] == command and m[1].split(" ", 1)[0] == verb]


def measured(pid: int, port: int, mix, concurrency: int, response_url: str) -> dict:
    """:func:`fire`, with the server's CPU milliseconds per request."""
    before, kernel = cpu_seconds(pid), cpu_seconds(pid, system_only=True)
    result = fire(port, mix, concurrency, response_url)
    n = max(len(mix), 1)
    result["cpu_ms"] = round((cpu_seconds(pid) - before) * 1000 / n, 2)
    result["cpu_sys_ms"] = round((cpu_seconds(pid, system_only=True) - kernel) * 1000 / n, 2)
    return result


def spy_on(pid: int, raw: Path):
    spy = bench_spy.record(pid, raw)
    time.sleep(1.0)  # py-spy attaches to the process and its workers
    return spy


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
    workers: tuple[int, ...] = (1,),
    commands: tuple[str, ...] = ("show", "list", "pipeline"),
    profile: Path | None = None,
) -> dict:
    mix = workload(db_url, 4 * (requests + warmup))
    mixed = mix[: requests + warmup]
    apps = [("bare", "bare", 1)] + [
        ("salesbot" if w == 1 else f"salesbot_{w}w", "salesbot", w) for w in workers
    ]
    if "salesbot" not in {name for name, _, _ in apps}:
        apps.append(("salesbot", "salesbot", 1))
    if oauth_workspaces:
        from bench.installs import install

        install(db_url, oauth_workspaces)
        apps.append(("oauth", "oauth", 1))
    results = {}
    for name, kind, n in apps:
        slack, slack_port = start("fakeslack", None, "")
        api_url = f"http://127.0.0.1:{slack_port}/api/"
        response_url = f"http://127.0.0.1:{slack_port}/response/bench"
        proc, port = start(kind, db_url if kind != "bare" else None, api_url, n)
        try:
            fire(port, mixed[:warmup], concurrency, response_url)  # warm caches and pools
            results[name] = measured(proc.pid, port, mixed[warmup:], concurrency, response_url)
            results[name]["workers"] = n
            results[name]["per_command"] = {}
            for each in commands if kind != "oauth" else ():
                picked = only(mix, each)[: requests + warmup]
                fire(port, picked[:warmup], concurrency, response_url)
                spy = None
                if profile is not None and kind == "salesbot":
                    raw = profile / f"{name}-{each}-c{concurrency}.raw"
                    spy = spy_on(proc.pid, raw)
                try:
                    results[name]["per_command"][each] = measured(
                        proc.pid, port, picked[warmup:], concurrency, response_url
                    )
                finally:
                    if spy is not None:
                        bench_spy.stop(spy)
                if spy is not None:
                    results[name]["per_command"][each]["profile"] = {
                        "raw": str(raw),
                        **bench_spy.summary(raw),
                    }
            results[name]["peak_rss_mb"] = peak_rss_mb(proc.pid)
        finally:
            for p in (proc, slack):
                p.terminate()
                p.wait(10)
    engine = make_engine(db_url)
    with Session(engine) as session:
        deals = session.exec(select(Deal.id).order_by(Deal.id.desc())).first()
    engine.dispose()
    bare = results.pop("bare")
    result = {
        "database": db_url.split(":")[0],
        "deals": deals,
        "concurrency": concurrency,
        **results,
        "bare_bolt": bare,
        "p50_ratio": round(results["salesbot"]["p50_ms"] / bare["p50_ms"], 2),
        "ratios": ratios(results, bare),
    }
    if oauth_workspaces:
        result["oauth"] = {"workspaces": oauth_workspaces, **results["oauth"]}
    return result


def ratios(results: dict, bare: dict) -> dict:
    """Salesbot ÷ bare Bolt per app and command: p50, CPU per request, throughput."""
    out = {}
    for name, figures in results.items():
        for each, mine in figures.get("per_command", {}).items():
            floor = bare["per_command"].get(each)
            if not floor:
                continue
            out[f"{name} {each}"] = {
                "p50": round(mine["p50_ms"] / floor["p50_ms"], 2),
                "cpu": round(mine["cpu_ms"] / floor["cpu_ms"], 2) if floor["cpu_ms"] else None,
                "throughput": round(mine["throughput_rps"] / floor["throughput_rps"], 2),
            }
    return out


def table(result: dict) -> str:
    rows = [("", "salesbot", "bare bolt")]
    for key in (
        "requests",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "throughput_rps",
        "cpu_ms",
        "peak_rss_mb",
    ):
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
    return _columns(rows) + "\n\n" + per_command_table(result)


def per_command_table(result: dict) -> str:
    """Each command alone: every app's p50/p99, requests/s, CPU ms per request, and the
    ratios to bare Bolt (p50, CPU; throughput as a share of bare Bolt's)."""
    rows = [
        ("command", "app", "p50 / p99 ms", "req/s", "CPU ms/req (sys)", "÷ bare: p50 · CPU · req/s")
    ]
    apps = ["bare_bolt"] + [k for k in result if k.startswith("salesbot")]
    for each in result["bare_bolt"].get("per_command", {}):
        for app in apps:
            figures = result[app]["per_command"].get(each)
            if figures is None:
                continue
            ratio = result["ratios"].get(f"{app} {each}")
            rows.append(
                (
                    each,
                    f"{app} ({result[app].get('workers', 1)}w)",
                    f"{figures['p50_ms']} / {figures['p99_ms']}",
                    str(figures["throughput_rps"]),
                    f"{figures['cpu_ms']} ({figures.get('cpu_sys_ms')})",
                    f"{ratio['p50']} · {ratio['cpu']} · {ratio['throughput']}" if ratio else "",
                )
            )
    table = _columns(rows)
    for app in apps:
        for each, figures in result[app]["per_command"].items():
            if "profile" in figures:
                table += f"\n\n{app} {each}, concurrency {result['concurrency']}: "
                table += (
                    bench_spy.text(figures["profile"]) + f"\n  raw: {figures['profile']['raw']}"
                )
    return table


def _columns(rows) -> str:
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(width[i]) for i, c in enumerate(r)) for r in rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", default="8", help="load generator threads, e.g. 1,8")
    p.add_argument("--json", help="also write the JSON result to this file")
    p.add_argument("--oauth-workspaces", type=int, default=0, help="also run in OAuth mode")
    p.add_argument("--warmup", type=int, default=100, help="requests before each measurement")
    p.add_argument("--workers", default="1", help="Salesbot's worker counts, e.g. 1,2")
    p.add_argument("--commands", default="show,list,pipeline", help="each alone, or none")
    p.add_argument("--profile", action="store_true", help="py-spy the server per command")
    p.add_argument("--profile-dir", default=tempfile.gettempdir(), help="where the raw stacks go")
    args = p.parse_args(argv)
    results = []
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        result = run(
            args.db,
            args.requests,
            concurrency,
            warmup=args.warmup,
            oauth_workspaces=args.oauth_workspaces,
            workers=tuple(int(w) for w in args.workers.split(",")),
            commands=tuple(c for c in args.commands.split(",") if c and c != "none"),
            profile=Path(args.profile_dir) if args.profile else None,
        )
        print(f"{result['deals']} deals on {result['database']}, concurrency {concurrency}")
        print(table(result))
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.json:
        Path(args.json).write_text(
            json.dumps(results[0] if len(results) == 1 else results, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
