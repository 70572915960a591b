"""The request's frame, in-process: Salesbot's Bolt app against a bare one, no HTTP.

    python -m bench.inprocess --db URL [--db URL ...] [--requests 500] [--warmup 50]
        [--commands help,show,list,pipeline] [--gap-ms 0] [--profile show] [--top 40]
        [--replies FILE] [--json FILE] [--concurrency 1]

Each request is a slash command exactly as Slack signs it (tests.slackreq), handed to the real
``App.dispatch`` of ``bot.app.create_app`` (its middleware, listeners, Bolt's listener threads
and the wait for the ack, bot.listening) and of a bare Bolt app with one listener that acks a
fixed text (the floor any Bolt app pays, its request thread polling for the ack every 10 ms;
the same one ``bench.server bare`` serves). Requests go one after the other.
No Web API call is made by these commands (their reply rides in the ack); the Web API
address is a fake Slack in a process of its own (``bench.server fakeslack``: Bolt asks
``auth.test`` once). Printed per database and command: **CPU ms per request** (the
whole process, every thread: ``time.process_time``), wall ms per request, and the ratio to
bare Bolt's CPU in the same run. ``help`` (``/deal help``) reads nothing: it is the frame
every command pays.

``--concurrency N`` sends from N threads at once, as N clients would (each its share one
after the other): the same CPU per request, each request's own wall time (p50, p99), and the
database connections the engine opened while timed (a pool too small for N churns them).
``--gap-ms`` sleeps between requests (caches go cold as on a server that waits for the next
request). ``--profile CMD`` runs that command once more under cProfile (every thread, via
``threading.setprofile``) and prints the top functions by cumulative and by own time.
``--replies FILE`` writes every reply (status and body) of a fixed clock's run, one JSON line
per request, to compare two versions byte for byte (``diff``).

The database must hold a workspace filled by ``python -m bench.data`` (team TBENCH); only
reads are made.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import threading
import time
from datetime import UTC, datetime

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

from bench.commands import TEAM, start, workload
from bench.server import SECRET
from storage.db import make_engine
from storage.models import Deal, Member, Workspace
from tests.slackreq import slash

RESPONSE_URL = "http://127.0.0.1:9/respond"  # never used: every reply rides in the ack
REPLY_CLOCK = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)  # a Wednesday


def salesbot_app(db_url: str, api_url: str, clock=None):
    from bot.app import create_app
    from bot.settings import Settings

    settings = Settings(
        bot_token="xoxb-bench", signing_secret=SECRET, api_url=api_url, database_url=db_url
    )
    engine = make_engine(db_url)
    return create_app(settings, engine=engine, clock=clock), engine


def bare_app(api_url: str):
    client = WebClient(token="xoxb-bench", base_url=api_url)
    app = App(signing_secret=SECRET, token_verification_enabled=False, client=client)

    @app.command("/deal")
    @app.command("/pipeline")
    def ack_fixed(ack):
        ack(text="ok")

    return app


def commands(db_url: str, kinds: list[str], n: int) -> dict[str, list[tuple[str, str, str]]]:
    """(command, text, user) per kind: ``bench.commands.workload``'s, and ``/deal help``."""
    mix = workload(db_url, max(4 * n, 4))
    user = mix[0][2]
    picks = {
        "show": [m for m in mix if m[1].startswith("show ")],
        "list": [m for m in mix if m[1].startswith("list ")],
        "pipeline": [m for m in mix if m[0] == "/pipeline"],
        "help": [("/deal", "help", user)] * n,
    }
    return {k: (picks[k] * n)[:n] for k in kinds}


def signed(items) -> list[BoltRequest]:
    """Prepared before timing: signing is the load generator's work, not the app's."""
    out = []
    for command, text, user in items:
        body, headers = slash(
            command, text, team_id=TEAM, user_id=user, response_url=RESPONSE_URL, secret=SECRET
        )
        out.append((body.decode(), headers))
    return out


