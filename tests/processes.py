"""Salesbot as a real process: ``salesbot serve`` (or ``jobs run``) in a subprocess, killable.

For faults that only a separate process shows: ``kill -9`` between an ack and a post, a
restart that picks the outbox up, a server that starts while its database is down. The
process talks to the test's FakeSlack over HTTP and to the test's database, configured
through the environment exactly as an operator would (``.env.example``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakeslack import FakeSlack
from tests.slackapp import SECRET, Harness

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(db_url: str, slack: FakeSlack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SALESBOT_"))}
    env.update(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.url,
        SALESBOT_DEALS_CHANNEL="CDEALS",
        SALESBOT_LOCALE="en",
        SALESBOT_SLACK_PACE="0",
        SALESBOT_OUTBOX_BACKOFF="0.25",
        SALESBOT_OUTBOX_LEASE="3",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Process:
    proc: subprocess.Popen
    log: Path
    url: str = ""

    def kill(self) -> None:
        """``kill -9``: no cleanup, no goodbye, exactly like an OOM kill or a lost host."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def health(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@contextmanager
def serving(
    db_url: str,
    slack: FakeSlack,
    tmp_path: Path,
    *,
    name: str = "serve",
    healthy=True,
    workers: int = 1,
    scheduler: bool = False,
    port: int | None = None,
    **env,
) -> Iterator[Process]:
    """``salesbot serve --no-scheduler --workers 1`` on ``port`` (default: a free one); waits
    until it answers /healthz (200, or any answer at all with ``healthy=False``)."""
    port = port or free_port()
    log = tmp_path / f"{name}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1"]
            + ["--port", str(port), "--workers", str(workers)]
            + ([] if scheduler else ["--no-scheduler"]),
            cwd=ROOT,
            env=environment(db_url, slack, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    process = Process(proc, log, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            status = health(process.url)
            if status == 200 or (status and not healthy):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"salesbot serve did not come up:\n{process.output()}")
            time.sleep(0.1)
        yield process
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def harness(process: Process, slack: FakeSlack, engine) -> Harness:
    return Harness(url=process.url, slack=slack, engine=engine)


def run_cli(db_url: str, slack: FakeSlack, *args: str, timeout: float = 120, **env):
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=environment(db_url, slack, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(db_url: str, slack: FakeSlack, tmp_path: Path, *args: str, **env) -> Process:
    log = tmp_path / f"cli-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env=environment(db_url, slack, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Process(proc, log)
