"""What a handler returns; the adapter (Slack or the console) delivers it.

An :class:`Outcome` is a value: nothing downstream mutates it. ``reply`` answers the person
who asked (in the ack, through the ``response_url``, or ephemeral); ``modal`` opens with the
trigger id; ``posts`` and ``uploads`` are everything else, and are **recorded in the
outbox in the same transaction as the change** (:func:`commands.record.record`), then sent
by the drainer. A post carries what the handler already loaded (the deal's thread home,
the channel to fall back on) so delivery never has to read the deal again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from views.message import Message


class PostKind(StrEnum):
    card = "card"  # post a new deal card (its thread is the deal's home) or update it
    card_update = "card_update"  # chat.update the deal's card (post it when it has none)
    thread = "thread"  # reply in the deal's thread
    channel = "channel"  # a plain message to a channel
    dm = "dm"  # a direct message from the app to a member


@dataclass(frozen=True)
class Post:
    kind: PostKind
    message: Message
    deal_id: int | None = None
    # card / card_update: where a card goes when the deal has none yet (the deals channel,
    # else the channel the command came from); channel posts: the channel.
    channel: str | None = None
    user: str | None = None  # dm: the Slack user id
    home: tuple[str, str] | None = None  # the deal's thread (channel, ts) when already known
    card: Message | None = None  # thread: the card to post first if the deal has none


@dataclass(frozen=True)
class Upload:
    """A file for the acting user's DM: a chart drawn when it is sent (after the ack, off the
    request), or a file made by the handler (an export's CSV) in ``content``.

    ``chart`` is a JSON-able spec (:mod:`views.chart_specs`): the figures the reply showed,
    so the picture matches the reply whenever it is drawn, even after a restart.
    """

    filename: str
    title: str
    chart: dict[str, Any] | None
    user: str  # whose DM
    content: bytes | None = None


@dataclass(frozen=True)
class Outcome:
    reply: Message | None = None
    public: bool = False  # visible to the channel (in_channel) rather than ephemeral
    posts: tuple[Post, ...] = ()
    modal: dict[str, Any] | None = None  # a view to open with the trigger id
    uploads: tuple[Upload, ...] = field(default_factory=tuple)
    # A button's answer that takes the place of the message the button was on (a list's
    # next page, a confirmation once confirmed or cancelled): replace_original.
    replace: bool = False

    @property
    def has_posts(self) -> bool:
        return bool(self.posts or self.uploads)
