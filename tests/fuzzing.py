"""Hostile requests for the running app, and the two things every hostile test needs.

* :func:`watch_crashes` collects what a person on call would call a crash: any log record at
  ERROR or above that carries a traceback, and anything from ``salesbot.errors`` (the one
  error path logs there only for errors that are not ours to explain). A hostile request
  may be refused, it may not crash.
* :func:`settle` waits until the app has finished everything a request started: Bolt runs
  event listeners after the ack, and posts go out on background threads, so "the answer was
  200" says nothing yet about the log.

The strategies build what Slack, a confused proxy or an attacker could send to
``/slack/events``. Each :class:`Probe` knows which HTTP answers are right for it, so a test
asserts the status as well as the log. Slash commands, events and the request envelope are
asserted in tests/test_fuzz.py; :func:`block_actions` and :func:`view_submissions` are ready
for the rewritten action and view listeners (see ``ACTIONS_AND_VIEWS`` there).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from hypothesis import strategies as st

from bot.server import MAX_BODY
from tests import slackreq

CRASH_LOGGER = "salesbot.errors"


class Crashes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        crashed = record.levelno >= logging.ERROR and record.exc_info
        if crashed or record.name.startswith(CRASH_LOGGER):
            self.records.append(record)

    def clear(self) -> None:
        self.records.clear()

    def report(self) -> str:
        return "\n".join(
            f"{r.name}: {r.getMessage()}\n{self.format(r) if r.exc_info else ''}"
            for r in self.records
        )


@contextmanager
def watch_crashes() -> Iterator[Crashes]:
    """Every crash logged anywhere in the process (the app runs in threads of this one)."""
    handler = Crashes()
    handler.setFormatter(logging.Formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def post_raw(url: str, body: bytes, headers: dict[str, str], *, timeout: float = 10) -> int:
    """POST over a bare socket and return the status, also when the server answers (413) and
    closes before the body is sent: urllib would raise there instead of reading the answer.
    ``Content-Length`` is the body's unless ``headers`` gives one (or ``Transfer-Encoding``)."""
    parts = urlsplit(url)
    lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}"]
    if not any(k.lower() in ("content-length", "transfer-encoding") for k in headers):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        try:
            sock.sendall(head)
            for start in range(0, len(body), 65536):
                sock.sendall(body[start : start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before we were done
        answer = b""
        while b"\r\n" not in answer and (chunk := sock.recv(4096)):
            answer += chunk
    return int(answer.split()[1])


def _drain(executor, timeout: float) -> None:
    """Return once every task submitted to a FIFO thread pool before this call has finished.

    As many tasks as the pool has threads meet at a barrier: they can only all be running once
    every earlier task has been taken off the queue and finished.
    """
    workers = executor._max_workers
    barrier = threading.Barrier(workers + 1, timeout=timeout)
    for _ in range(workers):
        executor.submit(barrier.wait)
    barrier.wait()


def settle(harness, timeout: float = 10.0) -> None:
    """Wait for Bolt's listeners (events run after the ack), late reads, then the outbox."""
    _drain(harness.bolt.listener_runner.listener_executor, timeout)
    _drain(harness.deps.readers, timeout)
    _drain(harness.bolt.listener_runner.listener_executor, timeout)
    harness.settle(timeout)


# --- the request envelope ----------------------------------------------------------------

SECRET = "test-signing-secret"  # tests/slackapp.py signs with the same
TEAM = "T1"


@dataclass
class Probe:
    """One request and the answers that are right for it."""

    body: bytes
    headers: dict[str, str]
    expect: frozenset[int]
    note: str = ""
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:  # hypothesis prints failing examples; keep them readable
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return f"Probe({self.note}, expect={sorted(self.expect)}, headers={self.headers}, body={body!r})"


# Timestamps Slack would never send, and the signature headers that go with a forgery.
BAD_TIMESTAMPS = st.sampled_from(
    ["abc", "", "1e3", " ", "-1", "+1700000000", "1700000000.5", "١٧٠٠٠٠٠٠٠٠", "9" * 40, "0x10"]
)
BAD_SIGNATURES = st.one_of(
    st.sampled_from(["", "v0=", "v1=" + "0" * 64, "v0=" + "z" * 64, "v0=" + "0" * 63, "sha256=x"]),
    st.text(max_size=80),
)
CONTENT_TYPES = st.sampled_from(
    [
        slackreq.FORM,
        slackreq.JSON,
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded; charset=utf-8",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
        "application/json\x7f",
    ]
)


def _headers_text(value: str) -> str:
    """A header value http.client will send: latin-1, no line breaks."""
    return value.encode("latin-1", "replace").decode("latin-1").replace("\r", "").replace("\n", "")


def signed(body: bytes, *, content_type: str, ts: int | None = None) -> dict[str, str]:
    return slackreq.sign(body, SECRET, ts, content_type=content_type)


# Bodies: what Slack sends, what it never sends, and too much of either.
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
SLACK_KEYS = st.sampled_from(
    [
        "type",
        "team_id",
        "user_id",
        "team",
        "user",
        "enterprise",
        "enterprise_id",
        "authorizations",
        "event",
        "event_id",
        "channel",
        "channel_id",
        "command",
        "text",
        "response_url",
        "response_urls",
        "trigger_id",
        "actions",
        "view",
        "container",
        "message",
        "is_enterprise_install",
        "is_ext_shared_channel",
        "api_app_id",
        "token",
        "challenge",
    ]
)
ENVELOPE_TYPES = st.sampled_from(
    ["event_callback", "url_verification", "block_actions", "view_submission", "shortcut", "x"]
)


@st.composite
def json_objects(draw) -> dict:
    """A JSON object with Slack's keys holding anything at all."""
    obj = draw(st.dictionaries(SLACK_KEYS, JSON_VALUES, max_size=6))
    if draw(st.booleans()):
        obj["type"] = draw(ENVELOPE_TYPES)
    return obj


JUNK = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.sampled_from(
        [
            b"payload={not-json",
            b"payload=%7Bnot-json",
            b"payload=%5B1%2C2%5D",
            b'payload="just a string"',
            b"payload=%22just%20a%20string%22",
            b"payload=null",
            b"payload=42",
            b"[1, 2]",
            b'"a string"',
            b"42",
            b"null",
            b"{",
            b"{oops",
            b"hello world",
            b"\x00\x01\x02",
            b"\xff\xfe{}",
            b"payload",
            b"command=/deal&text=show%201&team_id=%00",
            b"a=1&a=2&payload=",
        ]
    ),
)


@st.composite
def envelope_probes(draw) -> Probe:
    """The request itself: headers and a body of any kind, signed or not."""
    kind = draw(st.sampled_from(["json", "form-payload", "junk", "big"]))
    if kind == "json":
        body = json.dumps(draw(json_objects())).encode()
    elif kind == "form-payload":
        body = urlencode({"payload": json.dumps(draw(json_objects()))}).encode()
    elif kind == "junk":
        body = draw(JUNK)
    else:
        body = b"x" * (MAX_BODY + draw(st.integers(min_value=1, max_value=4096)))
    content_type = draw(CONTENT_TYPES)
    signing = draw(st.sampled_from(["good", "good", "forged", "bad-ts", "old", "none"]))
    headers = signed(body, content_type=content_type)
    if signing == "forged":
        headers["X-Slack-Signature"] = _headers_text(draw(BAD_SIGNATURES))
    elif signing == "bad-ts":
        ts = draw(BAD_TIMESTAMPS)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": _headers_text(ts),
            "X-Slack-Signature": _signature_for(body, ts),
        }
    elif signing == "old":
        headers = signed(body, content_type=content_type, ts=int(time.time()) - 301)
    elif signing == "none":
        headers = {"Content-Type": content_type}
    if not content_type:
        headers.pop("Content-Type", None)
    if not _http_valid(headers):
        expect = {400}  # waitress refuses control characters in a header before the app runs
    elif kind == "big":
        expect = {413}
    elif signing != "good":
        expect = {401}
    elif not _utf8(body):
        expect = {401}  # Slack signs text: bytes that are not UTF-8 were not signed by Slack
    else:
        # Signed: either Bolt reads it (200, or 404 for a request no listener takes) or it is
        # not a Slack request at all (400). Which one is the app's to decide, a crash is not.
        expect = {200, 400, 404}
    return Probe(body, headers, frozenset(expect), note=f"{kind}/{signing}")


