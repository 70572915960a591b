"""Every hostile input answered kindly: refused with the right status, never a traceback.

An outside probe sent the app what Slack never sends: timestamps that are not numbers, bodies
of 32 MiB, payloads that are not JSON, thread messages whose ``ts`` is ``1e308``, commands of
50 KB, company names that differ after 200 characters, and many moves of one deal at once.
Each answer here is what a person (or Slack) should see instead; none of them may leave a
traceback in the log.
"""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest
from sqlmodel import Session, func, select

from bot.server import MAX_BODY, Gate, wsgi_app
from commands.grammar import MAX_COMMAND_TEXT, parse
from domain import deals
from domain.errors import InvalidInput
from storage.db import session_scope
from storage.models import Activity, Company, Deal, Member, Person, StageHistory
from tests import slackreq
from tests.factories import T0, deal, member, workspace
from tests.fakeslack import FakeSlack
from tests.fuzzing import post_raw, settle, watch_crashes
from tests.slackapp import SECRET, TEAM, running_app, settings_for

TODAY = T0.date()


@pytest.fixture
def app(db_url):
    with running_app(db_url) as harness, watch_crashes() as crashes:
        harness.crashes = crashes
        yield harness
        settle(harness)
        assert crashes.records == [], crashes.report()


def post(app, body: bytes, headers: dict) -> int:
    return slackreq.post(app.url + "/slack/events", body, headers)[0]


def slash_body(text: str = "list") -> bytes:
    return urlencode({"command": "/deal", "text": text, "team_id": TEAM, "user_id": "U1"}).encode()


def deal_count(app) -> int:
    with Session(app.engine) as session:
        return session.exec(select(func.count()).select_from(Deal)).one()


