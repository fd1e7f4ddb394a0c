"""Processors a sender must tell about erasures and objections (GDPR Art. 19), and their tasks.

A processor's credentials are encrypted under a key store key whose owner
id is the processor's id. Tasks hold ids and statuses only: the subject's
address is read from the request's encrypted payload when a task runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session, col, select

from compliance.core.audit import record_event
from compliance.core.context import Services
from compliance.core.errors import Conflict, InvalidInput, NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.keystore import KeyStore, decrypt_field, encrypt_field
from compliance.core.models import utcnow
from compliance.core.validation import email_address
from dsr.adapters import (
    MAX_MAILCHIMP_LISTS,
    RECTIFICATION_KINDS,
    Action,
    Credentials,
    default_base_url,
)
from dsr.models import (
    DataSubjectRequest,
    Processor,
    ProcessorKind,
    ProcessorTask,
    TaskStatus,
    request_key_id,
)
from dsr.outbound import OutboundError, Resolver, parse_url, resolve_checked, system_resolver

log = structlog.get_logger(__name__)

_CREDENTIALS_FIELD = "processor_credentials"
MIN_WEBHOOK_SECRET_LENGTH = 16
_LIST_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_STREAM_ID = re.compile(r"^[a-z0-9-]{1,64}$")

# What each URL check failure means for the person who sent it, and the fix.
_URL_MESSAGES = {
    "invalid_url": N_(
        "Field url is not a valid absolute URL; send one such as https://processor.example/dsr."
    ),
    "scheme_not_allowed": N_(
        "Field url must start with https://; processors are called over TLS only."
    ),
    "userinfo_not_allowed": N_(
        "Field url must not contain a user name or password; put the credential in field secret."
    ),
    "host_missing": N_(
        "Field url has no host name; send an absolute URL such as https://processor.example/dsr."
    ),
    "host_not_resolved": N_(
        "The host name in field url does not resolve in DNS; check its spelling, or try again "
        "once the processor's DNS answers."
    ),
    "address_not_allowed": N_(
        "The host in field url resolves to a private, loopback, link-local or reserved address, "
        "which Sendguard never calls; use the processor's public URL."
    ),
}


@dataclass(frozen=True)
class TaskView:
    """One processor notification, without personal data: for the DPO and the certificate."""

    task_id: str
    processor_id: str
    processor_name: str
    kind: str
    action: str
    status: str
    attempts: int
    last_error: str | None
    response_status: int | None
    remote_ref: str | None
    next_attempt_at: datetime | None
    completed_at: datetime | None


def check_processor_url(url: str, services: Services, resolver: Resolver) -> None:
    """Check ``url`` as the worker will before each call; raise InvalidInput on field url."""
    try:
        target = parse_url(url, services.settings)
        resolve_checked(target, services.settings, resolver)
    except OutboundError as error:
        message = _URL_MESSAGES.get(error.reason, _URL_MESSAGES["invalid_url"])
        raise InvalidInput("url", message) from None


def _check_config(kind: ProcessorKind, config: dict[str, Any]) -> dict[str, Any]:
    """Return the adapter settings of ``kind`` from ``config``; raise InvalidInput on config."""
    allowed = {
        ProcessorKind.WEBHOOK: set(),
        ProcessorKind.SENDGRID: set(),
        ProcessorKind.POSTMARK: {"requested_by", "message_stream"},
        ProcessorKind.MAILCHIMP: {"list_ids"},
    }[kind]
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise InvalidInput(
            "config",
            N_("Field config has keys that kind %(kind)s does not use: %(keys)s; remove them."),
            kind=kind.value,
            keys=", ".join(safe_id(key) for key in unknown),
        )

    if kind == ProcessorKind.MAILCHIMP:
        list_ids = config.get("list_ids")
        valid = (
            isinstance(list_ids, list)
            and 1 <= len(list_ids) <= MAX_MAILCHIMP_LISTS
            and all(isinstance(item, str) and _LIST_ID.match(item) for item in list_ids)
        )
        if not valid:
            raise InvalidInput(
                "config.list_ids",
                N_(
                    "Field config.list_ids must list 1 to %(max)s Mailchimp audience ids "
                    "(letters and digits, as shown in the audience settings)."
                ),
                max=MAX_MAILCHIMP_LISTS,
            )

    if kind == ProcessorKind.POSTMARK:
        stream = config.get("message_stream")
        if stream is not None and not (isinstance(stream, str) and _STREAM_ID.match(stream)):
            raise InvalidInput(
                "config.message_stream",
                N_(
                    "Field config.message_stream must be a Postmark message stream id such as "
                    "broadcast (lowercase letters, digits and hyphens)."
                ),
            )
        requested_by = config.get("requested_by")
        if requested_by is not None:
            # The controller's role address (privacy@...), never a person's own.
            try:
                email_address(str(requested_by))
            except ValueError:
                raise InvalidInput(
                    "config.requested_by",
                    N_("Field config.requested_by must be your organisation's privacy address."),
                ) from None
    return config


def _check_secret(kind: ProcessorKind, secret: str, server_token: str | None) -> None:
    if kind == ProcessorKind.WEBHOOK and len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
        raise InvalidInput(
            "secret",
            N_(
                "Field secret is too short to sign webhooks; use at least %(min)s random "
                "characters, for example 32 random bytes in hex."
            ),
            min=MIN_WEBHOOK_SECRET_LENGTH,
        )
    if server_token is not None and kind != ProcessorKind.POSTMARK:
        raise InvalidInput(
            "server_token", N_("Field server_token is for Postmark processors only; remove it.")
        )


def register_processor(
    session: Session,
    services: Services,
    sender_id: str,
    name: str,
    kind: ProcessorKind,
    url: str | None,
    secret: str,
    config: dict[str, Any],
    actor: str,
    *,
    server_token: str | None = None,
    resolver: Resolver = system_resolver,
) -> Processor:
    """Register a processor to notify; its URL is checked now and again before every call.

    :raises InvalidInput: the URL, the secret or the config is invalid for ``kind``.
    """
    _check_secret(kind, secret, server_token)
    checked_config = _check_config(kind, config)

    base_url = url or default_base_url(kind, secret)
    if base_url is None:
        if kind == ProcessorKind.MAILCHIMP:
            raise InvalidInput(
                "url",
                N_(
                    "Field url is missing and the Mailchimp API key has no data-center suffix "
                    "such as -us21; check the key, or send your API base URL in field url."
                ),
            )
        raise InvalidInput("url", N_("Field url is missing; send the webhook's https URL."))
    check_processor_url(base_url, services, resolver)

    processor = Processor(
        sender_id=sender_id,
        name=name,
        kind=kind.value,
        url=base_url,
        secret_ciphertext=b"",
        config=json.dumps(checked_config, sort_keys=True),
    )
    # The key store commits on its own connection: an orphan key left by a
    # rolled-back registration protects nothing and is harmless.
    key = services.keystore.create_key(processor.id)
    credentials = {"secret": secret, "server_token": server_token}
    processor.secret_ciphertext = encrypt_field(
        key, processor.id, _CREDENTIALS_FIELD, json.dumps(credentials)
    )
    session.add(processor)
    session.flush()

    record_event(
        session,
        sender_id,
        actor=actor,
        action="processor.registered",
        object_type="processor",
        object_id=processor.id,
    )
    log.info("processor.registered", processor_id=processor.id, kind=kind.value)
    return processor


def load_credentials(keystore: KeyStore, processor_id: str, ciphertext: bytes) -> Credentials:
    """Decrypt a processor's credentials; raise LookupError when its key is gone."""
    key = keystore.get_key(processor_id)
    if key is None:
        raise LookupError(processor_id)
    stored = json.loads(decrypt_field(key, processor_id, _CREDENTIALS_FIELD, ciphertext))
    return Credentials(secret=stored["secret"], server_token=stored.get("server_token"))


