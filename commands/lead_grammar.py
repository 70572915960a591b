"""``/lead set L7 title:CTO size:120 industry:제조`` (issue 15), on the pieces of
:mod:`commands.grammar`: the same ``key:value`` grammar as ``/deal set``. The built-in keys
are the lead's name, email, source, company size and job title (``source:-`` clears the
source, the email or the title, as ``field:-`` clears a custom field); any other key is one
of the workspace's custom fields for leads (:mod:`commands.field_values` reads it once known).
"""

from __future__ import annotations

from datetime import date

from commands import grammar as g
from commands import types as c
from commands.field_values import CLEAR
from commands.lexer import plain


def _clearing(parser: g.Parser) -> g.Parser:
    """``-``, ``none``, ``없음``: "" (the domain clears the field); else ``parser``'s value."""

    def read(value: str, today: date):
        return "" if plain(value).strip().lower() in CLEAR else parser(value, today)

    return read


LEAD_SET_KEYS: dict[str, g.Parser] = {
    "name": g._name,
    "email": _clearing(g._email),
    "source": _clearing(g._source),
    "size": g._size,
    "title": _clearing(g._title),
}


def lead_set(text: str, pos: int, today: date) -> c.Command:
    custom: list[tuple[str, str]] = []
    words, values = g._read(g._all_tokens(text, pos), LEAD_SET_KEYS, today, custom=custom)
    lead = g._lead_ref(words)
    g._require_some(values or dict(custom))
    return c.LeadSet(lead=lead, **values, custom=tuple(custom))


# Registered with the shared grammar (commands.grammar imports this module at its end).
g.SUBCOMMANDS["lead"].update(dict.fromkeys(("set", "edit", "수정", "편집"), "set"))
g._PARSERS["lead_set"] = lead_set
