"""The fake Slack answers slack-sdk, slack-bolt and Socket Mode the way Slack does.

Every end-to-end test trusts this server, so each feature is proved here through the real
clients (WebClient, WebhookClient, SocketModeClient, Bolt) rather than by poking at internals.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient
from waitress.server import create_server

from bot.server import stop_waitress
from tests import slackreq
from tests.fakeslack import FakeSlack
from tests.fakeslack.blockkit import validate_message, validate_view

SECRET = "fake-signing-secret"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def modal(title: str = "New deal", **extra) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [section("Hi")],
    }


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(team_id="T1", bot_user_id="UBOT") as fake:
        yield fake


@pytest.fixture
def client(slack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.url)


# -- server basics ---------------------------------------------------------------------------------
def test_starts_fast_on_a_free_loopback_port():
    started = time.perf_counter()
    with FakeSlack() as one, FakeSlack() as two:
        elapsed = time.perf_counter() - started
        assert one.url.startswith("http://127.0.0.1:") and one.url.endswith("/api/")
        assert one.url != two.url
    assert elapsed < 0.2, "two servers start well within 100 ms each"


def test_auth_test_names_the_bot_and_team(client):
    reply = client.auth_test()
    assert (reply["team_id"], reply["user_id"], reply["bot_id"]) == ("T1", "UBOT", "BBOT")
    assert reply["url"].startswith("https://") and reply["team"]


def test_a_call_without_token_is_not_authed(slack):
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=slack.url).chat_postMessage(channel="C1", text="hi")
    assert raised.value.response["error"] == "not_authed"
    assert slack.messages("C1") == []


def test_form_encoded_call_with_token_field_and_json_string_blocks(slack):
    blocks = [section("*Deal* D1")]
    body = urllib.parse.urlencode(
        {"token": "xoxb-form", "channel": "C1", "text": "Deal D1", "blocks": json.dumps(blocks)}
    ).encode()
    with urllib.request.urlopen(slack.url + "chat.postMessage", data=body) as response:
        assert json.loads(response.read())["ok"] is True
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["blocks"] == blocks, "JSON-string fields arrive parsed, as Slack reads them"
    assert call.token == "xoxb-form" and "token" not in call.args


def test_unknown_method(client, slack):
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.meMessageOfTheFuture", json={"channel": "C1"})
    assert raised.value.response["error"] == "unknown_method"


# -- chat -----------------------------------------------------------------------------------------
def test_post_message_with_valid_blocks_is_recorded_and_shown_in_the_channel(client, slack):
    reply = client.chat_postMessage(channel="C1", text="Deal D1", blocks=[section("*D1*")])
    assert reply["ok"] and reply["channel"] == "C1"
    assert reply["message"]["text"] == "Deal D1"
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["channel"] == "C1" and call.args["blocks"] == [section("*D1*")]
    assert call.status == 200 and call.response["ts"] == reply["ts"]
    assert [m["text"] for m in slack.messages("C1")] == ["Deal D1"]
    assert slack.problems == []


def test_timestamps_are_unique_increasing_slack_style(client):
    before = time.time()
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(3)]
    assert before - 1 <= float(stamps[0]) <= time.time() + 1, "the time it was posted"
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 3
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_fifty_one_blocks_are_invalid_blocks_and_a_problem(client, slack):
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="digest", blocks=[section("x")] * 51)
    assert raised.value.response["error"] == "invalid_blocks"
    assert "no more than 50 blocks" in raised.value.response["errors"][0]
    assert slack.problems and slack.problems[0][0] == "chat.postMessage"
    refused = slack.calls_to("chat.postMessage", ok_only=False)
    assert [(c.status, c.response["ok"]) for c in refused] == [(200, False)]
    assert slack.calls_to("chat.postMessage") == [] and slack.messages("C1") == []


def test_too_long_text_and_empty_messages_are_refused_like_slack(client, slack):
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert raised.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as raised, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C1", text="")
    assert raised.value.response["error"] == "no_text"


def test_blocks_without_text_fallback_post_but_are_a_problem(client, slack):
    """Slack accepts them; our notification policy does not, so tests see it in problems."""
    with pytest.warns(UserWarning, match="text"):
        assert client.chat_postMessage(channel="C1", blocks=[section("*D1*")])["ok"]
    assert "missing text fallback" in slack.problems[0][1][0]


def test_thread_replies_carry_thread_ts(client, slack):
    parent = client.chat_postMessage(channel="C1", text="card")["ts"]
    client.chat_postMessage(channel="C1", text="moved to Won", thread_ts=parent)
    card, reply = slack.messages("C1")
    assert reply["thread_ts"] == parent and card["reply_count"] == 1


def test_post_to_a_user_id_lands_in_the_dm(client, slack):
    reply = client.chat_postMessage(channel="U7", text="your digest")
    assert reply["channel"] == "DU7"
    assert client.conversations_open(users="U7")["channel"]["id"] == "DU7"
    assert [m["text"] for m in slack.messages("DU7")] == ["your digest"]


def test_update_changes_the_card_and_missing_messages_fail(client, slack):
    ts = client.chat_postMessage(channel="C1", text="Stage: Lead", blocks=[section("Lead")])["ts"]
    reply = client.chat_update(channel="C1", ts=ts, text="Stage: Won", blocks=[section("Won")])
    assert reply["ts"] == ts and reply["message"]["text"] == "Stage: Won"
    (card,) = slack.messages("C1")
    assert card["blocks"] == [section("Won")] and "edited" in card
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1700000099.000100", text="nope")
    assert raised.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError):
        client.chat_update(channel="C1", ts=ts, text="t", blocks=[{"type": "header"}])
    assert slack.messages("C1")[0]["text"] == "Stage: Won", "a refused update changes nothing"


def test_ephemeral_permalink_and_reactions(client, slack):
    ts = client.chat_postMessage(channel="C1", text="card")["ts"]
    assert client.chat_postEphemeral(channel="C1", user="U1", text="only you")["message_ts"]
    link = client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]
    assert link == f"https://fake.slack/archives/C1/p{ts.replace('.', '')}"
    client.reactions_add(channel="C1", timestamp=ts, name="tada")
    with pytest.raises(SlackApiError) as raised:
        client.reactions_add(channel="C1", timestamp=ts, name="tada")
    assert raised.value.response["error"] == "already_reacted"
    assert slack.messages("C1")[0]["reactions"][0]["name"] == "tada"


# -- failure injection ------------------------------------------------------------------------------
def test_429_with_retry_after_then_success_arrives_once(slack):
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    client = WebClient(
        token="xoxb-test",
        base_url=slack.url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="hello")["ok"]
    assert time.monotonic() - started >= 1, "the client waited Retry-After"
    everything = slack.calls_to("chat.postMessage", ok_only=False)
    assert [c.status for c in everything] == [429, 200]
    assert everything[0].response == {"ok": False, "error": "ratelimited"}
    assert [m["text"] for m in slack.messages("C1")] == ["hello"]


def test_429_without_retry_handler_surfaces_the_retry_after_header(client, slack):
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


def test_error_injection_answers_ok_false(client, slack):
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")
    assert raised.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="hello")["ok"], "only the next call fails"


def test_500_injection_counts_and_matches_only_its_target(client, slack):
    slack.fail_next("chat.postMessage", status=500, times=2, when=lambda a: a["channel"] == "D2")
    assert client.chat_postMessage(channel="C1", text="unaffected")["ok"]
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="D2", text="digest")
        assert raised.value.response.status_code == 500
    assert client.chat_postMessage(channel="D2", text="digest")["ok"], "third try goes through"
    statuses = [(c.args["channel"], c.status) for c in slack.calls_to("chat.postMessage", False)]
    assert statuses == [("C1", 200), ("D2", 500), ("D2", 500), ("D2", 200)]


def test_reset_forgets_calls_messages_and_failures(client, slack):
    client.chat_postMessage(channel="C1", text="one")
    slack.fail_next("chat.postMessage", error="fatal_error")
    slack.reset()
    assert slack.calls == [] and slack.messages("C1") == [] and slack.problems == []
    assert client.chat_postMessage(channel="C1", text="two")["ok"]


def test_wait_for_blocks_until_a_listener_thread_posts(client, slack):
    threading.Timer(0.2, lambda: client.chat_postMessage(channel="C1", text="late")).start()
    (call,) = slack.wait_for("chat.postMessage", count=1, timeout=5)
    assert call.args["text"] == "late"
    with pytest.raises(AssertionError, match="chat.update"):
        slack.wait_for("chat.update", timeout=0.1)


# -- users / conversations --------------------------------------------------------------------------
def test_users_info_defaults_overrides_and_locale_on_request(client, slack):
    user = client.users_info(user="U1", include_locale=True)["user"]
    assert (user["id"], user["tz"], user["locale"], user["is_admin"]) == (
        "U1",
        "Asia/Seoul",
        "ko-KR",
        False,
    )
    assert "locale" not in client.users_info(user="U1")["user"], "Slack tells it only when asked"
    slack.users["U1"] = {"is_admin": True, "locale": "en-US", "tz": "America/New_York"}
    user = client.users_info(user="U1", include_locale=True)["user"]
    assert (user["is_admin"], user["locale"], user["tz"]) == (True, "en-US", "America/New_York")


def test_conversations_info(client, slack):
    assert client.conversations_info(channel="C1")["channel"]["is_channel"] is True
    assert client.conversations_info(channel="DU1")["channel"]["user"] == "U1"
    slack.channels["C2"] = {"name": "deals"}
    assert client.conversations_info(channel="C2")["channel"]["name"] == "deals"


# -- views ------------------------------------------------------------------------------------------
def test_views_open_update_push_and_publish(client, slack):
    opened = client.views_open(trigger_id="1.2.a", view=modal())["view"]
    assert opened["id"].startswith("V") and opened["title"]["text"] == "New deal"
    updated = client.views_update(view_id=opened["id"], view=modal("Saved"), hash=opened["hash"])
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    assert slack.views[opened["id"]]["title"]["text"] == "Saved"
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id=opened["id"], view=modal(), hash=opened["hash"])
    assert raised.value.response["error"] == "hash_conflict"
    assert client.views_push(trigger_id="1.2.b", view=modal("Step 2"))["ok"]
    home = {"type": "home", "blocks": [section("Pipeline")]}
    assert client.views_publish(user_id="U1", view=home)["view"]["type"] == "home"
    assert slack.problems == []


def test_views_open_needs_a_fresh_trigger_id(client, slack):
    slack.expire_trigger("old.trigger")
    cases = [({"trigger_id": "old.trigger"}, "expired_trigger_id"), ({}, "invalid_arguments")]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as raised:
            client.api_call("views.open", json={"view": modal(), **kwargs})
        assert raised.value.response["error"] == error
    client.views_open(trigger_id="once", view=modal())
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="once", view=modal())
    assert raised.value.response["error"] == "trigger_exchanged"


def test_invalid_view_answers_invalid_arguments_with_pointers(client, slack):
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="t", view=modal("A title far too long for Slack"))
    messages = raised.value.response["response_metadata"]["messages"]
    assert raised.value.response["error"] == "invalid_arguments"
    assert "[json-pointer:/view/title/text]" in messages[0]
    assert slack.problems[0][0] == "views.open"


# -- response_url -----------------------------------------------------------------------------------
def test_response_url_posts_are_recorded_and_validated(slack):
    url = slack.response_url("cmd-1")
    reply = WebhookClient(url).send(text="Deal D1 created", response_type="ephemeral")
    assert (reply.status_code, reply.body) == (200, "ok")
    (call,) = [c for c in slack.calls if c.method == "response_url"]
    assert call.args == {"text": "Deal D1 created", "response_type": "ephemeral"}
    assert call.target == "cmd-1"
    bad = WebhookClient(url).send(text="t", blocks=[section("x")] * 51)
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    assert slack.problems[0][0] == "response_url"


def test_response_url_takes_five_messages(slack):
    hook = WebhookClient(slack.response_url("r"))
    statuses = [hook.send(text=f"{i}").status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]


# -- files ------------------------------------------------------------------------------------------
def test_files_upload_v2_round_trip(client, slack):
    ts = client.chat_postMessage(channel="C1", text="weekly summary")["ts"]
    reply = client.files_upload_v2(
        content=PNG, filename="pipeline.png", title="Pipeline", channel="C1", thread_ts=ts
    )
    assert reply["file"]["name"] == "pipeline.png" and reply["file"]["mimetype"] == "image/png"
    (stored,) = slack.files
    assert stored["content"] == PNG and stored["filename"] == "pipeline.png"
    assert (stored["title"], stored["channel"], stored["thread_ts"]) == ("Pipeline", "C1", ts)
    names = [c.method for c in slack.calls]
    assert names[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_complete_upload_of_a_file_never_uploaded_fails(client):
    file_id = client.files_getUploadURLExternal(filename="a.png", length=3)["file_id"]
    with pytest.raises(SlackApiError) as raised:
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C1")
    assert raised.value.response["error"] == "file_not_found"


# -- Socket Mode ------------------------------------------------------------------------------------
def test_socket_mode_client_round_trip(slack):
    web = WebClient(base_url=slack.url)
    socket = SocketModeClient(app_token="xapp-1-test", web_client=web, ping_interval=60)

    def listener(client, request):
        text = request.payload.get("text", "")
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": f"got {text}"})
        )

    socket.socket_mode_request_listeners.append(listener)
    socket.connect()
    try:
        slack.wait_socket_connected(timeout=10)
        envelope_id = slack.socket_send("slash_commands", {"command": "/deal", "text": "list"})
        assert slack.wait_socket_ack(envelope_id, timeout=5) == {"text": "got list"}
        assert slack.socket_acks[0]["envelope_id"] == envelope_id
    finally:
        socket.close()
    assert slack.calls_to("apps.connections.open")[0].token == "xapp-1-test"


def test_connections_open_needs_an_app_level_token(client):
    with pytest.raises(SlackApiError) as raised:
        client.apps_connections_open(app_token="xoxb-not-an-app-token")
    assert raised.value.response["error"] == "not_allowed_token_type"


def test_bolt_socket_mode_handler_acks_a_command_and_sees_event_retries(slack):
    app = App(client=WebClient(token="xoxb-test", base_url=slack.url))
    seen: list = []

    @app.command("/deal")
    def deal(ack, command):
        ack(f"Deal {command['text']}")

    @app.event("message")
    def message(event, request):
        seen.append((event["text"], request.headers.get("x-slack-retry-num", [None])[0]))

    handler = SocketModeHandler(app, "xapp-1-test")
    handler.connect()
    try:
        slack.wait_socket_connected(timeout=10)
        payload = {
            "command": "/deal",
            "text": "D1",
            "team_id": "T1",
            "user_id": "U1",
            "channel_id": "C1",
            "api_app_id": "AFAKEAPP",
            "response_url": slack.response_url("sock"),
            "trigger_id": slackreq.new_trigger_id(),
        }
        envelope_id = slack.socket_send("slash_commands", payload)
        assert slack.wait_socket_ack(envelope_id, timeout=5) == {"text": "Deal D1"}

        body, _ = slackreq.event(
            {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.2"},
            team_id="T1",
            event_id="Ev1",
            secret=SECRET,
        )
        retried = slack.socket_send("events_api", json.loads(body), 1, "timeout")
        assert slack.wait_socket_ack(retried, timeout=5) == {}, "events are acked bare"
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen == [("hi", "1")], "the retry attempt reaches the app as a header"
    finally:
        handler.close()


# -- signed requests against a real Bolt app over HTTP ----------------------------------------------
@contextmanager
def bolt_over_http(slack: FakeSlack) -> Iterator[tuple[str, list]]:
    """A tiny Bolt app behind waitress, verifying signatures; yields (events URL, what it saw)."""
    app = App(
        signing_secret=SECRET,
        client=WebClient(token="xoxb-test", base_url=slack.url),
    )
    seen: list = []

    @app.command("/deal")
    def deal(ack, command):
        seen.append(("command", command["text"], command["trigger_id"]))
        ack(text=f"Deal {command['text']}", response_type="ephemeral")

    @app.action("move")
    def move(ack, body, action):
        seen.append(("action", action["selected_option"]["value"], body["message"]["ts"]))
        ack()

    @app.view("new_deal")
    def new_deal(ack, view):
        amount = view["state"]["values"]["amount"]["amount"]["value"]
        ack(response_action="errors", errors={"amount": f"not a number: {amount}"})

    @app.event("message")
    def message(event, request):
        seen.append(("event", event["text"], request.headers.get("x-slack-retry-num", [None])[0]))

    handler = SlackRequestHandler(app)
    server = create_server(handler, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/slack/events", seen
    finally:
        stop_waitress(server, thread)


def test_signed_slash_command_is_acked_and_forgeries_get_401(slack):
    with bolt_over_http(slack) as (url, seen):
        sign = dict(team_id="T1", user_id="U1", response_url=slack.response_url("c"), secret=SECRET)
        status, text = slackreq.post(url, *slackreq.slash("/deal", "D1", **sign))
        assert (status, json.loads(text)["text"]) == (200, "Deal D1")
        assert seen[0][:2] == ("command", "D1") and seen[0][2].count(".") == 2

        forged = slackreq.slash("/deal", "D1", **{**sign, "secret": "not-the-secret"})
        assert slackreq.post(url, *forged)[0] == 401
        stale = slackreq.slash("/deal", "D1", **sign, ts=int(time.time()) - 6 * 60)
        assert slackreq.post(url, *stale)[0] == 401
        assert len(seen) == 1, "rejected requests never reach a listener"


def test_signed_block_action_view_submission_and_event_reach_bolt(slack):
    with bolt_over_http(slack) as (url, seen):
        card = {"type": "message", "ts": "1700000000.000100", "text": "card"}
        action = {
            "action_id": "move",
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "Won"}, "value": "won"},
        }
        body, headers = slackreq.block_actions(
            [action], team_id="T1", user_id="U1", channel_id="C1", message=card,
            response_url=slack.response_url("a"), secret=SECRET,
        )  # fmt: skip
        assert slackreq.post(url, body, headers)[0] == 200
        assert ("action", "won", card["ts"]) in seen

        view = {
            "callback_id": "new_deal",
            "private_metadata": "{}",
            "state": {"values": {"amount": {"amount": {"type": "plain_text_input", "value": "x"}}}},
        }
        status, text = slackreq.post(
            url, *slackreq.view_submission(view, team_id="T1", user_id="U1", secret=SECRET)
        )
        assert status == 200
        assert json.loads(text) == {
            "response_action": "errors",
            "errors": {"amount": "not a number: x"},
        }

        event = {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.2"}
        retried = slackreq.event(event, team_id="T1", event_id="Ev1", secret=SECRET, retry_num=1)
        assert slackreq.post(url, *retried)[0] == 200
        deadline = time.monotonic() + 5
        while ("event", "hi", "1") not in seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ("event", "hi", "1") in seen, "the retry header reaches the app"


def test_sign_matches_slack_sdk_verifier():
    from slack_sdk.signature import SignatureVerifier

    body = b"command=%2Fdeal&text=D1"
    headers = slackreq.sign(body, SECRET, ts=int(time.time()))
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )


# -- the validator itself ---------------------------------------------------------------------------
def test_validator_limits_from_slack_md():
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    assert (
        "[json-pointer:/blocks/0/text/text]"
        in validate_message({"text": "t", "blocks": [header]})[0]
    )
    button = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}, "action_id": "a"}
    actions = {"type": "actions", "elements": [button]}
    assert validate_message({"text": "t", "blocks": [actions]})
    too_many = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "ok"},
        "blocks": [section("x")] * 101,
    }
    assert validate_view(too_many)
    assert validate_view({**modal(), "private_metadata": "x" * 3001})
    assert validate_message({"text": "t", "blocks": [section("x"), section("y")]}) == []


def test_validator_catches_duplicate_ids_and_bad_initial_options():
    dup = [{**section("a"), "block_id": "b1"}, {**section("b"), "block_id": "b1"}]
    assert "not unique" in validate_message({"text": "t", "blocks": dup})[0]
    option = {"text": {"type": "plain_text", "text": "Won"}, "value": "won"}
    other = {"text": {"type": "plain_text", "text": "Lost"}, "value": "lost"}
    select = {
        "type": "static_select",
        "action_id": "s",
        "options": [option],
        "initial_option": other,
    }
    problems = validate_message({"text": "t", "blocks": [{**section("x"), "accessory": select}]})
    assert problems and "initial option" in problems[0]


def test_validator_allows_input_in_messages_and_checks_number_input():
    number = {"type": "number_input", "action_id": "amount"}
    block = {"type": "input", "label": {"type": "plain_text", "text": "Amount"}, "element": number}
    problems = validate_message({"text": "t", "blocks": [block]})
    assert len(problems) == 1 and "is_decimal_allowed" in problems[0]
    number["is_decimal_allowed"] = False
    assert validate_message({"text": "t", "blocks": [block]}) == []
