"""The package's contracts: record invariants, the registry, its documentation and its imports."""

from __future__ import annotations

import ast
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email

from compliance.core.blind_index import AddressError, normalise_address
from suppression.formats import FORMATS, ExportRow, ImportRecord, detect_format
from suppression.formats.build import check_address, clean_source_reason
from suppression.models import SuppressionReason, SuppressionScope

from .conftest import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "suppression" / "formats"
DOC = REPO_ROOT / "docs" / "suppression-formats.md"

# Besides the standard library, the format layer may import only these.
ALLOWED_IMPORTS = {
    "email_validator",
    "compliance.core.blind_index",
    "suppression.models",
    "suppression.syntax",
}


def test_record_needs_one_identity() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ImportRecord(line=1, reason=SuppressionReason.MANUAL)
    with pytest.raises(ValueError, match="exactly one"):
        ImportRecord(
            line=1,
            reason=SuppressionReason.MANUAL,
            address="a@example.com",
            blind_index="ab" * 32,
            key_version=1,
        )


def test_record_time_must_be_utc() -> None:
    paris = timezone(timedelta(hours=2))

    with pytest.raises(ValueError, match="UTC"):
        ImportRecord(
            line=1,
            reason=SuppressionReason.MANUAL,
            address="a@example.com",
            occurred_at=datetime(2024, 1, 1, tzinfo=paris),
        )
    with pytest.raises(ValueError, match="UTC"):
        ImportRecord(
            line=1,
            reason=SuppressionReason.MANUAL,
            address="a@example.com",
            occurred_at=datetime(2024, 1, 1),
        )


def test_record_scope_ref_matches_scope() -> None:
    with pytest.raises(ValueError, match="scope_ref"):
        ImportRecord(
            line=1,
            reason=SuppressionReason.MANUAL,
            address="a@example.com",
            scope=SuppressionScope.LIST,
        )


def test_export_row_needs_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        ExportRow("ab" * 32, 1, SuppressionReason.MANUAL, datetime(2024, 1, 1))

    assert ExportRow("ab" * 32, 1, SuppressionReason.MANUAL, datetime(2024, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ana@Example.org ", "Ana@Example.org"),
        ("élodie@exämple.fr", "élodie@exämple.fr"),
        ("a+tag@example.org", "a+tag@example.org"),
    ],
)
def test_check_address_keeps_case(raw: str, expected: str) -> None:
    assert check_address(raw) == expected


TRICKY_ADDRESSES = [
    "a@example.com",
    "a@\u0301example.com",
    "a@xn--a.com",
    "a@ex\u200dample.com",
    "a@example.com\u3002",
    "a@ab--cd.com",
    "a@\u00df.de",
    "a@\u05d0a.com",
    "\u00e9@EXAMPLE.com",
    "a@example.com.",
    "@example.com",
    "a@",
]


@pytest.mark.parametrize("raw", TRICKY_ADDRESSES)
def test_check_address_agrees_with_both(raw: str) -> None:
    try:
        validate_email(raw, check_deliverability=False)
        normalise_address(raw)
    except (EmailNotValidError, AddressError):
        accepted = False
    else:
        accepted = True

    assert isinstance(check_address(raw), str) == accepted


def test_source_reason_masks_addresses() -> None:
    text, warnings = clean_source_reason("550 <x.y+z@example.org>: unknown, cc a@b.example")

    assert text == "550 <[address]>: unknown, cc [address]"
    assert warnings == ()


def test_registry_names_match_keys() -> None:
    assert all(name == spec.name for name, spec in FORMATS.items())
    assert all(spec.reader or spec.writer for spec in FORMATS.values())
    assert all(spec.mapping for spec in FORMATS.values())


def test_registry_lists_expected_formats() -> None:
    assert len(FORMATS) == 48
    for name in ("generic_csv", "hashed_csv", "ses_put_csv", "sendgrid_blocks_csv"):
        assert name in FORMATS


def test_sendgrid_blocks_not_suppressed() -> None:
    assert FORMATS["sendgrid_blocks_csv"].mapping == (("blocks", "not suppressed (reported only)"),)


def test_docs_name_every_format() -> None:
    text = DOC.read_text(encoding="utf-8")

    missing = [name for name in FORMATS if f"`{name}`" not in text]

    assert missing == []


def test_detect_returns_registered_names() -> None:
    samples = [
        b"email\na@example.com\n",
        b"a@example.com,BOUNCE\n",
        b'{"items": [{"address": "a@example.com"}]}',
        b"blind_index,key_version,reason\n",
    ]
    for sample in samples:
        name = detect_format(None, sample)
        assert name in FORMATS


def test_detect_empty_and_unknown() -> None:
    assert detect_format("x.csv", b"") is None
    assert detect_format("x.csv", b"first,second\n1,2\n") is None
    assert detect_format("x.csv", b"email,name,attributes\na@example.com,A,{}\n") is None
    assert detect_format(None, b"status,reason,email,created\n") is None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda path: path.name)
def test_module_imports_allowed(path: Path) -> None:
    outside = {
        name
        for name in _imports(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name not in ALLOWED_IMPORTS
        and not name.startswith("suppression.formats")
    }

    assert outside == set()


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda path: path.name)
def test_module_size(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) < 400
