"""``salesbot serve``: the Slack app over HTTP, on waitress.

waitress is a production-grade, pure-Python, multi-threaded WSGI server: no C build, no
separate process manager, the same on Linux, macOS and Windows, and Bolt's WSGI adapter plugs
straight in. Routes: ``POST /slack/events`` (commands, interactivity and events: one Request
URL for all three) and ``GET /healthz`` (200 when the database answers, 503 otherwise).

The server starts whether or not the database answers: ``/healthz`` says 503 and commands
answer "can't reach the database" until it is back (a schema that could not be brought up to
date at start is upgraded then, see :func:`cli.main.engine_for`). The process's outbox
drainer starts and stops with the server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading

import sqlalchemy as sa
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import create_app
from bot.settings import Settings

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


def wsgi_app(settings: Settings, *, engine, clock=None):
    bolt_app = create_app(settings, engine=engine, clock=clock)
    bolt = SlackRequestHandler(bolt_app, EVENTS_PATH)

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _health(engine, start_response)
        if path == EVENTS_PATH and method == "POST":
            return bolt(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    application.deps = bolt_app.salesbot_deps  # tests tune the ack budget
    return application


def start_drainer(deps) -> None:
    if deps.drainer is not None:
        deps.drainer.start()


def stop_drainer(deps) -> None:
    if deps.drainer is not None:
        deps.drainer.stop()


def _health(engine, start_response):
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        status, body = "200 OK", {"ok": True, "database": engine.dialect.name}
    except Exception as exc:  # the check is the point: report, do not raise
        log.warning("health check failed: %s", (str(exc).strip().splitlines() or [""])[0])
        status, body = "503 Service Unavailable", {"ok": False, "error": "database unavailable"}
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def make_server(settings: Settings, *, engine, host: str, port: int, clock=None, threads: int = 8):
    """A waitress server, not yet running (tests start it in a thread; ``port=0`` picks one)."""
    from waitress.server import create_server

    application = wsgi_app(settings, engine=engine, clock=clock)
    server = create_server(
        application,
        host=host,
        port=port,
        threads=threads,
        ident="salesbot",
        clear_untrusted_proxy_headers=True,
    )
    server.salesbot_deps = application.deps
    return server


def serve(settings: Settings, *, engine, host: str, port: int, scheduler: bool = True) -> None:
    if not settings.signing_secret:
        raise SystemExit("salesbot serve needs SLACK_SIGNING_SECRET (see .env.example)")
    server = make_server(settings, engine=engine, host=host, port=port)
    deps = server.salesbot_deps
    start_drainer(deps)
    background = start_scheduler(settings, engine, deps.drainer) if scheduler else None
    log.info("serving Slack events on http://%s:%s%s", host, server.effective_port, EVENTS_PATH)
    try:
        server.run()
    finally:
        if background is not None:
            background.shutdown(wait=False)
        stop_drainer(deps)


def start_scheduler(settings: Settings, engine, drainer=None):
    from scheduler import runner

    return runner.start(settings, engine=engine, drainer=drainer)


class Running:
    """A server started by :func:`serve_in_thread`; ``close()`` stops it cleanly."""

    def __init__(self, server, thread: threading.Thread, url: str) -> None:
        self.server, self.thread, self.url = server, thread, url

    def close(self) -> None:
        stop_drainer(self.server.salesbot_deps)

        # Close from waitress's own loop thread: closing from here races its select().
        def close_everything() -> None:
            for channel in list(self.server._map.values()):
                channel.close()

        with contextlib.suppress(OSError):  # the loop closed its trigger already: nothing left
            self.server.trigger.pull_trigger(close_everything)
        self.thread.join(timeout=5)
        self.server.task_dispatcher.shutdown()


def serve_in_thread(settings: Settings, *, engine, clock=None, host: str = "127.0.0.1") -> Running:
    """For tests and benchmarks: the app on a free loopback port, in a thread."""
    server = make_server(settings, engine=engine, host=host, port=0, clock=clock)
    start_drainer(server.salesbot_deps)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return Running(server, thread, f"http://{host}:{server.effective_port}")
