"""Measure the delay between an RFC 8058 one-click unsubscribe and its effect on screening.

Starts the real service (``sendguard serve``, fresh data folder, SQLite by
default or PostgreSQL with --database-url) with a loopback SMTP server.
Creates a sender with the CLI, signs up N addresses and confirms each one
through the link of its confirmation email. Then, one subscriber at a time,
it sends the one-click POST of the contact's ``List-Unsubscribe`` URI and,
as soon as the response arrives, screens the address with
``POST /v1/screen`` and ``require_consent``, again and again until a
screening excludes it (at most --poll-seconds). It prints the maximum,
p50 and p99 of the delay from sending the unsubscribe to the start of the
first screening that excluded the address, and how many screenings still
kept the address.

    .venv/bin/python benchmarks/unsubscribe_delay.py
    .venv/bin/python benchmarks/unsubscribe_delay.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

With --database-url, two throwaway databases (service and key store) are
created on that server and dropped at the end. Only loopback servers
should be used.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import quantiles

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.support.service import SenderAccount, ServeProcess  # noqa: E402
from tests.support.smtp_server import LoopbackSmtpServer  # noqa: E402

CONSENT_TEXT = "J'accepte de recevoir la lettre mensuelle de la Librairie Exemple."
EMAIL_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Measure:
    # From sending the one-click POST to the start of the first screening
    # that excluded the address: the effect was in place at that moment.
    delay_ms: float
    # From sending the one-click POST to the response of that screening.
    screened_ms: float
    # From sending the one-click POST to its response.
    unsubscribe_ms: float
    # Screenings, started after the unsubscribe's response, that still kept the address.
    kept_screenings: int
    excluded: bool


@dataclass(frozen=True)
class Databases:
    service: str
    keystore: str
    label: str


def machine() -> str:
    """Describe the machine: CPU model, cores available (as nproc counts them), Python, kernel."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, nproc {len(os.sched_getaffinity(0))}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


@contextmanager
def databases(server_url: str | None, folder: Path) -> Iterator[Databases]:
    """SQLite files in ``folder``, or two throwaway PostgreSQL databases dropped at the end."""
    if not server_url:
        yield Databases(
            f"sqlite:///{folder / 'sendguard.db'}", f"sqlite:///{folder / 'keystore.db'}", "SQLite"
        )
        return
    admin_url = make_url(server_url).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    prefix = f"sgbench_unsub_{secrets.token_hex(4)}"
    names = [prefix, f"{prefix}_keys"]
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            version = connection.execute(text("SHOW server_version")).scalar_one()
        urls = [
            admin_url.set(database=name).render_as_string(hide_password=False) for name in names
        ]
        yield Databases(urls[0], urls[1], f"PostgreSQL {version}")
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


def wait_for_links(
    smtp: LoopbackSmtpServer, base_url: str, kind: str, addresses: set[str], after: int
) -> dict[str, str]:
    """Return the ``/kind/`` link of the first email each address received after ``after``."""
    pattern = re.compile(rf"{re.escape(base_url)}/{kind}/[A-Za-z0-9._-]+")
    links: dict[str, str] = {}
    deadline = time.monotonic() + EMAIL_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for message in smtp.messages[after:]:
            address = str(message["To"])
            part = message.get_body(preferencelist=("plain",))
            if address in addresses and address not in links and part is not None:
                found = pattern.search(part.get_content())
                if found:
                    links[address] = found.group(0)
        if len(links) == len(addresses):
            return links
        time.sleep(0.1)
    raise RuntimeError(
        f"only {len(links)} of {len(addresses)} emails with a /{kind}/ link arrived "
        f"within {EMAIL_TIMEOUT_SECONDS:.0f} s"
    )


def confirmed_subscribers(
    client: httpx.Client,
    service: ServeProcess,
    sender: SenderAccount,
    smtp: LoopbackSmtpServer,
    count: int,
) -> dict[str, str]:
    """Sign up and confirm ``count`` addresses; return each one's one-click unsubscribe URI."""
    run_id = secrets.token_hex(3)
    addresses = [f"lecteur.{run_id}.{number}@example{number % 17}.org" for number in range(count)]
    for address in addresses:
        response = client.post(
            "/v1/subscribe",
            json={
                "form_id": sender.form_id,
                "email": address,
                "locale": "fr",
                "consent_text": CONSENT_TEXT,
                "consent_text_version": "v1",
                "privacy_policy_url": "https://librairie.example.com/confidentialite",
                "privacy_policy_version": "2026-06",
            },
        )
        if response.status_code != 202:
            raise RuntimeError(f"POST /v1/subscribe returned {response.status_code}")
    confirm_links = wait_for_links(smtp, service.base_url, "c", set(addresses), after=0)
    for address in addresses:
        response = client.post(confirm_links[address])
        if response.status_code != 200:
            raise RuntimeError(f"the confirmation POST returned {response.status_code}")

    unsubscribe: dict[str, str] = {}
    for address in addresses:
        found = client.post(
            "/v1/contacts/lookup", json={"email": address}, headers=sender.admin_headers
        )
        contact_id = found.json()["contact_id"]
        headers = client.post(
            f"/v1/contacts/{contact_id}/unsubscribe-headers",
            json={"scope": "all"},
            headers=sender.admin_headers,
        ).json()["headers"]
        match = re.match(r"<([^>]+)>", headers["List-Unsubscribe"])
        if match is None:
            raise RuntimeError("List-Unsubscribe has no URI")
        unsubscribe[address] = match.group(1)
    return unsubscribe