# --- the request, before Bolt --------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp", ["abc", "", "1e3", "+1700000000", "1_700_000_000", " 1700000000", "-5"]
)
def test_a_timestamp_that_is_not_a_number_is_401_without_a_traceback(app, timestamp):
    body = slash_body("new Forged amount:1")
    for signature in ("v0=" + "0" * 64, _signature(body, timestamp)):
        headers = {
            "Content-Type": slackreq.FORM,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        assert post(app, body, headers) == 401
    assert deal_count(app) == 0


@pytest.mark.parametrize(
    "signature", [None, "", "v0=", "v0=abc", "v1=" + "0" * 64, "v0=" + "Z" * 64, "sha256=x"]
)
def test_a_missing_or_malformed_signature_is_401(app, signature):
    body = slash_body("new Forged amount:1")
    headers = slackreq.sign(body, SECRET)
    if signature is None:
        del headers["X-Slack-Signature"]
    else:
        headers["X-Slack-Signature"] = signature
    assert post(app, body, headers) == 401
    assert deal_count(app) == 0


def test_a_correctly_signed_slash_command_still_reaches_the_app(app):
    status, reply = app.command("/deal", 'new "Acme ERP" amount:7590000')
    assert status == 200 and "D1" in reply["text"]


def test_a_content_length_over_the_cap_is_413_at_once_without_reading_the_body(app):
    """The 32 MiB never has to arrive: the answer comes as soon as the headers are read."""
    headers = {"Content-Length": str(32 * 1024 * 1024), **slackreq.sign(b"", SECRET)}
    assert _raw_post(app, headers, [b"x" * 1024]) == 413  # a body we never finish


def test_a_chunked_body_over_the_cap_is_413(app):
    """No Content-Length at all: the server stops reading once the cap is passed."""
    chunk = b"x" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (MAX_BODY // len(chunk) + 2)
    headers = {"Transfer-Encoding": "chunked", **slackreq.sign(b"", SECRET)}
    assert _raw_post(app, headers, [*chunks, b"0\r\n\r\n"]) == 413


def test_a_body_exactly_at_the_cap_is_read_and_checked_one_byte_more_is_413(app):
    body = b"x" * MAX_BODY
    assert post(app, body, slackreq.sign(body, "wrong")) == 401
    more = body + b"x"
    headers = {"Content-Length": str(len(more)), **slackreq.sign(more, SECRET)}
    assert _raw_post(app, headers, [more]) == 413


class CountingInput:
    """A request body stream that remembers how much the app read from it."""

    def __init__(self, size: int) -> None:
        self.stream = io.BytesIO(b"x" * size)
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.read_bytes += len(data)
        return data


@pytest.fixture
def wsgi(engine, db_url):
    """The WSGI application itself, called with a hand-made environ (no server around it)."""
    with FakeSlack(team_id=TEAM) as slack:
        yield wsgi_app(settings_for(slack, db_url), engine=engine)


@pytest.mark.parametrize("content_length", [None, "", "abc", "-1", "1e3", "99999999999999999999"])
def test_without_a_usable_content_length_at_most_the_cap_and_one_byte_is_read(wsgi, content_length):
    body = CountingInput(4 * MAX_BODY)
    assert _call(wsgi, _environ(body, content_length)).startswith("413")
    assert body.read_bytes <= MAX_BODY + 1


def test_a_content_length_over_the_cap_is_refused_before_reading_anything(wsgi):
    body = CountingInput(4 * MAX_BODY)
    assert _call(wsgi, _environ(body, str(32 * 1024 * 1024))).startswith("413")
    assert body.read_bytes == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload={not-json", slackreq.FORM),
        (urlencode({"payload": "[1, 2]"}).encode(), slackreq.FORM),
        (urlencode({"payload": '"a string"'}).encode(), slackreq.FORM),
        (urlencode({"payload": "null"}).encode(), slackreq.FORM),
        (b"[1, 2]", slackreq.JSON),
        (b'"a string"', slackreq.JSON),
        (b"42", slackreq.JSON),
        (b"{oops", slackreq.FORM),
        (b"{=1&command=%2Fdeal&team_id=T1&user_id=U1", slackreq.FORM),  # Bolt reads it as JSON
        (b"hello world", "text/plain"),
        (b"[" * 100_000, slackreq.JSON),
        (json.dumps({"type": "event_callback", "event": "message"}).encode(), slackreq.JSON),
        (json.dumps({"type": "event_callback", "team_id": ["T1"]}).encode(), slackreq.JSON),
        (json.dumps({"team": ["id"], "type": "block_actions"}).encode(), slackreq.JSON),
        (json.dumps({"user": "U1", "type": "block_actions"}).encode(), slackreq.JSON),
        (json.dumps({"type": "event_callback", "team_id": "T" * 200}).encode(), slackreq.JSON),
    ],
)
def test_a_signed_body_that_is_not_a_slack_request_is_400_without_a_traceback(
    app, body, content_type
):
    assert post(app, body, slackreq.sign(body, SECRET, content_type=content_type)) == 400


def test_the_same_junk_unsigned_is_401(app):
    for body in (b"payload={not-json", b"[1, 2]", b"\xff\xfe\x00junk"):
        assert post(app, body, slackreq.sign(body, "not-the-secret")) == 401


def test_a_body_that_is_not_utf8_is_401_even_with_a_matching_hmac(app):
    """Slack signs UTF-8 text; bytes that are not text cannot be a request it signed."""
    body = b"\xff\xfe\x00junk"
    assert post(app, body, slackreq.sign(body, SECRET)) == 401


def _signed_environ(body: bytes, headers: dict) -> dict:
    environ = {"CONTENT_LENGTH": str(len(body)), "QUERY_STRING": "", "wsgi.input": io.BytesIO(body)}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def test_the_gate_hands_bolt_the_request_bolt_would_make_itself():
    """The gate reads the body once; Bolt gets what it would have read (and checks the
    signature against the same text)."""
    action = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1", "team_id": "T1"},
        "actions": [{"action_id": "deal_won", "value": "7"}],
    }
    mention = {"type": "app_mention", "user": "U1", "channel": "C1", "text": "hi"}
    requests = [
        slackreq.slash(
            "/deal", "show 7", team_id="T1", user_id="U1", response_url="http://x/r", secret=SECRET
        ),
        slackreq.event(mention, team_id="T1", event_id="Ev1", secret=SECRET),
    ]
    body = urlencode({"payload": json.dumps(action)}).encode()
    requests.append((body, slackreq.sign(body, SECRET)))
    for body, headers in requests:
        ours = Gate(SECRET).admit(_signed_environ(body, headers))
        bolts = BoltRequest(body=body.decode(), headers=ours.headers)
        assert ours.mode == bolts.mode == "http"
        assert ours.raw_body == bolts.raw_body == body.decode()
        assert (ours.body, ours.query, ours.headers) == (bolts.body, bolts.query, bolts.headers)
        assert (ours.content_type, ours.lazy_only) == (bolts.content_type, bolts.lazy_only)
        assert dict(ours.context) == dict(bolts.context)


