"""Fuzz the bounce, complaint and reply classifier with raw and mutated messages."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import bounce_seeds, message_seeds, mutated
from tests.fuzz.targets import FUZZ_SETTINGS, check_bounce_message


@settings(FUZZ_SETTINGS)
@given(st.binary(max_size=4096))
def test_classify_random_bytes(data: bytes) -> None:
    check_bounce_message(data)


@settings(FUZZ_SETTINGS)
@given(mutated(bounce_seeds()))
def test_classify_mutated_reports(data: bytes) -> None:
    check_bounce_message(data)


@settings(FUZZ_SETTINGS)
@given(mutated(message_seeds()))
def test_classify_mutated_newsletters(data: bytes) -> None:
    check_bounce_message(data)


@settings(FUZZ_SETTINGS)
@given(st.lists(st.sampled_from(bounce_seeds()), min_size=2, max_size=3))
def test_classify_concatenated_reports(messages: list[bytes]) -> None:
    # An mbox of several messages, each starting with a "From " line.
    check_bounce_message(b"".join(b"From x@example.net\n" + message for message in messages))
