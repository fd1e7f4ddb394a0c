"""Consent proof over the API: record consent, read a contact's history and receipt,
verify the ledger and sign checkpoints of it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import AnyHttpUrl, BaseModel, Field, field_validator, model_validator

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices, Services
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput, NotFound, request_locale, safe_id
from compliance.core.i18n import N_, translate
from compliance.core.keystore import decrypt_field
from compliance.core.models import Role, Sender, utcnow
from compliance.core.validation import ApiModel, email_address
from consent import ledger, service, signup
from consent.basis import Basis, BasisVerdict, Regime
from consent.evidence import facts_from_records, judge
from consent.models import ConsentRecord, Contact
from consent.receipt import receipt_for
from consent.router import Source, country_code, declared_minor, valid_topic_keys
from consent.topics import declared_topics
from consent.urls import form_page_url

router = APIRouter(prefix="/v1", tags=["consent"])

SenderKey = Depends(require_roles(Role.SENDER))
ProofReader = Depends(require_roles(Role.SENDER, Role.DPO))
ChainReader = Depends(require_roles(Role.ADMIN, Role.DPO))
AdminKey = Depends(require_roles(Role.ADMIN))


# A relationship basis rests on a sale, an inquiry or a relationship that the
# sender records itself (api, import). A contest or a survey is not such a relationship.
_SOURCES_BY_BASIS: dict[Basis, frozenset[str]] = {
    Basis.SOFT_OPT_IN: frozenset({"purchase", "api", "import"}),
    Basis.CASL_IMPLIED_PURCHASE: frozenset({"purchase", "api", "import"}),
    Basis.CASL_IMPLIED_INQUIRY: frozenset({"inquiry", "api", "import"}),
    Basis.CASL_IMPLIED_NON_BUSINESS: frozenset({"api", "import", "event"}),
}


class ConsentIn(ApiModel):
    """A consent or relationship collected outside the public form."""

    email: str = Field(min_length=3, max_length=320)
    topics: list[str] = Field(min_length=1, max_length=50)
    lawful_basis: Basis
    source: Source = "api"
    regime: Literal["gdpr", "casl", "can_spam"] = "gdpr"
    locale: Literal["fr", "en"] | None = None
    consent_text: str = Field(min_length=1, max_length=10_000)
    consent_text_version: str = Field(min_length=1, max_length=64)
    privacy_policy_url: AnyHttpUrl
    privacy_policy_version: str = Field(min_length=1, max_length=64)
    form_url: AnyHttpUrl | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    audience: Literal["b2c", "b2b"] | None = None
    # Date of the purchase, inquiry or donation an implied basis rests on.
    relationship_at: datetime | None = None
    # Soft opt-in (CPCE L34-5): was an opt-out offered when the address was collected?
    opt_out_offered: bool | None = None
    # French B2B exception: is the message about the recipient's profession?
    related_to_profession: bool | None = None
    declared_age: int | None = Field(default=None, ge=0, le=130)
    parental_consent: bool = False
    # False for consent imported without its original proof: kept, flagged.
    has_proof: bool = True
    # Send the confirmation email (double opt-in) for this record.
    double_opt_in: bool = True

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)

    @field_validator("topics")
    @classmethod
    def _valid_topics(cls, value: list[str]) -> list[str]:
        return valid_topic_keys(value)

    @field_validator("country")
    @classmethod
    def _valid_country(cls, value: str | None) -> str | None:
        return None if value is None else country_code(value)

    @model_validator(mode="after")
    def _source_fits_basis(self) -> ConsentIn:
        allowed = _SOURCES_BY_BASIS.get(self.lawful_basis)
        if allowed is not None and self.source not in allowed:
            raise ValueError(
                N_(
                    "source does not fit lawful_basis: a soft opt-in or implied consent rests"
                    " on a sale, an inquiry or a relationship; give the matching source"
                    " (purchase, inquiry, api or import) or the basis 'consent'."
                )
            )
        return self

    @field_validator("relationship_at")
    @classmethod
    def _past(cls, value: datetime | None) -> datetime | None:
        if value is not None and (value.tzinfo is None or value > utcnow()):
            raise ValueError(
                N_("give a past date and time with its time zone, such as 2026-01-31T10:00:00Z.")
            )
        return value


class VerdictOut(BaseModel):
    valid: bool
    regime: str
    basis: str | None
    code: str
    message: str
    rule: str
    flags: list[str]
    expires_at: datetime | None


class RecordedConsent(BaseModel):
    contact_id: str
    record_id: int
    status: str
    basis_now: VerdictOut


def _verdict_out(request: Request, verdict: BasisVerdict) -> VerdictOut:
    lang = request_locale(request)
    return VerdictOut(
        valid=verdict.valid,
        regime=verdict.regime.value,
        basis=verdict.basis.value if verdict.basis else None,
        code=verdict.code,
        message=translate(lang, verdict.message, **dict(verdict.params)),
        rule=verdict.rule,
        flags=list(verdict.flags),
        expires_at=verdict.expires_at,
    )


def _sender(session: DbSession, sender_id: str) -> Sender:
    sender = session.get(Sender, sender_id)
    if sender is None:
        raise NotFound(N_("Sender not found."))
    return sender


@router.post("/consents", status_code=201, response_model=RecordedConsent)
def record_consent(
    body: ConsentIn,
    request: Request,
    session: DbSession,
    services: AppServices,
    principal: Principal = SenderKey,
) -> RecordedConsent:
    """Record a consent or relationship (sale, inquiry, import…) with its proof."""
    known = {topic.key for topic in declared_topics(session, principal.sender_id)}
    unknown = [key for key in body.topics if key not in known]
    if unknown:
        raise InvalidInput(
            "topics",
            N_("topics: %(topic)s is not a topic of this sender; declare it with POST /v1/topics."),
            topic=safe_id(unknown[0]),
        )
    sender = _sender(session, principal.sender_id)
    proof = signup.SignupProof(
        topics=body.topics,
        lawful_basis=body.lawful_basis.value,
        regime=body.regime,
        source=body.source,
        form_url=form_page_url(str(body.form_url)) if body.form_url else None,
        wording_text=body.consent_text,
        wording_version=body.consent_text_version,
        privacy_policy_url=str(body.privacy_policy_url),
        privacy_policy_version=body.privacy_policy_version,
        language=body.locale or sender.default_locale,
        country=body.country,
        audience=body.audience,
        relationship_at=body.relationship_at,
        opt_out_offered=body.opt_out_offered,
        related_to_profession=body.related_to_profession,
        declared_minor=declared_minor(body.declared_age, body.country),
        parental_consent=body.parental_consent,
        has_proof=body.has_proof,
    )
    # The caller's own client is not the subscriber's: no IP or user agent is kept.
    contact, given = signup.record_consent(
        session,
        services,
        sender,
        body.email,
        proof,
        service.ClientInfo(ip=None, user_agent=None),
        double_opt_in=body.double_opt_in,
        actor=principal.actor,
    )
    records = ledger.history(session, contact.id)
    verdict = judge(facts_from_records(contact, records), utcnow(), None, Regime(body.regime))
    return RecordedConsent(
        contact_id=contact.id,
        record_id=given.id or 0,
        status=contact.status,
        basis_now=_verdict_out(request, verdict),
    )


class RecordOut(BaseModel):
    id: int
    action: str
    topics: list[str]
    lawful_basis: str
    regime: str
    source: str
    form_id: str | None
    form_url: str | None
    wording_version: str | None
    wording_sha256: str | None
    privacy_policy_url: str | None
    privacy_policy_version: str | None
    language: str
    country: str | None
    audience: str | None
    relationship_at: datetime | None
    opt_out_offered: bool | None
    related_to_profession: bool | None
    declared_minor: bool | None
    parental_consent: bool
    has_proof: bool
    confirms_record_id: int | None
    created_at: datetime
    prev_hash: str
    record_hash: str
    # The IP address and user agent of this act, readable while the
    # contact's key exists; after erasure they are None and personal_erased is true.
    ip: str | None
    user_agent: str | None
    personal_erased: bool


class HistoryOut(BaseModel):
    contact_id: str
    status: str
    records: list[RecordOut]
    # Every record of this contact still matches its hash.
    records_intact: bool
    basis_now: VerdictOut


def _contact(session: DbSession, sender_id: str, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id)
    # Another sender's contact gets the same 404 as a missing one.
    if contact is None or contact.sender_id != sender_id:
        raise NotFound(N_("Contact %(contact_id)s not found."), contact_id=safe_id(contact_id))
    return contact


def _personal(services: Services, record: ConsentRecord) -> tuple[str | None, str | None, bool]:
    if record.personal_ciphertext is None:
        return None, None, False
    key = services.keystore.get_key(record.contact_id)
    if key is None:
        return None, None, True
    values = json.loads(
        decrypt_field(key, record.contact_id, "consent", record.personal_ciphertext)
    )
    return values.get("ip"), values.get("user_agent"), False


def _record_out(services: Services, record: ConsentRecord) -> RecordOut:
    ip, user_agent, erased = _personal(services, record)
    return RecordOut(
        id=record.id or 0,
        action=record.action,
        topics=json.loads(record.topics),
        lawful_basis=record.lawful_basis,
        regime=record.regime,
        source=record.source,
        form_id=record.form_id,
        form_url=record.form_url,
        wording_version=record.wording_version,
        wording_sha256=record.wording_sha256,
        privacy_policy_url=record.privacy_policy_url,
        privacy_policy_version=record.privacy_policy_version,
        language=record.language,
        country=record.country,
        audience=record.audience,
        relationship_at=record.relationship_at,
        opt_out_offered=record.opt_out_offered,
        related_to_profession=record.related_to_profession,
        declared_minor=record.declared_minor,
        parental_consent=record.parental_consent,
        has_proof=record.has_proof,
        confirms_record_id=record.confirms_record_id,
        created_at=record.created_at,
        prev_hash=record.prev_hash,
        record_hash=record.record_hash,
        ip=ip,
        user_agent=user_agent,
        personal_erased=erased,
    )


@router.get("/contacts/{contact_id}/consent", response_model=HistoryOut)
def consent_history(
    contact_id: str,
    request: Request,
    session: DbSession,
    services: AppServices,
    principal: Principal = ProofReader,
) -> HistoryOut:
    """Return the contact's consent history with its proof, and whether it may be mailed now."""
    contact = _contact(session, principal.sender_id, contact_id)
    records = ledger.history(session, contact.id)
    verdict = judge(facts_from_records(contact, records), utcnow(), None, Regime.GDPR)
    return HistoryOut(
        contact_id=contact.id,
        status=contact.status,
        records=[_record_out(services, record) for record in records],
        records_intact=all(ledger.record_hash(record) == record.record_hash for record in records),
        basis_now=_verdict_out(request, verdict),
    )


