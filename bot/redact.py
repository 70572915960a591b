"""Secrets never reach the log: :class:`RedactSecrets`, a filter on every log handler.

Slack tokens (``xoxb-`` bot, ``xoxe-``/``xoxe.xoxb-`` refresh, ``xoxp-`` user, ``xapp-`` app,
…) and HTTP Basic credentials (the client id and secret ``oauth.v2.access`` sends) are
recognised by their shape; the configured secrets (client secret, signing secret,
state secret: :attr:`bot.settings.Settings.secrets`) by their value. Both are replaced by
``[redacted]`` in the message, its arguments and a logged traceback, whoever logs them
(our code, Bolt, slack_sdk, waitress).
"""

from __future__ import annotations

import logging
import re

TOKEN = re.compile(r"\bx(?:ox[a-z]|app)(?:\.xox[a-z])?-[A-Za-z0-9-]+")
BASIC = re.compile(r"\b(Basic\s+)[A-Za-z0-9+/]{8,}=*")  # oauth.v2.access: id:secret, base64
REDACTED = "[redacted]"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    text = BASIC.sub(r"\1" + REDACTED, TOKEN.sub(REDACTED, text))
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(sorted(set(secrets), key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def install(secrets: tuple[str, ...] = (), logger: logging.Logger | None = None) -> RedactSecrets:
    """Put the filter on every handler of ``logger`` (the root logger): a filter on a
    handler sees every record it writes, including those propagated from other loggers."""
    redactor = RedactSecrets(secrets)
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(redactor)
    return redactor
