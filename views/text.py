"""Block Kit as readable terminal text, for the console and for logs.

Only what a person reads survives: headers, section text and fields, context lines, the labels
of buttons and selects. Slack markup becomes plain: ``<url|label>`` → ``label``,
``<@U123>`` → ``@U123`` (``@김영업`` given the people's names, as Slack shows it), ``&amp;`` → ``&``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from views.message import Message

_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>|<([^<>]+)>")


Names = Mapping[str, str]  # a Slack user id → the name shown for it
NO_NAMES: Names = {}


def plain(text: str, names: Names = NO_NAMES) -> str:
    def repl(match: re.Match[str]) -> str:
        label, bare = match.group(2), match.group(3)
        if label:
            return label
        if bare.startswith("@"):
            return "@" + (names.get(bare[1:]) or bare[1:])
        if bare.startswith("#"):
            return bare
        if bare.startswith("!"):
            return "@" + bare[1:].split("^")[0]
        return bare

    return _LINK.sub(repl, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: dict[str, Any] | None, names: Names = NO_NAMES) -> str:
    return plain(obj.get("text", ""), names) if obj else ""


def _element(element: dict[str, Any], names: Names = NO_NAMES) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[{_text(element.get('text'))}]"
    if kind in ("static_select", "external_select", "users_select", "conversations_select"):
        chosen = element.get("initial_option")
        label = _text(chosen.get("text")) if chosen else _text(element.get("placeholder"))
        return f"[{label} ▾]"
    if kind == "image":
        return f"(image: {element.get('alt_text', '')})"
    return _text(element, names)


def block_lines(block: dict[str, Any], names: Names = NO_NAMES) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        title = _text(block.get("text"), names)
        return [title, "=" * min(len(title) * 2, 60)]
    if kind == "section":
        lines = [_text(block.get("text"), names)] if block.get("text") else []
        fields = [_text(f, names) for f in block.get("fields", [])]
        for i in range(0, len(fields), 2):
            lines.append("   ".join(fields[i : i + 2]))
        if block.get("accessory"):
            lines.append(_element(block["accessory"], names))
        return lines
    if kind == "context":
        return ["  " + "  ".join(_element(e, names) for e in block.get("elements", []))]
    if kind == "actions":
        return [" ".join(_element(e, names) for e in block.get("elements", []))]
    if kind == "divider":
        return ["-" * 40]
    if kind == "image":
        return [f"(image: {block.get('alt_text', '')})"]
    if kind == "input":
        return [f"{_text(block.get('label'))}: ____"]
    return []


def render(message: Message, names: Names = NO_NAMES) -> str:
    """The message as a person would read it; the ``text`` fallback when it has no blocks.
    ``names``: how people are shown (``<@U1>`` → ``@김영업``); an id without one stays."""
    if not message.blocks:
        return plain(message.text, names)
    lines: list[str] = []
    for block in message.blocks:
        lines.extend(block_lines(block, names))
    return "\n".join(line for line in lines if line is not None)


def render_view(view: dict[str, Any]) -> str:
    title = _text(view.get("title"))
    body = render(Message(text="", blocks=view.get("blocks", [])))
    return f"[{title}]\n{body}"
