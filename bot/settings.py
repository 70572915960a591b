"""Configuration from the environment (PRODUCT.md §5, `.env.example`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from domain.workspaces import WorkspaceDefaults
from storage.db import DEFAULT_URL

SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    api_url: str = SLACK_API_URL
    database_url: str = DEFAULT_URL
    defaults: WorkspaceDefaults = field(default_factory=WorkspaceDefaults)

    @property
    def slack_configured(self) -> bool:
        return bool(self.bot_token and (self.signing_secret or self.app_token))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        if env is None:
            from dotenv import load_dotenv

            load_dotenv()
            env = dict(os.environ)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        api_url = get("SLACK_API_URL") or SLACK_API_URL
        return cls(
            bot_token=get("SLACK_BOT_TOKEN"),
            signing_secret=get("SLACK_SIGNING_SECRET"),
            app_token=get("SLACK_APP_TOKEN"),
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            database_url=get("DATABASE_URL") or DEFAULT_URL,
            defaults=WorkspaceDefaults(
                timezone=get("SALESBOT_TIMEZONE") or "Asia/Seoul",
                locale=get("SALESBOT_LOCALE") or "ko",
                currency=(get("SALESBOT_CURRENCY") or "KRW").upper(),
                deals_channel=get("SALESBOT_DEALS_CHANNEL"),
                digest_channel=get("SALESBOT_DIGEST_CHANNEL"),
            ),
        )
