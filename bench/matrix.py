"""Issue 17's whole matrix in one run: ``bench.commands`` per database and concurrency, then
every target checked against what was measured.

    python -m bench.matrix --db sqlite:////tmp/bench-10k.db --db sqlite:////tmp/bench-1m.db \\
        --db postgresql://postgres@127.0.0.1:5432/bench10k \\
        --db postgresql://postgres@127.0.0.1:5432/bench1m \\
        [--concurrency 1,8] [--workers 1,2] [--requests 1000] [--json FILE]

Each (database, concurrency) is one ``python -m bench.commands`` child run (bare Bolt, then
Salesbot with each worker count, each command alone), so every ratio compares figures taken
minutes apart on the same machine. The targets, as the issue states them:

- CPU per request ≤ 2× bare Bolt's (every command, one worker);
- p50 at concurrency 8 ≤ 2× bare Bolt's, and p99 < 100 ms (one worker);
- with 2 workers, throughput ≥ bare Bolt's single process (at concurrency 8);
- each command's p50 on the largest database ≤ 1.2× its p50 on the smallest, per dialect.

Prints one row per measurement and one line per target: ``met`` or ``missed`` with the
figures that decided it. Nothing here is asserted in tests; it is what the closing note quotes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def measure(
    db: str, concurrency: int, workers: str, requests: int, commands: str, warmup: int = 100
) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.commands",
                "--db",
                db,
                "--concurrency",
                str(concurrency),
                "--workers",
                workers,
                "--requests",
                str(requests),
                "--commands",
                commands,
                "--warmup",
                str(warmup),
                "--json",
                out.name,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return json.loads(Path(out.name).read_text())


def rows(results: list[dict]) -> list[dict]:
    """One flat row per (database, deals, concurrency, app, command)."""
    out = []
    for r in results:
        apps = ["bare_bolt"] + [k for k in r if k.startswith("salesbot")]
        for app in apps:
            for command, f in r[app].get("per_command", {}).items():
                out.append(
                    {
                        "database": r["database"],
                        "deals": r["deals"],
                        "concurrency": r["concurrency"],
                        "app": app,
                        "workers": r[app].get("workers", 1),
                        "command": command,
                        "p50_ms": f["p50_ms"],
                        "p95_ms": f["p95_ms"],
                        "p99_ms": f["p99_ms"],
                        "rps": f["throughput_rps"],
                        "cpu_ms": f["cpu_ms"],
                    }
                )
    return out


def verdicts(flat: list[dict]) -> list[tuple[str, bool, str]]:
    """(target, met?, the figures that decided it), one per target and case."""
    out = []

    def find(**key):
        return next((r for r in flat if all(r[k] == v for k, v in key.items())), None)

    for r in flat:
        if r["app"] != "salesbot":
            continue
        case = f"{r['command']} {r['database']} {r['deals']:,} c={r['concurrency']}"
        bare = find(
            database=r["database"],
            deals=r["deals"],
            concurrency=r["concurrency"],
            app="bare_bolt",
            command=r["command"],
        )
        if bare and bare["cpu_ms"]:
            ratio = r["cpu_ms"] / bare["cpu_ms"]
            out.append(
                (
                    f"CPU ≤ 2× bare: {case}",
                    ratio <= 2,
                    f"{r['cpu_ms']} vs {bare['cpu_ms']} ms ({ratio:.2f}×)",
                )
            )
        if r["concurrency"] == 8 and bare:
            ratio = r["p50_ms"] / bare["p50_ms"]
            out.append(
                (
                    f"p50 ≤ 2× bare: {case}",
                    ratio <= 2,
                    f"{r['p50_ms']} vs {bare['p50_ms']} ms ({ratio:.2f}×)",
                )
            )
            out.append((f"p99 < 100 ms: {case}", r["p99_ms"] < 100, f"{r['p99_ms']} ms"))
            two = find(
                database=r["database"],
                deals=r["deals"],
                concurrency=8,
                app="salesbot_2w",
                command=r["command"],
            )
            if two:
                out.append(
                    (
                        f"2 workers ≥ bare req/s: {case}",
                        two["rps"] >= bare["rps"],
                        f"{two['rps']} vs {bare['rps']} req/s",
                    )
                )
    for database in sorted({r["database"] for r in flat}):
        sizes = sorted({r["deals"] for r in flat if r["database"] == database})
        if len(sizes) < 2:
            continue
        small, large = sizes[0], sizes[-1]
        for r in flat:
            if r["database"] != database or r["deals"] != large or r["app"] != "salesbot":
                continue
            base = find(
                database=database,
                deals=small,
                concurrency=r["concurrency"],
                app="salesbot",
                command=r["command"],
            )
            if base:
                ratio = r["p50_ms"] / base["p50_ms"]
                out.append(
                    (
                        f"p50 at {large:,} ≤ 1.2× at {small:,}: {r['command']} {database} "
                        f"c={r['concurrency']}",
                        ratio <= 1.2,
                        f"{r['p50_ms']} vs {base['p50_ms']} ms ({ratio:.2f}×)",
                    )
                )
    return out


def table(flat: list[dict]) -> str:
    head = ("database", "deals", "c", "app", "command", "p50/p95/p99 ms", "req/s", "CPU ms")
    lines = [head]
    for r in flat:
        lines.append(
            (
                r["database"],
                f"{r['deals']:,}",
                str(r["concurrency"]),
                r["app"],
                r["command"],
                f"{r['p50_ms']} / {r['p95_ms']} / {r['p99_ms']}",
                str(r["rps"]),
                str(r["cpu_ms"]),
            )
        )
    width = [max(len(x[i]) for x in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(width[i]) for i, c in enumerate(x)) for x in lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", action="append", required=True, help="repeat: one per database")
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--commands", default="show,list,pipeline")
    p.add_argument("--warmup", type=int, default=100, help="requests before each measurement")
    p.add_argument("--json", help="also write every figure to this file")
    args = p.parse_args(argv)
    results = []
    for db in args.db:
        for c in (int(x) for x in args.concurrency.split(",")):
            print(f"… {db} at concurrency {c}", file=sys.stderr, flush=True)
            results.append(measure(db, c, args.workers, args.requests, args.commands, args.warmup))
    flat = rows(results)
    print(table(flat))
    print()
    checks = verdicts(flat)
    for name, met, figures in checks:
        print(f"{'met   ' if met else 'MISSED'}  {name}: {figures}")
    print(f"\n{sum(m for _, m, _ in checks)} of {len(checks)} targets met")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": flat, "verdicts": checks}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
