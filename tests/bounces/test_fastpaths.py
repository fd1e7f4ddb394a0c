"""The fast paths give the answers of the slow ones: MIME splitter and pattern keys."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suppression.bounces import mime, mimesplit
from suppression.bounces.dsn import fields_of, recipients_of
from suppression.bounces.patternkeys import alternatives, group_keys, required_run
from suppression.bounces.reasons import _PATTERNS
from tests.bounces.corpus import BOUNCES, labels


def _walked_fields(walked: mime.Walked) -> tuple[object, ...]:
    original = None if walked.original is None else list(walked.original.items())
    # Report blocks are compared as the classifier reads them, field by field.
    status = [recipients_of(block) for block in walked.delivery_status]
    feedback = [fields_of(block) for block in walked.feedback]
    return (walked.texts, status, feedback, original, walked.content_type)


def _slow_walk(raw: bytes) -> mime.Walked:
    message = mime.parse(raw)
    if message.get_content_maintype() == "multipart" and not message.is_multipart():
        message = mime._with_found_boundary(message, raw)
    return mime.walk_message(message)


_SHAPES = [
    # A DSN with a text part, a delivery-status part and the returned headers.
    b"From: MAILER-DAEMON@mx.example.org\r\nSubject: failure\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
    b"preamble\r\n--B\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
    b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
    b"Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    b"--B\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <a@example.com>\r\n\r\nbody\r\n"
    b"--B--\r\n",
    # A part with no header lines, LF line ends, a folded header.
    b"From: postmaster@example.org\nSubject: Returned\n mail\n"
    b"Content-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\n\nThe text.\n--XYZ--\n",
    # Nested multipart/alternative inside the report.
    b"From: mailer-daemon@example.org\nContent-Type: multipart/mixed; boundary=o\n\n"
    b"--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\nContent-Type: text/plain\n\n"
    b"plain\n--i\nContent-Type: text/html\n\n<p>html</p>\n--i--\n--o--\n",
    # A single-part message.
    b"From: someone@example.org\nSubject: hello\n\nJust a note.\n",
]


@pytest.mark.parametrize("raw", _SHAPES)
def test_splitter_matches_email_package(raw: bytes) -> None:
    fast = mimesplit.split(raw)

    assert fast is not None
    assert _walked_fields(mime.walk_message(fast)) == _walked_fields(_slow_walk(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\nno delimiter here\n",
        b"From: a@example.org\nnot a header line\n\nbody\n",
        b" folded first line\nFrom: a@example.org\n\nbody\n",
        b"From: a@example.org\nContent-Type: multipart/mixed\n\n--B\n\ntext\n",
    ],
)
def test_splitter_declines_unusual_shapes(raw: bytes) -> None:
    assert mimesplit.split(raw) is None


# Inputs on which the splitter once disagreed with the email package (found by fuzzing).
_FOUND_BY_FUZZING = [
    b"From: a@example.org\nContent-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\n\nThe text.Z--\n",
    b"\r\n\r\nFrom: someone@example.org\nSubject: hello\n\nJust a note.\n",
    b"From: m@example.org\nContent-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: "
    b"multipart/alternative; boundary=i\n\n--i\nContent-Type: text/plain\n\nplain\n"
    b"--i--Content-Type: text/plain\r\n\n--o--\n",
    _SHAPES[0].replace(b"Action: failed\r\n", b"Action: failed\r\x00\n"),
    _SHAPES[0].replace(b"message/delivery-status", b"message/\x00delivery-status"),
]


@pytest.mark.parametrize("raw", _FOUND_BY_FUZZING)
def test_splitter_agrees_or_declines(raw: bytes) -> None:
    fast = mimesplit.split(raw)

    assert fast is None or _walked_fields(mime.walk_message(fast)) == _walked_fields(
        _slow_walk(raw)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(_SHAPES[0])), st.binary(max_size=40))
def test_splitter_agrees_on_mutated_reports(cut: int, noise: bytes) -> None:
    raw = _SHAPES[0][:cut] + noise + _SHAPES[0][cut:]
    fast = mimesplit.split(raw)

    if fast is not None:
        assert _walked_fields(mime.walk_message(fast)) == _walked_fields(_slow_walk(raw))


@pytest.mark.skipif(not (BOUNCES / "labels.jsonl").exists(), reason="bounce corpus not found")
def test_splitter_agrees_on_corpus_texts() -> None:
    split = 0
    for label in labels():
        raw = mime.without_returned_body((BOUNCES / label.path).read_bytes())
        fast = mimesplit.split(raw)
        if fast is None:
            continue
        split += 1
        fast_walked, slow_walked = mime.walk_message(fast), _slow_walk(raw)
        assert _walked_fields(fast_walked) == _walked_fields(slow_walked), label.path
    assert split >= 400


def test_required_run_of_patterns() -> None:
    assert required_run(r"mail ?box (?:is )?full") == "mail"
    assert required_run(r"\bspam(?!haus)") == "spam"
    assert required_run(r"rejected .{0,40} by") == "rejected "
    assert required_run(r"exceeded?") == "exceede"
    assert alternatives(r"a(?:b|c)|d") == ["a(?:b|c)", "d"]
    assert group_keys((r"(?:ip|host) blocked", r"quota")) == ("blocked", "quota")
    assert group_keys((r"\bptr\b", r"[a-z]+ x")) is None


_WORDS = sorted(
    {word for _, patterns in _PATTERNS for p in patterns for word in re.findall(r"[a-z']{3,}", p)}
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(_WORDS) | st.sampled_from([" ", "5.1.1", "550", ":", "-"]), max_size=12
    )
)
def test_pattern_keys_never_hide_a_match(words: list[str]) -> None:
    text = " ".join(words)
    for _, patterns in _PATTERNS:
        keys = group_keys(patterns)
        matched = re.search("|".join(f"(?:{p})" for p in patterns), text)
        if matched and keys is not None:
            assert any(key in text for key in keys), (text, keys)


def test_splitter_declines_space_before_colon() -> None:
    # Found by fuzzing: the email package takes "Action : failed" for no field.
    raw = _SHAPES[0].replace(b"Action: failed", b"Action : failed")

    assert mimesplit.split(raw) is None
