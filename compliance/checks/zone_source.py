"""Answers from a zone file, for checking records before they are published.

Names inside the zone's origin are answered from the file, following CNAMEs
inside it. Other names (an ESP's include, a DKIM delegation target) go to
the ``fallback`` source when one is given, and are otherwise reported as
outside the zone, which the checks treat as unknown.
"""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

from compliance.checks.dns_lookup import parse_zone_text
from compliance.checks.resolver import DnsAnswer, DnsSource, DnsStatus, normalize_query_name

# Longest CNAME chain followed inside the file, which also ends CNAME loops.
MAX_CNAME_CHAIN = 8


class ZoneSource:
    """A :class:`~compliance.checks.resolver.DnsSource` backed by one parsed zone."""

    def __init__(self, zone: dns.zone.Zone, fallback: DnsSource | None = None) -> None:
        assert zone.origin is not None  # parse_zone_text sets it or raises
        self._zone = zone
        self._origin: dns.name.Name = zone.origin
        self._fallback = fallback

    @classmethod
    def from_file(
        cls, path: str | Path, origin: str | None = None, fallback: DnsSource | None = None
    ) -> ZoneSource:
        """Read the zone file at ``path`` (BIND master format).

        :raises OSError: when the file cannot be read.
        :raises ZoneFileError: when the file has no origin or a syntax error.
        """
        text = Path(path).read_text(encoding="utf-8")
        return cls(parse_zone_text(text, origin, source=str(path)), fallback)

    @classmethod
    def from_text(
        cls, text: str, origin: str | None = None, fallback: DnsSource | None = None
    ) -> ZoneSource:
        """Parse zone ``text`` (BIND master format).

        :raises ZoneFileError: when the text has no origin or a syntax error.
        """
        return cls(parse_zone_text(text, origin), fallback)

    @property
    def origin(self) -> str:
        """The zone's origin, lowercase and without the final dot."""
        return self._origin.to_text(omit_final_dot=True).lower()

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Return the records of ``name`` from the file, or from the fallback outside the zone."""
        qname_text = normalize_query_name(name)
        if qname_text is None:
            return DnsAnswer(name.lower(), rdtype, DnsStatus.INVALID_NAME)
        qname = dns.name.from_text(qname_text)
        wanted = dns.rdatatype.from_text(rdtype)

        if not qname.is_subdomain(self._origin):
            return await self._outside(qname_text, rdtype)

        # NOTE: wildcard owners (*.example.org) are not expanded.
        chain: list[str] = []
        current = qname
        for _ in range(MAX_CNAME_CHAIN + 1):
            if not current.is_subdomain(self._origin):
                return await self._continue_outside(qname_text, rdtype, current, chain)

            node = self._zone.get_node(current)
            if node is None:
                status = DnsStatus.NODATA if self._has_children(current) else DnsStatus.NXDOMAIN
                return self._answer(qname_text, rdtype, status, current, chain)

            rdataset = node.get_rdataset(dns.rdataclass.IN, wanted)
            if rdataset is not None:
                return DnsAnswer(
                    qname_text,
                    rdtype,
                    DnsStatus.FOUND,
                    records=tuple(rdataset),
                    canonical_name=_text(current),
                    cname_chain=tuple(chain),
                    ttl=rdataset.ttl,
                )

            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                return self._answer(qname_text, rdtype, DnsStatus.NODATA, current, chain)
            chain.append(_text(current))
            current = next(iter(cname)).target
        return DnsAnswer(qname_text, rdtype, DnsStatus.CNAME_LOOP)

    async def _outside(self, qname: str, rdtype: str) -> DnsAnswer:
        if self._fallback is None:
            return DnsAnswer(qname, rdtype, DnsStatus.OUTSIDE_ZONE)
        return await self._fallback.query(qname, rdtype)

    async def _continue_outside(
        self, qname: str, rdtype: str, target: dns.name.Name, chain: list[str]
    ) -> DnsAnswer:
        # A CNAME inside the zone points outside it, as a DKIM delegation to
        # an ESP does. The fallback answers for the target.
        answer = await self._outside(_text(target), rdtype)
        return DnsAnswer(
            qname,
            rdtype,
            answer.status,
            records=answer.records,
            canonical_name=answer.canonical_name,
            cname_chain=(*chain, *answer.cname_chain),
            ttl=answer.ttl,
        )

    def _answer(
        self,
        qname: str,
        rdtype: str,
        status: DnsStatus,
        current: dns.name.Name,
        chain: list[str],
    ) -> DnsAnswer:
        return DnsAnswer(
            qname, rdtype, status, canonical_name=_text(current), cname_chain=tuple(chain)
        )

    def _has_children(self, name: dns.name.Name) -> bool:
        # RFC 8020: a name with descendants exists (an empty non-terminal such
        # as _domainkey.example.org), so the answer is NODATA, not NXDOMAIN.
        return any(
            isinstance(owner, dns.name.Name) and owner != name and owner.is_subdomain(name)
            for owner in self._zone.nodes
        )


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()
