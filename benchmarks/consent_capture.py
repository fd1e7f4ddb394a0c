"""Benchmark durable consent captures through the HTTP API, beside a bare one-insert endpoint.

Starts the real service (``sendguard serve``, fresh data folder, SQLite by
default or PostgreSQL with --database-url), creates a sender with the CLI
and sends POST /v1/subscribe with distinct addresses from a concurrent
keep-alive load generator on loopback. Then it starts a bare FastAPI app,
defined below, whose endpoint parses the same JSON body and inserts one row
into a table of the same kind of database, under the same uvicorn settings.
Both return only after their transaction has committed, so every response
counted is a durable capture. Prints captures/s, p50 and p99 latency for
each, the ratio, and whether the targets are met.

    .venv/bin/python benchmarks/consent_capture.py
    .venv/bin/python benchmarks/consent_capture.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/consent_capture.py --profile /tmp/sg_browser/serve.prof

With --database-url, throwaway databases are created on that server and
dropped at the end. Only loopback servers should be used. --profile runs
the service under cProfile, one profiler per thread, and writes the merged
statistics to the given file when the service stops.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import math
import os
import platform
import pstats
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import quantiles
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from tests.support.service import ServeProcess  # noqa: E402
from tests.support.smtp_server import LoopbackSmtpServer, free_port  # noqa: E402

# Targets for a 2-core machine.
TARGET_RATE = 500.0
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.5

# A request slower than this counts as an error (the server stalled).
REQUEST_TIMEOUT_SECONDS = 30.0

CONSENT_TEXT = "J'accepte de recevoir la lettre mensuelle de la Librairie Exemple."


@dataclass(frozen=True)
class RunResult:
    label: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    # CPU time used during the timed run, in ms per request: by the server's
    # processes, and by the whole machine (load generator and database included).
    server_cpu_ms: float
    machine_cpu_ms: float

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds

    def percentile(self, rank: int) -> float:
        if len(self.latencies_ms) < 2:
            return math.nan
        return quantiles(self.latencies_ms, n=100)[rank - 1]

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    def line(self) -> str:
        return (
            f"{self.label:<22} {self.rate:8.1f} captures/s   p50 {self.p50:6.1f} ms   "
            f"p99 {self.p99:6.1f} ms   ({self.requests} requests, {self.errors} errors, "
            f"{self.seconds:.1f} s)\n"
            f"{'':<22} CPU per request: server {self.server_cpu_ms:.1f} ms, "
            f"whole machine {self.machine_cpu_ms:.1f} ms"
        )


def machine() -> str:
    """Describe the machine: CPU model, cores available (as nproc counts them), Python, kernel."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0))
    return (
        f"{cpu}, nproc {cores}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


# CPU accounting ---------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: split after it.
    return raw[raw.rindex(")") + 2 :].split()


def process_tree_cpu_seconds(root: int) -> float:
    """Return the user plus system CPU seconds of ``root`` and its live descendants.

    Without /proc it returns 0.

    ``sendguard serve --workers N`` runs its workers as child processes.
    """
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").exists() else ():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        # After the name: state, ppid, ... utime and stime are fields 14 and 15 of proc(5).
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree = {root}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sum(ticks.get(pid, 0) for pid in tree) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """Return the CPU seconds that all cores spent busy since boot (0 without /proc)."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0.0
    fields = [int(value) for value in stat.read_text().splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


# Load generator ---------------------------------------------------------------


def signup_body(form_id: str, number: int, run_id: str) -> bytes:
    body = {
        "form_id": form_id,
        "email": f"lecteur.{run_id}.{number}@example{number % 89}.org",
        "locale": "fr",
        "consent_text": CONSENT_TEXT,
        "consent_text_version": "v1",
        "privacy_policy_url": "https://librairie.example.com/confidentialite",
        "privacy_policy_version": "2026-06",
    }
    return json.dumps(body).encode()


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes
) -> int:
    # A minimal HTTP/1.1 keep-alive client: httpx's own overhead would make
    # the load generator, which shares the machine's two cores, the limit.
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nUser-Agent: sendguard-bench\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    await reader.readexactly(length)
    return status


async def _drive(
    port: int, path: str, bodies: list[bytes], concurrency: int, max_seconds: float
) -> tuple[list[float], int, int, float]:
    latencies: list[float] = []
    # Responses other than 202, and timeouts. A timed-out request has no latency.
    errors = 0
    timeouts = 0
    queue = iter(bodies)
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker() -> None:
        nonlocal errors, timeouts
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for body in queue:
                if time.perf_counter() > deadline:
                    return
                sent = time.perf_counter()
                try:
                    status = await asyncio.wait_for(
                        _post(reader, writer, path, body), REQUEST_TIMEOUT_SECONDS
                    )
                except TimeoutError:
                    # Count it and start over on a new connection.
                    errors += 1
                    timeouts += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append((time.perf_counter() - sent) * 1000)
                if status != 202:
                    errors += 1
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, timeouts, time.perf_counter() - started


def load(
    label: str,
    server: tuple[int, int],
    path: str,
    bodies: list[bytes],
    warmup: int,
    options: argparse.Namespace,
) -> RunResult:
    """Send ``warmup`` requests untimed, then the rest timed, ``concurrency`` at a time.

    ``server`` is the port and the process id. A run stops after
    ``max_seconds``; the result counts the requests sent by then.
    """
    port, pid = server
    asyncio.run(_drive(port, path, bodies[:warmup], options.concurrency, options.max_seconds))
    server_before, machine_before = process_tree_cpu_seconds(pid), machine_busy_seconds()
    latencies, errors, timeouts, seconds = asyncio.run(
        _drive(port, path, bodies[warmup:], options.concurrency, options.max_seconds)
    )
    server_used = process_tree_cpu_seconds(pid) - server_before
    machine_used = machine_busy_seconds() - machine_before
    requests = len(latencies) + timeouts
    per_request = 1000 / max(requests, 1)
    return RunResult(
        label,
        requests,
        errors,
        seconds,
        latencies,
        server_used * per_request,
        machine_used * per_request,
    )


# Databases ----------------------------------------------------------------------


@dataclass(frozen=True)
class Databases:
    service: str
    keystore: str
    bare: str
    durability: str


@contextmanager
def databases(server_url: str | None, folder: Path) -> Iterator[Databases]:
    """Yield fresh database URLs: SQLite files in ``folder``, or throwaway PostgreSQL databases."""
    if server_url is None:
        # The service's own default files; the bare endpoint gets its own file.
        yield Databases("", "", f"sqlite:///{folder / 'bare.db'}", sqlite_durability())
        return

    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    prefix = f"sgbench_{secrets.token_hex(4)}"
    names = [f"{prefix}_main", f"{prefix}_keys", f"{prefix}_bare"]
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            settings = [
                f"{row[0]}={row[1]}"
                for row in connection.execute(
                    text(
                        "SELECT name, setting FROM pg_settings WHERE name IN "
                        "('fsync', 'synchronous_commit', 'wal_sync_method') ORDER BY name"
                    )
                )
            ]
        urls = [
            make_url(server_url).set(database=name).render_as_string(hide_password=False)
            for name in names
        ]
        yield Databases(urls[0], urls[1], urls[2], ", ".join(settings))
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def sqlite_durability() -> str:
    import sqlite3

    connection = sqlite3.connect(":memory:")
    try:
        synchronous = connection.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        connection.close()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"SQLite {sqlite3.sqlite_version}, journal_mode=WAL, synchronous={names[synchronous]}"


def count_rows(url: str, table: str) -> int:
    engine: Engine = create_engine(
        make_url(url).set(drivername="postgresql+psycopg") if url.startswith("postgresql") else url
    )
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def database_sessions(urls: list[str]) -> int | None:
    """Count the sessions PostgreSQL has opened so far to these databases (None on SQLite).

    A connection pool that is too small for the load opens and closes a
    connection for many requests. This count shows it.
    """
    postgres = [url for url in urls if url.startswith("postgresql")]
    if not postgres:
        return None
    # PostgreSQL publishes session counts with a delay. 1.5 s was enough in
    # every run on the machine of docs/benchmarks-consent.md (an estimate).
    time.sleep(1.5)
    names = [make_url(url).database for url in postgres]
    engine = create_engine(make_url(postgres[0]).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            total = connection.execute(
                text(
                    "SELECT coalesce(sum(sessions), 0) FROM pg_stat_database WHERE datname = ANY(:n)"
                ),
                {"n": names},
            ).scalar_one()
            # This query's own session counts too: leave it out.
            return int(total) - 1
    finally:
        engine.dispose()


# The bare endpoint ------------------------------------------------------------------


class Capture(BaseModel):
    """The sign-up body, parsed as the service parses it, without its checks."""

    form_id: str
    email: str
    locale: str
    consent_text: str
    consent_text_version: str
    privacy_policy_url: str
    privacy_policy_version: str


def bare_app(database_url: str) -> Any:
    """Build the reference app: parse the sign-up body, insert one row, commit, return 202."""
    from fastapi import FastAPI
    from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert

    from compliance.core.db import make_engine

    # The service's engine factory, so SQLite gets the same pragmas and BEGIN IMMEDIATE.
    engine = make_engine(database_url)
    metadata = MetaData()
    captures = Table(
        "bare_captures",
        metadata,
        Column("id", String(32), primary_key=True),
        Column("form_id", String(40)),
        Column("email", String(320)),
        Column("consent_text", Text),
        Column("created_at", DateTime(timezone=True)),
    )
    metadata.create_all(engine)

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # A plain def, like the service's routes: FastAPI runs it in its thread
    # pool, and engine.begin() commits before the response is sent.
    @app.post("/capture", status_code=202)
    def capture(body: Capture) -> dict[str, str]:
        with engine.begin() as connection:
            connection.execute(
                insert(captures).values(
                    id=secrets.token_hex(16),
                    form_id=body.form_id,
                    email=body.email,
                    consent_text=body.consent_text,
                    created_at=datetime.now(UTC),
                )
            )
        return {"status": "captured"}

    return app


BARE_DATABASE_VARIABLE = "SENDGUARD_BENCH_BARE_DATABASE_URL"


def bare_app_from_environment() -> Any:
    """Build the bare app in a uvicorn worker process, which starts from an import string."""
    return bare_app(os.environ[BARE_DATABASE_VARIABLE])


def serve_bare(port: int, database_url: str, workers: int) -> None:
    import uvicorn

    # The same uvicorn settings as `sendguard serve`, --workers included.
    if workers == 1:
        uvicorn.run(
            bare_app(database_url), host="127.0.0.1", port=port, log_config=None, access_log=False
        )
        return
    os.environ[BARE_DATABASE_VARIABLE] = database_url
    uvicorn.run(
        "benchmarks.consent_capture:bare_app_from_environment",
        factory=True,
        workers=workers,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
    )


@contextmanager
def bare_server(database_url: str, folder: Path, workers: int) -> Iterator[tuple[int, int]]:
    """Start the bare endpoint; yield its port and process id."""
    port = free_port()
    log_path = folder / "bare.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "bare-serve",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--workers",
                str(workers),
            ],
            # uvicorn's worker processes import this module by name.
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bare endpoint did not start:\n{log_path.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


# Profiling the service ------------------------------------------------------------------


def profiled_serve(output: Path, argv: list[str]) -> int:
    """Run ``sendguard ARGV`` with one cProfile profiler per thread; merge them into ``output``.

    cProfile only profiles the thread that enables it, and the service's routes
    run in worker threads, so each new thread enables its own profiler.
    """
    from compliance.cli import main

    profilers: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profiler(_frame: FrameType, _event: str, _arg: object) -> None:
        profiler = cProfile.Profile()
        with lock:
            profilers.append(profiler)
        # Replaces this hook with the profiler's own for the current thread.
        profiler.enable()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    # uvicorn re-raises SIGTERM once it has shut down; exiting through
    # SystemExit instead lets the statistics be written below.
    signal.signal(signal.SIGTERM, stop)
    main_profiler = cProfile.Profile()
    profilers.append(main_profiler)
    threading.setprofile(start_thread_profiler)
    main_profiler.enable()
    try:
        code = main(argv)
    finally:
        main_profiler.disable()
        threading.setprofile(None)
        with lock:
            stats = pstats.Stats(*profilers)
        stats.dump_stats(str(output))
    return code


# Runs ------------------------------------------------------------------------------


def run_service(
    args: argparse.Namespace, dbs: Databases, folder: Path, run_id: str
) -> tuple[RunResult, int]:
    settings = {
        # One client address sends every sign-up: lift the per-IP limit.
        "SUBSCRIBE_RATE_PER_MINUTE": "100000000",
        "DEFAULT_LOCALE": "fr",
    }
    serve_command = None
    if args.profile:
        serve_command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "profile-serve",
            "--out",
            str(args.profile),
        ]

    with LoopbackSmtpServer() as smtp:
        if args.mail == "smtp":
            settings["SMTP_URL"] = smtp.url
        service = ServeProcess(
            folder / "data",
            database_url=dbs.service,
            keystore_url=dbs.keystore,
            settings=settings,
            serve_command=serve_command,
            serve_args=["--workers", str(args.workers)],
        )
        with service:
            # Each sender's sign-ups queue on its lock (the consent chain on
            # PostgreSQL): --senders spreads the load as several tenants would.
            forms = [
                service.create_sender(
                    f"Librairie Exemple {number}",
                    postal_address="12 rue des Lilas, 69003 Lyon, France",
                ).form_id
                for number in range(args.senders)
            ]
            bodies = [
                signup_body(forms[number % len(forms)], number, run_id)
                for number in range(args.warmup + args.requests)
            ]
            result = load(
                "Sendguard /v1/subscribe",
                (service.port, service.pid),
                "/v1/subscribe",
                bodies,
                args.warmup,
                args,
            )
        database = dbs.service or f"sqlite:///{folder / 'data' / 'sendguard.db'}"
        given = count_rows(database, "consent_records")
    sessions = database_sessions([dbs.service, dbs.keystore])
    if sessions is not None:
        print(
            f"database sessions opened by the service: {sessions} for "
            f"{args.warmup + result.requests} requests (main and key store databases)"
        )
    return result, given


def run_bare(args: argparse.Namespace, dbs: Databases, folder: Path, run_id: str) -> RunResult:
    with bare_server(dbs.bare, folder, args.workers) as server:
        bodies = [
            signup_body("form_bare", number, run_id)
            for number in range(args.warmup + args.requests)
        ]
        return load("bare FastAPI insert", server, "/capture", bodies, args.warmup, args)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def benchmark(args: argparse.Namespace) -> int:
    run_id = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="sgbench-") as scratch:
        folder = Path(scratch)
        with databases(args.database_url, folder) as dbs:
            backend = "PostgreSQL" if args.database_url else "SQLite"
            print(f"machine: {machine()}")
            print(f"backend: {backend} ({dbs.durability})")
            print(
                f"load: {args.requests} timed requests after {args.warmup} warm-up, "
                f"{args.concurrency} keep-alive connections, {args.workers} uvicorn worker(s), "
                f"{args.senders} sender(s); "
                "mail to "
                f"{'the loopback SMTP server' if args.mail == 'smtp' else 'the outbox folder'}"
            )

            service, stored = run_service(args, dbs, folder, run_id)
            print(service.line())
            bare = run_bare(args, dbs, folder, run_id)
            print(bare.line())
            bare_rows = count_rows(dbs.bare, "bare_captures")

    ratio = service.rate / bare.rate
    # Every request that got a 202 must have left its row in the database.
    expected = args.warmup + service.requests - service.errors
    bare_expected = args.warmup + bare.requests - bare.errors
    print(f"ratio Sendguard / bare: {ratio:.2f}")
    print(
        f"consent records stored: {stored}, expected {expected}; "
        f"bare rows stored: {bare_rows}, expected {bare_expected}"
    )
    print(
        f"targets: rate >= {TARGET_RATE:.0f}/s {verdict(service.rate >= TARGET_RATE)}, "
        f"p99 < {TARGET_P99_MS:.0f} ms {verdict(service.p99 < TARGET_P99_MS)}, "
        f"ratio >= {TARGET_RATIO} {verdict(ratio >= TARGET_RATIO)}"
    )
    if service.errors or bare.errors or stored != expected or bare_rows != bare_expected:
        print("error: some requests failed or some captures are missing", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")

    bare = commands.add_parser("bare-serve", help="serve the bare endpoint (used by the script)")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--database-url", required=True)
    bare.add_argument("--workers", type=int, default=1)

    profile = commands.add_parser("profile-serve", help="run sendguard under cProfile")
    profile.add_argument("--out", type=Path, required=True)
    profile.add_argument("sendguard_args", nargs=argparse.REMAINDER)

    parser.add_argument(
        "--database-url",
        help="PostgreSQL server URL for throwaway databases (default: SQLite files)",
    )
    parser.add_argument("--requests", type=int, default=5000, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=300, help="untimed requests first")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections")
    parser.add_argument(
        "--senders",
        type=int,
        default=1,
        help="senders the sign-ups are spread over, in turn (default 1)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="uvicorn worker processes for both endpoints (more than 1 needs --database-url)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="stop each timed run after this many seconds (default 300)",
    )
    parser.add_argument(
        "--mail",
        choices=["folder", "smtp"],
        default="folder",
        help="where the service's outbox sends: .eml files, or the loopback SMTP server",
    )
    parser.add_argument("--profile", type=Path, help="write the service's cProfile stats here")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.command == "bare-serve":
        serve_bare(args.port, args.database_url, args.workers)
        return 0
    if args.command == "profile-serve":
        return profiled_serve(args.out, args.sendguard_args)
    if args.workers > 1 and not args.database_url:
        print(
            "error: --workers above 1 needs --database-url: SQLite allows one writer process",
            file=sys.stderr,
        )
        return 2
    if args.workers > 1 and args.profile:
        print("error: --profile works with --workers 1 only", file=sys.stderr)
        return 2
    return benchmark(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
