"""SPF findings from the include tree (lookup counts, loops, broken terms, ESP includes)
and from ``check_host()`` results."""

from __future__ import annotations

from collections.abc import Sequence

from compliance.checks.dns_messages import SPF_PROBLEM_MESSAGES
from compliance.checks.esp_profiles import EspProfile
from compliance.checks.findings import MB_03_SPF, Finding, Rule, Severity, make_finding
from compliance.checks.i18n import N_
from compliance.checks.spf_eval import (
    MAX_VOID_LOOKUPS,
    IPAddress,
    SpfProblem,
    SpfResult,
    SpfVerdict,
)
from compliance.checks.spf_lint import LookupNode, included_domains, total_lookups
from compliance.checks.spf_record import MAX_DNS_LOOKUPS, Qualifier, SpfRecord


def lookup_findings(
    domain: str, tree: tuple[LookupNode, ...], facts: dict[str, str | int]
) -> list[Finding]:
    """Report the lookups the record needs per term, include loops and broken terms."""
    total = total_lookups(tree)
    per_term = ", ".join(f"{node.term}: {node.lookups}" for node in tree) or "-"
    count_facts = {**facts, "count": total, "limit": MAX_DNS_LOOKUPS, "terms": per_term}
    findings = []

    # RFC 7208 section 4.6.4: more than 10 DNS-querying terms is a permerror.
    if total > MAX_DNS_LOOKUPS:
        findings.append(
            make_finding(
                MB_03_SPF,
                "spf.too_many_lookups",
                N_(
                    "The SPF record of %(domain)s needs %(count)s DNS lookups, includes "
                    "counted; above %(limit)s receivers return a permanent error. Lookups per "
                    "term: %(terms)s."
                ),
                facts=count_facts,
            )
        )
    else:
        findings.append(
            make_finding(
                MB_03_SPF,
                "spf.lookups",
                N_(
                    "The SPF record of %(domain)s needs %(count)s of the %(limit)s DNS lookups "
                    "allowed. Lookups per term: %(terms)s."
                ),
                severity=Severity.INFO,
                facts=count_facts,
            )
        )

    for node in (node for root in tree for node in root.walk()):
        if node.loop:
            findings.append(
                make_finding(
                    MB_03_SPF,
                    "spf.include_loop",
                    N_(
                        "The SPF record of %(domain)s includes %(name)s again from inside its "
                        "own chain (%(term)s in the record of %(parent)s), a loop that receivers "
                        "end with a permanent error."
                    ),
                    facts={
                        **facts,
                        "name": node.problem_name or "",
                        "term": node.term,
                        "parent": node.domain,
                    },
                )
            )
        elif node.problem is not None and node.problem not in (
            SpfProblem.DNS_TIMEOUT,
            SpfProblem.DNS_FAILURE,
        ):
            findings.append(
                make_finding(
                    MB_03_SPF,
                    "spf.broken_term",
                    N_(
                        "The term %(term)s in the SPF record of %(parent)s fails: %(reason)s "
                        "(%(name)s). Receivers return a permanent error when they reach it."
                    ),
                    facts={
                        **facts,
                        "term": node.term,
                        "parent": node.domain,
                        "name": node.problem_name or "",
                        "problem": str(node.problem),
                    },
                    translated={"reason": SPF_PROBLEM_MESSAGES[node.problem]},
                )
            )
    return findings


def esp_findings(
    domain: str, profile: EspProfile, tree: tuple[LookupNode, ...], facts: dict[str, str | int]
) -> list[Finding]:
    """Report the ESP's includes that are missing, and those it no longer needs."""
    reached = included_domains(tree)
    findings = []
    for include in profile.spf_includes:
        if include not in reached:
            findings.append(
                make_finding(
                    MB_03_SPF,
                    "spf.esp_include_missing",
                    N_(
                        "The SPF record of %(domain)s does not include %(include)s, which "
                        "%(esp)s asks for. Add include:%(include)s before the all mechanism."
                    ),
                    facts={**facts, "include": include, "esp": profile.name},
                )
            )
    for include in profile.obsolete_spf_includes:
        if include in reached:
            findings.append(
                make_finding(
                    MB_03_SPF,
                    "spf.esp_include_unneeded",
                    N_(
                        "The SPF record of %(domain)s includes %(include)s, which %(esp)s no "
                        "longer needs at the From domain; it costs DNS lookups for nothing. "
                        "Remove include:%(include)s."
                    ),
                    severity=Severity.WARN,
                    facts={**facts, "include": include, "esp": profile.name},
                )
            )
    return findings


