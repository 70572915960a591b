"""One ``register(app, deps)`` per kind of Slack request."""

from __future__ import annotations

from bot.listeners import actions, automation, commands, events, fields, submissions


def register(app, deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    submissions.register(app, deps)
    events.register(app, deps)
    automation.register(app, deps)
    fields.register(app, deps)
