"""Split slash-command text into tokens: free words and ``key:value`` pairs.

Double quotes group words (straight ``"`` and the smart quotes Slack and macOS type, ``“ ”``
and ``‘ ’``). Slack escapes (``<@U123|kim>``, ``<#C123|deals>``, ``<https://…|label>``) are
kept whole, even when their label has spaces. The lexer reads one token at a time, so a
command can stop early and take the rest of the text verbatim (a note, a search query).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from domain.errors import InvalidInput

# An opening quote and the quotes that may close it.
_QUOTES = {
    '"': '"”“',
    "“": '”"“',
    "”": '”"“',
    "„": '“”"',
    "‘": "’‘",
}
# Keys are ASCII or Hangul words (``amount:``, ``금액:``); ``10:30`` and ``https://`` are not keys.
_KEY = re.compile(r"([A-Za-z가-힣][A-Za-z0-9가-힣_-]*):")
_ESCAPE = re.compile(r"<(?:[@#!][^<>]*|[A-Za-z][A-Za-z0-9+.-]*:[^<>]*)>")
_MAX_SHOWN = 60
# A run of characters that are read one by one alike: no space, no opening quote, no ``<``.
_PLAIN = re.compile("[^\\s" + "".join(_QUOTES) + "<]+")


@dataclass(frozen=True)
class Token:
    """One word of the command. ``key`` is set for ``key:value``; ``text`` is unquoted."""

    text: str
    key: str | None = None
    quoted: bool = False
    end: int = 0  # offset just after the token in the source text
    value_start: int = 0  # offset of the value (after ``key:``), for "the rest of the text"


def shown(value: str) -> str:
    """A user's value, safe to put between backticks in a message, and not too long."""
    value = " ".join(value.split()).replace("`", "'")
    return value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 1] + "…"


def tokens(text: str, pos: int = 0) -> Iterator[Token]:
    """Every token of ``text`` from ``pos`` on."""
    while (token := next_token(text, pos)) is not None:
        yield token
        pos = token.end


def next_token(text: str, pos: int) -> Token | None:
    """The token starting at or after ``pos``, or None at the end of the text."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        return None
    key = None
    if found := key_at(text, pos):
        key, pos = found.key, found.end
    value_start = pos
    parts: list[str] = []
    quoted = False
    while pos < len(text) and not text[pos].isspace():
        if run := _PLAIN.match(text, pos):  # many characters at once (issue 17)
            parts.append(run.group())
            pos = run.end()
            continue
        part, pos, was_quoted = _read_part(text, pos)
        parts.append(part)
        quoted = quoted or was_quoted
    return Token(text="".join(parts), key=key, quoted=quoted, end=pos, value_start=value_start)


def key_at(text: str, pos: int) -> Token | None:
    """The ``key:`` starting at or after ``pos`` (its value not read), or None for a free word.

    Lets a command look ahead without reading a value that may hold an unbalanced quote.
    """
    while pos < len(text) and text[pos].isspace():
        pos += 1
    match = _KEY.match(text, pos)
    if not match or text.startswith("//", match.end()):  # http://… is a word, not a key
        return None
    return Token(text="", key=match.group(1).lower(), end=match.end(), value_start=match.end())


def _read_part(text: str, pos: int) -> tuple[str, int, bool]:
    """One piece of a word: a quoted run, a Slack escape, or a single character."""
    char = text[pos]
    if char in _QUOTES:
        close = _find_any(text, _QUOTES[char], pos + 1)
        if close < 0:
            raise InvalidInput("grammar.unterminated_quote", value=shown(text[pos:]))
        return text[pos + 1 : close], close + 1, True
    if char == "<" and (escape := _ESCAPE.match(text, pos)):
        return escape.group(0), escape.end(), False
    return char, pos + 1, False


def _find_any(text: str, chars: str, start: int) -> int:
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found, default=-1)


def rest(text: str, pos: int) -> str:
    """The text after ``pos`` as written, without surrounding space or one pair of quotes."""
    body = text[pos:].strip()
    if len(body) >= 2 and body[0] in _QUOTES and body[-1] in _QUOTES[body[0]]:
        inner = body[1:-1]
        if not any(c in _QUOTES or c in "”’" for c in inner):
            return inner.strip()
    return body


def _readable(escape: re.Match[str]) -> str:
    inner = escape.group(0)[1:-1]
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        return label or "@" + target[1:].split("^")[0]
    if target.startswith("mailto:"):
        return target.removeprefix("mailto:")
    return label or target


def plain(value: str) -> str:
    """Slack markup made plain: links become their label, ``&amp;`` becomes ``&``."""
    return unescape(_ESCAPE.sub(_readable, value))


def unescape(value: str) -> str:
    """Undo Slack's escaping of the three characters it escapes."""
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
