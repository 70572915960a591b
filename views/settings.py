"""The answer to ``/pipeline settings key:value``: what changed, from what to what."""

from __future__ import annotations

from domain.settings import SettingChange
from i18n import t


def shown(key: str, value: object, locale: str) -> str:
    """A setting's value as a person reads it."""
    if value is None:
        return t(locale, "settings.none")
    if key in ("deals_channel", "digest_channel"):
        return f"<#{value}>"
    if key == "locale":
        return t(locale, f"settings.language.{value}")
    if key == "stall_days":
        return t(locale, f"settings.stall.{'business' if value else 'calendar'}")
    return str(value)


def changed(changes: list[SettingChange], locale: str) -> str:
    if not changes:
        return t(locale, "settings.unchanged")
    lines = [
        t(
            locale,
            "settings.change",
            setting=t(locale, f"settings.key.{c.key}"),
            old=shown(c.key, c.old, locale),
            new=shown(c.key, c.new, locale),
        )
        for c in changes
    ]
    return "\n".join([t(locale, "settings.changed"), *lines])
