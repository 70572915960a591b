"""Translation layer: every user-facing string comes from here.

Catalogs are TOML files under ``i18n/locales/<locale>/<area>.toml``; a key is
``<area>.<table>.<name>`` (for example ``deal.moved`` from ``deal.toml``). Each area lives in
its own file so features do not edit one another's strings. Values are ``str.format``
templates with named fields. A key missing from a locale falls back to English; a key
missing everywhere raises, so a typo fails the tests instead of reaching a user.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = ("en", "ko")
DEFAULT_LOCALE = "en"
_ROOT = Path(__file__).parent / "locales"


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}"
        if isinstance(value, dict):
            _flatten(key, value, out)
        else:
            out[key] = str(value)


@cache
def catalog(locale: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((_ROOT / locale).glob("*.toml")):
        with path.open("rb") as fh:
            _flatten(path.stem, tomllib.load(fh), out)
    return out


def normalize_locale(locale: str | None) -> str:
    """``ko-KR``, ``ko_KR`` and ``ko`` are all Korean; anything unknown is English."""
    base = (locale or "").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else DEFAULT_LOCALE


def t(locale: str | None, key: str, /, **params: Any) -> str:
    loc = normalize_locale(locale)
    template = catalog(loc).get(key)
    if template is None:
        template = catalog(DEFAULT_LOCALE).get(key)
    if template is None:
        raise KeyError(f"missing translation key {key!r}")
    return template.format(**params) if params else template


def has(key: str) -> bool:
    return key in catalog(DEFAULT_LOCALE)