def test_a_slash_command_mentioning_payload_still_reaches_the_command(app):
    """Bolt alone reads a form body containing "payload" as an empty interaction (404)."""
    app.command("/deal", 'new "Acme ERP" amount:7590000')
    status, reply = app.command("/deal", "note 1 the payload shipped today")
    assert status == 200 and reply["response_type"] == "ephemeral"
    with Session(app.engine) as session:
        notes = session.exec(select(Activity.text).where(Activity.kind == "note")).all()
    assert notes == ["the payload shipped today"]


def test_healthz_and_unknown_paths_are_unchanged(app):
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(app.url + "/healthz", timeout=5) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(app.url + "/slack/events", timeout=5)  # a GET
    assert err.value.code == 404


def _signature(body: bytes, timestamp: str) -> str:
    import hashlib
    import hmac

    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


def _raw_post(app, headers: dict, parts: list[bytes]) -> int:
    return post_raw(app.url + "/slack/events", b"".join(parts), headers)


def _environ(stream, content_length: str | None) -> dict:
    headers = slackreq.sign(b"", SECRET)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": slackreq.FORM,
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": headers["X-Slack-Request-Timestamp"],
        "HTTP_X_SLACK_SIGNATURE": headers["X-Slack-Signature"],
        "wsgi.input": stream,
    }
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    return environ


def _call(application, environ) -> str:
    seen: list[str] = []
    b"".join(application(environ, lambda status, headers: seen.append(status)))
    return seen[0]


@pytest.mark.parametrize(
    "body",
    [
        urlencode({"command": "/deal", "text": "new Acme\x00", "team_id": TEAM, "user_id": "U1"}),
        json.dumps(
            {
                "type": "event_callback",
                "team_id": TEAM,
                "event": {"type": "message", "text": "\x00"},
            }
        ),
        json.dumps({"type": "event_callback", "team_id": TEAM, "event": {"type": "\ud800"}}),
    ],
)
def test_text_no_database_can_store_is_refused_with_400(app, body):
    """Slack sends no NUL (PostgreSQL refuses it) and no half surrogate pair (not UTF-8)."""
    kind = slackreq.JSON if body.startswith("{") else slackreq.FORM
    data = body.encode()
    assert post(app, data, slackreq.sign(data, SECRET, content_type=kind)) == 400
    assert deal_count(app) == 0


def test_a_nul_in_a_command_typed_in_the_console_is_a_friendly_error():
    with pytest.raises(InvalidInput) as err:
        parse("deal", "new Acme\x00", today=TODAY)
    assert err.value.key == "grammar.nul_character"


# --- events --------------------------------------------------------------------------------


def _deal_with_thread(app) -> Deal:
    status, _ = app.command("/deal", 'new "Acme ERP" amount:7590000')
    assert status == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with Session(app.engine) as session:
            d = session.exec(select(Deal)).one()
        if d.thread_ts:
            return d
        time.sleep(0.02)
    raise AssertionError("the card was never posted")


def _messages(app) -> int:
    with Session(app.engine) as session:
        return session.exec(
            select(func.count()).select_from(Activity).where(Activity.kind == "message")
        ).one()


def test_app_home_opened_without_a_user_is_ignored(app):
    for event in (
        {"type": "app_home_opened", "tab": "home"},
        {"type": "app_home_opened", "tab": "home", "user": None},
        {"type": "app_home_opened", "tab": "home", "user": ""},
    ):
        assert app.event(event, event_id=f"EvHome{len(event)}{event.get('user')}")[0] == 200
    settle(app)
    assert app.slack.calls_to("views.publish") == []


