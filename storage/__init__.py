"""Persistence: SQLModel tables, engine/session set-up, migrations. Never talks to Slack."""
