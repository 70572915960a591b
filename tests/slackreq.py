"""Requests exactly as Slack sends them to the app: Slack's bodies, signed with the secret.

Each builder returns ``(body: bytes, headers: dict)`` ready for :func:`post`; the app under test
verifies the signature for real, so a wrong shape or signature shows up as it would in Slack.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

APP_ID = "AFAKEAPP"
VERIFICATION_TOKEN = "fake-verification-token"  # Slack's deprecated token, still sent
TEAM_DOMAIN = "fake"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_trigger_seq = itertools.count(1)


def new_trigger_id() -> str:
    """A unique trigger id shaped like Slack's ("<number>.<number>.<hex>")."""
    n = next(_trigger_seq)
    return f"{int(time.time())}.{n}.{hashlib.sha1(str(n).encode()).hexdigest()[:32]}"


def sign(body: bytes, secret: str, ts: int | None = None, *, content_type: str = FORM) -> dict:
    """Slack's v0 signature headers: HMAC-SHA256 of "v0:{ts}:{body}" with the signing secret."""
    ts = int(time.time()) if ts is None else int(ts)
    base = f"v0:{ts}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
    }


def post(url: str, body: bytes, headers: dict, *, timeout: float = 10) -> tuple[int, str]:
    """POSTs and returns (status, body text), also for 4xx/5xx answers."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def _channel_name(channel_id: str) -> str:
    return "directmessage" if channel_id.startswith("D") else f"channel-{channel_id.lower()}"


def _user(user_id: str, team_id: str) -> dict:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def _form_payload(payload: dict, secret: str, ts: int | None) -> tuple[bytes, dict]:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return body, sign(body, secret, ts)


def slash(
    command: str,
    text: str,
    *,
    team_id: str,
    user_id: str,
    channel_id: str = "C1",
    response_url: str,
    trigger_id: str | None = None,
    secret: str,
    ts: int | None = None,
) -> tuple[bytes, dict]:
    """A slash command invocation (form-encoded, as Slack posts it)."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    body = urlencode(fields).encode()
    return body, sign(body, secret, ts)


def block_actions(
    actions: list[dict],
    *,
    team_id: str,
    user_id: str,
    channel_id: str | None = None,
    message: dict | None = None,
    view: dict | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
    secret: str,
    ts: int | None = None,
) -> tuple[bytes, dict]:
    """A click on a button / select: in a message (channel_id + message) or in a view."""
    action_ts = f"{time.time():.6f}"
    filled = [{"block_id": "b", "type": "button", "action_ts": action_ts, **a} for a in actions]
    if view is not None:
        container = {"type": "view", "view_id": view.get("id", "VFAKE")}
    else:
        container = {
            "type": "message",
            "message_ts": (message or {}).get("ts", ""),
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
    payload: dict = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": filled,
    }
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
        payload["state"] = view.get("state", {"values": {}})
    if response_url is not None:
        payload["response_url"] = response_url
    return _form_payload(payload, secret, ts)


def view_submission(
    view: dict,
    *,
    team_id: str,
    user_id: str,
    trigger_id: str | None = None,
    secret: str,
    ts: int | None = None,
) -> tuple[bytes, dict]:
    """A modal's submit: ``view`` needs callback_id, private_metadata and state.values."""
    full_view = {
        "id": "VFAKE",
        "team_id": team_id,
        "type": "modal",
        "callback_id": "",
        "private_metadata": "",
        "state": {"values": {}},
        "hash": f"{int(time.time())}.fakehash",
        "title": {"type": "plain_text", "text": "Salesbot"},
        "blocks": [],
        "app_id": APP_ID,
        "external_id": "",
        "root_view_id": view.get("id", "VFAKE"),
        "previous_view_id": None,
        "bot_id": "BBOT",
        **view,
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": full_view,
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _form_payload(payload, secret, ts)


def event(
    event: dict,
    *,
    team_id: str,
    event_id: str,
    secret: str,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    bot_user_id: str = "UBOT",
    ts: int | None = None,
) -> tuple[bytes, dict]:
    """An Events API delivery; ``retry_num`` adds Slack's retry headers (1, 2, 3)."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{event_id}",
    }
    body = json.dumps(envelope).encode()
    headers = sign(body, secret, ts, content_type=JSON)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return body, headers
