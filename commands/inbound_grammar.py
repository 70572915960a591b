"""``/pipeline inbound``: the inbound lead endpoint's settings (docs/inbound.md).

``/pipeline inbound`` shows the URLs; ``rotate`` makes a new secret; ``channel:#leads``
(``채널:``) sets where new leads are posted; ``assign:round-robin`` (``배정:순환``) gives each
new lead to the next rep in turn, ``assign:claim`` (``배정:직접``) leaves it to be claimed.
"""

from __future__ import annotations

from datetime import date

from commands import grammar as g
from commands import types as c
from commands.lexer import plain, shown
from domain.errors import InvalidInput

ROTATE_WORDS = frozenset({"rotate", "재발급", "교체"})
ASSIGN = {
    **dict.fromkeys(("round-robin", "roundrobin", "rr", "turns", "순환", "순서대로"), True),
    **dict.fromkeys(("claim", "manual", "none", "직접", "수동"), False),
}


def _assign(value: str, today: date) -> bool:
    found = ASSIGN.get(plain(value).strip().lower())
    if found is None:
        raise InvalidInput("inbound.bad_assign", value=shown(plain(value)))
    return found


def pipeline_inbound(text: str, pos: int, today: date) -> c.Command:
    channel = g._setting("channel")
    spec = {"channel": channel, "채널": channel, "assign": _assign, "배정": _assign}
    words, values = g._read(g._all_tokens(text, pos), spec, today, flags_anywhere=True)
    rotate = False
    for word in words:
        if word.text.lower() not in ROTATE_WORDS:
            raise g._extra(word)
        rotate = True
    channels = [v[1] for k, v in values.items() if k in ("channel", "채널")]
    assigns = [v for k, v in values.items() if k in ("assign", "배정")]
    if len(channels) > 1 or len(assigns) > 1:
        raise InvalidInput("grammar.duplicate_key", value=shown("channel:"))
    return c.PipelineInbound(
        rotate=rotate,
        channel=channels[0] if channels else None,
        round_robin=assigns[0] if assigns else None,
    )


# Registered with the shared grammar (commands.grammar imports this module at its end).
g.SUBCOMMANDS["pipeline"].update(dict.fromkeys(("inbound", "인바운드"), "inbound"))
g._PARSERS["pipeline_inbound"] = pipeline_inbound
