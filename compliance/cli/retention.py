"""``sendguard retention``: report what the retention rules will delete and when, or apply them."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from compliance.cli.common import EXIT_OK, EXIT_USAGE, migrate_database, open_session
from compliance.core.settings import Settings

if TYPE_CHECKING:
    from dsr.retention import RetentionReport

_DAY = timedelta(days=1)


def _period_days(period: timedelta) -> int | float:
    days = period / _DAY
    return int(days) if days.is_integer() else round(days, 3)


def _period_text(period: timedelta) -> str:
    if period % _DAY:
        return f"{int(period.total_seconds() // 3600)} hours"
    return f"{period.days} days"


def report_json(report: RetentionReport) -> dict[str, object]:
    """Return the report as a JSON object: ids, counts and ISO 8601 UTC dates only."""
    return {
        "generated_at": report.generated_at.isoformat(),
        "window_days": report.window_days,
        "sender_id": report.sender_id,
        "rules": [
            {
                "name": rule.name,
                "category": rule.category,
                "period_days": _period_days(rule.period),
                "setting": f"SENDGUARD_{rule.setting}",
                "due_now": rule.due_now,
                "due_in_window": rule.due_in_window,
                "next_removal_at": (
                    rule.next_removal_at.isoformat() if rule.next_removal_at else None
                ),
            }
            for rule in report.rules
        ],
    }


def report_table(report: RetentionReport) -> str:
    """Format the report as a text table, one rule per line."""
    headers = ("rule", "data", "kept for", "due now", f"due in {report.window_days} days", "next")
    rows = [headers]
    for rule in report.rules:
        if rule.next_removal_at is None:
            next_text = "-"
        elif rule.due_now:
            next_text = "next run"
        else:
            next_text = rule.next_removal_at.strftime("%Y-%m-%d %H:%M UTC")
        rows.append(
            (
                rule.name,
                rule.category,
                _period_text(rule.period),
                str(rule.due_now),
                str(rule.due_in_window),
                next_text,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(headers))]
    # Text columns align left, counts right.
    numeric = {3, 4}
    lines = [
        "  ".join(
            cell.rjust(widths[column]) if column in numeric else cell.ljust(widths[column])
            for column, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    scope = f"sender {report.sender_id}" if report.sender_id else "all senders"
    title = f"Retention report for {scope}, {report.generated_at.strftime('%Y-%m-%d %H:%M UTC')}"
    return "\n".join([title, "", *lines])


def _load_report(settings: Settings, sender_id: str | None) -> RetentionReport | None:
    """Build the report; None when ``sender_id`` names no sender."""
    from compliance.core.models import Sender
    from dsr.retention import retention_report

    with open_session(settings, read_only=True) as session:
        if sender_id is not None and session.get(Sender, sender_id) is None:
            return None
        return retention_report(session, settings, sender_id=sender_id)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    report = _load_report(settings, args.sender)
    if report is None:
        print(f"sendguard: error: sender {args.sender} not found", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print(report_table(report))
    return EXIT_OK


def _print_dry_run(settings: Settings) -> int:
    report = _load_report(settings, None)
    if report is None:
        return EXIT_USAGE
    print("dry run: nothing deleted; rows due now per rule:")
    for rule in report.rules:
        print(f"{rule.name}: {rule.due_now}")
    return EXIT_OK


def cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    if args.dry_run:
        return _print_dry_run(settings)

    from compliance.app import open_runtime
    from dsr.retention import apply_retention

    migrate_database(settings)
    runtime = open_runtime(settings)
    try:
        result = apply_retention(runtime.engine, runtime.services)
    finally:
        runtime.dispose()
    print(f"prospects purged: {result.prospects_purged}")
    print(f"expired sign-ups purged: {result.signups_purged}")
    print(f"expired sign-ups kept (list members or former subscribers): {result.signups_kept}")
    print(f"delivery events deleted: {result.delivery_events_deleted}")
    print(f"bounce events deleted: {result.bounce_events_deleted}")
    print(f"closed data-subject requests deleted: {result.dsr_records_deleted}")
    print(f"processor tasks deleted: {result.processor_tasks_deleted}")
    print(f"sent and dead outbox emails deleted: {result.outbox_messages_deleted}")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    retention = commands.add_parser(
        "retention", help="retention rules: report what will be deleted and when, or apply them"
    )
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)

    report = retention_commands.add_parser(
        "report",
        help="per rule: rows due for deletion now, within 30 days, and the next removal date",
    )
    report.add_argument("--sender", default=None, help="sender id; default all senders")
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")
    report.set_defaults(handler=cmd_report)

    apply = retention_commands.add_parser(
        "apply", help="delete what the retention rules make due now, once (for cron)"
    )
    apply.add_argument(
        "--dry-run", action="store_true", help="print the counts due now and delete nothing"
    )
    apply.set_defaults(handler=cmd_apply)
