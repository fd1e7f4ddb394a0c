"""Database engines and the request-scoped session.

One transaction per request: the session dependency commits when the route
returns and rolls back when it raises. Service functions only ``flush``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session


def make_engine(url: str, **overrides: Any) -> Engine:
    """Create an engine for ``url``. SQLite files get their folder and pragmas.

    ``overrides`` are passed to ``create_engine`` (pool sizes, ``connect_args``).
    """
    parsed = make_url(url)
    options: dict[str, Any] = {"pool_pre_ping": True}

    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # The outbox worker thread and request threads share the engine.
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, **_merged(options, overrides))
        _sqlite_writers[engine] = threading.Lock()
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine

    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// means psycopg 2 to SQLAlchemy; we ship psycopg 3.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 prepares a statement on the server after its fifth run,
        # and PostgreSQL may then plan it once for any parameters. Look-ups
        # by blind index send thousands of digests in one IN list. With a
        # generic plan PostgreSQL compared every digest with every row of the
        # sender, and a 100,000-row import took 144 s instead of 15 s.
        # Unprepared statements are planned with their values, and they also
        # work behind PgBouncer in transaction mode.
        options["connect_args"] = {"prepare_threshold": None}
    return create_engine(url, **_merged(options, overrides))


def _merged(options: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return ``options`` updated by ``overrides``, with ``connect_args`` merged key by key."""
    merged = {**options, **overrides}
    if "connect_args" in options and "connect_args" in overrides:
        merged["connect_args"] = {**options["connect_args"], **overrides["connect_args"]}
    return merged


# One lock per SQLite engine, taken by sqlite_writer() around a write. SQLite
# lets one writer in at a time, and the others wait in its busy handler.
# That handler sleeps in steps of up to 100 ms, which gave sign-ups a p99 of
# seconds under load. Queued on this lock instead, a writer starts as soon
# as the previous one commits. Writers outside sqlite_writer() still wait in SQLite.
_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins
    # (see _sqlite_begin_immediate).
    connection.isolation_level = None
    cursor = connection.cursor()
    # WAL lets the outbox worker read while a request writes; foreign keys
    # are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Overwrite deleted rows with zeros, so erased data and destroyed keys do
    # not linger in free pages of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A deferred SQLite transaction that reads and then writes fails with
    # "database is locked" when another writer got there first, without
    # waiting. BEGIN IMMEDIATE takes the write lock up front, so concurrent
    # writers queue (up to busy_timeout) and check-then-write rules such as
    # the list-deletion lock cannot interleave. Read-only work runs on
    # read_only(engine), whose deferred transactions never take the write
    # lock, so a long export or screening cannot hold back an unsubscribe.
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


_BEGIN_OPTION = "sendguard_sqlite_begin"


def read_only(engine: Engine) -> Engine:
    """Return a view of ``engine`` for reads: SQLite transactions begin DEFERRED there."""
    return engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def request_session(request: Request) -> Iterator[Session]:
    """Yield a session for one request and commit or roll back at its end."""
    engine: Engine = request.app.state.engine
    if request.method in ("GET", "HEAD", "OPTIONS"):
        engine = read_only(engine)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def request_engine(request: Request) -> Engine:
    """Return the app's engine, for a route that opens its own short transactions."""
    engine: Engine = request.app.state.engine
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """Yield a session whose transaction commits on exit and rolls back on error.

    For a route that splits its work: a read on ``read_only(engine)``, CPU
    work with no transaction open, then a short write. On SQLite the write
    lock is then held only for the write (docs/benchmarks-consent.md).
    """
    with sqlite_writer(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def sqlite_writer(engine: Engine) -> Iterator[None]:
    """Hold the in-process writer lock of a SQLite engine; nothing on other databases.

    Wrap a whole write transaction in it, and open no other write on the
    same engine inside it: the lock is not reentrant.
    """
    writer = None
    if engine.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE") == "IMMEDIATE":
        writer = _sqlite_writers.get(engine)
    if writer is None:
        yield
        return
    with writer:
        yield


DbEngine = Annotated[Engine, Depends(request_engine)]

# scope="function" commits before the response is sent: with the default
# scope the commit would run after the client has already received a 200, so a
# failed commit would go unseen and the client's next request could race it.
DbSession = Annotated[Session, Depends(request_session, scope="function")]
