"""Database engines and the request-scoped session.

One transaction per request: the session dependency commits when the route
returns and rolls back when it raises. Service functions only ``flush``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder and pragmas."""
    parsed = make_url(url)
    options: dict[str, Any] = {"pool_pre_ping": True}

    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # The outbox worker thread and request threads share the engine.
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine

    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// means psycopg 2 to SQLAlchemy; we ship psycopg 3.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, **options)


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


# scope="function" commits before the response is sent: with the default
# scope the commit would run after the client has already received a 200, so a
# failed commit would go unseen and the client's next request could race it.
DbSession = Annotated[Session, Depends(request_session, scope="function")]
