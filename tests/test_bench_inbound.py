"""The inbound flood benchmark at a tiny size: it runs on both databases and its figures add
up (every accepted lead stored and posted once, the rest limited)."""

from __future__ import annotations

from bench import inbound as inbound_bench


def test_the_flood_benchmark_counts_every_post_and_loses_no_accepted_lead(db_url):
    result = inbound_bench.run(db_url, posts=90, senders=4)
    assert result["accepted"] + result["limited"] == 90 and result["other"] == 0
    assert result["accepted"] >= 60  # the burst, and what a second or two refilled
    assert result["stored"] == result["accepted"] == result["posted"]
