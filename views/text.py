"""Block Kit as readable terminal text, for the console and for logs.

Only what a person reads survives: headers, section text and fields, context lines, the labels
of buttons and selects. Slack markup becomes plain: ``<url|label>`` → ``label``,
``<@U123>`` → ``@U123``, ``&amp;`` → ``&``.
"""

from __future__ import annotations

import re
from typing import Any

from views.message import Message

_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>|<([^<>]+)>")


def plain(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        label, bare = match.group(2), match.group(3)
        if label:
            return label
        if bare.startswith(("@", "#")):
            return bare
        if bare.startswith("!"):
            return "@" + bare[1:].split("^")[0]
        return bare

    return _LINK.sub(repl, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: dict[str, Any] | None) -> str:
    return plain(obj.get("text", "")) if obj else ""


def _element(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[{_text(element.get('text'))}]"
    if kind in ("static_select", "external_select", "users_select", "conversations_select"):
        chosen = element.get("initial_option")
        label = _text(chosen.get("text")) if chosen else _text(element.get("placeholder"))
        return f"[{label} ▾]"
    if kind == "image":
        return f"(image: {element.get('alt_text', '')})"
    return _text(element)


def block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        title = _text(block.get("text"))
        return [title, "=" * min(len(title) * 2, 60)]
    if kind == "section":
        lines = [_text(block.get("text"))] if block.get("text") else []
        fields = [_text(f) for f in block.get("fields", [])]
        for i in range(0, len(fields), 2):
            lines.append("   ".join(fields[i : i + 2]))
        if block.get("accessory"):
            lines.append(_element(block["accessory"]))
        return lines
    if kind == "context":
        return ["  " + "  ".join(_element(e) for e in block.get("elements", []))]
    if kind == "actions":
        return [" ".join(_element(e) for e in block.get("elements", []))]
    if kind == "divider":
        return ["-" * 40]
    if kind == "image":
        return [f"(image: {block.get('alt_text', '')})"]
    if kind == "input":
        return [f"{_text(block.get('label'))}: ____"]
    return []


def render(message: Message) -> str:
    """The message as a person would read it; the ``text`` fallback when it has no blocks."""
    if not message.blocks:
        return plain(message.text)
    lines: list[str] = []
    for block in message.blocks:
        lines.extend(block_lines(block))
    return "\n".join(line for line in lines if line is not None)


def render_view(view: dict[str, Any]) -> str:
    title = _text(view.get("title"))
    body = render(Message(text="", blocks=view.get("blocks", [])))
    return f"[{title}]\n{body}"
