"""The app in OAuth mode (many workspaces) on a loopback port, and a browser for installs.

``running_oauth_app(db_url)`` serves Salesbot with ``SLACK_CLIENT_ID``/``SECRET`` and
``SLACK_STATE_SECRET`` and no bot token, against a FakeSlack whose tokens are bound to teams
(tests/fakeslack/teams.py). :meth:`OAuthApp.install` does what a person's browser does:
opens ``/slack/install``, follows "Add to Slack" (the fake's consent gives a code) and comes
back to ``/slack/oauth_redirect`` with the state cookie. :meth:`OAuthApp.team` gives a
:class:`tests.slackapp.Harness` whose requests come from that workspace.
"""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlparse

from bot.server import serve_in_thread
from storage.db import make_engine
from tests.fakeslack import FakeSlack
from tests.slackapp import Harness, settings_for

CLIENT_ID = "111.222"
CLIENT_SECRET = "fake-client-secret"
STATE_SECRET = "test-state-secret-0123456789"
STATE_COOKIE = "slack-app-oauth-state"


@dataclass
class Page:
    status: int
    text: str
    cookies: dict[str, str]


def get(url: str, cookies: dict[str, str] | None = None, language: str = "") -> Page:
    headers = {"Accept-Language": language} if language else {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body, set_cookies = (
                response.status,
                response.read(),
                response.headers.get_all("Set-Cookie"),
            )
    except urllib.error.HTTPError as e:
        status, body, set_cookies = e.code, e.read(), e.headers.get_all("Set-Cookie")
    jar = {}
    for line in set_cookies or []:
        name, _, value = line.split(";")[0].partition("=")
        jar[name.strip()] = value.strip()
    return Page(status, body.decode("utf-8"), jar)


@dataclass
class OAuthApp:
    url: str
    slack: FakeSlack
    engine: object
    deps: object
    bolt: object

    def install_page(self, language: str = "") -> tuple[str, dict[str, str]]:
        """The "Add to Slack" page: the state its link carries, and the browser's cookies."""
        page = get(self.url + "/slack/install", language=language)
        self.last_page = page
        assert page.status == 200, page.text
        link = html.unescape(re.search(r'<a href="([^"]+)"', page.text).group(1))
        query = parse_qs(urlparse(link).query)
        assert query["client_id"] == [CLIENT_ID]
        return query["state"][0], page.cookies

    def redirect(self, code: str, state: str, cookies: dict[str, str], language="") -> Page:
        url = f"{self.url}/slack/oauth_redirect?code={code}&state={state}"
        return get(url, cookies, language)

    def install(self, team: str, user: str) -> Page:
        state, cookies = self.install_page()
        return self.redirect(self.slack.oauth.authorize(team, user), state, cookies)

    def team(self, team: str) -> Harness:
        harness = Harness(url=self.url, slack=self.slack, engine=self.engine, team=team)
        harness.deps, harness.bolt = self.deps, self.bolt
        return harness


@contextmanager
def running_oauth_app(db_url: str, *, rotation: bool = False, **defaults) -> Iterator[OAuthApp]:
    engine = make_engine(db_url)
    with FakeSlack(team_id="T1") as slack:
        slack.oauth.client_id, slack.oauth.client_secret = CLIENT_ID, CLIENT_SECRET
        slack.oauth.rotation = rotation
        settings = replace(
            settings_for(slack, db_url, **{"deals_channel": None, **defaults}),
            bot_token=None,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            state_secret=STATE_SECRET,
        )
        running = serve_in_thread(settings, engine=engine)
        try:
            deps = running.server.salesbot_deps
            yield OAuthApp(running.url, slack, engine, deps, running.server.salesbot_bolt)
        finally:
            running.close()
            engine.dispose()
