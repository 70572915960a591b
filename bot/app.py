"""``create_app(settings)``: the Bolt app, its Web API clients, the drainer and the listeners.

Two clients talk to ``SLACK_API_URL`` (Slack's by default; a local Slack-compatible server in
tests): Bolt's (one kept per workspace, bot.clients), for what answers a request (modals, ephemeral replies, ``users.info``), which
retries connection errors, 429s (honouring ``Retry-After``) and transient 5xx; and the
:class:`bot.sender.SlackSender` of the outbox drainer, which retries nothing itself (the
outbox does, durably). Request signature verification stays on. One error handler renders
every failure the same way (bot.deliver.fail).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.clients import App
from bot.context import Deps, resolve_context
from bot.deliver import Request, fail
from bot.listeners import installs, register
from bot.oauth import oauth_flow, tokens_for
from bot.sender import SlackSender
from bot.settings import Settings
from bot.tokens import TeamAuthorize
from commands.failures import user_message
from domain.clock import Clock, SystemClock
from scheduler.drain import Drainer
from storage.db import unreachable

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> WebClient:
    client = WebClient(token=settings.bot_token, base_url=settings.api_url)
    client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    return client


def drainer_for(settings: Settings, engine, tokens=None) -> Drainer:
    """The outbox drainer of this process (started by the server, stopped with it)."""
    sender = SlackSender.from_settings(
        settings, pace=settings.slack_pace, engine=engine, tokens=tokens
    )
    return Drainer(
        engine, sender, lease=settings.outbox_lease, backoff_base=settings.outbox_backoff
    )


def create_app(settings: Settings, *, engine, clock: Clock | None = None) -> App:
    tokens = tokens_for(settings, engine)  # OAuth mode: each workspace's own token
    sending = settings.bot_token or tokens is not None
    drainer = drainer_for(settings, engine, tokens) if sending else None
    deps = Deps(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        drainer=drainer,
        tokens=tokens,
    )
    per_workspace = {}
    if tokens is not None:
        per_workspace = {
            "authorize": TeamAuthorize(tokens),
            "oauth_flow": oauth_flow(settings, deps, tokens),
        }
    app = App(
        client=web_client(settings),
        signing_secret=settings.signing_secret or "",
        token_verification_enabled=False,  # no auth.test at start: the app must boot offline
        raise_error_for_unhandled_request=False,
        # Bolt's default pool has 5 threads; the server runs 8, so listeners never queue.
        listener_executor=ThreadPoolExecutor(16, thread_name_prefix="salesbot-listener"),
        **per_workspace,
    )
    deps.clients = app.clients  # forgotten with the workspace (Deps.forget)
    app.use(resolve_context(deps))
    register(app, deps)
    installs.register(app, deps)

    @app.error
    def on_error(error, body, context, response, respond, client):
        body = body if isinstance(body, dict) else {}
        locale = (context or {}).get("salesbot_locale") or settings.defaults.locale
        acked = response is None or response.status != 500
        if not acked and body.get("type") != "block_actions":
            return _unacknowledged(error, body, locale)
        request = Request.from_body(body, client=client, respond=respond)
        by_dm = None
        if context and context.get("salesbot_workspace_id") and not unreachable(error):
            by_dm = lambda message: deps.dm(context, request.user_id, message)  # noqa: E731
        fail(request, error, locale, by_dm=by_dm)
        return None if acked else BoltResponse(status=200, body="")

    deps.on_error = on_error  # for errors after the ack (bot.listeners.guarded)
    app.salesbot_deps = deps  # for the server's health check and the scheduler
    return app


def _unacknowledged(error, body: dict, locale: str) -> BoltResponse:
    """Not acknowledged yet: the ack itself carries the message."""
    text = user_message(error, locale)
    kind = body.get("type")
    if kind == "view_submission":
        blocks = ((body.get("view") or {}).get("blocks")) or []
        field = next(
            (b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"),
            None,
        )
        payload = {"response_action": "errors", "errors": {field: text[:2000]}} if field else {}
        return _json(payload)
    if kind == "event_callback":
        # Slack retries an event we could not take (database down): answer so it does.
        return BoltResponse(status=503 if unreachable(error) else 200, body="")
    if kind in ("block_suggestion", "view_closed", "shortcut", "message_action"):
        return BoltResponse(status=200, body="")
    return _json({"response_type": "ephemeral", "text": text})


def _json(payload: dict) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
    )
