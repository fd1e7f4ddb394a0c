"""Fresh, migrated databases for tests: SQLite files, or PostgreSQL when configured.

Set ``SENDGUARD_TEST_DATABASE_URL`` to a PostgreSQL server URL (for example
``postgresql://postgres@127.0.0.1:5432/postgres``) to run the suite on
PostgreSQL: the schema is migrated once into a template database, and each
test gets its own copy of it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from compliance import migrate

ADMIN_URL_VARIABLE = "SENDGUARD_TEST_DATABASE_URL"


@dataclass(frozen=True)
class DatabaseUrls:
    database: str
    keystore: str


def postgres_admin_url() -> str | None:
    url = os.environ.get(ADMIN_URL_VARIABLE, "").strip()
    if not url:
        return None
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise RuntimeError(f"{ADMIN_URL_VARIABLE} must be a postgresql:// URL")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


class PostgresDatabases:
    """Create per-test databases from one migrated template; drop them all at the end."""

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        self._engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._prefix = f"sgtest_{secrets.token_hex(4)}"
        self._created: list[str] = []
        self._template = f"{self._prefix}_template"
        self._execute(f'CREATE DATABASE "{self._template}"')
        self._created.append(self._template)
        migrate.upgrade(self._url(self._template))
        # Connections left by the migration would block CREATE DATABASE ... TEMPLATE.
        self._terminate(self._template)

    def _url(self, name: str) -> str:
        return make_url(self._admin_url).set(database=name).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        with self._engine.connect() as connection:
            connection.execute(text(statement))

    def _terminate(self, name: str) -> None:
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname "
            f"= '{name}' AND pid <> pg_backend_pid()"
        )

    def new(self) -> DatabaseUrls:
        suffix = secrets.token_hex(4)
        main = f"{self._prefix}_{suffix}"
        keys = f"{self._prefix}_{suffix}_keys"
        self._execute(f'CREATE DATABASE "{main}" TEMPLATE "{self._template}"')
        self._execute(f'CREATE DATABASE "{keys}"')
        self._created.extend([main, keys])
        return DatabaseUrls(self._url(main), self._url(keys))

    def drop_all(self) -> None:
        for name in reversed(self._created):
            self._terminate(name)
            self._execute(f'DROP DATABASE IF EXISTS "{name}"')
        self._engine.dispose()


def sqlite_databases(folder: Path) -> DatabaseUrls:
    urls = DatabaseUrls(
        f"sqlite:///{folder / 'sendguard.db'}", f"sqlite:///{folder / 'keystore.db'}"
    )
    migrate.upgrade(urls.database)
    return urls