def _http_valid(headers: dict[str, str]) -> bool:
    return not any(ord(c) < 32 and c != "\t" or ord(c) == 127 for v in headers.values() for c in v)


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _signature_for(body: bytes, ts: str) -> str:
    """The signature a forger with the secret would compute over any timestamp text."""
    import hashlib
    import hmac

    base = f"v0:{ts}:".encode() + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


# --- slash commands ------------------------------------------------------------------------

SUBCOMMANDS = {
    "/lead": ["new", "status", "convert", "list", "show", "help", "추가", ""],
    "/deal": [
        *("new", "move", "won", "lost", "set", "renewal", "note", "show", "list", "find"),
        *("snooze", "help", "이동", ""),
    ],
    "/pipeline": [
        *("board", "forecast", "metrics", "plan", "new", "edit", "settings", "role", ""),
        "Renewals",
    ],
}
WORDS = st.one_of(
    st.sampled_from(
        [
            "1",
            "D1",
            "#1",
            "L1",
            "0",
            "99999999999999999999",
            "Acme",
            "acme erp",
            '"Acme ERP"',
            '"',
            "“",
            "Qualification",
            "Won",
            "mine",
            "stalled",
            "@kim",
            "<@U1>",
            "<@U1|kim>",
            "<@" + "U" * 40 + ">",
            "<#C1|deals>",
            "<mailto:kim@acme.kr|kim@acme.kr>",
            "amount:7590000",
            "amount:759만원",
            "amount:1e308",
            "amount:²",
            "close:+30d",
            "close:9999-12-31",
            "date:2026-02-30",
            "stage:Proposal",
            "company:Acme",
            "contact:Kim",
            "email:kim@acme.kr",
            "source:webinar",
            "size:120",
            "status:MQL",
            "reason:budget",
            "period:90d",
            "until:tomorrow",
            "target:1억",
            "reps:10",
            "winrate:25%",
            "by:quarter",
            "pipeline:Renewals",
            "owner:@kim",
            "title:Acme",
            "mrr:500000",
            "manager",
            "quarter",
            "&amp;&lt;&gt;",
            "%",
            "_",
            "\\",
            "'; DROP TABLE deal; --",
            "\x00",
            "\u202e",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
            "에이씨미",
            "payload",
            "payload=%7B%7D",
        ]
    ),
    st.text(max_size=30),
)


