"""Building records from raw values: address checks, ESP reason text and scopes."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import PurePath

from email_validator import EmailNotValidError, validate_email

from compliance.core.blind_index import AddressError, normalise_address
from suppression.formats import faults
from suppression.formats.records import (
    MAX_SOURCE_REASON,
    WARNING_SOURCE_REASON_TRUNCATED,
    Fault,
    ImportRecord,
    ReadOptions,
    ReadResult,
    RejectedLine,
)
from suppression.models import SuppressionReason, SuppressionScope
from suppression.syntax import fast_path_valid

# Anything shaped like local@domain inside ESP reason text. SendGrid bounce
# reasons quote the recipient ("<x@example.org>: Recipient address rejected"),
# and suppression data must never hold an address in clear.
_ADDRESS_IN_TEXT = re.compile(r"[^\s<>()\[\]@,;:\"']+@[^\s<>()\[\]@,;:\"']+")
ADDRESS_PLACEHOLDER = "[address]"


def check_address(raw: str) -> str | Fault:
    """Return the trimmed address, or the fault that rejects it.

    The syntax check is email-validator's, without DNS. An address that
    ``normalise_address`` cannot turn into blind-index input is rejected here
    too, so the caller never meets an AddressError later. Case is kept.
    """
    address = raw.strip()
    if not address:
        return faults.MISSING_ADDRESS

    # The fast path accepts only addresses email-validator accepts too (a
    # property test checks it); everything else gets the full validator.
    if not fast_path_valid(address):
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            return faults.INVALID_ADDRESS

    # normalise_address can fail only on the domain once email-validator has
    # accepted the address, because a valid local part is never empty and
    # never contains "@".
    if not _domain_normalises(address.rpartition("@")[2]):
        return faults.INVALID_ADDRESS
    return address


@functools.lru_cache(maxsize=4096)
def _domain_normalises(domain: str) -> bool:
    # Cached because lists repeat a few domains, and the IDNA encoding costs
    # about as much as the rest of a row.
    try:
        normalise_address(f"x@{domain}")
    except AddressError:
        return False
    return True


def clean_source_reason(text: str) -> tuple[str, tuple[str, ...]]:
    """Return the ESP's reason text with addresses masked, cut to the maximum length."""
    masked = _ADDRESS_IN_TEXT.sub(ADDRESS_PLACEHOLDER, text.strip())
    if len(masked) <= MAX_SOURCE_REASON:
        return masked, ()
    return masked[:MAX_SOURCE_REASON], (WARNING_SOURCE_REASON_TRUNCATED,)


def address_record(
    line: int,
    raw_address: str,
    *,
    reason: SuppressionReason,
    source_reason: str = "",
    occurred_at: datetime | None = None,
    scope: SuppressionScope = SuppressionScope.GLOBAL,
    scope_ref: str = "",
    suppress: bool = True,
    warnings: tuple[str, ...] = (),
) -> ReadResult:
    """Build a record for an address, or the RejectedLine that explains why not."""
    checked = check_address(raw_address)
    if isinstance(checked, Fault):
        return RejectedLine(line, "email", checked)

    scope_fault = faults.scope_ref_fault(scope_ref)
    if scope_fault is not None:
        return RejectedLine(line, "scope_ref", scope_fault)

    text, text_warnings = clean_source_reason(source_reason)
    return ImportRecord(
        line=line,
        reason=reason,
        address=checked,
        source_reason=text,
        occurred_at=occurred_at,
        scope=scope,
        scope_ref=scope_ref,
        suppress=suppress,
        warnings=warnings + text_warnings,
    )


def scoped(scope_ref: str | None, scope: SuppressionScope) -> tuple[SuppressionScope, str]:
    """Return ``scope`` with its reference, or the global scope when the reference is unknown.

    Falling back to global suppresses more than the ESP did, which is the
    safe side: suppression beats everything.
    """
    reference = (scope_ref or "").strip()
    if not reference:
        return SuppressionScope.GLOBAL, ""
    return scope, reference


def default_reason(options: ReadOptions) -> SuppressionReason:
    """Return the caller's reason for formats whose rows carry none, else MANUAL."""
    return options.reason or SuppressionReason.MANUAL


def filename_search(options: ReadOptions, pattern: re.Pattern[str]) -> re.Match[str] | None:
    """Search the base name of the caller's file name, when one was given."""
    if not options.filename:
        return None
    return pattern.search(PurePath(options.filename).name)
