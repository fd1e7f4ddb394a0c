"""Static analysis of an SPF record and the records it includes, for the lint findings.

:func:`lookup_tree` walks ``include`` and ``redirect`` targets written as
plain names (targets with macros depend on the message and are not
followed) and counts, for each term of the record, the DNS-querying terms
it costs (RFC 7208 section 4.6.4). A domain reached twice by different
paths is counted twice, as receivers do, and only a domain that includes
itself through its own chain is a loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from compliance.checks.resolver import DnsSource
from compliance.checks.spf_eval import MAX_MX_RECORDS, SpfProblem
from compliance.checks.spf_record import (
    DNS_LOOKUP_TERMS,
    SpfRecord,
    SpfSyntaxError,
    is_spf_record,
    parse_spf_record,
)

# Deepest include chain followed. A longer chain is reported as a loop,
# because 10 lookups bound any valid chain anyway.
MAX_INCLUDE_DEPTH = 12


@dataclass(frozen=True)
class LookupNode:
    """One DNS-querying term and what it costs.

    ``lookups`` counts the term itself and every term below it. ``problem``
    names why the subtree is broken (no record, a loop, a DNS error) and
    ``problem_name`` names the domain or term at fault.
    """

    term: str
    domain: str
    lookups: int
    children: tuple[LookupNode, ...] = ()
    target: str | None = None
    problem: SpfProblem | None = None
    problem_name: str | None = None
    loop: bool = False

    def walk(self) -> tuple[LookupNode, ...]:
        """Return this node and every node below it, depth first."""
        nodes: list[LookupNode] = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return tuple(nodes)


async def lookup_tree(domain: str, record: SpfRecord, source: DnsSource) -> tuple[LookupNode, ...]:
    """Return one node per DNS-querying term of ``record``, with its subtree."""
    return await _terms(domain, record, source, (domain,))


async def _terms(
    domain: str, record: SpfRecord, source: DnsSource, path: tuple[str, ...]
) -> tuple[LookupNode, ...]:
    # RFC 7208 section 6.1: redirect is used only when no mechanism matches,
    # so with an "all" mechanism it is never followed and costs nothing.
    has_all = record.all_mechanism is not None
    terms = [
        term
        for term in record.terms
        if term.name in DNS_LOOKUP_TERMS and not (term.name == "redirect" and has_all)
    ]
    return tuple(
        await asyncio.gather(
            *(_node(domain, term.text, term.name, _target(term), source, path) for term in terms)
        )
    )


def _target(term: object) -> str | None:
    value = getattr(term, "value", None)
    return value if isinstance(value, str) else None


async def _node(
    domain: str,
    text: str,
    name: str,
    target: str | None,
    source: DnsSource,
    path: tuple[str, ...],
) -> LookupNode:
    if name == "mx":
        return await _mx_node(domain, text, target or domain, source)
    if name not in ("include", "redirect") or target is None or "%" in target:
        return LookupNode(text, domain, 1, target=target)

    target = target.rstrip(".").lower()
    if target in path or len(path) > MAX_INCLUDE_DEPTH:
        return LookupNode(
            text, domain, 1, target=target, problem=None, problem_name=target, loop=True
        )

    answer = await source.query(target, "TXT")
    if answer.is_error:
        problem = SpfProblem.DNS_TIMEOUT if answer.status == "timeout" else SpfProblem.DNS_FAILURE
        return LookupNode(text, domain, 1, target=target, problem=problem, problem_name=target)

    records = [record for record in answer.texts if is_spf_record(record)]
    missing = (
        SpfProblem.INCLUDE_WITHOUT_RECORD
        if name == "include"
        else SpfProblem.REDIRECT_WITHOUT_RECORD
    )
    if not records:
        return LookupNode(text, domain, 1, target=target, problem=missing, problem_name=target)
    if len(records) > 1:
        return LookupNode(
            text, domain, 1, target=target, problem=SpfProblem.MULTIPLE_RECORDS, problem_name=target
        )
    try:
        included = parse_spf_record(records[0])
    except SpfSyntaxError as error:
        return LookupNode(
            text, domain, 1, target=target, problem=SpfProblem.SYNTAX_ERROR, problem_name=error.term
        )

    children = await _terms(target, included, source, (*path, target))
    return LookupNode(
        text, domain, 1 + sum(child.lookups for child in children), children, target=target
    )


async def _mx_node(domain: str, text: str, target: str, source: DnsSource) -> LookupNode:
    # RFC 7208 section 4.6.4: an mx term costs one lookup whatever its number
    # of exchanges, but more than 10 exchanges is a permerror.
    if "%" in target:
        return LookupNode(text, domain, 1, target=target)
    answer = await source.query(target, "MX")
    if len(answer.exchanges) > MAX_MX_RECORDS:
        return LookupNode(
            text, domain, 1, target=target, problem=SpfProblem.TOO_MANY_MX, problem_name=target
        )
    return LookupNode(text, domain, 1, target=target)


def total_lookups(nodes: tuple[LookupNode, ...]) -> int:
    """Return the DNS-querying terms of a whole tree."""
    return sum(node.lookups for node in nodes)


def included_domains(nodes: tuple[LookupNode, ...]) -> frozenset[str]:
    """Return every include or redirect target reached, at any depth."""
    return frozenset(
        node.target
        for root in nodes
        for node in root.walk()
        if node.target is not None
        and node.term.lstrip("+-~?").lower().startswith(("include", "redirect"))
    )
