"""Configuration from the environment (PRODUCT.md §5, `.env.example`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from domain.workspaces import WorkspaceDefaults
from storage.db import DEFAULT_URL

SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    # OAuth installs in many workspaces (bot.oauth): all three set, and no bot_token.
    client_id: str | None = None
    client_secret: str | None = None
    state_secret: str | None = None
    redirect_uri: str | None = None
    api_url: str = SLACK_API_URL
    database_url: str = DEFAULT_URL
    defaults: WorkspaceDefaults = field(default_factory=WorkspaceDefaults)
    # The outbox (advanced; the defaults suit Slack): seconds between posts to one channel,
    # how long a send may take before another process may try it, the first retry's delay.
    slack_pace: float = 1.0
    outbox_lease: timedelta = timedelta(minutes=2)
    outbox_backoff: float | None = None  # None: storage.outbox.BACKOFF_BASE (5 s)

    @property
    def oauth_enabled(self) -> bool:
        """Installed by OAuth in any workspace; a SLACK_BOT_TOKEN means one workspace."""
        return bool(
            not self.bot_token and self.client_id and self.client_secret and self.state_secret
        )

    @property
    def slack_configured(self) -> bool:
        if self.oauth_enabled:
            return bool(self.signing_secret)
        return bool(self.bot_token and (self.signing_secret or self.app_token))

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never reach a log line (bot.redact)."""
        values = (self.bot_token, self.signing_secret, self.app_token, self.client_secret)
        return tuple(v for v in (*values, self.state_secret) if v and len(v) >= 6)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        if env is None:
            from dotenv import load_dotenv

            load_dotenv()
            env = dict(os.environ)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def seconds(name: str, default: float) -> float:
            value = get(name)
            try:
                return float(value) if value is not None else default
            except ValueError:
                raise SystemExit(f"{name} must be a number of seconds, not {value!r}") from None

        api_url = get("SLACK_API_URL") or SLACK_API_URL
        return cls(
            bot_token=get("SLACK_BOT_TOKEN"),
            signing_secret=get("SLACK_SIGNING_SECRET"),
            app_token=get("SLACK_APP_TOKEN"),
            client_id=get("SLACK_CLIENT_ID"),
            client_secret=get("SLACK_CLIENT_SECRET"),
            state_secret=get("SLACK_STATE_SECRET"),
            redirect_uri=get("SLACK_REDIRECT_URI"),
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            database_url=get("DATABASE_URL") or DEFAULT_URL,
            defaults=WorkspaceDefaults(
                timezone=get("SALESBOT_TIMEZONE") or "Asia/Seoul",
                locale=get("SALESBOT_LOCALE") or "ko",
                currency=(get("SALESBOT_CURRENCY") or "KRW").upper(),
                deals_channel=get("SALESBOT_DEALS_CHANNEL"),
                digest_channel=get("SALESBOT_DIGEST_CHANNEL"),
            ),
            slack_pace=seconds("SALESBOT_SLACK_PACE", 1.0),
            outbox_lease=timedelta(seconds=seconds("SALESBOT_OUTBOX_LEASE", 120.0)),
            outbox_backoff=seconds("SALESBOT_OUTBOX_BACKOFF", 0.0) or None,
        )
