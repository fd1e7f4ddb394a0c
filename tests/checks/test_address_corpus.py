"""Address verdicts on the 58 labelled footer strings of the shared corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.checks.address_validation import assess_lines
from tests.checks.address_expectations import FOOTER_VERDICTS

MIN_ACCURACY = 0.95


def _footers(corpus_dir: Path) -> list[dict[str, Any]]:
    with (corpus_dir / "footers.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def test_every_footer_has_an_expectation(corpus_dir: Path) -> None:
    assert {entry["id"] for entry in _footers(corpus_dir)} == set(FOOTER_VERDICTS)


@pytest.mark.parametrize("footer_id", sorted(FOOTER_VERDICTS))
def test_footer_verdict(corpus_dir: Path, footer_id: int) -> None:
    entry = next(entry for entry in _footers(corpus_dir) if entry["id"] == footer_id)
    expected, reason = FOOTER_VERDICTS[footer_id]

    result = assess_lines("text", entry["text"].splitlines())

    assert str(result.verdict) == expected, reason
    # The corpus's own three-way label must agree with the finer verdict.
    assert result.outcome == entry["expected"], reason


def test_footer_outcome_accuracy(corpus_dir: Path) -> None:
    footers = _footers(corpus_dir)
    correct = sum(
        assess_lines("text", entry["text"].splitlines()).outcome == entry["expected"]
        for entry in footers
    )
    accuracy = correct / len(footers)

    print(
        f"footer address outcomes (valid/merge_tag/fail): {correct}/{len(footers)} = {accuracy:.1%}"
    )
    assert len(footers) == 58
    assert accuracy >= MIN_ACCURACY


def test_footer_kind_agreement(corpus_dir: Path) -> None:
    # The corpus labels some demo addresses "street" and French street plus
    # TSA/CS lines "po_box"; the checker calls them placeholder and street.
    # Count agreement among the valid entries only, where kinds compare.
    valid = [entry for entry in _footers(corpus_dir) if entry["expected"] == "valid"]
    agree = sum(
        str(assess_lines("text", entry["text"].splitlines()).verdict) == entry["kind"]
        for entry in valid
    )

    print(f"kind of valid footers: {agree}/{len(valid)}")
    assert agree >= len(valid) - 2
