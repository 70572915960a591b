"""Small Block Kit builders that keep every element inside Slack's limits (SLACK.md)."""

from __future__ import annotations

from typing import Any

SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
SELECT_OPTIONS = 100
MODAL_TITLE = 24


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text or " ", limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text or " ", limit)}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def section(text: str, *, accessory: dict | None = None, block_id: str | None = None) -> dict:
    block: dict[str, Any] = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def fields(items: list[str]) -> dict[str, Any]:
    return {"type": "section", "fields": [mrkdwn(i, FIELD_TEXT) for i in items[:10]]}


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS]]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(
    text: str, action_id: str, value: str = "", *, style: str | None = None, url: str | None = None
) -> dict[str, Any]:
    el: dict[str, Any] = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT),
        "action_id": action_id,
    }
    if value:
        el["value"] = value[:BUTTON_VALUE]
    if style:
        el["style"] = style
    if url:
        el["url"] = url
    return el


def actions(elements: list[dict], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": elements[:ACTIONS_ELEMENTS]}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT), "value": value[:OPTION_VALUE]}


def static_select(
    placeholder: str, action_id: str, options: list[dict], initial: dict | None = None
) -> dict[str, Any]:
    el: dict[str, Any] = {
        "type": "static_select",
        "placeholder": plain(placeholder, 150),
        "action_id": action_id,
        "options": options[:SELECT_OPTIONS],
    }
    if initial:
        el["initial_option"] = initial
    return el


def image(url: str, alt: str) -> dict[str, Any]:
    return {"type": "image", "image_url": url, "alt_text": clip(alt, 2000)}


def fit(blocks: list[dict], limit: int, overflow: dict | None = None) -> list[dict]:
    """Keep at most ``limit`` blocks; the last slot says what was left out."""
    if len(blocks) <= limit:
        return blocks
    return blocks[: limit - 1] + ([overflow] if overflow else [blocks[limit - 1]])
