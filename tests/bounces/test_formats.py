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


def test_repeated_original_rcpt_to_gives_each_recipient() -> None:
    # RFC 5965 section 3.2: Original-Rcpt-To may appear once per recipient.
    raw = (
        b"From: fbl@example.net\r\nTo: abuse@example.com\r\nSubject: complaint\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/report; "
        b'report-type=feedback-report; boundary="F"\r\n\r\n'
        b"--F\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
        b"--F\r\nContent-Type: message/feedback-report\r\n\r\n"
        b"Feedback-Type: abuse\r\nVersion: 1\r\n"
        b"Original-Rcpt-To: one@example.org\r\nOriginal-Rcpt-To: two@example.org\r\n"
        b"Original-Rcpt-To: three@example.org\r\n"
        b"--F\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: sender@example.com\r\n\r\n--F--\r\n"
    )

    verdicts = classify(raw)

    assert [item.recipient for item in verdicts] == [
        "one@example.org",
        "two@example.org",
        "three@example.org",
    ]
    assert {item.bounce_class for item in verdicts} == {BounceClass.COMPLAINT}


def test_mbox_file_with_two_bounces_gives_both() -> None:
    one = _dsn(b"", b"550 5.1.1 User unknown", b"5.1.1")
    two = one.replace(b"gone@example.net", b"left@example.net")
    raw = (
        b"From MAILER-DAEMON  Thu Jul  2 12:05:05 2020\n"
        + one
        + b"From MAILER-DAEMON  Thu Jul  2 12:06:05 2020\n"
        + two
    )

    verdicts = classify(raw)

    assert [item.recipient for item in verdicts] == ["gone@example.net", "left@example.net"]


def test_refusal_at_greeting_is_blocked() -> None:
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\n"
        b"To: sender@example.com\r\nSubject: Mail delivery failed\r\n\r\n"
        b"This message was created automatically by mail delivery software.\r\n\r\n"
        b"A message that you sent could not be delivered to one or more of its\r\n"
        b"recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        b"  gone@example.net\r\n    host mx.example.net [192.0.2.1]\r\n"
        b"    SMTP error from remote mail server after initial connection:\r\n"
        b"    554 5.7.1 Missing reverse DNS for 203.0.113.2\r\n"
    )

    assert classify(raw)[0].reason == "blocked"


def test_delayed_network_failure_stays_networkerror() -> None:
    raw = _dsn(b"", b"connect to mx.example.net[192.0.2.2]:25: No route to host", b"4.4.1")
    raw = raw.replace(b"Action: failed", b"Action: delayed")

    assert classify(raw)[0].reason == "networkerror"


def test_provider_codes_name_the_reason() -> None:
    assert reason_from_text("550 5.2.0 Mail rejete. Mail rejected. ofr_506 [506]") == (
        "spamdetected"
    )
    assert reason_from_text("421 ME Service refuse. Service refused, please try later.") == (
        "blocked"
    )
    assert reason_from_text("550 Connection frequency limited [Blocked IP 192.0.2.22]") == (
        "toomanyconn"
    )
    assert reason_from_text("550 5.1.0 <s@example.com> sender rejected. AUP#CDRBL") == "blocked"
