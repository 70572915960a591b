"""``salesbot socket``: the same app over Socket Mode (no public URL needed)."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import create_app
from bot.server import _start_scheduler
from bot.settings import Settings

log = logging.getLogger(__name__)


def handler(settings: Settings, *, engine, clock=None) -> SocketModeHandler:
    if not settings.app_token:
        raise SystemExit("salesbot socket needs SLACK_APP_TOKEN (see .env.example)")
    app = create_app(settings, engine=engine, clock=clock)
    return SocketModeHandler(app, settings.app_token)


def run(settings: Settings, *, engine, scheduler: bool = True) -> None:
    socket = handler(settings, engine=engine)
    background = _start_scheduler(settings, engine) if scheduler else None
    try:
        socket.start()
    finally:
        if background is not None:
            background.shutdown(wait=False)
