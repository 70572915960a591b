"""Workspace settings and roles, changed together from the settings modal (admins only).

The modal sends the whole picture at once: channels, digest time, timezone, language,
currency, the stall clock, and who the managers and admins are. Everything is checked
before anything changes, so a refused form leaves the workspace exactly as it was.

Roles follow the lists: a listed Slack user becomes admin (or manager), someone who was
admin or manager and is no longer listed becomes a rep. Two guards keep the workspace
manageable: it never ends up without an admin (an empty admin list keeps the acting admin),
and an admin who leaves themselves off the list only steps down when another admin remains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.numbers import is_currency
from sqlmodel import Session, select

from domain.errors import InvalidInput, NotAllowed
from domain.refs import find_member
from domain.workspaces import require_admin
from i18n import LOCALES
from storage.models import Member, Role, Workspace

_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,31}")


@dataclass(frozen=True)
class SettingsForm:
    """What the settings modal submits, already typed (commands.forms.settings_form)."""

    deals_channel: str | None
    digest_channel: str | None
    digest_time: str
    timezone: str
    locale: str
    currency: str
    business_days: bool = False
    managers: list[str] = field(default_factory=list)
    admins: list[str] = field(default_factory=list)


_NOT_ZONES = {"localtime", "posixrules", "factory"}  # files in the tz database, not places


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if name.lower() not in _NOT_ZONES}


def clean_timezone(text: str) -> str:
    """A real IANA zone (``Asia/Seoul``); the case people type does not matter."""
    value = (text or "").strip()
    zones = _zones_by_lower_name()
    if zones:  # the tz database is listable: only its names (no "Asia", no "localtime")
        if value.lower() not in zones:
            raise InvalidInput("form.bad_timezone", value=value[:64])
        return zones[value.lower()]
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a directory: OSError
        raise InvalidInput("form.bad_timezone", value=value[:64]) from None
    return value


def zone_like(text: str) -> str | None:
    """The one zone a place name means (``Seoul`` → ``Asia/Seoul``), for a hint; else None."""
    place = (text or "").strip().lower().replace(" ", "_")
    found = [z for low, z in _zones_by_lower_name().items() if low.rsplit("/", 1)[-1] == place]
    return found[0] if len(found) == 1 else None


def clean_time(text: str | None) -> str:
    """``HH:MM`` on the 24-hour clock; ``9:05`` becomes ``09:05``."""
    value = (text or "").strip()
    match = _TIME.fullmatch(value)
    if not match:
        raise InvalidInput("form.bad_time", value=value[:16])
    return f"{int(match[1]):02d}:{match[2]}"


def clean_currency(text: str | None) -> str:
    """Three letters (ISO 4217 style): ``krw`` becomes ``KRW``."""
    value = (text or "").strip().upper()
    if not _CURRENCY.fullmatch(value) or not is_currency(value):
        raise InvalidInput("form.bad_currency", value=value[:16])
    return value


def clean_locale(text: str | None) -> str:
    value = (text or "").strip().lower()
    if value not in LOCALES:
        raise InvalidInput("form.bad_locale", value=value[:16])
    return value


def _clean_users(ids: list[str]) -> list[str]:
    """Slack user ids in order, without repeats; anything else is refused."""
    out = list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))
    for slack_id in out:
        if not _SLACK_USER.fullmatch(slack_id):
            raise InvalidInput("form.bad_user", value=slack_id[:32])
    return out


def update_settings(
    *, session: Session, actor: Member, workspace: Workspace, form: SettingsForm
) -> Workspace:
    """Apply the settings form: workspace fields and roles, all or nothing."""
    require_admin(actor)
    if actor.workspace_id != workspace.id:
        raise NotAllowed("workspace.admin_only")
    timezone = clean_timezone(form.timezone)
    digest_time = clean_time(form.digest_time)
    currency = clean_currency(form.currency)
    locale = clean_locale(form.locale)
    admins = _clean_users(form.admins) or [actor.slack_user_id]
    managers = [m for m in _clean_users(form.managers) if m not in admins]

    workspace.deals_channel = (form.deals_channel or "").strip() or None
    workspace.digest_channel = (form.digest_channel or "").strip() or None
    workspace.digest_time = digest_time
    workspace.timezone = timezone
    workspace.locale = locale
    workspace.currency = currency
    workspace.stall_business_days = bool(form.business_days)
    session.add(workspace)
    _apply_roles(session, workspace, admins, managers)
    session.flush()
    return workspace


def _apply_roles(
    session: Session, workspace: Workspace, admins: list[str], managers: list[str]
) -> None:
    wanted = {slack_id: Role.admin for slack_id in admins}
    wanted.update({slack_id: Role.manager for slack_id in managers})
    privileged = session.exec(
        select(Member).where(
            Member.workspace_id == workspace.id, Member.role.in_([Role.admin, Role.manager])
        )
    ).all()
    for member in privileged:
        if member.slack_user_id not in wanted:
            member.role = Role.rep
            session.add(member)
    for slack_id, role in wanted.items():
        member = find_member(session=session, workspace_id=workspace.id, slack_id=slack_id)
        if member.role != role:
            member.role = role
            session.add(member)


# --- /pipeline settings key:value (issue 13) ------------------------------------------------

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,31}")
_NONE_WORDS = frozenset({"none", "off", "-", "없음", "해제"})
_LANGUAGES = {"english": "en", "영어": "en", "korean": "ko", "한국어": "ko", "한국말": "ko"}
_STALL_CLOCKS = {
    **dict.fromkeys(("business", "business-days", "weekdays", "영업일"), True),
    **dict.fromkeys(("calendar", "calendar-days", "all", "달력", "모든날"), False),
}


@dataclass(frozen=True)
class SettingChange:
    """One setting changed: what it was and what it is now (as stored)."""

    key: str
    old: object
    new: object


def _clean_channel(text: str) -> str | None:
    value = text.strip()
    if value.lower() in _NONE_WORDS:
        return None
    if not _CHANNEL_ID.fullmatch(value):
        raise InvalidInput("settings.bad_channel", value=value[:40])
    return value


def _clean_stall(text: str) -> bool:
    value = _STALL_CLOCKS.get(text.strip().lower())
    if value is None:
        raise InvalidInput("settings.bad_stall", value=text.strip()[:32])
    return value


def _clean_country(text: str) -> str:
    import holidays

    value = text.strip().upper()
    if value not in holidays.list_supported_countries():
        raise InvalidInput("settings.bad_country", value=value[:16])
    return value


_CHECKS = {
    "deals_channel": _clean_channel,
    "digest_channel": _clean_channel,
    "digest_time": clean_time,
    "timezone": clean_timezone,
    "locale": lambda text: clean_locale(_LANGUAGES.get(text.strip().lower(), text)),
    "currency": clean_currency,
    "stall_days": _clean_stall,
    "holiday_country": _clean_country,
}
_FIELDS = {"stall_days": "stall_business_days"}  # setting -> Workspace column, where they differ
SETTING_NAMES = tuple(_CHECKS)


def change_settings(
    *, session: Session, actor: Member, workspace: Workspace, changes: list[tuple[str, str]]
) -> list[SettingChange]:
    """``/pipeline settings timezone:Asia/Seoul language:en``: admins only; every value is
    checked before any changes, so a refused command leaves the workspace as it was. Returns
    the settings whose value really changed, in the order given."""
    require_admin(actor)
    if actor.workspace_id != workspace.id:
        raise NotAllowed("workspace.admin_only")
    cleaned = [(key, _CHECKS[key](text)) for key, text in changes]
    done = []
    for key, value in cleaned:
        column = _FIELDS.get(key, key)
        old = getattr(workspace, column)
        if old != value:
            setattr(workspace, column, value)
            done.append(SettingChange(key, old, value))
    session.add(workspace)
    session.flush()
    return done
