"""Listeners called without Bolt's per-call keyword building (bot.listening): the same
listener matches the same requests, and is handed the very values Bolt would hand it."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

from slack_bolt import App as BoltApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request import BoltRequest

from bot.clients import App
from bot.listening import DirectListener, DirectMatcher, bolts_kwargs
from tests.slackreq import event, sign, slash
from tests.test_clients import SECRET, single_token_app


def _listeners(app) -> None:
    def slash_cmd(ack, body, client, context, respond):
        pass

    def button(ack, body, action, client, context, respond):
        pass

    def submitted(ack, body, view, client, context):
        pass

    def mention(body, event, say, logger):
        pass

    def uncommon(ack, payload):  # a name bot.listening leaves to Bolt
        pass

    app.command(re.compile(r"^/(lead|deal)$"))(slash_cmd)
    app.action(re.compile(r"^deal_"))(button)
    app.view("deal_form")(submitted)
    app.event("app_mention")(mention)
    app.shortcut("new_deal")(uncommon)


def _requests() -> list[BoltRequest]:
    out = []
    for command in ("/deal", "/lead", "/task"):
        body, headers = slash(
            command, "help", team_id="T1", user_id="U1", response_url="http://x/r", secret=SECRET
        )
        out.append(BoltRequest(body=body.decode(), headers=headers))
    payloads = [
        {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "response_url": "http://x/r",
            "actions": [{"action_id": action, "value": "D1"}],
        }
        for action in ("deal_won", "lead_new")
    ] + [
        {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"}, "view": view}
        for view in ({"type": "modal", "callback_id": c} for c in ("deal_form", "other"))
    ]
    payloads.append(
        {"type": "shortcut", "team": {"id": "T1"}, "user": {"id": "U1"}, "callback_id": "new_deal"}
    )
    for payload in payloads:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        out.append(BoltRequest(body=body.decode(), headers=sign(body, SECRET)))
    mention = {"type": "app_mention", "user": "U1", "channel": "C1", "text": "hi"}
    body, headers = event(mention, team_id="T1", event_id="Ev1", secret=SECRET)
    out.append(BoltRequest(body=body.decode(), headers=headers))
    return out


def test_the_same_listener_matches_and_gets_what_bolt_would_give_it():
    ours = single_token_app()
    bolts = BoltApp(token="xoxb-one", signing_secret=SECRET, token_verification_enabled=False)
    _listeners(ours)
    _listeners(bolts)
    assert all(isinstance(x, DirectListener) for x in ours._listeners)
    assert all(isinstance(x.matchers[0], DirectMatcher) for x in ours._listeners)
    matched = 0
    for req in _requests():
        ours._init_context(req)
        theirs = [i for i, x in enumerate(bolts._listeners) if x.matches(req=req, resp=None)]
        mine = [i for i, x in enumerate(ours._listeners) if x.matches(req=req, resp=None)]
        assert mine == theirs, req.body
        for i in mine:
            listener = ours._listeners[i]
            given = {}
            listener.ack_function = lambda **kwargs: given.update(kwargs)  # noqa: B023
            listener.run_ack_function(request=req, response=None)
            expected = bolts_kwargs(listener, req, None)
            assert given.keys() == expected.keys()
            for name, value in given.items():
                if name in ("ack", "body", "client", "context", "respond", "say", "logger"):
                    assert value is expected[name], name  # the very same object
                else:
                    assert value == expected[name], name
            matched += 1
    assert matched == 6  # /deal and /lead, deal_won, deal_form, the mention, the shortcut


def test_a_decorated_listener_is_given_back():
    app = single_token_app()

    def listener(ack):
        pass

    assert app.command("/deal")(listener) is listener


def _answering(app) -> None:
    @app.command("/deal")
    def deal(ack, command):
        if command["text"] == "boom":
            raise ValueError("boom")
        if command["text"] != "silent":
            ack(text=f"got {command['text']}")

    app._listeners[-1].ack_timeout = 0.3  # seconds Bolt waits for an ack that never comes


def _deal(text: str) -> BoltRequest:
    body, headers = slash(
        "/deal", text, team_id="T1", user_id="U1", response_url="http://x/r", secret=SECRET
    )
    return BoltRequest(body=body.decode(), headers=headers)


def _authorize(enterprise_id, team_id, logger):
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-one")


def test_the_answer_is_bolts_and_leaves_when_acked_not_at_the_next_poll():
    ours = App(signing_secret=SECRET, authorize=_authorize)
    bolts = BoltApp(signing_secret=SECRET, authorize=_authorize)
    _answering(ours)
    _answering(bolts)
    for text in ("help", "boom", "silent"):  # acked, failed before its ack, never acked
        mine, theirs = ours.dispatch(_deal(text)), bolts.dispatch(_deal(text))
        assert (mine.status, mine.body, mine.headers) == (
            theirs.status,
            theirs.body,
            theirs.headers,
        ), text
    took = []
    for _ in range(21):
        started = time.perf_counter()
        assert ours.dispatch(_deal("help")).body == "got help"
        took.append(time.perf_counter() - started)
    # Bolt's request thread looks for the ack every 10 ms, so its answers take 10 ms or more.
    assert sorted(took)[10] < 0.008, f"median {sorted(took)[10] * 1000:.1f} ms"
