"""``bench.fields`` at a tiny size: it fills a workspace, adds the two custom fields and their
values once, times the three lists and prints a plan where each filter reads its index."""

from __future__ import annotations

import io
import json

from bench import fields as bench


def test_the_custom_field_bench_prints_its_figures_and_plan(db_url):
    out = io.StringIO()
    result = bench.main(["--url", db_url, "--deals", "300", "--repeat", "1"], out=out)
    printed = json.loads(out.getvalue().strip().splitlines()[-1])
    assert printed["deals"] == 300 and set(printed["timings_ms"]) == set(bench.LISTS)
    rows = printed["rows"]  # open deals only; about 22 % have budget >= 1억, 18 % 제조
    assert 0 < rows["list_two_filters"] < rows["list_one_filter"] < 300
    plan = "\n".join(result["plan"])
    assert "ix_custom_value_" in plan and "Seq Scan on custom_value" not in plan
    again = bench.main(["--url", db_url, "--deals", "300", "--repeat", "1", "--reuse"], out=out)
    assert again["fields"] == result["fields"]  # the fields and values are made once
