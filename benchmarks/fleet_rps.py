"""Measure requests per second of ``sendguard serve`` with 1 and then 2 HTTP worker processes.

For each worker count, the script creates two throwaway PostgreSQL
databases (service and key store) on a loopback server and starts
``sendguard serve --workers N --no-background`` on 127.0.0.1, with one
``sendguard worker`` process beside it that drains the outbox. It creates
a sender with the CLI and signs up --contacts addresses, then drives two
loads from keep-alive connections on loopback, each for a warm-up and then
a timed window:

- read: ``GET /v1/contacts/{id}/consent`` with the admin key, cycling over
  the signed-up contacts. The route reads the contact and its consent
  records, and decrypts them with the contact's data key from the key store;
- write: ``POST /v1/subscribe`` with a distinct address each time. The
  response is sent after the contact, its consent record, its data key and
  the confirmation email's outbox row have committed.

It prints the machine, the load average before each case, requests per
second, p50 and p99 latency, and the CPU time of the client, the serve
processes, the worker and the whole machine during each timed window. The
client runs on the same machine and takes CPU from the servers, so the
rates are lower bounds for the server on its own. Last, it stops the
worker, queues emails by sign-ups for --backlog-seconds, and times one new
worker sending that backlog (to .eml files, as no SMTP relay is set).

    .venv/bin/python benchmarks/fleet_rps.py --seconds 15
    .venv/bin/python benchmarks/fleet_rps.py --seconds 120 --warmup-seconds 15 --concurrency 32

Only a loopback PostgreSQL server is accepted. The sign-up rate limit is
raised for the run, because every request comes from one client address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import quantiles

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.support.service import BIN, SenderAccount, ServeProcess  # noqa: E402

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
CONSENT_TEXT = "J'accepte de recevoir la lettre mensuelle de la Librairie Exemple."
# A request slower than this counts as an error (the server stalled).
REQUEST_TIMEOUT_SECONDS = 30.0
WORKER_STOP_SECONDS = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# Machine ------------------------------------------------------------------------


def machine() -> str:
    """Describe the machine: CPU model, cores available (as nproc counts them), RAM, Python, kernel."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown RAM"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB RAM"
                break
    return (
        f"{cpu}, nproc {len(os.sched_getaffinity(0))}, {ram}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def process_seconds(pid: int) -> float:
    """Return the user plus system CPU seconds of one process, or 0 once it has exited."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: field 3 is the state, so utime and stime
    # (fields 14 and 15 of proc(5)) sit at indexes 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_tree(root: int) -> list[int]:
    """Return ``root`` and its descendants, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found = [root]
    for pid in found:
        found.extend(children.get(pid, []))
    return found


def machine_busy_seconds() -> tuple[float, float]:
    """Return the busy and total CPU seconds of the whole machine, summed over cores."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # idle and iowait are the 4th and 5th columns of the "cpu" line.
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass(frozen=True)
class CpuSample:
    client: float
    serve: float
    worker: float
    machine_busy: float
    machine_total: float


def sample_cpu(serve_pids: list[int], worker_pid: int) -> CpuSample:
    own = os.times()
    busy, total = machine_busy_seconds()
    return CpuSample(
        client=own.user + own.system,
        serve=sum(process_seconds(pid) for pid in serve_pids),
        worker=process_seconds(worker_pid),
        machine_busy=busy,
        machine_total=total,
    )


# Databases ----------------------------------------------------------------------


@dataclass(frozen=True)
class Databases:
    service: str
    keystore: str


def loopback_url(server_url: str) -> str:
    """Return ``server_url`` for psycopg 3, or raise ValueError unless it is on loopback."""
    parsed = make_url(server_url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("--database-url must be a postgresql:// URL")
    if parsed.host not in LOOPBACK_HOSTS:
        raise ValueError(
            "--database-url must point at a loopback server (127.0.0.1, ::1 or localhost)"
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def server_version(admin_url: str) -> str:
    admin = create_engine(admin_url)
    try:
        with admin.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        admin.dispose()


@contextmanager
def databases(admin_url: str) -> Iterator[Databases]:
    """Create a service and a key store database, and drop both at the end."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    prefix = f"sgbench_fleet_{secrets.token_hex(4)}"
    names = [prefix, f"{prefix}_keys"]
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        urls = [
            make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            for name in names
        ]
        yield Databases(urls[0], urls[1])
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


def outbox_counts(database_url: str) -> tuple[int, int]:
    """Return the pending and the sent rows of the outbox."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT status, count(*) FROM outbox_messages "
                    "WHERE status IN ('pending', 'sent') GROUP BY status"
                )
            ).all()
    finally:
        engine.dispose()
    counts = {str(status): int(count) for status, count in rows}
    return counts.get("pending", 0), counts.get("sent", 0)


def wait_for_outbox(database_url: str, timeout_seconds: float) -> tuple[int, float]:
    """Wait until no outbox row is pending; return the rows sent meanwhile and the seconds taken."""
    started = time.perf_counter()
    pending, sent_before = outbox_counts(database_url)
    sent = sent_before
    while pending and time.perf_counter() - started < timeout_seconds:
        time.sleep(0.2)
        pending, sent = outbox_counts(database_url)
    if pending:
        raise RuntimeError(
            f"{pending} outbox rows were still pending {timeout_seconds:.0f} s after the write load"
        )
    return sent - sent_before, time.perf_counter() - started


def count_contacts(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM contacts")).scalar_one())
    finally:
        engine.dispose()


# Load generator -------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: Request) -> int:
    """Send one HTTP/1.1 request on a keep-alive connection and return the status code.

    A minimal client, because httpx's own CPU cost would make the load
    generator, which shares the machine's cores with the servers, the limit.
    """
    head = [f"{request.method} {request.path} HTTP/1.1", "Host: 127.0.0.1"]
    head += [f"{name}: {value}" for name, value in request.headers.items()]
    head.append(f"Content-Length: {len(request.body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + request.body)
    await writer.drain()

    response_head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(response_head[0].split(" ", 2)[1])
    length = 0
    for line in response_head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        elif name.strip().lower() == "transfer-encoding":
            raise RuntimeError("chunked responses are not supported by this load generator")
    await reader.readexactly(length)
    return status


@dataclass
class Window:
    latencies_ms: list[float]
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0


async def drive(
    port: int,
    next_request: Callable[[], Request],
    expected_status: int,
    concurrency: int,
    seconds: float,
) -> Window:
    """Keep ``concurrency`` connections busy for ``seconds``; count every request started."""
    window = Window(latencies_ms=[])
    started = time.perf_counter()
    deadline = started + seconds

    async def connection_loop() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                request = next_request()
                sent = time.perf_counter()
                window.requests += 1
                try:
                    status = await asyncio.wait_for(
                        send(reader, writer, request), REQUEST_TIMEOUT_SECONDS
                    )
                except TimeoutError:
                    # The connection is in an unknown state: count and reconnect.
                    window.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                window.latencies_ms.append((time.perf_counter() - sent) * 1000)
                if status != expected_status:
                    window.errors += 1
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(connection_loop() for _ in range(concurrency)))
    window.seconds = time.perf_counter() - started
    return window


# Cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    workers: int
    load: str
    window: Window
    cpu: CpuSample
    # Outbox rows the worker marked sent during the timed window, and the
    # rows still pending at its end.
    outbox_sent: int
    outbox_pending: int

    @property
    def rate(self) -> float:
        return (self.window.requests - self.window.errors) / self.window.seconds

    def percentile(self, rank: int) -> float:
        if len(self.window.latencies_ms) < 2:
            return math.nan
        return quantiles(self.window.latencies_ms, n=100)[rank - 1]

    def line(self) -> str:
        seconds = self.window.seconds
        cores = len(os.sched_getaffinity(0))
        machine_share = (
            self.cpu.machine_busy / self.cpu.machine_total if self.cpu.machine_total else 0
        )
        return (
            f"workers {self.workers}  {self.load:<5} {self.rate:8.1f} req/s   "
            f"p50 {self.percentile(50):6.1f} ms   p99 {self.percentile(99):6.1f} ms   "
            f"({self.window.requests} requests, {self.window.errors} errors, {seconds:.1f} s)\n"
            f"    CPU in cores: client {self.cpu.client / seconds:.2f}, "
            f"serve {self.cpu.serve / seconds:.2f}, worker {self.cpu.worker / seconds:.2f}; "
            f"whole machine {machine_share * 100:.0f} % busy of {cores} cores\n"
            f"    outbox: {self.outbox_sent} emails sent by the worker during the window "
            f"({self.outbox_sent / seconds:.1f}/s), {self.outbox_pending} pending at its end"
        )


def signup_body(form_id: str, address: str) -> bytes:
    return json.dumps(
        {
            "form_id": form_id,
            "email": address,
            "locale": "fr",
            "consent_text": CONSENT_TEXT,
            "consent_text_version": "v1",
            "privacy_policy_url": "https://librairie.example.com/confidentialite",
            "privacy_policy_version": "2026-06",
        }
    ).encode()


@dataclass(frozen=True)
class SeededContact:
    sender: SenderAccount
    contact_id: str


def seed_contacts(
    service: ServeProcess, senders: list[SenderAccount], count: int
) -> list[SeededContact]:
    """Sign up ``count`` addresses, spread over ``senders``, and return their contact ids."""
    run_id = secrets.token_hex(3)
    planned = [
        (senders[number % len(senders)], f"lecteur.{run_id}.{number}@example{number % 17}.org")
        for number in range(count)
    ]
    seeded = []
    with httpx.Client(base_url=service.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        for sender, address in planned:
            response = client.post(
                "/v1/subscribe",
                content=signup_body(sender.form_id, address),
                headers={"Content-Type": "application/json"},
            )
            if response.status_code != 202:
                raise RuntimeError(f"POST /v1/subscribe returned {response.status_code}")
        for sender, address in planned:
            found = client.post(
                "/v1/contacts/lookup", json={"email": address}, headers=sender.admin_headers
            )
            if found.status_code != 200:
                raise RuntimeError(f"POST /v1/contacts/lookup returned {found.status_code}")
            seeded.append(SeededContact(sender, found.json()["contact_id"]))
    return seeded


def read_requests(contacts: list[SeededContact]) -> Callable[[], Request]:
    counter = iter(range(sys.maxsize))

    def next_request() -> Request:
        contact = contacts[next(counter) % len(contacts)]
        return Request(
            "GET", f"/v1/contacts/{contact.contact_id}/consent", contact.sender.admin_headers
        )

    return next_request


def write_requests(senders: list[SenderAccount]) -> Callable[[], Request]:
    """Return a source of sign-ups with distinct addresses, sent to the senders in turn."""
    counter = iter(range(sys.maxsize))
    run_id = secrets.token_hex(3)
    headers = {"Content-Type": "application/json", "User-Agent": "sendguard-bench"}

    def next_request() -> Request:
        number = next(counter)
        form_id = senders[number % len(senders)].form_id
        address = f"abonne.{run_id}.{number}@example{number % 89}.org"
        return Request("POST", "/v1/subscribe", headers, signup_body(form_id, address))

    return next_request


def measure(
    workers: int,
    load: str,
    service: ServeProcess,
    worker_pid: int,
    next_request: Callable[[], Request],
    expected_status: int,
    database_url: str,
    args: argparse.Namespace,
) -> CaseResult:
    """Run the warm-up, then the timed window, and sample CPU time around the timed window."""
    asyncio.run(
        drive(service.port, next_request, expected_status, args.concurrency, args.warmup_seconds)
    )
    serve_pids = process_tree(service.pid)
    _, sent_before = outbox_counts(database_url)
    before = sample_cpu(serve_pids, worker_pid)
    window = asyncio.run(
        drive(service.port, next_request, expected_status, args.concurrency, args.seconds)
    )
    after = sample_cpu(serve_pids, worker_pid)
    pending_after, sent_after = outbox_counts(database_url)
    used = CpuSample(
        client=after.client - before.client,
        serve=after.serve - before.serve,
        worker=after.worker - before.worker,
        machine_busy=after.machine_busy - before.machine_busy,
        machine_total=after.machine_total - before.machine_total,
    )
    return CaseResult(workers, load, window, used, sent_after - sent_before, pending_after)


def worker_log(service: ServeProcess) -> Path:
    return service.data_dir.parent / f"{service.data_dir.name}-worker.log"


@contextmanager
def outbox_worker(service: ServeProcess) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``sendguard worker`` with the service's environment; stop it with SIGTERM."""
    with worker_log(service).open("wb") as log_file:
        process = subprocess.Popen(
            [str(BIN / "sendguard"), "worker"],
            env=service.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_case(workers: int, admin_url: str, args: argparse.Namespace) -> list[CaseResult]:
    """Measure the read and the write load against ``workers`` serve processes."""
    print(f"load average before workers={workers}: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="sg-fleet-") as scratch, databases(admin_url) as dbs:
        settings = {
            # One client address sends every sign-up: lift the per-client
            # limit, so that it does not cap the measured rate.
            "SUBSCRIBE_RATE_PER_MINUTE": "100000000",
            "RATE_LIMIT_STORE": args.rate_limit_store,
            "DEFAULT_LOCALE": "fr",
        }
        service = ServeProcess(
            Path(scratch) / "data",
            database_url=dbs.service,
            keystore_url=dbs.keystore,
            settings=settings,
            serve_args=["--workers", str(workers), "--no-background"],
        )
        with service:
            senders = [
                service.create_sender(
                    f"Librairie Exemple {number}",
                    postal_address="12 rue des Lilas, 69003 Lyon, France",
                )
                for number in range(args.senders)
            ]
            read, write, stored = measure_loads(workers, service, senders, dbs.service, args)
            measure_backlog_drain(service, dbs.service, write_requests(senders), args)

        # A 202 is sent only after the commit, so every accepted sign-up of
        # the warm-up and of the timed window must have left its contact.
        accepted = write.window.requests - write.window.errors
        if stored < accepted:
            raise RuntimeError(
                f"{stored} contacts were stored for {accepted} accepted sign-ups in the timed window"
            )
    return [read, write]


def measure_loads(
    workers: int,
    service: ServeProcess,
    senders: list[SenderAccount],
    database_url: str,
    args: argparse.Namespace,
) -> tuple[CaseResult, CaseResult, int]:
    """Run the read and the write load beside one worker; return both and the contacts written."""
    with outbox_worker(service) as worker:
        contacts = seed_contacts(service, senders, args.contacts)
        read = measure(
            workers, "read", service, worker.pid, read_requests(contacts), 200, database_url, args
        )
        print(read.line(), flush=True)

        before_writes = count_contacts(database_url)
        write = measure(
            workers, "write", service, worker.pid, write_requests(senders), 202, database_url, args
        )
        print(write.line(), flush=True)
        stored = count_contacts(database_url) - before_writes

        drained, drain_seconds = wait_for_outbox(database_url, args.drain_seconds)
        print(
            f"    outbox after the window: the last {drained} queued emails were sent "
            f"{drain_seconds:.1f} s after it ended",
            flush=True,
        )
        if worker.poll() is not None:
            raise RuntimeError(
                f"sendguard worker exited with status {worker.returncode}:\n"
                + worker_log(service).read_text(errors="replace")[-4000:]
            )

    print(f"    contacts stored by the write load (warm-up included): {stored}", flush=True)
    return read, write, stored


def measure_backlog_drain(
    service: ServeProcess,
    database_url: str,
    next_request: Callable[[], Request],
    args: argparse.Namespace,
) -> None:
    """Queue emails by sign-ups while no worker runs, then time one worker sending them all.

    The rate counts from the first email sent, so the worker's start-up is
    left out. With no SMTP relay configured, the worker writes .eml files.
    """
    asyncio.run(drive(service.port, next_request, 202, args.concurrency, args.backlog_seconds))
    backlog, sent_before = outbox_counts(database_url)
    with outbox_worker(service) as worker:
        first_sent_at: float | None = None
        sent_at_first = sent_before
        pending = backlog
        deadline = time.perf_counter() + args.drain_seconds
        while pending and time.perf_counter() < deadline:
            time.sleep(0.1)
            pending, sent = outbox_counts(database_url)
            if first_sent_at is None and sent > sent_before:
                first_sent_at, sent_at_first = time.perf_counter(), sent
                cpu_at_first = process_seconds(worker.pid)
        finished_at = time.perf_counter()
        cpu_used = process_seconds(worker.pid) - cpu_at_first if first_sent_at else 0.0
    if pending or first_sent_at is None:
        raise RuntimeError(
            f"{pending} of {backlog} queued emails were still pending after {args.drain_seconds:.0f} s"
        )
    seconds = finished_at - first_sent_at
    drained = sent - sent_at_first
    print(
        f"    outbox backlog: {backlog} emails queued with no worker running; one worker then "
        f"sent them at {drained / seconds:.1f}/s ({drained} in {seconds:.1f} s after its first), "
        f"worker CPU {cpu_used / seconds:.2f} cores",
        flush=True,
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_SERVER_URL,
        help=f"loopback PostgreSQL server for throwaway databases (default {DEFAULT_SERVER_URL})",
    )

    parser.add_argument(
        "--workers",
        default="1,2",
        help="comma-separated serve worker counts, run in this order (default 1,2)",
    )

    parser.add_argument(
        "--seconds", type=float, default=15.0, help="timed window per load, in seconds"
    )

    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=5.0,
        help="untimed load before each timed window, in seconds",
    )

    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive client connections")

    parser.add_argument(
        "--rate-limit-store",
        choices=["auto", "memory", "database"],
        default="auto",
        help=(
            "SENDGUARD_RATE_LIMIT_STORE for the service (default auto: the database store on"
            " PostgreSQL, where every sign-up of this one client updates one counter row)"
        ),
    )

    parser.add_argument(
        "--senders",
        type=int,
        default=1,
        help=(
            "senders that share the load, in turn (default 1). Sign-ups of one sender"
            " wait for each other on the sender's row lock, those of different senders do not"
        ),
    )

    parser.add_argument(
        "--backlog-seconds",
        type=float,
        default=10.0,
        help="sign-up load with no worker running, to queue emails for the drain measurement",
    )

    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=300.0,
        help="how long to wait for the worker to send the queued emails after the write load",
    )

    parser.add_argument(
        "--contacts", type=int, default=200, help="contacts signed up for the read load"
    )

    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject invalid values through ``parser.error``; set ``worker_counts`` and ``admin_url``."""
    try:
        args.worker_counts = [int(value) for value in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers must be comma-separated integers, got {args.workers!r}")
    if any(count < 1 for count in args.worker_counts):
        parser.error("--workers values must be 1 or more")

    if args.seconds <= 0 or args.backlog_seconds <= 0 or args.warmup_seconds < 0:
        parser.error(
            "--seconds and --backlog-seconds must be positive, --warmup-seconds zero or more"
        )
    if args.concurrency < 1 or args.contacts < 1 or args.senders < 1:
        parser.error("--concurrency, --contacts and --senders must be 1 or more")

    try:
        args.admin_url = loopback_url(args.database_url)
    except ValueError as error:
        parser.error(str(error))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}")
    print(f"database: PostgreSQL {server_version(args.admin_url)} on loopback")
    print(
        f"load: {args.concurrency} keep-alive connections from one asyncio client process, "
        f"{args.warmup_seconds:g} s warm-up then {args.seconds:g} s timed per load; "
        "serve --no-background with one `sendguard worker`; "
        f"rate-limit store {args.rate_limit_store}; {args.senders} sender(s), "
        f"{args.contacts} contacts for the read load"
    )
    print(
        "note: the client, the servers, the worker and PostgreSQL share this machine's cores; "
        "the CPU line of each load shows how much the client took"
    )
    results = []
    for workers in args.worker_counts:
        results.extend(run_case(workers, args.admin_url, args))
    failed = [result for result in results if result.window.errors]
    if failed:
        print("error: some requests failed or timed out (see the errors counts)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
