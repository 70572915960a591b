"""Each workspace's bot token, looked up once per process and kept (OAuth mode).

With OAuth installs every workspace has its own bot token in slack_sdk's installation store
(our database, :mod:`storage.installations`). Requests (Bolt's ``authorize``, :class:`
TeamAuthorize`) and the outbox's posts (:meth:`bot.sender.SlackSender.for_workspace`) both
ask :class:`Tokens`, which reads the store once per team and keeps the answer in memory: a
lookup is a dictionary read (bench/README.md). The cache forgets a team when it is
installed again, uninstalled or its tokens are revoked (events reach the process that
holds the cache), and entries age out after ``ttl`` so another process's reinstall is seen;
a token Slack refuses is checked against the store before the workspace counts as gone
(:meth:`Tokens.refused`).

**Token rotation.** When the app has token rotation on, a bot token expires after 12 hours
and comes with a refresh token. A token within ``refresh_before`` of its expiry is refreshed
(``oauth.v2.access`` with ``grant_type=refresh_token``, slack_sdk's ``TokenRotator``) and saved
back to the store before it is handed out, under a per-process lock so one refresh happens.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk.oauth.installation_store import Bot, InstallationStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlmodel import select

from storage.db import session_scope
from storage.models import Workspace

log = logging.getLogger(__name__)

TTL = 600.0  # seconds a token is trusted without reading the store again
REFRESH_BEFORE = timedelta(minutes=120)  # refresh a rotating token this long before it expires


@dataclass(frozen=True)
class _Entry:
    bot: Bot
    until: float  # time.monotonic() after which the store is read again


class Tokens:
    """Bot tokens by Slack team (and by our workspace id), cached (see the module docstring)."""

    def __init__(
        self,
        store: InstallationStore,
        *,
        engine,
        rotator: TokenRotator | None = None,
        ttl: float = TTL,
        refresh_before: timedelta = REFRESH_BEFORE,
        reader: InstallationStore | None = None,
    ) -> None:
        self.store = store
        self.reader = reader or store  # lookups (on SQLite: without taking the write lock)
        self.engine = engine
        self.rotator = rotator
        self.ttl = ttl
        self.refresh_before = refresh_before
        self._bots: dict[str, _Entry] = {}
        self._teams: dict[int, str] = {}  # workspace id -> team id (never changes)
        self._lock = threading.Lock()
        self._rotating = threading.Lock()
        self.lookups = 0  # reads of the store (tests and the bench count them)

    def bot(self, team_id: str | None) -> Bot | None:
        """The team's installed bot (token refreshed if it is about to expire), or None."""
        if not team_id:
            return None
        with self._lock:
            entry = self._bots.get(team_id)
        if entry is None or entry.until < time.monotonic():
            entry = self._load(team_id)
            if entry is None:
                return None
        if self._expiring(entry.bot):
            return self._rotate(team_id)
        return entry.bot

    def token(self, team_id: str | None) -> str | None:
        bot = self.bot(team_id)
        return bot.bot_token if bot else None

    def team_of(self, workspace_id: int) -> str | None:
        with self._lock:
            team = self._teams.get(workspace_id)
        if team is None:
            with session_scope(self.engine, readonly=True) as session:
                team = session.exec(
                    select(Workspace.team_id).where(Workspace.id == workspace_id)
                ).first()
            if team is not None:
                with self._lock:
                    self._teams[workspace_id] = team
        return team

    def for_workspace(self, workspace_id: int) -> tuple[str | None, str | None]:
        """(team id, bot token) of one of our workspaces; the token is None when it has none."""
        team = self.team_of(workspace_id)
        return team, self.token(team)

    def forget(self, team_id: str) -> None:
        with self._lock:
            self._bots.pop(team_id, None)

    def refused(self, team_id: str, token: str) -> str | None:
        """Slack refused ``token`` (invalid_auth, account_inactive, token_revoked, …): read the
        store again. A different token there (a reinstall, another process's refresh) is
        returned to try; None means the workspace's install is gone."""
        self.forget(team_id)
        bot = self.bot(team_id)
        if bot is None or bot.bot_token == token:
            return None
        return bot.bot_token

    def expired(self, team_id: str, token: str) -> str | None:
        """Slack says ``token`` expired: refresh it now (rotation), or read the store again."""
        self.forget(team_id)
        bot = self.bot(team_id)
        if bot is not None and bot.bot_token == token and bot.bot_refresh_token:
            bot = self._rotate(team_id, force=True)
        return bot.bot_token if bot is not None and bot.bot_token != token else None

    def _load(self, team_id: str) -> _Entry | None:
        self.lookups += 1
        bot = self.reader.find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            self.forget(team_id)
            return None
        entry = _Entry(bot, time.monotonic() + self.ttl)
        with self._lock:
            self._bots[team_id] = entry
        return entry

    def _expiring(self, bot: Bot) -> bool:
        expires = bot.bot_token_expires_at
        if self.rotator is None or not bot.bot_refresh_token or expires is None:
            return False
        return expires <= time.time() + self.refresh_before.total_seconds()

    def _rotate(self, team_id: str, *, force: bool = False) -> Bot | None:
        with self._rotating:
            entry = self._load(team_id)  # another thread may have refreshed it meanwhile
            if entry is None:
                return None
            bot = entry.bot
            if self.rotator is None or not (force or self._expiring(bot)):
                return bot
            minutes = 10**9 if force else int(self.refresh_before.total_seconds() // 60)
            try:
                fresh = self.rotator.perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=minutes
                )
            except Exception as exc:  # Slack unreachable: the old token may still work
                log.warning("refreshing the bot token of %s failed: %s", team_id, exc)
                return bot
            if fresh is None:
                return bot
            self.store.save_bot(fresh)
            log.info("refreshed the bot token of %s", team_id)
            with self._lock:
                self._bots[team_id] = _Entry(fresh, time.monotonic() + self.ttl)
            return fresh


class TeamAuthorize(Authorize):
    """Bolt's ``authorize``: the request's own workspace's bot token, from :class:`Tokens`."""

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens

    def __call__(self, *, context, enterprise_id, team_id, user_id, **_) -> AuthorizeResult | None:
        bot = self.tokens.bot(team_id)
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )
