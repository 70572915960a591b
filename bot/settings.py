"""Configuration from the environment and ``.env`` (documented in `.env.example`).

Read and checked once, at start, through pydantic-settings: a value that cannot work
(``SALESBOT_TIMEZONE=Seoul``, ``SALESBOT_CURRENCY=WON``, ``SALESBOT_LOCALE=fr``, a pace that is
not a number) stops ``salesbot`` with one line per problem that names the variable, says what
is wrong and how to write it — never a traceback (:class:`ConfigError`). Which Slack tokens go
together depends on how Salesbot runs, so that is checked by :meth:`Settings.check_slack` when
the server or Socket Mode starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import InvalidInput
from domain.settings import clean_currency, clean_locale, clean_timezone, zone_like
from domain.workspaces import WorkspaceDefaults
from i18n import normalize_locale, t
from storage.db import DEFAULT_URL

SLACK_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """Settings that cannot work: ``problems`` are whole sentences, one per variable."""

    def __init__(self, problems: list[str], locale: str | None = None) -> None:
        self.problems = problems
        self.header = t(locale or _env_locale(None), "startup.not_started")
        super().__init__("\n".join(problems))


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
    # Whether DATABASE_URL was given (demo data goes to a file of its own when it was not).
    database_configured: bool = False
    # Where this server is reached from the internet (https://salesbot.example.com): the base
    # of the inbound lead URLs ``/pipeline inbound`` shows (docs/inbound.md).
    public_url: str | None = None

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
    def slack_started(self) -> bool:
        """Some Slack setting is there: the user means to connect Slack."""
        return bool(self.bot_token or self.signing_secret or self.app_token or self.client_id)

    def check_slack(self, mode: str) -> None:
        """The tokens ``mode`` (``serve``, ``socket``, ``auto``) needs, or :class:`ConfigError`."""
        locale = self.defaults.locale
        problems = []
        if not self.bot_token and not self.oauth_enabled:
            problems.append(t(locale, "startup.no_bot_token"))
        if mode == "serve" and not self.signing_secret:
            problems.append(t(locale, "startup.no_signing_secret"))
        if mode == "socket" and not self.app_token:
            problems.append(t(locale, "startup.no_app_token"))
        if (
            mode == "auto"
            and (self.bot_token or self.oauth_enabled)
            and not (self.signing_secret or self.app_token)
        ):
            problems.append(t(locale, "startup.no_secret_nor_app_token"))
        if problems:
            raise ConfigError(problems, locale)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never reach a log line (bot.redact)."""
        values = (self.bot_token, self.signing_secret, self.app_token, self.client_secret)
        return tuple(v for v in (*values, self.state_secret) if v and len(v) >= 6)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """From ``env`` (tests), else the process environment and ``.env``."""
        try:
            if env is None:
                from dotenv import load_dotenv

                load_dotenv()  # .env into the environment, which wins over nothing it sets
                values = _Env(_env_file=None)
            else:
                wanted = {k: v for k, v in env.items() if k.upper() in _NAMES}
                values = _Env(_env_file=None, **wanted)
        except ValidationError as exc:
            raise ConfigError(_problems(exc, env), _env_locale(env)) from None
        return values.settings()


