"""The default pipeline and stage names in English and Korean, and what people type for them.

A workspace is created with its pipelines named in its language (``Negotiation`` or ``협상``);
admins may rename them later. Each default name is an alias of the other language's name, so
``/deal move 201 협상`` works in an English workspace and ``/deal move 201 Negotiation`` in a
Korean one, whichever names the workspace was created with. A few everyday synonyms are
aliases too (``성사`` for Won, GLOSSARY.md's outcome words).

People also write Korean particles and counters after what they mean: ``201을``, ``205번``,
``Meeting으로``, ``협상 단계로``. :func:`variants` gives the forms to try, the text as written
first; a particle is only ever stripped when the text as written matches nothing.
"""

from __future__ import annotations

import re

# (English, Korean, more aliases…): the first two are the default names in each language.
NEW_BUSINESS = (
    ("Contact", "컨택", "접촉"),
    ("Qualification", "니즈 파악", "니즈파악", "검증"),
    ("Meeting", "미팅", "회의"),
    ("Proposal", "제안"),
    ("Negotiation", "협상"),
    ("Won", "수주", "성사"),
    ("Lost", "실주", "실패"),
)
RENEWALS = (
    ("Renewal due", "갱신 예정", "재계약 임박"),
    ("Upgraded", "업셀", "업그레이드"),
    ("Downgraded", "다운셀", "다운그레이드"),
    ("Renewed", "갱신", "재계약"),
    ("Churned", "이탈", "종료"),
)
LEAD_STATUSES = (
    ("NEW", "신규"),
    ("Nurturing", "육성"),
    ("MQL", "MQL"),
    ("Working", "컨택 중", "컨택중", "진행 중"),
    ("Convert", "전환"),
    ("SQL", "SQL"),
)
PIPELINES = (
    ("New business", "신규 영업"),
    ("Renewals", "갱신 관리"),
    ("Leads", "리드"),
)
LANGUAGES = ("en", "ko")


def default_name(names: tuple[str, ...], locale: str) -> str:
    """The name a new workspace in ``locale`` gets: ``협상`` for ko, ``Negotiation`` otherwise."""
    return names[1] if locale == "ko" else names[0]


def _table() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for group in (*NEW_BUSINESS, *RENEWALS, *LEAD_STATUSES, *PIPELINES):
        for name in group:
            table.setdefault(key(name), group)
    return table


def key(name: str) -> str:
    """A name as compared: lower case, single spaces."""
    return " ".join(name.split()).lower()


_ALIASES = None


def aliases(name: str) -> tuple[str, ...]:
    """Every name that means the same as ``name`` (itself included), in lower case."""
    global _ALIASES
    if _ALIASES is None:
        _ALIASES = _table()
    group = _ALIASES.get(key(name))
    return tuple(key(n) for n in group) if group else (key(name),)


# Particles and words people put after a stage or status: 으로, 로, 에, 을/를, 은/는, 이/가,
# and the word 단계 (``협상 단계로``). Longest first, so 으로 goes before 로.
_TAIL = re.compile(r"(?:\s*단계|으로|로|에서|에|을|를|은|는|이|가|까지)$")


def variants(text: str) -> list[str]:
    """``text`` in lower case, then without its trailing particles one by one.

    ``"Meeting으로"`` → ``["meeting으로", "meeting"]``; ``"협상 단계로"`` → ``["협상 단계로",
    "협상 단계", "협상"]``. Only Hangul particles after the word are stripped, never the word.
    """
    current = key(text)
    out = [current]
    while True:
        stripped = _TAIL.sub("", current).strip()
        if not stripped or stripped == current:
            return out
        out.append(stripped)
        current = stripped
