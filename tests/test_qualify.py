"""BANT qualification (issue 15, point 2): the grammar and its friendly errors, the ✓/✗ on
the card and ``/deal show``, the weekly count of deals past Qualification not fully
qualified, and the command, the card's button and its checkboxes end to end."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from commands import types as c
from commands.grammar import parse
from domain import deal_reads, qualify, weekly
from domain.clock import FixedClock
from domain.errors import InvalidInput, NotAllowed
from storage.models import Activity, Deal, Role
from tests import factories as f
from tests.slackapp import quiet_automation, running_app, wait
from views import deals as dv
from views.notifications import weekly_summary

TODAY = date(2026, 12, 3)


def qualify_cmd(text: str) -> c.DealQualify:
    return parse("deal", f"qualify {text}", today=TODAY)


# ---------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "deal", "tick", "untick"),
    [
        ("42 budget authority", c.DealRef(42), {"budget", "authority"}, set()),
        ("D42 -budget need", c.DealRef(42), {"need"}, {"budget"}),
        ("#42 예산 결정권 -시기", c.DealRef(42), {"budget", "authority"}, {"timeline"}),
        ('"Acme ERP" Need TIMELINE', c.DealRef(text="Acme ERP"), {"need", "timeline"}, set()),
        ("acme erp budget -need", c.DealRef(text="acme erp"), {"budget"}, {"need"}),
        ("42 all", c.DealRef(42), set(qualify.CRITERIA), set()),
        ("42 -all", c.DealRef(42), set(), set(qualify.CRITERIA)),
        ("42", c.DealRef(42), set(), set()),  # the checkboxes
    ],
)
def test_qualify_reads_ticks_and_unticks_after_the_deal(text, deal, tick, untick):
    assert qualify_cmd(text) == c.DealQualify(deal, frozenset(tick), frozenset(untick))


@pytest.mark.parametrize(
    ("text", "locale", "says"),
    [
        ("42 budgt", "en", "`budgt` is not a BANT criterion. Write budget, authority, need or"),
        ("42 budgt", "ko", "`budgt`: BANT 항목이 아닙니다"),
        ("42 budget -budget", "en", "`budget` is both ticked and unticked"),
        ("42 not:budget", "en", "`not:`"),
        ("", "en", "Which deal"),
    ],
)
def test_a_qualify_mistake_says_what_was_wrong_and_how_to_write_it(text, locale, says):
    with pytest.raises(InvalidInput) as err:
        qualify_cmd(text)
    message = err.value.render(locale)
    assert says in message
    assert "/deal qualify 42" in message  # the usage line follows


# ---------------------------------------------------------------- domain and card


def _setup(session):
    ws = f.workspace(session)
    kim = f.member(session, ws, "UKIM")
    return ws, kim


def test_ticking_and_unticking_shows_on_the_card_as_checks_and_crosses(session):
    ws, kim = _setup(session)
    deal = f.deal(session, ws, kim)
    qualify.qualify(
        session=session, actor=kim, deal=deal, now=f.T0, tick=frozenset({"budget", "need"})
    )
    done = qualify.qualify(
        session=session,
        actor=kim,
        deal=deal,
        now=f.T0,
        tick=frozenset({"authority"}),
        untick=frozenset({"need"}),
    )
    assert done.changed == (("authority", True), ("need", False))
    data = deal_reads.card(session=session, workspace=ws, deal=deal, now=f.T0)
    fields = [x["text"] for x in dv.card(data, ws, "en").blocks[1]["fields"]]
    assert "*BANT (2/4):* ✓ Budget · ✓ Authority · ✗ Need · ✗ Timeline" in fields
    ko = [x["text"] for x in dv.card(data, ws, "ko").blocks[1]["fields"]]
    assert "*BANT 검증 (2/4):* ✓ 예산 · ✓ 결정권 · ✗ 니즈 · ✗ 도입 시기" in ko
    buttons = [e["action_id"] for e in dv.card(data, ws, "en").blocks[-1]["elements"]]
    assert "qualify.open" in buttons
    details = dv.deal_details(data, [], {}, ws, "en", None)
    assert any("✓ Authority · ✗ Need" in json.dumps(b, ensure_ascii=False) for b in details.blocks)


def test_a_renewal_deal_has_no_checklist_and_qualify_says_so_changing_nothing(session):
    ws, kim = _setup(session)
    renewal = f.deal(session, ws, kim, pipeline_name="Renewals")
    data = deal_reads.card(session=session, workspace=ws, deal=renewal, now=f.T0)
    assert data.qualification is None
    assert "BANT" not in json.dumps(dv.card(data, ws, "en").blocks)
    with pytest.raises(InvalidInput) as err:
        qualify.qualify(
            session=session, actor=kim, deal=renewal, now=f.T0, tick=frozenset({"budget"})
        )
    assert "has no BANT checklist" in err.value.render("en")
    assert renewal.qualification == 0


def test_a_rep_cannot_qualify_someone_elses_deal_but_a_manager_can(session):
    ws, kim = _setup(session)
    lee = f.member(session, ws, "ULEE")
    boss = f.member(session, ws, "UBOSS", Role.manager)
    deal = f.deal(session, ws, kim)
    with pytest.raises(NotAllowed):
        qualify.qualify(session=session, actor=lee, deal=deal, now=f.T0, tick=frozenset({"need"}))
    qualify.qualify(session=session, actor=boss, deal=deal, now=f.T0, tick=frozenset({"need"}))
    assert qualify.met(deal.qualification) == (False, False, True, False)


# ---------------------------------------------------------------- weekly summary


def test_the_weekly_summary_counts_open_deals_past_qualification_not_fully_qualified(session):
    ws, kim = _setup(session)
    all_four = frozenset(qualify.CRITERIA)

    def deal(title, stage, tick=frozenset()):
        d = f.deal(session, ws, kim, title=title, stage_text=stage)
        if tick:
            qualify.qualify(session=session, actor=kim, deal=d, now=f.T0, tick=tick)
        return d

    deal("early", "Contact")  # before Qualification: not counted
    deal("in it", "Qualification")  # in it, not past it
    deal("meeting, unqualified", "Meeting")  # counted
    deal("proposal, half", "Proposal", frozenset({"budget", "need"}))  # counted
    deal("negotiation, all four", "Negotiation", all_four)  # fully qualified
    deal("won already", "Won")  # closed
    f.deal(session, ws, kim, title="renewal", pipeline_name="Renewals")
    session.commit()
    start = f.T0 - timedelta(days=7)
    summary = weekly.compute(session=session, workspace=ws, start=start, end=f.T0, now=f.T0)
    counts = {p.name: p.unqualified_count for p in summary.pipelines}
    assert counts == {"New business": 2, "Renewals": None}
    for locale, line in (
        ("en", "📋 Past Qualification without full BANT: 2"),
        ("ko", "📋 니즈 파악 단계를 지났지만 BANT가 다 채워지지 않은 딜: 2건"),
    ):
        posted = json.dumps(
            [m.blocks for m in weekly_summary(summary=summary, locale=locale)], ensure_ascii=False
        )
        assert line in posted
        assert posted.count("BANT") == 1, "only the pipeline with the checklist says it"


# ---------------------------------------------------------------- end to end


@pytest.fixture
def app(db_url):
    with running_app(db_url, clock=FixedClock(f.T0)) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        quiet_automation(harness)
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


def _qualification(app, number=1) -> int:
    with Session(app.engine) as session:
        return session.exec(select(Deal.qualification).where(Deal.number == number)).one()


def _card_fields(call) -> str:
    return json.dumps(call.args["blocks"], ensure_ascii=False)


def test_qualify_by_command_updates_the_card_and_the_checkboxes_set_exactly_what_is_ticked(app):
    from tests.test_slack_e2e import _buttons

    app.command("/deal", 'new "Acme ERP" amount:7590000 stage:Meeting')
    card = app.slack.wait_for("chat.postMessage")[0]
    assert "✗ Budget · ✗ Authority · ✗ Need · ✗ Timeline" in _card_fields(card)

    status, reply = app.command("/deal", "qualify 1 budget authority")
    assert status == 200
    assert reply["text"] == "<@U1> qualified D1: ✓ Budget, ✓ Authority (BANT 2/4)"
    update = app.slack.wait_for("chat.update")[-1]
    assert "✓ Budget · ✓ Authority · ✗ Need · ✗ Timeline" in _card_fields(update)
    assert _qualification(app) == 0b0011

    status, reply = app.command("/deal", "qualify 1 budgt")
    assert status == 200 and "`budgt` is not a BANT criterion" in reply["text"]
    assert _qualification(app) == 0b0011, "a mistake changes nothing"

    button = next(b for b in _buttons(card.args["blocks"]) if b["action_id"] == "qualify.open")
    assert app.action([{**button, "block_id": "deal:D1", "action_ts": "1.2"}])[0] == 200
    view = app.slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "qualify"
    boxes = next(b for b in view["blocks"] if b.get("block_id") == "criteria")["element"]
    assert [o["value"] for o in boxes["initial_options"]] == ["budget", "authority"]
    chosen = [o for o in boxes["options"] if o["value"] in ("need", "timeline")]
    submitted = {
        **view,
        "id": "V1",
        "state": {
            "values": {"criteria": {"value": {"type": "checkboxes", "selected_options": chosen}}}
        },
    }
    status, answer = app.submit(submitted)
    assert status == 200 and not answer
    wait(lambda: _qualification(app) == 0b1100, what="the ticked boxes saved")
    app.settle()
    last = app.slack.calls_to("chat.update")[-1]
    assert "✗ Budget · ✗ Authority · ✓ Need · ✓ Timeline" in _card_fields(last)
    with Session(app.engine) as session:
        kinds = session.exec(select(Activity.kind).where(Activity.kind == "qualified")).all()
    assert len(kinds) == 2, "each change is on the timeline"


def test_a_forged_bant_button_or_modal_is_not_found_and_changes_nothing(app):
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    app.slack.wait_for("chat.postMessage")
    for value in ("D999", "²", "D" + "9" * 40):
        since = len(app.slack.calls)
        forged = {"type": "button", "action_id": "qualify.open", "value": value}
        assert app.action([forged], message={"ts": "1.0", "text": "x"})[0] == 200
        told = wait(
            lambda since=since: [
                c.args.get("text", "")
                for c in app.slack.calls[since:]
                if c.method in ("response_url", "chat.postEphemeral")
            ],
            what="the not-found answer",
        )
        assert "error id" not in told[0] and "Traceback" not in told[0], told
    assert app.slack.calls_to("views.open") == [], "no checkboxes for a deal that is not there"
    view = {
        "type": "modal",
        "callback_id": "qualify",
        "private_metadata": '{"deal": "not a number"}',
        "blocks": [],
        "id": "V1",
        "state": {"values": {}},
    }
    status, answer = app.submit(view)
    assert status == 200 and answer["response_action"] == "errors"
    assert _qualification(app) == 0
