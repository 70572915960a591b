"""The version check every request runs (storage.workspace_version) asks on driver
connections it keeps apart from the pool: each answer must still be the database's latest
commit (another process's change is seen by the next request), a connection the database
dropped must not fail a request, and the engine's ``dispose`` closes them."""

from __future__ import annotations

import threading

import pytest

from domain.workspaces import get_or_create_workspace
from storage import workspace_version as wv
from storage.config_version import bump
from storage.db import make_engine, session_scope
from storage.models import Workspace


@pytest.fixture
def two(db_url):
    """Two engines on one database, as two serving processes have."""
    ours, theirs = make_engine(db_url), make_engine(db_url)
    with session_scope(theirs) as session:
        ws_id = get_or_create_workspace(session=session, team_id="TV").id
    try:
        yield ours, theirs, ws_id
    finally:
        ours.dispose()
        theirs.dispose()


def _bump(engine, ws_id: int) -> int:
    with session_scope(engine) as session:
        bump(session, [ws_id])
        return session.get(Workspace, ws_id).config_version


def test_each_check_sees_the_last_commit_of_another_engine(two):
    ours, theirs, ws_id = two
    seen = wv.config_version(ours, "TV")
    for _ in range(30):
        now = _bump(theirs, ws_id)
        assert now > seen
        assert wv.config_version(ours, "TV") == now  # not a snapshot of an earlier read
        seen = now
    assert wv.config_version(ours, "nobody") is None
    assert len(wv._idle(ours)) == 1  # one kept connection answered all of them


def test_a_kept_connection_the_database_dropped_is_replaced(two, db_url):
    ours, theirs, ws_id = two
    wv.config_version(ours, "TV")
    (kept,) = wv._idle(ours)
    if db_url.startswith("postgres"):
        with theirs.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({kept.info.backend_pid})")
    else:
        kept.close()  # the closest SQLite has: the handle is gone
    now = _bump(theirs, ws_id)
    assert wv.config_version(ours, "TV") == now
    (again,) = wv._idle(ours)
    assert again is not kept


def test_concurrent_checks_each_see_a_committed_version_and_keep_few_connections(two):
    ours, theirs, ws_id = two
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: dict[int, list[int]] = {}

    def check(i: int) -> None:
        try:
            while not stop.is_set():
                seen.setdefault(i, []).append(wv.config_version(ours, "TV"))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=check, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    last = 0
    for _ in range(20):
        last = _bump(theirs, ws_id)
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    for versions in seen.values():
        assert versions == sorted(versions)  # never an older version after a newer one
        assert versions[-1] <= last
    assert wv.config_version(ours, "TV") == last
    assert 1 <= len(wv._idle(ours)) <= wv.KEPT


def test_dispose_closes_the_kept_connections(two):
    ours, _, _ = two
    wv.config_version(ours, "TV")
    (kept,) = wv._idle(ours)
    ours.dispose()
    assert wv._idle(ours) == []
    with pytest.raises(Exception):  # noqa: B017 (the driver's own "closed" error)
        kept.execute("SELECT 1")
    assert wv.config_version(ours, "TV") is not None  # and a new one is made when asked
