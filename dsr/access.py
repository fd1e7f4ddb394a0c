"""The access and portability export (GDPR Art. 15 and 20): JSON, and CSV for spreadsheets.

The same export serves the DPO's access request and the subscriber's
"download my data" button, so both see exactly the same data.
"""

from __future__ import annotations

import csv
import io
import json

from sqlmodel import Session

from compliance.core.context import Services
from compliance.core.models import Sender, iso_utc, utcnow
from consent.export import contact_records
from consent.models import Contact
from suppression.subject_data import subject_records

EXPORT_FORMAT = "sendguard.access-export"


def build_access_export(
    session: Session, services: Services, contact: Contact
) -> dict[str, object]:
    """Gather everything held on the contact, by its id and by the blind index of its address."""
    sender = session.get(Sender, contact.sender_id)
    if sender is None:
        raise RuntimeError(f"contact {contact.id} belongs to no sender")
    digests = [contact.email_index] if contact.email_index else []
    return {
        "format": EXPORT_FORMAT,
        "version": 1,
        "generated_at": iso_utc(utcnow()),
        "controller": {"name": sender.name, "postal_address": sender.postal_address},
        **contact_records(session, services, contact),
        **subject_records(session, contact.sender_id, contact.id, digests),
    }


def export_json(export: dict[str, object]) -> str:
    return json.dumps(export, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


# A cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        text = ""
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    # OWASP's advice against CSV injection: a leading quote keeps the cell text.
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def export_csv(export: dict[str, object]) -> str:
    """Flatten the export to one row per value: section, row within the section, field, value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["section", "row", "field", "value"])
    for section, content in export.items():
        if isinstance(content, list):
            for number, item in enumerate(content, start=1):
                if isinstance(item, dict):
                    for field, value in item.items():
                        writer.writerow([section, number, field, _cell(value)])
        elif isinstance(content, dict):
            for field, value in content.items():
                writer.writerow([section, 1, field, _cell(value)])
        else:
            writer.writerow([section, 1, "", _cell(content)])
    return buffer.getvalue()
