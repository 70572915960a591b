"""``bench.inprocess`` at a tiny size: every command answers 200 through both apps, the
table has its rows, and ``--replies`` writes real replies (not errors) for both locales."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import UTC, datetime

import sqlalchemy as sa

from bench import data, inprocess
from storage.db import make_engine


def test_the_frame_bench_runs_every_command_through_both_apps(db_url, tmp_path):
    data.fill(db_url, 40, now=datetime.now(UTC), out=io.StringIO())
    out = io.StringIO()
    with redirect_stdout(out):
        assert inprocess.main(["--db", db_url, "--requests", "3", "--warmup", "1"]) == 0
    printed = out.getvalue()
    for kind in ("help", "show", "list", "pipeline"):
        assert f"| {kind} | " in printed
    assert "statuses" not in printed  # only printed when some answer was not a 200

    engine = make_engine(db_url)
    with engine.begin() as conn:  # an English member beside the Korean workspace
        conn.execute(sa.text("UPDATE member SET locale = 'en' WHERE slack_user_id = 'UB00001'"))
    engine.dispose()
    path = tmp_path / "replies.jsonl"
    with redirect_stdout(io.StringIO()):
        inprocess.main(["--db", db_url, "--replies", str(path), "--commands", "help,show"])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows and all(r["status"] == 200 for r in rows)
    helps = {r["user"]: json.loads(r["body"])["text"] for r in rows if r["text"] == "help"}
    assert any(t.startswith("*/deal* — deals") for t in helps.values())  # English
    assert any("딜" in t for t in helps.values())  # Korean
