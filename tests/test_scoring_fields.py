"""Lead-scoring rules on custom fields for leads (issue 15): ``field industry 제조 +10``
(equal, any case; a multi select having it) and ``field seats >= 100 +20`` (a number or a
money amount compared). The pure rules first, then end to end through the running app on
SQLite and PostgreSQL: written in the ``/pipeline scoring`` modal, refused when the field is
unknown or the comparison does not fit it, listed as sentences, explained on ``/lead show``."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from commands.scoring_forms import parse_rule
from domain import lead_scores
from domain.clock import FixedClock
from domain.scoring import Facts, Rule, Scoring, compute
from storage.models import Lead
from tests import factories as f
from tests.slackapp import filled, quiet_automation, running_app, wait

INDUSTRY = Rule("field", 10, value="제조", key="industry", op="=")
SEATS = Rule("field", 20, value="100", key="seats", op=">=")


@pytest.mark.parametrize(
    "custom, total",
    [
        ({}, 0),
        ({"industry": "제조"}, 10),
        ({"industry": "IT"}, 0),
        ({"industry": ("IT", "제조")}, 10),  # a multi select having it
        ({"seats": Decimal(100)}, 20),
        ({"seats": Decimal("99.5")}, 0),
        ({"seats": (Decimal(150), "KRW")}, 20),  # money: its amount
        ({"seats": "many", "industry": "제조"}, 10),  # a number rule on text: no match
        ({"industry": "제조", "seats": Decimal(1000)}, 30),
    ],
)
def test_a_field_rule_matches_the_value_it_names(custom, total):
    scoring = Scoring(rules=(INDUSTRY, SEATS))
    assert compute(scoring, Facts(custom=custom), f.T0).total == total


@pytest.mark.parametrize(
    "line, rule",
    [
        ("field industry 제조 +10", INDUSTRY),
        ("필드 Industry: 제조 +10점", INDUSTRY),
        ("field seats >= 100 +20", SEATS),
        ("field seats≥100 +20", SEATS),
        ("field seats < 10 -5", Rule("field", -5, value="10", key="seats", op="<")),
    ],
)
def test_a_field_rule_is_written_on_one_line(line, rule):
    assert parse_rule(line) == rule


@pytest.mark.parametrize("line", ["field +5", "field seats >= many +5", "field seats >= +5"])
def test_a_field_rule_that_cannot_be_read_is_refused(line):
    with pytest.raises(Exception) as err:
        parse_rule(line)
    assert err.value.key == "scoring.bad_rule"


@pytest.fixture
def app(db_url):
    with running_app(db_url, clock=FixedClock(f.T0)) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        quiet_automation(harness)
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


def _score(app) -> int:
    with Session(app.engine) as session:
        return session.exec(select(Lead.score)).one()


FORM = {"threshold": "50", "window": "30", "half_life": "7"}


def _scoring_view(app) -> dict:
    opened = len(app.slack.calls_to("views.open"))
    app.command("/pipeline", "scoring")  # the modal opens after the ack: wait for this one
    return app.slack.wait_for("views.open", count=opened + 1)[-1].args["view"]


def test_field_rules_are_saved_listed_and_explain_the_score(app):
    app.command("/lead", "list")  # U1 is the first member: an admin
    app.command("/pipeline", 'field new "Industry" type:select options:제조,IT for:lead')
    app.command("/pipeline", 'field new "Seats" type:number for:lead key:seats')
    app.command("/lead", 'new "Park"')
    app.command("/lead", "set L1 industry:제조 seats:150")
    assert _score(app) == 0  # no field rules yet

    view = _scoring_view(app)
    for add, says in (
        ("field colour red +5", "There is no custom field for leads `colour`."),
        ("note +1\nfield industry >= 5 +5", "*Industry* is not a number"),
    ):
        status, answer = app.submit(filled(view, {**FORM, "add": add}))
        assert status == 200 and answer["response_action"] == "errors"
        assert says in answer["errors"]["add"]
    assert _score(app) == 0

    answers = {**FORM, "add": "field Industry 제조 +10\nfield seats >= 100 +20"}
    status, answer = app.submit(filled(view, answers))
    assert status == 200 and not answer
    wait(lambda: _score(app) == 30, what="the lead scored by its fields")

    listed = "\n".join(
        b["text"]["text"] for b in _scoring_view(app)["blocks"] if b["type"] == "section"
    )
    assert "*+10* when the field industry is “제조”" in listed
    assert "*+20* when the field seats is ≥ 100" in listed
    status, shown = app.command("/lead", "show L1")
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert "+10 industry “제조”, +20 seats ≥ 100" in text

    status, reply = app.command("/lead", "set L1 seats:50")
    assert reply["text"].endswith("Score now: 10.")


def test_the_scoring_benchmark_with_field_rules_prints_its_figures_at_a_tiny_size(
    db_url, capsys, monkeypatch
):
    import sys

    from bench import scoring as bench

    argv = ["bench.scoring", "--url", db_url, "--leads", "60", "--field-rules"]
    monkeypatch.setattr(sys, "argv", argv)
    bench.main()
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["field_rules"] is True and figures["one_lead_median_ms"] > 0
    with Session(bench.make_engine(db_url)) as session:
        leads = session.exec(select(Lead)).all()
        kinds = [
            {
                p.rule.kind
                for p in lead_scores.explain(session=session, lead=lead, now=f.T0)[0].parts
            }
            for lead in leads
        ]
    assert len(leads) == 60 and any("field" in k for k in kinds), "field rules score some"
