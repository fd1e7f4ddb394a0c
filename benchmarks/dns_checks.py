"""Benchmark the full DNS check against checkdmarc on the same loopback zone.

Serves N generated sending domains from the loopback test DNS server, which
delays every reply by ``--delay-ms`` as a distant server would. Then it runs
these two checks on the same server, each with a cold cache:

1. Sendguard's :func:`~compliance.checks.domain_report.check_domain` for every
   domain (SPF with evaluation and lint, DKIM for the SendGrid profile's two
   selectors, DMARC, MX, the profile's records), up to ``--concurrency``
   domains at a time;
2. checkdmarc's ``check_spf``, ``check_dmarc`` and ``check_mx`` for every
   domain, one after the other as its API runs, pointed at the same server
   with ``nameservers=[Do53Nameserver(ip, port)]`` (it has no DKIM check).

It prints the machine, the counts, the total time, the p50 and p95 time per
domain and the ratio of the totals. Every query goes to 127.0.0.1 only. To
be sure that nothing else is reached, run it in a network namespace that has
only loopback (as root)::

    unshare -n sh -c 'ip link set lo up && .venv/bin/python benchmarks/dns_checks.py'

checkdmarc is not a runtime dependency: install the ``bench`` extra first.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import multiprocessing
import os
import platform
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from compliance.checks.domain_options import build_options  # noqa: E402
from compliance.checks.domain_report import check_domain  # noqa: E402
from compliance.checks.findings import CheckReport  # noqa: E402
from compliance.checks.resolver import DnsResolver  # noqa: E402
from tests.support.dns_server import LoopbackDnsServer  # noqa: E402

# A 2048-bit RSA public key generated for the test fixtures.
FIXTURE_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuj91ogh/dof0CtKUNhCmovUmYXElSSrmoEDVUbip0zJD"
    "PAI01jwsNy91tgWQVUMDSFk48CH67qllyBTOycBcT+qmXTOh6jNvU38coujiyWJTbkBly9x58ABqenhVSLHUcTl5"
    "YhzVc1UxFpShh4jvGdtzdGdDS2hTrhnUpYDa15hbMT1CufSK03PUIW6QwgLnHwtFHUlIL7ay1sx5bMJ5GVkGuPYt"
    "dh0pb4zAOg0wDUAWsOCCrYg/EPerIn9kiLkpE1fVmLth224H+kqZHggpWrcoEVNfjLFDeD3h9fQ5WcLIet3uLOBP"
    "pOIGGOLIZIbf8q3+Ur/zZ5KQnLv658lLcQIDAQAB"
)


class ServerProcess:
    """The loopback DNS server in a child process, so that its threads and the checks
    under test do not share one interpreter lock."""

    def __init__(self, count: int, delay_seconds: float) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(count, delay_seconds, child))

    def __enter__(self) -> ServerProcess:
        self._process.start()
        self.host, self.port = self._connection.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._connection.send("stop")
        self._process.join(timeout=10)

    @property
    def nameserver(self) -> str:
        """The server as host:port."""
        return f"{self.host}:{self.port}"

    def query_count(self) -> int:
        """Return the number of queries the server has received so far."""
        self._connection.send("count")
        count: int = self._connection.recv()
        return count


def _serve(count: int, delay_seconds: float, connection: Connection) -> None:
    server = build_server(count, delay_seconds)
    with server:
        connection.send(server.address)
        while (command := connection.recv()) != "stop":
            assert command == "count"
            connection.send(len(server.queries))


def build_server(count: int, delay_seconds: float) -> LoopbackDnsServer:
    """Serve ``count`` domains set up for SendGrid, with their ESP-side records."""
    server = LoopbackDnsServer(delay_seconds=delay_seconds)
    for origin in ("example.com.", "example.net.", "sendgrid.net."):
        server.add_zone(origin)
    server.add_record("_spf.esp.example.net", "TXT", '"v=spf1 ip4:198.51.100.0/24 -all"')
    key = " ".join(f'"{FIXTURE_KEY[i : i + 200]}"' for i in range(0, len(FIXTURE_KEY), 200))
    for number in range(count):
        domain = f"sender{number}.example.com"
        user = f"u{number}.wl001.sendgrid.net"
        server.add_record(
            domain,
            "TXT",
            f'"v=spf1 include:_spf.esp.example.net ip4:192.0.2.{number % 250}/32 -all"',
        )
        server.add_record(domain, "MX", f"10 mx.{domain}.")
        server.add_record(f"mx.{domain}", "A", "192.0.2.25")
        server.add_record(
            f"_dmarc.{domain}", "TXT", f'"v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}"'
        )
        server.add_record(f"em{number}.{domain}", "CNAME", f"{user}.")
        for selector in ("s1", "s2"):
            server.add_record(
                f"{selector}._domainkey.{domain}", "CNAME", f"{selector}.domainkey.{user}."
            )
            server.add_record(f"{selector}.domainkey.{user}", "TXT", f'"k=rsa; p=" {key}')
    return server


async def run_sendguard(
    server: ServerProcess, count: int, concurrency: int
) -> tuple[float, list[float], list[CheckReport]]:
    """Check every domain, ``concurrency`` at a time; return the total and per-domain times."""
    resolver = DnsResolver.from_nameservers([server.nameserver], timeout=2.0)
    limit = asyncio.Semaphore(concurrency)
    durations: list[float] = []

    async def one(number: int) -> CheckReport:
        options = build_options(
            esp="sendgrid", account={"return_path_host": f"em{number}"}, budget_seconds=10.0
        )
        async with limit:
            started = time.perf_counter()
            report = await check_domain(f"sender{number}.example.com", resolver, options)
            durations.append(time.perf_counter() - started)
        return report

    started = time.perf_counter()
    reports = await asyncio.gather(*(one(number) for number in range(count)))
    return time.perf_counter() - started, durations, list(reports)


def run_checkdmarc(server: ServerProcess, count: int) -> tuple[float, list[float], int]:
    """Run checkdmarc's SPF, DMARC and MX checks on every domain, one after the other."""
    import checkdmarc.utils  # type: ignore[import-untyped]
    from checkdmarc.dmarc import check_dmarc  # type: ignore[import-untyped]
    from checkdmarc.smtp import check_mx  # type: ignore[import-untyped]
    from checkdmarc.spf import check_spf  # type: ignore[import-untyped]
    from dns.nameserver import Do53Nameserver

    checkdmarc.utils.DNS_CACHE.clear()
    nameservers = [Do53Nameserver(server.host, server.port)]
    durations: list[float] = []
    errors = 0
    started = time.perf_counter()
    for number in range(count):
        domain = f"sender{number}.example.com"
        domain_started = time.perf_counter()
        spf = check_spf(domain, nameservers=nameservers, timeout=2.0)
        dmarc = check_dmarc(domain, nameservers=nameservers, timeout=2.0)
        mx = check_mx(domain, nameservers=nameservers, timeout=2.0)
        durations.append(time.perf_counter() - domain_started)
        errors += sum(1 for result in (spf, dmarc) if "error" in result) + ("error" in mx)
    return time.perf_counter() - started, durations, errors


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's processor name."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--domains", type=int, default=1000, help="number of domains (default 1000)"
    )
    parser.add_argument(
        "--delay-ms", type=float, default=30.0, help="delay added to every DNS reply, in ms"
    )
    parser.add_argument(
        "--concurrency", type=int, default=20, help="domains checked at once by Sendguard"
    )
    parser.add_argument("--skip-checkdmarc", action="store_true", help="run Sendguard only")
    args = parser.parse_args()

    print(f"date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(f"machine: nproc {os.cpu_count()}, CPU {cpu_model()}, Python {platform.python_version()}")
    print(f"domains: {args.domains}, delay per DNS reply: {args.delay_ms:g} ms")

    with ServerProcess(args.domains, args.delay_ms / 1000) as server:
        total, durations, reports = asyncio.run(
            run_sendguard(server, args.domains, args.concurrency)
        )
        queries = server.query_count()
        blocked = sum(1 for report in reports if report.blocked)
        unknown = sum(
            1 for report in reports for f in report.findings if f.check.endswith(".unknown")
        )
        print(
            f"sendguard: total {total:.2f} s, p50 {percentile(durations, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(durations, 0.95) * 1000:.0f} ms per domain, {queries} queries, "
            f"{blocked} blocked reports, {unknown} unknown findings, concurrency {args.concurrency}"
        )
        if args.skip_checkdmarc:
            return 0

        reference_total, reference_durations, errors = run_checkdmarc(server, args.domains)
        reference_queries = server.query_count() - queries
        print(
            f"checkdmarc: total {reference_total:.2f} s, "
            f"p50 {percentile(reference_durations, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(reference_durations, 0.95) * 1000:.0f} ms per domain, "
            f"{reference_queries} queries, {errors} errors (SPF, DMARC and MX only)"
        )
        print(f"ratio of totals (checkdmarc / sendguard): {reference_total / total:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
