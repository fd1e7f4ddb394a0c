"""``POST /v1/checks``: run the pre-send checks on a message and return one report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from compliance.checks.dns_lookup import ResolverTxtLookup, TxtLookup
from compliance.checks.findings import CheckReport
from compliance.checks.report import run_message_check, run_parts_check
from compliance.checks.report_html import render_html
from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput
from compliance.core.i18n import N_, negotiate_locale
from compliance.core.models import Role
from compliance.core.settings import Settings
from compliance.presend.list_members import MemberAddresses
from compliance.presend.profile import stored_profile
from compliance.presend.recipient_findings import recipient_findings
from compliance.presend.recipients import RecipientScreening, index_threshold, screen_for_check
from compliance.presend.reports import latest_report, report_from_dict, store_report
from compliance.presend.screening import MAX_SCREEN_RECIPIENTS
from compliance.reputation import service as reputation_service
from compliance.reputation.router import reputation_json
from consent.router import country_code
from suppression.campaigns import campaign_list_ids, get_campaign, mark_sent

router = APIRouter(prefix="/v1", tags=["checks"])


class CheckRequest(BaseModel):
    """A message as raw ``.eml`` text, or as HTML and text parts with headers.

    Not an ApiModel: real templates may contain NUL bytes, and nothing of
    this request is stored.
    """

    model_config = ConfigDict(extra="forbid")

    from_domain: str = Field(min_length=1, max_length=253)
    eml: str | None = Field(default=None, max_length=2_000_000)
    html: str | None = Field(default=None, max_length=2_000_000)
    text: str | None = Field(default=None, max_length=2_000_000)
    headers: dict[str, str] = Field(default_factory=dict, max_length=200)
    skip_dns: bool = False
    # Record the campaign as sent when nothing blocks: its lists then stay
    # locked for 7 days.
    # With campaign_id the report is stored and GET /v1/campaigns/{id}/report returns it.
    campaign_id: str | None = Field(default=None, max_length=64)
    mark_sent: bool = False
    # The recipients to screen, with the same limit as POST /v1/screen.
    recipients: list[str] | None = Field(default=None, max_length=MAX_SCREEN_RECIPIENTS)
    # Opt-outs scoped to these lists apply too; default: the campaign's lists.
    # Without recipients, the subscribed members of these lists are screened.
    list_ids: list[str] = Field(default_factory=list, max_length=100)
    # The planned send time (default: now); opt-out deadlines are counted to
    # it and the lawful basis is judged at it.
    send_at: datetime | None = None
    # ISO 3166-1 alpha-2 codes of the recipients' countries; CA makes the
    # CASL content rules block. Screened recipients add their own countries.
    recipient_countries: list[str] | None = Field(default=None, max_length=250)
    # True when every recipient gave prior affirmative consent to advertising
    # (no "advertisement" label needed), or accepted open tracking.
    advertising_consent: bool | None = None
    tracking_consent: bool | None = None

    @field_validator("recipient_countries")
    @classmethod
    def _country_codes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [country_code(item) for item in value]

    @model_validator(mode="after")
    def _one_form(self) -> CheckRequest:
        if self.eml is None and self.html is None and self.text is None:
            raise ValueError(
                N_("give the message as 'eml', or as 'html' and/or 'text' with 'headers'.")
            )
        if self.eml is not None and (
            self.html is not None or self.text is not None or self.headers
        ):
            raise ValueError(
                N_("give either 'eml' or the separate parts ('html', 'text', 'headers'), not both.")
            )
        if self.mark_sent and self.campaign_id is None:
            raise ValueError(N_("'mark_sent' needs 'campaign_id', the campaign being sent."))
        return self


def dns_lookup(settings: Settings) -> TxtLookup:
    nameservers = [entry for entry in settings.dns_nameservers.split(",") if entry.strip()]
    if nameservers:
        return ResolverTxtLookup.from_nameservers(nameservers, timeout=settings.dns_timeout_seconds)
    return ResolverTxtLookup.from_system(timeout=settings.dns_timeout_seconds)


def prefers_html(accept: str | None) -> bool:
    """Tell whether an Accept header ranks text/html above application/json (RFC 9110 12.5.1)."""
    qualities: dict[str, float] = {}
    for part in (accept or "").split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[media_type.lower()] = max(quality, qualities.get(media_type.lower(), 0.0))
    html = qualities.get("text/html", 0.0)
    json_quality = max(qualities.get("application/json", 0.0), qualities.get("*/*", 0.0))
    return html > 0 and html > json_quality


# The JSON report has no fixed model (findings carry free-form facts), so
# no response model is declared; text/html gives the same report as a page.
@router.post("/checks", response_model=None)
def check_message(
    body: CheckRequest,
    request: Request,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.SENDER)),  # noqa: B008 - FastAPI dependency
) -> dict[str, Any] | HTMLResponse:
    lookup = None if body.skip_dns else dns_lookup(services.settings)
    # Recipients are screened first: their countries decide whether the
    # CASL content rules apply.
    screening = _screen_recipients(body, session, services, principal)
    # The sender's registered name and address: the footer is compared with them.
    profile = stored_profile(
        session,
        principal.sender_id,
        advertising_consent=body.advertising_consent,
        tracking_consent=body.tracking_consent,
        recipient_countries=_recipient_countries(body, screening),
    )
    try:
        if body.eml is not None:
            report = run_message_check(
                body.eml.encode("utf-8"), body.from_domain, lookup, sender=profile
            )
        else:
            report = run_parts_check(
                body.html, body.text, body.headers, body.from_domain, lookup, sender=profile
            )
    except ValueError:
        # The checks raise ValueError only for the from_domain argument.
        raise InvalidInput(
            "from_domain",
            N_(
                "Field from_domain is not a valid domain name; give the domain of the From "
                "address, for example news.example.org."
            ),
        ) from None

    if screening is not None:
        report = CheckReport(report.from_domain, report.findings + recipient_findings(screening))
    if body.campaign_id is not None:
        store_report(session, principal.sender_id, body.campaign_id, report)

    result = report.to_dict()
    # The score now, and as it would be if this send went ahead with this
    # message and this screened list (delivery rates stay the window's).
    lang = negotiate_locale(
        request.headers.get("accept-language"), services.settings.default_locale
    )
    now_score, _ = reputation_service.current(session, principal.sender_id)
    after = reputation_service.projected(session, principal.sender_id, result, body.campaign_id)
    result["reputation"] = {
        "current": {"score": round(now_score.score, 1), "grade": now_score.grade},
        "projected": reputation_json(after, lang),
    }
    if body.mark_sent and body.campaign_id is not None:
        # A blocked report never starts the send, so the campaign stays unsent.
        if report.blocked:
            result["campaign_sent_at"] = None
        else:
            campaign = mark_sent(session, principal.sender_id, body.campaign_id, principal.actor)
            result["campaign_sent_at"] = campaign.sent_at.isoformat() if campaign.sent_at else None
    if prefers_html(request.headers.get("accept")):
        lang = negotiate_locale(
            request.headers.get("accept-language"), services.settings.default_locale
        )
        return HTMLResponse(render_html(report, lang))
    return result


def _screen_recipients(
    body: CheckRequest, session: DbSession, services: AppServices, principal: Principal
) -> RecipientScreening | None:
    """Screen the given recipients, or else the members of the lists; None when there are neither.

    :raises NotFound: for a campaign or a list that is not the sender's.
    :raises InvalidInput: for an empty ``recipients`` list.
    """
    if body.recipients == []:
        # Given recipients take the place of the lists' members, so an empty
        # list used to screen no address and report no recipient finding.
        raise InvalidInput(
            "recipients",
            N_(
                "Field recipients is empty; list the addresses to screen, or leave the "
                "field out to screen the subscribed members of list_ids or of the "
                "campaign's lists."
            ),
        )
    list_ids = list(body.list_ids)
    if not list_ids and body.campaign_id is not None:
        get_campaign(session, principal.sender_id, body.campaign_id)
        list_ids = campaign_list_ids(session, body.campaign_id)
    if body.recipients is None and not list_ids:
        return None

    send_at = body.send_at or datetime.now(UTC)
    if send_at.tzinfo is None:
        # A send time without an offset is taken as UTC.
        send_at = send_at.replace(tzinfo=UTC)
    if body.recipients is not None:
        return screen_for_check(
            session,
            principal.sender_id,
            services.indexer,
            body.recipients,
            list_ids,
            send_at,
            index_threshold=index_threshold(services.settings),
        )

    members = MemberAddresses(session, services.keystore, principal.sender_id, list_ids)
    screening = screen_for_check(
        session,
        principal.sender_id,
        services.indexer,
        members,
        list_ids,
        send_at,
        positions_shown=False,
        index_threshold=index_threshold(services.settings),
    )
    screening.list_count = len(set(list_ids))
    screening.members_unreadable = members.unreadable
    return screening


def _recipient_countries(
    body: CheckRequest, screening: RecipientScreening | None
) -> frozenset[str] | None:
    """Return the recipients' countries: those given, plus those of the screened recipients.

    None means unknown: no countries were given and some screened
    recipients have no country on record.
    """
    declared = None if body.recipient_countries is None else frozenset(body.recipient_countries)
    screened = screening.recipient_countries() if screening is not None else None
    if declared is None:
        return screened
    if screening is None:
        return declared
    return declared | frozenset(screening.countries)


@router.get("/campaigns/{campaign_id}/report", response_model=None)
def campaign_report(
    campaign_id: str,
    request: Request,
    session: DbSession,
    services: AppServices,
    principal: Principal = Depends(require_roles(Role.SENDER)),  # noqa: B008 - FastAPI dependency
) -> dict[str, Any] | HTMLResponse:
    """Return the latest stored pre-send report of a campaign, as JSON or as an HTML page."""
    row = latest_report(session, principal.sender_id, campaign_id)
    if prefers_html(request.headers.get("accept")):
        lang = negotiate_locale(
            request.headers.get("accept-language"), services.settings.default_locale
        )
        return HTMLResponse(render_html(report_from_dict(row.report), lang))
    return {
        "campaign_id": row.campaign_id,
        "created_at": row.created_at.isoformat(),
        "verdict": row.verdict,
        "report": row.report,
    }
