"""OAuth mode: ``app_uninstalled`` and ``tokens_revoked`` stop all posting for a workspace.

Bolt lets both events through without authorizing them (the token is gone already). The
install is deleted from the store, the process's token cache forgets it and the workspace's
unsent posts are dropped (bot.oauth.uninstall); other processes find out from Slack's
``invalid_auth``/``account_inactive`` on their next post (bot.sender) and do the same.
A ``tokens_revoked`` that names only user tokens changes nothing: Salesbot has none.

With a single ``SLACK_BOT_TOKEN`` (the manifest subscribes to both events either way) they
are acknowledged and logged: the token in ``.env`` is dead, and only an operator can change it.
"""

from __future__ import annotations

import logging

from bot import oauth
from bot.payloads import slack_id

log = logging.getLogger(__name__)


def register(app, deps) -> None:
    @app.event("app_uninstalled")
    def on_uninstalled(body):
        team = slack_id(body.get("team_id"))
        if team:
            gone(team)

    @app.event("tokens_revoked")
    def on_tokens_revoked(body, event):
        team = slack_id(body.get("team_id"))
        bots = (event.get("tokens") or {}).get("bot") if isinstance(event, dict) else None
        if team and bots:
            gone(team)

    def gone(team: str) -> None:
        if deps.tokens is None:
            log.warning("Salesbot was removed from %s: SLACK_BOT_TOKEN no longer works", team)
            return
        oauth.uninstall(deps, deps.tokens, team)
