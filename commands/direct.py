"""A direct message to Salesbot read as a command written without the slash.

``deal list mine``, ``/deal list mine``, ``딜 목록`` and ``파이프라인 예측`` are the commands
``/deal list mine``… would be; anything else is answered with the help (:func:`dm_help`).
The bot adapter (bot/listeners/events.py) delivers the answer in the DM through the outbox.
"""

from __future__ import annotations

from commands.context import Ctx
from commands.dispatch import execute
from commands.grammar import SUBCOMMANDS
from commands.outcome import Outcome
from i18n import t
from views.message import Message

# The first word of a DM -> the slash command it stands for.
COMMAND_WORDS = {
    **dict.fromkeys(("lead", "leads", "리드"), "lead"),
    **dict.fromkeys(("deal", "deals", "딜"), "deal"),
    **dict.fromkeys(("pipeline", "파이프라인"), "pipeline"),
}


def split(text: str) -> tuple[str, str] | None:
    """``"딜 목록 mine"`` -> ``("deal", "목록 mine")``; None when it is not a command."""
    first, _, rest = (text or "").strip().partition(" ")
    command = COMMAND_WORDS.get(first.lstrip("/").lower())
    if command is None:
        return None
    return command, rest.strip()


def answer(ctx: Ctx, text: str) -> Outcome:
    """The outcome of a DM: the command's, or the help. A form (``deal new`` alone) cannot
    open from a message, so the reply says how to write it instead."""
    found = split(text)
    if found is None:
        return Outcome(reply=dm_help(ctx.locale))
    command, rest = found
    outcome = execute(ctx, command, rest)
    if outcome.modal is not None:
        usage = _usage(command, rest)
        hint = t(ctx.locale, f"grammar.usage.{usage}")
        return Outcome(reply=Message(text=t(ctx.locale, "dm.no_forms", usage=hint)))
    return outcome


def _usage(command: str, rest: str) -> str:
    word = rest.split(" ", 1)[0].lower()
    sub = SUBCOMMANDS[command].get(word)
    return f"{command}_{sub}" if sub else command


def dm_help(locale: str) -> Message:
    return Message(text=t(locale, "dm.help"))
