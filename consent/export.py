"""The consent package's records of one contact, for an access export (GDPR Art. 15 and 20)."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from compliance.core.context import Services
from compliance.core.keystore import decrypt_field
from compliance.core.models import iso_utc
from consent import ledger
from consent.models import Contact, PreferenceEvent, Subscription


def contact_records(session: Session, services: Services, contact: Contact) -> dict[str, object]:
    """Collect the contact, its subscriptions, its consent history and its preference events."""
    key = services.keystore.get_key(contact.id)

    def clear(field: str, ciphertext: bytes | None) -> str | None:
        if key is None or ciphertext is None:
            return None
        return decrypt_field(key, contact.id, field, ciphertext)

    subscriptions = session.exec(
        select(Subscription)
        .where(Subscription.contact_id == contact.id)
        .order_by(col(Subscription.topic))
    ).all()
    history = []
    for record in ledger.history(session, contact.id):
        personal = json.loads(clear("consent", record.personal_ciphertext) or "{}")
        history.append(
            {
                "id": record.id,
                "action": record.action,
                "topics": json.loads(record.topics),
                "lawful_basis": record.lawful_basis,
                "regime": record.regime,
                "source": record.source,
                "form_url": record.form_url,
                "wording_version": record.wording_version,
                "wording_sha256": record.wording_sha256,
                "privacy_policy_url": record.privacy_policy_url,
                "privacy_policy_version": record.privacy_policy_version,
                "language": record.language,
                "ip": personal.get("ip"),
                "user_agent": personal.get("user_agent"),
                "created_at": iso_utc(record.created_at),
                "record_hash": record.record_hash,
            }
        )
    events = session.exec(
        select(PreferenceEvent)
        .where(PreferenceEvent.contact_id == contact.id)
        .order_by(col(PreferenceEvent.created_at))
    ).all()
    return {
        "contact": {
            "id": contact.id,
            "email": clear("email", contact.email_ciphertext),
            "name": clear("name", contact.name_ciphertext),
            "locale": contact.locale,
            "status": contact.status,
            "country": contact.country,
            "audience": contact.audience,
            "created_at": iso_utc(contact.created_at),
            "confirmed_at": iso_utc(contact.confirmed_at) if contact.confirmed_at else None,
            "paused_until": iso_utc(contact.paused_until) if contact.paused_until else None,
        },
        "subscriptions": [
            {
                "topic": row.topic,
                "status": row.status,
                "frequency": row.frequency,
                "updated_at": iso_utc(row.updated_at),
            }
            for row in subscriptions
        ],
        "consent_history": history,
        "preference_events": [
            {
                "kind": event.kind,
                "method": event.method,
                "scope": event.scope,
                "value": event.value,
                "created_at": iso_utc(event.created_at),
            }
            for event in events
        ],
    }
