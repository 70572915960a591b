"""The Web API methods FakeSlack answers, with Slack's response shapes and error codes.

Each method is ``fn(slack, args, token) -> dict`` and runs under FakeSlack's lock, so it may read
and change ``slack.state`` freely. Errors are raised as :class:`SlackError` and answered as
``{"ok": false, "error": ...}`` with HTTP 200, as Slack does.
"""

from __future__ import annotations

import copy
import mimetypes
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.fakeslack.blockkit import (
    MISSING_FALLBACK,
    message_error,
    validate_message,
    validate_view,
)

if TYPE_CHECKING:
    from tests.fakeslack.server import FakeSlack

Method = Callable[["FakeSlack", dict, str], dict]
METHODS: dict[str, Method] = {}

MESSAGE_FIELDS = ("text", "blocks", "attachments", "metadata")


class SlackError(Exception):
    def __init__(self, error: str, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.messages, self.extra = error, messages or [], extra

    def body(self) -> dict:
        body: dict = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


def method(name: str) -> Callable[[Method], Method]:
    def register(fn: Method) -> Method:
        METHODS[name] = fn
        return fn

    return register


def _required(args: dict, *names: str, error: str = "invalid_arguments") -> None:
    missing = [n for n in names if args.get(n) in (None, "")]
    if missing:
        raise SlackError(error, [f"missing required field: {n}" for n in missing])


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _is_user(id_: str) -> bool:
    return id_[:1] in ("U", "W")


def _conversation(args_channel: str) -> str:
    """A user id posts to the app's DM with that user, as chat.postMessage does."""
    return "D" + args_channel if _is_user(args_channel) else args_channel


def _find(slack: FakeSlack, channel: str, ts: str) -> dict:
    for message in slack.state.messages.get(channel, []):
        if message["ts"] == ts:
            return message
    raise SlackError("message_not_found")


def _check_metadata(args: dict) -> None:
    """Slack's message metadata: {"event_type": str, "event_payload": object}."""
    meta = args.get("metadata")
    if meta is None:
        return
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("event_type"), str)
        or not isinstance(meta.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format")


def _check_message(slack: FakeSlack, name: str, args: dict) -> None:
    _check_metadata(args)
    problems = validate_message(args)
    slack.record_problems(name, problems)
    error = message_error(problems)
    if error is not None:
        rejected = [p for p in problems if not p.startswith(MISSING_FALLBACK)]
        raise SlackError(error, rejected, errors=rejected)


# -- auth / apps ------------------------------------------------------------------------------
@method("auth.test")
def auth_test(slack: FakeSlack, args: dict, token: str) -> dict:
    team = slack.oauth.team_of(token)  # an OAuth install's token: its own team and bot
    return {
        "ok": True,
        "url": f"https://{slack.team_domain}.slack.com/",
        "team": team.name if team else slack.team_name,
        "user": "salesbot",
        "team_id": team.id if team else slack.team_id,
        "user_id": team.bot_user_id if team else slack.bot_user_id,
        "bot_id": team.bot_id if team else slack.bot_id,
        "is_enterprise_install": False,
    }


@method("apps.connections.open")
def apps_connections_open(slack: FakeSlack, args: dict, token: str) -> dict:
    if not token.startswith("xapp-"):
        raise SlackError("not_allowed_token_type")
    return {"ok": True, "url": slack.socket_url()}


# -- chat ---------------------------------------------------------------------------------------
@method("chat.postMessage")
def chat_post_message(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "channel", error="channel_not_found")
    _check_message(slack, "chat.postMessage", args)
    channel = _conversation(args["channel"])
    message = {"type": "message", "user": slack.bot_user_id, "bot_id": slack.bot_id}
    message.update({k: copy.deepcopy(args[k]) for k in MESSAGE_FIELDS if k in args})
    message["ts"] = slack.next_ts()
    if args.get("thread_ts"):
        message["thread_ts"] = args["thread_ts"]
        for parent in slack.state.messages.get(channel, []):
            if parent["ts"] == args["thread_ts"]:  # a parent posted elsewhere is fine too
                parent.setdefault("thread_ts", parent["ts"])
                parent["reply_count"] = parent.get("reply_count", 0) + 1
    slack.state.messages.setdefault(channel, []).append(message)
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}