@st.composite
def long_words(draw) -> str:
    """One word or one key's value, at or just past a length limit, or far past it."""
    size = draw(st.sampled_from([99, 100, 101, 199, 200, 201, 320, 321, 500, 501, 3001, 5000]))
    char = draw(st.sampled_from(["a", "가", "%", "_", "𝔘", " "]))
    prefix = draw(
        st.sampled_from(["", "company:", "contact:", "title:", "source:", "reason:", "email:"])
    )
    value = (char * size).strip() or "x"
    if prefix == "email:":
        value = value.replace(" ", "") + "@acme.kr"
    if " " in value and prefix:
        value = f'"{value}"'
    return prefix + value


@st.composite
def slash_texts(draw) -> tuple[str, str]:
    """A command and its text: a sub-command, then words, odd words and very long ones."""
    command = draw(st.sampled_from(sorted(SUBCOMMANDS)))
    sub = draw(st.sampled_from(SUBCOMMANDS[command]))
    words = draw(st.lists(st.one_of(WORDS, long_words()), max_size=6))
    text = " ".join([sub, *words]).strip()
    if draw(st.integers(0, 9)) == 0:
        text += " " + "z" * draw(st.sampled_from([3999, 4001, 50_000]))
    return command, text


# --- events --------------------------------------------------------------------------------

