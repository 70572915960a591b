"""One ``register(app, deps)`` per kind of Slack request."""

from __future__ import annotations

from bot.listeners import (
    actions,
    alerts,
    automation,
    commands,
    events,
    fields,
    imports,
    inbound,
    scoring,
    submissions,
)


def register(app, deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    submissions.register(app, deps)
    events.register(app, deps)
    automation.register(app, deps)
    imports.register(app, deps)
    inbound.register(app, deps)
    alerts.register(app, deps)
    scoring.register(app, deps)
    fields.register(app, deps)
