"""Vendor formats and report shapes that the generic reading gets wrong."""

from __future__ import annotations

from suppression.bounces import BounceClass, classify
from suppression.bounces.mime import walk, without_returned_body
from suppression.bounces.reasons import reason_from_text


def _dsn(extra_headers: bytes, diagnostic: bytes, status: bytes = b"5.0.0") -> bytes:
    return (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: sender@example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        + extra_headers
        + b"Content-Type: multipart/report; report-type=delivery-status; "
        b'boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.org\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\n"
        b"Status: " + status + b"\r\nDiagnostic-Code: smtp; " + diagnostic + b"\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: sender@example.com\r\nTo: gone@example.net\r\n"
        b"Message-ID: <c42.1@example.com>\r\nX-Sendguard-Campaign: c42\r\n\r\n"
        b"Body of the campaign.\r\n--B--\r\n"
    )


def test_au_addressless_refusal_filtered() -> None:
    assert reason_from_text("550 : User unknown") == "filtered"
    assert reason_from_text("550 <who@ezweb.ne.jp>: User unknown") == "userunknown"


def test_mailbox_status_filtered_unless_rcpt() -> None:
    filtered = classify(_dsn(b"", b"550 5.2.1 <gone@example.net>... User Unknown", b"5.2.1"))
    at_rcpt = classify(
        _dsn(
            b"", b"550 5.2.1 <gone@example.net>: Recipient address rejected: User unknown", b"5.2.1"
        )
    )

    assert filtered[0].reason == "filtered"
    assert at_rcpt[0].reason == "userunknown"


def test_gateway_unknown_user_filtered() -> None:
    gateway = b"X-AHMAILID: 20240101-0000\r\n"

    vague = classify(_dsn(gateway, b"550 <gone@example.net>... No such user"))
    precise = classify(_dsn(gateway, b"550 5.1.1 <gone@example.net>... No such user", b"5.1.1"))
    elsewhere = classify(_dsn(b"", b"550 <gone@example.net>... No such user"))

    assert (vague[0].reason, vague[0].bounce_class) == ("filtered", BounceClass.SOFT)
    assert precise[0].reason == "userunknown"
    assert elsewhere[0].reason == "userunknown"


def test_returned_body_cut_headers_kept() -> None:
    raw = _dsn(b"", b"550 5.1.1 User unknown", b"5.1.1")

    cut = without_returned_body(raw)
    verdicts = classify(raw)

    assert b"Body of the campaign." not in cut
    assert b"Message-ID: <c42.1@example.com>" in cut
    assert verdicts[0].original_message_id == "<c42.1@example.com>"
    assert verdicts[0].campaign_ref == "c42"


def test_relay_bounce_reads_inner_report() -> None:
    inner = _dsn(b"", b"550 5.1.1 User unknown", b"5.1.1")
    raw = (
        b"From: MAILER-DAEMON@relay.example.org\r\nSubject: Returned mail: User unknown\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="O"\r\n\r\n'
        b"--O\r\nContent-Type: text/plain\r\n\r\nThe following addresses had errors.\r\n"
        b"--O\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--O--\r\n"
    )

    verdicts = classify(raw)

    assert [(item.recipient, item.reason) for item in verdicts] == [
        ("gone@example.net", "userunknown")
    ]


def test_multipart_without_boundary_read() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\r\nSubject: Returned mail\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=NONE\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    )

    walked = walk(raw)
    verdicts = classify(raw)

    assert walked.texts
    assert verdicts[0].recipient == "gone@example.net"
    assert verdicts[0].bounce_class is BounceClass.HARD
