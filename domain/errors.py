"""Domain errors: raised anywhere, rendered once by the adapter.

Each error carries a catalog key and its parameters, never English text, so the one error
path (Slack's error handler, the console) renders it in the reader's locale.
"""

from __future__ import annotations

from typing import Any


class SalesbotError(Exception):
    """Base of every error a user may see. ``key`` is an i18n catalog key."""

    key = "error.generic"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        self.key = key or self.key
        self.params = params
        super().__init__(self.key, params)

    def render(self, locale: str | None) -> str:
        """The message in ``locale``; with a ``usage`` param, the right form follows it."""
        from i18n import t

        params = {k: v for k, v in self.params.items() if k != "usage"}
        text = t(locale, self.key, **params)
        usage = self.params.get("usage")
        if usage:
            text += "\n" + t(
                locale, "grammar.usage_prefix", usage=t(locale, f"grammar.usage.{usage}")
            )
        return text


class InvalidInput(SalesbotError):
    """The user wrote something we cannot read; ``usage`` names the help line to show."""

    key = "error.invalid"


class NotFound(SalesbotError):
    key = "error.not_found"


class NotAllowed(SalesbotError):
    key = "error.not_allowed"


class Ambiguous(SalesbotError):
    """A reference matched several rows; ``candidates`` lets the adapter offer buttons."""

    key = "error.ambiguous"

    def __init__(self, key: str | None = None, /, *, candidates: list[Any], **params: Any):
        super().__init__(key, **params)
        self.candidates = candidates


class Conflict(SalesbotError):
    key = "error.conflict"