@method("chat.update")
def chat_update(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "channel", error="channel_not_found")
    _required(args, "ts", error="message_not_found")
    message = _find(slack, args["channel"], args["ts"])
    _check_message(slack, "chat.update", args)
    message.update({k: copy.deepcopy(args[k]) for k in MESSAGE_FIELDS if k in args})
    message["edited"] = {"user": slack.bot_user_id, "ts": slack.next_ts()}
    return {
        "ok": True,
        "channel": args["channel"],
        "ts": args["ts"],
        "text": message.get("text", ""),
        "message": copy.deepcopy(message),
    }


@method("chat.delete")
def chat_delete(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "channel", error="channel_not_found")
    message = _find(slack, args["channel"], args.get("ts", ""))
    slack.state.messages[args["channel"]].remove(message)
    return {"ok": True, "channel": args["channel"], "ts": args["ts"]}


@method("chat.postEphemeral")
def chat_post_ephemeral(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "channel", error="channel_not_found")
    _required(args, "user", error="user_not_in_channel")
    _check_message(slack, "chat.postEphemeral", args)
    return {"ok": True, "message_ts": slack.next_ts()}


@method("chat.getPermalink")
def chat_get_permalink(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "channel", error="channel_not_found")
    _required(args, "message_ts", error="message_not_found")
    digits = args["message_ts"].replace(".", "")
    return {
        "ok": True,
        "channel": args["channel"],
        "permalink": f"https://fake.slack/archives/{args['channel']}/p{digits}",
    }


@method("reactions.add")
def reactions_add(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "channel", "timestamp", "name")
    message = _find(slack, args["channel"], args["timestamp"])
    reactions = message.setdefault("reactions", [])
    if any(r["name"] == args["name"] for r in reactions):
        raise SlackError("already_reacted")
    reactions.append({"name": args["name"], "users": [slack.bot_user_id], "count": 1})
    return {"ok": True}


# -- history -----------------------------------------------------------------------------------
def _visible(message: dict, args: dict) -> dict:
    out = copy.deepcopy(message)
    if not _truthy(args.get("include_all_metadata")):
        out.pop("metadata", None)
    return out


def _in_window(message: dict, args: dict) -> bool:
    ts = float(message["ts"])
    oldest = float(args.get("oldest") or 0)
    latest = float(args.get("latest") or 1e12)
    return oldest <= ts <= latest


