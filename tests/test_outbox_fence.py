"""A sender that stalls past its lease cannot undo the peer that took its row over.

The lease (``next_attempt_at`` of a ``sending`` row) is the fence: a claim's ``mark_*``
writes only while that lease still holds. A late "retry" after a peer sent the row would
put it back to pending, and the message would go out twice.
"""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient

from bot.sender import SlackSender
from scheduler.drain import SendError, drain
from storage import outbox
from storage.db import session_scope
from tests import factories as f
from tests.fakeslack import FakeSlack
from tests.test_outbox import NOW, add

LATER = NOW + outbox.LEASE + timedelta(seconds=1)  # the first claim's lease has run out


def two_claims(session, period="2026-12-01"):
    """Sender A claims the row, stalls past its lease; sender B claims it again."""
    ws = f.workspace(session)
    add(session, ws, period=period)
    session.commit()
    (a,) = outbox.claim_pending(session, now=NOW)
    session.commit()
    (b,) = outbox.claim_pending(session, now=LATER)
    session.commit()
    assert b.recovering and a.id == b.id and a.lease_until != b.lease_until
    return a, b


def stored(session, key):
    session.expire_all()
    row = outbox.get_by_key(session, key)
    return row.status, row.ts, row.attempts


def test_a_late_retry_does_not_put_back_a_row_its_peer_sent(session):
    a, b = two_claims(session)
    outbox.mark_sent(session, b.id, ts="2.0", channel="C1", now=LATER, lease_until=b.lease_until)
    session.commit()
    assert (
        outbox.mark_retry(session, a.id, error="ratelimited", now=LATER, lease_until=a.lease_until)
        is None
    )
    session.commit()
    assert stored(session, a.key) == ("sent", "2.0", 1)
    assert outbox.claim_pending(session, now=LATER + timedelta(days=1)) == []


def test_a_late_failure_or_postpone_leaves_the_row_to_its_new_sender(session):
    a, b = two_claims(session)
    outbox.mark_failed(
        session, a.id, error="channel_not_found", now=LATER, lease_until=a.lease_until
    )
    outbox.postpone(session, a.id, until=NOW, reason="late", lease_until=a.lease_until)
    session.commit()
    assert stored(session, a.key) == ("sending", None, 0)
    outbox.mark_sent(session, b.id, ts="2.0", channel="C1", now=LATER, lease_until=b.lease_until)
    session.commit()
    assert stored(session, a.key) == ("sent", "2.0", 1)


def test_a_late_success_is_recorded_unless_the_peer_recorded_its_own(session):
    a, b = two_claims(session)  # B got a 429: the row waits for its backoff
    outbox.mark_retry(session, b.id, error="ratelimited", now=LATER, lease_until=b.lease_until)
    outbox.mark_sent(session, a.id, ts="1.0", channel="C1", now=LATER, lease_until=a.lease_until)
    session.commit()
    assert stored(session, a.key)[:2] == ("sent", "1.0"), "A's message is out: never sent again"

    c, d = two_claims(
        session, period="2026-12-02"
    )  # the peer sent and recorded first: its ts stays
    outbox.mark_sent(session, d.id, ts="2.0", channel="C1", now=LATER, lease_until=d.lease_until)
    outbox.mark_sent(session, c.id, ts="1.0", channel="C1", now=LATER, lease_until=c.lease_until)
    session.commit()
    assert stored(session, c.key) == ("sent", "2.0", 1)


def test_a_claim_that_holds_its_lease_records_as_before(session):
    ws = f.workspace(session)
    add(session, ws)
    session.commit()
    (row,) = outbox.claim_pending(session, now=NOW)
    when = outbox.mark_retry(
        session, row.id, error="ratelimited", now=NOW, retry_after=30, lease_until=row.lease_until
    )
    session.commit()
    assert when == NOW + timedelta(seconds=30)
    assert stored(session, row.key) == ("pending", None, 1)


class Stalled:
    """Sender A: while its post is on the way, it stalls past the lease; sender B (another
    process, the real clock minutes later) drains the same row; then A's post fails with a
    429, as a slow Slack may answer."""

    for_workspace = None  # one token: drain posts through this object itself

    def __init__(self, sender, engine):
        self.sender, self.engine, self.peer = sender, engine, None

    def __getattr__(self, name):
        return getattr(self.sender, name)

    def post(self, channel, message, thread_ts=None, *, key=""):
        self.peer = drain(self.engine, self.sender, now=lambda: LATER)
        raise SendError(retryable=True, error="ratelimited", retry_after=1)


def test_a_sender_stalled_past_its_lease_does_not_make_its_peer_post_twice(engine):
    with session_scope(engine) as session:
        ws = f.workspace(session)
        add(session, ws)
    with FakeSlack(team_id="T1") as slack:
        sender = SlackSender(WebClient(token="xoxb-test", base_url=slack.url), pace=0)
        stalled = Stalled(sender, engine)
        report = drain(engine, stalled, now=lambda: NOW)
        assert stalled.peer.sent == 1 and report.retried == 1
        assert drain(engine, sender, now=lambda: LATER + timedelta(hours=2)).sent == 0
        assert len(slack.calls_to("chat.postMessage")) == 1, "posted once, by the peer"
    with session_scope(engine) as session:
        assert outbox.counts(session) == {"sent": 1}
