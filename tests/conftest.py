"""Shared fixtures: a real database per test, on SQLite always and PostgreSQL when asked.

``TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) adds PostgreSQL:
the run creates its own throwaway database next to that one, migrates it once, empties its
tables between tests and drops it at the end. It never drops anything it did not create.
If the variable is set and the server is unreachable, the run fails rather than skips.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from storage.db import make_engine, normalize_url, upgrade

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "salesbot.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin_url = normalize_url(os.environ["TEST_DATABASE_URL"])
    name = f"salesbot_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # fails loudly if PostgreSQL is unreachable
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _truncate_all(engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """A migrated, empty database URL of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "salesbot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()


@pytest.fixture
def postgres_db(request) -> Iterator[str]:
    """The PostgreSQL test database alone (tests of a network database's outages)."""
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "postgres_only: needs a network database (run when TEST_DATABASE_URL is set)"
    )
    if os.environ.get("SALESBOT_REQUIRE_POSTGRES") and not os.environ.get("TEST_DATABASE_URL"):
        raise pytest.UsageError("SALESBOT_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")


def pytest_collection_modifyitems(config, items) -> None:
    """Tests of a network database's outages exist only where there is one (not skipped:
    deselected, so a run on SQLite alone reports no skips)."""
    if os.environ.get("TEST_DATABASE_URL"):
        return
    dropped = [i for i in items if i.get_closest_marker("postgres_only")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if not i.get_closest_marker("postgres_only")]


# (seconds, "/cmd text", test id): filled by the end-to-end tests, reported below
SLOWEST_COMMANDS: list[tuple[float, str, str]] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if SLOWEST_COMMANDS:
        seconds, command, test = max(SLOWEST_COMMANDS)
        terminalreporter.write_line(
            f"slowest slash command over {len(SLOWEST_COMMANDS)} end-to-end apps: "
            f"{seconds * 1000:.0f} ms (Slack's limit: 3,000 ms): `{command}` in {test}"
        )


@pytest.fixture(autouse=True)
def no_drainer_outlives_its_test(request) -> Iterator[None]:
    """A drain worker left running claims and sends the rows of whatever test runs next on
    the same database (PostgreSQL ids restart), to a fake Slack that is gone: fail the test
    that leaked it, not a later one."""
    yield
    import threading
    import time

    deadline = time.monotonic() + 10
    while True:
        alive = [t.name for t in threading.enumerate() if t.name.startswith("salesbot-drain")]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not alive, f"{request.node.nodeid} left drain workers running: {alive}"
