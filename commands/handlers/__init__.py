"""Handlers: one function per command type, each ``(cmd, ctx) -> Outcome``.

A handler turns a typed command into one domain call and renders the result with a view.
Modules register themselves with :func:`handles`; :func:`run` dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from commands.context import Ctx
from commands.outcome import Outcome

Handler = Callable[..., Outcome]
_HANDLERS: dict[type, Handler] = {}
F = TypeVar("F", bound=Handler)


def handles(*types: type) -> Callable[[F], F]:
    def register(fn: F) -> F:
        for tp in types:
            _HANDLERS[tp] = fn
        return fn

    return register


def run(cmd: object, ctx: Ctx) -> Outcome:
    handler = _HANDLERS.get(type(cmd))
    if handler is None:
        _load()
        handler = _HANDLERS[type(cmd)]
    return handler(cmd, ctx)


def _load() -> None:
    # Importing the modules registers their handlers.
    from commands.handlers import (  # noqa: F401
        alerts,
        automation,
        closing,
        coach,
        companies,
        deals,
        fields,
        help,
        inbound,
        lead_set,
        leads,
        pipelines,
        reports,
        scoring,
        tasks,
    )
