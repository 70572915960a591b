"""Leads that arrive by themselves, end to end: real HTTP into the running app (the same
server as Slack's Request URL), signed Slack clicks, the fake Slack Web API, a real database
(SQLite, and PostgreSQL when TEST_DATABASE_URL is set).

A marketing site posts a lead with the workspace's secret; it appears in the leads channel
once however often the sender retries; a rep claims it and the message says so; a wrong
secret stores nothing; the hosted form works without the secret; a flood is limited without
losing what was accepted; and the time to the first touch shows in ``/pipeline metrics``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from sqlmodel import Session, func, select

from domain.clock import FixedClock
from storage.models import InboundLead, Lead, Member, Task
from tests import factories as f
from tests.slackapp import running_app, wait

LEADS = "CLEADS"


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    """(status, headers, text) — also for 4xx answers."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8")


def post_json(app, key: str, data, *, secret: str | None = None, headers: dict | None = None):
    sent = {"Content-Type": "application/json", **(headers or {})}
    if secret is not None:
        sent["Authorization"] = f"Bearer {secret}"
    status, answer_headers, text = http(
        "POST", f"{app.url}/leads/{key}", json.dumps(data).encode(), sent
    )
    return status, answer_headers, json.loads(text) if text.startswith("{") else text


def enable(app, text: str = f"channel:<#{LEADS}|leads>") -> tuple[str, str]:
    """``/pipeline inbound`` as an admin: (the workspace key, the secret shown once)."""
    status, reply = app.command("/pipeline", f"inbound {text}".strip())
    assert status == 200, reply
    shown = json.dumps(reply["blocks"], ensure_ascii=False)
    key = re.search(r"/leads/([A-Za-z0-9_-]+)", shown)[1]
    secret = re.search(r"(sbin_[A-Za-z0-9_-]+)", shown)[1]
    return key, secret


def leads_in_db(app) -> int:
    with Session(app.engine) as session:
        return session.exec(select(func.count()).select_from(Lead)).one()


def channel_texts(app) -> list[str]:
    return [m.get("text", "") for m in app.slack.messages(LEADS)]


def by_lead(app) -> list[dict]:
    """The channel's messages by lead number (two drain workers post side by side)."""
    return sorted(app.slack.messages(LEADS), key=lambda m: int(re.search(r"L(\d+)", m["text"])[1]))


