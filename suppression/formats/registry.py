"""The format registry: every name that ``sendguard suppression import/export --format`` takes."""

from __future__ import annotations

from dataclasses import dataclass

from suppression.formats import (
    benchmark,
    brevo,
    generic,
    listmonk,
    mailchimp,
    mailgun,
    mailjet,
    postmark,
    sendgrid,
    ses,
    writers,
)
from suppression.formats.records import Reader, Writer

NOT_SUPPRESSED = "not suppressed (reported only)"


@dataclass(frozen=True)
class FormatSpec:
    """One file or body shape: its reader, its writer, and how its values map to reasons.

    ``mapping`` pairs an ESP value with the Sendguard reason it becomes, or
    with NOT_SUPPRESSED. A format has a reader, a writer, or both.
    """

    name: str
    esp: str
    description: str
    mapping: tuple[tuple[str, str], ...]
    reader: Reader | None = None
    writer: Writer | None = None


_CALLER_OR_MANUAL = ("(no reason in the file)", "the caller's reason, else manual")


def _sendgrid(kind: sendgrid.SendGridList, shape: str, label: str) -> FormatSpec:
    outcome = kind.reason.value if kind.suppress else NOT_SUPPRESSED
    scope = " (topic: the group id)" if kind.scope.value == "topic" else ""
    csv = shape == "csv"
    # Only the global unsubscribes CSV is also a SendGrid import format.
    writer = (
        writers.write_sendgrid_unsubscribes_csv if kind is sendgrid.UNSUBSCRIBES and csv else None
    )
    return FormatSpec(
        name=f"sendgrid_{kind.name}_{shape}",
        esp="SendGrid",
        description=f"{label} {'UI CSV download' if csv else 'v3 API JSON list'}",
        mapping=((kind.name, outcome + scope),),
        reader=sendgrid.csv_reader(kind) if csv else sendgrid.json_reader(kind),
        writer=writer,
    )


def _mailgun(kind: mailgun.MailgunList, shape: str) -> FormatSpec:
    csv = shape == "csv"
    shape_text = "import CSV" if csv else "list response JSON"
    mapping: tuple[tuple[str, str], ...] = ((kind.name, kind.reason.value),)
    if kind is mailgun.UNSUBSCRIBES:
        mapping = (("tag *", "unsubscribe (global)"), ("other tag", "unsubscribe (topic: the tag)"))
    return FormatSpec(
        name=f"mailgun_{kind.name}_{shape}",
        esp="Mailgun",
        description=f"{kind.name} {shape_text}, per sending domain",
        mapping=mapping,
        reader=mailgun.csv_reader(kind) if csv else mailgun.json_reader(kind),
    )