def dispatch(app: App, prepared) -> list:
    responses = []
    for body, headers in prepared:
        responses.append(app.dispatch(BoltRequest(body=body, headers=headers)))
    return responses


def timed(app: App, prepared, gap: float, concurrency: int = 1) -> dict:
    """``prepared`` dispatched by ``concurrency`` threads, each its share one after the other:
    CPU and wall ms per request, and each request's own wall ms (p50, p99)."""
    statuses: dict[int, int] = {}
    took: list[float] = []
    lock = threading.Lock()

    def send(share):
        for body, headers in share:
            t0 = time.perf_counter()
            resp = app.dispatch(BoltRequest(body=body, headers=headers))
            t1 = time.perf_counter()
            with lock:
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                took.append(t1 - t0)
            if gap:
                time.sleep(gap)

    shares = [prepared[i::concurrency] for i in range(concurrency)]
    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = max(len(prepared), 1)
    took.sort()
    return {
        "cpu_ms": round(cpu * 1000 / n, 3),
        "wall_ms": round((wall - gap * len(shares[0])) * 1000 / n, 3),
        "p50_ms": round(took[len(took) // 2] * 1000, 2) if took else None,
        "p99_ms": round(took[min(len(took) - 1, len(took) * 99 // 100)] * 1000, 2)
        if took
        else None,
        "statuses": statuses,
    }


def profiled(make_app, prepared, top: int) -> str:
    """cProfile over every thread (Bolt runs the listener in its pool): a new app, so that
    its threads start under ``threading.setprofile``. Each thread is timed by its own CPU
    clock (``time.thread_time``): with the wall clock, a function during which the thread
    waited for the GIL was charged the other threads' work (SQLAlchemy's
    ``construct_params`` looked like a third of ``/deal show``)."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start(*_):
        prof = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(prof)
        prof.enable()
        threading.setprofile(None)  # one per thread is enough; it stays enabled

    main = cProfile.Profile(time.thread_time)
    threading.setprofile(start)
    main.enable()
    dispatch(make_app(), prepared)
    main.disable()
    threading.setprofile(None)
    for prof in profiles:
        prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(main, stream=out)
    for prof in profiles:
        stats.add(prof)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def replies(db_url: str, api_url: str, kinds: list[str], path: str) -> int:
    """Every reply of a fixed clock's run, for both locales the workspace's members have
    (the bench workspace is Korean; an English member is looked for too)."""
    app, engine = salesbot_app(db_url, api_url, clock=_fixed())
    with Session(engine) as session:
        ws = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
        users = [
            m.slack_user_id
            for m in session.exec(
                select(Member).where(Member.workspace_id == ws.id).order_by(Member.id).limit(3)
            )
        ]
        users += [
            m.slack_user_id
            for m in session.exec(
                select(Member).where(Member.workspace_id == ws.id, Member.locale == "en").limit(2)
            )
        ]
        numbers = session.exec(
            select(Deal.number).where(Deal.workspace_id == ws.id).order_by(Deal.number).limit(40)
        ).all()
    texts = {
        "help": [("/deal", "help")],
        "show": [("/deal", f"show {n}") for n in numbers] + [("/deal", "show 99999999")],
        "list": [("/deal", "list mine"), ("/deal", "list"), ("/deal", "list mine stalled")],
        # The default board, by full name, by prefix, an ambiguous prefix, a lead pipeline's
        # name (not a deal pipeline) and a name nobody has.
        "pipeline": [
            ("/pipeline", p)
            for p in ("", "갱신 관리", "Japan", "Renew", "Renewals — SMB", "리드", "Nowhere")
        ],
    }
    count = 0
    with open(path, "w") as out:
        for kind in kinds:
            for user in users:
                for command, text in texts[kind]:
                    (resp,) = dispatch(app, signed([(command, text, user)]))
                    line = {"user": user, "command": command, "text": text}
                    line |= {"status": resp.status, "body": resp.body}
                    out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
                    count += 1
    engine.dispose()
    return count


def _fixed():
    from domain.clock import FixedClock

    return FixedClock(REPLY_CLOCK)


def run(
    db_url: str, api_url: str, kinds, n, warmup, gap, profile: str | None, top: int, concurrency=1
):
    salesbot, engine = salesbot_app(db_url, api_url)
    connects = [0]  # new database connections while timed: a pool that churns shows here
    sa_event.listen(engine, "connect", lambda *_: connects.__setitem__(0, connects[0] + 1))
    bare = bare_app(api_url)
    work = commands(db_url, kinds, n + warmup)
    result = {}
    for kind in kinds:
        prepared = signed(work[kind])
        row = {}
        for name, app in (("bare", bare), ("salesbot", salesbot)):
            timed(app, prepared[:warmup], 0.0, concurrency)
            before = connects[0]
            row[name] = timed(app, prepared[warmup:], gap, concurrency)
            row[name]["connects"] = connects[0] - before
        row["ratio"] = round(row["salesbot"]["cpu_ms"] / max(row["bare"]["cpu_ms"], 1e-9), 2)
        result[kind] = row
    if profile:
        prepared = signed(work[profile][:n])
        dispatch(salesbot, prepared)  # the engine's pool and the process's caches warm
        result["profile"] = profiled(lambda: salesbot_app(db_url, api_url)[0], prepared, top)
    engine.dispose()
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", action="append", required=True)
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--commands", default="help,show,list,pipeline")
    p.add_argument("--gap-ms", type=float, default=0.0)
    p.add_argument("--concurrency", type=int, default=1, help="threads dispatching at once")
    p.add_argument("--profile", help="one command to profile with cProfile afterwards")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--replies", help="write every reply of a fixed clock's run here (JSON lines)")
    p.add_argument("--json")
    args = p.parse_args(argv)
    kinds = [k.strip() for k in args.commands.split(",") if k.strip()]
    # Bolt's first request asks auth.test (then keeps the answer); nothing else calls Slack.
    slack, slack_port = start("fakeslack", None, "")
    try:
        return measure(args, kinds, f"http://127.0.0.1:{slack_port}/api/")
    finally:
        slack.kill()
        slack.wait()


def measure(args, kinds: list[str], api_url: str) -> int:
    if args.replies:
        for i, db in enumerate(args.db):
            path = args.replies if len(args.db) == 1 else f"{args.replies}.{i}"
            print(f"{db}: {replies(db, api_url, kinds, path)} replies in {path}")
        return 0
    results = {}
    for db in args.db:
        res = run(
            db,
            api_url,
            kinds,
            args.requests,
            args.warmup,
            args.gap_ms / 1000,
            args.profile,
            args.top,
            args.concurrency,
        )
        results[db] = res
        print(
            f"\n{db} ({args.requests} requests each, {args.warmup} of warm-up, "
            f"concurrency {args.concurrency})"
        )
        print(
            "| command | Salesbot CPU ms | bare CPU ms | ratio | Salesbot wall ms | bare wall ms "
            "| Salesbot p50 / p99 ms | new connections |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for kind in kinds:
            row = res[kind]
            s, b = row["salesbot"], row["bare"]
            print(
                f"| {kind} | {s['cpu_ms']} | {b['cpu_ms']} | {row['ratio']}× "
                f"| {s['wall_ms']} | {b['wall_ms']} | {s['p50_ms']} / {s['p99_ms']} "
                f"| {s['connects']} |"
            )
            if set(s["statuses"]) != {200}:
                print(f"  (statuses: {s['statuses']})")
        if "profile" in res:
            print(res["profile"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {db: {k: v for k, v in r.items() if k != "profile"} for db, r in results.items()},
                f,
                indent=1,
            )
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in _load())}")
    return 0


def _load():
    import os

    return os.getloadavg()


if __name__ == "__main__":
    sys.exit(main())
