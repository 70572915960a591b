"""bench.commands --profile: what the py-spy summary says about a recording."""

from __future__ import annotations

from bench import spy

RAW = "\n".join(
    [
        # 6 samples in /deal show: our handler calling SQLAlchemy
        "process 1:main;run (commands/handlers/__init__.py:30);show (commands/handlers/deals.py:230);"
        "deal_page (domain/deal_page.py:99);execute (sqlalchemy/engine/base.py:1450) 6",
        # 3 samples in the middleware, one of them on another line of the same function
        "process 1:main;process (bot/context.py:250);config_version (storage/workspace_version.py:30) 2",
        "process 1:main;process (bot/context.py:251) 1",
        # 1 sample in Bolt alone
        "process 1:main;dispatch (slack_bolt/app/app.py:538) 1",
        # 10 samples of a pool worker waiting for work: not busy, dropped
        "process 1:main;_worker (concurrent/futures/thread.py:81) 10",
    ]
)


def test_the_profile_summary_gives_inclusive_shares_of_our_code_and_the_self_frames(tmp_path):
    raw = tmp_path / "show.raw"
    raw.write_text(RAW + "\n")
    profile = spy.summary(raw)
    assert profile["samples"] == 10 and profile["waiting_dropped"] == 10
    packages = dict(profile["packages"])
    assert packages == {"commands": 60.0, "domain": 60.0, "bot": 30.0, "storage": 20.0}
    ours = dict(profile["ours"])
    assert ours["deal_page (domain/deal_page.py)"] == 60.0
    assert ours["process (bot/context.py)"] == 30.0  # two lines, one function
    assert "dispatch (slack_bolt/app/app.py)" not in ours
    assert profile["self"][0] == ("execute (sqlalchemy/engine/base.py)", 60.0)
    printed = spy.text(profile)
    assert "10 samples, 10 more waiting" in printed and "60.0%  deal_page" in printed
