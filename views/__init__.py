"""Block Kit views, built by functions. Used by the Slack app, the console and the scheduler."""

from views.message import Message

__all__ = ["Message"]
