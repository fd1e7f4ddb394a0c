"""Authentication of the From domain in DNS: SPF and DMARC records, presence and syntax.

Each check returns findings under rule MB-03. A lookup that could not
complete gives a warning that the check could not run, never a verdict.
"""

from __future__ import annotations

from collections.abc import Iterator

from compliance.checks.dmarc_record import (
    DMARC_ERROR_MESSAGES,
    DmarcPolicy,
    DmarcSyntaxError,
    is_dmarc_record,
    parse_dmarc_record,
)
from compliance.checks.dns_lookup import (
    TXT_REASON_MESSAGES,
    TxtLookup,
    TxtReason,
    TxtResult,
    TxtStatus,
)
from compliance.checks.findings import MB_03, Finding, Severity, make_finding
from compliance.checks.i18n import N_
from compliance.checks.spf_findings import all_mechanism_findings
from compliance.checks.spf_record import (
    MAX_DNS_LOOKUPS,
    SPF_ERROR_MESSAGES,
    SpfSyntaxError,
    is_spf_record,
    parse_spf_record,
)

# DMARCbis (draft-ietf-dmarc-dmarcbis) DNS tree walk: a name with more than
# 8 labels is shortened to its last 7 labels after the first query, so that
# a walk makes at most 8 queries.
MAX_TREE_WALK_QUERIES = 8


def check_authentication(domain: str, lookup: TxtLookup | None) -> tuple[Finding, ...]:
    """Check the SPF and DMARC records of ``domain``, an already normalised name.

    Without a lookup both checks are reported as skipped.
    """
    if lookup is None:
        return (
            make_finding(
                MB_03,
                "spf.skipped",
                N_("SPF check skipped: no DNS lookup was configured."),
                severity=Severity.INFO,
                facts={"domain": domain},
            ),
            make_finding(
                MB_03,
                "dmarc.skipped",
                N_("DMARC check skipped: no DNS lookup was configured."),
                severity=Severity.INFO,
                facts={"domain": domain},
            ),
        )
    return check_spf(domain, lookup) + check_dmarc(domain, lookup)


def check_spf(domain: str, lookup: TxtLookup) -> tuple[Finding, ...]:
    """Check that ``domain`` publishes exactly one SPF record and that it parses."""
    result = lookup.txt(domain)
    if result.status is TxtStatus.UNKNOWN:
        return (_lookup_failed("spf.unknown", domain, domain, result),)

    records = [record for record in result.records if is_spf_record(record)]
    if not records:
        return (
            make_finding(
                MB_03,
                "spf.missing",
                N_(
                    "No SPF record found for %(domain)s: publish a TXT record starting with v=spf1."
                ),
                facts={"domain": domain},
            ),
        )

    # RFC 7208 section 4.5: more than one SPF record is a permerror.
    if len(records) > 1:
        return (
            make_finding(
                MB_03,
                "spf.multiple",
                N_(
                    "%(domain)s publishes %(count)s SPF records; receivers treat this as a "
                    "permanent error. Merge them into one record."
                ),
                facts={"domain": domain, "count": len(records)},
            ),
        )

    try:
        record = parse_spf_record(records[0])
    except SpfSyntaxError as error:
        return (
            make_finding(
                MB_03,
                "spf.syntax_error",
                N_(
                    "The SPF record of %(domain)s is invalid at character %(position)s "
                    '("%(term)s"): %(reason)s.'
                ),
                facts={
                    "domain": domain,
                    "record": records[0],
                    "position": error.position,
                    "term": error.term,
                    "error": str(error.kind),
                },
                translated={"reason": SPF_ERROR_MESSAGES[error.kind]},
            ),
        )

    facts: dict[str, str | int] = {"domain": domain, "record": record.text}
    findings = [
        make_finding(
            MB_03,
            "spf.found",
            N_("SPF record found for %(domain)s: %(record)s"),
            severity=Severity.INFO,
            facts=facts,
        )
    ]

    findings.extend(all_mechanism_findings(record, facts, MB_03))

    # RFC 7208 section 4.6.4: more than 10 DNS-querying terms is a permerror.
    # This counts only the terms of this record, not those of its includes.
    if record.dns_lookup_count > MAX_DNS_LOOKUPS:
        findings.append(
            make_finding(
                MB_03,
                "spf.too_many_lookups",
                N_(
                    "The SPF record of %(domain)s has %(count)s terms that need a DNS lookup; "
                    "above %(limit)s receivers return a permanent error."
                ),
                facts={**facts, "count": record.dns_lookup_count, "limit": MAX_DNS_LOOKUPS},
            )
        )
    return tuple(findings)


