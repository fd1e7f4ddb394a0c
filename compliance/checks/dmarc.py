"""DMARC findings for a sending domain: discovery, policy strength and report destinations.

Discovery follows the DNS tree walk of DMARCbis (draft-ietf-dmarc-dmarcbis)
in place of RFC 7489's public-suffix list: ``_dmarc`` is queried at the
domain and at each parent, concurrently, and the nearest record applies.
The same walk gives the organizational domain used for relaxed alignment.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from compliance.checks.auth_dns import dmarc_tree_walk
from compliance.checks.dmarc_record import (
    DMARC_ERROR_MESSAGES,
    DmarcPolicy,
    DmarcRecord,
    DmarcSyntaxError,
    is_dmarc_record,
    parse_dmarc_record,
)
from compliance.checks.dns_messages import DNS_STATUS_MESSAGES
from compliance.checks.findings import MB_03_DMARC, Finding, Severity, make_finding
from compliance.checks.i18n import N_
from compliance.checks.resolver import DnsAnswer, DnsSource

_POLICY_STRENGTH = {DmarcPolicy.NONE: 0, DmarcPolicy.QUARANTINE: 1, DmarcPolicy.REJECT: 2}
_MAILTO = re.compile(r"mailto:[^@\s]+@([^!\s,]+)", re.IGNORECASE)


@dataclass(frozen=True)
class DmarcCheck:
    """The DMARC findings, the record that applies and the organizational domain."""

    findings: tuple[Finding, ...]
    record: DmarcRecord | None
    record_domain: str | None
    organizational_domain: str


async def check_dmarc(domain: str, source: DnsSource) -> DmarcCheck:
    """Find the DMARC record that applies to ``domain`` and check it."""
    walk = list(dmarc_tree_walk(domain))
    answers = await asyncio.gather(
        *(source.query(f"_dmarc.{name}", "TXT") for name in walk),
        source.query(f"_dmarc.{domain}", "CNAME"),
        source.query(domain, "TXT"),
    )
    walk_answers = answers[: len(walk)]
    cname, apex = answers[len(walk)], answers[len(walk) + 1]
    organizational = _organizational_domain(domain, walk, walk_answers)

    findings: list[Finding] = []
    if (
        cname.targets
        and walk_answers[0].canonical_name == f"_dmarc.{domain}"
        and walk_answers[0].records
    ):
        findings.append(
            make_finding(
                MB_03_DMARC,
                "dmarc.cname_and_txt",
                N_(
                    "_dmarc.%(domain)s has both a CNAME and a TXT record; receivers may read "
                    "either. Keep only one of them."
                ),
                facts={"domain": domain, "target": cname.targets[0]},
            )
        )
    if any(is_dmarc_record(text) for text in apex.texts):
        # RFC 7489 section 6.1: receivers read the record at _dmarc only, so a
        # record at the domain itself has no effect.
        findings.append(
            make_finding(
                MB_03_DMARC,
                "dmarc.misplaced",
                N_(
                    "%(domain)s has a DMARC record at the domain itself, where receivers ignore "
                    "it. Only the record at _dmarc.%(domain)s counts; delete the other one."
                ),
                severity=Severity.WARN,
                facts={"domain": domain},
            )
        )

    for record_domain, answer in zip(walk, walk_answers, strict=True):
        name = f"_dmarc.{record_domain}"
        if answer.is_error:
            findings.append(_unknown(domain, answer))
            return DmarcCheck(tuple(findings), None, None, organizational)

        # RFC 7489 section 6.6.3: other TXT records are discarded, and more
        # than one DMARC record means no policy at all.
        records = [text for text in answer.texts if is_dmarc_record(text)]
        if len(records) > 1:
            findings.append(
                make_finding(
                    MB_03_DMARC,
                    "dmarc.multiple",
                    N_(
                        "%(name)s holds %(count)s DMARC records, so receivers apply none. "
                        "Keep a single record."
                    ),
                    facts={"domain": domain, "name": name, "count": len(records)},
                )
            )
            return DmarcCheck(tuple(findings), None, None, organizational)
        if records:
            record, record_findings = await _record_findings(
                domain, record_domain, records[0], organizational, source
            )
            findings.extend(record_findings)
            return DmarcCheck(tuple(findings), record, record_domain, organizational)

    findings.append(
        make_finding(
            MB_03_DMARC,
            "dmarc.missing",
            N_(
                "No DMARC record found for %(domain)s: publish a TXT record at "
                "_dmarc.%(domain)s such as v=DMARC1; p=none."
            ),
            facts={"domain": domain},
        )
    )
    return DmarcCheck(tuple(findings), None, None, organizational)


def _organizational_domain(domain: str, walk: Sequence[str], answers: Sequence[DnsAnswer]) -> str:
    # DMARCbis section 4.10.2: a record with psd=n marks the organizational
    # domain, psd=y marks a public suffix whose child is; otherwise it is the
    # highest name with a record, and the domain itself when none has one.
    found: list[tuple[str, DmarcRecord]] = []
    for name, answer in zip(walk, answers, strict=True):
        texts = [text for text in answer.texts if is_dmarc_record(text)]
        if len(texts) != 1:
            continue
        try:
            found.append((name, parse_dmarc_record(texts[0])))
        except DmarcSyntaxError:
            continue
    for name, record in found:
        psd = record.tags.get("psd", "").lower()
        if psd == "n":
            return name
        if psd == "y":
            labels = domain.split(".")
            depth = len(name.split(".")) + 1
            return ".".join(labels[-depth:]) if len(labels) >= depth else domain
    return found[-1][0] if found else domain


async def _record_findings(
    domain: str, record_domain: str, text: str, organizational: str, source: DnsSource
) -> tuple[DmarcRecord | None, list[Finding]]:
    facts: dict[str, str | int] = {"domain": domain, "record_domain": record_domain, "record": text}
    try:
        record = parse_dmarc_record(text)
    except DmarcSyntaxError as error:
        finding = make_finding(
            MB_03_DMARC,
            "dmarc.invalid",
            N_("The DMARC record at _dmarc.%(record_domain)s is invalid: %(reason)s."),
            facts={**facts, "error": str(error.kind)},
            translated={"reason": DMARC_ERROR_MESSAGES[error.kind]},
        )
        return None, [finding]

    subdomain = record_domain != domain
    policy = record.policy_for(subdomain=subdomain)
    facts["policy"] = str(policy)
    findings = [_policy_finding(policy, facts)]

    pct = record.tags.get("pct", "100")
    if "pct" not in record.invalid_tags and int(pct) < 100 and policy is not DmarcPolicy.NONE:
        findings.append(
            make_finding(
                MB_03_DMARC,
                "dmarc.partial_pct",
                N_(
                    "The DMARC record at _dmarc.%(record_domain)s applies its policy to "
                    "%(pct)s%% of failing mail only (pct=%(pct)s). Raise pct to 100 once "
                    "reports are clean."
                ),
                severity=Severity.WARN,
                facts={**facts, "pct": int(pct)},
            )
        )
    if (
        record.subdomain_policy is not None
        and _POLICY_STRENGTH[record.subdomain_policy] < _POLICY_STRENGTH[record.policy]
    ):
        findings.append(
            make_finding(
                MB_03_DMARC,
                "dmarc.weak_subdomain_policy",
                N_(
                    "The DMARC record at _dmarc.%(record_domain)s sets sp=%(sp)s, weaker than "
                    "p=%(p)s, so subdomains are less protected. Use the same policy for both."
                ),
                severity=Severity.WARN,
                facts={**facts, "sp": str(record.subdomain_policy), "p": str(record.policy)},
            )
        )
    if record.invalid_tags:
        findings.append(
            make_finding(
                MB_03_DMARC,
                "dmarc.invalid_tags",
                N_(
                    "The DMARC record at _dmarc.%(record_domain)s has invalid or repeated tags "
                    "(%(tags)s); receivers use their default values instead."
                ),
                severity=Severity.WARN,
                facts={**facts, "tags": ", ".join(record.invalid_tags)},
            )
        )
    findings.extend(await _report_findings(record, record_domain, organizational, facts, source))
    return record, findings


def _policy_finding(policy: DmarcPolicy, facts: dict[str, str | int]) -> Finding:
    if policy is DmarcPolicy.NONE:
        return make_finding(
            MB_03_DMARC,
            "dmarc.policy_none",
            N_(
                "DMARC record found at _dmarc.%(record_domain)s with policy none: it meets the "
                "bulk-sender requirement but asks receivers to take no action on failures."
            ),
            severity=Severity.WARN,
            facts=facts,
        )
    return make_finding(
        MB_03_DMARC,
        "dmarc.found",
        N_("DMARC record found at _dmarc.%(record_domain)s with policy %(policy)s."),
        severity=Severity.INFO,
        facts=facts,
    )


async def _report_findings(
    record: DmarcRecord,
    record_domain: str,
    organizational: str,
    facts: dict[str, str | int],
    source: DnsSource,
) -> list[Finding]:
    if "rua" not in record.tags:
        return [
            make_finding(
                MB_03_DMARC,
                "dmarc.no_reports",
                N_(
                    "The DMARC record at _dmarc.%(record_domain)s has no rua= address, so no "
                    "aggregate report tells you which servers send as your domain. Add one."
                ),
                severity=Severity.INFO,
                facts=facts,
            )
        ]

    # RFC 7489 section 7.1: a destination outside the record's organizational
    # domain must publish <record domain>._report._dmarc.<destination>.
    destinations = sorted(
        {
            match.group(1).rstrip(".").lower()
            for tag in ("rua", "ruf")
            for match in _MAILTO.finditer(record.tags.get(tag, ""))
        }
    )
    external = [
        host
        for host in destinations
        if host != organizational and not host.endswith("." + organizational)
    ]
    names = [f"{record_domain}._report._dmarc.{host}" for host in external]
    answers = await asyncio.gather(*(source.query(name, "TXT") for name in names))

    findings = []
    for host, name, answer in zip(external, names, answers, strict=True):
        report_facts = {**facts, "destination": host, "name": name}
        if answer.is_error:
            findings.append(
                make_finding(
                    MB_03_DMARC,
                    "dmarc.report_unknown",
                    N_(
                        "Could not check that %(destination)s accepts DMARC reports for "
                        "%(record_domain)s: the lookup of %(name)s failed (%(reason)s)."
                    ),
                    severity=Severity.WARN,
                    facts={**report_facts, "reason": str(answer.status)},
                    translated={"reason": DNS_STATUS_MESSAGES[answer.status]},
                )
            )
        elif not any(is_dmarc_record(text) for text in answer.texts):
            findings.append(
                make_finding(
                    MB_03_DMARC,
                    "dmarc.report_unauthorised",
                    N_(
                        "DMARC reports go to %(destination)s, which does not accept them for "
                        "%(record_domain)s: it lacks the TXT record %(name)s (v=DMARC1). "
                        "Receivers will not send these reports until it is published."
                    ),
                    severity=Severity.WARN,
                    facts=report_facts,
                )
            )
    return findings


def _unknown(domain: str, answer: DnsAnswer) -> Finding:
    return make_finding(
        MB_03_DMARC,
        "dmarc.unknown",
        N_(
            "The DMARC check could not run: the DNS lookup of %(name)s failed (%(reason)s). "
            "Run the check again or check the DNS servers."
        ),
        severity=Severity.WARN,
        facts={"domain": domain, "name": answer.name, "reason": str(answer.status)},
        translated={"reason": DNS_STATUS_MESSAGES[answer.status]},
    )
