"""A py-spy recording of a serving process, and what it says in a few lines.

``bench.commands --profile`` records the Salesbot server (and its gunicorn workers) while
each command runs alone, then prints :func:`summary`: the share of samples in which each
of our packages is on the stack (inclusive), our busiest functions (inclusive), and the
functions the samples were in (self), whoever's they are. Only the thread holding the GIL
is sampled (``--gil``): without it, threads queued for the GIL after a driver call count as
busy in that call (SQLite's ``BEGIN`` looked like a sixth of the time at concurrency 8).
py-spy does not pause the server (``--nonblocking``) and then cannot always tell a waiting
thread from a running one, so samples whose innermost frame is a known wait
(:data:`WAITING`) are dropped and counted apart. Samples are still not CPU time (C code
that releases the GIL is not seen): read the shares next to the CPU ms per request.
py-spy is a dev extra (``pip install -e '.[dev]'``).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

OURS = ("bot", "commands", "domain", "storage", "views", "i18n", "scheduler")
_OURS = re.compile(r"\((?:.*/)?(" + "|".join(OURS) + r")/[^)]*\)")
_LINE = re.compile(r":\d+\)$")
# Innermost frames of a thread that waits (in C, which py-spy does not show): a pool worker
# on its queue, Bolt's request thread polling for the ack, a condition, waitress's loop.
WAITING = {
    "_worker (concurrent/futures/thread.py)",
    "Condition.wait (threading.py)",
    "Event.wait (threading.py)",
    "ThreadListenerRunner.run (slack_bolt/listener/thread_runner.py)",
    "poll (waitress/wasyncore.py)",
    "loop (waitress/wasyncore.py)",
    "select (selectors.py)",
    "Drainer._run (scheduler/drain.py)",
}


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("--profile needs py-spy: pip install -e '.[dev]' (or pip install py-spy)")
    return found


def record(pid: int, path: Path, rate: int = 250) -> subprocess.Popen:
    """Start sampling ``pid`` and its children into ``path`` (py-spy's raw, collapsed
    stacks) without pausing them, the thread holding the GIL only."""
    return subprocess.Popen(
        [py_spy(), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--gil"]
        + ["-r", str(rate), "-f", "raw", "-o", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(spy: subprocess.Popen) -> None:
    spy.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
    try:
        spy.wait(60)
    except subprocess.TimeoutExpired:
        spy.kill()


def summary(path: Path, top: int = 15) -> dict:
    """Inclusive shares of our packages and functions, and the top self frames, in % of
    the samples."""
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = waiting = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        if frames[-1] in WAITING:
            waiting += n
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
        for package in {m.group(1) for f in frames if (m := _OURS.search(f))}:
            packages[package] += n

    def share(counter: Counter, k: int) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(k)]

    mine = Counter({f: n for f, n in inclusive.items() if _OURS.search(f)})
    return {
        "samples": total,
        "waiting_dropped": waiting,
        "packages": share(packages, len(OURS)) if total else [],
        "ours": share(mine, top) if total else [],
        "self": share(own, top) if total else [],
    }


def text(profile: dict) -> str:
    lines = [
        f"py-spy: {profile['samples']} samples, {profile['waiting_dropped']} more waiting"
        " (dropped); inclusive % unless said"
    ]
    lines.append("  our packages: " + ", ".join(f"{p} {s}%" for p, s in profile["packages"]))
    lines.append("  our functions:")
    lines += [f"    {s:5.1f}%  {f}" for f, s in profile["ours"]]
    lines.append("  self (where the samples were):")
    lines += [f"    {s:5.1f}%  {f}" for f, s in profile["self"]]
    return "\n".join(lines)
