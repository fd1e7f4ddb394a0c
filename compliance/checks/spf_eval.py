"""The SPF ``check_host()`` function of RFC 7208, evaluated over an asynchronous DNS source.

Usage::

    resolver = DnsResolver.from_nameservers(["127.0.0.1:5353"], timeout=2.0)
    result = await check_host("192.0.2.10", "example.org", "news@example.org", "mx.example.org",
                              resolver=resolver)
    result.verdict  # SpfVerdict.PASS

A DNS timeout or server failure gives ``temperror``, never a pass or a fail,
and every limit of RFC 7208 section 4.6.4 is enforced: 10 terms that query
DNS, 2 void lookups, 10 MX and 10 PTR names per term.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
from dataclasses import dataclass, field

import dns.reversename

from compliance.checks.resolver import DnsAnswer, DnsSource, DnsStatus, normalize_query_name
from compliance.checks.spf_macros import (
    MacroContext,
    MacroError,
    expand,
    expand_domain,
    uses_ptr_macro,
)
from compliance.checks.spf_record import (
    MAX_DNS_LOOKUPS,
    Mechanism,
    Qualifier,
    SpfRecord,
    SpfSyntaxError,
    is_spf_record,
    parse_spf_record,
)

# RFC 7208 section 4.6.4.
MAX_VOID_LOOKUPS = 2
MAX_MX_RECORDS = 10
MAX_PTR_NAMES = 10

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class SpfVerdict(enum.StrEnum):
    """The results of ``check_host()`` (RFC 7208 section 2.6)."""

    NONE = "none"
    NEUTRAL = "neutral"
    PASS = "pass"  # noqa: S105 - an SPF result, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


class SpfProblem(enum.StrEnum):
    """Reason an evaluation ended in none, temperror or permerror."""

    INVALID_DOMAIN = "invalid_domain"
    NO_RECORD = "no_record"
    MULTIPLE_RECORDS = "multiple_records"
    SYNTAX_ERROR = "syntax_error"
    INVALID_MACRO = "invalid_macro"
    TOO_MANY_LOOKUPS = "too_many_lookups"
    TOO_MANY_VOID_LOOKUPS = "too_many_void_lookups"
    TOO_MANY_MX = "too_many_mx"
    INCLUDE_WITHOUT_RECORD = "include_without_record"
    REDIRECT_WITHOUT_RECORD = "redirect_without_record"
    DNS_TIMEOUT = "dns_timeout"
    DNS_FAILURE = "dns_failure"


_QUALIFIER_VERDICTS = {
    Qualifier.PASS: SpfVerdict.PASS,
    Qualifier.FAIL: SpfVerdict.FAIL,
    Qualifier.SOFTFAIL: SpfVerdict.SOFTFAIL,
    Qualifier.NEUTRAL: SpfVerdict.NEUTRAL,
}


@dataclass(frozen=True)
class SpfResult:
    """The outcome of one ``check_host()`` evaluation.

    ``matched_term`` is the directive that decided the result, and
    ``matched_domain`` the domain whose record contains it. ``problem`` and
    ``problem_name`` (a DNS name or a term) say why the result is none or an
    error. ``dns_lookups`` and ``void_lookups`` are the counts of RFC 7208
    section 4.6.4 at the end of the evaluation.
    """

    verdict: SpfVerdict
    domain: str
    matched_term: str | None = None
    matched_domain: str | None = None
    explanation: str | None = None
    problem: SpfProblem | None = None
    problem_name: str | None = None
    dns_lookups: int = 0
    void_lookups: int = 0


class _SpfError(Exception):
    """Ends the evaluation with temperror or permerror."""

    def __init__(self, verdict: SpfVerdict, problem: SpfProblem, name: str) -> None:
        super().__init__(f"{verdict}: {problem} at {name}")
        self.verdict = verdict
        self.problem = problem
        self.name = name


@dataclass(frozen=True)
class _Outcome:
    verdict: SpfVerdict
    domain: str
    term: str | None = None
    term_domain: str | None = None
    explanation: str | None = None
    problem: SpfProblem | None = None
    problem_name: str | None = None


@dataclass
class _Evaluation:
    """State shared by every record that one evaluation visits."""

    source: DnsSource
    ip: IPAddress
    sender: str
    helo: str
    receiver: str
    lookups: int = 0
    voids: int = 0
    _validated_names: tuple[str, ...] | None = field(default=None, repr=False)

    async def check_host(self, domain: str) -> _Outcome:
        name = normalize_query_name(domain)
        # RFC 7208 section 4.3: a malformed or single-label domain gives none.
        if name is None or "." not in name:
            return _Outcome(SpfVerdict.NONE, domain, problem=SpfProblem.INVALID_DOMAIN)

        record = await self._record(name)
        if record is None:
            return _Outcome(SpfVerdict.NONE, name, problem=SpfProblem.NO_RECORD)

        # RFC 7208 section 4.6.2: the first matching mechanism decides.
        for mechanism in record.mechanisms:
            if await self._matches(mechanism, name):
                verdict = _QUALIFIER_VERDICTS[mechanism.qualifier]
                explanation = None
                if verdict is SpfVerdict.FAIL:
                    explanation = await self._explanation(record, name)
                return _Outcome(verdict, name, mechanism.text, name, explanation)

        # RFC 7208 section 6.1: redirect applies only when nothing matched,
        # and a target without an SPF record is a permerror.
        redirect = record.modifier("redirect")
        if redirect is not None:
            self._count_lookup(redirect.text)
            target = await self._expand_domain(redirect.value, name, redirect.text)
            outcome = await self.check_host(target)
            if outcome.verdict is SpfVerdict.NONE:
                raise _SpfError(SpfVerdict.PERMERROR, SpfProblem.REDIRECT_WITHOUT_RECORD, target)
            return outcome

        # RFC 7208 section 4.7: no match and no redirect gives neutral.
        return _Outcome(SpfVerdict.NEUTRAL, name)

    async def _record(self, domain: str) -> SpfRecord | None:
        answer = await self.source.query(domain, "TXT")
        _raise_for_dns_error(answer)

        # RFC 7208 section 4.5: keep the records that start with v=spf1;
        # none is "none" and more than one is a permerror.
        records = [text for text in answer.texts if is_spf_record(text)]
        if not records:
            return None
        if len(records) > 1:
            raise _SpfError(SpfVerdict.PERMERROR, SpfProblem.MULTIPLE_RECORDS, domain)
        try:
            return parse_spf_record(records[0])
        except SpfSyntaxError as error:
            # RFC 7208 section 4.6: a syntax error anywhere is a permerror,
            # found before any mechanism is evaluated.
            raise _SpfError(SpfVerdict.PERMERROR, SpfProblem.SYNTAX_ERROR, error.term) from None

    async def _matches(self, mechanism: Mechanism, domain: str) -> bool:
        name = mechanism.name
        if name == "all":
            return True
        if name in ("ip4", "ip6"):
            return self._in_network(mechanism.value, mechanism)

        # RFC 7208 section 4.6.4: each of these terms counts towards the limit
        # of 10, before its queries are sent.
        self._count_lookup(mechanism.text)
        target = (
            await self._expand_domain(mechanism.value, domain, mechanism.text)
            if mechanism.value is not None
            else domain
        )
        if name == "include":
            return await self._include(target)
        if name == "a":
            return await self._a(target, mechanism)
        if name == "mx":
            return await self._mx(target, mechanism)
        if name == "ptr":
            return await self._ptr(target)
        assert name == "exists"
        return await self._exists(target)

    async def _include(self, target: str) -> bool:
        # RFC 7208 section 5.2: pass matches; fail, softfail and neutral do
        # not; errors propagate; a target without a record is a permerror.
        outcome = await self.check_host(target)
        if outcome.verdict is SpfVerdict.NONE:
            raise _SpfError(SpfVerdict.PERMERROR, SpfProblem.INCLUDE_WITHOUT_RECORD, target)
        return outcome.verdict is SpfVerdict.PASS

    async def _a(self, target: str, mechanism: Mechanism) -> bool:
        answer = await self.source.query(target, _address_type(self.ip))
        _raise_for_dns_error(answer)
        self._count_void(answer)
        return any(self._address_matches(address, mechanism) for address in answer.addresses)

    async def _mx(self, target: str, mechanism: Mechanism) -> bool:
        answer = await self.source.query(target, "MX")
        _raise_for_dns_error(answer)
        self._count_void(answer)

        # RFC 7208 section 4.6.4: more than 10 MX records is a permerror. The
        # address queries of the exchanges do not count towards the limit of 10.
        exchanges = [exchange for _, exchange in answer.exchanges]
        if len(exchanges) > MAX_MX_RECORDS:
            raise _SpfError(SpfVerdict.PERMERROR, SpfProblem.TOO_MANY_MX, target)
        # RFC 7505: a null MX ("0 .") names no exchange to look up.
        rdtype = _address_type(self.ip)
        answers = await asyncio.gather(
            *(self.source.query(exchange, rdtype) for exchange in exchanges if exchange != ".")
        )
        for address_answer in answers:
            # RFC 7208 section 5: an error other than NXDOMAIN is a temperror.
            _raise_for_dns_error(address_answer)
        return any(
            self._address_matches(address, mechanism)
            for address_answer in answers
            for address in address_answer.addresses
        )

    async def _ptr(self, target: str) -> bool:
        # RFC 7208 section 5.5: a validated name equal to the target or one of
        # its subdomains matches.
        validated = await self._validated(count_void=True)
        return any(name == target or name.endswith("." + target) for name in validated)

    async def _exists(self, target: str) -> bool:
        # RFC 7208 section 5.7: always an A query, whatever the client's family.
        answer = await self.source.query(target, "A")
        _raise_for_dns_error(answer)
        self._count_void(answer)
        return bool(answer.addresses)

    async def _validated(self, *, count_void: bool = False) -> tuple[str, ...]:
        """Return the validated names of the client IP (RFC 7208 section 5.5)."""
        if self._validated_names is not None:
            return self._validated_names
        reverse = dns.reversename.from_address(str(self.ip)).to_text(omit_final_dot=True)
        answer = await self.source.query(reverse, "PTR")
        if count_void:
            self._count_void(answer)

        # A DNS error on the PTR query means no match, never a temperror, and
        # names past the first 10 are ignored.
        if answer.is_error:
            self._validated_names = ()
            return ()
        names = answer.targets[:MAX_PTR_NAMES]
        rdtype = _address_type(self.ip)
        answers = await asyncio.gather(*(self.source.query(name, rdtype) for name in names))

        # A DNS error on an address query (a CNAME loop included) skips that
        # name and the search goes on.
        self._validated_names = tuple(
            name
            for name, address_answer in zip(names, answers, strict=True)
            if not address_answer.is_error and self.ip in address_answer.addresses
        )
        return self._validated_names

    async def _explanation(self, record: SpfRecord, domain: str) -> str | None:
        # RFC 7208 section 6.2: any DNS error, a count other than one record,
        # or an invalid macro-string, and the evaluation goes on without it.
        exp = record.modifier("exp")
        if exp is None:
            return None
        try:
            context = await self._context(domain, exp.value)
            target = expand_domain(exp.value, context)
        except MacroError:
            return None
        answer = await self.source.query(target, "TXT")
        if answer.status is not DnsStatus.FOUND or len(answer.texts) != 1:
            return None
        text = answer.texts[0]
        if not text.isascii() or not text.isprintable():
            return None
        try:
            context = await self._context(domain, text)
            return expand(text, context, explanation=True)
        except MacroError:
            return None

    async def _expand_domain(self, spec: str, domain: str, term: str) -> str:
        # Names compare without regard to case (RFC 4343), so targets are lowercased.
        context = await self._context(domain, spec)
        try:
            return expand_domain(spec, context).lower()
        except MacroError:
            raise _SpfError(SpfVerdict.PERMERROR, SpfProblem.INVALID_MACRO, term) from None

    async def _context(self, domain: str, text: str) -> MacroContext:
        if uses_ptr_macro(text):
            await self._validated()
        return MacroContext(
            sender=self.sender,
            domain=domain,
            ip=self.ip,
            helo=self.helo,
            receiver=self.receiver,
            validated_name=self._validated_name_for(domain),
        )

    def _validated_name_for(self, domain: str) -> str:
        # RFC 7208 section 7.3: prefer the domain itself, then one of its
        # subdomains, then any validated name, and "unknown" without one.
        names = self._validated_names or ()
        if domain in names:
            return domain
        for name in names:
            if name.endswith("." + domain):
                return name
        return names[0] if names else "unknown"

    def _in_network(self, network: str | None, mechanism: Mechanism) -> bool:
        assert network is not None  # ip4 and ip6 always carry an address
        address = ipaddress.ip_address(network)
        return self._address_matches(address, mechanism)

    def _address_matches(self, address: IPAddress, mechanism: Mechanism) -> bool:
        if address.version != self.ip.version:
            return False
        if address.version == 4:
            prefix = mechanism.ip4_prefix if mechanism.ip4_prefix is not None else 32
        else:
            prefix = mechanism.ip6_prefix if mechanism.ip6_prefix is not None else 128
        return self.ip in ipaddress.ip_network(f"{address}/{prefix}", strict=False)

    def _count_lookup(self, term: str) -> None:
        self.lookups += 1
        if self.lookups > MAX_DNS_LOOKUPS:
            raise _SpfError(SpfVerdict.PERMERROR, SpfProblem.TOO_MANY_LOOKUPS, term)

    def _count_void(self, answer: DnsAnswer) -> None:
        if not answer.is_void and answer.status is not DnsStatus.INVALID_NAME:
            return
        self.voids += 1
        if self.voids > MAX_VOID_LOOKUPS:
            raise _SpfError(SpfVerdict.PERMERROR, SpfProblem.TOO_MANY_VOID_LOOKUPS, answer.name)


def _address_type(ip: IPAddress) -> str:
    return "A" if ip.version == 4 else "AAAA"


def _raise_for_dns_error(answer: DnsAnswer) -> None:
    # RFC 7208 section 5: an RCODE other than 0 or 3, or a timeout, stops the
    # evaluation with temperror. NXDOMAIN reads as an empty answer, and so
    # does a target that no DNS query can carry (an empty or 64-octet label,
    # often made by a macro), as RFC 7208 section 4.3 treats such a domain.
    if not answer.is_error or answer.status is DnsStatus.INVALID_NAME:
        return
    problem = (
        SpfProblem.DNS_TIMEOUT if answer.status is DnsStatus.TIMEOUT else SpfProblem.DNS_FAILURE
    )
    raise _SpfError(SpfVerdict.TEMPERROR, problem, answer.name)


def parse_ip(ip: str | IPAddress) -> IPAddress:
    """Return ``ip`` as an address, an IPv4-mapped IPv6 address as its IPv4 form.

    :raises ValueError: when ``ip`` is not an IP address.
    """
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


async def check_host(
    ip: str | IPAddress,
    domain: str,
    sender: str,
    helo: str = "",
    *,
    resolver: DnsSource,
    receiver: str = "unknown",
) -> SpfResult:
    """Evaluate the SPF policy of ``domain`` for mail from ``sender`` sent by ``ip``.

    ``sender`` is the full identity (``local@domain``), ``helo`` the HELO or
    EHLO name and ``receiver`` the receiving host's name for the ``r``
    macro. ``resolver`` is any :class:`~compliance.checks.resolver.DnsSource`,
    for example ``DnsResolver.from_nameservers(["127.0.0.1:5353"])``.

    :raises ValueError: when ``ip`` is not an IP address.
    """
    evaluation = _Evaluation(
        source=resolver, ip=parse_ip(ip), sender=sender, helo=helo, receiver=receiver
    )
    try:
        outcome = await evaluation.check_host(domain)
    except _SpfError as error:
        outcome = _Outcome(
            error.verdict,
            domain.rstrip(".").lower(),
            problem=error.problem,
            problem_name=error.name,
        )
    return SpfResult(
        verdict=outcome.verdict,
        domain=outcome.domain,
        matched_term=outcome.term,
        matched_domain=outcome.term_domain,
        explanation=outcome.explanation,
        problem=outcome.problem,
        problem_name=outcome.problem_name,
        dns_lookups=evaluation.lookups,
        void_lookups=evaluation.voids,
    )


async def check_mail_from(
    ip: str | IPAddress, mail_from: str, helo: str, *, resolver: DnsSource
) -> SpfResult:
    """Evaluate the MAIL FROM identity as RFC 7208 section 2.4 defines it.

    An empty reverse path is checked as ``postmaster@`` the HELO name, and
    an empty local part becomes ``postmaster`` (section 4.3).

    :raises ValueError: when ``ip`` is not an IP address.
    """
    sender = mail_from if mail_from else f"postmaster@{helo}"
    local, _, domain = sender.rpartition("@")
    if not local:
        sender = f"postmaster@{domain}"
    return await check_host(ip, domain, sender, helo, resolver=resolver)
