"""The sales domain: plain functions over storage, no Slack."""
