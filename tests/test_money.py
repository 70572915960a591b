"""Money in more than one currency (issue 13), through signed HTTP requests into the app.

The rule: a deal keeps the currency it was written in (changing it is an explicit
``currency:``); every history row keeps its own currency; every total is in the workspace
currency, converted at the rates an admin set, or leaves an amount without a rate out and lists
it in its own currency; a Korean amount (만, 억, 원) is always KRW.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from domain import deals
from scheduler import jobs
from storage.db import session_scope
from storage.models import Deal, Member, Outbox, Workspace
from tests.slackapp import running_app
from views import deals as deal_views


@pytest.fixture(params=["ko", "en"])
def app(request, db_url):
    with running_app(
        db_url, locale=request.param, currency="KRW", stage_names="en", automation=False
    ) as harness:
        harness.locale = request.param
        harness.deps.ack_budget = 30.0  # the answer rides in the ack even on a loaded machine
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


def test_a_history_row_without_a_currency_is_drawn_in_the_deals_currency_of_the_page():
    """A row written before migration 0006 has no currency of its own: it takes the deal's,
    and its kept text (issue 17) follows a deal that changed currency, and the language."""
    older = json.dumps({"old": 1000, "new": 2000})
    assert deal_views.activity_body("amount", older, "en", "KRW") == (
        "changed the amount ₩1,000 → ₩2,000"
    )
    assert deal_views.activity_body("amount", older, "en", "USD") == (
        "changed the amount $1,000 → $2,000"
    )
    assert deal_views.activity_body("amount", older, "ko", "USD") == "금액 변경 $1,000 → $2,000"


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


# --- totals never add ₩ and $ as one number --------------------------------------------------


def shown(reply: dict) -> str:
    """Every text of a reply's blocks, one per line, as a reader sees them."""
    out = []
    for blk in reply.get("blocks", []):
        if blk.get("text"):
            out.append(blk["text"]["text"])
        for element in blk.get("elements", []) if blk["type"] == "context" else []:
            out.append(element.get("text", ""))
        for fld in blk.get("fields", []):
            out.append(fld["text"])
    return "\n".join(out)


def mixed_pipeline(app, *, moved: bool = False) -> None:
    """₩100,000,000 and $12,000 open (Contact, 10 %); ₩50,000,000 and $10,000 won. The first
    deal comes by command (it makes the workspace and its admin U1), the rest straight
    through the domain: they are the setting, not what is tested, and fewer requests keep
    the test clear of Slack's 3-second ack on a loaded machine. ``moved``: D1 and D2 moved
    to Meeting."""
    say(app, "/deal", "new Seoul ERP amount:1억")
    now = datetime.now(UTC)
    with session_scope(app.engine) as session:
        ws = session.exec(select(Workspace)).one()
        u1 = session.exec(select(Member).where(Member.slack_user_id == "U1")).one()

        def new(title: str, amount: int, currency: str) -> Deal:
            return deals.create_deal(
                session=session,
                workspace=ws,
                actor=u1,
                title=title,
                amount=Decimal(amount),
                currency=currency,
                now=now,
            ).deal

        new("Boston CRM", 12_000, "USD")
        for title, amount, currency in (
            ("Busan POS", 50_000_000, "KRW"),
            ("Austin BI", 10_000, "USD"),
        ):
            deals.close_deal(
                session=session, actor=u1, deal=new(title, amount, currency), won=True, now=now
            )
        if moved:
            for number in (1, 2):
                deal = session.exec(select(Deal).where(Deal.number == number)).one()
                deals.move_deal(session=session, actor=u1, deal=deal, stage_text="Meeting", now=now)


def report(app, text: str) -> str:
    status, reply = app.command("/pipeline", text)
    assert status == 200
    return shown(reply)