def buttons(message: dict) -> list[str]:
    return [
        e.get("text", {}).get("text") or e.get("placeholder", {}).get("text")
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def click(app, message: dict, action_id: str, *, user: str, **extra):
    block = next(b for b in message["blocks"] if b["type"] == "actions")
    element = next(e for e in block["elements"] if e["action_id"] == action_id)
    action = {
        "action_id": action_id,
        "block_id": block["block_id"],
        "type": element["type"],
        **({"value": element["value"]} if "value" in element else {}),
        **extra,
    }
    return app.action([action], user=user, channel=LEADS, message=message)


def told(app, words: str) -> str | None:
    """What a clicker was told through the response_url, if it holds ``words``."""
    texts = [c.args.get("text", "") for c in app.slack.calls_to("response_url")]
    return next((text for text in texts if words in text), None)


@pytest.fixture
def clock():
    return FixedClock(f.T0)


@pytest.fixture
def app(db_url, clock):
    with running_app(db_url, clock=clock, locale="en") as harness:
        harness.slack.users["U1"] = {"is_admin": True, "locale": "en-US"}
        for rep in ("U2", "U3"):  # the fake's people are Korean
            harness.slack.users[rep] = {"locale": "en-US"}
        yield harness
        assert harness.slack.problems == [], "every Web API call passes Block Kit validation"


KIM = {"name": "Kim Minsu", "email": "kim@acme.kr", "company": "Acme", "title": "CTO"}


def test_a_posted_lead_appears_in_the_leads_channel_once_even_when_the_sender_retries(app):
    key, secret = enable(app)
    retry = {"Idempotency-Key": "form-7781"}
    first = post_json(app, key, KIM, secret=secret, headers=retry)
    again = post_json(app, key, KIM, secret=secret, headers=retry)
    assert (first[0], first[2]) == (201, {"ok": True, "lead": "L1", "replayed": False})
    assert (again[0], again[2]) == (200, {"ok": True, "lead": "L1", "replayed": True})
    other = post_json(app, key, {**KIM, "title": "CEO"}, secret=secret, headers=retry)
    assert (other[0], other[2]["error"]) == (409, "idempotency_key_reused")
    # Without a key, the same payload within minutes is the same submission too.
    lee = {"이름": "이영희", "이메일": "lee@beta.kr", "회사": "Beta", "직원 수": "1,200"}
    assert post_json(app, key, lee, secret=secret)[0] == 201
    assert post_json(app, key, lee, secret=secret)[2]["replayed"] is True
    app.settle()
    assert leads_in_db(app) == 2
    messages = by_lead(app)
    assert len(messages) == 2, channel_texts(app)
    assert messages[0]["text"].startswith("New inbound lead L1: Kim Minsu")
    assert "CTO · Acme" in json.dumps(messages[0]["blocks"], ensure_ascii=False)
    assert "Employees: 1,200" in json.dumps(messages[1]["blocks"], ensure_ascii=False)
    assert buttons(messages[0]) == ["Claim", "Assign to…", "Disqualify"]
    # A third sender with the same email and company is flagged as a possible duplicate.
    twin = {**KIM, "name": "Kim M."}
    assert post_json(app, key, twin, secret=secret)[0] == 201
    app.settle()
    flagged = json.dumps(by_lead(app)[2]["blocks"])
    assert "Possible duplicate" in flagged and "same email as L1" in flagged


def test_claim_assigns_it_the_message_says_so_and_speed_to_lead_is_in_the_metrics(app, clock):
    key, secret = enable(app)
    assert post_json(app, key, KIM, secret=secret)[0] == 201
    app.settle()
    (before,) = app.slack.messages(LEADS)
    clock.advance(minutes=7)
    status, _ = click(app, before, "inbound.claim", user="U2")
    assert status == 200
    wait(lambda: "Claimed by <@U2>" in channel_texts(app)[0], what="the message's update")
    (message,) = app.slack.messages(LEADS)  # the same message, updated in place
    assert "Claimed by <@U2>" in json.dumps(message["blocks"], ensure_ascii=False)
    assert buttons(message) == ["Assign to…", "Disqualify"]
    with Session(app.engine) as session:
        owner = session.exec(
            select(Member.slack_user_id).join(Lead, Lead.owner_id == Member.id)
        ).one()
    assert owner == "U2"
    # A second rep, who saw the message before it changed, clicks too late: told who has it.
    click(app, before, "inbound.claim", user="U3")
    late = wait(lambda: told(app, "already claimed"), what="the late clicker's answer")
    assert "<@U2>" in late
    status, reply = app.command("/pipeline", "metrics period:30d")
    assert status == 200
    metrics = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "Speed to lead:* 7 min median to first touch (1 of 1 inbound leads touched)" in metrics


def test_a_wrong_secret_gets_401_and_stores_nothing(app):
    key, secret = enable(app)
    status, _, body = post_json(app, key, KIM, secret=secret + "x")
    assert (status, body) == (401, {"ok": False, "error": "unauthorized"})
    assert post_json(app, key, KIM)[0] == 401  # no secret at all
    assert post_json(app, "no-such-key", KIM, secret=secret)[0] == 404
    status, _, body = post_json(app, key, {"email": "not-an-email", "size": "lots"}, secret=secret)
    assert status == 400 and body["error"] == "invalid_fields"
    assert {p["field"] for p in body["fields"]} == {"email", "size", "name"}
    assert leads_in_db(app) == 0
    app.settle()
    assert app.slack.messages(LEADS) == []


def test_rotating_the_secret_shows_the_new_one_once_and_retires_the_old(app):
    key, old = enable(app)
    status, reply = app.command("/pipeline", "inbound")
    assert "sbin_" not in json.dumps(reply, ensure_ascii=False)  # shown once, when it was made
    app.command("/pipeline", "inbound rotate")
    status, reply = app.command("/pipeline", "inbound rotate")
    new = re.search(r"(sbin_[A-Za-z0-9_-]+)", json.dumps(reply["blocks"], ensure_ascii=False))[1]
    assert post_json(app, key, KIM, secret=old)[0] == 401
    assert post_json(app, key, KIM, secret=new)[0] == 201
    status, _, body = post_json(app, key, KIM, headers={"X-Salesbot-Secret": new})
    assert (status, body["replayed"]) == (200, True)


def test_round_robin_gives_each_lead_to_the_next_rep_and_the_lead_created_workflow_runs(app):
    app.command("/lead", "help")  # the first member (an admin), then two reps
    app.command("/lead", "help", user="U2")
    app.command("/lead", "help", user="U3")
    key, secret = enable(app, f"channel:<#{LEADS}|leads> assign:round-robin")
    for n in range(3):
        assert post_json(app, key, {"name": f"Lead {n}"}, secret=secret)[0] == 201
    app.settle()
    texts = [m["text"] for m in by_lead(app)]
    assert [re.search(r"<@(U\d)>", t)[1] for t in texts] == ["U2", "U3", "U2"]
    assert all("round-robin" in t for t in texts)
    with Session(app.engine) as session:  # the default "lead created → first call" workflow
        owners = session.exec(
            select(Member.slack_user_id).join(Task, Task.owner_id == Member.id).order_by(Task.id)
        ).all()
    assert owners == ["U2", "U3", "U2"]


def test_1000_posts_in_a_minute_are_limited_and_every_accepted_one_is_stored_and_posted_once(
    app,
):
    key, secret = enable(app)
    clock_is_fixed = 60  # the bucket's burst; a fixed clock refills nothing

    def send(n: int):
        return post_json(app, key, {"name": f"Flood {n}"}, secret=secret)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(1000)))
    accepted = [body["lead"] for status, _, body in answers if status == 201]
    limited = [(h, body) for status, h, body in answers if status == 429]
    assert len(accepted) == clock_is_fixed and len(limited) == 1000 - clock_is_fixed
    assert all(int(h["Retry-After"]) >= 1 and b["error"] == "rate_limited" for h, b in limited)
    app.settle(timeout=60)
    assert leads_in_db(app) == len(set(accepted)) == 60
    posted = [re.search(r"L\d+", t)[0] for t in channel_texts(app)]
    assert sorted(posted) == sorted(accepted)  # each accepted lead once, no other
    with Session(app.engine) as session:
        assert session.exec(select(func.count()).select_from(InboundLead)).one() == 60


