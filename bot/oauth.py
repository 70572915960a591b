"""OAuth installation in any number of workspaces (``SLACK_CLIENT_ID`` and friends).

With ``SLACK_CLIENT_ID``, ``SLACK_CLIENT_SECRET`` and ``SLACK_STATE_SECRET`` set and no
``SLACK_BOT_TOKEN``, ``salesbot serve`` runs Bolt's OAuth flow:

* ``GET /slack/install`` answers an "Add to Slack" page whose link carries a one-time
  ``state`` (kept in ``slack_oauth_states`` and in a browser cookie, ten minutes);
* ``GET /slack/oauth_redirect`` is where Slack sends the installing user back with a
  ``code``: the state must be ours, unused and unexpired and match the cookie (a forged or
  reused one gets Bolt's failure page), the code is exchanged for the workspace's bot token
  (``oauth.v2.access``), kept in ``slack_bots``/``slack_installations``, and the installing
  user becomes the workspace's first admin (:func:`domain.installs.installed`).

The stores are slack_sdk's SQLAlchemy installation and state stores on our engine; their
tables come from our migrations (storage.installations). Our state store signs each state
with ``SLACK_STATE_SECRET`` (HMAC-SHA256): a state we did not issue is refused before the
database is asked. ``app_uninstalled`` and ``tokens_revoked`` (bot.listeners.installs)
delete the install and stop all posting for that workspace at once (:func:`uninstall`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from datetime import UTC, datetime, timedelta

from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import OAuthStateUtils
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.settings import Settings
from bot.tokens import Tokens
from domain import installs
from i18n import normalize_locale
from storage.db import session_scope
from storage.installations import BOTS, INSTALLATIONS, STATES
from storage.types import utcnow
from views.install import failed_page, install_page, installed_page

log = logging.getLogger(__name__)

#: The bot scopes Salesbot asks for (manifest.yml's oauth_config.scopes.bot, in that order).
SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:history",
    "groups:history",
    "im:history",
    "im:write",
    "users:read",
    "files:write",
    "files:read",
    "app_mentions:read",
)
STATE_SECONDS = 600


class SignedStateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's SQLAlchemy state store, with each state signed by SLACK_STATE_SECRET."""

    def __init__(self, secret: str, *, engine, expiration_seconds: int = STATE_SECONDS):
        super().__init__(expiration_seconds=expiration_seconds, engine=engine, table_name=STATES)
        self._secret = secret.encode()

    def _sign(self, value: str) -> str:
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, *args, **kwargs) -> str:
        value = str(uuid.uuid4())
        state = f"{value}.{self._sign(value)}"
        expire = datetime.now(UTC) + timedelta(seconds=self.expiration_seconds)
        with self.engine.begin() as conn:
            conn.execute(
                self.oauth_states.insert(),
                {"state": state, "expire_at": normalize_datetime_for_db(expire)},
            )
        return state

    def consume(self, state: str) -> bool:
        value, _, signature = (state or "").rpartition(".")
        if not value or not hmac.compare_digest(signature, self._sign(value)):
            log.warning("refused an OAuth state we did not issue")
            return False
        return super().consume(state)


def installation_store(settings: Settings, engine) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(
        client_id=settings.client_id,
        engine=engine,
        bots_table_name=BOTS,
        installations_table_name=INSTALLATIONS,
    )


def tokens_for(settings: Settings, engine) -> Tokens | None:
    """The process's token cache in OAuth mode; None with a single SLACK_BOT_TOKEN."""
    if not settings.oauth_enabled:
        return None
    rotator = TokenRotator(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        client=WebClient(base_url=settings.api_url, timeout=15),
    )
    reader = installation_store(settings, engine.execution_options(salesbot_readonly=True))
    store = installation_store(settings, engine)
    return Tokens(store, engine=engine, rotator=rotator, reader=reader)


