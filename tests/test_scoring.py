"""Lead scoring (issue 15, point 3): the score as a pure function of rules, facts and an
explicit date (decay), rule lines as admins write them, the stored score and the MQL
crossing told once — recomputed twice or by two processes — the daily job, ``/lead list``
highest first, ``/lead show`` explaining, and the rules modal end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from commands import scoring_forms
from domain import lead_scores, leads, tasks
from domain.clock import FixedClock
from domain.errors import InvalidInput, NotAllowed
from domain.scoring import DEFAULT, Facts, Rule, Scoring, compute
from scheduler import jobs
from storage.models import Lead, Outbox, Role, Stage
from tests import factories as f
from tests.slackapp import quiet_automation, running_app, wait

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
NOTES = Scoring(rules=(Rule("note", 8),), threshold=50, window_days=30, half_life_days=7)


# ---------------------------------------------------------------- the pure function


def test_an_activity_point_halves_every_half_life_and_is_gone_after_the_window():
    def notes(*ages_in_days):
        facts = Facts(events=tuple(("note", NOW - d * DAY) for d in ages_in_days))
        return compute(NOTES, facts, NOW).total

    assert notes(0) == 8
    assert notes(7) == 4  # one half-life
    assert notes(14) == 2  # two
    assert notes(3.5) == 6  # 8 × ½^0.5 = 5.66 → 6
    assert notes(0, 7, 14) == 14  # 8 + 4 + 2
    assert notes(30) == 0  # 8 × ½^(30/7) = 0.41: rounds to nothing
    assert notes(31) == 0  # outside the window
    assert notes(-1) == 0  # a clock skew's future note counts nothing
    assert notes() == 0


def test_fit_rules_add_up_and_the_parts_say_why():
    facts = Facts(size=120, source="Webinar", title="Chief Technology Officer (CTO)")
    score = compute(DEFAULT, facts, NOW)
    why = [(p.rule.kind, p.points) for p in score.parts]
    assert why == [("size", 20), ("source", 10), ("title", 15)]
    assert score.total == 45
    assert compute(DEFAULT, Facts(size=1000), NOW).total == 30  # ≥ 1000, not 100–999 too
    assert compute(DEFAULT, Facts(size=9, source="cold call"), NOW).total == 0


def test_activity_is_counted_per_rule_with_its_events():
    facts = Facts(
        events=(("note", NOW), ("note", NOW - 7 * DAY), ("message", NOW), ("task", NOW - DAY))
    )
    parts = {p.rule.kind: (p.points, p.count) for p in compute(DEFAULT, facts, NOW).parts}
    assert parts == {"note": (8, 2), "message": (3, 1), "task": (5, 1)}  # 5 + 2.5 → 8


# ---------------------------------------------------------------- rule lines


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("size 100-999 +20", Rule("size", 20, low=100, high=999)),
        ("size >= 1000 +30", Rule("size", 30, low=1000)),
        ("size 1000+ 30", Rule("size", 30, low=1000)),
        ("size <10 -5", Rule("size", -5, high=9)),
        ("규모 10~99 +10점", Rule("size", 10, low=10, high=99)),
        ("source Webinar +10", Rule("source", 10, value="webinar")),
        ('title "Vice President" +10', Rule("title", 10, value="vice president")),
        ("직함 대표 +15", Rule("title", 15, value="대표")),
        ("note +5", Rule("note", 5)),
        ("메시지 3", Rule("message", 3)),
        ("task +5", Rule("task", 5)),
    ],
)
def test_an_admin_writes_a_rule_on_one_line_points_last(line, rule):
    assert scoring_forms.parse_rule(line) == rule


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("size big +20", "Line 1: `size big +20` is not a rule I can read"),
        ("note +5\ncolour red +5", "Line 2: `colour red +5` is not a rule"),
        ("note +5000", "Line 1: 5000 points is too many"),
        ("size 999-100 +5", "Line 1: `size 999-100 +5`"),
    ],
)
def test_a_rule_line_that_cannot_be_read_is_answered_under_the_field(text, says):
    values = _form(add=text)
    with pytest.raises(scoring_forms.FieldErrors) as err:
        scoring_forms.scoring_form(values, current=DEFAULT, locale="en")
    assert list(err.value.errors) == ["add"]
    assert err.value.errors["add"].startswith(says)


def _form(add="", threshold="50", window="30", half_life="7", remove=()):
    def text(value):
        return {"value": {"type": "plain_text_input", "value": value}}

    chosen = [{"value": str(i)} for i in remove]
    return {
        "add": text(add),
        "threshold": text(threshold),
        "window": text(window),
        "half_life": text(half_life),
        "remove": {"value": {"type": "multi_static_select", "selected_options": chosen}},
    }


def test_the_form_keeps_the_rules_not_removed_and_adds_the_new_ones():
    current = Scoring(rules=(Rule("note", 5), Rule("task", 5), Rule("message", 3)))
    new = scoring_forms.scoring_form(
        _form(add="source referral +15", threshold="70", remove=(1,)), current=current, locale="ko"
    )
    assert new.rules == (Rule("note", 5), Rule("message", 3), Rule("source", 15, value="referral"))
    assert (new.threshold, new.window_days, new.half_life_days) == (70, 30, 7)
    with pytest.raises(scoring_forms.FieldErrors) as err:
        scoring_forms.scoring_form(
            _form(threshold="0", half_life="x"), current=current, locale="ko"
        )
    assert set(err.value.errors) == {"threshold", "half_life"}
    assert "정수" in err.value.errors["threshold"]


# ---------------------------------------------------------------- stored scores, crossings


def _lead(session, ws, owner, name="Kim Minsu", **kw):
    return leads.create_lead(session=session, workspace=ws, actor=owner, name=name, now=NOW, **kw)


def _mql_dms(session) -> list[Outbox]:
    return session.exec(select(Outbox).where(Outbox.job == lead_scores.JOB)).all()


def _status(session, lead) -> str:
    session.refresh(lead)
    return session.get(Stage, lead.status_id).name


def _note(session, actor, lead, when):
    leads.add_note(session=session, actor=actor, lead=lead, text="called", now=when)


def test_crossing_the_threshold_moves_the_lead_to_mql_and_tells_its_owner_once(session):
    ws = f.workspace(session)
    kim = f.member(session, ws, "UKIM")
    lead = _lead(session, ws, kim, size=120, source="webinar", job_title="CTO")  # 45
    assert (lead.score, _status(session, lead), _mql_dms(session)) == (45, "NEW", [])
    _note(session, kim, lead, NOW)  # +5: 50, the threshold
    assert lead.score == 50 and _status(session, lead) == "MQL"
    lead_scores.recompute(session=session, workspace=ws, now=NOW)
    lead_scores.recompute(session=session, workspace=ws, now=NOW)
    (dm,) = _mql_dms(session)
    assert dm.target == "dm:UKIM" and dm.key.endswith(f"l{lead.id}/1")
    text = json.loads(dm.payload)["message"]["text"]
    assert text.startswith(
        "🎯 *L1 Kim Minsu* 리드의 점수가 50점이 되어 MQL 기준(50점)을 넘었습니다"
    )


def test_decay_below_the_threshold_and_back_over_it_is_a_second_crossing(session):
    ws = f.workspace(session, locale="en")
    kim = f.member(session, ws, "UKIM")
    lead = _lead(session, ws, kim, size=120, source="webinar", job_title="CTO")
    _note(session, kim, lead, NOW)
    assert lead.above_mql and lead.mql_crossings == 1
    later = NOW + 10 * DAY  # the note is worth 2 now: 47
    jobs.plan_lead_scores(session, ws, later, False)
    session.refresh(lead)
    assert (lead.score, lead.above_mql, _status(session, lead)) == (47, False, "MQL")
    _note(session, kim, lead, later)  # +5 fresh: 52
    session.refresh(lead)
    assert (lead.above_mql, lead.mql_crossings) == (True, 2)
    dms = _mql_dms(session)
    assert [d.period for d in dms] == [f"l{lead.id}/1", f"l{lead.id}/2"]
    assert json.loads(dms[1].payload)["message"]["text"].startswith("🎯 *L1 Kim Minsu* reached 52")


def test_two_processes_recomputing_at_once_tell_the_owner_once(engine):
    """Process one crosses and commits; process two read the lead before that commit (it
    saw it below the threshold) and claims the same crossing: its claim finds nothing."""
    from storage.models import Workspace

    with Session(engine, expire_on_commit=False) as setup:
        ws = f.workspace(setup)
        boss = f.member(setup, ws, "UBOSS", Role.admin)
        lead = _lead(setup, ws, boss, size=120, source="webinar")  # 30
        setup.commit()
        ws_id, lead_id, boss_id = ws.id, lead.id, boss.id
    lower = Scoring(rules=DEFAULT.rules, threshold=25)
    with Session(engine) as one:
        crossed = lead_scores.save(
            session=one,
            actor=one.get(type(boss), boss_id),
            workspace=one.get(Workspace, ws_id),
            scoring=lower,
            now=NOW,
        )
        one.commit()
    assert crossed == 1
    with Session(engine) as two:
        stale = lead_scores.Crossing(compute(lower, Facts(120, "webinar"), NOW), lower, NOW)
        assert lead_scores._cross(two, two.get(Workspace, ws_id), lead_id, stale, {}) is False
        assert lead_scores.recompute(session=two, workspace=two.get(Workspace, ws_id), now=NOW) == 0
        two.commit()
    with Session(engine) as check:
        assert len(_mql_dms(check)) == 1
        assert check.get(Lead, lead_id).mql_crossings == 1


def test_a_converted_lead_crossing_is_counted_but_nobody_is_told(session):
    ws = f.workspace(session)
    kim = f.member(session, ws, "UKIM")
    lead = _lead(session, ws, kim, size=120, source="webinar")
    leads.convert(session=session, workspace=ws, actor=kim, lead=lead, now=NOW)
    deal = session.get(type(lead), lead.id).deal_id
    tasks.create_task(
        session=session,
        workspace=ws,
        owner=kim,
        text="call",
        kind="call",
        due_at=NOW,
        lead=lead,
    )
    for task in session.exec(select(tasks.Task)).all():
        tasks.complete_task(session=session, task=task, actor=kim, now=NOW)
    from domain.deals import add_note
    from storage.models import Deal

    for _ in range(3):
        add_note(session=session, actor=kim, deal=session.get(Deal, deal), text="x", now=NOW)
    session.refresh(lead)
    assert lead.score == 30 + 5 + 15  # the task and the deal's notes count for it
    assert lead.above_mql and _mql_dms(session) == []
    assert _status(session, lead) == "SQL", "a converted lead stays where it is"


def test_only_admins_change_the_rules(session):
    ws = f.workspace(session)
    kim = f.member(session, ws, "UKIM")
    with pytest.raises(NotAllowed):
        lead_scores.save(session=session, actor=kim, workspace=ws, scoring=DEFAULT, now=NOW)
    boss = f.member(session, ws, "UBOSS", Role.admin)
    with pytest.raises(InvalidInput):
        bad = Scoring(rules=(), threshold=0)
        lead_scores.save(session=session, actor=boss, workspace=ws, scoring=bad, now=NOW)


def test_lead_list_shows_the_highest_score_first(session):
    ws = f.workspace(session)
    kim = f.member(session, ws, "UKIM")
    _lead(session, ws, kim, name="small")  # 0
    _lead(session, ws, kim, name="big", size=5000)  # 30
    _lead(session, ws, kim, name="mid", size=50)  # 10
    _lead(session, ws, kim, name="also small")  # 0, newer: first of the zeros
    rows = leads.lead_rows(session=session, workspace_id=ws.id)
    assert [(r.name, r.score) for r in rows] == [
        ("big", 30),
        ("mid", 10),
        ("also small", 0),
        ("small", 0),
    ]


# ---------------------------------------------------------------- end to end


@pytest.fixture
def app(db_url):
    with running_app(db_url, clock=FixedClock(f.T0)) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        quiet_automation(harness)
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


def test_lead_show_explains_the_score_and_lead_list_sorts_by_it(app):
    app.command("/lead", 'new "Park" size:20')
    app.command("/lead", 'new "Kim Minsu" company:Hanbit source:webinar size:120 title:CTO')
    status, reply = app.command("/lead", "show L2")
    assert status == 200
    shown = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "*Score:* 45 (MQL at 50)\\n+20 size 100–999, +10 webinar, +15 title “cto”" in shown
    assert "*Job title:* CTO" in shown
    status, reply = app.command("/lead", "list")
    lines = reply["blocks"][1]["text"]["text"].splitlines()
    assert [line.split(" *")[0] for line in lines] == ["`45` L2", "`10` L1"]


def test_a_note_that_crosses_the_threshold_dms_the_owner_through_the_outbox(app):
    app.command("/lead", 'new "Kim Minsu" source:webinar size:120 title:CTO')
    status, reply = app.command("/lead", "note L1 Called, wants a demo")
    assert status == 200 and reply["text"] == "Noted on L1. Its score is now 50."
    dm = wait(
        lambda: [c for c in app.slack.calls_to("chat.postMessage") if c.args["channel"] == "DU1"],
        what="the owner's MQL DM",
    )
    assert len(dm) == 1 and dm[0].args["text"].startswith("🎯 *L1 Kim Minsu* reached 50 points")
    app.command("/lead", "note L1 Sent the deck")  # higher still: no second crossing
    app.settle()
    mql = [c for c in app.slack.calls_to("chat.postMessage") if "🎯" in c.args.get("text", "")]
    assert len(mql) == 1


def test_the_scoring_modal_lists_rules_as_sentences_and_saves_what_the_admin_changed(app):
    from tests.slackapp import filled

    status, reply = app.command("/pipeline", "scoring")
    assert status == 200
    view = app.slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "scoring"
    listed = "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")
    assert "2. *+20* when the company has 100 to 999 employees" in listed
    assert "14. *+5* for each note in the last 30 days (halving every 7 days)" in listed

    status, answer = app.submit(filled(view, {"add": "size big +5", "threshold": "40"}))
    assert status == 200 and answer["response_action"] == "errors"
    assert answer["errors"]["add"].startswith("Line 1: `size big +5` is not a rule I can read")

    app.command("/lead", 'new "Kim Minsu" source:webinar size:120')  # 30
    answers = {"add": "source webinar +10", "threshold": "40", "window": "30", "half_life": "7"}
    status, answer = app.submit(filled(view, answers))
    assert status == 200 and not answer
    wait(
        lambda: any(
            "Lead scoring saved: 17 rules, MQL at 40. 1 lead crossed" in c.args.get("text", "")
            for c in app.slack.calls_to("chat.postMessage")
        ),
        what="the admin's confirmation",
    )
    with Session(app.engine) as session:
        assert session.exec(select(Lead.score)).one() == 40


def test_the_daily_job_scores_every_lead_again_and_tells_a_crossing_once(engine):
    """``lead-scores`` through the jobs' one wrapper: a lead written while automation was
    paused (an import) is scored by the job; run twice, one DM; ten days on, it decays."""
    from domain import automation

    with Session(engine, expire_on_commit=False) as setup:
        ws = f.workspace(setup)
        kim = f.member(setup, ws, "UKIM")
        with automation.paused(setup):
            lead = _lead(setup, ws, kim, size=120, source="webinar", job_title="CTO")
            _note(setup, kim, lead, NOW)
        setup.commit()
        ws_id, lead_id = ws.id, lead.id
    assert jobs.LEAD_SCORES in jobs.NAMES

    def run(at):
        result = jobs.run_for_workspace(engine, jobs.LEAD_SCORES, ws_id, at=at, now=at, force=False)
        assert result.error is None
        with Session(engine) as check:
            found = check.get(Lead, lead_id)
            status = check.get(Stage, found.status_id).name
            return found.score, found.above_mql, status, len(_mql_dms(check))

    assert run(NOW) == (50, True, "MQL", 1)
    assert run(NOW) == (50, True, "MQL", 1), "a second run tells nobody again"
    assert run(NOW + 10 * DAY) == (47, False, "MQL", 1)


def test_the_new_lead_modal_takes_the_job_title_the_rules_read():
    from commands import forms
    from views.modals import lead_new

    class Ctx:
        locale, channel_id = "en", "C1"

    blocks = {b.get("block_id") for b in lead_new(Ctx())["blocks"]}
    assert "title" in blocks

    def text(value):
        return {"value": {"type": "plain_text_input", "value": value}}

    cmd = forms.lead_new({"name": text("Kim"), "title": text("CTO")}, locale="en")
    assert cmd.title == "CTO"


def test_a_korean_rep_sees_the_score_explained_in_korean(app):
    app.command("/lead", 'new "박지민" 규모:120 유입경로:webinar 직함:대표', user="U2")
    status, reply = app.command("/lead", "보기 L1", user="U2")
    assert status == 200
    shown = json.dumps(reply["blocks"], ensure_ascii=False)
    assert (
        "*점수:* 45점 (MQL 기준 50점)\\n+20 규모 100–999명, +10 webinar, +15 직함 “대표”" in shown
    )
    status, reply = app.command("/lead", "목록", user="U2")
    assert reply["blocks"][1]["text"]["text"].startswith("`45점` L1 *박지민*")


def test_the_scoring_benchmark_prints_its_figures_at_a_tiny_size(db_url, capsys, monkeypatch):
    import sys

    from bench import scoring as bench

    monkeypatch.setattr(sys, "argv", ["bench.scoring", "--url", db_url, "--leads", "60"])
    bench.main()
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["leads"] == 60 and figures["one_lead_median_ms"] > 0
    assert figures["above_threshold"] > 0, "the spread of leads puts some over the threshold"
