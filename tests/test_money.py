"""Money in more than one currency (issue 13), through signed HTTP requests into the app.

The rule: a deal keeps the currency it was written in (changing it is an explicit
``currency:``); every history row keeps its own currency; every total is in the workspace
currency, converted at the rates an admin set, or leaves an amount without a rate out and lists
it in its own currency; a Korean amount (만, 억, 원) is always KRW.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, select

from storage.models import Deal
from tests.slackapp import running_app


@pytest.fixture(params=["ko", "en"])
def app(request, db_url):
    with running_app(db_url, locale=request.param, currency="KRW") as harness:
        harness.locale = request.param
        for user in ("U1", "U2"):  # Slack tells each person's own language
            harness.slack.users[user] = {"locale": "ko-KR" if request.param == "ko" else "en-US"}
        yield harness
        assert harness.slack.problems == []


def say(app, command: str, text: str, user: str = "U1") -> str:
    status, reply = app.command(command, text, user=user)
    assert status == 200
    return reply["text"] if isinstance(reply, dict) else reply


def by_locale(app, ko: str, en: str) -> str:
    return ko if app.locale == "ko" else en


def deal(app, number: int) -> tuple[Decimal, str]:
    with Session(app.engine) as session:
        row = session.exec(select(Deal).where(Deal.number == number)).one()
        return Decimal(row.amount), row.currency


# --- a deal keeps its currency -------------------------------------------------------------


def test_dollars_on_a_won_deal_are_refused_and_nothing_changes(app):
    say(app, "/deal", "new Acme amount:27,250,000")
    reply = say(app, "/deal", "set 1 amount:$12,000")
    assert reply == by_locale(
        app,
        "D1 딜의 통화는 KRW인데 입력한 금액은 USD입니다. 딜은 처음 입력한 통화를 유지합니다. "
        "금액을 KRW 기준으로 입력하거나, 통화를 바꾸려면 `currency:USD`도 함께 입력해 주세요.",
        "D1 is in KRW, but that amount is in USD. A deal keeps the currency it was written in: "
        "give the amount in KRW, or change the deal's currency on purpose by adding "
        "`currency:USD`.",
    )
    assert deal(app, 1) == (Decimal(27_250_000), "KRW")


def test_an_explicit_currency_switch_shows_each_amount_in_its_own_currency(app):
    say(app, "/deal", "new Acme amount:27,250,000")
    reply = say(app, "/deal", "set 1 amount:$12,000 currency:USD")
    assert reply == by_locale(
        app,
        "<@U1>님이 D1을 수정했습니다: 금액 2,725만원 → $12,000.",
        "<@U1> updated D1: amount ₩27,250,000 → $12,000.",
    )
    assert deal(app, 1) == (Decimal(12_000), "USD")
    # A plain number is in the deal's currency: dollars now.
    reply = say(app, "/deal", "set 1 amount:15000")
    assert reply == by_locale(
        app,
        "<@U1>님이 D1을 수정했습니다: 금액 $12,000 → $15,000.",
        "<@U1> updated D1: amount $12,000 → $15,000.",
    )


def test_a_korean_amount_is_always_won_and_never_dollars(app):
    say(app, "/deal", "new Boston amount:$12,000")
    assert deal(app, 1) == (Decimal(12_000), "USD")
    reply = say(app, "/deal", "set 1 amount:1200만")
    assert reply == by_locale(
        app,
        "D1 딜의 통화는 USD인데 입력한 금액은 KRW입니다. 딜은 처음 입력한 통화를 유지합니다. "
        "금액을 USD 기준으로 입력하거나, 통화를 바꾸려면 `currency:KRW`도 함께 입력해 주세요.",
        "D1 is in USD, but that amount is in KRW. A deal keeps the currency it was written in: "
        "give the amount in USD, or change the deal's currency on purpose by adding "
        "`currency:KRW`.",
    )
    reply = say(app, "/deal", "set 1 amount:1200만 currency:USD")
    assert reply == by_locale(
        app,
        "입력한 금액은 USD가 아니라 KRW 금액입니다. 한국식 금액(만, 억, 원)은 항상 원화(KRW)입니다.",
        "That amount is in KRW, not USD. A Korean amount (만, 억, 원) is always KRW.",
    )
    assert deal(app, 1) == (Decimal(12_000), "USD")
    reply = say(app, "/deal", "set 1 amount:1200만 currency:KRW")
    assert reply == by_locale(
        app,
        "<@U1>님이 D1을 수정했습니다: 금액 $12,000 → 1,200만원.",
        "<@U1> updated D1: amount $12,000 → ₩12,000,000.",
    )
    assert deal(app, 1) == (Decimal(12_000_000), "KRW")


def test_a_currency_switch_needs_the_amount_in_the_new_currency(app):
    say(app, "/deal", "new Acme amount:27,250,000")
    reply = say(app, "/deal", "set 1 currency:USD")
    assert reply == by_locale(
        app,
        "딜의 통화를 바꾸려면 새 통화로 금액도 함께 입력해 주세요. 예: `amount:12000 currency:USD`",
        "Changing a deal's currency needs its amount in the new currency too, like "
        "`amount:12000 currency:USD`.",
    )
    assert deal(app, 1) == (Decimal(27_250_000), "KRW")


def test_an_mrr_in_another_currency_is_refused_too(app):
    say(app, "/deal", "new Acme amount:27,250,000")
    reply = say(app, "/deal", "renewal 1 mrr:$500")
    assert reply.startswith(by_locale(app, "D1 딜의 통화는 KRW인데", "D1 is in KRW, but"))


def test_history_rows_keep_their_currency_after_the_deal_changes_currency(app):
    say(app, "/deal", "new Acme amount:27,250,000")
    say(app, "/deal", "set 1 amount:$12,000 currency:USD")
    say(app, "/deal", "set 1 amount:1200만 currency:KRW")
    say(app, "/deal", "set 1 amount:$9,000 currency:USD")
    _, reply = app.command("/deal", "show 1")
    timeline = next(
        blk["text"]["text"]
        for blk in reply["blocks"]
        if blk["type"] == "section" and "→" in blk.get("text", {}).get("text", "")
    )
    changes = [line.split(": ", 1)[1] for line in timeline.splitlines() if "→" in line]
    assert changes == by_locale(
        app,
        [
            "금액 변경 1,200만원 → $9,000",
            "금액 변경 $12,000 → 1,200만원",
            "금액 변경 2,725만원 → $12,000",
        ],
        [
            "changed the amount ₩12,000,000 → $9,000",
            "changed the amount $12,000 → ₩12,000,000",
            "changed the amount ₩27,250,000 → $12,000",
        ],
    )


# --- exchange rates ------------------------------------------------------------------------


def test_an_admin_sets_and_removes_an_exchange_rate(app):
    say(app, "/deal", "new Acme amount:1000")  # U1, the first member, is the admin
    reply = say(app, "/pipeline", "settings rate:USD=1380")
    assert reply == by_locale(
        app,
        "환율을 설정했습니다: $1 = 1,380원. 이제부터 합계에서 USD 금액을 이 환율로 환산합니다.\n"
        "환율(KRW 기준): $1 = 1,380원",
        "Exchange rate set: $1 = ₩1,380. Totals convert USD at this rate from now on.\n"
        "Exchange rates (to KRW): $1 = ₩1,380",
    )
    reply = say(app, "/pipeline", "settings rate:JPY=9.25")
    assert reply.endswith(
        by_locale(
            app,
            "환율(KRW 기준): JP¥1 = 9.25원 · $1 = 1,380원",
            "(to KRW): ¥1 = ₩9.25 · $1 = ₩1,380",
        )
    )
    reply = say(app, "/pipeline", "settings rate:USD=none")
    assert reply.startswith(
        by_locale(app, "USD 환율을 삭제했습니다.", "The USD exchange rate is removed:")
    )


def test_only_admins_set_rates_and_bad_rates_are_explained(app):
    say(app, "/deal", "new Acme amount:1000")
    say(app, "/deal", "list", user="U2")  # a rep
    assert say(app, "/pipeline", "settings rate:USD=1380", user="U2") == by_locale(
        app,
        "파이프라인, 설정, 역할은 관리자만 변경할 수 있습니다. 관리자에게 요청하세요.",
        "Only admins can change pipelines, settings and roles. Ask an admin (see "
        "`/pipeline settings`).",
    )
    reply = say(app, "/pipeline", "settings rate:USD=abc")
    assert reply.startswith(
        by_locale(app, "USD=abc: 환율 형식이 아닙니다.", "USD=abc is not an exchange rate.")
    )
    reply = say(app, "/pipeline", "settings rate:KRW=1")
    assert reply == by_locale(
        app,
        "KRW: 이 워크스페이스의 기본 통화라 환율이 필요 없습니다.",
        "KRW is this workspace's own currency: it needs no exchange rate.",
    )
