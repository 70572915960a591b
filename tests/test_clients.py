"""One Web API client per workspace (bot.clients), in place of Bolt's one per request."""

from __future__ import annotations

from slack_bolt import App as BoltApp
from slack_bolt.request import BoltRequest

from bot.app import web_client
from bot.clients import App
from bot.settings import Settings
from tests.oauthapp import running_oauth_app
from tests.slackapp import wait
from tests.slackreq import slash

SECRET = "test-secret"


def request(team: str, user: str = "U1") -> BoltRequest:
    body, headers = slash(
        "/deal", "help", team_id=team, user_id=user, response_url="http://x/r", secret=SECRET
    )
    return BoltRequest(body=body.decode(), headers=headers)


def single_token_app() -> App:
    settings = Settings(bot_token="xoxb-one", signing_secret=SECRET, api_url="http://x/api/")
    return App(client=web_client(settings), signing_secret=SECRET, token_verification_enabled=False)


def test_the_context_is_bolts_but_for_the_kept_client():
    app = single_token_app()
    ours, bolts = request("T1"), request("T1")
    app._init_context(ours)
    BoltApp._init_context(app, bolts)
    assert bolts.context.ack is not None  # Bolt makes it when first asked; ours, at once
    assert set(ours.context) == set(bolts.context)
    for key in ours.context:
        if key not in ("client", "ack"):
            assert ours.context[key] == bolts.context[key], key
    assert isinstance(ours.context.ack, type(bolts.context.ack))
    assert ours.context.ack.response is bolts.context.ack.response is None
    mine, theirs = ours.context.client, bolts.context.client
    attrs = ("token", "base_url", "timeout", "ssl", "proxy", "headers", "default_params", "logger")
    for attr in attrs:
        assert getattr(mine, attr) == getattr(theirs, attr), attr
    assert [type(h) for h in mine.retry_handlers] == [type(h) for h in theirs.retry_handlers]
    assert mine.retry_handlers == app.client.retry_handlers  # bot.app.web_client's


def test_with_one_bot_token_a_workspace_s_requests_share_one_client():
    app = single_token_app()
    first, again, other = request("T1"), request("T1", "U2"), request("T2")
    for req in (first, again, other):
        app._init_context(req)
    assert first.context.client is again.context.client
    assert other.context.client is not first.context.client
    # The client sends the workspace's team_id with every call, as Bolt's did.
    teams = (first.context.client.default_params, other.context.client.default_params)
    assert teams == ({"team_id": "T1"}, {"team_id": "T2"})
    assert first.context.client.token == other.context.client.token == "xoxb-one"

    app.clients.forget("T1")  # installed again, say: its next request gets a new client
    later = request("T1")
    app._init_context(later)
    assert later.context.client is not first.context.client
    assert later.context.client.token == "xoxb-one"


def test_with_oauth_each_workspace_keeps_a_client_with_its_own_token(db_url):
    with running_oauth_app(db_url) as app:
        app.slack.oauth.add("T1", owns=("CT1", "UA1", "UA2"))
        app.slack.oauth.add("T2", owns=("CT2", "UB1", "UB2"))
        for team, user in (("T1", "UA1"), ("T2", "UB1")):
            assert app.install(team, user).status == 200
        one, two = app.team("T1"), app.team("T2")
        # New members: the middleware asks users.info with the request's client.
        assert one.command("/deal", "help", user="UA2", channel="CT1")[0] == 200
        assert two.command("/deal", "help", user="UB2", channel="CT2")[0] == 200
        assert one.command("/deal", "help", user="UA1", channel="CT1")[0] == 200

        tokens = {
            team: {t.value for t in app.slack.oauth.tokens.values() if t.team == team}
            for team in ("T1", "T2")
        }
        asked = {c.args["user"]: c.token for c in app.slack.calls_to("users.info")}
        assert asked["UA2"] in tokens["T1"] and asked["UB2"] in tokens["T2"]
        kept = app.bolt.clients._kept
        t1, t2 = kept[(None, "T1")], kept[(None, "T2")]
        assert t1 is not t2
        assert t1.token in tokens["T1"] and t2.token in tokens["T2"]

        app.slack.oauth.uninstall("T1")
        assert one.event({"type": "app_uninstalled"}, event_id="Ev1")[0] == 200
        wait(lambda: (None, "T1") not in app.bolt.clients._kept, what="T1's client forgotten")
        assert app.bolt.clients._kept[(None, "T2")] is t2
        assert app.slack.problems == [], "no call with another workspace's token"
