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
"""

from __future__ import annotations

import re
import string
import tomllib
from functools import cache
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
    if not params:
        return template
    if _has_particles(template):
        return _PARTICLE_FORMATTER.vformat(template, (), params)
    return template.format(**params)


class _ParticleFormatter(string.Formatter):
    """``str.format`` plus particle specs: ``{ref:을/를}`` → ``D201을``."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if josa.is_particle_spec(format_spec):
            return josa.attach(value, format_spec)
        return super().format_field(value, format_spec)


_PARTICLE_FORMATTER = _ParticleFormatter()
_PARTICLE_SPEC = re.compile(r"\{[^{}:]*:[^{}]*[가-힣][^{}]*\}")


@cache
def _has_particles(template: str) -> bool:
    """Most templates have none and keep the faster ``str.format``."""
    return bool(_PARTICLE_SPEC.search(template))


def has(key: str) -> bool:
    return key in catalog(DEFAULT_LOCALE)
