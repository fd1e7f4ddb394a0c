"""Consent receipts in the Kantara Consent Receipt v1.1 structure.

The fields follow the Kantara Initiative Consent Receipt Specification
v1.1.0, whose structure ISO/IEC TS 27560 took over (controller, policy,
services and purposes, consent type, timestamps). The receipt names the
contact by its id, never by its address: the receipt link can sit in a
forwarded email. A ``sendguard`` block adds the ledger proof, so the
receipt can be checked against an exported chain checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlmodel import Session

from compliance.core.models import Sender, iso_utc, utcnow
from consent import ledger
from consent.basis import BasisVerdict, Regime
from consent.evidence import facts_from_records, judge
from consent.models import ConsentAction, ConsentRecord, Contact, Topic
from consent.topics import declared_topics

KANTARA_VERSION = "KI-CR-v1.1.0"

# Kantara consentType values: EXPLICIT when the person acted (a form, a
# confirmed double opt-in); IMPLIED for a relationship basis.
_EXPLICIT_BASES = frozenset({"consent", "casl_express"})


def _collection_method(record: ConsentRecord, confirmed: bool) -> str:
    method = f"{record.source} ({record.form_url})" if record.form_url else record.source
    return f"{method}, confirmed by double opt-in" if confirmed else method


def build_receipt(
    sender: Sender,
    contact: Contact,
    records: Sequence[ConsentRecord],
    topics: Sequence[Topic],
    verdict: BasisVerdict,
) -> dict[str, object]:
    """Build the receipt of the latest consent given; its fields are None when there is none."""
    given = [record for record in records if record.action == ConsentAction.GIVEN]
    latest = given[-1] if given else None
    confirmation = next(
        (
            record
            for record in records
            if latest is not None
            and record.action == ConsentAction.CONFIRMED
            and record.confirms_record_id == latest.id
        ),
        None,
    )
    withdrawals = [
        record
        for record in records
        if record.action == ConsentAction.WITHDRAWN
        and latest is not None
        and record.created_at >= latest.created_at
    ]
    names = {topic.key: topic for topic in topics}
    topic_keys: list[str] = json.loads(latest.topics) if latest is not None else []
    anchor = confirmation or latest
    lang = contact.locale

    purposes = [
        {
            "purpose": (
                (names[key].name_fr if lang == "fr" else names[key].name_en)
                if key in names
                else key
            ),
            "purposeCategory": ["Marketing"],
            "consentType": (
                "EXPLICIT"
                if latest is not None and latest.lawful_basis in _EXPLICIT_BASES
                else "IMPLIED"
            ),
            "piiCategory": ["Email address"],
            "primaryPurpose": True,
            "termination": "Until withdrawn: one-click unsubscribe in every email",
            "thirdPartyDisclosure": False,
        }
        for key in topic_keys
    ]
    return {
        "version": KANTARA_VERSION,
        "jurisdiction": (latest.country if latest is not None and latest.country else "EU"),
        "consentTimestamp": int(anchor.created_at.timestamp()) if anchor is not None else None,
        "collectionMethod": (
            _collection_method(latest, confirmation is not None) if latest is not None else None
        ),
        "consentReceiptID": anchor.record_hash if anchor is not None else None,
        "language": lang,
        "piiPrincipalId": contact.id,
        "piiControllers": [
            {
                "piiController": sender.name,
                "onBehalf": False,
                "contact": sender.name,
                "address": sender.postal_address,
            }
        ],
        "policyUrl": latest.privacy_policy_url if latest is not None else None,
        "services": [{"service": sender.name, "purposes": purposes}],
        "sensitive": False,
        "spiCat": [],
        "sendguard": {
            "status": contact.status,
            "lawful_basis": latest.lawful_basis if latest is not None else None,
            "regime": verdict.regime.value,
            "valid_now": verdict.valid,
            "verdict_code": verdict.code,
            "given_at": iso_utc(latest.created_at) if latest is not None else None,
            "confirmed_at": iso_utc(confirmation.created_at) if confirmation else None,
            "withdrawn_at": iso_utc(withdrawals[0].created_at) if withdrawals else None,
            "wording_version": latest.wording_version if latest is not None else None,
            "wording_sha256": latest.wording_sha256 if latest is not None else None,
            "privacy_policy_version": (
                latest.privacy_policy_version if latest is not None else None
            ),
            "ledger_record_ids": [record.id for record in records],
            "ledger_record_hashes": [record.record_hash for record in records],
        },
    }


def receipt_for(session: Session, contact: Contact) -> dict[str, object]:
    """The receipt of ``contact`` as the ledger stands now."""
    records = ledger.history(session, contact.id)
    verdict = judge(facts_from_records(contact, records), utcnow(), None, Regime.GDPR)
    sender = session.get(Sender, contact.sender_id)
    if sender is None:
        raise RuntimeError(f"contact {contact.id} belongs to no sender")
    return build_receipt(
        sender, contact, records, declared_topics(session, contact.sender_id), verdict
    )