@pytest.fixture
def ko_app(db_url, clock):
    with running_app(db_url, clock=clock, locale="ko") as harness:
        harness.slack.users["U1"] = {"is_admin": True, "locale": "ko-KR"}
        yield harness
        assert harness.slack.problems == []


def test_the_hosted_form_renders_in_korean_and_its_post_creates_a_lead(ko_app):
    app = ko_app
    key, _ = enable(app)
    status, headers, page = http("GET", f"{app.url}/forms/{key}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "문의 내용" in page and f'action="/leads/{key}"' in page
    token = re.search(r'name="form_token" value="([^"]+)"', page)[1]
    form = {"form_token": token, "name": "박지훈", "email": "park@gamma.kr", "notes": "데모 요청"}
    sent = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, thanks = http("POST", f"{app.url}/leads/{key}", urlencode(form).encode(), sent)
    assert status == 200 and "감사합니다" in thanks
    # A bot fills the hidden field: thanked, and dropped.
    bot = {**form, "name": "Spam", "website": "http://spam.example"}
    assert http("POST", f"{app.url}/leads/{key}", urlencode(bot).encode(), sent)[0] == 200
    forged = {**form, "name": "Forged", "form_token": token + "0"}
    assert http("POST", f"{app.url}/leads/{key}", urlencode(forged).encode(), sent)[0] == 401
    blank = {"form_token": token, "name": " "}
    status, _, again = http("POST", f"{app.url}/leads/{key}", urlencode(blank).encode(), sent)
    assert status == 400 and 'role="alert"' in again
    app.settle()
    assert leads_in_db(app) == 1
    (message,) = app.slack.messages(LEADS)
    assert message["text"].startswith("새 인바운드 리드 L1: 박지훈")
    assert "웹 폼으로 접수" in json.dumps(message["blocks"], ensure_ascii=False)
    assert buttons(message) == ["가져가기", "배정하기…", "부적격 처리"]


def test_a_sender_retrying_at_once_in_parallel_still_makes_one_lead_and_one_post(app):
    key, secret = enable(app)
    retry = {"Idempotency-Key": "crm-sync-42"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: post_json(app, key, KIM, secret=secret, headers=retry), range(12))
        )
    assert sorted(status for status, _, _ in answers) == [200] * 11 + [201]
    assert {body["lead"] for _, _, body in answers} == {"L1"}
    app.settle()
    assert leads_in_db(app) == 1 and len(app.slack.messages(LEADS)) == 1


