"""Many workspaces on one FakeSlack: OAuth installs and tokens bound to teams.

Until the first :meth:`Teams.install`, every token works as the fake's one team (the single
``SLACK_BOT_TOKEN`` mode of most tests). After it, tokens are Slack's: each belongs to one
team, and a token used on another team's channel or user is refused (``channel_not_found``
/ ``user_not_found``) *and recorded as a problem*, so a post sent with the wrong workspace's
token fails the test. Tokens of an uninstalled team answer ``account_inactive``; with token
rotation on, expired ones answer ``token_expired`` and ``oauth.v2.access`` with
``grant_type=refresh_token`` hands out a fresh one.

An install as Slack does it: the browser goes to ``/slack/install``, the user clicks Allow
(:meth:`Teams.authorize`, which gives the one-time ``code``), the browser comes back to the
app's ``/slack/oauth_redirect`` with it, and the app calls ``oauth.v2.access``.
"""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass, field

from tests.fakeslack.methods import SlackError, method

#: Args whose value names a conversation or a user of some team.
OWNED_ARGS = ("channel", "channel_id", "user", "users")
PUBLIC_METHODS = ("oauth.v2.access",)


@dataclass
class Team:
    id: str
    name: str
    bot_user_id: str
    bot_id: str
    installed: bool = False


@dataclass
class Token:
    value: str
    team: str
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class Teams:
    client_id: str = "111.222"
    client_secret: str = "fake-client-secret"
    rotation: bool = False  # token rotation on: tokens expire and come with refresh tokens
    lifetime: float = 43_200.0  # seconds a rotating token lives (Slack: 12 hours)
    teams: dict[str, Team] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # channel or user id -> team id
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> team id
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (team, user)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def bound(self) -> bool:
        return bool(self.tokens)

    def add(self, team_id: str, *, name: str = "", owns: tuple[str, ...] = ()) -> Team:
        n = len(self.teams) + 1
        team = self.teams.setdefault(
            team_id, Team(team_id, name or f"Team {team_id}", f"UBOT{n}", f"BBOT{n}")
        )
        for id_ in owns:
            self.owners[id_] = team_id
        return team

    def authorize(self, team_id: str, user_id: str) -> str:
        """The user clicked Allow on Slack's consent page: the code the browser carries back."""
        self.add(team_id)
        self.owners.setdefault(user_id, team_id)
        code = f"code-{team_id}-{next(self._seq)}"
        self.codes[code] = (team_id, user_id)
        return code

    def uninstall(self, team_id: str) -> None:
        self.teams[team_id].installed = False
        for token in self.tokens.values():
            if token.team == team_id:
                token.revoked = True

    def expire(self, team_id: str) -> None:
        """Every token of the team is past its expiry (token rotation)."""
        for token in self.tokens.values():
            if token.team == team_id:
                token.expires_at = time.time() - 1

    def team_of(self, token: str) -> Team | None:
        info = self.tokens.get(token)
        return self.teams.get(info.team) if info else None

    def check(self, slack, method_name: str, args: dict, token: str) -> None:
        """Refuse a token Slack would refuse, or one used for another team's conversation."""
        if not self.bound or method_name in PUBLIC_METHODS:
            return
        info = self.tokens.get(token)
        if info is None:
            raise SlackError("invalid_auth")
        if info.revoked:
            raise SlackError("account_inactive")
        if info.expires_at is not None and info.expires_at < time.time():
            raise SlackError("token_expired")
        for name in OWNED_ARGS:
            for id_ in str(args.get(name) or "").split(","):
                owner = self._owner(id_.strip())
                if owner is not None and owner != info.team:
                    slack.record_problems(
                        method_name, [f"{info.team}'s token used for {owner}'s {id_}"]
                    )
                    raise SlackError(
                        "user_not_found" if name.startswith("user") else "channel_not_found"
                    )

    def _owner(self, id_: str) -> str | None:
        if not id_:
            return None
        return self.owners.get(id_) or (self.owners.get(id_[1:]) if id_[:1] == "D" else None)

    def issue(self, team_id: str) -> dict:
        """A new bot token for the team, in oauth.v2.access's shape."""
        n = next(self._seq)
        value = f"xoxb-{team_id}-{n}"
        token = Token(value, team_id)
        answer = {"access_token": value, "token_type": "bot"}
        if self.rotation:
            token.expires_at = time.time() + self.lifetime
            refresh = f"xoxe-1-{team_id}-{n}"
            self.refresh[refresh] = team_id
            answer.update(refresh_token=refresh, expires_in=int(self.lifetime))
        self.tokens[value] = token
        return answer


def _client(token: str) -> tuple[str, str]:
    """``basic:<base64 id:secret>`` from the wire (HTTP Basic auth) as (id, secret)."""
    if not token.startswith("basic:"):
        return "", ""
    try:
        pair = base64.b64decode(token[6:]).decode()
    except ValueError:
        return "", ""
    client_id, _, secret = pair.partition(":")
    return client_id, secret


@method("oauth.v2.access")
def oauth_v2_access(slack, args: dict, token: str) -> dict:
    teams: Teams = slack.oauth
    client_id, secret = _client(token)
    if not client_id:
        client_id, secret = args.get("client_id", ""), args.get("client_secret", "")
    if client_id != teams.client_id:
        raise SlackError("invalid_client_id")
    if secret != teams.client_secret:
        raise SlackError("bad_client_secret")
    if args.get("grant_type") == "refresh_token":
        team_id = teams.refresh.get(args.get("refresh_token", ""))
        if team_id is None or not teams.teams[team_id].installed:
            raise SlackError("invalid_refresh_token")
        return {"ok": True, **teams.issue(team_id), "team": {"id": team_id}}
    grant = teams.codes.pop(args.get("code", ""), None)
    if grant is None:
        raise SlackError("invalid_code")
    team_id, user_id = grant
    team = teams.teams[team_id]
    team.installed = True
    return {
        "ok": True,
        **teams.issue(team_id),
        "scope": "commands,chat:write",
        "bot_user_id": team.bot_user_id,
        "app_id": slack.app_id,
        "team": {"id": team_id, "name": team.name},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": user_id},
    }
