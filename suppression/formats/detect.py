"""Guess a file's format from its name and first bytes.

The guess is conservative: where two formats share a shape and differ in
meaning (SendGrid bounces and blocks, listmonk subscribe and blocklist
imports), only the file name decides, and without it detect_format returns None.
"""

from __future__ import annotations

import csv
import re
from pathlib import PurePath

from suppression.formats.csv_io import sniff_delimiter

_SENDGRID_LISTS = ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes")
_SENDGRID_NAME = re.compile(
    r"suppression_(bounces|blocks|spam_reports|invalid_emails|unsubscribes)"
)
_GROUP_NAME = re.compile(r"asm_groups_\d+_suppressions")
_SES_REASONS = {"BOUNCE", "COMPLAINT"}
_GENERIC_COLUMNS = {
    "email",
    "reason",
    "created_at",
    "created",
    "scope",
    "scope_ref",
    "blind_index",
    "key_version",
    "source",
}

# JSON documents recognised by a key that only one format uses, in order.
_JSON_KEYS = (
    ('"SuppressedDestination', "ses_list_json"),
    ('"SuppressionReason"', "postmark_dump_json"),
    ('"Suppressions"', "postmark_request_json"),
    ('"recipient_emails"', "sendgrid_global_unsubscribe_request_json"),
    ('"group_id"', "sendgrid_group_unsubscribes_json"),
    ('"blockedAt"', "brevo_blocked_contacts_json"),
    ('"emailBlacklisted"', "brevo_contacts_json"),
    ('"fileBody"', "brevo_import_request_json"),
    ('"IsExcludedFromCampaigns"', "mailjet_contacts_json"),
    ('"IsSpamComplaining"', "mailjet_contacts_json"),
    ('"unique_email_id"', "mailchimp_json"),
    ('"email_address"', "mailchimp_json"),
)


def _sendgrid_list(name: str) -> str | None:
    found = _SENDGRID_NAME.search(name) or re.search(r"v3_suppression_(\w+?)(?:\.|$)", name)
    if found and found.group(1) in _SENDGRID_LISTS:
        return found.group(1)
    return None


def _detect_json(name: str, text: str) -> str | None:
    for key, format_name in _JSON_KEYS:
        if key in text:
            return format_name

    if '"results"' in text and '"uuid"' in text:
        return "listmonk_subscribers_json"

    if '"ContactMasterID"' in text:
        report = '"Reason"' in text or '"Date"' in text
        return "benchmark_unsubscribe_report_json" if report else "benchmark_contacts_json"

    if '"address"' in text:
        if '"code"' in text or '"error"' in text:
            return "mailgun_bounces_json"
        if '"tags"' in text or '"tag"' in text:
            return "mailgun_unsubscribes_json"
        return "mailgun_complaints_json"

    if '"created"' in text and '"email"' in text:
        if '"ip"' in text:
            return "sendgrid_spam_reports_json"
        if '"status"' in text:
            listed = _sendgrid_list(name)
            return f"sendgrid_{listed}_json" if listed in ("bounces", "blocks") else None
        if '"reason"' in text:
            return "sendgrid_invalid_emails_json"
        return "sendgrid_unsubscribes_json"

    if re.match(r'\[\s*"', text):
        return "sendgrid_group_unsubscribes_json" if _GROUP_NAME.search(name) else "generic_json"
    if '"email"' in text or '"blind_index"' in text:
        return "generic_json" if text.startswith("[") else "generic_jsonl"
    return None


def _detect_jsonl(first_line: str) -> str | None:
    if first_line.startswith('["Email Address"'):
        return "mailchimp_export_api"
    if '"emailAddress"' in first_line:
        return "ses_put_jsonl" if '"reason"' in first_line else "ses_delete_jsonl"
    return None


def _detect_csv_header(name: str, cells: list[str]) -> str | None:
    names = tuple(cell.strip() for cell in cells)
    lowered = {cell.lower() for cell in names}
    first = names[0] if names else ""

    if names == ("status", "reason", "email", "created"):
        listed = _sendgrid_list(name)
        return f"sendgrid_{listed}_csv" if listed in ("bounces", "blocks") else None
    if names == ("ip", "email", "created"):
        return "sendgrid_spam_reports_csv"
    if names == ("reason", "email", "created"):
        return "sendgrid_invalid_emails_csv"
    if names == ("email", "created"):
        group = _GROUP_NAME.search(name)
        return "sendgrid_group_unsubscribes_csv" if group else "sendgrid_unsubscribes_csv"

    if first == "address":
        if "code" in names or "error" in names:
            return "mailgun_bounces_csv"
        if "tags" in names or "tag" in names:
            return "mailgun_unsubscribes_csv"
        return "mailgun_complaints_csv"

    if first == "Email Address":
        return "mailchimp_csv"
    if names[:2] == ("uuid", "email") and "status" in names:
        return "listmonk_subscribers_csv"
    if first == "EMAIL":
        return "brevo_blocklist_csv"
    if first == "Email":
        return "benchmark_contacts_csv" if "Email Type" in names else "benchmark_dnc_csv"
    if "blind_index" in lowered and "email" not in lowered:
        return "hashed_csv"

    if "email" in lowered:
        if "excludemarketing" in name:
            return "mailjet_exclusion_csv"
        if "unsub" in name:
            return "mailjet_unsub_csv"
        if "blocklist" in name:
            return "listmonk_blocklist_csv"
        if "subscribe" in name:
            return "listmonk_subscribe_csv"
        # Columns such as name or attributes may be a subscribe file, and
        # a guess would turn subscribers into suppressions.
        return "generic_csv" if lowered <= _GENERIC_COLUMNS else None
    return None


def detect_format(filename: str | None, first_bytes: bytes) -> str | None:
    """Return the registry name that fits the file, or None when unsure.

    ``first_bytes`` should be the first few KiB of the file. Formats that
    differ only in meaning are recognised by their file name only.
    """
    name = PurePath(filename).name if filename else ""
    text = first_bytes.decode("utf-8", errors="replace").removeprefix("\ufeff").lstrip()
    if not text:
        return None

    first_line = text.splitlines()[0]
    if text[0] in "[{":
        jsonl = _detect_jsonl(first_line)
        if jsonl is not None:
            return jsonl
        return _detect_json(name, text)

    delimiter = sniff_delimiter(first_line, ",;\t")
    cells = next(csv.reader([first_line], delimiter=delimiter), [])
    if not cells:
        return None

    # Header-less files start with an address.
    if "@" in cells[0]:
        if len(cells) > 1 and cells[1].strip().upper() in _SES_REASONS:
            return "ses_put_csv"
        if len(cells) == 1:
            return "ses_delete_csv" if "DELETE" in name else "generic_csv"
        return None
    return _detect_csv_header(name, cells)
