"""How scheduled posts leave the building: a minimal ``Sender`` protocol and its Slack version.

The drain (:mod:`scheduler.drain`) only needs three verbs — post a message, find a user's DM
channel, upload a file — and one error type that says whether trying again can help. Keeping
the protocol this small lets ``salesbot console`` print the same posts instead of sending them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from views.message import Message

log = logging.getLogger(__name__)

#: Slack errors that no amount of retrying fixes: record them once and stop.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_is_archived",
        "channel_not_found",
        "invalid_arguments",
        "invalid_auth",
        "invalid_blocks",
        "invalid_blocks_format",
        "is_archived",
        "missing_scope",
        "msg_too_long",
        "no_text",
        "not_allowed_token_type",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
        "user_disabled",
        "user_not_found",
        "users_not_found",
        "file_upload_size_mismatch",
    }
)
#: Slack errors that say "not now": the row stays pending and is retried with backoff.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "timeout",
    }
)


class SendError(Exception):
    """A post Slack did not take. ``retryable`` decides between backoff and giving up."""

    def __init__(self, *, retryable: bool, error: str, retry_after: float | None = None):
        super().__init__(error)
        self.retryable = retryable
        self.retry_after = retry_after
        self.error = error


class Sender(Protocol):
    def post(self, channel: str, message: Message, thread_ts: str | None = None) -> str:
        """Post ``message`` (into ``thread_ts`` when given); returns the new message's ts."""

    def dm_channel(self, user_id: str) -> str:
        """The id of the bot's DM channel with ``user_id`` (opened if needed)."""

    def upload(
        self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str
    ) -> None:
        """Share a file in ``channel`` (in the thread ``thread_ts`` when given)."""


def classify(exc: SlackApiError) -> SendError:
    """Turn slack-sdk's error into ours: HTTP 429/5xx and known transient codes are retryable."""
    response = exc.response
    status = getattr(response, "status_code", 200) or 200
    data = getattr(response, "data", None)
    error = (data.get("error") if isinstance(data, dict) else None) or f"http_{status}"
    headers = getattr(response, "headers", None) or {}
    retry_after = None
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                retry_after = float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                retry_after = None
    if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
        return SendError(retryable=True, error=error, retry_after=retry_after)
    if error in PERMANENT_ERRORS or 400 <= status < 500:
        return SendError(retryable=False, error=error)
    # An error code we do not know: better a slow retry than a lost post.
    return SendError(retryable=True, error=error, retry_after=retry_after)


class SlackSender:
    """:class:`Sender` over ``slack_sdk.WebClient``.

    No retry handlers: a 429 surfaces as a retryable :class:`SendError` and the outbox decides
    when to try again (``Retry-After`` honoured), so no thread sleeps on Slack's behalf. Posts
    to one channel are paced ``pace`` seconds apart (Slack: about one message per second per
    channel), which keeps a digest split into several messages under the limit.
    """

    def __init__(self, client: WebClient, *, pace: float = 1.0):
        self.client = client
        self.pace = pace
        self._last: dict[str, float] = {}
        self._dms: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings, *, pace: float = 1.0) -> SlackSender:
        if not settings.bot_token:
            raise SystemExit("sending scheduled posts needs SLACK_BOT_TOKEN")
        client = WebClient(token=settings.bot_token, base_url=settings.api_url, timeout=15)
        client.retry_handlers = []  # the outbox owns retries (see the class docstring)
        return cls(client, pace=pace)

    def _wait_turn(self, channel: str) -> None:
        if self.pace <= 0:
            return
        with self._lock:
            last = self._last.get(channel)
            now = time.monotonic()
            wait = 0.0 if last is None else last + self.pace - now
            self._last[channel] = now + max(wait, 0.0)
        if wait > 0:
            time.sleep(wait)

    def _call(self, method: str, **kwargs):
        try:
            return self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            raise classify(exc) from exc
        except (SlackClientError, OSError) as exc:  # network trouble: retry later
            raise SendError(retryable=True, error=f"{type(exc).__name__}: {exc}") from exc

    def post(self, channel: str, message: Message, thread_ts: str | None = None) -> str:
        self._wait_turn(channel)
        args = {"channel": channel, "text": message.text, "blocks": message.blocks}
        if thread_ts:
            args["thread_ts"] = thread_ts
        response = self._call("chat.postMessage", **args)
        return response["ts"]

    def dm_channel(self, user_id: str) -> str:
        if user_id not in self._dms:
            response = self._call("conversations.open", users=user_id)
            self._dms[user_id] = response["channel"]["id"]
        return self._dms[user_id]

    def upload(
        self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str
    ) -> None:
        self._wait_turn(channel)
        kwargs = {"channel": channel, "filename": filename, "content": content, "title": title}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            self.client.files_upload_v2(**kwargs)
        except SlackApiError as exc:
            raise classify(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise SendError(retryable=True, error=f"{type(exc).__name__}: {exc}") from exc
