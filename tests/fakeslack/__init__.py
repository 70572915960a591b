"""A local Slack-compatible Web API (and Socket Mode) server for end-to-end tests.

Slack is unreachable from tests, and mocking slack-sdk would test our mocks. Instead the app's
``WebClient(base_url=slack.url)`` talks HTTP to this server, which answers like Slack does (same
response shapes, same error codes, Block Kit limits enforced) and records every call.
"""

from tests.fakeslack.server import Call, FakeSlack

__all__ = ["Call", "FakeSlack"]