class Flow(OAuthFlow):
    """Bolt's flow, with our "Add to Slack" page in the browser's language."""

    default_locale = "en"

    def build_install_page_html(self, url: str, request) -> str:
        return install_page(browser_locale(request, self.default_locale), url)


def browser_locale(request, default: str) -> str:
    """The first language of the browser's ``Accept-Language`` we speak, else ``default``."""
    header = (request.headers.get("accept-language") or [""])[0]
    for part in header.split(","):
        tag = part.split(";")[0].strip()
        if tag and normalize_locale(tag) == tag.split("-")[0].lower():
            return normalize_locale(tag)
    return default


def _page(status: int, body: str, cookie_name: str) -> BoltResponse:
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Set-Cookie": OAuthStateUtils(cookie_name=cookie_name).build_set_cookie_for_deletion(),
    }
    return BoltResponse(status=status, headers=headers, body=body)


def oauth_flow(settings: Settings, deps, tokens: Tokens) -> OAuthFlow:
    """Bolt's OAuth flow on our stores; a successful install runs :func:`_installed`."""
    default = settings.defaults.locale

    def success(args: SuccessArgs) -> BoltResponse:
        installation = args.installation
        locale = _installed(deps, tokens, installation) or browser_locale(args.request, default)
        url = f"slack://app?team={installation.team_id}&id={installation.app_id}"
        team = installation.team_name or installation.team_id
        return _page(200, installed_page(locale, team, url), args.settings.state_cookie_name)

    def failure(args: FailureArgs) -> BoltResponse:
        log.warning("an install failed: %s", args.reason)
        locale = browser_locale(args.request, default)
        body = failed_page(locale, args.reason, args.settings.install_path)
        return _page(args.suggested_status_code, body, args.settings.state_cookie_name)

    oauth_settings = OAuthSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=list(SCOPES),
        redirect_uri=settings.redirect_uri,
        installation_store=tokens.store,
        installation_store_bot_only=True,
        state_store=SignedStateStore(settings.state_secret, engine=deps.engine),
        state_expiration_seconds=STATE_SECONDS,
        callback_options=CallbackOptions(success=success, failure=failure),
    )
    client = WebClient(base_url=settings.api_url, timeout=15)
    flow = Flow(client=client, settings=oauth_settings)
    flow.default_locale = default
    return flow


def _installed(deps, tokens: Tokens, installation) -> str | None:
    """Record the install; the installer's language if Slack told us."""
    profile = _installer(deps.settings, installation)
    with session_scope(deps.engine) as session:
        ws = installs.installed(
            session=session,
            team_id=installation.team_id,
            team_name=installation.team_name or "",
            user_id=installation.user_id,
            user_name=profile.get("name", ""),
            locale=profile.get("locale"),
            defaults=deps.settings.defaults,
        )
        locale = normalize_locale(profile.get("locale") or ws.locale)
    tokens.forget(installation.team_id)
    deps.forget(installation.team_id)
    log.info("installed in %s by %s", installation.team_id, installation.user_id)
    return locale


def _installer(settings: Settings, installation) -> dict:
    """The installing user's name and locale (best effort: the install succeeds without)."""
    client = WebClient(token=installation.bot_token, base_url=settings.api_url, timeout=10)
    try:
        user = client.users_info(user=installation.user_id, include_locale=True)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed for the installer: %s", exc.response.get("error"))
        return {}
    return {"name": user.get("real_name") or user.get("name") or "", "locale": user.get("locale")}


def uninstall(deps, tokens: Tokens, team_id: str) -> int | None:
    """The app is gone from ``team_id``: forget its tokens and stop every post at once."""
    tokens.store.delete_bot(enterprise_id=None, team_id=team_id)
    tokens.store.delete_installation(enterprise_id=None, team_id=team_id)
    tokens.forget(team_id)
    with session_scope(deps.engine) as session:
        dropped = installs.uninstalled(session=session, team_id=team_id, now=utcnow())
    deps.forget(team_id)
    log.info("uninstalled from %s: %s unsent posts dropped", team_id, dropped or 0)
    return dropped
