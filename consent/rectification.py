"""Rectification of a contact's data by the DPO (GDPR Art. 16).

The subscriber corrects a name or an address from the preference center;
this module serves the DPO's requests, which may also change the country
and the language that choose the legal regime and the emails' language.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.keystore import encrypt_field
from consent.models import Contact
from consent.self_service import (
    MAX_NAME,
    contact_name,
    current_address,
    request_address_change,
)
from consent.service import ClientInfo, data_key

RECTIFIABLE_FIELDS = ("name", "email", "country", "locale")


def rectify_contact(
    session: Session,
    services: Services,
    contact: Contact,
    changes: Mapping[str, str],
    actor: str,
    client: ClientInfo,
) -> list[str]:
    """Apply the validated ``changes``; return the names of the fields that changed."""
    changed: list[str] = []
    key = data_key(services, contact)

    name = changes.get("name")
    if name is not None:
        cleaned = " ".join(name.split())[:MAX_NAME]
        if cleaned != contact_name(services, contact):
            contact.name_ciphertext = (
                encrypt_field(key, contact.id, "name", cleaned) if cleaned else None
            )
            changed.append("name")

    # A new address is never written directly: it gets the same
    # confirmation link as a change from the preference center, so consent
    # never moves to a mailbox that did not confirm it. Whether the address
    # belongs to someone else is not revealed here either.
    email = changes.get("email")
    if email is not None and email.strip() != current_address(services, contact):
        request_address_change(session, services, contact, email.strip(), client)
        changed.append("email_confirmation_sent")

    country = changes.get("country")
    if country is not None and country != contact.country:
        contact.country = country
        changed.append("country")

    locale = changes.get("locale")
    if locale is not None and locale != contact.locale:
        contact.locale = locale
        changed.append("locale")

    if changed:
        session.add(contact)
        session.flush()
        # The audit action names the fields, never their values.
        record_event(
            session,
            contact.sender_id,
            actor=actor,
            action="contact.rectified." + "+".join(changed),
            object_type="contact",
            object_id=contact.id,
        )
    return changed
