"""The one way Salesbot's posts reach Slack: :class:`SlackSender` over ``slack_sdk.WebClient``.

The drainer (:mod:`scheduler.drain`) sends every outbox row through it: deal cards and their
updates, thread replies, DMs, digests, charts. It has no retry handlers of its own: a 429,
a 5xx or a network error surfaces as a retryable :class:`scheduler.drain.SendError` and the
outbox decides when to try again (``Retry-After`` honoured), so no thread sleeps on Slack's
behalf. Posts to one channel are paced ``pace`` seconds apart (Slack: about one message per
second per channel).

Every message carries the outbox key in its metadata, so :meth:`SlackSender.find_posted`
can tell, after a crash in the middle of a send, whether Slack already has it.

**Many workspaces (OAuth).** With a :class:`bot.tokens.Tokens`, the drainer sends each row
through :meth:`SlackSender.for_workspace`, a sender bound to that row's workspace's own bot
token (cached; a post never goes out with another workspace's token). When Slack refuses
the token (``invalid_auth``, ``account_inactive``, ``token_revoked``, an expired token that
cannot be refreshed) and the store holds no other, the error is *gone*: the drainer drops
the workspace's unsent posts at once instead of trying each one (scheduler.drain). With a
single ``SLACK_BOT_TOKEN`` every workspace is sent with it, as before.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from scheduler.drain import SendError
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
        "invalid_metadata_format",
        "is_archived",
        "message_not_found",
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
#: OAuth mode: Slack no longer takes the workspace's token (unless the store has a newer one).
REFUSED_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "account_inactive", "token_revoked", "not_authed", "token_expired"}
)
METADATA_TYPE = "salesbot_post"
HISTORY_PAGES = 5  # pages of 200 messages looked through when recovering a post


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
    """:class:`scheduler.drain.Sender` over ``slack_sdk.WebClient`` (see the module docstring)."""

    def __init__(self, client: WebClient, *, pace: float = 1.0, tokens=None):
        self.client = client
        self.pace = pace
        self.tokens = tokens  # bot.tokens.Tokens in OAuth mode
        self.workspace_id: int | None = None  # set on a sender bound by for_workspace
        self.team_id: str | None = None
        self._last: dict[str, float] = {}
        self._dms: dict[tuple[int | None, str], str] = {}
        self._clients: dict[str, WebClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings, *, pace: float = 1.0, engine=None, tokens=None):
        if settings.oauth_enabled:
            if tokens is None:
                from bot.oauth import tokens_for

                tokens = tokens_for(settings, engine)
            return cls(_client(None, settings.api_url), pace=pace, tokens=tokens)
        if not settings.bot_token:
            raise SystemExit("sending posts needs SLACK_BOT_TOKEN (or the SLACK_CLIENT_* trio)")
        return cls(_client(settings.bot_token, settings.api_url), pace=pace)

    def for_workspace(self, workspace_id: int) -> SlackSender:
        """This sender with the workspace's own bot token (OAuth mode; else itself). No token
        for it: a *gone* :class:`SendError`."""
        if self.tokens is None:
            return self
        team, token = self.tokens.for_workspace(workspace_id)
        if token is None:
            raise SendError(retryable=False, error="not_installed", gone=True)
        bound = copy.copy(self)  # shares the pacing, DM and client caches and their lock
        bound.workspace_id, bound.team_id = workspace_id, team
        with self._lock:
            client = self._clients.get(token)
            if client is None:
                if len(self._clients) > 4096:  # old tokens of rotations
                    self._clients.clear()
                client = self._clients[token] = _client(token, self.client.base_url)
        bound.client = client
        return bound

    def _refused(self, exc: SlackApiError) -> SendError:
        """Slack's error as ours; a refused token is checked against the store first."""
        error = classify(exc)
        if self.tokens is None or self.team_id is None or error.error not in REFUSED_TOKEN_ERRORS:
            return error
        token = self.client.token or ""
        if error.error == "token_expired":
            fresh = self.tokens.expired(self.team_id, token)
        else:
            fresh = self.tokens.refused(self.team_id, token)
        if fresh is not None:  # a newer token: try again with it at once
            return SendError(retryable=True, error=error.error, retry_after=0)
        log.warning("Slack refuses the token of %s: %s", self.team_id, error.error)
        return SendError(retryable=False, error=error.error, gone=True, token=token)

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
            raise self._refused(exc) from exc
        except (SlackClientError, OSError) as exc:  # network trouble: retry later
            raise SendError(retryable=True, error=f"{type(exc).__name__}: {exc}") from exc

    def post(
        self, channel: str, message: Message, thread_ts: str | None = None, *, key: str = ""
    ) -> str:
        self._wait_turn(channel)
        args = {"channel": channel, "text": message.text, "blocks": message.blocks}
        if thread_ts:
            args["thread_ts"] = thread_ts
        if key:
            args["metadata"] = {"event_type": METADATA_TYPE, "event_payload": {"key": key}}
        return self._call("chat.postMessage", **args)["ts"]

    def update(self, channel: str, ts: str, message: Message) -> None:
        self._call("chat.update", channel=channel, ts=ts, text=message.text, blocks=message.blocks)

    def dm_channel(self, user_id: str) -> str:
        key = (self.workspace_id, user_id)
        with self._lock:
            known = self._dms.get(key)
        if known is None:
            known = self._call("conversations.open", users=user_id)["channel"]["id"]
            with self._lock:
                self._dms[key] = known
        return known

    def permalink(self, channel: str, ts: str) -> str | None:
        """The message's permalink, or None when Slack cannot tell us now (never fatal)."""
        try:
            return self._call("chat.getPermalink", channel=channel, message_ts=ts)["permalink"]
        except SendError as exc:
            log.warning("chat.getPermalink failed for %s/%s: %s", channel, ts, exc.error)
            return None

    def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None, since: datetime | None
    ) -> str | None:
        """The ts of a message we posted with this outbox key, if Slack has it."""
        method = "conversations.replies" if thread_ts else "conversations.history"
        args: dict = {"channel": channel, "limit": 200, "include_all_metadata": True}
        if thread_ts:
            args["ts"] = thread_ts
        if since is not None:
            args["oldest"] = f"{since.timestamp() - 60:.6f}"
        for _ in range(HISTORY_PAGES):
            data = self._call(method, **args)
            for message in data.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == METADATA_TYPE and payload.get("key") == key:
                    return message.get("ts")
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                return None
            args["cursor"] = cursor
        return None

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
            raise self._refused(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise SendError(retryable=True, error=f"{type(exc).__name__}: {exc}") from exc


def _client(token: str | None, base_url: str) -> WebClient:
    client = WebClient(token=token, base_url=base_url, timeout=15)
    client.retry_handlers = []  # the outbox owns retries (see the module docstring)
    return client