@pytest.mark.parametrize(
    "ts", ["1e308", "1e3", "abc", "", "inf", "nan", "-1.5", "99999999999999999999.000001", 1e308]
)
def test_a_thread_message_whose_ts_is_not_a_slack_ts_is_ignored(app, ts):
    d = _deal_with_thread(app)
    message = {
        "type": "message",
        "channel": d.thread_channel,
        "user": "U2",
        "text": "CFO says yes",
        "ts": ts,
        "thread_ts": d.thread_ts,
    }
    assert app.event(message, event_id="EvTs")[0] == 200
    settle(app)
    assert _messages(app) == 0


def test_a_thread_message_without_a_ts_is_ignored(app):
    d = _deal_with_thread(app)
    message = {"type": "message", "channel": d.thread_channel, "user": "U2", "text": "hi"}
    assert app.event({**message, "thread_ts": d.thread_ts}, event_id="EvNoTs")[0] == 200
    settle(app)
    assert _messages(app) == 0


@pytest.mark.parametrize(
    "thread_ts", [1700000000.0001, 1700000000, ["1700000000.000100"], {"ts": "1"}, True]
)
def test_a_thread_ts_that_is_not_a_string_is_ignored(app, thread_ts):
    d = _deal_with_thread(app)
    message = {
        "type": "message",
        "channel": d.thread_channel,
        "user": "U2",
        "text": "hi",
        "ts": "1800000000.000200",
        "thread_ts": thread_ts,
    }
    assert app.event(message, event_id="EvThreadTs")[0] == 200
    settle(app)
    assert _messages(app) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subtype", ["bot_message"]),
        ("channel", ["CDEALS"]),
        ("channel", "C" * 100),
        ("text", {"rich": True}),
        ("user", 42),
    ],
)
def test_a_thread_message_with_an_odd_field_is_ignored_or_recorded_but_never_crashes(
    app, field, value
):
    d = _deal_with_thread(app)
    message = {
        "type": "message",
        "channel": d.thread_channel,
        "user": "U2",
        "text": "hi",
        "ts": "1800000000.000200",
        "thread_ts": d.thread_ts,
        field: value,
    }
    assert app.event(message, event_id=f"Ev{field}")[0] in (200, 400)
    settle(app)
    assert _messages(app) <= 1


def test_a_good_thread_message_is_still_recorded_once(app):
    d = _deal_with_thread(app)
    message = {
        "type": "message",
        "channel": d.thread_channel,
        "user": "U2",
        "text": "CFO says yes",
        "ts": "1800000000.000200",
        "thread_ts": d.thread_ts,
    }
    assert app.event(message, event_id="EvGood")[0] == 200
    assert app.event(message, event_id="EvGood", retry_num=1)[0] == 200
    settle(app)
    assert _messages(app) == 1


# --- lengths, checked at the grammar ---------------------------------------------------------


def _letters(n: int) -> str:
    return "a" * n


def _email(n: int) -> str:
    return "a" * (n - len("@acme.kr")) + "@acme.kr"


