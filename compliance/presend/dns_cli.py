"""``sendguard dns check DOMAIN``: the DNS authentication check of a sending domain.

Exit codes follow the rest of the command line: 0 pass (warnings allowed),
1 a finding blocks the send, 2 usage error, 3 could not run (unreadable or
invalid zone file, no DNS configuration).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import dns.resolver

from compliance.checks.dns_lookup import ZoneFileError
from compliance.checks.domain import InvalidDomainError, normalize_domain
from compliance.checks.domain_options import (
    DEFAULT_BUDGET_SECONDS,
    CheckPart,
    DomainOptionError,
    build_options,
)
from compliance.checks.domain_report import run_domain_check
from compliance.checks.esp_profiles import PROFILES
from compliance.checks.report import render_text
from compliance.checks.resolver import DnsResolver, DnsSource
from compliance.checks.zone_source import ZoneSource
from compliance.core.settings import Settings

# The same values as compliance.cli, which imports this module.
EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_USAGE = 2
EXIT_CANNOT_RUN = 3


def add_dns_parser(subparsers: Any) -> None:
    """Register ``dns check`` on the ``sendguard`` sub-command parsers."""
    dns_parser = subparsers.add_parser("dns", help="DNS authentication checks of a sending domain")
    commands = dns_parser.add_subparsers(dest="dns_command", required=True)

    check = commands.add_parser(
        "check",
        help="check SPF, DKIM, DMARC, MX, reverse DNS and the ESP's records of a domain",
    )
    check.add_argument("domain", help="the From domain, e.g. news.example.org")

    check.add_argument("--esp", choices=sorted(PROFILES), help="ESP profile whose records to check")

    # Where DNS answers come from.
    check.add_argument(
        "--zone",
        help="zone file (BIND master format) that resolves names inside the zone, to check "
        "records before they are published; other names go to --nameserver, if given",
    )
    check.add_argument(
        "--nameserver",
        action="append",
        default=[],
        help="DNS server as host:port (repeatable); default: SENDGUARD_DNS_NAMESERVERS or system",
    )

    # What to check, beyond the records found under the domain.
    check.add_argument(
        "--selector", action="append", default=[], help="DKIM selector to check (repeatable)"
    )
    check.add_argument("--ip", action="append", default=[], help="sending IP address (repeatable)")
    check.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="account-specific value of the ESP profile, e.g. return_path_host=em1234 (repeatable)",
    )
    check.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=[part.value for part in CheckPart],
        help="part of the check to skip (repeatable)",
    )
    check.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_SECONDS,
        help=f"maximum time in seconds for all DNS queries (default {DEFAULT_BUDGET_SECONDS:g})",
    )

    # Output.
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--lang",
        choices=["fr", "en"],
        help="language of the text report (default: SENDGUARD_DEFAULT_LOCALE)",
    )
    check.set_defaults(handler=cmd_dns_check)


def cmd_dns_check(args: argparse.Namespace, settings: Settings) -> int:
    """Run the check and print the report; return the exit code."""
    try:
        domain = normalize_domain(args.domain, field="domain")
    except InvalidDomainError as error:
        return _usage(str(error))

    account: dict[str, str] = {}
    for entry in args.account:
        name, equals, value = entry.partition("=")
        if not equals or not name.strip():
            return _usage(f"--account {name.strip() or entry[:20]!r} is invalid: write NAME=VALUE")
        account[name.strip()] = value.strip()

    try:
        options = build_options(
            esp=args.esp,
            dkim_selectors=args.selector,
            sending_ips=args.ip,
            account=account,
            skip=args.skip,
            budget_seconds=args.budget,
        )
    except DomainOptionError as error:
        return _usage(str(error))

    try:
        source = _source(args, settings)
    except OSError as error:
        return _cannot_run(f"cannot read zone file {args.zone}: {error.strerror}")
    except ZoneFileError as error:
        return _cannot_run(str(error))
    except dns.resolver.NoResolverConfiguration:
        return _cannot_run(
            "no DNS server is configured on this system: give --nameserver host:port "
            "or set SENDGUARD_DNS_NAMESERVERS"
        )
    except ValueError as error:
        return _usage(str(error))

    report = run_domain_check(domain, source, options)

    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report, args.lang or settings.default_locale))
    if report.blocked:
        return EXIT_BLOCKED
    # A check that could not run proves nothing: a CI gate must not pass on it.
    return EXIT_CANNOT_RUN if report.unknown else EXIT_OK


def _source(args: argparse.Namespace, settings: Settings) -> DnsSource:
    configured = [entry for entry in settings.dns_nameservers.split(",") if entry.strip()]
    servers = args.nameserver or configured
    timeout = settings.dns_timeout_seconds
    if args.zone:
        # With a zone file the check sends no query unless a server is named,
        # so names outside the zone are reported as unknown.
        fallback = DnsResolver.from_nameservers(servers, timeout=timeout) if servers else None
        return ZoneSource.from_file(args.zone, fallback=fallback)
    if servers:
        return DnsResolver.from_nameservers(servers, timeout=timeout)
    return DnsResolver.from_system(timeout=timeout)


def _usage(message: str) -> int:
    print(f"sendguard: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _cannot_run(message: str) -> int:
    print(f"sendguard: error: {message}", file=sys.stderr)
    return EXIT_CANNOT_RUN
