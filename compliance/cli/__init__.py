"""The ``sendguard`` command line: one module per group of commands.

Exit codes: 0 pass (warnings allowed), 1 a check blocks the send or a
violation was found, 2 usage error, 3 could not run (unreachable database,
unreadable file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from compliance.cli import (
    bounces,
    check,
    consent,
    dsr,
    reputation,
    retention,
    screen,
    service,
    suppression,
    tenants,
)
from compliance.cli.common import EXIT_USAGE, CannotRun, fail
from compliance.core.errors import SendguardError
from compliance.core.keys import KeyConfigError
from compliance.core.logging import configure_logging
from compliance.core.settings import get_settings
from compliance.presend.dns_cli import add_dns_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sendguard", description="Email-marketing compliance and deliverability toolkit."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (
        service,
        tenants,
        check,
        screen,
        suppression,
        bounces,
        consent,
        retention,
        dsr,
        reputation,
    ):
        module.add_parsers(commands)
    add_dns_parser(commands)
    return parser


# Options whose value is base64url text, which starts with "-" once in 64
# keys. argparse reads such a value as an option and stops with "expected
# one argument", so the value is joined to its option before parsing.
_BASE64URL_OPTIONS = frozenset({"--public-key"})


def join_base64url_values(argv: Sequence[str]) -> list[str]:
    """Return ``argv`` with ``--public-key VALUE`` written as ``--public-key=VALUE``."""
    joined: list[str] = []
    waiting_option: str | None = None
    for argument in argv:
        if waiting_option is not None:
            joined.append(f"{waiting_option}={argument}")
            waiting_option = None
        elif argument in _BASE64URL_OPTIONS:
            waiting_option = argument
        else:
            joined.append(argument)

    # An option left without a value stays as typed, so argparse names it.
    if waiting_option is not None:
        joined.append(waiting_option)
    return joined


def describe_settings_error(error: ValidationError) -> list[str]:
    """Return one line per invalid setting, named by its environment variable.

    The value is left out, because some settings are secrets.
    """
    lines = []
    for item in error.errors(include_url=False):
        field = str(item["loc"][0]) if item["loc"] else "settings"
        lines.append(
            f"SENDGUARD_{field.upper()} is invalid: {item['msg']}; "
            "fix the environment variable or unset it to use the default"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(join_base64url_values(arguments))
    # Commands print their results on stdout; log events go to stderr, and
    # only warnings and errors unless the command is `serve` or `worker`.
    configure_logging("INFO" if args.command in ("serve", "worker") else "WARNING")
    try:
        settings = get_settings()
    except ValidationError as error:
        for line in describe_settings_error(error):
            print(f"sendguard: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as error:
        print(f"sendguard: error: invalid settings: {error}", file=sys.stderr)
        return EXIT_USAGE

    try:
        code: int = args.handler(args, settings)
    except (CannotRun, KeyConfigError) as error:
        return fail(str(error))
    except SendguardError as error:
        # The same faults the API reports (not found, invalid state), in English.
        print(f"sendguard: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return code
