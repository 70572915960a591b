"""Workspace settings and roles from the settings modal: admins only, all or nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from domain.errors import InvalidInput, NotAllowed
from domain.settings import SettingsForm, clean_timezone, update_settings
from storage.models import Member, Role, Workspace
from tests.factories import member, workspace


def form(**changes) -> SettingsForm:
    fields = {
        "deals_channel": "C_DEALS",
        "digest_channel": "C_DIGEST",
        "digest_time": "08:30",
        "timezone": "America/New_York",
        "locale": "en",
        "currency": "USD",
        "business_days": True,
        "managers": [],
        "admins": ["UADMIN"],
    }
    fields.update(changes)
    return SettingsForm(**fields)


def roles(session, ws: Workspace) -> dict[str, Role]:
    rows = session.exec(select(Member).where(Member.workspace_id == ws.id)).all()
    return {m.slack_user_id: Role(m.role) for m in rows}


@pytest.fixture
def team(session):
    ws = workspace(session)
    admin = member(session, ws, "UADMIN", Role.admin)
    member(session, ws, "UMANAGER", Role.manager)
    member(session, ws, "UREP", Role.rep)
    session.commit()
    return ws, admin


def test_an_admin_changes_every_workspace_setting(session, team):
    ws, admin = team
    update_settings(session=session, actor=admin, workspace=ws, form=form())
    session.commit()
    session.expire_all()
    saved = session.get(Workspace, ws.id)
    assert (
        saved.deals_channel,
        saved.digest_channel,
        saved.digest_time,
        saved.timezone,
        saved.locale,
        saved.currency,
        saved.stall_business_days,
    ) == ("C_DEALS", "C_DIGEST", "08:30", "America/New_York", "en", "USD", True)


def test_cleared_channels_and_a_short_time_are_stored_plainly(session, team):
    ws, admin = team
    update_settings(
        session=session,
        actor=admin,
        workspace=ws,
        form=form(deals_channel=None, digest_channel="", digest_time="9:05", currency="krw"),
    )
    assert (ws.deals_channel, ws.digest_channel, ws.digest_time, ws.currency) == (
        None,
        None,
        "09:05",
        "KRW",
    )


@pytest.mark.parametrize("role", [Role.manager, Role.rep])
def test_only_admins_change_settings(session, team, role):
    ws, _ = team
    actor = session.exec(
        select(Member).where(Member.workspace_id == ws.id, Member.role == role)
    ).first()
    with pytest.raises(NotAllowed):
        update_settings(session=session, actor=actor, workspace=ws, form=form())
    assert ws.timezone == "Asia/Seoul"
    assert roles(session, ws)["UADMIN"] == Role.admin


def test_an_admin_of_another_workspace_cannot_change_this_one(session, team):
    ws, _ = team
    other = workspace(session, team_id="T2")
    stranger = member(session, other, "UADMIN", Role.admin)
    with pytest.raises(NotAllowed):
        update_settings(session=session, actor=stranger, workspace=ws, form=form())
    assert ws.timezone == "Asia/Seoul"


def test_roles_follow_the_lists(session, team):
    ws, admin = team
    update_settings(
        session=session,
        actor=admin,
        workspace=ws,
        form=form(admins=["UADMIN", "UREP"], managers=["UNEW"]),
    )
    assert roles(session, ws) == {
        "UADMIN": Role.admin,
        "UREP": Role.admin,  # promoted
        "UMANAGER": Role.rep,  # no longer listed
        "UNEW": Role.manager,  # created on the spot, Slack vouches for the id
    }


def test_someone_in_both_lists_is_an_admin(session, team):
    ws, admin = team
    update_settings(
        session=session,
        actor=admin,
        workspace=ws,
        form=form(admins=["UADMIN", "UMANAGER"], managers=["UMANAGER", "UMANAGER"]),
    )
    assert roles(session, ws)["UMANAGER"] == Role.admin


def test_roles_in_another_workspace_are_untouched(session, team):
    ws, admin = team
    other = workspace(session, team_id="T2")
    member(session, other, "UMANAGER", Role.manager)
    update_settings(session=session, actor=admin, workspace=ws, form=form(managers=[]))
    assert roles(session, ws)["UMANAGER"] == Role.rep
    assert roles(session, other)["UMANAGER"] == Role.manager


def test_an_empty_admin_list_keeps_the_acting_admin(session, team):
    ws, admin = team
    second = member(session, ws, "USECOND", Role.admin)
    update_settings(session=session, actor=admin, workspace=ws, form=form(admins=[]))
    assert admin.role == Role.admin
    assert second.role == Role.rep
    assert [m for m, r in roles(session, ws).items() if r == Role.admin] == ["UADMIN"]


def test_an_admin_steps_down_only_when_another_admin_remains(session, team):
    ws, admin = team
    update_settings(
        session=session,
        actor=admin,
        workspace=ws,
        form=form(admins=["UREP"], managers=["UADMIN"]),
    )
    assert roles(session, ws) == {
        "UADMIN": Role.manager,
        "UREP": Role.admin,
        "UMANAGER": Role.rep,
    }


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "form.bad_timezone"),
        ({"timezone": "Asia"}, "form.bad_timezone"),
        ({"digest_time": "25:00"}, "form.bad_time"),
        ({"currency": "WON!"}, "form.bad_currency"),
        ({"locale": "fr"}, "form.bad_locale"),
        ({"admins": ["UADMIN", "not a user"]}, "form.bad_user"),
    ],
)
def test_a_bad_value_is_refused_with_nothing_changed(session, team, changes, key):
    ws, admin = team
    before = roles(session, ws)
    with pytest.raises(InvalidInput) as caught:
        update_settings(
            session=session,
            actor=admin,
            workspace=ws,
            form=form(**{"admins": ["UREP"], "managers": ["UNEW"], **changes}),
        )
    assert caught.value.key == key
    session.commit()  # whatever was pending would now be saved
    session.expire_all()
    saved = session.get(Workspace, ws.id)
    assert (saved.timezone, saved.currency, saved.locale, saved.digest_time) == (
        "Asia/Seoul",
        "KRW",
        "ko",
        "09:00",
    )
    assert saved.deals_channel is None
    assert roles(session, ws) == before


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_refusal_says_what_to_write(locale):
    with pytest.raises(InvalidInput) as caught:
        clean_timezone("Seoul")
    message = caught.value.render(locale)
    assert "Seoul" in message and "Asia/Seoul" in message
