"""bench.automation at a tiny size: it runs and prints the figures it promises."""

from __future__ import annotations

import json

from bench import automation


def test_the_automation_bench_times_deals_with_and_without_the_defaults(tmp_path, capsys):
    assert automation.main(["--url", f"sqlite:///{tmp_path / 'b.db'}", "--deals", "5"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["deals"] == 5
    assert (
        set(result["on"])
        == set(result["paused"])
        == {
            "create_p50",
            "create_p95",
            "move_p50",
            "move_p95",
        }
    )
