"""The ack budget of read-only commands, kept by one thread for every request.

Slack waits 3 seconds for a slash command's ack. A read-only command runs in the listener's
own thread and answers in the ack; if it is still running when its budget
(``Deps.ack_budget``) runs out, :class:`AckWatch` acks for it with a "crunching" message,
and the answer follows through the ``response_url`` (bot.deliver: the ack is spent, so the
reply takes the next way). Bolt's request thread returns an ack as soon as it is given,
from whichever thread.

Earlier every read ran in a pool of its own while the listener waited on the future with
the budget as timeout: two thread hand-offs per command, which at concurrency 8 cost about
a quarter of `/deal show`'s CPU (issue 17). A watch costs a heap push under a lock.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)
IDLE = 60.0  # seconds without a watch before the thread ends


class _Watch:
    __slots__ = ("act", "done")

    def __init__(self, act: Callable[[], None]) -> None:
        self.act = act
        self.done = False


class AckWatch:
    """Calls ``act`` for each watched piece of work still running at its deadline."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._changed = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, budget: float, act: Callable[[], None]) -> Iterator[None]:
        """Run the block; if it is still running after ``budget`` seconds, ``act()`` is
        called from the watch's thread. ``budget <= 0``: ``act()`` at once, here."""
        if budget <= 0:
            act()
            yield
            return
        watch = _Watch(act)
        deadline = time.monotonic() + budget
        with self._changed:
            heapq.heappush(self._due, (deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="salesbot-ack-watch", daemon=True
                )
                self._thread.start()
            elif self._due[0][2] is watch:  # the earliest now: the thread sleeps too long
                self._changed.notify()
        try:
            yield
        finally:
            watch.done = True  # left in the heap until it reaches the top: no search, no lock

    def _run(self) -> None:
        due = self._due
        while True:
            with self._changed:
                # Work that ended in time leaves when it reaches the top, whatever its
                # deadline: the thread wakes for the first one still running, not for every
                # request (at 600 requests a second, a wake each, two switches of the GIL).
                while due and due[0][2].done:
                    heapq.heappop(due)
                if not due:
                    if not self._changed.wait(IDLE) and not due:  # the next watch starts one
                        self._thread = None
                        return
                    continue
                deadline, _, watch = due[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                heapq.heappop(due)
            if not watch.done:
                try:
                    watch.act()
                except Exception:  # the work's own answer still follows
                    log.exception("could not ack a command past its budget")
