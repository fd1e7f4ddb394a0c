"""``POST /v1/domains/{domain}/check``: the DNS authentication check of a sending domain."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from compliance.checks.domain import InvalidDomainError
from compliance.checks.domain_options import (
    INVALID_DOMAIN_MESSAGE,
    MAX_SELECTORS,
    MAX_SENDING_IPS,
    CheckPart,
    DomainOptionError,
    build_options,
)
from compliance.checks.domain_report import check_domain
from compliance.checks.resolver import DnsResolver
from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.errors import InvalidInput
from compliance.core.models import Role
from compliance.core.settings import Settings

router = APIRouter(prefix="/v1", tags=["domains"])


class DomainCheckRequest(BaseModel):
    """Body of a domain check: the ESP, its selectors and account values, the sending IPs."""

    model_config = ConfigDict(extra="forbid")

    esp: str | None = Field(
        default=None,
        max_length=40,
        description="ESP profile: benchmark, sendgrid, mailchimp, amazon_ses, brevo, mailjet, "
        "mailgun, postmark or google_workspace",
    )
    dkim_selectors: list[str] = Field(default_factory=list, max_length=MAX_SELECTORS)
    sending_ips: list[str] = Field(
        default_factory=list,
        max_length=MAX_SENDING_IPS,
        description="IP addresses that send the campaign, for the SPF evaluation and reverse DNS",
    )
    account: dict[str, str] = Field(
        default_factory=dict,
        max_length=10,
        description="account-specific values of the ESP profile, such as return_path_host, "
        "dkim_tokens, mail_from or region",
    )
    skip: list[CheckPart] = Field(default_factory=list, max_length=len(CheckPart))


@lru_cache(maxsize=4)
def _shared_resolver(nameservers: tuple[str, ...], timeout: float) -> DnsResolver:
    # One resolver per configuration, so that its TTL cache serves every request.
    if nameservers:
        return DnsResolver.from_nameservers(nameservers, timeout=timeout)
    return DnsResolver.from_system(timeout=timeout)


def domain_resolver(settings: Settings) -> DnsResolver:
    """Return the shared resolver for the nameservers of ``settings`` (empty: the system's)."""
    nameservers = tuple(
        entry.strip() for entry in settings.dns_nameservers.split(",") if entry.strip()
    )
    return _shared_resolver(nameservers, settings.dns_timeout_seconds)


@router.post("/domains/{domain}/check")
async def check_domain_route(
    domain: str,
    services: AppServices,
    body: DomainCheckRequest | None = None,
    principal: Principal = Depends(require_roles(Role.SENDER)),  # noqa: B008 - FastAPI dependency
) -> dict[str, Any]:
    """Check SPF, DKIM, DMARC, MX, reverse DNS and the ESP's records of ``domain``."""
    request = body or DomainCheckRequest()
    try:
        options = build_options(
            esp=request.esp,
            dkim_selectors=request.dkim_selectors,
            sending_ips=request.sending_ips,
            account=request.account,
            skip=[part.value for part in request.skip],
        )
    except DomainOptionError as error:
        raise InvalidInput(error.field, error.msgid, **error.params) from None

    try:
        report = await check_domain(domain, domain_resolver(services.settings), options)
    except InvalidDomainError as error:
        # The message shows the domain, never an address (normalize_domain
        # does not echo a value that contains "@").
        raise InvalidInput("domain", INVALID_DOMAIN_MESSAGE, reason=str(error)) from None
    return report.to_dict()