# (command, text with {} where the long value goes, what is too long, its limit, filler)
LENGTHS = [
    ("deal", "new {}", "title", 200, _letters),
    ("deal", "new title:{}", "title", 200, _letters),
    ("deal", "set 1 title:{}", "title", 200, _letters),
    ("lead", "convert L1 title:{}", "title", 200, _letters),
    ("deal", "new Acme company:{}", "company", 200, _letters),
    ("deal", "set 1 company:{}", "company", 200, _letters),
    ("lead", "new Kim company:{}", "company", 200, _letters),
    ("deal", "new Acme contact:{}", "contact", 200, _letters),
    ("lead", "new {}", "name", 200, _letters),
    ("lead", "new name:{}", "name", 200, _letters),
    ("lead", "new Kim email:{}", "email", 320, _email),
    ("lead", "new Kim source:{}", "source", 100, _letters),
    ("lead", "new Kim status:{}", "status", 100, _letters),
    ("lead", "status L1 {}", "status", 100, _letters),
    ("lead", "list status:{}", "status", 100, _letters),
    ("deal", "new Acme stage:{}", "stage", 100, _letters),
    ("deal", "move 1 {}", "stage", 100, _letters),
    ("deal", "list stage:{}", "stage", 100, _letters),
    ("deal", "lost 1 {}", "reason", 500, _letters),
    ("deal", "lost acme reason:{}", "reason", 500, _letters),
    ("deal", "note 1 {}", "note", 3000, _letters),
    ("deal", "find {}", "query", 200, _letters),
    ("deal", "show {}", "deal", 200, _letters),
    ("deal", "won {}", "deal", 200, _letters),
    ("lead", "show {}", "lead", 200, _letters),
    ("deal", "new Acme pipeline:{}", "pipeline", 100, _letters),
    ("deal", "list pipeline:{}", "pipeline", 100, _letters),
    ("pipeline", "{}", "pipeline", 100, _letters),
    ("pipeline", "edit {}", "pipeline", 100, _letters),
    ("pipeline", "metrics {}", "pipeline", 100, _letters),
    ("pipeline", "forecast pipeline:{}", "pipeline", 100, _letters),
    ("deal", "set 1 owner:@{}", "user", 200, _letters),
    ("deal", "list @{}", "user", 200, _letters),
    ("pipeline", "role @{} manager", "user", 200, _letters),
]


@pytest.mark.parametrize(("command", "text", "what", "limit", "fill"), LENGTHS)
def test_every_free_text_is_checked_at_the_grammar_and_the_message_says_the_limit(
    command, text, what, limit, fill
):
    parse(command, text.format(fill(limit)), today=TODAY)  # at the limit: fine
    with pytest.raises(InvalidInput) as err:
        parse(command, text.format(fill(limit + 1)), today=TODAY)
    assert err.value.key == f"grammar.too_long.{what}"
    assert err.value.params["limit"] == limit
    assert f"{limit:,}" in err.value.render("en") and f"{limit:,}" in err.value.render("ko")
    assert f"{limit + 1:,}" in err.value.render("en"), "and how long this one is"


def test_a_mention_with_an_id_longer_than_any_slack_id_is_not_a_person():
    with pytest.raises(InvalidInput) as err:
        parse("deal", f"set 1 owner:<@U{'1' * 40}>", today=TODAY)
    assert err.value.key == "grammar.bad_user"


def test_the_whole_command_text_has_a_limit_too():
    parse("deal", "list" + " " * (MAX_COMMAND_TEXT - 4), today=TODAY)
    with pytest.raises(InvalidInput) as err:
        parse("deal", "show " + "x" * 50_000, today=TODAY)
    assert err.value.key == "grammar.text_too_long"
    assert "4,000" in err.value.render("en") and "4,000" in err.value.render("ko")


def test_the_grammar_limits_are_the_column_sizes():
    from commands.values import TEXT_LIMITS
    from storage.models import Company, Deal, Lead, Member, Person, Pipeline, Stage, Task

    def size(table, column: str) -> int:
        return table.__table__.c[column].type.length

    assert {
        "title": size(Deal, "title"),
        "company": size(Company, "name"),
        "contact": size(Person, "name"),
        "name": size(Lead, "name"),
        "email": size(Lead, "email"),
        "source": size(Lead, "source"),
        "status": size(Stage, "name"),
        "stage": size(Stage, "name"),
        "pipeline": size(Pipeline, "name"),
        "reason": size(Deal, "lost_reason"),
        "note": deals.MAX_NOTE,
        "query": size(Deal, "title"),
        "deal": size(Deal, "title"),
        "lead": size(Lead, "name"),
        "user": size(Member, "name"),
        "task": size(Task, "text"),
    } == TEXT_LIMITS


def test_a_50_kb_deal_show_answers_with_the_limit_not_a_database_error(app):
    status, reply = app.command("/deal", "show " + "x" * 50_000)
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert "4,000" in reply["text"]


def test_two_companies_sharing_their_first_200_characters_are_refused_kindly(app):
    prefix = "Acme " * 40  # 200 characters
    for i, last in enumerate("yz"):
        status, reply = app.command("/deal", f'new "Deal {i}" company:"{prefix}{last}"')
        assert status == 200 and "200" in reply["text"]
    assert deal_count(app) == 0


