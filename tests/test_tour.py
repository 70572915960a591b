"""The README's tour, run verbatim on fresh demo data, answers what a newcomer expects.

The tour is read out of README.md (the fenced block under "A short tour") and must be the
repository's ``tour.txt`` word for word, so README, script and test cannot drift apart.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.console import Console
from cli.demo import fill
from domain.clock import FixedClock
from domain.workspaces import WorkspaceDefaults
from storage.db import make_engine, upgrade
from tests.factories import T0

ROOT = Path(__file__).parent.parent


def readme_tour() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^```\n(.*?)^```$", section, re.S | re.M)
    assert match, "the tour's fenced block"
    return match[1]


def test_the_readme_tour_is_tour_txt():
    assert readme_tour() == (ROOT / "tour.txt").read_text(encoding="utf-8")


def replies(text: str) -> list[str]:
    """What the console said, without the echoed commands and the posts' indented bodies."""
    return [line for line in text.splitlines() if not line.startswith(("> ", "    "))]


EXPECTED = {
    "en": [
        "Lead L41 created: *Kim Minsu*.",
        "Lead L41 converted into deal D201 *Hanbit Cloud — Kim Minsu*.",
        "@you moved D201 from Contact to Qualification.",
        "@you updated D201: expected close — → Dec 2, 2026; owner @you → @kim.",
        "@you added a note to D201: Called the CFO, they want a pilot first",
        "🎉 @you won D201.",
        "*@you · stalled*: 9 deals, ₩357,160,000",
        "Pipeline: New business",
        "Forecast by quarter: New business",
        "Pipeline metrics: New business",
        "Added task T8.",
        "✅ T1 done: First call",
    ],
    "ko": [
        "리드 L41을 만들었습니다: *Kim Minsu*",
        "리드 L41을 딜 D201로 전환했습니다: *Hanbit Cloud — Kim Minsu*",
        "@you님이 D201을 컨택 단계에서 니즈 파악 단계로 옮겼습니다.",
        "@you님이 D201을 수정했습니다: 예상 마감일 — → 2026년 12월 2일; 담당자 @you → @kim.",
        "@you님이 D201에 메모를 남겼습니다: Called the CFO, they want a pilot first",
        "🎉 @you님이 D201 딜을 성사시켰습니다.",
        "*@you · 정체된 딜*: 딜 9건, 3억 5,716만원",
        "파이프라인: 신규 영업",
        "분기별 매출 예측: 신규 영업",
        "파이프라인 지표: 신규 영업",
        "할 일 T8을 추가했습니다.",
        "✅ T1 완료: 첫 통화",
    ],
}


def run_tour(tmp_path, locale: str) -> str:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    defaults = WorkspaceDefaults(locale=locale)
    fill(engine, team_id="TLOCAL", now=T0, defaults=defaults, admin=("ULOCAL", "you"))
    out = io.StringIO()
    console = Console(
        engine, team_id="TLOCAL", user_id="ULOCAL", clock=FixedClock(T0), defaults=defaults, out=out
    )
    console.run_script(io.StringIO(readme_tour()))
    engine.dispose()
    return out.getvalue()


@pytest.fixture(scope="module")
def toured(tmp_path_factory):
    """The tour's output per language, and the directory of each demo database after it."""
    done = {}
    for locale in ("en", "ko"):
        where = tmp_path_factory.mktemp(f"tour-{locale}")
        done[locale] = (run_tour(where, locale), where)
    return done


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_tour_runs_on_the_demo_and_every_step_does_what_it_says(toured, locale):
    said = replies(toured[locale][0])
    # Each step's own answer, in order: no "not found", no "I don't know @kim", no error.
    positions = [said.index(line) for line in EXPECTED[locale]]
    assert positions == sorted(positions)
    commands = [line for line in readme_tour().splitlines() if line.startswith("/")]
    assert len(commands) == 15
    for line in said:
        assert "Traceback" not in line and "error id" not in line and "오류 ID" not in line


def test_switching_the_demo_to_english_after_the_korean_tour(toured):
    engine = make_engine(f"sqlite:///{toured['ko'][1] / 'demo.db'}")
    out = io.StringIO()
    console = Console(engine, team_id="TLOCAL", user_id="ULOCAL", clock=FixedClock(T0), out=out)
    console.run_script(io.StringIO("/pipeline settings language:en\n/pipeline\n"))
    assert replies(out.getvalue())[:3] == [
        "Settings changed:",
        "• language: 한국어 → English",
        "Pipeline: 신규 영업",  # the replies switch language; the team's names stay its own
    ]
    engine.dispose()


def test_dev_start_console_demo_script_tour_txt_in_a_fresh_directory(tmp_path):
    """What the README says to type, as a fresh process: the demo goes to its own file."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "SALESBOT_")) and k != "DATABASE_URL"
    }
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "console", "--demo", "--script", str(ROOT / "tour.txt")],
        cwd=tmp_path,
        env={**env, "SALESBOT_LOCALE": "en", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # quiet: no logs
    said = replies(done.stdout)
    assert said[0] == "Demo data: 200 deals, 40 leads, 30 companies in workspace TLOCAL."
    assert "Lead L41 converted into deal D201 *Hanbit Cloud — Kim Minsu*." in said
    assert "🎉 @you won D201." in said
    assert (tmp_path / "salesbot-demo.db").exists() and not (tmp_path / "salesbot.db").exists()
