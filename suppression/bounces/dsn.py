"""RFC 3464 delivery status notifications: per-message and per-recipient fields."""

from __future__ import annotations

import re
from dataclasses import dataclass

from suppression.bounces.addresses import clean_address

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")


@dataclass(frozen=True)
class RecipientStatus:
    """The fields of one per-recipient block (RFC 3464 section 2.3)."""

    recipient: str
    action: str
    status: str
    diagnostic: str
    diagnostic_type: str
    remote_mta: str
    # The comment some MTAs write after the code: "5.2.1 (mailbox disabled, ...)".
    status_text: str = ""


def fields_of(block: str) -> dict[str, str]:
    """Parse one block of ``Name: value`` lines, unfolding continuation lines (RFC 5322 2.2.3)."""
    fields: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and name:
            fields[name] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        if match:
            name = match.group(1).lower()
            # The first occurrence counts; a repeated field is a malformed report.
            if name in fields:
                name = f"{name}#dup"
            fields[name] = match.group(2).strip()
        else:
            name = ""
    return fields


def recipients_of(report: str) -> list[RecipientStatus]:
    """Return the per-recipient blocks of a delivery-status body that name a recipient."""
    found: list[RecipientStatus] = []
    for block in re.split(r"\n[ \t]*\n", report.replace("\r\n", "\n")):
        fields = fields_of(block)
        address = clean_address(fields.get("final-recipient", "")) or clean_address(
            fields.get("original-recipient", "")
        )
        if not address:
            continue
        diagnostic = fields.get("diagnostic-code", "")
        kind, semicolon, text = diagnostic.partition(";")
        status_code, _, status_text = fields.get("status", "").partition(" ")
        found.append(
            RecipientStatus(
                recipient=address,
                action=fields.get("action", "").lower().split(" ")[0],
                status=status_code,
                diagnostic=text.strip() if semicolon else diagnostic,
                diagnostic_type=kind.strip().lower() if semicolon else "",
                remote_mta=clean_host(fields.get("remote-mta", "")),
                status_text=status_text.strip(),
            )
        )
    return found


def clean_host(value: str) -> str:
    _, semicolon, rest = value.partition(";")
    return (rest if semicolon else value).strip().strip("[]")
