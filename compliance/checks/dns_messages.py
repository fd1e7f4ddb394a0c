"""Reasons shown in findings for a DNS answer or an SPF evaluation that went wrong."""

from __future__ import annotations

from collections.abc import Mapping

from compliance.checks.i18n import N_
from compliance.checks.resolver import DnsStatus
from compliance.checks.spf_eval import SpfProblem

DNS_STATUS_MESSAGES: Mapping[DnsStatus, str] = {
    DnsStatus.NXDOMAIN: N_("the name does not exist"),
    DnsStatus.NODATA: N_("the name has no record of this type"),
    DnsStatus.TIMEOUT: N_("timed out"),
    DnsStatus.SERVFAIL: N_("no DNS server gave an answer"),
    DnsStatus.CNAME_LOOP: N_("the CNAME records form a loop"),
    DnsStatus.INVALID_NAME: N_("the name is not a valid DNS name"),
    DnsStatus.OUTSIDE_ZONE: N_("the name is outside the zone file"),
    DnsStatus.ERROR: N_("DNS error"),
    DnsStatus.FOUND: N_("records found"),
}

SPF_PROBLEM_MESSAGES: Mapping[SpfProblem, str] = {
    SpfProblem.INVALID_DOMAIN: N_("the domain is not a valid DNS name"),
    SpfProblem.NO_RECORD: N_("the domain has no SPF record"),
    SpfProblem.MULTIPLE_RECORDS: N_("a domain on the way publishes more than one SPF record"),
    SpfProblem.SYNTAX_ERROR: N_("a record on the way has a syntax error"),
    SpfProblem.INVALID_MACRO: N_("a macro is invalid"),
    SpfProblem.TOO_MANY_LOOKUPS: N_("more than 10 terms need a DNS lookup"),
    SpfProblem.TOO_MANY_VOID_LOOKUPS: N_("more than 2 lookups found no record"),
    SpfProblem.TOO_MANY_MX: N_("an mx term names a domain with more than 10 MX records"),
    SpfProblem.INCLUDE_WITHOUT_RECORD: N_("an included domain has no SPF record"),
    SpfProblem.REDIRECT_WITHOUT_RECORD: N_("the redirect target has no SPF record"),
    SpfProblem.DNS_TIMEOUT: N_("a DNS query timed out"),
    SpfProblem.DNS_FAILURE: N_("a DNS query failed"),
}
