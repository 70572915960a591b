"""Reading an interpreted amount back to the person who typed it.

``1억5천`` is recorded as 1억 5천만 (:func:`commands.values.parse_amount`): a rule decided the
amount rather than the letters typed, so the reply ends with the amount in words, exact
(``1억 5천만원으로 기록했습니다.`` / ``Recorded as ₩150,000,000.``), and a misreading is seen
at once. A handler calls :func:`read_back` on the reply it built; nothing else changes.
"""

from __future__ import annotations

from commands.context import Ctx
from commands.types import Amount
from i18n import fmt, t
from views import blocks as b
from views.message import Message


def read_back(reply: Message | None, ctx: Ctx, amount: Amount | None, key: str) -> None:
    """Append ``key`` (with ``{amount}``) to the reply's text and its first section, if
    ``amount`` was interpreted; a reply with blocks but no section text gets a section."""
    if reply is None or amount is None or not amount.interpreted:
        return
    currency = amount.currency or ctx.workspace.currency
    line = t(ctx.locale, key, amount=fmt.money(amount.value, currency, ctx.locale))
    reply.text = f"{reply.text}\n{line}" if reply.text else line
    for block in reply.blocks:
        if block.get("type") == "section" and block.get("text"):
            room = b.SECTION_TEXT - len(line) - 1
            block["text"]["text"] = f"{b.clip(block['text']['text'], room)}\n{line}"
            return
    if reply.blocks:
        reply.blocks.append(b.section(line))
