"""Slack's payloads, parsed at the edge into small typed values.

**Ids and timestamps.** A Slack id (``T0123ABCD``, ``U024BE7LH``, ``C1``) is upper-case ASCII
letters and digits, at most 32 characters (the size of every id column in storage/models.py);
a message ts (``1700000000.000100``) is whole seconds, a dot and at most six digits of
microseconds, the form Slack uses as a message's id. :func:`slack_id` and :func:`slack_ts` give
None for anything else (``42``, ``"u1"``, ``"1e308"``), so a hostile value means "not found" to
the code behind the edge, never a traceback (STYLE.md).

**Values we wrote.**
Button values, select options, block ids and ``private_metadata`` come back from Slack as
strings we wrote — or as anything at all from someone who crafts a request with a valid
signature. Each parser here either returns a typed value or raises
:class:`domain.errors.NotFound`, so a hostile value is answered "not found" (or ignored), never
a traceback. Values we write (views/deals.py, views/notifications.py, views/modals.py):

=================  ============================================  ==========================
action / view      value                                         legacy (older cards)
=================  ============================================  ==========================
deal.won/lost/…    ``D42`` (the deal's number)                   ``17`` (the deal's row id)
deal.stage         option ``<stage id>``, block id ``deal:D42``  block id ``deal:17``
deal.snooze        ``D42:3`` (number, days)                      ``17:3``
lead.convert       ``L7``                                        ``7`` (the lead's row id)
private_metadata   ``{"deal": 42, "channel": "C1", ...}``        ``{"deal_id": 17}``
=================  ============================================  ==========================
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.errors import NotFound

MAX_ROW_ID = 2**31 - 1  # the tables' INTEGER ids and numbers
MAX_SNOOZE_DAYS = 365
_NUMBER = re.compile(r"[0-9]{1,10}")  # ASCII digits only: "²".isdigit() is true


MAX_ID = 32  # characters of a Slack id
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


@dataclass(frozen=True)
class DealKey:
    """A deal a button points at: by number (what we write now) or row id (older cards)."""

    number: int | None = None
    id: int | None = None

    @property
    def shown(self) -> str:
        return f"D{self.number}" if self.number is not None else f"#{self.id}"


def _int(text: str, *, minimum: int = 1, maximum: int = MAX_ROW_ID) -> int | None:
    if not isinstance(text, str) or not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def deal_key(value: object) -> DealKey:
    """``D42`` → number 42; ``17`` → row id 17 (cards posted before numbers were carried)."""
    text = value.strip() if isinstance(value, str) else ""
    if text[:1] in ("D", "d"):
        number = _int(text[1:])
        if number is not None:
            return DealKey(number=number)
    else:
        row_id = _int(text)
        if row_id is not None:
            return DealKey(id=row_id)
    raise NotFound("deal.not_found_number", number=_shown(value))


def lead_key(value: object) -> tuple[int | None, int | None]:
    """``L7`` → (number 7, None); ``7`` → (None, row id 7)."""
    text = value.strip() if isinstance(value, str) else ""
    if text[:1] in ("L", "l") and (number := _int(text[1:])) is not None:
        return number, None
    if (row_id := _int(text)) is not None:
        return None, row_id
    raise NotFound("lead.not_found_number", number=_shown(value))


def stage_id(value: object) -> int:
    found = _int(value) if isinstance(value, str) else None
    if found is None:
        raise NotFound("pipeline.stage_not_found", text=_shown(value), stages="")
    return found


def snooze(value: object) -> tuple[DealKey, int]:
    """``D42:3`` → (D42, 3 days); days between 1 and a year."""
    text = value if isinstance(value, str) else ""
    deal, _, days = text.partition(":")
    count = _int(days or "1", maximum=MAX_SNOOZE_DAYS)
    if count is None:
        raise NotFound("deal.not_found_number", number=_shown(value))
    return deal_key(deal), count


def block_deal(block_id: object) -> DealKey:
    """The stage select's block id ``deal:D42``."""
    text = block_id if isinstance(block_id, str) else ""
    prefix, _, rest = text.partition(":")
    if prefix != "deal":
        raise NotFound("deal.not_found_number", number=_shown(block_id))
    return deal_key(rest)


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:40]


class ModalMeta(BaseModel):
    """What a modal carries in ``private_metadata``; anything unreadable reads as empty."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    channel: str | None = Field(default=None, max_length=32, pattern=_ID.pattern)
    deal: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)  # the deal's number
    deal_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)  # legacy: the row id
    pipeline_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    stage_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)  # the cadence editor's

    @classmethod
    def parse(cls, raw: object) -> ModalMeta:
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else {}
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        try:
            return cls.model_validate(data)
        except ValidationError:
            return cls()

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @property
    def deal_key(self) -> DealKey:
        if self.deal is not None:
            return DealKey(number=self.deal)
        if self.deal_id is not None:
            return DealKey(id=self.deal_id)
        raise NotFound("deal.not_found_number", number="?")


# ---------------------------------------------------------------- issue 13: confirm, pages


class ConfirmValue(BaseModel):
    """A confirmation's Confirm button (views/closing.py): what to do, to which deal."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    do: str = Field(pattern=r"^(won|lost|move)$")
    deal: int = Field(ge=1, le=MAX_ROW_ID)
    stage: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    reason: str | None = Field(default=None, max_length=500)


def confirm_value(value: object) -> ConfirmValue:
    try:
        data = json.loads(value) if isinstance(value, str) else None
        found = ConfirmValue.model_validate(data)
    except (ValueError, ValidationError):
        raise NotFound("deal.not_found_number", number=_shown(value)) from None
    if found.do == "move" and found.stage is None:
        raise NotFound("deal.not_found_number", number=_shown(value))
    return found


class PageValue(BaseModel):
    """A list's Next/Previous button (views/deals.py): the list's text and the page's start."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    text: str = Field(default="", max_length=1500)
    offset: int = Field(default=0, ge=0, le=100_000)


def page_value(value: object) -> PageValue:
    try:
        data = json.loads(value) if isinstance(value, str) else None
        return PageValue.model_validate(data)
    except (ValueError, ValidationError):
        raise NotFound("deal.not_found_number", number=_shown(value)) from None