def evaluation_findings(
    domain: str,
    sending_ips: Sequence[IPAddress],
    results: Sequence[SpfResult],
    facts: dict[str, str | int],
) -> list[Finding]:
    """Report each evaluation, or the errors of the probe evaluation when no IP was given."""
    findings = []
    for ip, result in zip(sending_ips or (None,), results, strict=True):
        result_facts: dict[str, str | int] = {
            **facts,
            "result": str(result.verdict),
            "lookups": result.dns_lookups,
            "void_lookups": result.void_lookups,
        }
        if result.problem is not None:
            result_facts["problem"] = str(result.problem)
            result_facts["name"] = result.problem_name or ""
        if ip is not None:
            result_facts["ip"] = str(ip)

        if result.verdict is SpfVerdict.TEMPERROR:
            findings.append(
                make_finding(
                    MB_03_SPF,
                    "spf.unknown",
                    N_(
                        "The SPF evaluation of %(domain)s could not complete: %(reason)s "
                        "(%(name)s). The result is unknown; run the check again."
                    ),
                    severity=Severity.WARN,
                    facts=result_facts,
                    translated={
                        "reason": SPF_PROBLEM_MESSAGES[result.problem or SpfProblem.DNS_FAILURE]
                    },
                )
            )
        elif result.verdict is SpfVerdict.PERMERROR:
            findings.append(
                make_finding(
                    MB_03_SPF,
                    "spf.permerror",
                    N_(
                        "Receivers get a permanent error when they evaluate the SPF record of "
                        "%(domain)s: %(reason)s (%(name)s). SPF then fails for every message."
                    ),
                    facts=result_facts,
                    translated={
                        "reason": SPF_PROBLEM_MESSAGES[result.problem or SpfProblem.SYNTAX_ERROR]
                    },
                )
            )
        elif ip is None:
            if result.void_lookups == MAX_VOID_LOOKUPS:
                findings.append(
                    make_finding(
                        MB_03_SPF,
                        "spf.void_lookups_at_limit",
                        N_(
                            "The SPF record of %(domain)s makes %(void_lookups)s lookups that "
                            "find no record, the most receivers allow. One more gives a permanent "
                            "error: remove terms that point to names without records."
                        ),
                        severity=Severity.WARN,
                        facts=result_facts,
                    )
                )
        elif result.verdict is SpfVerdict.PASS:
            findings.append(
                make_finding(
                    MB_03_SPF,
                    "spf.pass",
                    N_("SPF passes for %(ip)s sending as %(domain)s."),
                    severity=Severity.INFO,
                    facts=result_facts,
                )
            )
        else:
            findings.append(
                make_finding(
                    MB_03_SPF,
                    "spf.not_authorised",
                    N_(
                        "SPF gives %(result)s for %(ip)s sending as %(domain)s: add this "
                        "address, or its ESP's include, to the SPF record."
                    ),
                    facts=result_facts,
                )
            )
    return findings


def all_mechanism_findings(
    record: SpfRecord, facts: dict[str, str | int], rule: Rule
) -> list[Finding]:
    """Return the findings on how the record ends: +all, ?all, or neither all nor redirect."""
    findings: list[Finding] = []
    all_mechanism = record.all_mechanism
    if all_mechanism is not None and all_mechanism.qualifier is Qualifier.PASS:
        findings.append(
            make_finding(
                rule,
                "spf.pass_all",
                N_(
                    "The SPF record of %(domain)s ends with +all, which authorises every "
                    "server on the Internet to send as this domain. Use -all or ~all."
                ),
                facts=facts,
            )
        )
    elif all_mechanism is not None and all_mechanism.qualifier is Qualifier.NEUTRAL:
        findings.append(
            make_finding(
                rule,
                "spf.neutral_all",
                N_(
                    "The SPF record of %(domain)s ends with ?all, which asserts nothing about "
                    "other servers. Use -all or ~all."
                ),
                severity=Severity.WARN,
                facts=facts,
            )
        )
    elif all_mechanism is None and record.modifier("redirect") is None:
        findings.append(
            make_finding(
                rule,
                "spf.no_all",
                N_(
                    "The SPF record of %(domain)s has neither an all mechanism nor a redirect, "
                    "so other servers get a neutral result. End it with -all or ~all."
                ),
                severity=Severity.WARN,
                facts=facts,
            )
        )

    # RFC 7208 section 6.1: redirect is ignored when the record has "all".
    if all_mechanism is not None and record.modifier("redirect") is not None:
        findings.append(
            make_finding(
                rule,
                "spf.redirect_ignored",
                N_(
                    "The SPF record of %(domain)s has both an all mechanism and a redirect; "
                    "receivers never follow the redirect. Remove one of them."
                ),
                severity=Severity.WARN,
                facts=facts,
            )
        )

    # RFC 7208 section 5.5: the ptr mechanism SHOULD NOT be used.
    if any(mechanism.name == "ptr" for mechanism in record.mechanisms):
        findings.append(
            make_finding(
                rule,
                "spf.ptr_used",
                N_(
                    "The SPF record of %(domain)s uses the ptr mechanism, which RFC 7208 "
                    "advises against: it is slow and some receivers skip it. List the "
                    "addresses with ip4, ip6 or a instead."
                ),
                severity=Severity.WARN,
                facts=facts,
            )
        )
    return findings
