"""Reports cut at the classifier's bounds: flagged as truncated, whole recipients only."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.core.settings import Settings
from suppression.bounces import BounceClass, Verdict, classify, mimesplit
from suppression.bounces.classifier import MAX_MBOX_MESSAGES
from suppression.bounces.mime import MAX_MESSAGE_BYTES, MAX_TEXT_CHARS
from suppression.bounces.reasons import _PATTERNS, reason_from_text
from tests.bounces.corpus import BOUNCES, labels
from tests.support.cli import run_cli

RECIPIENTS = 20_000
HEAD = (
    "From: MAILER-DAEMON@mx.example.org\r\nTo: news@example.com\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
)
TAIL = (
    "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    "From: news@example.com\r\nMessage-ID: <n1@example.com>\r\n\r\n--B--\r\n"
)
REPORTING = "Reporting-MTA: dns; mx.example.org\r\n"


def _address(index: int) -> str:
    return f"user{index:05d}@example.net"


def _block(index: int) -> str:
    return (
        f"\r\nFinal-Recipient: rfc822; {_address(index)}\r\nAction: failed\r\n"
        f"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 {_address(index)}: user unknown\r\n"
    )


def _status_fields() -> tuple[str, int]:
    """Return a delivery-status body and the index of the last recipient block that fits whole.

    The padding field puts MAX_TEXT_CHARS one character before the end of a
    recipient's address, where a plain cut would leave "user…@example.ne".
    """
    block_length = len(_block(0))
    address_end = _block(0).index("@example.net") + len("@example.net")
    # The bound falls at ``address_end - 1`` within block ``cut_block``.
    base = len(REPORTING) + len("X-Padding: \r\n")
    padding = (MAX_TEXT_CHARS - (address_end - 1) - base) % block_length
    cut_block = (MAX_TEXT_CHARS - base - padding) // block_length
    assert base + padding + cut_block * block_length + address_end - 1 == MAX_TEXT_CHARS
    body = REPORTING + "X-Padding: " + "x" * padding + "\r\n"
    body += "".join(_block(index) for index in range(RECIPIENTS))
    return body, cut_block - 1


def _large_dsn() -> tuple[bytes, int]:
    fields, last_whole = _status_fields()
    text_part = "--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed for many recipients.\r\n"
    status_part = "--B\r\nContent-Type: message/delivery-status\r\n\r\n" + fields
    return (HEAD + text_part + status_part + TAIL).encode(), last_whole


def _assert_whole_recipients(verdicts: list[Verdict], last_whole: int) -> None:
    assert len(verdicts) == last_whole + 1
    assert [verdict.recipient for verdict in verdicts] == [
        _address(index) for index in range(last_whole + 1)
    ]
    assert all(verdict.truncated for verdict in verdicts)
    assert all(verdict.bounce_class is BounceClass.HARD for verdict in verdicts)
    assert all(verdict.status == "5.1.1" for verdict in verdicts)
    assert verdicts[-1].diagnostic == f"550 5.1.1 {_address(last_whole)}: user unknown"


def test_large_dsn_flagged_and_cut_whole() -> None:
    raw, last_whole = _large_dsn()

    verdicts = classify(raw)

    assert last_whole < RECIPIENTS - 1
    _assert_whole_recipients(verdicts, last_whole)


def test_large_dsn_email_package_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the fast splitter the email package parses each block as a header block.
    monkeypatch.setattr(mimesplit, "split", lambda raw, depth=0: None)
    raw, _ = _large_dsn()

    verdicts = classify(raw)

    assert all(verdict.truncated for verdict in verdicts)
    assert len(verdicts) < RECIPIENTS
    assert [verdict.recipient for verdict in verdicts] == [
        _address(index) for index in range(len(verdicts))
    ]
    assert all(verdict.status == "5.1.1" for verdict in verdicts)


def test_dsn_cut_with_input_flagged() -> None:
    # A large attachment first: the MAX_MESSAGE_BYTES cut of the input falls in the report.
    filler = "--B\r\nContent-Type: application/octet-stream\r\n\r\n" + ("A" * 76 + "\r\n") * (
        (MAX_MESSAGE_BYTES - 200_000) // 78
    )
    blocks = "".join(_block(index) for index in range(2_000))
    status_part = "--B\r\nContent-Type: message/delivery-status\r\n\r\n" + REPORTING + blocks
    raw = (HEAD + filler + "\r\n" + status_part + TAIL).encode()
    assert len(raw) > MAX_MESSAGE_BYTES

    verdicts = classify(raw)

    assert 0 < len(verdicts) < 2_000
    assert all(verdict.truncated for verdict in verdicts)
    assert all(verdict.status == "5.1.1" for verdict in verdicts)
    assert verdicts[-1].recipient == _address(len(verdicts) - 1)


def test_small_dsn_not_truncated() -> None:
    fields = REPORTING + "".join(_block(index) for index in range(3))
    raw = (HEAD + "--B\r\nContent-Type: message/delivery-status\r\n\r\n" + fields + TAIL).encode()

    verdicts = classify(raw)

    assert [verdict.recipient for verdict in verdicts] == [_address(index) for index in range(3)]
    assert not any(verdict.truncated for verdict in verdicts)


def test_mbox_past_message_bound_flagged() -> None:
    message = (
        "From MAILER-DAEMON Mon Dec  1 10:00:00 2026\nFrom: MAILER-DAEMON@mx.example.org\n"
        "Subject: Undelivered Mail\n\n<{address}>: 550 5.1.1 user unknown\n\n"
    )
    raw = "".join(message.format(address=_address(index)) for index in range(MAX_MBOX_MESSAGES + 1))

    verdicts = classify(raw.encode())

    # The messages past the bound stay in the last one read, as its text.
    assert [verdict.recipient for verdict in verdicts][:MAX_MBOX_MESSAGES] == [
        _address(index) for index in range(MAX_MBOX_MESSAGES)
    ]
    assert all(verdict.truncated for verdict in verdicts)


def test_cli_classify_reports_truncation(tmp_path: Path, settings: Settings) -> None:
    raw, last_whole = _large_dsn()
    (tmp_path / "large.eml").write_bytes(raw)
    (tmp_path / "small.eml").write_bytes(
        (HEAD + "--B\r\nContent-Type: message/delivery-status\r\n\r\n" + REPORTING).encode()
        + _block(0).encode()
        + TAIL.encode()
    )

    result = run_cli(settings, "bounces", "classify", str(tmp_path), "--json")

    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    large = [row for row in rows if row["path"].endswith("large.eml")]
    small = [row for row in rows if row["path"].endswith("small.eml")]
    assert len(large) == last_whole + 1
    assert all(row["truncated"] is True for row in large)
    assert [row["truncated"] for row in small] == [False]
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "large.eml" in warnings[0]


def test_dashed_lines_stay_linear() -> None:
    # Found while profiling: the separator pattern once took seconds per line of dashes.
    body = ("-" * 999 + "\r\n") * 200
    raw = ("From: MAILER-DAEMON@example.org\r\nSubject: Undelivered\r\n\r\n" + body).encode()

    started = time.perf_counter()
    classify(raw)

    assert time.perf_counter() - started < 5


def _slow_reason(text: str) -> str:
    """Return the first reason whose whole alternation matches: the unfiltered reading."""
    lowered = " ".join(text.lower().split())
    for reason, patterns in _PATTERNS:
        if lowered and re.search("|".join(f"(?:{pattern})" for pattern in patterns), lowered):
            return reason
    return ""


_WORDS = sorted(
    {word for _, patterns in _PATTERNS for p in patterns for word in re.findall(r"[a-z'#]{3,}", p)}
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(_WORDS) | st.sampled_from([" ", "5.1.1", "550", ":", "-", "_", "."]),
        max_size=14,
    )
)
def test_reason_from_text_matches_whole_groups(words: list[str]) -> None:
    text = " ".join(words)

    assert reason_from_text(text) == _slow_reason(text)


@pytest.mark.skipif(not (BOUNCES / "labels.jsonl").exists(), reason="bounce corpus not found")
def test_reason_from_text_matches_on_corpus() -> None:
    for label in labels():
        raw = (BOUNCES / label.path).read_bytes()
        text = raw.decode("utf-8", "replace")[:20_000]
        assert reason_from_text(text) == _slow_reason(text), label.path
