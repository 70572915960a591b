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

:class:`PromptRunner` is Bolt's listener runner with one difference: Bolt's request thread
polls for the listener's ack every 10 ms (``time.sleep(0.01)``), so every answer waits for
the next poll, ~10 ms at the median even when the listener acked in one; ours waits on the
ack (:class:`PromptAck`, an event set with the response) and answers as soon as it is given.
The ack still comes from whichever thread gives it (the listener, or bot.budget's watch past
the budget), and a listener that never acks still gets Bolt's warning after ``ack_timeout``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.context.ack import Ack
from slack_bolt.kwargs_injection import build_required_kwargs
from slack_bolt.listener.custom_listener import CustomListener
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.listener_matcher import ListenerMatcher
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.logger.messages import warning_did_not_call_ack
from slack_bolt.request.payload_utils import to_action, to_command, to_event, to_view
from slack_bolt.response import BoltResponse

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


class PromptAck(Ack):
    """Bolt's ``ack``; giving it a response also wakes the thread waiting for one."""

    def __init__(self) -> None:
        self._given = threading.Event()
        super().__init__()  # sets response = None

    @property
    def response(self):
        return self._response

    @response.setter
    def response(self, value) -> None:
        self._response = value
        if value is not None:
            self._given.set()

    def wait(self, timeout: float) -> None:
        self._given.wait(timeout)


class PromptRunner(ThreadListenerRunner):
    """Bolt's ``ThreadListenerRunner`` whose request thread waits on a :class:`PromptAck`
    instead of polling for it. Anything else (``process_before_response``, lazy listeners,
    a request whose ack is Bolt's own) runs as Bolt runs it."""

    @classmethod
    def of(cls, runner: ThreadListenerRunner) -> PromptRunner:
        return cls(
            logger=runner.logger,
            process_before_response=runner.process_before_response,
            listener_error_handler=runner.listener_error_handler,
            listener_start_handler=runner.listener_start_handler,
            listener_completion_handler=runner.listener_completion_handler,
            listener_executor=runner.listener_executor,
            lazy_listener_runner=runner.lazy_listener_runner,
        )

    def run(self, request, response, listener_name, listener, starting_time=None):
        ack = request.context.ack
        if (
            self.process_before_response
            or request.lazy_only
            or listener.lazy_functions
            or not isinstance(ack, PromptAck)
        ):
            return super().run(request, response, listener_name, listener, starting_time)
        starting_time = starting_time if starting_time is not None else time.time()
        if listener.auto_acknowledgement:
            ack()  # events are acked at once

        # From here to the wait, Bolt's own code (slack_bolt 1.30, thread_runner.py).
        def run_ack_function_asynchronously():
            nonlocal response
            try:
                self.listener_start_handler.handle(request=request, response=response)
                listener.run_ack_function(request=request, response=response)
            except Exception as e:
                if listener.auto_acknowledgement:
                    self.listener_error_handler.handle(error=e, request=request, response=response)
                else:
                    if response is None:
                        response = BoltResponse(status=500)
                    response.status = 500
                    if ack.response is not None:  # already acknowledged
                        response = None
                    self.listener_error_handler.handle(error=e, request=request, response=response)
                    ack.response = response
            finally:
                self.listener_completion_handler.handle(request=request, response=response)

        self.listener_executor.submit(run_ack_function_asynchronously)
        ack.wait(max(listener.ack_timeout - (time.time() - starting_time), 0.0))
        if response is None and ack.response is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
            return None
        if response is None and ack.response is not None:
            self._debug_log_completion(starting_time, ack.response)
            return ack.response
        return response
