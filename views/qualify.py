"""BANT on the card and ``/deal show`` (✓/✗), its checkbox modal, and the change line."""

from __future__ import annotations

from typing import Any

from domain.qualify import CRITERIA
from i18n import t
from views import blocks as b
from views.ids import Action, View
from views.modals import _modal

BLOCK = "criteria"  # the modal's checkboxes
ACTIVITY = "qualified"  # the activity kind domain.qualify writes: "+budget -need"


def name(criterion: str, locale: str) -> str:
    return t(locale, f"qualify.criterion.{criterion}")


def checks(met: tuple[bool, ...], locale: str) -> str:
    """``✓ Budget · ✗ Authority · ✓ Need · ✗ Timeline``."""
    return " · ".join(
        f"{'✓' if on else '✗'} {name(c, locale)}" for c, on in zip(CRITERIA, met, strict=True)
    )


def field(met: tuple[bool, ...], locale: str) -> str:
    """The card's BANT field."""
    return t(locale, "qualify.field", count=sum(met), checks=checks(met, locale))


def button(deal_number: int, locale: str) -> dict[str, Any]:
    return b.button(t(locale, "qualify.button"), Action.qualify_open, f"D{deal_number}")


def modal(deal, met: tuple[bool, ...], locale: str) -> dict[str, Any]:
    """Checkboxes, one per criterion, the met ones ticked; submitting sets exactly those."""
    options = [b.option(name(c, locale), c) for c in CRITERIA]
    initial = [o for o, on in zip(options, met, strict=True) if on]
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": options}
    if initial:
        element["initial_options"] = initial
    blocks = [
        b.section(t(locale, "qualify.modal.intro", ref=f"D{deal.number}", title=deal.title)),
        {
            "type": "input",
            "block_id": BLOCK,
            "optional": True,
            "label": b.plain(t(locale, "qualify.modal.label"), 2000),
            "element": element,
        },
    ]
    return _modal(
        View.qualify,
        t(locale, "qualify.modal.heading"),
        t(locale, "modal.save"),
        blocks,
        locale,
        {"deal": deal.number},
    )


def change_line(actor: str, ref: str, changed, after: tuple[bool, ...], locale: str) -> str:
    """ "<@kim> qualified D42: ✓ Budget, ✗ Need (2/4)"."""
    changes = _changes(changed, locale)
    return t(locale, "qualify.changed", actor=actor, ref=ref, changes=changes, count=sum(after))


def unchanged_line(ref: str, after: tuple[bool, ...], locale: str) -> str:
    return t(locale, "qualify.unchanged", ref=ref, checks=checks(after, locale))


def activity_text(text: str, locale: str) -> str:
    """A timeline line from the activity's ``+budget -need``."""
    changed = [
        (word[1:], word.startswith("+"))
        for word in (text or "").split()
        if word[1:] in CRITERIA and word[:1] in "+-"
    ]
    return t(locale, "qualify.activity", changes=_changes(changed, locale))


def _changes(changed, locale: str) -> str:
    return ", ".join(f"{'✓' if on else '✗'} {name(c, locale)}" for c, on in changed)
