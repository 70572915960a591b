"""What a handler returns; the adapter (Slack or console) delivers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from views.message import Message


class PostKind(StrEnum):
    card = "card"  # post a new deal card; store its channel/ts on the deal
    card_update = "card_update"  # chat.update the deal's card
    thread = "thread"  # reply in the deal's thread
    channel = "channel"  # a plain message to a channel


@dataclass
class Post:
    kind: PostKind
    message: Message
    deal_id: int | None = None
    channel: str | None = None  # for card (fallback chain) and channel posts


@dataclass
class Upload:
    """A file sent after the reply. ``render`` draws it only when it is sent (after the ack,
    off the request), so a chart never delays the answer the user is waiting for."""

    filename: str
    render: Callable[[], bytes]
    title: str

    @cached_property
    def content(self) -> bytes:
        return self.render()


@dataclass
class Outcome:
    reply: Message | None = None
    public: bool = False  # visible to the channel (in_channel) rather than ephemeral
    posts: list[Post] = field(default_factory=list)
    modal: dict[str, Any] | None = None  # a view to open with the trigger id
    uploads: list[Upload] = field(default_factory=list)  # e.g. a chart, to the reply's channel
    permalink_for: int | None = None  # a deal whose thread link the adapter adds (Slack only)