_SPECS = [
    FormatSpec(
        "generic_csv",
        "Sendguard",
        "CSV with email, reason, created_at, scope, scope_ref (or a plain address list)",
        (("reason column", "that reason"), _CALLER_OR_MANUAL),
        generic.read_generic_csv,
        writers.write_generic_csv,
    ),
    FormatSpec(
        "generic_jsonl",
        "Sendguard",
        "JSON Lines with the generic_csv keys",
        (("reason key", "that reason"), _CALLER_OR_MANUAL),
        generic.read_generic_jsonl,
        writers.write_generic_jsonl,
    ),
    FormatSpec(
        "generic_json",
        "Sendguard",
        "JSON array of generic objects or of address strings",
        (("reason key", "that reason"), _CALLER_OR_MANUAL),
        generic.read_generic_json,
    ),
    FormatSpec(
        "hashed_csv",
        "Sendguard",
        "entries known only by blind index: blind_index, key_version, reason, ...",
        (("reason column", "that reason (required)"),),
        generic.read_hashed_csv,
        writers.write_hashed_csv,
    ),
    FormatSpec(
        "mailchimp_csv",
        "Mailchimp",
        "one CSV of an audience export; exports the unsubscribed layout",
        (
            ("unsubscribed", "unsubscribe (list: the audience id, if given)"),
            ("unsubscribed, N/A (Unsubscribed by an admin)", "manual"),
            ("unsubscribed, The emails are spam and should be reported", "complaint"),
            ("cleaned", "hard_bounce"),
            ("subscribed, nonsubscribed", NOT_SUPPRESSED),
        ),
        mailchimp.read_csv,
        writers.write_mailchimp_unsubscribed_csv,
    ),
    FormatSpec(
        "mailchimp_json",
        "Mailchimp",
        "Marketing API v3 list member, or {members: [...]}",
        (
            ("status unsubscribed", "unsubscribe (list: list_id), as for mailchimp_csv"),
            ("status cleaned", "hard_bounce"),
            ("subscribed, pending, transactional, archived", NOT_SUPPRESSED),
        ),
        mailchimp.read_api_json,
    ),
    FormatSpec(
        "mailchimp_export_api",
        "Mailchimp",
        "Export API 1.0 list output: JSON arrays, one per line",
        (("as mailchimp_csv", "as mailchimp_csv"),),
        mailchimp.read_export_api,
    ),
    _sendgrid(sendgrid.BOUNCES, "csv", "bounces"),
    _sendgrid(sendgrid.BLOCKS, "csv", "blocks"),
    _sendgrid(sendgrid.SPAM_REPORTS, "csv", "spam reports"),
    _sendgrid(sendgrid.INVALID_EMAILS, "csv", "invalid emails"),
    _sendgrid(sendgrid.UNSUBSCRIBES, "csv", "global unsubscribes"),
    _sendgrid(sendgrid.GROUP_UNSUBSCRIBES, "csv", "unsubscribe group export"),
    _sendgrid(sendgrid.BOUNCES, "json", "bounces"),
    _sendgrid(sendgrid.BLOCKS, "json", "blocks"),
    _sendgrid(sendgrid.SPAM_REPORTS, "json", "spam reports"),
    _sendgrid(sendgrid.INVALID_EMAILS, "json", "invalid emails"),
    _sendgrid(sendgrid.UNSUBSCRIBES, "json", "global unsubscribes"),
    _sendgrid(sendgrid.GROUP_UNSUBSCRIBES, "json", "group suppressions"),
    FormatSpec(
        "sendgrid_global_unsubscribe_request_json",
        "SendGrid",
        "POST /v3/asm/suppressions/global body {recipient_emails: [...]}",
        (("recipient_emails", "unsubscribe"),),
        sendgrid.read_global_unsubscribe_request,
    ),
    FormatSpec(
        "ses_put_csv",
        "Amazon SES",
        "suppression list import, PUT action: address,reason without header",
        (("BOUNCE", "hard_bounce"), ("COMPLAINT", "complaint")),
        ses.read_put_csv,
        writers.write_ses_put_csv,
    ),
    FormatSpec(
        "ses_put_jsonl",
        "Amazon SES",
        "suppression list import, PUT action, JSON Lines",
        (("BOUNCE", "hard_bounce"), ("COMPLAINT", "complaint")),
        ses.read_put_jsonl,
        writers.write_ses_put_jsonl,
    ),
    FormatSpec(
        "ses_delete_csv",
        "Amazon SES",
        "suppression list import, DELETE action: one address per line",
        (("DELETE", NOT_SUPPRESSED),),
        ses.read_delete_csv,
    ),
    FormatSpec(
        "ses_delete_jsonl",
        "Amazon SES",
        "suppression list import, DELETE action, JSON Lines",
        (("DELETE", NOT_SUPPRESSED),),
        ses.read_delete_jsonl,
    ),
    FormatSpec(
        "ses_list_json",
        "Amazon SES",
        "ListSuppressedDestinations page or GetSuppressedDestination response",
        (("BOUNCE", "hard_bounce"), ("COMPLAINT", "complaint")),
        ses.read_list_json,
    ),
    _mailgun(mailgun.BOUNCES, "csv"),
    _mailgun(mailgun.UNSUBSCRIBES, "csv"),
    _mailgun(mailgun.COMPLAINTS, "csv"),
    _mailgun(mailgun.BOUNCES, "json"),
    _mailgun(mailgun.UNSUBSCRIBES, "json"),
    _mailgun(mailgun.COMPLAINTS, "json"),
    FormatSpec(
        "postmark_dump_json",
        "Postmark",
        "GET /message-streams/{stream}/suppressions/dump response",
        (
            ("HardBounce", "hard_bounce"),
            ("SpamComplaint", "complaint"),
            ("ManualSuppression, Origin Recipient", "unsubscribe (topic: the stream)"),
            ("ManualSuppression, other Origin", "manual (topic: the stream)"),
        ),
        postmark.read_dump_json,
    ),
    FormatSpec(
        "postmark_request_json",
        "Postmark",
        "POST /message-streams/{stream}/suppressions body",
        (_CALLER_OR_MANUAL,),
        postmark.read_create_request_json,
        writers.write_postmark_request_json,
    ),
    FormatSpec(
        "benchmark_dnc_csv",
        "Benchmark",
        "Do Not Contact (master unsubscribe) list CSV with an Email column",
        (_CALLER_OR_MANUAL,),
        benchmark.read_dnc_csv,
        writers.write_benchmark_dnc_csv,
    ),
    FormatSpec(
        "benchmark_contacts_csv",
        "Benchmark",
        "contact list download (headers unverified); status given by the caller",
        (("unsubscribed", "unsubscribe"), ("bounced", "hard_bounce"), ("active", NOT_SUPPRESSED)),
        benchmark.read_contacts_csv,
    ),
    FormatSpec(
        "benchmark_contacts_json",
        "Benchmark",
        "GET /Contact/{ListID}/ContactDetails response (Filter=2 or Filter=5)",
        (("Filter=2 (unsubscribed)", "unsubscribe"), ("Filter=5 (bounced)", "hard_bounce")),
        benchmark.read_contacts_json,
    ),
    FormatSpec(
        "benchmark_unsubscribe_report_json",
        "Benchmark",
        "GET /Emails/{ID}/Report/Unsubscribes response",
        (("any row", "unsubscribe"),),
        benchmark.read_unsubscribe_report_json,
    ),
    FormatSpec(
        "brevo_blocklist_csv",
        "Brevo",
        "contact file for a blocklist import: EMAIL, delimiter ; , or tab",
        (_CALLER_OR_MANUAL,),
        brevo.read_blocklist_csv,
        writers.write_brevo_blocklist_csv,
    ),
    FormatSpec(
        "brevo_import_request_json",
        "Brevo",
        "POST /v3/contacts/import body with fileBody",
        (("emailBlacklist true", "the caller's reason, else manual"), ("false", NOT_SUPPRESSED)),
        brevo.read_import_request_json,
    ),
    FormatSpec(
        "brevo_blocked_contacts_json",
        "Brevo",
        "GET /v3/smtp/blockedContacts response (transactional blocklist)",
        tuple((code, reason.value) for code, reason in brevo.BLOCKED_REASONS.items()),
        brevo.read_blocked_contacts_json,
    ),
    FormatSpec(
        "brevo_contacts_json",
        "Brevo",
        "GET /v3/contacts response (marketing blocklist flag)",
        (
            ("emailBlacklisted true", "unsubscribe"),
            ("listUnsubscribed id", "unsubscribe (list: the id)"),
            ("neither", NOT_SUPPRESSED),
        ),
        brevo.read_contacts_json,
    ),
    FormatSpec(
        "mailjet_unsub_csv",
        "Mailjet",
        "CSV for csvimport Method unsub (email column)",
        (("unsub", "unsubscribe (list: the ContactsListID, if given)"),),
        mailjet.read_unsub_csv,
        writers.write_mailjet_csv,
    ),
    FormatSpec(
        "mailjet_exclusion_csv",
        "Mailjet",
        "CSV for csvimport Method excludemarketing (email column)",
        (_CALLER_OR_MANUAL,),
        mailjet.read_exclusion_csv,
        writers.write_mailjet_csv,
    ),
    FormatSpec(
        "mailjet_contacts_json",
        "Mailjet",
        "GET /v3/REST/contact response",
        (
            ("IsSpamComplaining", "complaint"),
            ("IsExcludedFromCampaigns", "manual"),
            ("UnsubscribedAt set", "unsubscribe"),
            ("none of them", NOT_SUPPRESSED),
        ),
        mailjet.read_contacts_json,
    ),
    FormatSpec(
        "listmonk_subscribers_csv",
        "listmonk",
        "subscribers export (GET /api/subscribers/export)",
        (("blocklisted", "unsubscribe"), ("enabled, disabled", NOT_SUPPRESSED)),
        listmonk.read_subscribers_csv,
    ),
    FormatSpec(
        "listmonk_blocklist_csv",
        "listmonk",
        "import CSV for mode blocklist (email, name)",
        (_CALLER_OR_MANUAL,),
        listmonk.read_blocklist_csv,
        writers.write_listmonk_blocklist_csv,
    ),
    FormatSpec(
        "listmonk_subscribe_csv",
        "listmonk",
        "import CSV for mode subscribe",
        (("subscribe", NOT_SUPPRESSED),),
        listmonk.read_subscribe_csv,
    ),
    FormatSpec(
        "listmonk_subscribers_json",
        "listmonk",
        "GET /api/subscribers response with per-list subscription status",
        (
            ("status blocklisted", "unsubscribe"),
            ("list subscription_status unsubscribed", "unsubscribe (list: the list id)"),
            ("otherwise", NOT_SUPPRESSED),
        ),
        listmonk.read_subscribers_json,
    ),
]

FORMATS: dict[str, FormatSpec] = {spec.name: spec for spec in _SPECS}