def check_dmarc(domain: str, lookup: TxtLookup) -> tuple[Finding, ...]:
    """Find the DMARC record that applies to ``domain`` and check its policy."""
    for record_domain in dmarc_tree_walk(domain):
        name = f"_dmarc.{record_domain}"
        result = lookup.txt(name)
        if result.status is TxtStatus.UNKNOWN:
            return (_lookup_failed("dmarc.unknown", domain, name, result),)

        # RFC 7489 section 6.6.3: TXT records that are not DMARC records are
        # discarded, and more than one DMARC record means no policy at all.
        records = [record for record in result.records if is_dmarc_record(record)]
        if len(records) > 1:
            return (
                make_finding(
                    MB_03,
                    "dmarc.multiple",
                    N_(
                        "%(name)s holds %(count)s DMARC records, so receivers apply none. "
                        "Keep a single record."
                    ),
                    facts={"domain": domain, "name": name, "count": len(records)},
                ),
            )
        if records:
            return _dmarc_findings(domain, record_domain, records[0])

    return (
        make_finding(
            MB_03,
            "dmarc.missing",
            N_(
                "No DMARC record found for %(domain)s: publish a TXT record at "
                "_dmarc.%(domain)s such as v=DMARC1; p=none."
            ),
            facts={"domain": domain},
        ),
    )


def dmarc_tree_walk(domain: str) -> Iterator[str]:
    """Yield the domains whose ``_dmarc`` record may apply to ``domain``, nearest first.

    The walk replaces RFC 7489's public-suffix list with the DNS tree walk of
    DMARCbis. NOTE: it stops before single-label names, so a policy published
    for a whole top-level domain is not found.
    """
    labels = domain.split(".")
    yield domain
    if len(labels) > MAX_TREE_WALK_QUERIES:
        labels = labels[-(MAX_TREE_WALK_QUERIES - 1) :]
    else:
        labels = labels[1:]
    while len(labels) >= 2:
        yield ".".join(labels)
        labels = labels[1:]


def _dmarc_findings(domain: str, record_domain: str, text: str) -> tuple[Finding, ...]:
    facts: dict[str, str | int] = {"domain": domain, "record_domain": record_domain, "record": text}
    try:
        record = parse_dmarc_record(text)
    except DmarcSyntaxError as error:
        return (
            make_finding(
                MB_03,
                "dmarc.invalid",
                N_("The DMARC record at _dmarc.%(record_domain)s is invalid: %(reason)s."),
                facts={**facts, "error": str(error.kind)},
                translated={"reason": DMARC_ERROR_MESSAGES[error.kind]},
            ),
        )

    policy = record.policy_for(subdomain=record_domain != domain)
    facts["policy"] = str(policy)
    findings = [_policy_finding(policy, facts)]
    if record.invalid_tags:
        findings.append(
            make_finding(
                MB_03,
                "dmarc.invalid_tags",
                N_(
                    "The DMARC record at _dmarc.%(record_domain)s has invalid or repeated tags "
                    "(%(tags)s); receivers use their default values instead."
                ),
                severity=Severity.WARN,
                facts={**facts, "tags": ", ".join(record.invalid_tags)},
            )
        )
    return tuple(findings)


def _policy_finding(policy: DmarcPolicy, facts: dict[str, str | int]) -> Finding:
    if policy is DmarcPolicy.NONE:
        return make_finding(
            MB_03,
            "dmarc.policy_none",
            N_(
                "DMARC record found at _dmarc.%(record_domain)s with policy none: it meets the "
                "bulk-sender requirement but asks receivers to take no action on failures."
            ),
            severity=Severity.INFO,
            facts=facts,
        )
    return make_finding(
        MB_03,
        "dmarc.found",
        N_("DMARC record found at _dmarc.%(record_domain)s with policy %(policy)s."),
        severity=Severity.INFO,
        facts=facts,
    )


def _lookup_failed(check: str, domain: str, name: str, result: TxtResult) -> Finding:
    reason = result.reason if result.reason is not None else TxtReason.DNS_ERROR
    msgid = (
        N_(
            "The SPF check could not run: the DNS lookup of %(name)s failed (%(reason)s). "
            "Run the check again or check the DNS servers."
        )
        if check.startswith("spf.")
        else N_(
            "The DMARC check could not run: the DNS lookup of %(name)s failed (%(reason)s). "
            "Run the check again or check the DNS servers."
        )
    )
    return make_finding(
        MB_03,
        check,
        msgid,
        severity=Severity.WARN,
        facts={"domain": domain, "name": name, "reason": str(reason)},
        translated={"reason": TXT_REASON_MESSAGES[reason]},
    )