ODD = st.one_of(
    st.sampled_from(["\x00", "hi\x00there", "\ud800", "CFO says \udfff"]),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
TS = st.one_of(
    st.sampled_from(
        [
            "1800000000.000100",
            "1e308",
            "1e3",
            "-1.5",
            "nan",
            "inf",
            "",
            "abc",
            "99999999999999999999.000001",
            "1800000000",
            "1800000000.0001000",
            "١٨٠٠٠٠٠٠٠٠.000100",
        ]
    ),
    ODD,
)
IDS = st.one_of(st.sampled_from(["U1", "U2", "CDEALS", "C1", "", "u1", "U" * 40]), ODD)


@st.composite
def message_events(draw, thread_ts: str = "1700000000.000100") -> dict:
    """A thread message (often into a real deal's thread), with any field odd or missing."""
    event: dict = {
        "type": "message",
        "channel": "CDEALS",
        "user": "U2",
        "text": "CFO says yes",
        "ts": "1800000000.000200",
        "thread_ts": thread_ts,
    }
    for key in draw(st.lists(st.sampled_from(sorted(event)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del event[key]
        else:
            event[key] = draw(TS if key.endswith("ts") else IDS if key != "text" else ODD)
    if draw(st.booleans()):
        event[draw(st.sampled_from(["subtype", "bot_id", "channel_type", "message"]))] = draw(
            st.one_of(st.sampled_from(["bot_message", "im", "thread_broadcast"]), ODD)
        )
    return event


@st.composite
def home_events(draw) -> dict:
    event: dict = {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "D1"}
    for key in draw(st.lists(st.sampled_from(["user", "tab", "channel"]), max_size=3, unique=True)):
        if draw(st.booleans()):
            del event[key]
        else:
            event[key] = draw(st.one_of(IDS, st.sampled_from(["home", "messages", "about"])))
    return event


@st.composite
def event_envelopes(draw, thread_ts: str = "1700000000.000100") -> tuple[dict, dict]:
    """An ``event_callback`` (the event, and odd envelope fields to put around it)."""
    event = draw(st.one_of(message_events(thread_ts), home_events()))
    envelope: dict = {}
    if draw(st.integers(0, 4)) == 0:
        envelope[draw(st.sampled_from(["event_id", "team_id", "authorizations"]))] = draw(ODD)
    return event, envelope


# --- block actions and view submissions (not asserted yet: see tests/test_fuzz.py) ---------

ACTION_IDS = st.sampled_from(
    ["deal.stage", "deal.won", "deal.lost", "deal.note", "pick:0", "home.refresh", "x", ""]
)
VALUES = st.one_of(
    st.sampled_from(["1", "²", "12345678901234567890", "-1", "", "D1", "1:7", "null", "{}"]),
    ODD,
)


@st.composite
def block_actions(draw) -> tuple[list[dict], dict | None]:
    """A click: an action id we know or not, with a value, selected option or block id odd."""
    action: dict = {
        "action_id": draw(ACTION_IDS),
        "block_id": draw(st.sampled_from(["deal:1", "pick", "deal:²", "deal:", "b"])),
    }
    if draw(st.booleans()):
        action["value"] = draw(VALUES)
    else:
        action["type"] = "static_select"
        action["selected_option"] = draw(
            st.one_of(st.none(), st.fixed_dictionaries({"value": VALUES}), ODD)
        )
    message = draw(st.one_of(st.none(), st.fixed_dictionaries({"ts": TS, "text": st.just("card")})))
    return [action], message


@st.composite
def view_submissions(draw) -> dict:
    """A modal submit with callback id, private metadata and state from anywhere."""
    return {
        "callback_id": draw(
            st.sampled_from(["deal_new", "lead_new", "deal_lost", "deal_note", "settings", "x"])
        ),
        "private_metadata": draw(
            st.one_of(
                st.sampled_from(["", "null", "{}", '{"deal_id": "²"}', "[1]"]), st.text(max_size=40)
            )
        ),
        "state": {
            "values": draw(
                st.dictionaries(
                    st.sampled_from(["title", "amount", "reason", "text", "name", "close"]),
                    st.fixed_dictionaries(
                        {
                            "value": st.fixed_dictionaries(
                                {"type": st.just("plain_text_input"), "value": VALUES}
                            )
                        }
                    ),
                    max_size=3,
                )
            )
        },
    }
