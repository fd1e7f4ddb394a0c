"""Benchmark suppression imports: generic CSV rows per second, from file bytes to committed entries.

Generates ROWS distinct addresses as a Sendguard generic CSV in memory,
reads it with the streaming reader and applies it with ``import_records``
on a fresh SQLite database, then imports it a second time (every row
already present). The ceiling is the database's own rate: the same number
of ready-made rows inserted into the same migrated table with one
``executemany`` of the driver, in one transaction, with no reading,
hashing or checks. Prints the machine, the rates and the ratio of the
first import to the ceiling.

    .venv/bin/python benchmarks/suppression_import.py --rows 200000
    .venv/bin/python benchmarks/suppression_import.py --rows 200000 \
        --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import io
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suppression_screening import machine
from compliance import migrate
from compliance.core.blind_index import BlindIndexer
from compliance.core.db import make_engine
from compliance.core.keys import KeyRing
from compliance.core.models import new_id
from compliance.core.tenants import create_sender
from suppression.formats import FORMATS, ReadOptions
from suppression.imports import ImportOptions, import_records


def generate(rows: int) -> bytes:
    lines = ["email,reason"]
    lines.extend(f"reader.{number}@example{number % 97}.org,unsubscribe" for number in range(rows))
    return ("\n".join(lines) + "\n").encode("utf-8")


def run(
    session: Session, sender_id: str, indexer: BlindIndexer, content: bytes
) -> tuple[float, int, int]:
    reader = FORMATS["generic_csv"].reader
    assert reader is not None
    started = time.perf_counter()
    report = import_records(
        session,
        sender_id,
        indexer,
        reader(io.BytesIO(content), ReadOptions()),
        ImportOptions(source="benchmark", actor="benchmark"),
    )
    session.commit()
    return time.perf_counter() - started, report.imported, report.already_present


_COLUMNS = (
    "id, sender_id, blind_index, key_version, scope, scope_ref, reason, source, event_ref, "
    "created_at"
)


def ceiling(url: str, sender_id: str, rows: int) -> tuple[float, str]:
    """Return the seconds the driver takes to write ``rows`` ready-made entries, and the method.

    SQLite gets the driver's executemany, PostgreSQL ``COPY FROM STDIN``,
    the fastest way each offers into a table; both in one transaction.
    """
    now = datetime.now(UTC)
    values = [
        (
            new_id(),
            sender_id,
            secrets.token_hex(32),
            1,
            "global",
            "",
            "unsubscribe",
            "bench",
            "",
            now,
        )
        for _ in range(rows)
    ]
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
                with cursor.copy(f"COPY suppression_entries ({_COLUMNS}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
                method = "COPY FROM STDIN"
            else:
                # exec_driver_sql with a list of tuples is the driver's executemany.
                connection.exec_driver_sql(
                    f"INSERT INTO suppression_entries ({_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*row[:9], now.isoformat(sep=" ")) for row in values],
                )
                method = "driver executemany"
        return time.perf_counter() - started, method
    finally:
        engine.dispose()


@contextmanager
def databases(server_url: str | None, folder: Path) -> Iterator[tuple[str, str]]:
    """Yield two empty databases: one for the imports, one for the ceiling."""
    if server_url is None:
        yield f"sqlite:///{folder / 'import.db'}", f"sqlite:///{folder / 'ceiling.db'}"
        return

    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    names = [f"sgimport_{secrets.token_hex(4)}_{part}" for part in ("main", "ceiling")]
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        urls = [
            make_url(server_url).set(database=name).render_as_string(hide_password=False)
            for name in names
        ]
        yield urls[0], urls[1]
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def new_sender(url: str, name: str) -> str:
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        sender_id = create_sender(session, name).id
        session.commit()
    engine.dispose()
    return sender_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=200_000, help="rows in the generated file (default 200,000)"
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL; two throwaway databases are created there and dropped",
    )
    args = parser.parse_args()

    indexer = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: b"benchmark-blind-index-key-000000"}))
    content = generate(args.rows)
    with (
        tempfile.TemporaryDirectory() as folder,
        databases(args.database_url, Path(folder)) as urls,
    ):
        sender_id = new_sender(urls[0], "Benchmark")
        engine = make_engine(urls[0])
        with Session(engine) as session:
            first = run(session, sender_id, indexer, content)
            second = run(session, sender_id, indexer, content)
        engine.dispose()

        # A second database, so the ceiling starts from the same empty table.
        bare, method = ceiling(urls[1], new_sender(urls[1], "Ceiling"), args.rows)

    print(f"machine          {machine()}")
    print(f"database         {'PostgreSQL' if args.database_url else 'SQLite'}")
    print(f"rows             {args.rows:,} ({len(content) / 1e6:.1f} MB of CSV)")
    print(
        f"first import     {first[0]:.2f} s, {args.rows / first[0]:,.0f} rows/s, {first[1]:,} imported"
    )
    print(
        f"second import    {second[0]:.2f} s, {args.rows / second[0]:,.0f} rows/s, {second[2]:,} already present"
    )
    print(f"database ceiling {bare:.2f} s, {args.rows / bare:,.0f} rows/s ({method})")
    print(f"first / ceiling  {bare / first[0]:.2f} of the database's rate")
    return 0 if first[1] == args.rows and second[2] == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