class _Env(BaseSettings):
    """The environment as typed values; every check names its variable."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=False)

    bot_token: str | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    signing_secret: str | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    app_token: str | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    client_secret: str | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")
    state_secret: str | None = Field(None, validation_alias="SLACK_STATE_SECRET")
    redirect_uri: str | None = Field(None, validation_alias="SLACK_REDIRECT_URI")
    api_url: str | None = Field(None, validation_alias="SLACK_API_URL")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    timezone: str | None = Field(None, validation_alias="SALESBOT_TIMEZONE")
    locale: str | None = Field(None, validation_alias="SALESBOT_LOCALE")
    currency: str | None = Field(None, validation_alias="SALESBOT_CURRENCY")
    deals_channel: str | None = Field(None, validation_alias="SALESBOT_DEALS_CHANNEL")
    digest_channel: str | None = Field(None, validation_alias="SALESBOT_DIGEST_CHANNEL")
    slack_pace: str | None = Field(None, validation_alias="SALESBOT_SLACK_PACE")
    outbox_lease: str | None = Field(None, validation_alias="SALESBOT_OUTBOX_LEASE")
    outbox_backoff: str | None = Field(None, validation_alias="SALESBOT_OUTBOX_BACKOFF")
    public_url: str | None = Field(None, validation_alias="SALESBOT_PUBLIC_URL")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return _clean(clean_timezone, value)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return _clean(clean_locale, value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return _clean(clean_currency, value)

    @field_validator("slack_pace", "outbox_lease", "outbox_backoff")
    @classmethod
    def _seconds(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise _Bad(InvalidInput("startup.bad_seconds", value=value[:32])) from None
        if not 0 <= number < 86400:
            raise _Bad(InvalidInput("startup.bad_seconds", value=value[:32]))
        return value

    def settings(self) -> Settings:
        api_url = self.api_url or SLACK_API_URL
        return Settings(
            bot_token=self.bot_token,
            signing_secret=self.signing_secret,
            app_token=self.app_token,
            client_id=self.client_id,
            client_secret=self.client_secret,
            state_secret=self.state_secret,
            redirect_uri=self.redirect_uri,
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            database_url=self.database_url or DEFAULT_URL,
            database_configured=self.database_url is not None,
            defaults=WorkspaceDefaults(
                timezone=self.timezone or "Asia/Seoul",
                locale=self.locale or "ko",
                currency=self.currency or "KRW",
                deals_channel=self.deals_channel,
                digest_channel=self.digest_channel,
            ),
            slack_pace=float(self.slack_pace or 1.0),
            public_url=self.public_url,
            outbox_lease=timedelta(seconds=float(self.outbox_lease or 120.0)),
            outbox_backoff=float(self.outbox_backoff or 0) or None,
        )


_NAMES = {
    f.validation_alias for f in _Env.model_fields.values() if isinstance(f.validation_alias, str)
}


class _Bad(ValueError):
    """How a check's :class:`InvalidInput` travels through pydantic (which wants ValueError)."""

    def __init__(self, error: InvalidInput) -> None:
        self.error = error
        super().__init__(error.key)


def _clean(check, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check(value)
    except InvalidInput as err:
        raise _Bad(err) from None


def _problems(exc: ValidationError, env: dict[str, str] | None) -> list[str]:
    """One sentence per bad variable, in the language the settings ask for (if that one is
    readable), else Korean, the default."""
    locale = _env_locale(env)
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else "?"
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _Bad):
            text = cause.error.render(locale)
            hint = _hint(name, str(cause.error.params.get("value", "")), locale)
        else:
            text, hint = error.get("msg", ""), ""
        problems.append(t(locale, "startup.bad_setting", name=name, problem=text) + hint)
    return problems


def _env_locale(env: dict[str, str] | None) -> str:
    """The language of start-up messages: SALESBOT_LOCALE when it is one, else Korean."""
    import os

    source = env if env is not None else os.environ
    raw = (source.get("SALESBOT_LOCALE") or "ko").strip().lower()
    return normalize_locale(raw) if raw in ("en", "ko") else "ko"


_CURRENCY_WORDS = {"WON": "KRW", "원": "KRW", "₩": "KRW", "DOLLAR": "USD", "$": "USD"}


def _hint(name: str, value: str, locale: str) -> str:
    suggestion = None
    if name == "SALESBOT_TIMEZONE":
        suggestion = zone_like(value)
    elif name == "SALESBOT_CURRENCY":
        suggestion = _CURRENCY_WORDS.get(value.upper())
    if suggestion is None:
        return ""
    return " " + t(locale, "startup.did_you_mean", name=name, value=suggestion)
