"""A server process for ``bench.commands``: Salesbot, or a bare Bolt app as the floor.

    python -m bench.server salesbot --db URL --api-url URL --port 0 [--workers 2]
    python -m bench.server oauth --db URL --api-url URL --port 0    # OAuth mode (bench.installs)
    python -m bench.server bare --port 0
    python -m bench.server fakeslack

Prints ``READY <port>`` on stdout when it accepts requests, then serves until killed. Both
apps run on waitress with the same thread count, so the ratio compares the apps, not the
servers; ``--workers N`` over 1 serves Salesbot as ``salesbot serve --workers N`` does
(bot.prefork: gunicorn, threaded workers of as many threads). ``fakeslack`` is the local Slack-compatible Web API (tests/fakeslack) in a process of
its own, so its work does not steal the load generator's interpreter and skew the latencies
the generator measures.
"""

from __future__ import annotations

import argparse
import logging
import sys

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

SECRET = "bench-signing-secret"
THREADS = 8


def bare_app(api_url: str):
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-bench", base_url=api_url)
    app = App(signing_secret=SECRET, token_verification_enabled=False, client=client)

    @app.command("/deal")
    @app.command("/pipeline")
    def ack_fixed(ack):
        ack(text="ok")

    return SlackRequestHandler(app)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["salesbot", "oauth", "bare", "fakeslack"])
    p.add_argument("--db")
    p.add_argument("--api-url", default="http://127.0.0.1:9/api/")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.kind == "fakeslack":
        import time

        from tests.fakeslack import FakeSlack

        with FakeSlack(team_id="TBENCH") as slack:
            print(f"READY {slack.base.rsplit(':', 1)[1].strip('/')}", flush=True)
            while True:
                time.sleep(3600)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth 1" is the load
    from waitress.server import create_server

    if args.kind == "bare":
        server = create_server(
            bare_app(args.api_url), host="127.0.0.1", port=args.port, threads=THREADS
        )
    else:
        from bot.server import make_server, start_drainer
        from bot.settings import Settings
        from storage.db import make_engine

        settings = Settings(
            bot_token="xoxb-bench",
            signing_secret=SECRET,
            api_url=args.api_url,
            database_url=args.db,
            slack_pace=0.0,  # the stand-in takes posts as fast as we send: the most work for us
        )
        if args.kind == "oauth":  # many workspaces, installed by bench.installs
            from dataclasses import replace

            from bench.installs import CLIENT_ID

            settings = replace(
                settings,
                bot_token=None,
                client_id=CLIENT_ID,
                client_secret="bench-client-secret",
                state_secret="bench-state-secret",
            )
        if args.workers > 1:
            return prefork(settings, args.port, args.workers)
        engine = make_engine(args.db)
        server = make_server(
            settings, engine=engine, host="127.0.0.1", port=args.port, threads=THREADS
        )
        start_drainer(server.salesbot_deps)  # cards and thread replies leave via the outbox
    print(f"READY {server.effective_port}", flush=True)
    server.run()
    return 0


def prefork(settings, port: int, workers: int) -> int:
    import socket

    from bot.prefork import Prefork

    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]

    def ready(_arbiter) -> None:
        print(f"READY {port}", flush=True)

    Prefork(
        settings,
        host="127.0.0.1",
        port=port,
        workers=workers,
        scheduler=False,
        when_ready=ready,
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
