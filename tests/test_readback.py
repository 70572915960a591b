"""An amount read by a rule is confirmed back in words, in the reply of every command that
takes one: `/deal new`, `/deal set`, `/deal renewal` mrr, `/lead convert`, `/pipeline plan`."""

from __future__ import annotations

import io
from decimal import Decimal

from sqlmodel import Session, select

from cli.console import Console
from commands.readback import read_back
from commands.types import Amount
from domain.clock import FixedClock
from domain.workspaces import WorkspaceDefaults
from storage.db import make_engine
from storage.models import Deal
from tests.factories import T0
from views import blocks as b
from views.message import Message
from views.text import render


def console(engine, locale: str, *, currency: str = "KRW", team: str | None = None) -> Console:
    return Console(
        engine,
        team_id=team or f"T-{locale}-{currency}",
        user_id="U1",
        clock=FixedClock(T0),
        defaults=WorkspaceDefaults(locale=locale, currency=currency),
        out=io.StringIO(),
    )


def test_deal_new_reads_1eok_5cheon_back_as_1eok_5cheonman_in_both_languages(db_url):
    engine = make_engine(db_url)
    ko = console(engine, "ko").command("deal", "new Acme amount:1억5천")
    assert ko.reply.text == (
        "<@U1>님이 D1 “Acme” (1억 5천만원) 딜을 컨택 단계로 만들었습니다.\n"
        "1억 5천만원으로 기록했습니다."
    )
    assert render(ko.reply) == (
        "@U1님이 D1 “Acme” (1억 5천만원) 딜을 컨택 단계로 만들었습니다.\n"
        "1억 5천만원으로 기록했습니다."
    )
    en = console(engine, "en").command("deal", "new Acme amount:1억5천")
    assert render(en.reply) == (
        "@U1 created D1 “Acme” (₩150,000,000) in Contact.\nRecorded as ₩150,000,000."
    )
    with Session(engine) as session:
        amounts = session.exec(select(Deal.amount, Deal.currency)).all()
    assert [(Decimal(a), c) for a, c in amounts] == [(Decimal(150_000_000), "KRW")] * 2
    engine.dispose()


def test_the_read_back_line_ends_the_reply_the_console_prints(db_url):
    engine = make_engine(db_url)
    c = console(engine, "ko")
    c.run_script(io.StringIO("/deal new Acme amount:1억 5천\n"))
    lines = c.out.getvalue().splitlines()
    at = lines.index("1억 5천만원으로 기록했습니다.")
    assert lines[at - 1].startswith("@you님이 D1") and lines[at + 1].startswith("#console")
    engine.dispose()


def test_an_amount_written_in_full_is_not_read_back(db_url):
    engine = make_engine(db_url)
    c = console(engine, "ko")
    for text in ("new Acme amount:2억3천만", "new Beta amount:7,590,000", "new Gamma"):
        reply = c.command("deal", text).reply.text
        assert "기록했습니다" not in reply, reply
    engine.dispose()


def test_every_command_that_takes_an_amount_reads_it_back(db_url):
    engine = make_engine(db_url)
    c = console(engine, "ko")
    c.command("deal", "new Acme amount:1000")
    c.command("lead", "new Kim")
    replies = {
        "set": c.command("deal", "set 1 amount:3억2천5백").reply,
        "renewal": c.command("deal", "renewal 1 mrr:일억 오천").reply,
        "convert": c.command("lead", "convert L1 amount:1억 5000").reply,
    }
    assert replies["set"].text.endswith("\n3억 2,500만원으로 기록했습니다.")
    assert replies["renewal"].text.endswith("\n1억 5천만원으로 기록했습니다.")
    assert replies["convert"].text.endswith("\n1억 5천만원으로 기록했습니다.")
    plan = c.command("pipeline", "plan target:1억5천 avg:3천5백만 winrate:50%").reply
    lines = ["매출 목표를 1억 5천만원으로 읽었습니다."]
    assert plan.text.endswith("\n" + lines[0])  # avg was written in full: 3,500만
    sections = [x for x in plan.blocks if x["type"] == "section" and x.get("text")]
    assert sections[0]["text"]["text"].endswith("\n" + lines[0])
    engine.dispose()


def test_a_plan_reads_back_both_figures_in_english(db_url):
    engine = make_engine(db_url)
    c = console(engine, "en")
    plan = c.command("pipeline", "plan target:일억오천 avg:1억 5000 winrate:50%").reply
    assert plan.text.endswith(
        "\nTarget read as ₩150,000,000.\nAverage deal size read as ₩150,000,000."
    )
    engine.dispose()


def test_a_korean_amount_is_a_won_deal_even_in_a_dollar_workspace(db_url):
    engine = make_engine(db_url)
    c = console(engine, "en", currency="USD")
    c.command("deal", "new Seoul amount:759만")
    c.command("deal", "new Boston amount:12,000")
    c.command("deal", "new Busan amount:5만 달러")
    with Session(engine) as session:
        deals = {d.title: (d.amount, d.currency) for d in session.exec(select(Deal))}
    assert deals == {
        "Seoul": (Decimal(7_590_000), "KRW"),
        "Boston": (Decimal(12_000), "USD"),
        "Busan": (Decimal(50_000), "USD"),
    }
    engine.dispose()


class _Ctx:
    """What read_back reads of a handler context."""

    class workspace:  # noqa: N801
        currency = "KRW"

    locale = "en"


def test_read_back_keeps_a_full_section_inside_slacks_limit_and_adds_one_if_none():
    amount = Amount(Decimal(150_000_000), "KRW", interpreted=True)
    full = Message(text="x", blocks=[b.header("t"), b.section("y" * b.SECTION_TEXT)])
    full = read_back(full, _Ctx(), amount, "deal.read_back")
    text = full.blocks[1]["text"]["text"]
    assert len(text) <= b.SECTION_TEXT and text.endswith("\nRecorded as ₩150,000,000.")
    bare = Message(text="x", blocks=[b.header("t"), b.context("c")])
    bare = read_back(bare, _Ctx(), amount, "deal.read_back")
    assert bare.blocks[-1] == b.section("Recorded as ₩150,000,000.")
    plain = Message(text="x")
    assert read_back(plain, _Ctx(), Amount(Decimal(1), "KRW"), "deal.read_back") == plain
