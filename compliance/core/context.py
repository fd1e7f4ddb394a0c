"""The long-lived objects a request needs, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from jinja2 import Environment

from compliance.core.blind_index import BlindIndexer
from compliance.core.csrf import CsrfGuard
from compliance.core.fingerprint import ClientFingerprinter
from compliance.core.keystore import KeyStore
from compliance.core.mail import MailTransport
from compliance.core.padding import ResponseTimePadding
from compliance.core.ratelimit import RateLimiter
from compliance.core.settings import Settings
from compliance.core.signing import StatementSigner
from compliance.core.tokens import TokenSigner


@dataclass(frozen=True)
class Services:
    settings: Settings
    keystore: KeyStore
    indexer: BlindIndexer
    tokens: TokenSigner
    jinja: Environment
    # Every limiter uses the store of SENDGUARD_RATE_LIMIT_STORE.
    # Per client address: sign-ups, magic links and DSR intakes.
    subscribe_limiter: RateLimiter
    # Per client address: dashboard sign-in attempts.
    login_limiter: RateLimiter
    # Per sender and address blind index: DSR codes mailed to one mailbox.
    dsr_subject_limiter: RateLimiter
    transport: MailTransport
    signer: StatementSigner
    fingerprints: ClientFingerprinter
    csrf: CsrfGuard
    # Per process: the fast paths of the public sign-up and of the magic
    # link request wait as long as their full paths take (no enumeration).
    signup_padding: ResponseTimePadding = field(default_factory=ResponseTimePadding)
    magic_link_padding: ResponseTimePadding = field(default_factory=ResponseTimePadding)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


AppServices = Annotated[Services, Depends(get_services)]
