"""Benchmark suppression screening against a naive SQL anti-join, on SQLite or PostgreSQL.

Builds a fresh database with ENTRIES active suppression entries for one
sender, builds the sender's in-memory digest index (timed apart: a service
keeps it warm), then screens RECIPIENTS addresses, a tenth of them
suppressed, with Sendguard's Screener. The naive approach runs on the same
data: hash every address, load the digests into a table and anti-join.
Prints the machine, the timings, the rates, the index's size, the peak
extra memory of the screening, and the ratio between the two. With
--database-path, the Screener's database look-ups (the path of short lists)
are timed too.

It also times, alone and on the same addresses, the two steps every
address needs whatever the look-up: the fast-path syntax check (the
issue's target is 500,000 addresses/s) and HMAC-SHA256 of the normalised
address. Their sum is the floor of a screening in one CPython process.

    .venv/bin/python benchmarks/suppression_screening.py --entries 1000000 --recipients 100000
    .venv/bin/python benchmarks/suppression_screening.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

With --database-url, a scratch database is created on that server and
dropped at the end. Only loopback servers should be used.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import secrets
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compliance import migrate
from compliance.core.blind_index import BlindIndexer
from compliance.core.db import make_engine
from compliance.core.keys import KeyRing
from compliance.core.tenants import create_sender
from suppression.digest_index import cache_for
from suppression.models import SuppressionChangeCounter, SuppressionEntry
from suppression.screening import Screener, ScreenOptions, batched
from suppression.syntax import fast_normalised, is_valid_address

INSERT_CHUNK = 50_000


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def address(number: int) -> str:
    return f"reader.{number}@example{number % 97}.org"


def scratch_database(server_url: str | None, folder: Path) -> tuple[str, Engine | None, str | None]:
    if server_url is None:
        return f"sqlite:///{folder / 'bench.db'}", None, None
    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    name = f"sgbench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return url, admin, name


def fill(engine: Engine, sender_id: str, indexer: BlindIndexer, entries: int) -> float:
    # Straight through the table, with the change version the session
    # listener would stamp (suppression.changes): the fill is set-up, not
    # what is measured, and the ORM path would make it several times longer.
    started = time.perf_counter()
    now = datetime.now(UTC)
    table = SuppressionEntry.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        for start in range(0, entries, INSERT_CHUNK):
            rows = [
                {
                    "id": f"{number:036d}",
                    "sender_id": sender_id,
                    "blind_index": indexer.current(address(number)).digest,
                    "key_version": 1,
                    "scope": "global",
                    "scope_ref": "",
                    "reason": "unsubscribe",
                    "source": "benchmark",
                    "event_ref": "",
                    "created_at": now,
                    "change_version": 1,
                }
                for number in range(start, min(start + INSERT_CHUNK, entries))
            ]
            connection.execute(table.insert(), rows)
        connection.execute(
            SuppressionChangeCounter.__table__.insert(),  # type: ignore[attr-defined]
            {"sender_id": sender_id, "version": 1, "rebuild_version": 0},
        )
    # A production database has planner statistics (PostgreSQL's autovacuum
    # gathers them after such a bulk insert); without them the planner
    # misjudges the look-ups.
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return time.perf_counter() - started


def build_index(engine: Engine, sender_id: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    with Session(engine) as session:
        index = cache_for(session).get(session, sender_id, build=True)
    elapsed = time.perf_counter() - started
    assert index is not None
    return elapsed, index.entries, int(index.words.nbytes + index.offsets.nbytes)


def recipients_for(entries: int, count: int) -> list[str]:
    # One recipient in ten is suppressed; the others are new addresses.
    return [
        address((index * 7919) % entries) if index % 10 == 0 else address(entries + index)
        for index in range(count)
    ]


def run_screener(
    engine: Engine,
    sender_id: str,
    indexer: BlindIndexer,
    recipients: list[str],
    options: ScreenOptions,
) -> int:
    kept = 0
    with Session(engine) as session:
        screener = Screener(session, sender_id, indexer, options)
        for chunk in batched(recipients):
            kept += len(screener.screen_batch(chunk).kept)
        if options.index_threshold is not None:
            assert screener.used_index, "the warm index was not used"
    return kept


def sendguard_screen(
    engine: Engine,
    sender_id: str,
    indexer: BlindIndexer,
    recipients: list[str],
    options: ScreenOptions,
) -> tuple[float, int, int]:
    # Best of three, timed without tracemalloc, which slows every
    # allocation; the memory peak comes from a last, traced run.
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        kept = run_screener(engine, sender_id, indexer, recipients, options)
        timings.append(time.perf_counter() - started)

    tracemalloc.start()
    run_screener(engine, sender_id, indexer, recipients, options)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(timings), kept, peak


def profile_screening(
    engine: Engine, sender_id: str, indexer: BlindIndexer, recipients: list[str]
) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(run_screener, engine, sender_id, indexer, recipients, ScreenOptions())
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)


def per_address_steps(indexer: BlindIndexer, recipients: list[str]) -> tuple[float, float]:
    """Return the best of three seconds of the fast-path syntax check and of the HMAC, each alone."""
    syntax: list[float] = []
    hashing: list[float] = []
    for _ in range(3):
        started = time.perf_counter()
        normalised = [fast_normalised(item) for item in recipients]
        syntax.append(time.perf_counter() - started)

        valid = [item for item in normalised if item is not None]
        started = time.perf_counter()
        indexer.raw_digests_many(valid)
        hashing.append(time.perf_counter() - started)
    return min(syntax), min(hashing)


def naive_anti_join(
    engine: Engine, sender_id: str, indexer: BlindIndexer, recipients: list[str]
) -> tuple[float, int]:
    started = time.perf_counter()
    digests = [
        {"digest": indexer.current(item).digest} for item in recipients if is_valid_address(item)
    ]
    with engine.begin() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE candidates (digest VARCHAR(64))"))
        connection.execute(text("INSERT INTO candidates (digest) VALUES (:digest)"), digests)
        kept = connection.execute(
            text(
                "SELECT count(*) FROM candidates c WHERE NOT EXISTS (SELECT 1 FROM suppression_entries s "
                "WHERE s.sender_id = :sender AND s.blind_index = c.digest AND s.lifted_at IS NULL)"
            ),
            {"sender": sender_id},
        ).scalar_one()
        connection.execute(text("DROP TABLE candidates"))
    return time.perf_counter() - started, int(kept)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--entries", type=int, default=1_000_000, help="suppression entries (default 1,000,000)"
    )
    parser.add_argument(
        "--recipients", type=int, default=100_000, help="addresses to screen (default 100,000)"
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL server URL on loopback (default: a SQLite file)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print the 15 functions with the most own time in one more warm screening (cProfile)",
    )
    parser.add_argument(
        "--database-path",
        action="store_true",
        help="also time the Screener with every look-up in the database (slow on large lists)",
    )
    args = parser.parse_args()

    indexer = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: b"benchmark-blind-index-key-000000"}))
    with tempfile.TemporaryDirectory() as folder:
        url, admin, name = scratch_database(args.database_url, Path(folder))
        try:
            migrate.upgrade(url)
            engine = make_engine(url)
            with Session(engine) as session:
                sender_id = create_sender(session, "Benchmark").id
                session.commit()
            fill_seconds = fill(engine, sender_id, indexer, args.entries)
            recipients = recipients_for(args.entries, args.recipients)

            build_seconds, indexed, index_bytes = build_index(engine, sender_id)
            screen_seconds, kept, peak = sendguard_screen(
                engine, sender_id, indexer, recipients, ScreenOptions()
            )
            database_path = (
                sendguard_screen(
                    engine, sender_id, indexer, recipients, ScreenOptions(index_threshold=None)
                )
                if args.database_path
                else None
            )
            if args.profile:
                profile_screening(engine, sender_id, indexer, recipients)
            naive_seconds, naive_kept = naive_anti_join(engine, sender_id, indexer, recipients)
            engine.dispose()
            syntax_seconds, hash_seconds = per_address_steps(indexer, recipients)
        finally:
            if admin is not None and name is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()

    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"machine          {machine()}")
    print(f"backend          {backend}")
    print(
        f"entries          {args.entries:,} (inserted in {fill_seconds:.1f} s, {args.entries / fill_seconds:,.0f} rows/s)"
    )
    print(f"recipients       {args.recipients:,} ({args.recipients - kept:,} removed)")
    print(
        f"index build      {build_seconds:.2f} s for {indexed:,} entries, {index_bytes / 1e6:.1f} MB"
    )
    print(
        f"sendguard screen {screen_seconds:.2f} s, {args.recipients / screen_seconds:,.0f} addresses/s, peak {peak / 1e6:.1f} MB (warm index, best of 3)"
    )
    if database_path is not None:
        seconds, database_kept, database_peak = database_path
        print(
            f"database path    {seconds:.2f} s, {args.recipients / seconds:,.0f} addresses/s, peak {database_peak / 1e6:.1f} MB"
        )
        if database_kept != kept:
            print("MISMATCH: the database path and the index disagree", file=sys.stderr)
            return 1
    print(
        f"naive anti-join  {naive_seconds:.2f} s, {args.recipients / naive_seconds:,.0f} addresses/s"
    )
    print(f"ratio            {naive_seconds / screen_seconds:.2f} (naive time / Sendguard time)")
    print(
        f"syntax alone     {syntax_seconds:.2f} s, {args.recipients / syntax_seconds:,.0f} addresses/s (fast path, best of 3)"
    )
    print(
        f"HMAC alone       {hash_seconds:.2f} s, {args.recipients / hash_seconds:,.0f} addresses/s (best of 3)"
    )
    print(f"floor            {syntax_seconds + hash_seconds:.2f} s (syntax + HMAC, one process)")
    if kept != naive_kept:
        print(f"MISMATCH: Sendguard kept {kept:,}, the anti-join {naive_kept:,}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
