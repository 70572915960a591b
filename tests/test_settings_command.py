"""``/pipeline settings key:value``: change a few settings at once, in Slack and the console;
admins only; every value checked before anything changes, explained in en and ko."""

from __future__ import annotations

import io

import pytest
from sqlmodel import Session, select

from cli.console import Console
from domain.clock import FixedClock
from domain.workspaces import WorkspaceDefaults
from storage.db import make_engine
from storage.models import Workspace
from tests.factories import T0
from tests.slackapp import TEAM, running_app


def console(engine, locale="en", team="T1", user="U1"):
    out = io.StringIO()
    c = Console(
        engine,
        team_id=team,
        user_id=user,
        clock=FixedClock(T0),
        defaults=WorkspaceDefaults(locale=locale),
        out=out,
    )
    return c, out


def said(c, out, line: str) -> list[str]:
    out.truncate(0)
    out.seek(0)
    c.handle(line)
    return out.getvalue().splitlines()


def workspace(engine, team="T1") -> Workspace:
    with Session(engine) as session:
        return session.exec(select(Workspace).where(Workspace.team_id == team)).one()


def test_switching_language_and_timezone_answers_in_the_new_language(db_url):
    engine = make_engine(db_url)
    c, out = console(engine, locale="ko")
    assert said(c, out, "/pipeline settings language:en timezone:America/New_York") == [
        "Settings changed:",
        "• language: 한국어 → English",
        "• timezone: Asia/Seoul → America/New_York",
    ]
    assert said(c, out, "/pipeline settings 언어:한국어 통화:usd") == [
        "설정을 변경했습니다:",
        "• 언어: 영어 → 한국어",
        "• 통화: KRW → USD",
    ]
    assert said(c, out, "/pipeline settings language:ko") == [
        "변경할 내용이 없습니다. 이미 그 값으로 설정되어 있습니다."
    ]
    ws = workspace(engine)
    assert (ws.locale, ws.timezone, ws.currency) == ("ko", "America/New_York", "USD")
    engine.dispose()


def test_channels_time_stall_clock_and_holidays(db_url):
    engine = make_engine(db_url)
    c, out = console(engine)
    assert said(
        c, out, "/pipeline settings deals:C0123ABCD digest-time:8:30 stall:business holidays:us"
    ) == [
        "Settings changed:",
        "• deals channel: none → #C0123ABCD",
        "• digest time: 09:00 → 08:30",
        "• stall clock: calendar days → business days",
        "• holidays of: KR → US",
    ]
    said(c, out, "/pipeline settings deals:none")
    ws = workspace(engine)
    assert (ws.deals_channel, ws.digest_time, ws.stall_business_days, ws.holiday_country) == (
        None,
        "08:30",
        True,
        "US",
    )
    engine.dispose()


BAD = [
    (
        "/pipeline settings timezone:Seoul currency:usd",
        "`Seoul` is not a timezone: write an IANA name like `Asia/Seoul` or `America/New_York`.",
        "시간대가 아닙니다: `Seoul`. `Asia/Seoul`, `America/New_York` 같은 IANA 이름을 입력해 "
        "주세요.",
    ),
    (
        "/pipeline settings currency:WON",
        "`WON` is not a currency: use a three-letter code like KRW or USD.",
        "통화가 아닙니다: `WON`. KRW, USD 같은 세 글자 코드를 사용해 주세요.",
    ),
    (
        "/pipeline settings language:fr",
        "`fr` is not a language Salesbot speaks: pick English or 한국어.",
        "지원하지 않는 언어입니다: `fr`. English 또는 한국어를 골라 주세요.",
    ),
    (
        "/pipeline settings stall:sometimes",
        "`sometimes` is not a stall clock. Use `business` (weekdays that are not public "
        "holidays) or `calendar` (every day).",
        "정체 기준이 아닙니다: `sometimes`. `영업일`(주말과 공휴일 제외) 또는 `달력`(모든 날) 중에서 "
        "골라 주세요.",
    ),
    (
        "/pipeline settings deals:#deals",
        "`#deals` is not a channel. Pick it with `#` so Slack links it (`deals:#deals`), give its "
        "ID (`C0123ABCD`, at the bottom of the channel's details), or write `none`.",
        "채널이 아닙니다: `#deals`. Slack이 링크하도록 `#`으로 골라 주시거나(`deals:#딜`), 채널 "
        "ID(`C0123ABCD`, 채널 세부정보 맨 아래)를 입력하거나, `없음`이라고 써 주세요.",
    ),
]


@pytest.mark.parametrize(("line", "en", "ko"), BAD)
def test_a_bad_value_is_explained_and_nothing_changes(db_url, line, en, ko):
    engine = make_engine(db_url)
    for locale, expected in (("en", en), ("ko", ko)):
        c, out = console(engine, locale=locale, team=f"T{locale}")
        c.welcome()  # the workspace exists, as it does once anyone used Salesbot
        assert said(c, out, line) == [expected]
        ws = workspace(engine, f"T{locale}")
        assert (ws.timezone, ws.currency, ws.locale, ws.deals_channel) == (
            "Asia/Seoul",
            "KRW",
            locale,
            None,
        )
    engine.dispose()


def test_an_unknown_setting_shows_how_to_write_it(db_url):
    engine = make_engine(db_url)
    c, out = console(engine)
    assert said(c, out, "/pipeline settings color:red") == [
        "`color:` is not something this command takes.",
        "Write it like: `/pipeline settings` — the settings form; or change some at once: "
        "`/pipeline settings language:en timezone:Asia/Seoul currency:KRW deals:#deals "
        "digest:#sales digest-time:09:00 stall:business holidays:KR`; an exchange rate on its "
        "own: `/pipeline settings rate:USD=1380`",
    ]
    engine.dispose()


def test_in_slack_an_admin_changes_settings_by_command_and_a_rep_may_not(db_url):
    with running_app(db_url) as app:
        status, reply = app.command(
            "/pipeline", "settings deals:<#C0DEALS|deals> language:ko timezone:America/New_York"
        )
        assert status == 200
        # U1 reads Korean (their Slack locale); the workspace now speaks Korean too.
        assert reply["text"] == (
            "설정을 변경했습니다:\n• 딜 채널: <#CDEALS> → <#C0DEALS>\n• 언어: 영어 → 한국어\n"
            "• 시간대: Asia/Seoul → America/New_York"
        )
        status, reply = app.command("/pipeline", "settings currency:WON", user="U2")
        assert status == 200
        assert (
            reply["text"]
            == "파이프라인, 설정, 역할은 관리자만 변경할 수 있습니다. 관리자에게 요청하세요."
        )
        status, reply = app.command("/pipeline", "settings currency:WON")
        assert (
            reply["text"] == "통화가 아닙니다: `WON`. KRW, USD 같은 세 글자 코드를 사용해 주세요."
        )
        assert app.slack.problems == []
        ws = workspace(app.engine, TEAM)
        assert (ws.deals_channel, ws.locale, ws.timezone, ws.currency) == (
            "C0DEALS",
            "ko",
            "America/New_York",
            "KRW",
        )