def _page(items: list[dict], args: dict) -> dict:
    limit = max(1, min(int(args.get("limit") or 100), 1000))
    start = int(args.get("cursor") or 0)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return {
        "ok": True,
        "messages": page,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


@method("conversations.history")
def conversations_history(slack: FakeSlack, args: dict, token: str) -> dict:
    """Top-level messages of a channel, newest first (thread replies are not in history)."""
    _required(args, "channel", error="channel_not_found")
    channel = _conversation(args["channel"])
    found = [
        _visible(m, args)
        for m in slack.state.messages.get(channel, [])
        if (m.get("thread_ts") in (None, m["ts"])) and _in_window(m, args)
    ]
    found.sort(key=lambda m: float(m["ts"]), reverse=True)
    return _page(found, args)


@method("conversations.replies")
def conversations_replies(slack: FakeSlack, args: dict, token: str) -> dict:
    """A thread: its parent, then the replies, oldest first."""
    _required(args, "channel", error="channel_not_found")
    _required(args, "ts", error="thread_not_found")
    channel = _conversation(args["channel"])
    thread = [
        _visible(m, args)
        for m in slack.state.messages.get(channel, [])
        if (m["ts"] == args["ts"] or m.get("thread_ts") == args["ts"]) and _in_window(m, args)
    ]
    if not any(m["ts"] == args["ts"] for m in slack.state.messages.get(channel, [])):
        raise SlackError("thread_not_found")
    thread.sort(key=lambda m: float(m["ts"]))
    return _page(thread, args)


# -- conversations / users ----------------------------------------------------------------------
@method("conversations.open")
def conversations_open(slack: FakeSlack, args: dict, token: str) -> dict:
    if args.get("channel"):
        return {"ok": True, "channel": {"id": args["channel"]}}
    users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if not users:
        raise SlackError("users_list_not_supplied")
    if any(not _is_user(u) for u in users):
        raise SlackError("user_not_found")
    channel_id = "D" + users[0] if len(users) == 1 else "G" + "".join(sorted(users))
    already = channel_id in slack.state.opened_dms
    slack.state.opened_dms.add(channel_id)
    channel = {"id": channel_id}
    if _truthy(args.get("return_im")):
        channel = _channel_info(slack, channel_id)
    return {"ok": True, "no_op": already, "already_open": already, "channel": channel}


def _channel_info(slack: FakeSlack, channel_id: str) -> dict:
    kind = channel_id[:1]
    info = {
        "id": channel_id,
        "created": 1_700_000_000,
        "is_archived": False,
        "is_channel": kind == "C",
        "is_group": False,
        "is_im": kind == "D",
        "is_mpim": kind == "G",
        "is_private": kind in ("D", "G"),
        "is_member": True,
        "context_team_id": slack.team_id,
    }
    if kind == "D":
        info["user"] = channel_id[1:]
    else:
        name = f"channel-{channel_id.lower()}"
        info.update(name=name, name_normalized=name, creator="U0", is_general=False)
    info.update(copy.deepcopy(slack.channels.get(channel_id, {})))
    return info


@method("conversations.info")
def conversations_info(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "channel", error="channel_not_found")
    return {"ok": True, "channel": _channel_info(slack, args["channel"])}


@method("users.info")
def users_info(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "user", error="user_not_found")
    user_id = args["user"]
    if not _is_user(user_id):
        raise SlackError("user_not_found")
    real_name = f"User {user_id}"
    user = {
        "id": user_id,
        "team_id": slack.team_id,
        "name": user_id.lower(),
        "real_name": real_name,
        "deleted": False,
        "is_bot": user_id == slack.bot_user_id,
        "is_admin": False,
        "is_owner": False,
        "tz": "Asia/Seoul",
        "tz_label": "Korea Standard Time",
        "tz_offset": 32400,
        "profile": {"real_name": real_name, "display_name": user_id.lower(), "team": slack.team_id},
        "locale": "ko-KR",
    }
    user.update(copy.deepcopy(slack.users.get(user_id, {})))
    if not _truthy(args.get("include_locale")):
        user.pop("locale", None)  # Slack only tells the locale when asked
    return {"ok": True, "user": user}


# -- views --------------------------------------------------------------------------------------
def _check_view(slack: FakeSlack, name: str, view: Any) -> dict:
    if view in (None, ""):
        raise SlackError("invalid_arguments", ["missing required field: view"])
    problems = validate_view(view)
    slack.record_problems(name, problems)
    if problems:
        messages = [p.replace("[json-pointer:/", "[json-pointer:/view/") for p in problems]
        raise SlackError("invalid_arguments", messages)
    return view


def _take_trigger(slack: FakeSlack, args: dict) -> None:
    _required(args, "trigger_id")
    trigger = args["trigger_id"]
    if trigger in slack.state.expired_triggers:
        raise SlackError("expired_trigger_id")
    if trigger in slack.state.used_triggers:
        raise SlackError("trigger_exchanged")
    slack.state.used_triggers.add(trigger)


def _store_view(slack: FakeSlack, view: dict, *, view_id: str | None = None, **extra: Any) -> dict:
    view_id = view_id or slack.new_id("V")
    previous = slack.state.views.get(view_id, {})
    stored = {
        "id": view_id,
        "team_id": slack.team_id,
        "app_id": slack.app_id,
        "bot_id": slack.bot_id,
        "callback_id": "",
        "external_id": "",
        "private_metadata": "",
        "state": {"values": {}},
        "hash": f"{slack.next_ts()}.{view_id.lower()}",
        "root_view_id": previous.get("root_view_id", view_id),
        "previous_view_id": None,
        "close": None,
        "submit": None,
        "clear_on_close": False,
        "notify_on_close": False,
        **copy.deepcopy(view),
        **extra,
    }
    slack.state.views[view_id] = stored
    return copy.deepcopy(stored)


@method("views.open")
def views_open(slack: FakeSlack, args: dict, token: str) -> dict:
    view = _check_view(slack, "views.open", args.get("view"))
    _take_trigger(slack, args)
    return {"ok": True, "view": _store_view(slack, view)}


@method("views.push")
def views_push(slack: FakeSlack, args: dict, token: str) -> dict:
    view = _check_view(slack, "views.push", args.get("view"))
    _take_trigger(slack, args)
    return {"ok": True, "view": _store_view(slack, view)}


@method("views.update")
def views_update(slack: FakeSlack, args: dict, token: str) -> dict:
    view = _check_view(slack, "views.update", args.get("view"))
    view_id = args.get("view_id")
    if not view_id and args.get("external_id"):
        view_id = next(
            (
                v["id"]
                for v in slack.state.views.values()
                if v["external_id"] == args["external_id"]
            ),
            None,
        )
    if not view_id or view_id not in slack.state.views:
        raise SlackError("not_found")
    if args.get("hash") and args["hash"] != slack.state.views[view_id]["hash"]:
        raise SlackError("hash_conflict")
    return {"ok": True, "view": _store_view(slack, view, view_id=view_id)}


@method("views.publish")
def views_publish(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "user_id")
    view = _check_view(slack, "views.publish", args.get("view"))
    if view.get("type") != "home":
        raise SlackError("invalid_arguments", ["views.publish takes a view of type home"])
    home_id = next(
        (i for i, v in slack.state.views.items() if v.get("home_user") == args["user_id"]), None
    )
    stored = _store_view(slack, view, view_id=home_id, home_user=args["user_id"])
    stored.pop("home_user")
    return {"ok": True, "view": stored}


# -- files.info: a file a person shared (FakeSlack.share_file) or the bot uploaded -----------
@method("files.info")
def files_info(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "file")
    shared = slack.state.shared.get(args["file"])
    if shared is None:
        raise SlackError("file_not_found")
    return {"ok": True, "file": {k: v for k, v in shared.items() if k != "content"}}


# -- files (files_upload_v2) ----------------------------------------------------------------------
@method("files.getUploadURLExternal")
def files_get_upload_url_external(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "filename", "length")
    file_id = slack.new_id("F")
    slack.state.uploads[file_id] = {
        "filename": args["filename"],
        "length": int(args["length"]),
        "alt_txt": args.get("alt_txt"),
        "content": None,
    }
    return {"ok": True, "upload_url": f"{slack.base}upload/{file_id}", "file_id": file_id}


@method("files.completeUploadExternal")
def files_complete_upload_external(slack: FakeSlack, args: dict, token: str) -> dict:
    _required(args, "files")
    items = args["files"]
    if not isinstance(items, list) or not items:
        raise SlackError("invalid_arguments", ["files must be a JSON array of {id, title}"])
    channel = args.get("channel_id") or (str(args.get("channels") or "").split(",")[0] or None)
    if args.get("thread_ts") and not channel:
        raise SlackError("invalid_arguments", ["thread_ts needs channel_id"])
    done = []
    for item in items:
        upload = slack.state.uploads.get(item.get("id", ""))
        if upload is None or upload["content"] is None:
            raise SlackError("file_not_found")
        if len(upload["content"]) != upload["length"]:
            raise SlackError("file_upload_size_mismatch")
        done.append((item, upload))
    out = []
    for item, upload in done:
        del slack.state.uploads[item["id"]]
        title = item.get("title") or upload["filename"]
        slack.state.files.append(
            {
                "id": item["id"],
                "filename": upload["filename"],
                "title": title,
                "content": upload["content"],
                "channel": channel,
                "thread_ts": args.get("thread_ts"),
                "initial_comment": args.get("initial_comment"),
            }
        )
        out.append(
            {
                "id": item["id"],
                "name": upload["filename"],
                "title": title,
                "mimetype": mimetypes.guess_type(upload["filename"])[0]
                or "application/octet-stream",
                "size": len(upload["content"]),
                "permalink": f"https://fake.slack/files/{slack.bot_user_id}/{item['id']}",
            }
        )
    return {"ok": True, "files": out}
