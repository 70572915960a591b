"""Bolt's listeners and matchers without keyword arguments built per call (issue 17).

Bolt calls a listener, and the built-in matcher that decides whether it is the one, with
keyword arguments it builds by name for every call (``slack_bolt.kwargs_injection``): a dict
of some thirty candidates (the payload tried eight ways, every context utility, every
context key) from which the function's own names are then picked. That is ~18 µs each,
twice for a slash command, and once per listener tried before the one that matches for
buttons and modals: more than our middleware costs when its copies are fresh.

:class:`DirectMatcher` calls a built-in matcher's function (Bolt's own: ``func(body)``) with
the body; :class:`DirectListener` hands a listener exactly the values Bolt would for the
names it takes (the same objects: ``context.ack``, ``to_action(body)``, …), and for a name
it does not know falls back to Bolt's builder. bot.clients.App registers every listener
this way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.kwargs_injection import build_required_kwargs
from slack_bolt.listener.custom_listener import CustomListener
from slack_bolt.listener_matcher import ListenerMatcher
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.request.payload_utils import to_action, to_command, to_event, to_view

# What build_required_kwargs would pass for each name (listeners: no ``next``).
_ARGS: dict[str, Callable[[Any, Any], Any]] = {
    "ack": lambda request, listener: request.context.ack,
    "body": lambda request, listener: request.body,
    "client": lambda request, listener: request.context.client,
    "context": lambda request, listener: request.context,
    "respond": lambda request, listener: request.context.respond,
    "say": lambda request, listener: request.context.say,
    "logger": lambda request, listener: listener.logger,
    "action": lambda request, listener: to_action(request.body),
    "view": lambda request, listener: to_view(request.body),
    "event": lambda request, listener: to_event(request.body),
    "command": lambda request, listener: to_command(request.body),
}


def direct(matcher: ListenerMatcher) -> ListenerMatcher:
    """A built-in matcher whose function takes only the body, called without Bolt's
    keyword building; any other matcher as it is."""
    if isinstance(matcher, BuiltinListenerMatcher) and matcher.arg_names == ["body"]:
        return DirectMatcher(matcher.func)
    return matcher


class DirectMatcher(ListenerMatcher):
    def __init__(self, func: Callable[[dict], bool]) -> None:
        self.func = func

    def matches(self, req, resp) -> bool:
        return self.func(req.body)


class DirectListener(CustomListener):
    """Bolt's ``CustomListener`` with the listener's arguments picked by name once."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        names = list(self.arg_names)
        known = all(n in _ARGS for n in names)
        self._getters = tuple((n, _ARGS[n]) for n in names) if known else None

    @classmethod
    def of(cls, listener: CustomListener) -> DirectListener:
        """``listener`` (as Bolt's ``_register_listener`` made it), called directly."""
        made = cls(
            app_name=listener.app_name,
            ack_function=listener.ack_function,
            lazy_functions=listener.lazy_functions,
            matchers=listener.matchers,
            middleware=listener.middleware,
            auto_acknowledgement=listener.auto_acknowledgement,
            ack_timeout=listener.ack_timeout,
        )
        made.logger = listener.logger
        return made

    def run_ack_function(self, *, request, response):
        if self._getters is None:
            return super().run_ack_function(request=request, response=response)
        return self.ack_function(**{name: get(request, self) for name, get in self._getters})


def bolts_kwargs(listener: CustomListener, request, response) -> dict:
    """What Bolt itself would pass (tests hold :class:`DirectListener` to it)."""
    return build_required_kwargs(
        logger=listener.logger,
        required_arg_names=list(listener.arg_names),
        request=request,
        response=response,
        this_func=listener.ack_function,
    )