# --- companies and contacts: one string looked up and stored ----------------------------------


def test_a_company_is_found_by_the_name_it_was_stored_under(session):
    ws = workspace(session)
    first = deals.get_or_create_company(session=session, workspace_id=ws.id, name=" Acme ")
    assert first.name == "Acme"
    again = deals.get_or_create_company(session=session, workspace_id=ws.id, name="ACME")
    assert again.id == first.id


def test_company_names_differing_only_after_200_characters_are_refused_not_a_unique_error(
    session,
):
    ws = workspace(session)
    for last in "yz":
        with pytest.raises(InvalidInput) as err:
            deals.get_or_create_company(session=session, workspace_id=ws.id, name="a" * 200 + last)
        assert err.value.key == "deal.company_too_long"
    assert session.exec(select(func.count()).select_from(Company)).one() == 0


def test_names_that_sql_and_python_fold_differently_are_still_one_company(session):
    """SQLite's lower() folds ASCII only; Python's folds Ä. The exact name is found first."""
    ws = workspace(session)
    first = deals.get_or_create_company(session=session, workspace_id=ws.id, name="ÄCME")
    again = deals.get_or_create_company(session=session, workspace_id=ws.id, name="ÄCME")
    other = deals.get_or_create_company(session=session, workspace_id=ws.id, name="äcme")
    assert again.id == first.id
    assert other.name in ("ÄCME", "äcme")


def test_a_contact_is_found_by_the_name_it_was_stored_under_and_long_ones_are_refused(session):
    ws = workspace(session)
    kim = deals.get_or_create_person(
        session=session, workspace_id=ws.id, name=" Kim Minsu ", company_id=None
    )
    assert kim.name == "Kim Minsu"
    again = deals.get_or_create_person(
        session=session, workspace_id=ws.id, name="kim minsu", company_id=None
    )
    assert again.id == kim.id
    with pytest.raises(InvalidInput) as err:
        deals.get_or_create_person(
            session=session, workspace_id=ws.id, name="k" * 201, company_id=None
        )
    assert err.value.key == "deal.contact_too_long"
    assert session.exec(select(func.count()).select_from(Person)).one() == 1


# --- concurrent moves ---------------------------------------------------------------------------


def test_concurrent_moves_never_leave_a_stay_that_ends_before_it_began(engine):
    """Each request reads the clock before it waits for the deal's lock, as the handlers do;
    the thread that started first (with the latest time here) may well move first."""
    with session_scope(engine) as session:
        ws = workspace(session)
        rep = member(session, ws, "U1")
        deal_id, rep_id = deal(session, ws, rep).id, rep.id
    targets = ["Qualification", "Meeting", "Proposal", "Negotiation"] * 6
    start = threading.Barrier(len(targets))
    errors: list[Exception] = []

    def move(i: int, stage: str) -> None:
        now = T0 + timedelta(minutes=len(targets) - i)  # read before the lock
        start.wait()
        try:
            with session_scope(engine) as session:
                deals.move_deal(
                    session=session,
                    actor=session.get(Member, rep_id),
                    deal=session.get(Deal, deal_id),
                    stage_text=stage,
                    now=now,
                )
        except InvalidInput:
            pass  # already in that stage
        except Exception as exc:  # pragma: no cover - the test's failure
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(i, s)) for i, s in enumerate(targets)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with Session(engine) as session:
        d = session.get(Deal, deal_id)
        rows = session.exec(
            select(StageHistory).where(StageHistory.deal_id == deal_id).order_by(StageHistory.id)
        ).all()
    assert len(rows) > 2, "the moves happened"
    backwards = [
        (r.id, r.at, r.left_at) for r in rows if r.left_at is not None and r.left_at < r.at
    ]
    assert backwards == [], "a stay left before it was entered"
    open_rows = [r for r in rows if r.left_at is None]
    assert len(open_rows) == 1 and open_rows[0].at == d.stage_entered_at
    assert [r.at for r in rows] == sorted(r.at for r in rows), "history in the order it happened"
