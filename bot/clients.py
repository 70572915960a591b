"""One Web API client per workspace instead of one per request (issue 17).

Bolt's ``App._init_context`` builds a new ``WebClient`` for every request (a copy of the
app's client: base URL, timeout, retry handlers, headers, the request's ``team_id``), so that
OAuth mode can set the workspace's token on it (``context.client.token = …``) without touching
another request's client. Building it costs about as much as our whole middleware when its
copies are fresh. :class:`App` keeps the clients instead, one per (enterprise, team): the
same workspace always gets the same client, and only that workspace's token is ever set on it
(Bolt's authorization sets the token the workspace's ``authorize`` returns; a rotated token is
the same workspace's), so a listener still using it after its ack never sees another
workspace's token. With a single ``SLACK_BOT_TOKEN`` every request of the workspace shares one.

A ``WebClient`` keeps no state between calls (each call builds its own HTTP request; its
retry handlers are shared by Bolt's copies already), so threads may share one.
"""

from __future__ import annotations

import threading

from slack_bolt import App as BoltApp
from slack_bolt.logger import get_bolt_app_logger
from slack_sdk import WebClient

from bot.listening import DirectListener, PromptAck, PromptRunner, direct

MAX_CLIENTS = 10_000  # workspaces whose client is kept; past it the cache starts afresh


class Clients:
    """Web API clients like ``base``, one per (enterprise id, team id) and app token."""

    def __init__(self, base: WebClient, token: str | None) -> None:
        self.base = base
        self.token = token
        self._kept: dict[tuple[str | None, str | None], WebClient] = {}
        self._lock = threading.Lock()

    def client(self, enterprise_id: str | None, team_id: str | None) -> WebClient:
        key = (enterprise_id, team_id)
        client = self._kept.get(key)
        if client is None:
            client = self._new(team_id)
            if team_id is None and enterprise_id is None and self.token is None:
                return client  # no workspace to keep it for: a token may be set on it
            with self._lock:
                if len(self._kept) >= MAX_CLIENTS:
                    self._kept.clear()
                client = self._kept.setdefault(key, client)
        return client

    def forget(self, team_id: str) -> None:
        """The workspace was installed again or uninstalled: its next request gets a new
        client (one whose token only its authorization sets)."""
        with self._lock:
            for key in [k for k in self._kept if k[1] == team_id]:
                del self._kept[key]

    def _new(self, team_id: str | None) -> WebClient:
        """Exactly Bolt's per-request client (slack_bolt.App._init_context)."""
        base = self.base
        return WebClient(
            token=self.token,
            base_url=base.base_url,
            timeout=base.timeout,
            ssl=base.ssl,
            proxy=base.proxy,
            headers=base.headers,
            team_id=team_id,
            logger=base.logger,
            retry_handlers=base.retry_handlers.copy() if base.retry_handlers is not None else None,
        )


class App(BoltApp):
    """Bolt's ``App`` with :class:`Clients` in each request's context, its listeners called
    without keyword arguments built per call, and its request thread woken by the ack
    instead of polling for it (bot.listening)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clients = Clients(self._client, self._token)
        self._listener_runner = PromptRunner.of(self._listener_runner)

    def _init_context(self, req) -> None:
        # What Bolt's _init_context puts in the context (tests/test_clients.py holds the two
        # to the same keys and values), with the workspace's kept client.
        context = req.context
        context["logger"] = get_bolt_app_logger(app_name=self.name, base_logger=self._base_logger)
        context["token"] = self._token
        context["client"] = self.clients.client(context.enterprise_id, context.team_id)
        context["listener_runner"] = self.listener_runner
        context["ack"] = PromptAck()  # what Bolt's context.ack would make, and a wake-up

    def _register_listener(self, functions, primary_matcher, *args, **kwargs):
        value = super()._register_listener(functions, direct(primary_matcher), *args, **kwargs)
        self._listeners[-1] = DirectListener.of(self._listeners[-1])
        return value