NO_RATE = {
    "ko": "환율이 없어 합계에서 뺀 금액: 진행 중 $12,000(딜 1건). 관리자가 "
    "`/pipeline settings rate:USD=…`로 환율을 설정할 수 있습니다.",
    "en": "Not in the totals (no exchange rate): $12,000 open (1 deal). An admin sets a rate "
    "with `/pipeline settings rate:USD=…`.",
}
CONVERTED = {
    "ko": "합계는 KRW 기준이며, 다른 통화는 워크스페이스 환율로 환산했습니다: $1 = 1,380원.",
    "en": "Totals in KRW; other currencies converted at workspace rates: $1 = ₩1,380.",
}
# ₩100,000,000 + $12,000 read as if they were won: the number that must never appear.
ADDED_AS_ONE = ("1억 1만원", "₩100,010,000", "₩100,012,000", "1억 2만원")


def test_without_a_rate_the_board_and_forecast_leave_dollars_out_and_say_so(app):
    mixed_pipeline(app)
    board = report(app, "")
    assert (
        by_locale(
            app,
            "*합계* · 딜 2건 · 금액 1억원 · 예상 매출 1천만원 · 정체된 딜 0건",
            "*Total* · Deals 2 · Amount ₩100,000,000 · Expected revenue ₩10,000,000 · Stalled 0",
        )
        in board.splitlines()
    )
    assert board.endswith(NO_RATE[app.locale])
    forecast = report(app, "forecast")
    assert (
        by_locale(
            app,
            "*합계* · 딜 2건 · 금액 1억원 · 예상 매출 1천만원",
            "*Total* · Deals 2 · Amount ₩100,000,000 · Expected revenue ₩10,000,000",
        )
        in forecast.splitlines()
    )
    assert forecast.endswith(NO_RATE[app.locale])
    for text in (board, forecast, report(app, "metrics"), report(app, "plan target:10억")):
        assert not any(wrong in text for wrong in ADDED_AS_ONE), text


def test_without_a_rate_metrics_and_plan_measure_won_deals_in_won_only(app):
    mixed_pipeline(app)
    metrics = report(app, "metrics").splitlines()
    assert by_locale(app, "2건 · 5천만원", "2 · ₩50,000,000") in metrics  # won
    assert by_locale(app, "5천만원", "₩50,000,000") in metrics  # average deal size
    assert metrics[-1] == by_locale(
        app,
        "환율이 없어 합계에서 뺀 금액: 진행 중 $12,000(딜 1건), 성사 $10,000(딜 1건). "
        "관리자가 `/pipeline settings rate:USD=…`로 환율을 설정할 수 있습니다.",
        "Not in the totals (no exchange rate): $12,000 open (1 deal), $10,000 won (1 deal). "
        "An admin sets a rate with `/pipeline settings rate:USD=…`.",
    )
    plan = report(app, "plan target:10억").splitlines()
    assert by_locale(app, "20건", "20") in plan  # deals needed: 10억 ÷ 5천만원


def test_with_a_rate_every_total_is_converted_and_says_at_which_rate(app):
    mixed_pipeline(app)
    say(app, "/pipeline", "settings rate:USD=1380")
    board = report(app, "")
    assert (
        by_locale(
            app,
            "*합계* · 딜 2건 · 금액 1억 1,656만원 · 예상 매출 1,166만원 · 정체된 딜 0건",
            "*Total* · Deals 2 · Amount ₩116,560,000 · Expected revenue ₩11,660,000 · Stalled 0",
        )
        in board.splitlines()
    )
    assert board.endswith(CONVERTED[app.locale])
    forecast = report(app, "forecast")
    assert forecast.endswith(CONVERTED[app.locale])
    metrics = report(app, "metrics").splitlines()
    # won: ₩50,000,000 + $10,000 × 1,380; the average of the two
    assert by_locale(app, "2건 · 6,380만원", "2 · ₩63,800,000") in metrics
    assert by_locale(app, "3,190만원", "₩31,900,000") in metrics
    assert metrics[-1] == CONVERTED[app.locale]
    plan = report(app, "plan target:10억")
    assert plan.endswith(CONVERTED[app.locale])
    _, listing = app.command("/deal", "list")
    assert shown(listing).splitlines()[0] == by_locale(
        app, "*진행 중인 모든 딜*: 딜 2건, 1억 1,656만원", "*All open deals*: 2 deals, ₩116,560,000"
    )


