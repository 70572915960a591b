"""Several scheduler processes ticking at once, as threads behind a barrier (tests only)."""

from __future__ import annotations

import threading
from datetime import datetime


def tick_at_once(tickers, at: datetime) -> list[list]:
    """Each ticker's ``tick(at, send=False)`` in its own thread, all let go together by a
    barrier so their claims race; their reports, in the tickers' order."""
    barrier = threading.Barrier(len(tickers), timeout=60)
    results: list = [None] * len(tickers)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = tickers[i].tick(at, send=False)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tickers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is not None for r in results), "a scheduler thread failed"
    return results
