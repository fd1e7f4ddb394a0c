"""The full DNS authentication check of a sending domain: SPF, DKIM, DMARC, MX, PTR and ESP.

The parts run concurrently over one DNS source, whose cache they share, and
the whole check is bounded by ``options.budget_seconds``: past it every
query answers as timed out, so the parts still waiting report *unknown*.

Usage::

    resolver = DnsResolver.from_nameservers(["127.0.0.1:5353"])
    report = await check_domain("news.example.org", resolver, build_options(esp="sendgrid"))
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from compliance.checks.dkim import DkimCheck, check_dkim
from compliance.checks.dmarc import check_dmarc
from compliance.checks.dmarc_record import DmarcRecord
from compliance.checks.domain import normalize_domain
from compliance.checks.domain_options import CheckPart, DomainCheckOptions
from compliance.checks.esp_check import check_esp, profile_selectors
from compliance.checks.findings import MB_03_DMARC, CheckReport, Finding, Severity, make_finding
from compliance.checks.i18n import N_
from compliance.checks.mx_ptr import check_freemail, check_mx, check_ptr
from compliance.checks.resolver import BudgetedSource, DnsSource
from compliance.checks.spf_check import SpfCheck, check_spf

T = TypeVar("T")


async def check_domain(
    domain: str, source: DnsSource, options: DomainCheckOptions | None = None
) -> CheckReport:
    """Check the DNS authentication of ``domain`` and return every finding.

    :raises InvalidDomainError: when ``domain`` is not a valid domain name.
    """
    options = options or DomainCheckOptions()
    name = normalize_domain(domain, field="domain")
    budgeted = BudgetedSource(source, options.budget_seconds)
    skip = options.skip
    profile = None if CheckPart.ESP in skip else options.esp
    selectors = (
        profile_selectors(profile, options.account, options.dkim_selectors)
        if profile is not None
        else options.dkim_selectors
    )

    spf, dkim, dmarc, mx, ptr, esp = await asyncio.gather(
        _optional(
            check_spf(name, budgeted, sending_ips=options.sending_ips, profile=profile)
            if CheckPart.SPF not in skip
            else None
        ),
        _optional(check_dkim(name, selectors, budgeted) if CheckPart.DKIM not in skip else None),
        _optional(check_dmarc(name, budgeted) if CheckPart.DMARC not in skip else None),
        _optional(check_mx(name, budgeted) if CheckPart.MX not in skip else None),
        _optional(
            check_ptr(options.sending_ips, budgeted)
            if CheckPart.PTR not in skip and options.sending_ips
            else None
        ),
        _optional(
            check_esp(name, profile, options.account, options.dkim_selectors, budgeted)
            if profile is not None
            else None
        ),
    )

    findings: list[Finding] = [*check_freemail(name)]
    if spf is not None:
        findings.extend(spf.findings)
    if dkim is not None:
        findings.extend(dkim.findings)
    if dmarc is not None:
        findings.extend(dmarc.findings)
        if dmarc.record is not None and spf is not None and dkim is not None:
            findings.append(
                _alignment(name, dmarc.record, dmarc.organizational_domain, spf, dkim, options)
            )
    for part in (mx, ptr, esp):
        findings.extend(part or ())
    if budgeted.exhausted:
        findings.append(
            make_finding(
                MB_03_DMARC,
                "dns.budget_exhausted",
                N_(
                    "The DNS check of %(domain)s ran out of its %(seconds)s s budget; the parts "
                    "still waiting are reported as unknown. Run the check again."
                ),
                severity=Severity.WARN,
                facts={"domain": name, "seconds": int(options.budget_seconds)},
            )
        )
    return CheckReport(from_domain=name, findings=tuple(findings))


def run_domain_check(
    domain: str, source: DnsSource, options: DomainCheckOptions | None = None
) -> CheckReport:
    """Run :func:`check_domain` in a new event loop, for synchronous callers.

    :raises InvalidDomainError: when ``domain`` is not a valid domain name.
    """
    return asyncio.run(check_domain(domain, source, options))


async def _optional(coroutine: Coroutine[Any, Any, T] | None) -> T | None:
    return None if coroutine is None else await coroutine


def _alignment(
    domain: str,
    record: DmarcRecord,
    organizational: str,
    spf: SpfCheck,
    dkim: DkimCheck,
    options: DomainCheckOptions,
) -> Finding:
    # RFC 7489 section 3.1: relaxed alignment (the default) accepts any name
    # under the same organizational domain, strict only the From domain.
    strict_spf = record.tags.get("aspf", "r").lower() == "s"
    via: list[str] = []

    # A DKIM key published under the From domain signs with d= that domain,
    # which aligns in both modes.
    if dkim.has_valid_key:
        via.append("DKIM")
    if _spf_can_align(domain, organizational, strict_spf, spf, options):
        via.append("SPF")

    facts: dict[str, str | int] = {"domain": domain, "organizational_domain": organizational}
    if via:
        return make_finding(
            MB_03_DMARC,
            "dmarc.alignment_possible",
            N_("DMARC alignment of %(domain)s is possible through %(via)s."),
            severity=Severity.INFO,
            facts={**facts, "via": " + ".join(via)},
        )
    return make_finding(
        MB_03_DMARC,
        "dmarc.alignment_impossible",
        N_(
            "Mail from %(domain)s cannot pass DMARC: no valid DKIM key was found under the "
            "domain and the SPF-checked return path is not aligned with it. Publish the DKIM "
            "records of your ESP."
        ),
        facts=facts,
    )


def _spf_can_align(
    domain: str,
    organizational: str,
    strict: bool,
    spf: SpfCheck,
    options: DomainCheckOptions,
) -> bool:
    profile = options.esp
    if profile is not None and not profile.spf_alignment:
        return False

    return_path = ""
    for key in ("return_path_host", "mail_from"):
        value = options.account.get(key, "").strip().rstrip(".").lower()
        if value:
            return_path = (
                value if value.endswith("." + domain) or value == domain else f"{value}.{domain}"
            )
    if not return_path:
        # Without an ESP return path, the envelope sender is taken to use the
        # From domain itself, whose SPF record must then work.
        return spf.record is not None and spf.usable
    if strict:
        return return_path == domain
    return return_path == organizational or return_path.endswith("." + organizational)