def test_assign_gives_the_lead_to_someone_else_and_disqualify_closes_it(app):
    app.command("/lead", "help")  # U1, the first member, is an admin
    key, secret = enable(app)
    assert post_json(app, key, KIM, secret=secret)[0] == 201
    app.settle()
    (message,) = app.slack.messages(LEADS)
    click(app, message, "inbound.assign", user="U1", selected_user="U3")
    wait(lambda: "Assigned to <@U3>" in channel_texts(app)[0], what="the assignment")
    (message,) = app.slack.messages(LEADS)
    click(app, message, "inbound.disqualify", user="U2")  # a rep, not the owner: refused
    wait(lambda: told(app, "belongs to another rep"), what="the refusal")
    click(app, message, "inbound.disqualify", user="U1")  # an admin may
    wait(lambda: "Disqualified" in channel_texts(app)[0], what="the disqualification")
    (message,) = app.slack.messages(LEADS)
    assert buttons(message) == []  # nothing left to do with it
    with Session(app.engine) as session:
        row = session.exec(select(InboundLead)).one()
        owner = session.exec(
            select(Member.slack_user_id).join(Lead, Lead.owner_id == Member.id)
        ).one()
    assert row.disqualified_at is not None and owner == "U3"


def test_bodies_that_are_not_a_lead_get_a_clear_4xx_and_store_nothing(app):
    key, secret = enable(app)
    url, auth = f"{app.url}/leads/{key}", {"Authorization": f"Bearer {secret}"}
    as_json = {**auth, "Content-Type": "application/json"}
    cases = [
        (b"[1, 2]", as_json, 400, "bad_body"),
        (b"{not json", as_json, 400, "bad_body"),
        (b"\xff\xfe", as_json, 400, "bad_body"),
        (b"[" * 60_000, as_json, 400, "bad_body"),  # deeper than json can go
        (b'{"name": {"first": "Kim"}}', as_json, 400, "invalid_fields"),
        (b"name=Kim", {**auth, "Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"{}" + b" " * 70_000, as_json, 413, "too_large"),
    ]
    for body, headers, status, error in cases:
        got, _, text = http("POST", url, body, headers)
        assert (got, json.loads(text)["error"]) == (status, error), body[:20]
    long_key = {**as_json, "Idempotency-Key": "k" * 256}
    assert http("POST", url, json.dumps(KIM).encode(), long_key)[0] == 400
    assert http("GET", url)[0] == 405
    assert http("POST", f"{url}/extra", b"{}", as_json)[0] == 404
    assert http("GET", f"{app.url}/forms/no-such-key")[0] == 404
    assert leads_in_db(app) == 0
