"""MX records of the From domain, reverse DNS of the sending IPs and free-mail From domains."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import dns.reversename

from compliance.checks.dns_messages import DNS_STATUS_MESSAGES
from compliance.checks.findings import (
    MB_03_DMARC,
    MB_03_MX,
    MB_03_PTR,
    Finding,
    Severity,
    make_finding,
)
from compliance.checks.i18n import N_
from compliance.checks.resolver import DnsSource, DnsStatus
from compliance.checks.spf_eval import MAX_PTR_NAMES, IPAddress

# Mailbox providers whose domains publish a DMARC policy that rejects or
# quarantines mail sent from other servers, so an ESP cannot send as them.
# NOTE: a list of the largest providers, not of every free-mail domain.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.fr",
        "yahoo.co.uk",
        "ymail.com",
        "aol.com",
        "aol.fr",
        "outlook.com",
        "outlook.fr",
        "hotmail.com",
        "hotmail.fr",
        "live.com",
        "live.fr",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.com",
        "gmx.fr",
        "gmx.de",
        "web.de",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "proton.me",
        "protonmail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "zoho.com",
    }
)


def check_freemail(domain: str) -> tuple[Finding, ...]:
    """Block a From domain of a free-mail provider, which DMARC fails from any ESP."""
    if domain not in FREEMAIL_DOMAINS:
        return ()
    return (
        make_finding(
            MB_03_DMARC,
            "from.freemail",
            N_(
                "%(domain)s is a free-mail domain: its DMARC policy fails mail sent through an "
                "ESP, so receivers reject or file it as spam. Send from a domain you own."
            ),
            facts={"domain": domain},
        ),
    )


async def check_mx(domain: str, source: DnsSource) -> tuple[Finding, ...]:
    """Check that the From domain can receive replies and bounces (RFC 5321 section 5.1)."""
    answer = await source.query(domain, "MX")
    facts: dict[str, str | int] = {"domain": domain}
    if answer.is_error:
        return (
            make_finding(
                MB_03_MX,
                "mx.unknown",
                N_(
                    "The MX check of %(domain)s could not run: the DNS lookup failed "
                    "(%(reason)s). Run the check again."
                ),
                facts={**facts, "reason": str(answer.status)},
                translated={"reason": DNS_STATUS_MESSAGES[answer.status]},
            ),
        )
    if answer.status is DnsStatus.NXDOMAIN:
        return (
            make_finding(
                MB_03_MX,
                "mx.domain_missing",
                N_(
                    "%(domain)s does not exist in DNS: receivers reject mail from a domain "
                    "that does not resolve. Check the spelling or register the domain."
                ),
                severity=Severity.BLOCK,
                facts=facts,
            ),
        )

    exchanges = [exchange for _, exchange in answer.exchanges]
    # RFC 7505: a single MX "0 ." declares that the domain accepts no mail.
    if exchanges == ["."] or exchanges == [""]:
        return (
            make_finding(
                MB_03_MX,
                "mx.null",
                N_(
                    "%(domain)s publishes a null MX (RFC 7505): it accepts no mail, so replies "
                    "and bounces to the From address are lost. Use a domain that receives mail."
                ),
                facts=facts,
            ),
        )
    if exchanges:
        return (
            make_finding(
                MB_03_MX,
                "mx.found",
                N_("%(domain)s receives mail through %(hosts)s."),
                severity=Severity.INFO,
                facts={**facts, "hosts": ", ".join(exchanges)},
            ),
        )

    # RFC 5321 section 5.1: without MX, mail goes to the domain's own address.
    addresses = await asyncio.gather(source.query(domain, "A"), source.query(domain, "AAAA"))
    if any(address.addresses for address in addresses):
        return (
            make_finding(
                MB_03_MX,
                "mx.implicit",
                N_(
                    "%(domain)s has no MX record; replies go to its A or AAAA address. Publish "
                    "an MX record for the server that receives its mail."
                ),
                severity=Severity.INFO,
                facts=facts,
            ),
        )
    return (
        make_finding(
            MB_03_MX,
            "mx.none",
            N_(
                "%(domain)s has no MX, A or AAAA record, so it cannot receive replies or "
                "bounces. Publish an MX record."
            ),
            facts=facts,
        ),
    )


async def check_ptr(ips: Sequence[IPAddress], source: DnsSource) -> tuple[Finding, ...]:
    """Check that each sending IP has a PTR name that resolves back to it (FCrDNS)."""
    results = await asyncio.gather(*(_check_one_ptr(ip, source) for ip in ips))
    return tuple(results)


async def _check_one_ptr(ip: IPAddress, source: DnsSource) -> Finding:
    reverse = dns.reversename.from_address(str(ip)).to_text(omit_final_dot=True)
    answer = await source.query(reverse, "PTR")
    facts: dict[str, str | int] = {"ip": str(ip), "name": reverse}
    if answer.is_error:
        return make_finding(
            MB_03_PTR,
            "ptr.unknown",
            N_(
                "The reverse DNS check of %(ip)s could not run: the lookup of %(name)s failed "
                "(%(reason)s). Run the check again."
            ),
            severity=Severity.WARN,
            facts={**facts, "reason": str(answer.status)},
            translated={"reason": DNS_STATUS_MESSAGES[answer.status]},
        )
    names = answer.targets[:MAX_PTR_NAMES]
    if not names:
        return make_finding(
            MB_03_PTR,
            "ptr.missing",
            N_(
                "%(ip)s has no PTR record: Gmail and Yahoo require reverse DNS for sending "
                "servers. Ask the owner of the address (your ESP or host) to publish one."
            ),
            facts=facts,
        )

    # Forward-confirmed reverse DNS: one PTR name must resolve back to the IP.
    rdtype = "A" if ip.version == 4 else "AAAA"
    forward = await asyncio.gather(*(source.query(name, rdtype) for name in names))
    confirmed = [name for name, found in zip(names, forward, strict=True) if ip in found.addresses]
    if confirmed:
        return make_finding(
            MB_03_PTR,
            "ptr.found",
            N_("%(ip)s has the reverse name %(host)s, which resolves back to it."),
            severity=Severity.INFO,
            facts={**facts, "host": confirmed[0]},
        )
    if any(found.is_error for found in forward):
        return make_finding(
            MB_03_PTR,
            "ptr.unknown",
            N_(
                "The reverse DNS check of %(ip)s could not run: the lookup of %(name)s failed "
                "(%(reason)s). Run the check again."
            ),
            severity=Severity.WARN,
            facts={**facts, "reason": "dns_error"},
            translated={"reason": DNS_STATUS_MESSAGES[DnsStatus.ERROR]},
        )
    return make_finding(
        MB_03_PTR,
        "ptr.not_confirmed",
        N_(
            "%(ip)s has the reverse name %(host)s, but that name does not resolve back to "
            "%(ip)s. Publish a matching A or AAAA record, or fix the PTR record."
        ),
        facts={**facts, "host": names[0]},
    )
