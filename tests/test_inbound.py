"""Inbound leads without HTTP: the fields a sender gives read like an import's, the bucket
refills with time, a form token expires, and speed to lead is the median time from arrival
to the first thing a person did (docs/inbound.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from commands.inbound_fields import BadSubmission, read_submission
from domain import inbound, leads, weekly, workflows
from domain import inbound_touch as touches
from domain.inbound import Submission
from i18n import t
from storage import outbox
from storage.models import Lead, Person, Role, Task
from tests import factories as f
from views.inbound import lead_message, speed_line
from views.notifications import weekly_summary

MINUTE = timedelta(minutes=1)


def read(fields: dict, **kw) -> Submission:
    return read_submission(fields, today=f.T0.date(), timezone="Asia/Seoul", **kw)


def test_fields_map_like_an_import_in_english_and_korean():
    got = read(
        {"이름": "김민수", "이메일": "kim@acme.kr", "회사명": "Acme", "직원 수": "1,200",
         "직함": "CTO", "연락처": "010-1234-5678", "문의 내용": "데모 요청", "utm_source": "ad"}
    )  # fmt: skip
    assert got.lead == {"name": "김민수", "email": "kim@acme.kr", "company": "Acme", "size": 1200}
    assert got.details == {
        "title": "CTO",
        "phone": "010-1234-5678",
        "notes": "데모 요청",
        "utm_source": "ad",
    }


def test_first_and_last_name_make_the_name_and_a_sender_cannot_set_the_owner():
    got = read({"first_name": "Minsu", "last_name": "Kim", "owner": "U1", "status": "SQL"})
    assert got.lead == {"name": "Minsu Kim"}
    assert got.details == {"owner": "U1", "status": "SQL"}  # kept as text, never applied


def test_every_bad_field_is_reported_at_once_with_why():
    with pytest.raises(BadSubmission) as bad:
        read({"email": "kim at acme", "size": "many", "tags": ["a"], "notes": "x" * 2001})
    reasons = {p.field: t("en", p.key, **p.params) for p in bad.value.problems}
    assert reasons == {
        "email": "`kim at acme` is not an email address.",
        "size": "“many” is not a whole number.",
        "tags": "give this field a text or a number, not a list or an object.",
        "notes": "too long: keep it under 2000 characters.",
        "name": "this field is required.",
    }


def test_text_no_database_stores_is_refused():
    with pytest.raises(BadSubmission) as bad:
        read({"name": "Kim\ud800"})
    assert [p.key for p in bad.value.problems] == ["import.bad_text"]


def test_the_bucket_allows_a_burst_then_refills_with_time(session):
    ws = f.workspace(session)
    admin = f.member(session, ws, "UADMIN", Role.admin)
    source, _ = inbound.enable(session=session, workspace=ws, actor=admin, now=f.T0)
    for _ in range(int(inbound.API_BUCKET.capacity)):
        inbound.take(source, "api", f.T0)
    with pytest.raises(inbound.Limited) as limited:
        inbound.take(source, "api", f.T0)
    assert limited.value.retry_after == 1
    inbound.take(source, "api", f.T0 + timedelta(seconds=1))  # one second, one more token
    for _ in range(int(inbound.FORM_BUCKET.capacity)):  # the form's bucket is its own
        inbound.take(source, "form", f.T0)
    with pytest.raises(inbound.Limited) as limited:
        inbound.take(source, "form", f.T0)
    assert limited.value.retry_after == 6


def test_a_form_token_is_good_for_a_day_and_only_for_its_workspace(session):
    ws, other = f.workspace(session), f.workspace(session, team_id="T2")
    admin = f.member(session, ws, "UADMIN", Role.admin)
    admin2 = f.member(session, other, "UADMIN", Role.admin)
    source, _ = inbound.enable(session=session, workspace=ws, actor=admin, now=f.T0)
    elsewhere, _ = inbound.enable(session=session, workspace=other, actor=admin2, now=f.T0)
    token = inbound.form_token(source, f.T0)
    assert inbound.form_token_valid(source, token, f.T0 + timedelta(hours=23))
    assert not inbound.form_token_valid(source, token, f.T0 + timedelta(hours=25))
    assert not inbound.form_token_valid(elsewhere, token, f.T0)
    assert not inbound.form_token_valid(source, "abc.def", f.T0)


def test_speed_to_lead_is_the_median_time_to_a_persons_first_touch(session):
    ws = f.workspace(session, automation=True)  # the default workflows run, and touch nothing
    admin = f.member(session, ws, "UADMIN", Role.admin)
    rep = f.member(session, ws, "UREP")
    source, _ = inbound.enable(session=session, workspace=ws, actor=admin, now=f.T0)
    rows = []
    for n in range(4):
        submission = Submission(lead={"name": f"Lead {n}", "email": f"l{n}@x.kr"})
        accepted = inbound.submit(
            session=session, source_id=source.id, submission=submission, now=f.T0
        )
        rows.append(accepted.inbound)
    touches.claim(session=session, inbound=rows[0], actor=rep, now=f.T0 + 5 * MINUTE)
    touches.disqualify(session=session, inbound=rows[0], actor=rep, now=f.T0 + 9 * MINUTE)
    touches.assign(
        session=session, inbound=rows[1], actor=admin, member=rep, now=f.T0 + 15 * MINUTE
    )
    lead = session.get(Lead, rows[2].lead_id)
    leads.set_status(
        session=session, actor=admin, lead=lead, status="Working", now=f.T0 + 3 * 60 * MINUTE
    )
    speed = touches.speed_to_lead(
        session=session, workspace_id=ws.id, start=f.T0 - MINUTE, end=f.T0 + MINUTE
    )
    assert (speed.arrived, speed.touched, speed.median_minutes) == (4, 3, 15)
    assert speed_line(speed, "en") == (
        "*Speed to lead:* 15 min median to first touch (3 of 4 inbound leads touched)"
    )
    assert speed_line(speed, "ko") == (
        "*리드 응답 속도:* 첫 응대까지 중앙값 15분 (인바운드 리드 4건 중 3건 응대)"
    )
    summary = weekly.compute(
        session=session,
        workspace=ws,
        start=f.T0 - timedelta(days=1),
        end=f.T0 + timedelta(days=6),
        now=f.T0 + timedelta(days=6),
    )
    text = str([m.blocks for m in weekly_summary(summary=summary, locale="en")])
    assert "Speed to lead:* 15 min median to first touch (3 of 4" in text


def test_a_phone_number_goes_to_the_person_and_duplicates_are_found_before_storing(session):
    ws = f.workspace(session)
    admin = f.member(session, ws, "UADMIN", Role.admin)
    source, _ = inbound.enable(session=session, workspace=ws, actor=admin, now=f.T0)
    first = Submission(
        lead={"name": "Kim", "email": "kim@acme.kr", "company": "Acme"},
        details={"phone": "010-1"},
    )
    made = inbound.submit(session=session, source_id=source.id, submission=first, now=f.T0)
    assert session.get(Person, made.lead.person_id).phone == "010-1"
    twin = Submission(lead={"name": "Lee", "email": "KIM@acme.kr", "company": "acme"})
    again = inbound.submit(session=session, source_id=source.id, submission=twin, now=f.T0)
    assert again.created and again.inbound.duplicates == ('{"email": ["L1"], "company": ["L1"]}')
    # The same payload ten minutes later is a new submission, not a retry.
    later = inbound.submit(
        session=session, source_id=source.id, submission=first, now=f.T0 + 11 * MINUTE
    )
    assert later.created and later.lead.number == 3


def test_a_lead_created_workflow_acts_on_an_inbound_lead_and_the_message_says_so(session):
    ws = f.workspace(session)
    admin = f.member(session, ws, "UADMIN", Role.admin)
    rep = f.member(session, ws, "UREP")
    spec = workflows.WorkflowSpec(
        "lead_created",
        [{"do": "owner", "members": [rep.id]}, {"do": "task", "text": "Call", "days": 0}],
        {"source": "webinar"},
    )
    workflows.add_workflow(session=session, actor=admin, workspace=ws, spec=spec)
    source, _ = inbound.enable(session=session, workspace=ws, actor=admin, now=f.T0)
    submission = Submission(lead={"name": "Kim", "source": "webinar"})
    made = inbound.submit(session=session, source_id=source.id, submission=submission, now=f.T0)
    assert made.lead.owner_id == rep.id and made.inbound.assigned_by == "workflow"
    view = touches.view_of(session=session, inbound=made.inbound)
    assert "Assigned to <@UREP> by a workflow" in lead_message(view, locale="en", tz="UTC").text
    (task,) = session.exec(select(Task)).all()
    assert (task.owner_id, task.lead_id, task.text) == (rep.id, made.lead.id, "Call")


def test_updates_of_one_message_go_out_in_order(session):
    """Two quick clicks: the second update waits while the first is unsent or in flight, so
    a slower drain worker never leaves the message in the older state."""
    ws = f.workspace(session)

    def update(n: int) -> None:
        payload = {"kind": "update", "update_of": "x", "message": {"text": str(n)}}
        outbox.enqueue(
            session,
            workspace_id=ws.id,
            job="inbound",
            target="l1",
            period=f"a{n}",
            payload=payload,
            now=f.T0,
        )

    update(1)
    update(2)
    first, second = outbox.claim_pending(session, now=f.T0, limit=2)
    assert outbox.earlier_unsent(session, second) and not outbox.earlier_unsent(session, first)
    outbox.mark_sent(session, first.id, ts="1.0", channel="C1", now=f.T0)
    assert not outbox.earlier_unsent(session, second)
