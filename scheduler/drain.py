"""Send what the outbox holds: claim one row, send it, record the result.

Every post Salesbot makes goes through here: deal cards, card updates and thread replies of
commands, buttons and modals (recorded by :mod:`commands.record` in the transaction of the
change), replies by DM, charts, and the scheduled posts of :mod:`scheduler.jobs`. The app
wakes the :class:`Drainer` right after a commit, so a move's thread reply leaves at once; it
also polls every few seconds for rows whose backoff ran out, and any other process (another
replica, ``salesbot scheduler``, ``salesbot jobs run``) may drain the same table at the same
time: each row is claimed by one of them (:func:`storage.outbox.claim_pending`).

Payload of an outbox row (JSON)::

    {"kind": "card" | "card_update" | "thread" | "channel" | "dm" | "upload" | "update",
                                                      # absent: a scheduled message
     "to": {"channel": "C1"} | {"dm": "U1"},      # where, unless a thread says otherwise
     "deal": 42, "home": ["C1", "1700000000.000100"],   # deal posts: the card's thread
     "thread_ts": "1700000000.000100",            # scheduled: reply in this thread
     "thread_of": "<outbox key>",                 # scheduled: in the thread of that post
     "update_of": "<outbox key>",                 # kind "update": chat.update that post
     "message": {"text": ..., "blocks": [...]},   # a message ...
     "card": {"text": ..., "blocks": [...]},      # thread: the card to post if there is none
     "upload": {"filename", "title", "content_b64" | "chart": {...}}}    # ... or a file

**A deal has one card.** Rows of a deal are claimed in order (storage.outbox), so a card
update or thread reply is sent after the card's own post, and finds the card's channel and
ts on the deal (stored with its permalink in the same transaction that marks the card sent).
A card update for a deal without a card posts the card; a thread reply for a deal without a
card posts the card it carries first.

**The at-least-once window.** Slack offers no idempotency key. A row is marked in flight
(leased) before the call and sent after it; if the process dies in between, the row's lease
runs out and it is claimed again with ``recovering`` set. Messages carry their outbox key in
Slack's message metadata, so before posting again the drainer looks for the key in the
channel's recent history (``conversations.history``, or ``conversations.replies`` for a
thread) and, if Slack has it, records that message instead of posting a second one. What is
left: a file upload (files carry no metadata) interrupted after Slack took it is uploaded
again, and a lookup that fails (Slack down at that moment) falls back to posting again.
Card updates are idempotent (``chat.update`` with the same blocks).

A reply whose parent has not been sent yet waits (``postpone``); a reply whose parent failed
permanently fails with it, since it has no thread to go into.

**Messages that change** (an import's progress): the first row posts the message, later
rows of the same target (``update_of`` its key) replace it with ``chat.update``. They are
claimed in order (``storage.outbox.IN_ORDER_JOBS``), and an update with a later one behind
it is marked sent without a call: only the newest news is worth a Slack call.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from storage import outbox
from storage.db import session_scope
from storage.types import utcnow
from views.message import Message

log = logging.getLogger(__name__)

PARENT_WAIT = timedelta(seconds=2)
POLL_SECONDS = 5.0
PRUNE_EVERY = timedelta(hours=1)
KEEP_SENT = timedelta(days=30)
DEAL_KINDS = ("card", "card_update", "thread")


class SendError(Exception):
    """A post Slack did not take. ``retryable`` decides between backoff and giving up."""

    def __init__(
        self,
        *,
        retryable: bool,
        error: str,
        retry_after: float | None = None,
        gone: bool = False,
        token: str | None = None,
    ):
        super().__init__(error)
        self.retryable = retryable
        self.retry_after = retry_after
        self.error = error
        # The workspace cannot be posted to at all any more (uninstalled, token revoked):
        # its unsent posts are dropped at once instead of tried one by one.
        self.gone = gone
        self.token = token  # the token Slack refused (None: there was none to send with)


class Sender(Protocol):
    """What the drain needs of Slack (bot.sender.SlackSender; the console prints instead)."""

    def post(
        self, channel: str, message: Message, thread_ts: str | None = None, *, key: str = ""
    ) -> str:
        """Post ``message`` (into ``thread_ts`` when given); returns the new message's ts."""

    def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace a posted message (a deal card)."""

    def dm_channel(self, user_id: str) -> str:
        """The id of the bot's DM channel with ``user_id`` (opened if needed)."""

    def upload(
        self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str
    ) -> None:
        """Share a file in ``channel`` (in the thread ``thread_ts`` when given)."""

    def permalink(self, channel: str, ts: str) -> str | None:
        """A link to the message, or None."""

    def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None, since: datetime | None
    ) -> str | None:
        """The ts of an earlier post carrying ``key``, if there is one."""


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0
    recovered: int = 0  # found in Slack after a crash mid-send: recorded, not posted again
    errors: list[str] = field(default_factory=list)

    def add(self, other: DrainReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.waiting += other.waiting
        self.recovered += other.recovered
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class Sent:
    channel: str | None
    ts: str | None
    card: tuple[int, str, str, str | None] | None = None  # deal id, channel, ts, permalink
    recovered: bool = False


class _Wait(Exception):
    """The parent post is not out yet."""


class _Undeliverable(Exception):
    """Nowhere to send it (a failed parent, a deal post with no card and no channel)."""


def drain(
    engine: Engine,
    sender: Sender,
    *,
    now: Callable[[], datetime] = utcnow,
    workspace_id: int | None = None,
    max_rows: int = 10_000,
    lease: timedelta = outbox.LEASE,
    backoff_base: float | None = None,
) -> DrainReport:
    """Send every row due now, one claim at a time; rows that must wait (backoff, parent,
    an earlier post of the same deal) are left for later.

    Safe to run in several threads or processes at once: each row is claimed by one of them.
    ``now`` is the real clock (leases and backoff are promises about real time).
    """
    report = DrainReport()
    for _ in range(max_rows):
        with session_scope(engine) as session:
            batch = outbox.claim_pending(
                session, now=now(), limit=1, lease=lease, workspace_id=workspace_id
            )
        if not batch:
            break
        report.add(_send_one(engine, sender, batch[0], now, backoff_base))
    return report


def _send_one(
    engine: Engine, sender: Sender, row: outbox.Claimed, now, backoff_base
) -> DrainReport:
    report = DrainReport()
    try:
        sent = _deliver(engine, sender, row)
    except _Wait:
        with session_scope(engine) as session:
            outbox.postpone(
                session,
                row.id,
                until=now() + PARENT_WAIT,
                reason="waiting for parent post",
                lease_until=row.lease_until,
            )
        report.waiting += 1
        return report
    except _Undeliverable as exc:
        with session_scope(engine) as session:
            outbox.mark_failed(
                session, row.id, error=str(exc), now=now(), lease_until=row.lease_until
            )
        report.failed += 1
        report.errors.append(f"{row.key}: {exc}")
        return report
    except SendError as exc:
        if exc.gone:
            return _gone(engine, row, exc, now)
        with session_scope(engine) as session:
            if exc.retryable:
                outbox.mark_retry(
                    session,
                    row.id,
                    error=exc.error,
                    now=now(),
                    retry_after=exc.retry_after,
                    base=backoff_base,
                    lease_until=row.lease_until,
                )
                log.warning("outbox %s: %s, will retry", row.key, exc.error)
                report.retried += 1
            else:
                outbox.mark_failed(
                    session, row.id, error=exc.error, now=now(), lease_until=row.lease_until
                )
                report.failed += 1
        report.errors.append(f"{row.key}: {exc.error}")
        return report
    except Exception as exc:  # a bug must not stop the other posts; the row is kept
        log.exception("outbox %s: unexpected error, will retry", row.key)
        with session_scope(engine) as session:
            outbox.mark_retry(
                session,
                row.id,
                error=f"{type(exc).__name__}: {exc}",
                now=now(),
                base=backoff_base,
                lease_until=row.lease_until,
            )
        report.retried += 1
        report.errors.append(f"{row.key}: {type(exc).__name__}")
        return report
    with session_scope(engine) as session:
        if sent.card is not None:
            from domain.deals import record_card

            record_card(session=session, deal_id=sent.card[0], home=sent.card[1:])
        outbox.mark_sent(
            session,
            row.id,
            ts=sent.ts,
            channel=sent.channel,
            now=now(),
            lease_until=row.lease_until,
        )
    report.sent += 1
    report.recovered += int(sent.recovered)
    return report


def _gone(engine: Engine, row: outbox.Claimed, exc: SendError, now) -> DrainReport:
    """Slack takes nothing more from this workspace: drop all its unsent posts, this one too."""
    from domain.installs import gone

    with session_scope(engine) as session:
        dropped = gone(session=session, workspace_id=row.workspace_id, now=now(), token=exc.token)
        if dropped is None:  # installed again since that token was refused: send with the new
            with contextlib.suppress(LookupError):  # unless a peer dropped it meanwhile
                outbox.mark_retry(
                    session,
                    row.id,
                    error=exc.error,
                    now=now(),
                    retry_after=0,
                    lease_until=row.lease_until,
                )
            return DrainReport(retried=1, errors=[f"{row.key}: {exc.error}"])
    log.warning(
        "workspace %s is gone (%s): dropped its %s unsent posts",
        row.workspace_id,
        exc.error,
        dropped,
    )
    return DrainReport(failed=1, errors=[f"{row.key}: {exc.error}"])


def _for_workspace(sender: Sender, workspace_id: int) -> Sender:
    """The sender with this workspace's own token (bot.sender in OAuth mode); senders that
    do not tell workspaces apart (one bot token, the console) are used as they are."""
    bind = getattr(sender, "for_workspace", None)
    return bind(workspace_id) if bind is not None else sender


def _message(data: dict) -> Message:
    return Message(text=data.get("text") or " ", blocks=data.get("blocks") or [])


def _post(sender: Sender, row: outbox.Claimed, channel: str, message: Message, thread_ts=None):
    """Post once: after a crash mid-send, first look whether Slack already has it."""
    if row.recovering:
        found = sender.find_posted(channel, row.key, thread_ts=thread_ts, since=row.created_at)
        if found:
            log.info("outbox %s: already in Slack (%s), not posting again", row.key, found)
            return found, True
    return sender.post(channel, message, thread_ts, key=row.key), False


def _deliver(engine: Engine, sender: Sender, row: outbox.Claimed) -> Sent:
    sender = _for_workspace(sender, row.workspace_id)
    payload = row.payload
    kind = payload.get("kind")
    if kind in DEAL_KINDS:
        return _deal_post(engine, sender, row, kind)
    if payload.get("update_of"):
        return _update(engine, sender, row)
    thread_ts = payload.get("thread_ts")
    if payload.get("thread_of"):
        with session_scope(engine, readonly=True) as session:
            parent = outbox.get_by_key(session, payload["thread_of"])
        if parent is None or parent.status == outbox.FAILED:
            raise _Undeliverable(f"parent post {payload['thread_of']} failed or is missing")
        if parent.status != outbox.SENT or not parent.channel:
            raise _Wait
        channel, thread_ts = parent.channel, parent.ts
    else:
        to = payload["to"]
        channel = to.get("channel") or sender.dm_channel(to["dm"])
    if "upload" in payload:
        up = payload["upload"]
        content = _file(up)
        sender.upload(channel, thread_ts, up["filename"], content, up.get("title") or "")
        return Sent(channel, None)
    ts, recovered = _post(sender, row, channel, _message(payload["message"]), thread_ts)
    return Sent(channel, ts, recovered=recovered)


def _update(engine: Engine, sender: Sender, row: outbox.Claimed) -> Sent:
    """Replace the message ``update_of`` posted (an import's progress, an inbound lead's
    message once claimed). It waits for that post and for the earlier updates of the same
    message, fails with the post, and is skipped when a newer update follows, so the message
    ends in the latest state however the workers race. ``chat.update`` is idempotent."""
    payload = row.payload
    with session_scope(engine, readonly=True) as session:
        parent = outbox.get_by_key(session, payload["update_of"])
        newer = outbox.superseded(session, row)
        earlier = not newer and outbox.earlier_unsent(session, row)
    if parent is None or parent.status == outbox.FAILED:
        raise _Undeliverable(f"post {payload['update_of']} failed or is missing")
    if parent.status != outbox.SENT or not parent.channel or not parent.ts or earlier:
        raise _Wait
    if not newer:
        sender.update(parent.channel, parent.ts, _message(payload["message"]))
    return Sent(parent.channel, parent.ts)


def _file(upload: dict) -> bytes:
    if "chart" in upload:
        from views.chart_specs import render

        return render(upload["chart"])
    return base64.b64decode(upload["content_b64"])


def _deal_post(engine: Engine, sender: Sender, row: outbox.Claimed, kind: str) -> Sent:
    payload = row.payload
    deal_id = payload["deal"]
    home = tuple(payload["home"]) if payload.get("home") else _home(engine, deal_id)
    message = _message(payload["message"])
    channel = (payload.get("to") or {}).get("channel")
    if kind in ("card", "card_update"):
        if home:
            sender.update(home[0], home[1], message)
            return Sent(home[0], home[1])
        if not channel:
            raise _Undeliverable(f"deal {deal_id} has no card and no channel to post one in")
        return _new_card(sender, row, deal_id, channel, message)
    if not home:  # a thread reply for a deal whose card never made it: post the card first
        if not payload.get("card") or not channel:
            raise _Undeliverable(f"deal {deal_id} has no card to reply in")
        card = _new_card(sender, row, deal_id, channel, _message(payload["card"]), "#card")
        with session_scope(engine) as session:
            from domain.deals import record_card

            record_card(session=session, deal_id=deal_id, home=card.card[1:])
        home = (card.channel, card.ts)
    ts, recovered = _post(sender, row, home[0], message, home[1])
    return Sent(home[0], ts, recovered=recovered)


def _new_card(sender, row, deal_id: int, channel: str, message: Message, suffix="") -> Sent:
    keyed = dataclasses.replace(row, key=row.key + suffix)
    ts, recovered = _post(sender, keyed, channel, message)
    return Sent(channel, ts, (deal_id, channel, ts, sender.permalink(channel, ts)), recovered)


def _home(engine: Engine, deal_id: int) -> tuple[str, str] | None:
    from domain.deals import card_home

    with session_scope(engine, readonly=True) as session:
        return card_home(session=session, deal_id=deal_id)


class Drainer:
    """Drains the outbox in the background: at once when woken, else every ``poll`` seconds.

    The app wakes it after every commit that recorded posts (``bot.deliver``), so a change's
    card update and thread reply leave within milliseconds instead of at the next tick.
    ``workers`` threads drain side by side (posts to different channels do not wait for one
    another's pacing); every process may run one, the outbox hands each row to one of them.
    """

    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        *,
        workers: int = 2,
        poll: float = POLL_SECONDS,
        lease: timedelta = outbox.LEASE,
        backoff_base: float | None = None,
        now: Callable[[], datetime] = utcnow,
        workspace_id: int | None = None,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.workspace_id = workspace_id  # one workspace's rows only (the console), or all
        self.workers = workers
        self.poll = poll
        self.lease = lease
        self.backoff_base = backoff_base
        self.now = now
        self._cond = threading.Condition()
        self._generation = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._pruned_at: datetime | None = None
        self._down = False
        self.report = DrainReport()  # what this drainer has done so far (for tests and logs)

    def start(self) -> Drainer:
        """Start the worker threads (once; a second call does nothing)."""
        if self._threads:
            return self
        with self._cond:
            self._stopping = False
        for n in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"salesbot-drain-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wake(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()

    def drain_once(self) -> DrainReport:
        report = drain(
            self.engine,
            self.sender,
            now=self.now,
            workspace_id=self.workspace_id,
            max_rows=500,
            lease=self.lease,
            backoff_base=self.backoff_base,
        )
        with self._cond:
            self.report.add(report)
        return report

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                seen = self._generation
            try:
                report = self.drain_once()
                if report.sent or report.recovered:
                    self.wake()  # a post that waited behind this one (same deal) may go now
                self._prune()
                self._down = False
            except Exception as exc:  # the database is down, say: the rows wait, we try again
                self._failed(exc)
                report = DrainReport()
            pause = self._pause()
            with self._cond:
                if self._stopping:
                    return
                self._cond.wait_for(lambda seen=seen: self._woken(seen), timeout=pause)

    def _pause(self) -> float:
        """Until the next row is due (a retry's backoff, Retry-After), at most ``poll``."""
        try:
            with session_scope(self.engine, readonly=True) as session:
                due = outbox.next_due(session)
        except Exception:  # reported by the next drain
            return self.poll
        wait = (due - self.now()).total_seconds() if due is not None else self.poll
        # Due already but not claimable: it waits behind a post in flight, whose sender
        # wakes everyone when it is done.
        return self.poll if wait <= 0 else min(wait, self.poll)

    def _failed(self, exc: Exception) -> None:
        from storage.db import unreachable

        if not unreachable(exc):
            log.exception("outbox drain failed; trying again in %ss", self.poll)
        elif not self._down:  # once per outage, not every few seconds
            self._down = True
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            log.warning("outbox waits: database unreachable (%s)", first)

    def _woken(self, seen: int) -> bool:
        return self._stopping or self._generation != seen

    def _prune(self) -> None:
        now = self.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        with session_scope(self.engine) as session:
            gone = outbox.prune(session, before=now - KEEP_SENT)
        if gone:
            log.info("outbox: forgot %s sent replies older than %s", gone, KEEP_SENT)