def screening_keeps(client: httpx.Client, sender: SenderAccount, address: str) -> bool:
    response = client.post(
        "/v1/screen",
        json={"recipients": [address], "require_consent": True},
        headers=sender.admin_headers,
    )
    if response.status_code != 200:
        raise RuntimeError(f"POST /v1/screen returned {response.status_code}")
    return bool(response.json()["kept"] == [address])


def measure_one(
    client: httpx.Client, sender: SenderAccount, address: str, url: str, poll_seconds: float
) -> Measure:
    if not screening_keeps(client, sender, address):
        raise RuntimeError("a confirmed subscriber was excluded before its unsubscribe")
    sent = time.perf_counter()
    response = client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    answered = time.perf_counter()
    if response.status_code != 200:
        raise RuntimeError(f"the one-click POST returned {response.status_code}")
    kept = 0
    while time.perf_counter() - answered < poll_seconds:
        started = time.perf_counter()
        if not screening_keeps(client, sender, address):
            screened = time.perf_counter()
            return Measure(
                (started - sent) * 1000,
                (screened - sent) * 1000,
                (answered - sent) * 1000,
                kept,
                True,
            )
        kept += 1
    return Measure(math.inf, math.inf, (answered - sent) * 1000, kept, False)


def percentile(values: list[float], rank: int) -> float:
    if len(values) < 2:
        return values[0] if values else math.nan
    return quantiles(values, n=100, method="inclusive")[rank - 1]


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="sg-unsub-") as scratch:
        folder = Path(scratch)
        with databases(args.database_url, folder) as dbs, LoopbackSmtpServer() as smtp:
            settings = {
                # One client address sends every sign-up: lift the per-IP limit.
                "SUBSCRIBE_RATE_PER_MINUTE": "100000000",
                "SMTP_URL": smtp.url,
                "DEFAULT_LOCALE": "fr",
            }
            with ServeProcess(
                folder / "data",
                database_url=dbs.service,
                keystore_url=dbs.keystore,
                settings=settings,
            ) as service:
                sender = service.create_sender(
                    "Librairie Exemple", postal_address="12 rue des Lilas, 69003 Lyon, France"
                )
                with httpx.Client(base_url=service.base_url, timeout=30) as client:
                    links = confirmed_subscribers(client, service, sender, smtp, args.subscribers)
                    measures = [
                        measure_one(client, sender, address, url, args.poll_seconds)
                        for address, url in links.items()
                    ]
        report(dbs.label, measures)
    return 0 if all(measure.excluded for measure in measures) else 1


def report(label: str, measures: list[Measure]) -> None:
    delays = [measure.delay_ms for measure in measures if measure.excluded]
    screened = [measure.screened_ms for measure in measures if measure.excluded]
    posts = [measure.unsubscribe_ms for measure in measures]
    print(f"machine: {machine()}")
    print(f"database: {label}")
    print(f"subscribers: {len(measures)}, excluded: {len(delays)}")
    if delays:
        print(
            f"delay unsubscribe -> first excluding screening: max {max(delays):.1f} ms, "
            f"p50 {percentile(delays, 50):.1f} ms, p99 {percentile(delays, 99):.1f} ms"
        )
        print(
            f"delay unsubscribe -> response of that screening: max {max(screened):.1f} ms, "
            f"p50 {percentile(screened, 50):.1f} ms, p99 {percentile(screened, 99):.1f} ms"
        )
    print(
        f"one-click POST response: max {max(posts):.1f} ms, p50 {percentile(posts, 50):.1f} ms, "
        f"p99 {percentile(posts, 99):.1f} ms"
    )
    print(
        "screenings after the unsubscribe's response that still kept the address: "
        f"{sum(measure.kept_screenings for measure in measures)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--subscribers", type=int, default=200, help="confirmed subscribers to unsubscribe"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server URL on loopback; throwaway databases are created on it",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=10.0,
        help="how long to keep screening an address before counting it as never excluded",
    )
    args = parser.parse_args()
    if args.subscribers < 1:
        parser.error("--subscribers must be at least 1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
