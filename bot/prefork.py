"""``salesbot serve --workers N``: N serving processes on one port (gunicorn, threaded workers).

One Python process runs one core at a time (the GIL), and a command is mostly Python, so a
server with more cores than processes leaves them idle. gunicorn's master binds the port,
forks N workers and restarts any that dies; each worker is a ``gthread`` worker, a pool of
:data:`THREADS` threads like waitress's in the one-process server (bot.server), since a
request mostly waits on the database and on Slack between bits of Python.

What each worker holds, it builds after the fork, never before: its own engine and
connection pool (connections must not cross a fork), its Bolt app, and its outbox drainer
(woken by its own commits; several drainers share the outbox safely through its leases).
The master migrates the schema before forking and then holds no connection.

The scheduler runs in exactly one worker: the master marks the first worker it forks, and
marks the next one it forks after that worker exits (a crash, ``--max-requests``), so a
schedule always runs and never runs twice per server. Another process running one as well
(a second server, ``salesbot jobs run``) is safe: the outbox keys make every post once.

SQLite with several processes: WAL lets readers read while one process writes, writes
begin with ``BEGIN IMMEDIATE`` and wait up to the busy timeout (30 s) for the other
processes' writers (storage.db).
"""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from bot.settings import Settings

log = logging.getLogger(__name__)
THREADS = 8  # per worker, as the one-process server's waitress threads
SCHEDULER = "salesbot_scheduler"  # the worker attribute that marks the scheduler's worker


class Prefork(BaseApplication):
    def __init__(
        self,
        settings: Settings,
        *,
        host: str,
        port: int,
        workers: int,
        scheduler: bool,
        **options,
    ):
        self.settings, self.scheduler = settings, scheduler
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": THREADS,
            "timeout": 60,
            "graceful_timeout": 10,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "pre_fork": self.pre_fork,
            "post_worker_init": self.post_worker_init,
            "worker_exit": self.worker_exit,
            **options,  # bench.server: when_ready
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """In each worker, after the fork: its own engine and app."""
        from bot.server import wsgi_app
        from storage.db import make_engine

        engine = make_engine(self.settings.database_url)
        return wsgi_app(self.settings, engine=engine)

    def pre_fork(self, arbiter, worker) -> None:
        """In the master: the new worker runs the scheduler if no live worker does."""
        running = any(getattr(w, SCHEDULER, False) for w in arbiter.WORKERS.values())
        setattr(worker, SCHEDULER, self.scheduler and not running)

    def post_worker_init(self, worker) -> None:
        from bot.server import start_drainer, start_scheduler

        deps = getattr(worker.wsgi, "deps", None)
        if deps is None:  # the app failed to load: gunicorn answers 500 and logs why
            return
        start_drainer(deps)
        worker.salesbot_background = None
        if getattr(worker, SCHEDULER, False):
            worker.salesbot_background = start_scheduler(self.settings, deps.engine, deps.drainer)
            log.info("worker %s runs the scheduler", worker.pid)

    def worker_exit(self, arbiter, worker) -> None:
        from bot.server import finish_listeners, stop_drainer

        background = getattr(worker, "salesbot_background", None)
        if background is not None:
            background.shutdown(wait=False)
        application = getattr(worker, "wsgi", None)
        if getattr(application, "bolt", None) is not None:
            finish_listeners(application.bolt)
        deps = getattr(application, "deps", None)
        if deps is not None:
            stop_drainer(deps)


def serve_workers(
    settings: Settings, *, engine, host: str, port: int, workers: int, scheduler: bool
) -> None:
    engine.dispose()  # the master keeps no connection: each worker opens its own
    log.info("serving Slack events on http://%s:%s/slack/events, %s workers", host, port, workers)
    Prefork(settings, host=host, port=port, workers=workers, scheduler=scheduler).run()
