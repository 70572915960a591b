"""The tables of OAuth installs: slack_sdk's SQLAlchemy installation and state stores.

``slack_bots`` and ``slack_installations`` hold each workspace's bot token (and refresh token
when token rotation is on); ``slack_oauth_states`` holds the one-time ``state`` of an install
in progress. slack_sdk's stores (:mod:`bot.oauth`) read and write them on our engine. They are
registered here in our metadata with slack_sdk's own table builders, so Alembic's migration
(0011) and the models describe exactly the tables the stores query; nothing creates them at
run time. Storage only declares them: it never talks to Slack.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlmodel import SQLModel

BOTS = SQLAlchemyInstallationStore.default_bots_table_name
INSTALLATIONS = SQLAlchemyInstallationStore.default_installations_table_name
STATES = SQLAlchemyOAuthStateStore.default_table_name

bots = SQLAlchemyInstallationStore.build_bots_table(SQLModel.metadata, BOTS)
installations = SQLAlchemyInstallationStore.build_installations_table(
    SQLModel.metadata, INSTALLATIONS
)
oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(SQLModel.metadata, STATES)

#: The install tables that hold a workspace's data (by Slack team id), for erasing it.
BY_TEAM = (bots, installations)
