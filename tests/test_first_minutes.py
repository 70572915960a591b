"""The first ten minutes (issue 13): settings checked at start, a quiet console whose
scheduler minds its own workspace and holds its backlog, demo data kept away from Slack."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, func
from sqlmodel import select as sql_select

from cli.console import Console
from cli.demo import fill
from domain.clock import FixedClock, SystemClock
from domain.workspaces import WorkspaceDefaults
from i18n import t
from storage.db import make_engine, upgrade
from storage.models import Outbox, Workspace
from tests.factories import T0

SALESBOT = [sys.executable, "-m", "cli.main"]
SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL")


def clean_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SLACK_VARS}
    env = {k: v for k, v in env.items() if not k.startswith("SALESBOT_")}
    return {**env, **extra}


def salesbot(*args, cwd, stdin="", **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SALESBOT, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=clean_env(PYTHONPATH=str(os.getcwd()), **env),
        timeout=180,
    )


# --- settings checked at start ----------------------------------------------------------------

BAD_SETTINGS = [
    (
        {"SALESBOT_TIMEZONE": "Seoul", "SALESBOT_LOCALE": "en"},
        "SALESBOT_TIMEZONE: `Seoul` is not a timezone: write an IANA name like `Asia/Seoul` or "
        "`America/New_York`. Did you mean SALESBOT_TIMEZONE=Asia/Seoul?",
    ),
    (
        {"SALESBOT_CURRENCY": "WON", "SALESBOT_LOCALE": "en"},
        "SALESBOT_CURRENCY: `WON` is not a currency: use a three-letter code like KRW or USD. "
        "Did you mean SALESBOT_CURRENCY=KRW?",
    ),
    (
        {"SALESBOT_LOCALE": "fr"},
        "SALESBOT_LOCALE: 지원하지 않는 언어입니다: `fr`. English 또는 한국어를 골라 주세요.",
    ),
    (
        {"SLACK_BOT_TOKEN": "xoxb-1", "SALESBOT_LOCALE": "en"},
        "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (to serve HTTP) nor "
        "SLACK_APP_TOKEN (for Socket Mode) is. Add one of them to .env, or remove "
        "SLACK_BOT_TOKEN to try the console with demo data.",
    ),
    (
        {"SALESBOT_TIMEZONE": "Seoul"},  # Korean, the default language
        "SALESBOT_TIMEZONE: 시간대가 아닙니다: `Seoul`. `Asia/Seoul`, `America/New_York` 같은 "
        "IANA 이름을 입력해 주세요. SALESBOT_TIMEZONE=Asia/Seoul 아닌가요?",
    ),
]


@pytest.mark.parametrize(("env", "message"), BAD_SETTINGS)
def test_a_setting_that_cannot_work_stops_salesbot_with_one_clear_line(tmp_path, env, message):
    done = salesbot(cwd=tmp_path, **env)
    header = "salesbot did not start:" if env.get("SALESBOT_LOCALE") == "en" else None
    lines = done.stderr.splitlines()
    assert done.returncode == 2
    assert lines[1:] == [f"  {message}"]
    assert header is None or lines[0] == header
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "salesbot.db").exists()  # stopped before touching anything


def test_serve_without_a_signing_secret_says_which_variable_is_missing(tmp_path):
    done = salesbot("serve", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-1", SALESBOT_LOCALE="en")
    assert done.returncode == 2
    assert done.stderr.splitlines()[1].startswith("  SLACK_SIGNING_SECRET is not set: ")
    assert "Traceback" not in done.stderr


def test_every_bad_variable_is_named_at_once(tmp_path):
    done = salesbot(
        cwd=tmp_path,
        SALESBOT_LOCALE="en",
        SALESBOT_TIMEZONE="Mars/Base",
        SALESBOT_CURRENCY="WON",
        SALESBOT_SLACK_PACE="fast",
    )
    assert done.returncode == 2
    names = [line.split(":")[0].strip() for line in done.stderr.splitlines()[1:]]
    assert names == ["SALESBOT_TIMEZONE", "SALESBOT_CURRENCY", "SALESBOT_SLACK_PACE"]


# --- demo data never meets Slack -------------------------------------------------------------


def test_demo_data_goes_to_a_file_of_its_own(tmp_path):
    done = salesbot("demo", "--deals", "20", cwd=tmp_path, SALESBOT_LOCALE="en")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Demo data: 20 deals, 40 leads")
    assert (tmp_path / "salesbot-demo.db").exists()
    assert not (tmp_path / "salesbot.db").exists()


def test_serve_refuses_a_database_that_holds_the_demo(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    made = salesbot("demo", "--deals", "5", cwd=tmp_path, DATABASE_URL=url)
    assert made.returncode == 0, made.stderr
    done = salesbot(
        "serve",
        "--port",
        "0",
        cwd=tmp_path,
        DATABASE_URL=url,
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        SALESBOT_LOCALE="en",
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-2] == "salesbot did not start:"
    assert done.stderr.splitlines()[-1] == (
        "  This database holds the demo workspace TLOCAL (made by `salesbot demo` or the "
        "console), so Salesbot will not serve Slack from it: demo deals would be posted to "
        "your real team. Point DATABASE_URL at another database (unset, it is ./salesbot.db; "
        "the demo lives in ./salesbot-demo.db)."
    )
    assert "Traceback" not in done.stderr


# --- the console ------------------------------------------------------------------------------


def demo_console(tmp_path, locale="en"):
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    now = SystemClock().now()
    defaults = WorkspaceDefaults(locale=locale)
    fill(engine, team_id="TLOCAL", now=now, defaults=defaults, admin=("ULOCAL", "you"))
    fill(engine, team_id="TOTHER", now=now, deals=40, defaults=defaults)
    out = io.StringIO()
    console = Console(engine, team_id="TLOCAL", user_id="ULOCAL", out=out, defaults=defaults)
    return engine, console, out


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize(
    ("locale", "line", "before_nine"),
    [
        (
            "en",
            "43 stall warnings, 2 daily stall summaries, 34 renewal alerts would be sent; "
            "`:jobs` to see them.",
            "43 stall warnings would be sent; `:jobs` to see them.",
        ),
        (
            "ko",
            "Slack이었다면 지금 발송될 메시지: 정체 경고 43건, 일일 정체 요약 2건, 갱신 알림 34건. "
            "`:jobs`로 내용을 볼 수 있습니다.",
            "Slack이었다면 지금 발송될 메시지: 정체 경고 43건. `:jobs`로 내용을 볼 수 있습니다.",
        ),
    ],
)
def test_the_console_scheduler_holds_its_backlog_and_says_so_in_one_line(
    tmp_path, locale, line, before_nine
):
    # The demo is made on the real clock, and the daily summaries and renewal alerts are due at
    # 09:00 in Seoul: before that hour today's are not due yet (and yesterday's are not
    # caught up days later), so only the hourly stall warnings are held.
    if datetime.now(ZoneInfo("Asia/Seoul")).hour < 9:
        line = before_nine
    engine, console, out = demo_console(tmp_path, locale)
    background = console.start_scheduler()
    try:
        wait_for(lambda: "`:jobs`" in out.getvalue())
        time.sleep(1.5)  # nothing more comes
        assert out.getvalue().splitlines() == [line]
        console.handle(":jobs")
        shown = out.getvalue()
        assert shown.count("\n#@U") + shown.count("\n#C") >= 43
        assert t(locale, "console.meta_help").splitlines()[0] not in shown  # the posts, no help
        out.truncate(0)
        out.seek(0)
        console.handle(":jobs")
        lines = out.getvalue().splitlines()
        assert lines[0].startswith(
            "No scheduled posts are waiting." if locale == "en" else "대기 중인 예약 메시지가"
        )
        assert lines[1:] == []  # that one line, not the help after it
    finally:
        background.stop_announcing.set()
        background.shutdown(wait=True)  # and its drainer
    with Session(engine) as session:
        other = session.exec(sql_select(Workspace).where(Workspace.team_id == "TOTHER")).one()
        others = session.exec(sql_select(func.count()).where(Outbox.workspace_id == other.id)).one()
    assert others == 0  # the console's scheduler minds its own workspace only
    engine.dispose()


@pytest.mark.parametrize(
    ("line", "en", "ko"),
    [
        (
            ":jobs run stall-digest tomorrow",
            "`tomorrow` is not a date and time. Write it like `2026-12-01T09:00+09:00`, as "
            "`salesbot jobs run --at` takes it.",
            "날짜와 시각이 아닙니다: `tomorrow`. `salesbot jobs run --at`처럼 "
            "`2026-12-01T09:00+09:00` 형식으로 입력해 주세요.",
        ),
        (
            ":jobs run stall-digest --at 2026-12-01T09:00",
            "`2026-12-01T09:00` has no UTC offset, so whose 09:00 is it? Write it like "
            "`2026-12-01T09:00+09:00`.",
            "`2026-12-01T09:00`에 UTC 오프셋이 없어 어느 시간대의 시각인지 알 수 없습니다. "
            "`2026-12-01T09:00+09:00`처럼 입력해 주세요.",
        ),
    ],
)
def test_jobs_run_with_a_bad_time_explains_the_form(db_url, line, en, ko):
    engine = make_engine(db_url)
    for locale, expected in (("en", en), ("ko", ko)):
        out = io.StringIO()
        console = Console(
            engine,
            team_id=f"T{locale}",
            clock=FixedClock(T0),
            defaults=WorkspaceDefaults(locale=locale),
            out=out,
        )
        console.handle(line)
        assert out.getvalue().splitlines() == [expected]
    engine.dispose()


def test_jobs_run_takes_the_clis_at_form(db_url):
    engine = make_engine(db_url)
    out = io.StringIO()
    console = Console(
        engine, team_id="T1", clock=FixedClock(T0), defaults=WorkspaceDefaults(locale="en"), out=out
    )
    console.handle('/deal new "Quiet deal" amount:1000000')
    console.handle(":jobs run stall-digest --at 2026-12-20T09:00+09:00")
    assert "Quiet deal — Contact" in out.getvalue()
    assert (
        out.getvalue()
        .splitlines()[-1]
        .startswith("Job stall-digest ran at 2026-12-20T09:00:00+09:00: 1 sent")
    )
    engine.dispose()


def test_the_interactive_console_shows_replies_not_logs(tmp_path):
    """A real terminal: ``salesbot`` alone on demo data, one command, then quit."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [*SALESBOT],
        cwd=tmp_path,
        stdin=child,
        stdout=child,
        stderr=child,
        env=clean_env(PYTHONPATH=os.getcwd(), SALESBOT_LOCALE="en", HOME=str(tmp_path)),
        close_fds=True,
    )
    os.close(child)
    seen = b""

    def read_until(marker: bytes, timeout: float = 120.0) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(main, 65536)
                except OSError:
                    return

    try:
        read_until(b"salesbot> ")
        read_until(b"`:jobs` to see them.")
        os.write(main, b"/deal list mine stalled\r")
        read_until(b"stalled*:")
        time.sleep(1)
        os.write(main, b":quit\r")
        proc.wait(timeout=30)
        read_until(b"\x00", timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    text = seen.decode("utf-8", "replace")
    assert "No Slack tokens are configured" in text
    assert "would be sent; `:jobs` to see them." in text
    assert "stalled*:" in text
    for noise in ("INFO", "apscheduler", "Running job", "Traceback", "WARNING"):
        assert noise not in text, text
    assert (tmp_path / ".salesbot_history").exists()  # line editing keeps a history
