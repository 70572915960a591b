"""Secrets never reach the log: tokens by their shape, configured secrets by their value."""

from __future__ import annotations

import base64
import io
import logging

from bot.redact import install
from bot.settings import Settings

SECRETS = {
    "SLACK_CLIENT_ID": "111.222",
    "SLACK_CLIENT_SECRET": "c0ffee-client-secret-1234",
    "SLACK_STATE_SECRET": "state-secret-5678",
    "SLACK_SIGNING_SECRET": "signing-secret-9012",
}


def logged(*records) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("redact-test")
    root.handlers, root.propagate = [handler], False
    root.setLevel(logging.DEBUG)
    install(Settings.from_env(SECRETS).secrets, logger=root)
    child = logging.getLogger("redact-test.slack_sdk")  # propagates to the handler
    for record in records:
        record(child)
    return out.getvalue()


def test_tokens_and_secrets_are_redacted_from_messages_arguments_and_tracebacks():
    basic = base64.b64encode(b"111.222:c0ffee-client-secret-1234").decode()

    def with_traceback(log):
        try:
            raise ValueError("refresh with xoxe-1-T1-abcdef failed")
        except ValueError:
            log.exception("rotation failed for %s", "xoxe.xoxb-1-T1-zzz")

    text = logged(
        lambda log: log.info("posting with xoxb-123-456-abcDEF to C1"),
        lambda log: log.warning("oauth.v2.access client_secret=%s", SECRETS["SLACK_CLIENT_SECRET"]),
        lambda log: log.debug("headers %s", {"Authorization": "Bearer xoxb-9-9-secret"}),
        lambda log: log.debug("headers %s", {"Authorization": f"Basic {basic}"}),
        lambda log: log.info("app token %s, state secret %s", "xapp-1-A1-2-x", "state-secret-5678"),
        with_traceback,
    )
    for leaked in ("xoxb-", "xoxe", "xapp-", "c0ffee", "state-secret-5678", "abcdef", basic):
        assert leaked not in text, text
    assert text.count("[redacted]") == 9  # the traceback shows the token twice
    assert "'Basic [redacted]'" in text
    assert "posting with [redacted] to C1" in text
    assert "ValueError: refresh with [redacted] failed" in text
