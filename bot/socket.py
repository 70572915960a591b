"""``salesbot socket``: the same app over Socket Mode (no public URL needed)."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import create_app
from bot.server import start_drainer, start_scheduler, stop_drainer
from bot.settings import Settings

log = logging.getLogger(__name__)


class SalesbotSocket(SocketModeHandler):
    """Bolt's Socket Mode handler; the process's outbox drainer runs while it is connected."""

    def connect(self) -> None:
        start_drainer(self.app.salesbot_deps)
        super().connect()

    def close(self) -> None:
        super().close()
        stop_drainer(self.app.salesbot_deps)


def handler(settings: Settings, *, engine, clock=None) -> SalesbotSocket:
    if not settings.app_token:
        raise SystemExit("salesbot socket needs SLACK_APP_TOKEN (see .env.example)")
    app = create_app(settings, engine=engine, clock=clock)
    return SalesbotSocket(app, settings.app_token)


def run(settings: Settings, *, engine, scheduler: bool = True) -> None:
    socket = handler(settings, engine=engine)
    deps = socket.app.salesbot_deps
    background = start_scheduler(settings, engine, deps.drainer) if scheduler else None
    try:
        socket.start()
    finally:
        if background is not None:
            background.shutdown(wait=False)
        socket.close()
