"""Malformed, hostile and huge messages: no crash, a not_bounce or unknown verdict, bounded work."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suppression.bounces import BounceClass, classify
from suppression.bounces.mime import MAX_MESSAGE_BYTES, MAX_TEXT_CHARS, walk

DSN_HEAD = (
    b"From: MAILER-DAEMON@mx.example.org\r\nTo: sender@example.com\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
    b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n"
    b"\r\nFinal-Recipient: rfc822; kept@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
)

# Hostile inputs written by hand. The fuzz tests below found no crash; add any they find here.
KNOWN_HOSTILE = [
    b"",
    b"\x00\xff\xfe",
    b"Content-Type: multipart/report; boundary=\r\n\r\n--\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nUser unknown\r\n",
    b"Subject: =?x-unknown?B?AAAA?=\r\nFrom: =?utf-8?Q?=ff?=\r\n\r\n",
    b"From: \xe9\xe8@example.org\r\nSubject: \xff\xfe Undelivered\r\n\r\n<a@b.example>: 550\r\n",
    DSN_HEAD[: len(DSN_HEAD) // 2],
    b"Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!",
]


@pytest.mark.parametrize("raw", KNOWN_HOSTILE)
def test_hostile_input_gets_verdict(raw: bytes) -> None:
    verdicts = classify(raw)

    assert verdicts
    assert all(isinstance(verdict.bounce_class, BounceClass) for verdict in verdicts)


def test_no_bounce_is_not_bounce() -> None:
    raw = b"From: friend@example.org\r\nTo: me@example.com\r\nSubject: lunch?\r\n\r\nSee you.\r\n"

    verdicts = classify(raw)

    assert [verdict.bounce_class for verdict in verdicts] == [BounceClass.NOT_BOUNCE]
    assert verdicts[0].recipient == ""


def test_truncated_dsn_still_read() -> None:
    verdicts = classify(DSN_HEAD + b"--B--\r\n")

    assert verdicts[0].recipient == "kept@example.net"
    assert verdicts[0].bounce_class is BounceClass.HARD
    assert verdicts[0].reason == "userunknown"


def test_gigantic_attachment_is_cut() -> None:
    attachment = b"--B\r\nContent-Type: text/plain\r\n\r\n" + b"x" * (MAX_MESSAGE_BYTES * 2)
    raw = DSN_HEAD + attachment

    walked = walk(raw)
    verdicts = classify(raw)

    assert verdicts[0].reason == "userunknown"
    assert all(len(text) <= MAX_TEXT_CHARS for text in walked.texts)


def test_deep_nesting_is_bounded() -> None:
    raw = b""
    for depth in range(200):
        raw += f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n'.encode()
    raw += b"Content-Type: text/plain\r\n\r\nhello\r\n"

    verdicts = classify(raw)

    assert verdicts[0].bounce_class is BounceClass.NOT_BOUNCE


def test_nested_bounce_in_rfc822_stops() -> None:
    inner = DSN_HEAD.replace(b"kept@example.net", b"inner@example.net")
    raw = (
        b"From: friend@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="O"\r\n\r\n'
        b"--O\r\nContent-Type: text/plain\r\n\r\n"
        b"see attached\r\n--O\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--O--\r\n"
    )

    verdicts = classify(raw)

    assert [verdict.recipient for verdict in verdicts] == [""]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_fuzz_random_bytes(raw: bytes) -> None:
    assert classify(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(DSN_HEAD)), st.binary(max_size=64))
def test_fuzz_mutated_dsn(cut: int, noise: bytes) -> None:
    verdicts = classify(DSN_HEAD[:cut] + noise + DSN_HEAD[cut:])

    assert verdicts
    assert all(len(verdict.diagnostic) <= 1000 for verdict in verdicts)


def test_wrong_declared_boundary_is_found() -> None:
    raw = DSN_HEAD.replace(b'boundary="B"', b'boundary="declared-but-unused"') + b"--B--\r\n"

    verdicts = classify(raw)

    assert verdicts[0].recipient == "kept@example.net"
    assert verdicts[0].reason == "userunknown"


def test_rejected_prefix_yields_to_cause() -> None:
    raw = DSN_HEAD.replace(
        b"550 5.1.1 User unknown",
        b"550 5.7.1 <kept@example.net>: Recipient address rejected: Reverse DNS validation failed",
    ).replace(b"Status: 5.1.1", b"Status: 5.7.1")

    verdicts = classify(raw + b"--B--\r\n")

    assert verdicts[0].reason == "requireptr"
    assert verdicts[0].bounce_class is BounceClass.SOFT


def test_megabyte_line_is_cut_not_scanned() -> None:
    # Found by a trial: a 1 MB line made the reply patterns run for minutes.
    raw = (
        b"From: MAILER-DAEMON@x.example\r\nSubject: Undelivered\r\n\r\n550 5.1.1 <"
        + b"a" * 1_000_000
        + b"@x.example> user unknown\r\n"
    )
    verdicts = classify(raw)
    assert len(verdicts) == 1
    assert len(verdicts[0].diagnostic) <= 1000


def test_mime_nested_past_the_stack_is_unknown() -> None:
    levels = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level, level + 1)
        for level in range(2000)
    )
    raw = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + levels
    [verdict] = classify(raw)
    assert verdict.bounce_class is BounceClass.UNKNOWN
