"""Shared pieces of the commands: exit codes, errors, database access."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from compliance.core.settings import Settings

# Exit codes: 0 pass (warnings allowed), 1 a check blocks the send or a
# violation was found, 2 usage error, 3 could not run (unreachable
# database, unreadable file).
EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_USAGE = 2
EXIT_CANNOT_RUN = 3

# The PostgreSQL advisory lock key that serialises migrations, so that
# several processes of a fleet can start at once ("sgmigrat" in ASCII).
MIGRATION_LOCK_KEY = 0x73676D6967726174


class CannotRun(Exception):
    """The command could not run. The message names the failure and the next step."""


def fail(message: str) -> int:
    print(f"sendguard: error: {message}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def migrate_database(settings: Settings) -> None:
    from compliance import migrate

    try:
        with _migration_lock(settings.resolved_database_url):
            migrate.upgrade(settings.resolved_database_url)
    except (OperationalError, SQLAlchemyError) as error:
        raise CannotRun(
            f"cannot migrate the database ({type(error).__name__}); check "
            "SENDGUARD_DATABASE_URL and that the server is up"
        ) from None


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while migrating; nothing on SQLite.

    Without it, two processes starting together could both try to create
    the same tables. The second one waits, then finds the schema current.
    """
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return

    from compliance.core import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
    finally:
        engine.dispose()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def open_session(settings: Settings, *, read_only: bool = False) -> Session:
    """Open a session on the main database, migrated first.

    ``read_only`` sessions never take SQLite's write lock, so a long screening
    or export does not hold back the service's writes.
    """
    from compliance.core import db

    migrate_database(settings)
    engine = db.make_engine(settings.resolved_database_url)
    return Session(db.read_only(engine) if read_only else engine, expire_on_commit=False)
