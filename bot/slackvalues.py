"""Slack's ids and message timestamps, parsed at the edge into small typed values.

A value from a request is either what Slack sends, or it is not there: ``slack_id(42)`` and
``slack_ts("1e308")`` are ``None``, so a hostile value means "not found" to the code behind
the edge, never a traceback (STYLE.md, "Habits this repository still has to lose").

* A Slack id (``T0123ABCD``, ``U024BE7LH``, ``C1``) is upper-case ASCII letters and digits,
  at most 32 characters: the size of every id column in storage/models.py.
* A message ts (``1700000000.000100``) is whole seconds since the epoch, a dot and at most
  six digits of microseconds, the form Slack uses as a message's id. Ten digits of seconds
  reach the year 2286, so every ts converts to a datetime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_ID = 32
_ID = re.compile(rf"[A-Z0-9]{{1,{MAX_ID}}}")
_TS = re.compile(r"([0-9]{1,10})\.([0-9]{1,6})")


def slack_id(value: object) -> str | None:
    """``"U024BE7LH"`` -> itself; anything else (``42``, ``""``, ``"u1"``, 40 letters) -> None."""
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


@dataclass(frozen=True)
class SlackTs:
    """A message timestamp: ``text`` exactly as Slack wrote it (it is the message's id)."""

    text: str

    @property
    def at(self) -> datetime:
        seconds, _, fraction = self.text.partition(".")
        return datetime.fromtimestamp(int(seconds), tz=UTC).replace(
            microsecond=int(fraction.ljust(6, "0"))
        )


def slack_ts(value: object) -> SlackTs | None:
    """``"1700000000.000100"`` -> a :class:`SlackTs`; ``"1e308"``, ``1.5``, ``None`` -> None."""
    if isinstance(value, str) and _TS.fullmatch(value):
        return SlackTs(value)
    return None