@router.get("/contacts/{contact_id}/consent/receipt")
def consent_receipt(
    contact_id: str, session: DbSession, principal: Principal = ProofReader
) -> dict[str, object]:
    """Return the contact's consent receipt (Kantara Consent Receipt v1.1 structure)."""
    contact = _contact(session, principal.sender_id, contact_id)
    return receipt_for(session, contact)


class LookupIn(ApiModel):
    email: str = Field(min_length=3, max_length=320)

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return email_address(value)


class LookupOut(BaseModel):
    contact_id: str
    status: str


@router.post("/contacts/lookup", response_model=LookupOut)
def lookup_contact(
    body: LookupIn, session: DbSession, services: AppServices, principal: Principal = ProofReader
) -> LookupOut:
    """Find a contact id by address; the address travels in the body, never in a URL."""
    found = service.find_contacts(
        session, principal.sender_id, services.indexer.all_versions(body.email)
    )
    if not found:
        raise NotFound(N_("No contact has this address."))
    return LookupOut(contact_id=found[0].id, status=found[0].status)


class ChainOut(BaseModel):
    sender_id: str
    intact: bool
    records: int
    head_record_id: int | None
    head_hash: str
    first_broken_record_id: int | None


@router.get("/consent/verify", response_model=ChainOut)
def verify_ledger(session: DbSession, principal: Principal = ChainReader) -> ChainOut:
    """Walk the sender's consent chain and report the first broken link, if any."""
    report = ledger.verify_chain(session, principal.sender_id)
    return ChainOut(
        sender_id=report.sender_id,
        intact=report.intact,
        records=report.records,
        head_record_id=report.head_record_id,
        head_hash=report.head_hash,
        first_broken_record_id=report.first_broken_record_id,
    )


@router.post("/consent/checkpoints", status_code=201)
def create_checkpoint(
    session: DbSession, services: AppServices, principal: Principal = AdminKey
) -> dict[str, object]:
    """Sign the chain's head; keep the returned statement outside Sendguard."""
    return ledger.create_checkpoint(session, services.signer, principal.sender_id)


class CheckpointCheckOut(BaseModel):
    checkpoint_id: str
    status: str
    ok: bool
    # The statement was signed by this installation's current key.
    signed_by_this_installation: bool


@router.post("/consent/checkpoints/verify", response_model=CheckpointCheckOut)
def verify_checkpoint(
    statement: dict[str, object],
    session: DbSession,
    services: AppServices,
    principal: Principal = ChainReader,
) -> CheckpointCheckOut:
    """Check an exported checkpoint against the chain as it is now."""
    result = ledger.check_checkpoint(session, principal.sender_id, statement)
    return CheckpointCheckOut(
        checkpoint_id=safe_id(result.checkpoint_id),
        status=result.status,
        ok=result.ok,
        signed_by_this_installation=statement.get("key_id") == services.signer.public_key.key_id,
    )