def processor_config(processor: Processor) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(processor.config)
    return config


def list_processors(session: Session, sender_id: str) -> list[Processor]:
    """Return the sender's processors, active and deactivated, oldest first."""
    query = (
        select(Processor)
        .where(Processor.sender_id == sender_id)
        .order_by(col(Processor.created_at), col(Processor.id))
    )
    return list(session.exec(query).all())


def get_processor(session: Session, sender_id: str, processor_id: str) -> Processor:
    processor = session.get(Processor, processor_id)
    if processor is None or processor.sender_id != sender_id:
        raise NotFound(
            N_("Processor %(processor_id)s not found for this sender."),
            processor_id=safe_id(processor_id),
        )
    return processor


def deactivate_processor(
    session: Session, sender_id: str, processor_id: str, actor: str
) -> Processor:
    """Stop notifying a processor about new requests; tasks already queued still run.

    Tasks already queued keep running because the processor may still hold
    the subject's data, and Art. 19 requires that it be notified.
    """
    processor = get_processor(session, sender_id, processor_id)
    if not processor.active:
        return processor
    processor.active = False
    processor.disabled_at = utcnow()
    session.add(processor)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="processor.deactivated",
        object_type="processor",
        object_id=processor.id,
    )
    return processor


def enqueue_tasks(
    session: Session, request: DataSubjectRequest, action: str
) -> list[ProcessorTask]:
    """Queue one task per active processor of the request's sender; return the request's tasks.

    A rectification goes only to the processor kinds that can take it
    (webhooks). Calling it again adds tasks only for processors registered
    since, so a retried workflow step queues no duplicate (request_id and
    processor_id are unique together).
    """
    # ValueError for anything but "erasure", "objection" or "rectification".
    only_kinds = RECTIFICATION_KINDS if Action(action) == Action.RECTIFICATION else None
    existing = {
        task.processor_id: task
        for task in session.exec(
            select(ProcessorTask).where(ProcessorTask.request_id == request.id)
        ).all()
    }
    active = session.exec(
        select(Processor).where(
            Processor.sender_id == request.sender_id, col(Processor.active).is_(True)
        )
    ).all()
    for processor in active:
        if processor.id in existing:
            continue
        if only_kinds is not None and ProcessorKind(processor.kind) not in only_kinds:
            continue
        task = ProcessorTask(
            sender_id=request.sender_id,
            request_id=request.id,
            processor_id=processor.id,
            action=action,
        )
        session.add(task)
        existing[processor.id] = task
    session.flush()
    return sorted(existing.values(), key=lambda task: (task.created_at, task.id))