def test_a_rate_set_on_another_replica_is_used_by_the_next_board_here(app):
    """The rates are kept per ``workspace.config_version`` (domain.money.conversion): a rate
    set, changed or removed through another process's engine bumps the version, and this
    process's very next board converts at the new rate (or leaves the dollars out)."""
    from domain import money
    from storage.db import make_engine

    mixed_pipeline(app)
    assert report(app, "").endswith(NO_RATE[app.locale])  # kept here: no rate
    other = make_engine(str(app.engine.url.render_as_string(hide_password=False)))
    try:
        for rate, note in (("1380", CONVERTED[app.locale]), (None, NO_RATE[app.locale])):
            with session_scope(other) as session:
                ws = session.exec(select(Workspace)).one()
                admin = session.exec(select(Member).where(Member.slack_user_id == "U1")).one()
                code = [("USD", Decimal(rate) if rate else None)]
                money.set_rates(
                    session=session, workspace=ws, actor=admin, rates=code, now=datetime.now(UTC)
                )
            assert report(app, "").endswith(note)
            assert report(app, "").endswith(note)  # and kept at the new version
    finally:
        other.dispose()


def scheduled(app, job: str, days_later: int) -> str:
    """Run ``job`` as if ``days_later`` days from now; every text it recorded in the outbox."""
    with Session(app.engine) as session:
        ws_id = session.exec(select(Workspace.id)).one()
        before = session.exec(select(func.max(Outbox.id))).one() or 0
    at = datetime.now(UTC) + timedelta(days=days_later)
    jobs.run_for_workspace(app.engine, job, ws_id, at=at, now=datetime.now(UTC), force=True)
    with Session(app.engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.id > before).order_by(Outbox.id)).all()
    assert rows, f"{job} recorded nothing"
    messages = []
    for row in rows:
        payload = json.loads(row.payload)
        messages += [payload.get("message", {})] + payload.get("messages", [])
    return "\n".join(shown(m) for m in messages if m)


def moved_pipeline(app) -> None:
    mixed_pipeline(app, moved=True)


def test_without_a_rate_the_weekly_summary_and_digest_list_dollars_apart(app):
    moved_pipeline(app)
    weekly = scheduled(app, jobs.WEEKLY_SUMMARY, 7).splitlines()
    assert (
        by_locale(
            app,
            "• *New business* — 진행 2건 · 1억원 · 예상 매출 4천만원 · 성사 2건 · 실패 0건 · 정체 0건",
            "• *New business* — 2 open · ₩100,000,000 · expected revenue ₩40,000,000 · won 2 · lost 0 · "
            "0 stalled",
        )
        in weekly
    )
    assert (
        by_locale(
            app,
            "환율이 없어 합계에서 뺀 금액: 진행 중 $12,000(딜 1건), 신규 $22,000(딜 2건), "
            "성사 $10,000(딜 1건). 관리자가 `/pipeline settings rate:USD=…`로 환율을 설정할 수 "
            "있습니다.",
            "Not in the totals (no exchange rate): $12,000 open (1 deal), $22,000 new (2 deals), "
            "$10,000 won (1 deal). An admin sets a rate with `/pipeline settings rate:USD=…`.",
        )
        in weekly
    )
    assert by_locale(app, "*신규:* 4건 · 1억 5천만원", "*New:* 4 · ₩150,000,000") in weekly
    assert by_locale(app, "*성사:* 2건 · 5천만원", "*Won:* 2 · ₩50,000,000") in weekly
    # The movers: each in its own currency; $12,000 comes after the won deals without a rate.
    assert (
        by_locale(
            app,
            "*주요 변동:* D1 Seoul ERP Contact → Meeting (1억원), D3 Busan POS Contact → Won "
            "(5천만원), D2 Boston CRM Contact → Meeting ($12,000)",
            "*Biggest movers:* D1 Seoul ERP Contact → Meeting (₩100,000,000), D3 Busan POS Contact "
            "→ Won (₩50,000,000), D2 Boston CRM Contact → Meeting ($12,000)",
        )
        in weekly
    )
    digest = scheduled(app, jobs.STALL_DIGEST, 30).splitlines()
    assert (
        by_locale(
            app,
            "정체된 딜 *2*건 · *1억원* · 예상 매출 *4천만원*",
            "*2 stalled deals* · *₩100,000,000* · expected revenue *₩40,000,000*",
        )
        in digest
    )
    assert (
        by_locale(
            app,
            "환율이 없어 합계에서 뺀 금액: $12,000(딜 1건). 관리자가 "
            "`/pipeline settings rate:USD=…`로 환율을 설정할 수 있습니다.",
            "Not in the totals (no exchange rate): $12,000 (1 deal). An admin sets a rate with "
            "`/pipeline settings rate:USD=…`.",
        )
        in digest
    )


