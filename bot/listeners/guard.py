"""The guard every listener wears: its errors reach the app's one error handler."""

from __future__ import annotations

import functools


class _Ack:
    """Bolt's ``ack``, remembering whether it was called."""

    def __init__(self, ack) -> None:
        self.ack = ack
        self.done = False

    def __call__(self, *args, **kwargs):
        self.done = True
        return self.ack(*args, **kwargs)


def guarded(deps):
    """Route a listener's errors to the app's one error handler (``@app.error``), whenever
    they happen.

    Before the ack, Bolt does that itself and the handler's answer rides in the ack. After
    the ack (a modal that would not open, a button's work), Bolt would call the handler too,
    then set the already-sent ack's response to None — and a request thread that had not
    yet seen the ack answers Slack 404. So an error after the ack is handed to the same
    handler here, and the listener returns normally.
    """

    def wrap(listener):
        @functools.wraps(listener)
        def run(**kwargs):
            ack = kwargs["ack"] = _Ack(kwargs["ack"])
            try:
                return listener(**kwargs)
            except Exception as error:
                if not ack.done:
                    raise
                deps.on_error(
                    error=error,
                    body=kwargs.get("body"),
                    context=kwargs.get("context"),
                    response=None,
                    respond=kwargs.get("respond"),
                    client=kwargs.get("client"),
                )
                return None

        return run

    return wrap
