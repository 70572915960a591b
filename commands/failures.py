"""The one error path: what a user reads when a command fails.

Domain errors render in the reader's language; a database that cannot be reached is said as
such ("nothing was changed", no error id: there is nothing for us to look up); anything else
is a bug on our side: it is logged with its traceback under a short error id, and the user
gets that id and the assurance that nothing changed (the transaction was rolled back).
"""

from __future__ import annotations

import logging
import secrets

from domain.errors import SalesbotError
from i18n import t
from storage.db import unreachable

log = logging.getLogger("salesbot.errors")


def error_id() -> str:
    return secrets.token_hex(4)


def user_message(exc: BaseException, locale: str | None) -> str:
    if isinstance(exc, SalesbotError):
        return exc.render(locale)
    if unreachable(exc):
        log.warning("database unreachable: %s", str(exc).splitlines()[0][:300])
        return t(locale, "error.database_down")
    ref = error_id()
    log.error("unexpected error %s", ref, exc_info=exc)
    return t(locale, "error.generic", error_id=ref)
