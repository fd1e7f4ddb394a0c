"""``sendguard check``: the pre-send checks on an .eml file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from compliance.checks.sender_profile import SenderProfile
from compliance.cli.common import (
    EXIT_BLOCKED,
    EXIT_CANNOT_RUN,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    open_session,
)
from compliance.core.settings import Settings
from compliance.core.validation import is_country_code

# Gmail clips messages past about 102 KB and most relays refuse 50 MB; this
# bound only protects the command from reading a device or a huge file.
MAX_MESSAGE_BYTES = 50_000_000


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.checks.dns_lookup import (
        ResolverTxtLookup,
        TxtLookup,
        ZoneFileError,
        ZoneTxtLookup,
    )
    from compliance.checks.report import render_text, run_message_check, run_parts_check
    from compliance.checks.report_html import render_html

    message_path = Path(args.message)
    try:
        if message_path.is_file() and message_path.stat().st_size > MAX_MESSAGE_BYTES:
            return fail(
                f"{args.message} is larger than {MAX_MESSAGE_BYTES // 1_000_000} MB; "
                "no email is that large"
            )
        with message_path.open("rb") as handle:
            # Read one byte more than the limit: a device such as /dev/zero has no size.
            raw = handle.read(MAX_MESSAGE_BYTES + 1)
    except OSError as error:
        return fail(f"cannot read {args.message}: {error.strerror}")
    if len(raw) > MAX_MESSAGE_BYTES:
        return fail(
            f"{args.message} is larger than {MAX_MESSAGE_BYTES // 1_000_000} MB; "
            "no email is that large"
        )

    lookup: TxtLookup | None = None
    try:
        if args.zone:
            lookup = ZoneTxtLookup.from_file(args.zone)
        elif not args.no_dns:
            servers = args.nameserver or [
                entry for entry in settings.dns_nameservers.split(",") if entry.strip()
            ]
            if servers:
                lookup = ResolverTxtLookup.from_nameservers(
                    servers, timeout=settings.dns_timeout_seconds
                )
            else:
                lookup = ResolverTxtLookup.from_system(timeout=settings.dns_timeout_seconds)
    except OSError as error:
        return fail(f"cannot read zone file {args.zone}: {error.strerror}")
    except UnicodeDecodeError:
        return fail(
            f"zone file {args.zone} is not UTF-8 text; give a zone file in BIND master format"
        )
    except ZoneFileError as error:
        return fail(f"zone file {args.zone}: {error}")
    except ValueError as error:
        print(f"sendguard: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    profile = sender_profile(args, settings)
    try:
        if Path(args.message).suffix.lower() in (".html", ".htm"):
            # A bare HTML template, as ESPs store them: the HTML part alone,
            # its headers left to the ESP.
            html = raw.decode("utf-8", errors="replace")
            report = run_parts_check(html, None, {}, args.from_domain, lookup, sender=profile)
        else:
            report = run_message_check(raw, args.from_domain, lookup, sender=profile)
    except ValueError as error:
        print(f"sendguard: error: --from-domain: {error}", file=sys.stderr)
        return EXIT_USAGE

    if args.html:
        page = render_html(report, args.lang or settings.default_locale)
        try:
            Path(args.html).write_text(page, encoding="utf-8")
        except OSError as error:
            return fail(f"cannot write {args.html}: {error.strerror}")

    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report, args.lang or settings.default_locale))
    if report.blocked:
        return EXIT_BLOCKED
    # A check that could not run proves nothing: a CI gate must not pass on it.
    return EXIT_CANNOT_RUN if report.unknown else EXIT_OK


def sender_profile(args: argparse.Namespace, settings: Settings) -> SenderProfile:
    """Build the profile the API would build, from the stored sender and the explicit options.

    With ``--sender-id`` the name and postal address come from the database
    as in POST /v1/checks; ``--legal-name`` and ``--postal-address`` override them.

    :raises NotFound: when ``--sender-id`` names no sender.
    :raises CannotRun: when the database cannot be opened.
    """
    countries = None if args.recipient_country is None else frozenset(args.recipient_country)
    if args.sender_id is not None:
        from compliance.presend.profile import stored_profile

        with open_session(settings, read_only=True) as session:
            stored = stored_profile(session, args.sender_id)
    else:
        stored = SenderProfile()
    return SenderProfile(
        legal_name=args.legal_name or stored.legal_name,
        postal_address=args.postal_address or stored.postal_address,
        advertising_consent=args.advertising_consent,
        tracking_consent=args.tracking_consent,
        recipient_countries=countries,
    )


def _country(value: str) -> str:
    if not (len(value) == 2 and value.isascii() and is_country_code(value)):
        raise argparse.ArgumentTypeError(
            f"invalid country {value!r}: give a two-letter ISO 3166-1 code, such as FR or CA"
        )
    return value.upper()


def _add_profile_options(check: argparse.ArgumentParser) -> None:
    profile = check.add_argument_group(
        "sender profile", "what the footer and labels are compared with, as in POST /v1/checks"
    )
    profile.add_argument(
        "--sender-id",
        help="read the legal name and postal address of this stored sender from the database",
    )
    profile.add_argument(
        "--legal-name", help="sender's registered name (overrides the stored sender's name)"
    )
    profile.add_argument(
        "--postal-address",
        help="sender's registered postal address, compared with the footer (US-02); "
        "overrides the stored sender's address",
    )
    profile.add_argument(
        "--advertising-consent",
        action=argparse.BooleanOptionalAction,
        help="every recipient gave prior affirmative consent to advertising (default: unknown)",
    )
    profile.add_argument(
        "--tracking-consent",
        action=argparse.BooleanOptionalAction,
        help="every recipient accepted open tracking (default: unknown)",
    )
    profile.add_argument(
        "--recipient-country",
        action="append",
        type=_country,
        metavar="CC",
        help="ISO 3166-1 country code of recipients (repeatable); CA applies the CASL "
        "content rules (default: unknown)",
    )


def add_parsers(commands: Any) -> None:
    check = commands.add_parser("check", help="run the pre-send checks on a message")
    check.add_argument(
        "message",
        help="path of the message: .eml (RFC 5322), or .html/.htm for a bare HTML template",
    )
    check.add_argument(
        "--from-domain", required=True, help="domain of the From address, e.g. news.example.org"
    )
    check.add_argument(
        "--zone", help="answer DNS queries from this zone file instead of the network"
    )
    check.add_argument(
        "--nameserver",
        action="append",
        help="DNS server as host:port (repeatable); default: settings or system",
    )
    check.add_argument("--no-dns", action="store_true", help="skip the DNS checks")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--html",
        metavar="OUT.html",
        help="also write the report as an HTML page to this file (language: --lang)",
    )
    check.add_argument(
        "--lang",
        choices=["fr", "en"],
        help="language of the text and HTML reports (default: SENDGUARD_DEFAULT_LOCALE)",
    )
    _add_profile_options(check)
    check.set_defaults(handler=cmd_check)