def task_views(session: Session, request_id: str) -> list[TaskView]:
    """Return each processor task of a request, with its processor's name and kind."""
    rows = session.exec(
        select(ProcessorTask, Processor)
        .join(Processor, col(Processor.id) == col(ProcessorTask.processor_id))
        .where(ProcessorTask.request_id == request_id)
        .order_by(col(ProcessorTask.created_at), col(ProcessorTask.id))
    ).all()
    return [
        TaskView(
            task_id=task.id,
            processor_id=processor.id,
            processor_name=processor.name,
            kind=processor.kind,
            action=task.action,
            status=task.status,
            attempts=task.attempts,
            last_error=task.last_error,
            response_status=task.response_status,
            remote_ref=task.remote_ref,
            next_attempt_at=task.next_attempt_at if task.status == TaskStatus.PENDING else None,
            completed_at=task.completed_at,
        )
        for task, processor in rows
    ]


def get_request(session: Session, sender_id: str, request_id: str) -> DataSubjectRequest:
    request = session.get(DataSubjectRequest, request_id)
    if request is None or request.sender_id != sender_id:
        raise NotFound(
            N_("Data-subject request %(request_id)s not found for this sender."),
            request_id=safe_id(request_id),
        )
    return request


def retry_task(
    session: Session, services: Services, sender_id: str, task_id: str, actor: str
) -> ProcessorTask:
    """Put a dead task back in the queue with its attempts reset.

    :raises NotFound: no such task for this sender.
    :raises Conflict: the task is not dead, or the request's personal data is destroyed.
    """
    task = session.get(ProcessorTask, task_id)
    if task is None or task.sender_id != sender_id:
        raise NotFound(
            N_("Processor task %(task_id)s not found for this sender."), task_id=safe_id(task_id)
        )
    if task.status != TaskStatus.DEAD:
        raise Conflict(
            N_("Processor task %(task_id)s is %(status)s; only a dead task can be retried."),
            task_id=task.id,
            status=task.status,
        )

    request = session.get(DataSubjectRequest, task.request_id)
    key = services.keystore.get_key(request_key_id(task.request_id))
    if request is None or request.payload_ciphertext is None or key is None:
        raise Conflict(
            N_(
                "The personal data of request %(request_id)s was destroyed when the request "
                "closed, so Sendguard can no longer tell this processor; contact the processor "
                "directly and keep a record of it."
            ),
            request_id=task.request_id,
        )

    task.status = TaskStatus.PENDING
    task.attempts = 0
    task.next_attempt_at = utcnow()
    task.claimed_until = None
    task.completed_at = None
    session.add(task)
    session.flush()
    record_event(
        session,
        sender_id,
        actor=actor,
        action="processor_task.retried",
        object_type="processor_task",
        object_id=task.id,
    )
    return task
