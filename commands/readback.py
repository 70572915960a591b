"""Reading an interpreted amount back to the person who typed it.

``1억5천`` is recorded as 1억 5천만 (:func:`commands.values.parse_amount`): a rule decided the
amount rather than the letters typed, so the reply ends with the amount in words, exact
(``1억 5천만원으로 기록했습니다.`` / ``Recorded as ₩150,000,000.``), and a misreading is seen
at once. A handler passes the reply it built through :func:`read_back`.
"""

from __future__ import annotations

import copy

from commands.context import Ctx
from commands.types import Amount
from i18n import fmt, t
from views import blocks as b
from views.message import Message


def read_back(reply: Message, ctx: Ctx, amount: Amount | None, key: str) -> Message:
    """``reply`` with ``key`` (with ``{amount}``) appended to its text and its first section,
    if ``amount`` was interpreted; a reply with blocks but no section text gets a section."""
    if amount is None or not amount.interpreted:
        return reply
    currency = amount.currency or ctx.workspace.currency
    line = t(ctx.locale, key, amount=fmt.money(amount.value, currency, ctx.locale))
    text = f"{reply.text}\n{line}" if reply.text else line
    blocks = copy.deepcopy(reply.blocks)
    for block in blocks:
        if block.get("type") == "section" and block.get("text"):
            room = b.SECTION_TEXT - len(line) - 1
            block["text"]["text"] = f"{b.clip(block['text']['text'], room)}\n{line}"
            return Message(text=text, blocks=blocks)
    if blocks:
        blocks.append(b.section(line))
    return Message(text=text, blocks=blocks)
