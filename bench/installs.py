"""OAuth installs at scale: N installed workspaces, and what a token lookup costs.

    python -m bench.installs --db URL [--workspaces 1000] [--lookups 20000] [--json FILE]

Installs N workspaces (TBENCH and N-1 others) in slack_sdk's installation store on the
database, as ``/slack/oauth_redirect`` would (``bench.commands --oauth-workspaces N`` does
this before it starts Salesbot in OAuth mode), then times the lookup every request and every
post makes (:class:`bot.tokens.Tokens`): cold (a read of the store, once per workspace and
process, and again after an uninstall, a reinstall or a refresh) and cached (every other
time), over random workspaces.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Installation

from bot.oauth import installation_store, tokens_for
from bot.settings import Settings
from storage.db import make_engine, upgrade
from storage.installations import bots, installations

CLIENT_ID = "bench.client"
TEAM = "TBENCH"


def teams(n: int) -> list[str]:
    return [TEAM] + [f"TB{i:06d}" for i in range(1, n)]


def install(db_url: str, n: int) -> float:
    """N installs (the earlier bench installs replaced); returns the seconds it took."""
    engine = make_engine(db_url)
    upgrade(engine)
    store = installation_store(Settings(client_id=CLIENT_ID), engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        for table in (bots, installations):
            conn.execute(sa.delete(table).where(table.c.client_id == CLIENT_ID))
    for team in teams(n):
        store.save(
            Installation(
                app_id="ABENCH",
                enterprise_id=None,
                team_id=team,
                team_name=team,
                user_id="UBENCH",
                bot_token=f"xoxb-{team}-bench",
                bot_id="BBENCH",
                bot_user_id="UBOT",
                bot_scopes="commands,chat:write",
            )
        )
    engine.dispose()
    return time.perf_counter() - started


def _quantiles(values: list[float]) -> dict:
    q = statistics.quantiles(values, n=100)
    return {"p50_us": round(q[49] * 1e6, 1), "p99_us": round(q[98] * 1e6, 1)}


def lookups(db_url: str, n: int, count: int, seed: int = 1) -> dict:
    engine = make_engine(db_url)
    settings = Settings(client_id=CLIENT_ID, client_secret="x", state_secret="x")
    tokens = tokens_for(settings, engine)  # as the app makes it
    rng = random.Random(seed)
    names = teams(n)
    cold, warm = [], []
    for team in names:  # every workspace's first lookup reads the store
        started = time.perf_counter()
        assert tokens.token(team) == f"xoxb-{team}-bench"
        cold.append(time.perf_counter() - started)
    for _ in range(count):
        team = rng.choice(names)
        started = time.perf_counter()
        tokens.token(team)
        warm.append(time.perf_counter() - started)
    engine.dispose()
    return {"workspaces": n, "cold": _quantiles(cold), "cached": _quantiles(warm)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--workspaces", type=int, default=1000)
    p.add_argument("--lookups", type=int, default=20000)
    p.add_argument("--json")
    args = p.parse_args(argv)
    seconds = install(args.db, args.workspaces)
    result = {"install_s": round(seconds, 2), **lookups(args.db, args.workspaces, args.lookups)}
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