def test_with_a_rate_the_weekly_summary_and_digest_convert_and_rank_by_value(app):
    moved_pipeline(app)
    say(app, "/deal", "set 2 amount:$100,000")  # ₩138,000,000: the biggest mover now
    say(app, "/pipeline", "settings rate:USD=1380")
    weekly = scheduled(app, jobs.WEEKLY_SUMMARY, 7).splitlines()
    assert (
        by_locale(
            app,
            "• *New business* — 진행 2건 · 2억 3,800만원 · 예상 매출 9,520만원 · 성사 2건 · 실패 0건 "
            "· 정체 0건",
            "• *New business* — 2 open · ₩238,000,000 · expected revenue ₩95,200,000 · won 2 · lost 0 · "
            "0 stalled",
        )
        in weekly
    )
    assert CONVERTED[app.locale] in weekly
    assert (
        by_locale(
            app,
            "*주요 변동:* D2 Boston CRM Contact → Meeting ($100,000), D1 Seoul ERP Contact → "
            "Meeting (1억원), D3 Busan POS Contact → Won (5천만원)",
            "*Biggest movers:* D2 Boston CRM Contact → Meeting ($100,000), D1 Seoul ERP Contact → "
            "Meeting (₩100,000,000), D3 Busan POS Contact → Won (₩50,000,000)",
        )
        in weekly
    )
    digest = scheduled(app, jobs.STALL_DIGEST, 30).splitlines()
    assert (
        by_locale(
            app,
            "정체된 딜 *2*건 · *2억 3,800만원* · 예상 매출 *9,520만원*",
            "*2 stalled deals* · *₩238,000,000* · expected revenue *₩95,200,000*",
        )
        in digest
    )
    assert CONVERTED[app.locale] in digest


def test_the_settings_modal_lists_the_rates(app):
    say(app, "/deal", "new Acme amount:1000")
    say(app, "/pipeline", "settings rate:USD=1380")
    say(app, "/pipeline", "settings rate:JPY=9.25")
    status, _ = app.command("/pipeline", "settings")
    assert status == 200
    view = app.slack.wait_for("views.open", count=1)[0].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    contexts = [
        e["text"] for blk in view["blocks"] if blk["type"] == "context" for e in blk["elements"]
    ]
    assert (
        by_locale(
            app,
            "환율(KRW 기준): JP¥1 = 9.25원 · $1 = 1,380원",
            "Exchange rates (to KRW): ¥1 = ₩9.25 · $1 = ₩1,380",
        )
        in contexts
    )


def test_one_deal_is_exact_and_a_total_is_rounded_to_manwon(app):
    reply = say(app, "/deal", "new Acme amount:3,795,000")
    assert reply == by_locale(
        app,
        "<@U1>님이 D1 “Acme” (379만 5천원) 딜을 Contact 단계로 만들었습니다.",
        "<@U1> created D1 “Acme” (₩3,795,000) in Contact.",
    )
    say(app, "/deal", "new Beta amount:356,720,972")
    board = report(app, "").splitlines()
    assert (
        by_locale(
            app,
            "*합계* · 딜 2건 · 금액 3억 6,052만원 · 예상 매출 3,605만원 · 정체된 딜 0건",
            "*Total* · Deals 2 · Amount ₩360,520,000 · Expected revenue ₩36,050,000 · Stalled 0",
        )
        in board
    )
    _, listing = app.command("/deal", "list")
    lines = shown(listing).splitlines()
    assert lines[0] == by_locale(
        app, "*진행 중인 모든 딜*: 딜 2건, 3억 6,052만원", "*All open deals*: 2 deals, ₩360,520,000"
    )
    assert by_locale(app, "379만 5천원", "₩3,795,000") in lines[1]  # its row: exact
