"""Deliver a handler's posts (deal cards, thread replies) to a surface: Slack or the console.

Runs after the handler's transaction committed, so nothing is announced that did not happen.
A card is posted to the workspace's deals channel (else the channel the command came from)
and its channel/ts stored on the deal: that message is the deal's home and its thread.
A change to a deal that has no card yet (the deals channel was unreachable when it was
created) posts the card first, so the thread reply always has a home.
"""

from __future__ import annotations

import logging
from typing import Protocol

from commands.outcome import Post, PostKind
from domain.deals import set_card
from storage.db import session_scope
from storage.models import Deal, Workspace
from views.message import Message

log = logging.getLogger(__name__)


class Surface(Protocol):
    def post(self, channel: str, message: Message, thread_ts: str | None = None) -> str:
        """Post a message; returns its ts."""

    def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace a posted message."""


def publish(
    posts: list[Post],
    *,
    engine,
    workspace_id: int,
    surface: Surface,
    fallback_channel: str | None,
) -> None:
    cards: dict[int, Message] = {p.deal_id: p.message for p in posts if p.kind != PostKind.thread}
    for post in posts:
        if post.kind == PostKind.channel:
            channel = post.channel or fallback_channel
            if channel:
                surface.post(channel, post.message)
            continue
        with session_scope(engine) as session:
            deal = session.get(Deal, post.deal_id)
            workspace = session.get(Workspace, workspace_id)
            if deal is None or deal.workspace_id != workspace_id:
                continue
            home = (deal.thread_channel, deal.thread_ts)
            channel = workspace.deals_channel or post.channel or fallback_channel
        if post.kind in (PostKind.card, PostKind.card_update) and home[1]:
            surface.update(home[0], home[1], post.message)
            continue
        if not home[1]:
            if not channel:
                log.warning("deal %s has no card and no channel to post one in", post.deal_id)
                continue
            card = post.message if post.kind != PostKind.thread else cards.get(post.deal_id)
            if card is None:
                continue  # a thread reply for a deal without a card and no card to post
            ts = surface.post(channel, card)
            with session_scope(engine) as session:
                set_card(
                    session=session, deal=session.get(Deal, post.deal_id), channel=channel, ts=ts
                )
            home = (channel, ts)
            if post.kind != PostKind.thread:
                continue
        if post.kind == PostKind.thread:
            surface.post(home[0], post.message, thread_ts=home[1])
