"""Benchmark erasure latency: one ``erase_subject`` call plus its commit, on a large database.

Builds a fresh database through the real migrations with CONTACTS contacts
for one sender and OTHER_CONTACTS for each of three other senders. Every
contact of the main sender has a subscription, a list membership and a
consent record, and BACKGROUND_EVENTS delivery events are spread over
them. Each of the SUBJECTS people to erase has EVENTS delivery events (a
tenth of them recorded by blind index only, with no contact id), two
bounces, three subscriptions, three memberships, three consent records,
five outbox messages and three preference events. Then it erases the subjects one by
one and prints p50, p95 and max, the statements that took the most time,
the machine, the database and the dataset.

    .venv/bin/python benchmarks/dsr_erasure.py
    .venv/bin/python benchmarks/dsr_erasure.py --contacts 20000 --events 2000
    .venv/bin/python benchmarks/dsr_erasure.py --postgresql

Only the subjects carry real encryption (key store key, blind index,
ciphertext), because the erasure path reads nothing else. The other
contacts have random bytes as ciphertext and random blind indexes, and
the consent ledger and audit log hold random hashes: erasure reads only
their head, so the chains are not valid and must not be verified.
With --postgresql or --database-url, two scratch databases are created on
that server and dropped at the end. Only loopback servers should be used.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import itertools
import json
import logging
import os
import pstats
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import structlog
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suppression_screening import machine
from compliance import migrate
from compliance.app import Runtime, open_runtime
from compliance.core.keystore import encrypt_bytes, encrypt_field
from compliance.core.settings import Environment, Settings
from compliance.core.tenants import create_sender
from dsr.event_purge import purge_erased_events
from dsr.models import DataSubjectRequest
from dsr.service import Attestation, erase_subject

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
LISTS = 5
CAMPAIGNS = 50
TARGET_P95_MS = 100.0


@dataclass
class Dataset:
    """Row counts of the generated database, by table."""

    rows: Counter[str] = field(default_factory=Counter)


class BulkLoader:
    """Insert generated rows fast: sqlite3 executemany, or COPY on PostgreSQL."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.postgresql = parsed.get_backend_name() == "postgresql"
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: psycopg.Connection[Any] | None = None
        if self.postgresql:
            conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self._postgres = psycopg.connect(conninfo)
        else:
            assert parsed.database is not None
            self._sqlite = sqlite3.connect(parsed.database, isolation_level=None)
            # The file is scratch data: durability does not matter while loading.
            self._sqlite.execute("PRAGMA synchronous=OFF")

    def stamp(self, moment: datetime) -> object:
        # SQLAlchemy stores SQLite datetimes as text in this exact layout.
        if self.postgresql:
            return moment
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    def load(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> int:
        count = 0

        def counted() -> Iterator[tuple[object, ...]]:
            nonlocal count
            for row in rows:
                count += 1
                yield row

        names = ", ".join(f'"{name}"' for name in columns)
        if self._postgres is not None:
            with (
                self._postgres.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in counted():
                    copy.write_row(row)
            self._postgres.commit()
        else:
            assert self._sqlite is not None
            marks = ", ".join("?" for _ in columns)
            self._sqlite.execute("BEGIN")
            self._sqlite.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", counted())
            self._sqlite.execute("COMMIT")
        return count

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.close()
        if self._sqlite is not None:
            self._sqlite.close()


def row_id(kind: int, number: int) -> str:
    # Deterministic 36-character ids, unique per table kind and cheap to generate.
    return f"{kind:08x}-0000-4000-8000-{number:012x}"


def background_copies(number: int) -> int:
    # One contact in ten has an outbox message and a preference event.
    if number % 10 == 0:
        return 1
    return 0


def random_digest() -> str:
    return secrets.token_hex(32)


def subject_address(number: int) -> str:
    return f"subject.{number}@example.org"


@dataclass(frozen=True)
class Shape:
    contacts: int
    other_contacts: int
    subjects: int
    events: int
    background_events: int
    # Spread each subject's events over the whole table instead of writing them together.
    interleaved: bool = False

    def subject_numbers(self) -> list[int]:
        step = max(1, self.contacts // self.subjects)
        return [index * step for index in range(self.subjects)]


def build(runtime: Runtime, urls: tuple[str, str], shape: Shape) -> tuple[str, Dataset]:
    """Fill the main database and the key store; return the main sender's id and the counts."""
    with Session(runtime.engine) as session:
        senders = [create_sender(session, f"Benchmark {number}").id for number in range(4)]
        session.commit()
    main = senders[0]
    services = runtime.services
    main_loader = BulkLoader(urls[0])
    key_loader = BulkLoader(urls[1])
    now = main_loader.stamp(datetime.now(UTC))
    dataset = Dataset()
    subjects = set(shape.subject_numbers())
    subject_keys: dict[int, bytes] = {
        number: services.keystore.create_key(row_id(1, number)) for number in subjects
    }

    def contact_rows() -> Iterator[tuple[object, ...]]:
        for number in range(shape.contacts):
            contact_id = row_id(1, number)
            key = subject_keys.get(number)
            if key is None:
                yield (contact_id, main, os.urandom(48), random_digest(), 1, "en", "confirmed", now)
                continue
            address = subject_address(number)
            email = encrypt_field(key, contact_id, "email", address)
            digest = services.indexer.current(address).digest
            yield (contact_id, main, email, digest, 1, "en", "confirmed", now)
        for offset, sender_id in enumerate(senders[1:], start=1):
            for number in range(shape.other_contacts):
                contact_id = row_id(1, offset << 32 | number)
                yield (
                    contact_id,
                    sender_id,
                    os.urandom(48),
                    random_digest(),
                    1,
                    "en",
                    "confirmed",
                    now,
                )

    contact_columns = (
        "id", "sender_id", "email_ciphertext", "email_index", "email_index_version",
        "locale", "status", "created_at",
    )  # fmt: skip
    dataset.rows["contacts"] = main_loader.load("contacts", contact_columns, contact_rows())

    def key_rows() -> Iterator[tuple[object, ...]]:
        for number in range(shape.contacts):
            if number not in subjects:
                yield (row_id(1, number), os.urandom(60), key_loader.stamp(datetime.now(UTC)))

    key_loader.load("data_keys", ("contact_id", "wrapped_key", "created_at"), key_rows())
    dataset.rows["data_keys"] = shape.contacts

    lists = [row_id(2, number) for number in range(LISTS)]
    main_loader.load(
        "mailing_lists",
        ("id", "sender_id", "name", "created_at"),
        ((list_id, main, f"List {index}", now) for index, list_id in enumerate(lists)),
    )
    campaigns = [row_id(3, number) for number in range(CAMPAIGNS)]
    counts = (
        "sent_count", "delivered_count", "hard_bounce_count", "soft_bounce_count",
        "complaint_count", "unsubscribe_count", "open_count", "click_count",
    )  # fmt: skip
    main_loader.load(
        "campaigns",
        ("id", "sender_id", "name", "created_at", "sent_at", *counts),
        ((item, main, f"Campaign {n}", now, now, *[0] * 8) for n, item in enumerate(campaigns)),
    )

    def per_contact(extra: int) -> Iterator[tuple[int, int]]:
        # (contact number, copy number): one copy per contact, ``extra`` per subject.
        for number in range(shape.contacts):
            for copy in range(extra if number in subjects else 1):
                yield number, copy

    dataset.rows["subscriptions"] = main_loader.load(
        "subscriptions",
        ("id", "sender_id", "contact_id", "topic", "status", "frequency", "updated_at"),
        (
            (row_id(4, number << 4 | copy), main, row_id(1, number), f"topic{copy}", "confirmed", "normal", now)
            for number, copy in per_contact(3)
        ),
    )  # fmt: skip
    dataset.rows["list_memberships"] = main_loader.load(
        "list_memberships",
        ("id", "sender_id", "list_id", "contact_id", "status", "created_at", "updated_at"),
        (
            (row_id(5, number << 4 | copy), main, lists[(number + copy) % LISTS], row_id(1, number), "subscribed", now, now)
            for number, copy in per_contact(3)
        ),
    )  # fmt: skip

    def consent_rows() -> Iterator[tuple[object, ...]]:
        for number, copy in per_contact(3):
            contact_id = row_id(1, number)
            key = subject_keys.get(number)
            personal = (
                encrypt_field(key, contact_id, "consent", '{"ip": "192.0.2.1"}')
                if key is not None
                else os.urandom(40)
            )
            action = ("given", "confirmed", "updated")[copy]
            yield (main, contact_id, action, '["newsletter"]', "consent", "gdpr", "form", "en",
                   personal, now, random_digest(), random_digest())  # fmt: skip

    dataset.rows["consent_records"] = main_loader.load(
        "consent_records",
        ("sender_id", "contact_id", "action", "topics", "lawful_basis", "regime", "source",
         "language", "personal_ciphertext", "created_at", "prev_hash", "record_hash"),
        consent_rows(),
    )  # fmt: skip

    def outbox_rows() -> Iterator[tuple[object, ...]]:
        for number in range(0, shape.contacts):
            copies = 5 if number in subjects else background_copies(number)
            for copy in range(copies):
                message_id = row_id(6, number << 4 | copy)
                contact_id = row_id(1, number)
                key = subject_keys.get(number)
                payload = (
                    encrypt_bytes(key, contact_id, f"outbox:{message_id}", b"Subject: hello\r\n")
                    if key is not None
                    else os.urandom(400)
                )
                yield (
                    message_id,
                    main,
                    contact_id,
                    "campaign",
                    message_id,
                    payload,
                    "sent",
                    1,
                    now,
                    now,
                )

    dataset.rows["outbox_messages"] = main_loader.load(
        "outbox_messages",
        ("id", "sender_id", "contact_id", "kind", "idempotency_key", "payload", "status",
         "attempts", "next_attempt_at", "created_at"),
        outbox_rows(),
    )  # fmt: skip

    kinds = ("delivered", "open", "click")
    subject_digests = {
        number: services.indexer.current(subject_address(number)).digest for number in subjects
    }

    def subject_event(number: int, copy: int) -> tuple[object, ...]:
        # A tenth arrived before the address had a contact: blind index only.
        contact_id = None if copy % 10 == 0 else row_id(1, number)
        digest = subject_digests[number]
        return (main, campaigns[copy % CAMPAIGNS], contact_id, digest, kinds[copy % 3], now)

    def background_events() -> Iterator[tuple[object, ...]]:
        others = shape.contacts - len(subjects)
        for copy in range(shape.background_events):
            number = (copy * 7919) % shape.contacts
            if number in subjects or others == 0:
                continue
            yield (
                main,
                campaigns[copy % CAMPAIGNS],
                row_id(1, number),
                random_digest(),
                kinds[copy % 3],
                now,
            )

    def event_rows() -> Iterator[tuple[object, ...]]:
        if not shape.interleaved:
            for number in sorted(subjects):
                for copy in range(shape.events):
                    yield subject_event(number, copy)
            yield from background_events()
            return

        # As on a live database: the events of one campaign arrive together,
        # one per subject, between everybody else's. Each subject's events
        # then lie about one table page apart.
        background = background_events()
        between = shape.background_events // max(1, shape.events)
        for copy in range(shape.events):
            for number in sorted(subjects):
                yield subject_event(number, copy)
            yield from itertools.islice(background, between)
        yield from background

    dataset.rows["delivery_events"] = main_loader.load(
        "delivery_events",
        ("sender_id", "campaign_id", "contact_id", "blind_index", "kind", "occurred_at"),
        event_rows(),
    )  # fmt: skip

    def bounce_rows() -> Iterator[tuple[object, ...]]:
        for number in sorted(subjects):
            digest = services.indexer.current(subject_address(number)).digest
            for copy in range(2):
                yield (main, campaigns[copy], digest, 1, "soft", "mailbox_full", "4.2.2", "452", "",
                       "webhook", f"m{number}.{copy}", random_digest(), 1, now, now)  # fmt: skip
        for copy in range(shape.contacts // 20):
            yield (main, campaigns[copy % CAMPAIGNS], random_digest(), 1, "hard", "no_mailbox", "5.1.1",
                   "550", "", "webhook", f"b{copy}", random_digest(), 1, now, now)  # fmt: skip

    dataset.rows["bounce_events"] = main_loader.load(
        "bounce_events",
        ("sender_id", "campaign_id", "blind_index", "key_version", "bounce_class", "reason", "status",
         "reply_code", "feedback_type", "source", "message_ref", "fingerprint", "attempt",
         "occurred_at", "created_at"),
        bounce_rows(),
    )  # fmt: skip

    def preference_rows() -> Iterator[tuple[object, ...]]:
        for number in range(shape.contacts):
            copies = 3 if number in subjects else background_copies(number)
            for copy in range(copies):
                yield (row_id(7, number << 4 | copy), main, row_id(1, number), "frequency", "page",
                       "all", "weekly", random_digest(), now)  # fmt: skip

    dataset.rows["preference_events"] = main_loader.load(
        "preference_events",
        ("id", "sender_id", "contact_id", "kind", "method", "scope", "value", "client_hash", "created_at"),
        preference_rows(),
    )  # fmt: skip
    dataset.rows["suppression_entries"] = main_loader.load(
        "suppression_entries",
        ("id", "sender_id", "blind_index", "key_version", "scope", "scope_ref", "reason", "source",
         "event_ref", "created_at"),
        ((row_id(8, n), main, random_digest(), 1, "global", "", "unsubscribe", "benchmark", "", now)
         for n in range(shape.contacts // 5)),
    )  # fmt: skip

    def audit_rows() -> Iterator[tuple[object, ...]]:
        # One event per contact, one in a hundred for another sender, as in a
        # shared installation where the senders' chains interleave.
        for number in range(shape.contacts):
            sender_id = senders[1 + number % 3] if number % 100 == 0 else main
            yield (sender_id, "api", "contact.created", "contact", row_id(1, number), now,
                   random_digest(), random_digest())  # fmt: skip

    dataset.rows["audit_events"] = main_loader.load(
        "audit_events",
        ("sender_id", "actor", "action", "object_type", "object_id", "created_at", "prev_hash",
         "event_hash"),
        audit_rows(),
    )  # fmt: skip

    main_loader.close()
    key_loader.close()
    # Planner statistics, as autovacuum (PostgreSQL) or a routine ANALYZE would give.
    for engine in (runtime.engine, runtime.keystore_engine):
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    return main, dataset


class StatementTimer:
    """Sum the time spent in each SQL statement, by its first 90 characters."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        # Off during the background purge, which is timed on its own.
        self.active = True

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, connection: Any, *_args: object) -> None:
        if self.active:
            connection.info["benchmark_started"] = time.perf_counter()

    def _after(self, connection: Any, _cursor: object, statement: str, *_args: object) -> None:
        started = connection.info.pop("benchmark_started", None)
        if started is None:
            return
        key = f"{self.label}: {' '.join(statement.split())[:90]}"
        self.seconds[key] += time.perf_counter() - started
        self.calls[key] += 1


@dataclass
class Timings:
    """Seconds per erasure: the whole call plus commit, the commit alone, the key store's destroy."""

    latencies: list[float] = field(default_factory=list)
    commits: list[float] = field(default_factory=list)
    key_destroys: list[float] = field(default_factory=list)
    # The background batches that delete the events left after the request.
    purges: list[float] = field(default_factory=list)


def erase_all(
    runtime: Runtime,
    sender_id: str,
    shape: Shape,
    profiler: cProfile.Profile | None,
    timers: list[StatementTimer],
) -> Timings:
    """Erase every subject, one transaction each, then purge its remaining events, and time both."""
    attestation = Attestation("Benchmark DPO", "id_document", datetime.now(UTC))
    timings = Timings()
    keystore = runtime.services.keystore
    destroy_key = keystore.destroy_key

    def timed_destroy(contact_id: str) -> bool:
        started = time.perf_counter()
        destroyed = destroy_key(contact_id)
        timings.key_destroys.append(time.perf_counter() - started)
        return destroyed

    # Wrapped on this instance only, to split the key store's share out of the total.
    keystore.destroy_key = timed_destroy  # type: ignore[method-assign]
    for number in shape.subject_numbers():
        with Session(runtime.engine) as session:
            if profiler is not None:
                profiler.enable()
            started = time.perf_counter()
            receipt = erase_subject(
                session, runtime.services, sender_id, subject_address(number), attestation, "dpo"
            )
            committing = time.perf_counter()
            session.commit()
            finished = time.perf_counter()
            if profiler is not None:
                profiler.disable()
        timings.latencies.append(finished - started)
        timings.commits.append(finished - committing)

        for timer in timers:
            timer.active = False
        started = time.perf_counter()
        purge_erased_events(runtime.engine, runtime.services)
        timings.purges.append(time.perf_counter() - started)
        for timer in timers:
            timer.active = True
        check_erased(runtime, receipt.request_id, number, shape)
    keystore.destroy_key = destroy_key  # type: ignore[method-assign]
    return timings


def check_erased(runtime: Runtime, request_id: str, number: int, shape: Shape) -> None:
    """Raise unless the request completed with every event deleted: the outcome is checked, not only timed."""
    with Session(runtime.engine) as session:
        request = session.get(DataSubjectRequest, request_id)
        assert request is not None
        outcome = json.loads(request.outcome)
        status = request.status
    # The subject's delivery events and its two bounces.
    expected = shape.events + 2
    if status != "completed" or outcome.get("delivery_events_deleted") != expected:
        raise RuntimeError(
            f"erasure of subject {number} ended {status} with "
            f"{outcome.get('delivery_events_deleted')} events deleted; expected completed with {expected}"
        )


def cpu_busy_share(seconds: float) -> float:
    """Return the share of CPU time spent busy over ``seconds``, from /proc/stat."""

    def sample() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    busy_before, total_before = sample()
    time.sleep(seconds)
    busy_after, total_after = sample()
    return (busy_after - busy_before) / max(1, total_after - total_before)


def wait_until_idle(minutes: float) -> str:
    """Wait until the CPUs are under 15% busy for three 2-second samples in a row.

    Other processes on a small machine move the figures by a factor of two
    or more, so the measuring phase starts on a quiet machine when one comes
    within ``minutes``. Returns a line that reports how long it waited.
    """
    started = time.monotonic()
    quiet = 0
    while quiet < 3:
        if time.monotonic() - started > minutes * 60:
            return f"no quiet moment within {minutes:g} min; measured under load"
        quiet = quiet + 1 if cpu_busy_share(2.0) < 0.15 else 0
    return f"waited {time.monotonic() - started:.0f} s for 3 quiet 2-second samples"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def memory() -> str:
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return "unknown RAM"


def scratch_urls(server_url: str | None, folder: Path) -> tuple[str, str]:
    if server_url is None:
        return f"sqlite:///{folder / 'sendguard.db'}", f"sqlite:///{folder / 'keystore.db'}"
    base = f"sgbench_{secrets.token_hex(4)}"
    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    urls = []
    with admin.connect() as connection:
        for name in (base, f"{base}_keys"):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            urls.append(
                make_url(server_url).set(database=name).render_as_string(hide_password=False)
            )
    admin.dispose()
    return urls[0], urls[1]


def drop_scratch(server_url: str, urls: tuple[str, str]) -> None:
    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        for url in urls:
            name = make_url(url).database
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def settings_for(urls: tuple[str, str], folder: Path) -> Settings:
    master = folder / "master.key"
    master.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"))
    return Settings(
        env=Environment.DEVELOPMENT,
        data_dir=folder,
        database_url=urls[0],
        keystore_url=urls[1],
        master_key_file=master,
        token_secret=base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"),
        blind_index_keys=f"1:{base64.urlsafe_b64encode(os.urandom(32)).decode('ascii')}",
        outbox_dir=folder / "outbox",
    )


def describe_database(runtime: Runtime, url: str) -> str:
    if runtime.engine.dialect.name == "postgresql":
        with runtime.engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            size = connection.execute(
                text("SELECT pg_database_size(current_database())")
            ).scalar_one()
        host = make_url(url)
        return f"PostgreSQL {version} at {host.host}:{host.port}, {size / 1e9:.2f} GB"
    path = Path(str(make_url(url).database))
    return f"SQLite {sqlite3.sqlite_version} file (WAL), {path.stat().st_size / 1e9:.2f} GB"


def report(
    runtime: Runtime, url: str, shape: Shape, dataset: Dataset, timings: Timings,
    build_seconds: float, timers: list[StatementTimer],
) -> None:  # fmt: skip
    print(f"machine          {machine()}, {memory()}")
    print(f"database         {describe_database(runtime, url)}")
    print(f"dataset          built in {build_seconds:.0f} s")
    for table, count in sorted(dataset.rows.items()):
        print(f"  {table:<22} {count:>12,}")
    layout = "spread between other events" if shape.interleaved else "written together"
    print(f"event layout     each subject's events {layout}")
    print(
        f"subjects         {shape.subjects} erased, each with {shape.events:,} delivery events "
        f"(+2 bounces, 3 subscriptions, 3 memberships, 3 consent records, 5 outbox, 3 preference events)"
    )
    milliseconds = [value * 1000 for value in timings.latencies]
    p95 = percentile(milliseconds, 0.95)
    print(
        f"erase + commit   p50 {statistics.median(milliseconds):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(milliseconds):.1f} ms (target p95 < {TARGET_P95_MS:.0f} ms: "
        f"{'met' if p95 < TARGET_P95_MS else 'MISSED'})"
    )

    purge_ms = [value * 1000 for value in timings.purges]
    completed_ms = [(a + b) * 1000 for a, b in zip(timings.latencies, timings.purges, strict=True)]
    print(
        f"background purge p50 {statistics.median(purge_ms):.1f} ms, "
        f"p95 {percentile(purge_ms, 0.95):.1f} ms, max {max(purge_ms):.1f} ms "
        f"(events past the first {runtime.services.settings.dsr_inline_event_limit:,}, "
        f"{runtime.services.settings.dsr_event_batch_size:,} per transaction)"
    )
    print(
        f"until completed  p50 {statistics.median(completed_ms):.1f} ms, "
        f"p95 {percentile(completed_ms, 0.95):.1f} ms, max {max(completed_ms):.1f} ms"
    )

    total = sum(timings.latencies)
    print(
        f"commit           {sum(timings.commits) / total:.0%} of the erasure time; "
        f"key store destroy_key {sum(timings.key_destroys) / total:.0%}"
    )
    statements = Counter[str]()
    calls = Counter[str]()
    for timer in timers:
        statements.update(timer.seconds)
        calls.update(timer.calls)
    in_sql = sum(statements.values())
    print(f"time in SQL      {in_sql / total:.0%} of the erasure time; the rest is Python")
    print("top statements (share of erasure time, calls per erasure):")
    for statement, seconds in statements.most_common(8):
        print(f"  {seconds / total:>5.1%} {calls[statement] / shape.subjects:>8.1f}  {statement}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--contacts",
        type=int,
        default=1_000_000,
        help="contacts of the main sender (default 1,000,000)",
    )
    parser.add_argument(
        "--other-contacts", type=int, default=10_000,
        help="contacts of each of the three other senders (default 10,000)",
    )  # fmt: skip
    parser.add_argument("--subjects", type=int, default=50, help="people erased (default 50)")
    parser.add_argument(
        "--events", type=int, default=10_000, help="delivery events per subject (default 10,000)"
    )
    parser.add_argument(
        "--background-events", type=int, default=None,
        help="delivery events of the other contacts (default 2 per contact)",
    )  # fmt: skip
    parser.add_argument(
        "--database-url", help="PostgreSQL server URL on loopback (default: SQLite files)"
    )
    parser.add_argument(
        "--postgresql", action="store_true", help=f"use the PostgreSQL server at {DEFAULT_SERVER}"
    )
    parser.add_argument(
        "--scratch", type=Path, help="folder for the SQLite files (default: system temp)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile summary of the erasures"
    )
    parser.add_argument(
        "--interleaved", action="store_true",
        help="spread each subject's events between the other contacts' events, as on a live "
        "database (default: each subject's events written together, the best case)",
    )  # fmt: skip
    parser.add_argument(
        "--wait-idle", type=float, default=0.0, metavar="MINUTES",
        help="before erasing, wait up to MINUTES for the CPUs to be quiet (default 0: no wait)",
    )  # fmt: skip
    args = parser.parse_args()
    # The product logs every erasure at INFO: keep the output to the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    if args.subjects < 1 or args.subjects > args.contacts:
        parser.error("--subjects must be between 1 and --contacts")
    server = args.database_url or (DEFAULT_SERVER if args.postgresql else None)
    background = args.background_events if args.background_events is not None else 2 * args.contacts
    shape = Shape(
        args.contacts, args.other_contacts, args.subjects, args.events, background, args.interleaved
    )
    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        folder = Path(scratch)
        urls = scratch_urls(server, folder)
        try:
            migrate.upgrade(urls[0])
            runtime = open_runtime(settings_for(urls, folder))
            started = time.perf_counter()
            sender_id, dataset = build(runtime, urls, shape)
            build_seconds = time.perf_counter() - started
            timers = [StatementTimer("main"), StatementTimer("key store")]
            timers[0].attach(runtime.engine)
            timers[1].attach(runtime.keystore_engine)
            profiler = cProfile.Profile() if args.profile else None
            if args.wait_idle > 0:
                print(f"idle wait        {wait_until_idle(args.wait_idle)}")
            load_before = os.getloadavg()[0]
            timings = erase_all(runtime, sender_id, shape, profiler, timers)
            print(
                f"load average     {load_before:.2f} before erasing, {os.getloadavg()[0]:.2f} after"
            )
            report(runtime, urls[0], shape, dataset, timings, build_seconds, timers)
            if profiler is not None:
                print("Python profile of the erasures (top 25 by own time):")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            runtime.dispose()
        finally:
            if server is not None:
                drop_scratch(server, urls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
