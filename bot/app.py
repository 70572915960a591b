"""``create_app(settings)``: the Bolt app, its Web API client and its listeners.

The client talks to ``SLACK_API_URL`` (Slack's by default; a local Slack-compatible server
in tests) and retries connection errors and 429s (honouring ``Retry-After``). Request
signature verification stays on. One error handler renders every failure the same way.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.context import Deps, resolve_context
from bot.listeners import register
from bot.settings import Settings
from commands.failures import user_message
from domain.clock import Clock, SystemClock

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> WebClient:
    client = WebClient(token=settings.bot_token, base_url=settings.api_url)
    client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def create_app(settings: Settings, *, engine, clock: Clock | None = None) -> App:
    deps = Deps(settings=settings, engine=engine, clock=clock or SystemClock())
    app = App(
        client=web_client(settings),
        signing_secret=settings.signing_secret or "",
        token_verification_enabled=False,  # no auth.test at start: the app must boot offline
        raise_error_for_unhandled_request=False,
        # Bolt's default pool has 5 threads; the server runs 8, so listeners never queue.
        listener_executor=ThreadPoolExecutor(16, thread_name_prefix="salesbot-listener"),
    )
    app.use(resolve_context(deps))
    register(app, deps)

    @app.error
    def on_error(error, body, context, response, respond):
        locale = (context or {}).get("salesbot_locale", "en")
        text = user_message(error, locale)
        if response is not None and response.status == 500:
            # Not acknowledged yet: the ack itself carries the message, ephemeral.
            if (body or {}).get("type") == "view_submission":
                return BoltResponse(status=200, body="")
            payload = {"response_type": "ephemeral", "text": text}
            return BoltResponse(
                status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
            )
        if respond is not None and (body or {}).get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
        return None

    app.salesbot_deps = deps  # for the server's health check and the scheduler
    return app
