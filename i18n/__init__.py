"""Translation layer: every user-facing string comes from here.

Catalogs are TOML files under ``i18n/locales/<locale>/<area>.toml``; a key is
``<area>.<table>.<name>`` (for example ``deal.moved`` from ``deal.toml``). Each area lives in
its own file so features do not edit one another's strings. Values are ``str.format``
templates with named fields. A key missing from a locale falls back to English; a key
missing everywhere raises, so a typo fails the tests instead of reaching a user.

**Korean particles.** A field's format spec may name a particle, both forms separated by a
slash: ``"{ref:을/를} 옮겼습니다"`` renders ``D201을 옮겼습니다`` / ``L42를 옮겼습니다``,
``"{role:으로/로}"`` renders ``매니저로``. The form is chosen by how the value is read
(:mod:`i18n.josa`: refs, numbers, acronyms, Hangul). When the reading is unknown (an English
word, an emoji) both forms are written the traditional way, ``을(를)``: never an error in front
of a user, merely clumsy. So a template uses a particle only after a field whose values have a
known reading, and words sentences about free text (stage names, titles, people's names)
without one (``{to} 단계로``); tests/test_josa.py checks the catalogs keep to that. A particle
name that is not one of :data:`i18n.josa.PARTICLES` raises, like any bad format spec.

**English plurals.** A spec with a bar names the singular and the plural noun:
``"{count:deal|deals}"`` renders ``1 deal``, ``2 deals``, ``1,200 deals`` (the count may be
an int or an already formatted number), so no catalog writes ``1 deals``.
"""

from __future__ import annotations

import re
import string
import tomllib
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from i18n import josa

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


@lru_cache(maxsize=512)  # every t() asks, a few thousand times per digest
def normalize_locale(locale: str | None) -> str:
    """``ko-KR``, ``ko_KR`` and ``ko`` are all Korean; anything unknown is English."""
    base = (locale or "").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else DEFAULT_LOCALE


def t(locale: str | None, key: str, /, **params: Any) -> str:
    template, specs = _template(locale, key)
    if not params:
        return template
    if specs:
        return _FORMATTER.vformat(template, (), params)
    return template.format(**params)


@lru_cache(maxsize=8192)
def _template(locale: str | None, key: str) -> tuple[str, bool]:
    """The template of ``key`` for ``locale`` (English when the locale lacks it) and whether
    it has particle or plural specs, looked up once: a deal page asks ~30 times, and the
    catalogs never change while the process runs. A missing key raises and is not kept."""
    template = catalog(normalize_locale(locale)).get(key)
    if template is None:
        template = catalog(DEFAULT_LOCALE).get(key)
    if template is None:
        raise KeyError(f"missing translation key {key!r}")
    return template, _has_specs(template)


class _Formatter(string.Formatter):
    """``str.format`` plus particle specs (``{ref:을/를}`` → ``D201을``) and plural specs
    (``{count:deal|deals}`` → ``1 deal``)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if josa.is_particle_spec(format_spec):
            return josa.attach(value, format_spec)
        if _PLURAL.fullmatch(format_spec):
            return plural(value, *format_spec.split("|"))
        return super().format_field(value, format_spec)


def plural(count: Any, one: str, other: str) -> str:
    """``1 deal``, ``0 deals``, ``1,200 deals``: the count as given, then the right noun."""
    written = str(count)
    is_one = written.replace(",", "").strip() in ("1", "1.0")
    return f"{written} {one if is_one else other}"


_FORMATTER = _Formatter()
_PLURAL = re.compile(r"[^{}|/:]+\|[^{}|/:]+")
_SPECS = re.compile(r"\{[^{}:]*:(?:[^{}]*[가-힣][^{}]*|[^{}|]+\|[^{}|]+)\}")


@cache
def _has_specs(template: str) -> bool:
    """Most templates have no particle or plural spec and keep the faster ``str.format``."""
    return bool(_SPECS.search(template))


def has(key: str) -> bool:
    return key in catalog(DEFAULT_LOCALE)
