"""Every ESP sample in the corpus reads to the records found by reading the file by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from suppression.formats import FORMATS, ImportRecord, ReadOptions, RejectedLine, detect_format

# (line, address, reason, occurred_at in ISO 8601 or None, scope, scope_ref, suppress)
Row = tuple[int, str, str, str | None, str, str, bool]

G = "global"
U = "unsubscribe"
HB = "hard_bounce"
C = "complaint"
M = "manual"

# Each corpus file, the format that reads it, and its records.
CORPUS: dict[str, tuple[str, list[Row]]] = {
    "mailchimp/subscribed_members_export_a1b2c3d4e5.csv": (
        "mailchimp_csv",
        [
            (2, "ana.exemple@example.com", M, "2024-03-02T18:40:10+00:00", G, "", False),
            (3, "bruno.muster@example.org", M, "2023-11-20T16:05:31+00:00", G, "", False),
            (4, "chloe.exemplo@example.net", M, "2024-02-01T07:58:19+00:00", G, "", False),
        ],
    ),
    "mailchimp/unsubscribed_members_export_a1b2c3d4e5.csv": (
        "mailchimp_csv",
        [
            (2, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (3, "eli.placeholder@example.org", U, "2024-04-03T09:02:11+00:00", G, "", True),
            (4, "fay.fictive@example.net", M, "2024-05-20T14:30:00+00:00", G, "", True),
        ],
    ),
    "mailchimp/cleaned_members_export_a1b2c3d4e5.csv": (
        "mailchimp_csv",
        [
            (2, "gus.nobody@example.com", HB, "2024-03-05T06:00:01+00:00", G, "", True),
            (3, "hana.invalid@example.org", HB, "2024-04-03T08:00:42+00:00", G, "", True),
        ],
    ),
    "mailchimp/nonsubscribed_members_export_a1b2c3d4e5.csv": (
        "mailchimp_csv",
        [
            (2, "ivo.shopper@example.com", M, "2024-06-01T10:10:10+00:00", G, "", False),
            (3, "jo.buyer@example.net", M, "2024-06-02T11:11:11+00:00", G, "", False),
        ],
    ),
    "mailchimp/api_v3_list_member_unsubscribed.json": (
        "mailchimp_json",
        [(1, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", "list", "a1b2c3d4e5", True)],
    ),
    "mailchimp/legacy_export_api_1.0_list_status-unsubscribed.txt": (
        "mailchimp_export_api",
        [
            (2, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (3, "fay.fictive@example.net", M, "2024-05-20T14:30:00+00:00", G, "", True),
        ],
    ),
    "sendgrid/suppression_bounces.csv": (
        "sendgrid_bounces_csv",
        [
            (2, "gus.nobody@example.com", HB, "2024-03-05T06:00:01+00:00", G, "", True),
            (3, "hana.invalid@example.org", HB, "2024-04-03T08:00:42+00:00", G, "", True),
            (4, "kai.closed@example.net", HB, "2024-05-02T12:03:11+00:00", G, "", True),
        ],
    ),
    "sendgrid/suppression_blocks.csv": (
        "sendgrid_blocks_csv",
        [
            (2, "lea.blocked@example.com", M, "2024-04-03T08:01:40+00:00", G, "", False),
            (3, "max.policy@example.org", M, "2024-05-02T12:05:00+00:00", G, "", False),
        ],
    ),
    "sendgrid/suppression_spam_reports.csv": (
        "sendgrid_spam_reports_csv",
        [
            (2, "nia.complainer@example.com", C, "2024-04-03T08:03:20+00:00", G, "", True),
            (3, "oli.spamclick@example.net", C, "2024-05-02T12:06:40+00:00", G, "", True),
        ],
    ),
    "sendgrid/suppression_invalid_emails.csv": (
        "sendgrid_invalid_emails_csv",
        [
            (
                2,
                "pat.typo@example.com",
                "invalid_address",
                "2024-04-03T08:05:00+00:00",
                G,
                "",
                True,
            ),
            (
                3,
                "quin.nodomain@example.org",
                "invalid_address",
                "2024-05-02T12:08:20+00:00",
                G,
                "",
                True,
            ),
        ],
    ),
    "sendgrid/suppression_unsubscribes.csv": (
        "sendgrid_unsubscribes_csv",
        [
            (2, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (3, "eli.placeholder@example.org", U, "2024-04-03T09:02:11+00:00", G, "", True),
            (4, "fay.fictive@example.net", U, "2024-05-20T14:30:00+00:00", G, "", True),
        ],
    ),
    "sendgrid/asm_groups_12345_suppressions.csv": (
        "sendgrid_group_unsubscribes_csv",
        [
            (2, "ana.exemple@example.com", U, "2024-05-02T12:03:11+00:00", "topic", "12345", True),
            (3, "rae.weekly@example.org", U, "2024-05-20T14:30:01+00:00", "topic", "12345", True),
        ],
    ),
    "sendgrid/api_GET_v3_suppression_bounces.json": (
        "sendgrid_bounces_json",
        [
            (1, "gus.nobody@example.com", HB, "2024-03-05T06:00:01+00:00", G, "", True),
            (2, "hana.invalid@example.org", HB, "2024-04-03T08:00:42+00:00", G, "", True),
        ],
    ),
    "sendgrid/api_GET_v3_suppression_blocks.json": (
        "sendgrid_blocks_json",
        [(1, "lea.blocked@example.com", M, "2024-04-03T08:01:40+00:00", G, "", False)],
    ),
    "sendgrid/api_GET_v3_suppression_spam_reports.json": (
        "sendgrid_spam_reports_json",
        [(1, "nia.complainer@example.com", C, "2024-04-03T08:03:20+00:00", G, "", True)],
    ),
    "sendgrid/api_GET_v3_suppression_invalid_emails.json": (
        "sendgrid_invalid_emails_json",
        [(1, "pat.typo@example.com", "invalid_address", "2024-04-03T08:05:00+00:00", G, "", True)],
    ),
    "sendgrid/api_GET_v3_suppression_unsubscribes.json": (
        "sendgrid_unsubscribes_json",
        [
            (1, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (2, "fay.fictive@example.net", U, "2024-05-20T14:30:00+00:00", G, "", True),
        ],
    ),
    "sendgrid/api_GET_v3_asm_suppressions.json": (
        "sendgrid_group_unsubscribes_json",
        [
            (1, "ana.exemple@example.com", U, "2024-05-02T12:03:11+00:00", "topic", "12345", True),
            (2, "rae.weekly@example.org", U, "2024-05-20T14:30:01+00:00", "topic", "12345", True),
        ],
    ),
    "sendgrid/api_GET_v3_asm_groups_12345_suppressions.json": (
        "sendgrid_group_unsubscribes_json",
        [
            (1, "ana.exemple@example.com", U, None, "topic", "12345", True),
            (2, "rae.weekly@example.org", U, None, "topic", "12345", True),
        ],
    ),
    "sendgrid/api_POST_v3_asm_suppressions_global.request.json": (
        "sendgrid_global_unsubscribe_request_json",
        [
            (1, "dev.sample@example.com", U, None, G, "", True),
            (2, "fay.fictive@example.net", U, None, G, "", True),
        ],
    ),
    "ses/suppression_import_PUT.csv": (
        "ses_put_csv",
        [
            (1, "dev.sample@example.com", HB, None, G, "", True),
            (2, "nia.complainer@example.com", C, None, G, "", True),
            (3, "gus.nobody@example.org", HB, None, G, "", True),
        ],
    ),
    "ses/suppression_import_PUT.jsonl": (
        "ses_put_jsonl",
        [
            (1, "dev.sample@example.com", HB, None, G, "", True),
            (2, "nia.complainer@example.com", C, None, G, "", True),
            (3, "gus.nobody@example.org", HB, None, G, "", True),
        ],
    ),
    "ses/suppression_import_DELETE.csv": (
        "ses_delete_csv",
        [(1, "ana.exemple@example.net", M, None, G, "", False)],
    ),
    "ses/suppression_import_DELETE.jsonl": (
        "ses_delete_jsonl",
        [(1, "ana.exemple@example.net", M, None, G, "", False)],
    ),
    "ses/api_ListSuppressedDestinations.response.json": (
        "ses_list_json",
        [
            (1, "nia.complainer@example.com", C, "2024-04-03T08:03:20.077000+00:00", G, "", True),
            (2, "dev.sample@example.com", HB, "2024-04-03T08:21:55.613000+00:00", G, "", True),
            (3, "gus.nobody@example.org", HB, "2024-03-05T06:00:01.141000+00:00", G, "", True),
        ],
    ),
    "ses/api_GetSuppressedDestination.response.json": (
        "ses_list_json",
        [(1, "nia.complainer@example.com", C, "2024-04-03T08:03:20.077000+00:00", G, "", True)],
    ),
    "mailgun/bounces_import.csv": (
        "mailgun_bounces_csv",
        [
            (2, "gus.nobody@example.com", HB, "2024-03-05T06:00:01+00:00", G, "", True),
            (3, "hana.invalid@example.org", HB, "2024-04-03T08:00:42+00:00", G, "", True),
            (4, "kai.closed@example.net", HB, None, G, "", True),
        ],
    ),
    "mailgun/unsubscribes_import.csv": (
        "mailgun_unsubscribes_csv",
        [
            (2, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (
                3,
                "eli.placeholder@example.org",
                U,
                "2024-04-03T09:02:11+00:00",
                "topic",
                "newsletter",
                True,
            ),
            (4, "fay.fictive@example.net", U, None, G, "", True),
        ],
    ),
    "mailgun/complaints_import.csv": (
        "mailgun_complaints_csv",
        [
            (2, "nia.complainer@example.com", C, "2024-04-03T08:03:20+00:00", G, "", True),
            (3, "oli.spamclick@example.net", C, None, G, "", True),
        ],
    ),
    "mailgun/api_GET_v3_domain_bounces.response.json": (
        "mailgun_bounces_json",
        [
            (1, "gus.nobody@example.com", HB, "2024-03-05T06:00:01+00:00", G, "", True),
            (2, "hana.invalid@example.org", HB, "2024-04-03T08:00:42+00:00", G, "", True),
        ],
    ),
    "mailgun/api_GET_v3_domain_unsubscribes.response.json": (
        "mailgun_unsubscribes_json",
        [
            (1, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (
                2,
                "eli.placeholder@example.org",
                U,
                "2024-04-03T09:02:11+00:00",
                "topic",
                "newsletter",
                True,
            ),
        ],
    ),
    "mailgun/api_GET_v3_domain_complaints.response.json": (
        "mailgun_complaints_json",
        [(1, "nia.complainer@example.com", C, "2024-04-03T08:03:20+00:00", G, "", True)],
    ),
    "mailgun/api_POST_v3_domain_unsubscribes.request.json": (
        "mailgun_unsubscribes_json",
        [
            (1, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (2, "eli.placeholder@example.org", U, None, "topic", "newsletter", True),
            (3, "fay.fictive@example.net", U, None, G, "", True),
        ],
    ),
    "postmark/api_GET_message-streams_broadcast_suppressions_dump.response.json": (
        "postmark_dump_json",
        [
            (
                1,
                "dev.sample@example.com",
                U,
                "2024-04-03T08:21:55+00:00",
                "topic",
                "broadcast",
                True,
            ),
            (2, "gus.nobody@example.org", HB, "2024-03-05T06:00:01+00:00", G, "", True),
            (3, "nia.complainer@example.com", C, "2024-04-03T08:03:20+00:00", G, "", True),
            (
                4,
                "fay.fictive@example.net",
                M,
                "2024-05-20T14:30:00+00:00",
                "topic",
                "broadcast",
                True,
            ),
        ],
    ),
    "postmark/api_POST_message-streams_broadcast_suppressions.request.json": (
        "postmark_request_json",
        [
            (1, "fay.fictive@example.net", M, None, "topic", "broadcast", True),
            (2, "eli.placeholder@example.org", M, None, "topic", "broadcast", True),
        ],
    ),
    "postmark/api_POST_message-streams_broadcast_suppressions.response.json": (
        "postmark_request_json",
        [
            (1, "fay.fictive@example.net", M, None, "topic", "broadcast", True),
            (2, "eli.placeholder@example.org", M, None, "topic", "broadcast", True),
        ],
    ),
    "benchmark/master_unsubscribe_DNC_import.csv": (
        "benchmark_dnc_csv",
        [
            (2, "dev.sample@example.com", M, None, G, "", True),
            (3, "eli.placeholder@example.org", M, None, G, "", True),
            (4, "fay.fictive@example.net", M, None, G, "", True),
        ],
    ),
    "benchmark/api_GET_Contact_ListID_ContactDetails_Filter-2_unsubscribed.response.json": (
        "benchmark_contacts_json",
        [
            (1, "dev.sample@example.com", U, "2024-04-03T00:00:00+00:00", G, "", True),
            (2, "eli.placeholder@example.org", U, "2024-04-03T00:00:00+00:00", G, "", True),
        ],
    ),
    "benchmark/api_GET_Emails_ID_Report_Unsubscribes.response.json": (
        "benchmark_unsubscribe_report_json",
        [(1, "dev.sample@example.com", U, "2024-04-03T08:21:00+00:00", G, "", True)],
    ),
    "brevo/contacts_import_blocklist.csv": (
        "brevo_blocklist_csv",
        [
            (2, "dev.sample@example.com", M, None, G, "", True),
            (3, "fay.fictive@example.net", M, None, G, "", True),
            (4, "nia.complainer@example.org", M, None, G, "", True),
        ],
    ),
    "brevo/api_POST_v3_contacts_import.blocklist.request.json": (
        "brevo_import_request_json",
        [
            (2, "dev.sample@example.com", M, None, G, "", True),
            (3, "fay.fictive@example.net", M, None, G, "", True),
        ],
    ),
    "brevo/api_GET_v3_smtp_blockedContacts.response.json": (
        "brevo_blocked_contacts_json",
        [
            (1, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (2, "gus.nobody@example.com", HB, "2024-03-05T06:00:01+00:00", G, "", True),
            (3, "nia.complainer@example.net", C, "2024-04-03T08:03:20+00:00", G, "", True),
            (4, "fay.fictive@example.net", M, "2024-05-20T14:30:00+00:00", G, "", True),
        ],
    ),
    "brevo/api_GET_v3_contacts.response.json": (
        "brevo_contacts_json",
        [
            (1, "ana.exemple@example.com", M, None, G, "", False),
            (2, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", G, "", True),
            (2, "dev.sample@example.com", U, "2024-04-03T08:21:55+00:00", "list", "2", True),
        ],
    ),
    "mailjet/csvdata_for_list_unsub.csv": (
        "mailjet_unsub_csv",
        [
            (2, "dev.sample@example.com", U, None, G, "", True),
            (3, "eli.placeholder@example.org", U, None, G, "", True),
            (4, "fay.fictive@example.net", U, None, G, "", True),
        ],
    ),
    "mailjet/csvdata_for_excludemarketing.csv": (
        "mailjet_exclusion_csv",
        [
            (2, "nia.complainer@example.com", M, None, G, "", True),
            (3, "gus.nobody@example.org", M, None, G, "", True),
            (4, "fay.fictive@example.net", M, None, G, "", True),
        ],
    ),
    "mailjet/api_GET_v3_REST_contact.response.json": (
        "mailjet_contacts_json",
        [
            (1, "dev.sample@example.com", M, None, G, "", False),
            (2, "nia.complainer@example.com", C, "2024-04-03T08:03:20+00:00", G, "", True),
            (2, "nia.complainer@example.com", M, "2024-04-03T08:03:20+00:00", G, "", True),
        ],
    ),
    "listmonk/subscribers.csv": (
        "listmonk_subscribers_csv",
        [
            (2, "ana.exemple@example.com", M, None, G, "", False),
            (3, "dev.sample@example.com", U, "2024-04-03T08:21:55.000001+00:00", G, "", True),
            (4, "bruno.muster@example.org", M, None, G, "", False),
        ],
    ),
    "listmonk/import_blocklist.csv": (
        "listmonk_blocklist_csv",
        [
            (2, "dev.sample@example.com", M, None, G, "", True),
            (3, "eli.placeholder@example.org", M, None, G, "", True),
            (4, "fay.fictive@example.net", M, None, G, "", True),
        ],
    ),
    "listmonk/import_subscribe.csv": (
        "listmonk_subscribe_csv",
        [
            (2, "ana.exemple@example.com", M, None, G, "", False),
            (3, "bruno.muster@example.org", M, None, G, "", False),
            (4, "chloe.exemplo@example.net", M, None, G, "", False),
        ],
    ),
    "listmonk/api_GET_api_subscribers.response.json": (
        "listmonk_subscribers_json",
        [
            (1, "ana.exemple@example.com", U, None, "list", "2", True),
            (2, "dev.sample@example.com", U, "2024-04-03T08:21:55.000001+00:00", G, "", True),
            (2, "dev.sample@example.com", U, None, "list", "1", True),
        ],
    ),
}

# Files that contain no addresses (job requests, import parameters), for
# which detection returns None.
NOT_DETECTED = {
    "ses/api_CreateImportJob.request.json",
    "ses/api_GetImportJob.response.json",
    "brevo/api_POST_v3_contacts_export.request.json",
    "listmonk/api_POST_import_subscribers.params.blocklist.json",
    "listmonk/api_POST_import_subscribers.params.subscribe.json",
    "mailjet/api_POST_v3_REST_csvimport.unsub.request.json",
    "mailjet/api_POST_v3_REST_csvimport.excludemarketing.request.json",
    # Per-list state without the contact's address: it must be joined with
    # the contact response, which this package does not do.
    "mailjet/api_GET_v3_REST_contact_ID_getcontactslists.response.json",
}
BENCHMARK_EXPORT = "benchmark/contact_list_export_UNVERIFIED_HEADERS.csv"


def _row(result: ImportRecord | RejectedLine) -> Row | RejectedLine:
    if isinstance(result, RejectedLine):
        return result
    assert result.address is not None
    return (
        result.line,
        result.address,
        result.reason.value,
        result.occurred_at.isoformat() if result.occurred_at else None,
        result.scope.value,
        result.scope_ref,
        result.suppress,
    )


def _read(
    path: Path, format_name: str, *, status: str | None = None, scope_ref: str | None = None
) -> list[Row | RejectedLine]:
    reader = FORMATS[format_name].reader
    assert reader is not None
    options = ReadOptions(filename=path.name, status=status, scope_ref=scope_ref)
    with path.open("rb") as stream:
        return [_row(result) for result in reader(stream, options)]


def test_corpus_every_file_covered(exports_dir: Path) -> None:
    files = {
        str(path.relative_to(exports_dir)) for path in exports_dir.glob("*/*") if path.is_file()
    }
    covered = set(CORPUS) | NOT_DETECTED | {BENCHMARK_EXPORT}

    assert files - covered == set(), "new corpus files need expectations"
    assert covered - files == set(), "expected corpus files are missing"


@pytest.mark.parametrize("relative", sorted(CORPUS))
def test_corpus_file_records(exports_dir: Path, relative: str) -> None:
    format_name, expected = CORPUS[relative]

    assert _read(exports_dir / relative, format_name) == expected


@pytest.mark.parametrize("relative", sorted(CORPUS))
def test_corpus_file_detected(exports_dir: Path, relative: str) -> None:
    path = exports_dir / relative

    assert detect_format(path.name, path.read_bytes()[:4096]) == CORPUS[relative][0]


@pytest.mark.parametrize("relative", sorted(NOT_DETECTED))
def test_corpus_non_data_not_detected(exports_dir: Path, relative: str) -> None:
    path = exports_dir / relative

    assert detect_format(path.name, path.read_bytes()[:4096]) is None


def test_benchmark_export_needs_status(exports_dir: Path) -> None:
    path = exports_dir / BENCHMARK_EXPORT

    results = _read(path, "benchmark_contacts_csv")

    assert len(results) == 1
    rejected = results[0]
    assert isinstance(rejected, RejectedLine)
    assert rejected.fault.code == "status_required"


def test_benchmark_export_given_status(exports_dir: Path) -> None:
    path = exports_dir / BENCHMARK_EXPORT

    results = _read(path, "benchmark_contacts_csv", status="unsubscribed")

    assert results == [
        (2, "ana.exemple@example.com", U, None, G, "", True),
        (3, "bruno.muster@example.org", U, None, G, "", True),
        (4, "chloe.exemplo@example.net", U, None, G, "", True),
    ]


def test_mailchimp_audience_scopes_list(exports_dir: Path) -> None:
    path = exports_dir / "mailchimp/unsubscribed_members_export_a1b2c3d4e5.csv"

    results = _read(path, "mailchimp_csv", scope_ref="a1b2c3d4e5")

    assert [row[4:6] for row in results if not isinstance(row, RejectedLine)] == [
        ("list", "a1b2c3d4e5"),
        ("list", "a1b2c3d4e5"),
        ("list", "a1b2c3d4e5"),
    ]


def test_mailchimp_status_conflict_rejected(exports_dir: Path) -> None:
    path = exports_dir / "mailchimp/cleaned_members_export_a1b2c3d4e5.csv"

    results = _read(path, "mailchimp_csv", status="unsubscribed")

    assert len(results) == 1
    assert isinstance(results[0], RejectedLine)
    assert results[0].fault.code == "status_mismatch"


def test_sendgrid_reason_masks_address(exports_dir: Path) -> None:
    reader = FORMATS["sendgrid_bounces_csv"].reader
    assert reader is not None
    with (exports_dir / "sendgrid/suppression_bounces.csv").open("rb") as stream:
        records = [
            record for record in reader(stream, ReadOptions()) if isinstance(record, ImportRecord)
        ]

    assert records[2].source_reason == "5.2.1 552 5.2.1 Mailbox disabled, not accepting messages"
    assert "@" not in records[1].source_reason
    assert records[1].source_reason.startswith("5.1.1 550 5.1.1 <[address]>: Recipient address")


def test_mailchimp_reason_text_kept(exports_dir: Path) -> None:
    reader = FORMATS["mailchimp_csv"].reader
    assert reader is not None
    path = exports_dir / "mailchimp/unsubscribed_members_export_a1b2c3d4e5.csv"
    with path.open("rb") as stream:
        records = [record for record in reader(stream, ReadOptions(filename=path.name))]

    assert [getattr(record, "source_reason", None) for record in records] == [
        "I no longer want to receive these emails",
        "Other (fill in reason below)",
        "N/A (Unsubscribed by an admin)",
    ]
