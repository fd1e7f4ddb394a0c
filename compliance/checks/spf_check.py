"""SPF findings for a sending domain: record, lint, lookup counts, ESP include and evaluation.

The record is looked up once through the shared DNS source. Its syntax and
policy are linted, the include tree is walked to count DNS lookups per
term, and ``check_host()`` runs for each sending IP, or once for a probe
address that matches no mechanism so that every term is evaluated.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from compliance.checks.dns_messages import DNS_STATUS_MESSAGES
from compliance.checks.esp_profiles import EspProfile
from compliance.checks.findings import MB_03_SPF, Finding, Severity, make_finding
from compliance.checks.i18n import N_
from compliance.checks.resolver import DnsAnswer, DnsSource
from compliance.checks.spf_eval import IPAddress, SpfResult, SpfVerdict, check_host
from compliance.checks.spf_findings import (
    all_mechanism_findings,
    esp_findings,
    evaluation_findings,
    lookup_findings,
)
from compliance.checks.spf_lint import lookup_tree
from compliance.checks.spf_record import (
    SPF_ERROR_MESSAGES,
    SpfRecord,
    SpfSyntaxError,
    is_spf_record,
    parse_spf_record,
)

# An address from 240.0.0.0/4, reserved since RFC 1112 and never assigned,
# so no real record lists it: evaluating it walks every mechanism.
PROBE_IP = ipaddress.IPv4Address("240.0.0.1")


@dataclass(frozen=True)
class SpfCheck:
    """The SPF findings of a domain and what the DMARC alignment check needs from them."""

    findings: tuple[Finding, ...]
    record: SpfRecord | None
    usable: bool


async def check_spf(
    domain: str,
    source: DnsSource,
    *,
    sending_ips: Sequence[IPAddress] = (),
    profile: EspProfile | None = None,
) -> SpfCheck:
    """Check the SPF record of ``domain``; a DNS failure gives ``spf.unknown``, never a verdict."""
    answer = await source.query(domain, "TXT")
    facts: dict[str, str | int] = {"domain": domain}
    if answer.is_error:
        return SpfCheck((_unknown(domain, answer),), None, False)

    texts = answer.texts
    records = [text for text in texts if is_spf_record(text)]
    if not records:
        return SpfCheck(_missing(domain, texts), None, False)

    # RFC 7208 section 4.5: more than one SPF record is a permerror.
    if len(records) > 1:
        finding = make_finding(
            MB_03_SPF,
            "spf.multiple",
            N_(
                "%(domain)s publishes %(count)s SPF records; receivers treat this as a "
                "permanent error. Merge them into one record."
            ),
            facts={**facts, "count": len(records)},
        )
        return SpfCheck((finding,), None, False)

    text = records[0]
    strings = _strings_of(answer, text)
    try:
        record = parse_spf_record(text)
    except SpfSyntaxError as error:
        finding = make_finding(
            MB_03_SPF,
            "spf.syntax_error",
            N_(
                "The SPF record of %(domain)s is invalid at character %(position)s "
                '("%(term)s"): %(reason)s.'
            ),
            facts={
                **facts,
                "record": text,
                "position": error.position,
                "term": error.term,
                "error": str(error.kind),
            },
            translated={"reason": SPF_ERROR_MESSAGES[error.kind]},
        )
        return SpfCheck((finding, *_split_findings(domain, text, strings)), None, False)

    facts["record"] = text
    findings = [
        make_finding(
            MB_03_SPF,
            "spf.found",
            N_("SPF record found for %(domain)s: %(record)s"),
            severity=Severity.INFO,
            facts=facts,
        ),
        *_split_findings(domain, text, strings),
        *all_mechanism_findings(record, facts, MB_03_SPF),
    ]

    tree, evaluations = await asyncio.gather(
        lookup_tree(domain, record, source),
        asyncio.gather(*(_evaluate(ip, domain, source) for ip in sending_ips or (PROBE_IP,))),
    )
    findings.extend(lookup_findings(domain, tree, facts))
    if profile is not None:
        findings.extend(esp_findings(domain, profile, tree, facts))
    findings.extend(evaluation_findings(domain, sending_ips, evaluations, facts))
    usable = all(
        result.verdict not in (SpfVerdict.PERMERROR, SpfVerdict.TEMPERROR) for result in evaluations
    )
    return SpfCheck(tuple(findings), record, usable)


async def _evaluate(ip: IPAddress, domain: str, source: DnsSource) -> SpfResult:
    return await check_host(ip, domain, f"postmaster@{domain}", domain, resolver=source)


def _unknown(domain: str, answer: DnsAnswer) -> Finding:
    return make_finding(
        MB_03_SPF,
        "spf.unknown",
        N_(
            "The SPF check could not run: the DNS lookup of %(name)s failed (%(reason)s). "
            "Run the check again or check the DNS servers."
        ),
        severity=Severity.WARN,
        facts={"domain": domain, "name": answer.name, "reason": str(answer.status)},
        translated={"reason": DNS_STATUS_MESSAGES[answer.status]},
    )


def _missing(domain: str, texts: Sequence[str]) -> tuple[Finding, ...]:
    missing = make_finding(
        MB_03_SPF,
        "spf.missing",
        N_("No SPF record found for %(domain)s: publish a TXT record starting with v=spf1."),
        facts={"domain": domain},
    )
    # RFC 7208 section 4.5: a record must begin exactly with "v=spf1", so one
    # with a leading space or quote is ignored by receivers.
    near_misses = [text for text in texts if is_spf_record(text.strip(" \t\"'"))]
    if not near_misses:
        return (missing,)
    hint = make_finding(
        MB_03_SPF,
        "spf.malformed_version",
        N_(
            "A TXT record of %(domain)s looks like SPF but does not start exactly with v=spf1 "
            '("%(record)s"), so receivers ignore it. Remove what comes before v=spf1.'
        ),
        facts={"domain": domain, "record": near_misses[0]},
    )
    return (missing, hint)


def _strings_of(answer: DnsAnswer, text: str) -> tuple[bytes, ...]:
    for strings in answer.txt_strings:
        if b"".join(strings).decode("utf-8", errors="replace") == text:
            return strings
    return ()


def _split_findings(domain: str, text: str, strings: Sequence[bytes]) -> tuple[Finding, ...]:
    if len(strings) < 2:
        return ()

    # RFC 7208 section 3.3: the strings are joined with no separator. A split
    # inside a term is valid, but it is worth showing how receivers read it.
    column = 0
    inside_term: list[int] = []
    for left, right in itertools.pairwise(strings):
        column += len(left)
        if left and right and not left.endswith(b" ") and not right.startswith(b" "):
            inside_term.append(column + 1)
    facts: dict[str, str | int] = {"domain": domain, "record": text, "count": len(strings)}
    if not inside_term:
        return (
            make_finding(
                MB_03_SPF,
                "spf.split_strings",
                N_(
                    "The SPF record of %(domain)s is published as %(count)s strings, which "
                    "receivers join with no separator: %(record)s"
                ),
                severity=Severity.INFO,
                facts=facts,
            ),
        )
    return (
        make_finding(
            MB_03_SPF,
            "spf.split_inside_term",
            N_(
                "The SPF record of %(domain)s is split into %(count)s strings, one of them "
                "inside a term at character %(position)s. Receivers join the strings with no "
                "space, so they read: %(record)s. Check that this is the intended record."
            ),
            severity=Severity.WARN,
            facts={**facts, "position": inside_term[0]},
        ),
    )
