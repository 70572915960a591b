"""The outbox: recorded once per key, leased to one sender, retried with backoff, never dropped."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from storage import outbox
from storage.db import session_scope
from tests import factories as f

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def add(session, ws, period="2026-12-01", target="ch:C1", job="stall-digest", now=NOW) -> bool:
    return outbox.enqueue(
        session,
        workspace_id=ws.id,
        job=job,
        target=target,
        period=period,
        payload={"to": {"channel": "C1"}, "message": {"text": "hi"}},
        now=now,
    )


def test_the_same_key_is_recorded_once(session):
    ws = f.workspace(session)
    assert add(session, ws) is True
    assert add(session, ws) is False
    assert add(session, ws, target="dm:U1") is True
    session.commit()
    assert outbox.counts(session) == {"pending": 2}


def test_a_claimed_row_is_leased_and_not_handed_out_twice(session):
    ws = f.workspace(session)
    add(session, ws)
    session.commit()
    first = outbox.claim_pending(session, now=NOW)
    session.commit()
    second = outbox.claim_pending(session, now=NOW + timedelta(seconds=10))
    assert [c.key for c in first] == [f"stall-digest:{ws.id}:ch:C1:2026-12-01"]
    assert first[0].payload["message"]["text"] == "hi"
    assert second == []


def test_a_stale_lease_is_claimed_again(session):
    ws = f.workspace(session)
    add(session, ws)
    session.commit()
    outbox.claim_pending(session, now=NOW)
    session.commit()
    again = outbox.claim_pending(session, now=NOW + outbox.LEASE + timedelta(seconds=1))
    assert len(again) == 1


def test_a_retry_waits_at_least_retry_after_and_keeps_the_row(session):
    ws = f.workspace(session)
    add(session, ws)
    session.commit()
    (row,) = outbox.claim_pending(session, now=NOW)
    when = outbox.mark_retry(session, row.id, error="ratelimited", now=NOW, retry_after=30)
    session.commit()
    assert when == NOW + timedelta(seconds=30)
    assert outbox.claim_pending(session, now=NOW + timedelta(seconds=29)) == []
    assert len(outbox.claim_pending(session, now=NOW + timedelta(seconds=30))) == 1
    stored = outbox.get_by_key(session, row.key)
    assert (stored.status, stored.attempts, stored.last_error) == ("sending", 1, "ratelimited")


def test_backoff_doubles_and_is_capped_at_an_hour():
    assert outbox.backoff(1) == timedelta(seconds=5)
    assert outbox.backoff(2) == timedelta(seconds=10)
    assert outbox.backoff(4) == timedelta(seconds=40)
    assert outbox.backoff(50) == timedelta(hours=1)
    assert outbox.backoff(1, retry_after=2) == timedelta(seconds=2)


def test_a_permanent_failure_is_recorded_and_never_claimed_again(session):
    ws = f.workspace(session)
    add(session, ws)
    session.commit()
    (row,) = outbox.claim_pending(session, now=NOW)
    outbox.mark_failed(session, row.id, error="channel_not_found", now=NOW)
    session.commit()
    assert outbox.claim_pending(session, now=NOW + timedelta(days=30)) == []
    stored = outbox.get_by_key(session, row.key)
    assert (stored.status, stored.last_error) == ("failed", "channel_not_found")
    assert outbox.next_due(session) is None


def test_a_sent_row_keeps_where_it_went(session):
    ws = f.workspace(session)
    add(session, ws)
    session.commit()
    (row,) = outbox.claim_pending(session, now=NOW)
    outbox.mark_sent(session, row.id, ts="1700000000.000100", channel="C1", now=NOW)
    session.commit()
    stored = outbox.get_by_key(session, row.key)
    assert (stored.status, stored.ts, stored.channel) == ("sent", "1700000000.000100", "C1")


def test_concurrent_claimers_split_the_rows_between_them(engine):
    with session_scope(engine) as session:
        ws = f.workspace(session)
        for i in range(60):
            add(session, ws, period=f"p{i}")
    got: list[list[str]] = []
    barrier = threading.Barrier(4)

    def claim():
        barrier.wait()
        with session_scope(engine) as session:
            got.append([c.key for c in outbox.claim_pending(session, now=NOW, limit=20)])

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [k for batch in got for k in batch]
    assert len(keys) == len(set(keys)) == 60


def test_keys_that_would_not_fit_are_refused():
    import pytest

    with pytest.raises(ValueError):
        outbox.outbox_key(job="j", workspace_id=1, target="t", period="x" * 300)


def test_rows_of_one_workspace_can_be_drained_alone(session: Session):
    one = f.workspace(session, "T1")
    two = f.workspace(session, "T2")
    add(session, one)
    add(session, two)
    session.commit()
    claimed = outbox.claim_pending(session, now=NOW, workspace_id=two.id)
    assert [c.workspace_id for c in claimed] == [two.id]


def test_many_posts_are_recorded_at_once_and_only_once(session):
    ws = f.workspace(session)
    rows = [("ch:C1", f"p{i}", {"message": {"text": str(i)}}) for i in range(1200)]
    first = outbox.enqueue_many(session, workspace_id=ws.id, job="j", rows=rows + rows[:3], now=NOW)
    again = outbox.enqueue_many(session, workspace_id=ws.id, job="j", rows=rows[::-1], now=NOW)
    session.commit()
    assert len(first) == 1200
    assert again == set()
    assert outbox.counts(session) == {"pending": 1200}
