"""Syntax of SPF records (RFC 7208 section 12), without evaluating them.

:func:`parse_spf_record` turns a record into typed terms or raises
:class:`SpfSyntaxError` at the first invalid term, with its position. An
evaluator of ``check_host()`` can work from the same terms.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from compliance.checks.i18n import N_

VERSION = "v=spf1"

# RFC 7208 section 4.6.4: terms that cause DNS queries count towards a limit
# of 10 per check_host() evaluation, and more is a permerror.
DNS_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
MAX_DNS_LOOKUPS = 10

MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})

# RFC 7208 section 7.2: c, r and t may only appear in the exp= explanation
# text, never in a domain-spec.
_DOMAIN_MACRO_LETTERS = "slodiphv"
_ALL_MACRO_LETTERS = "slodiphcrtv"

_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)=(.*)", re.DOTALL)
_MECHANISM_NAME = re.compile(r"[A-Za-z0-9]+")
_DUAL_CIDR = re.compile(r"(/\d+)?(//\d+)?$")
_MACRO_EXPAND = re.compile(r"\{([A-Za-z])(\d*)([rR]?)([.\-+,/_=]*)\}")
_TOPLABEL = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9]")
_CIDR_DIGITS = re.compile(r"0|[1-9][0-9]*")


class Qualifier(enum.StrEnum):
    """Result given when a mechanism matches (RFC 7208 section 4.6.2)."""

    PASS = "+"  # noqa: S105 - an SPF result, not a password
    FAIL = "-"
    SOFTFAIL = "~"
    NEUTRAL = "?"


@dataclass(frozen=True)
class Mechanism:
    """A directive such as ``-all`` or ``ip4:192.0.2.0/24``.

    ``value`` is the domain-spec or the network as written, without its CIDR
    lengths. ``position`` is the 1-based column of the term in the record.
    """

    qualifier: Qualifier
    name: str
    value: str | None
    ip4_prefix: int | None
    ip6_prefix: int | None
    position: int
    text: str


@dataclass(frozen=True)
class Modifier:
    """A ``name=value`` term such as ``redirect=_spf.example.org``."""

    name: str
    value: str
    position: int
    text: str


Term = Mechanism | Modifier


@dataclass(frozen=True)
class SpfRecord:
    """A syntactically valid SPF record."""

    text: str
    terms: tuple[Term, ...]

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        """The directives, in record order."""
        return tuple(term for term in self.terms if isinstance(term, Mechanism))

    @property
    def all_mechanism(self) -> Mechanism | None:
        """The first ``all`` directive, past which evaluation never goes."""
        return next((term for term in self.mechanisms if term.name == "all"), None)

    def modifier(self, name: str) -> Modifier | None:
        """Return the modifier ``name`` (``redirect``, ``exp`` or another), if present."""
        return next(
            (term for term in self.terms if isinstance(term, Modifier) and term.name == name),
            None,
        )

    @property
    def dns_lookup_count(self) -> int:
        """The number of terms of this record that cause a DNS query, includes not followed."""
        return sum(1 for term in self.terms if term.name in DNS_LOOKUP_TERMS)


class SpfErrorKind(enum.StrEnum):
    """The fault found in an SPF term."""

    NOT_SPF = "not_spf"
    INVALID_CHARACTER = "invalid_character"
    UNKNOWN_MECHANISM = "unknown_mechanism"
    MISSING_DOMAIN = "missing_domain"
    UNEXPECTED_ARGUMENT = "unexpected_argument"
    INVALID_DOMAIN_SPEC = "invalid_domain_spec"
    INVALID_MACRO = "invalid_macro"
    INVALID_IP4 = "invalid_ip4"
    INVALID_IP6 = "invalid_ip6"
    INVALID_CIDR = "invalid_cidr"
    QUALIFIED_MODIFIER = "qualified_modifier"
    DUPLICATE_MODIFIER = "duplicate_modifier"


# Explanations shown to senders, in the words of the term's author.
SPF_ERROR_MESSAGES: Mapping[SpfErrorKind, str] = {
    SpfErrorKind.NOT_SPF: N_("the record does not start with v=spf1"),
    SpfErrorKind.INVALID_CHARACTER: N_(
        "it contains a character other than printable ASCII or a single space between terms"
    ),
    SpfErrorKind.UNKNOWN_MECHANISM: N_(
        "it is not a known mechanism (all, include, a, mx, ptr, ip4, ip6, exists) or modifier"
    ),
    SpfErrorKind.MISSING_DOMAIN: N_("the mechanism needs a domain after the colon"),
    SpfErrorKind.UNEXPECTED_ARGUMENT: N_("the mechanism takes no argument or prefix length"),
    SpfErrorKind.INVALID_DOMAIN_SPEC: N_(
        "the domain must end with a top-level label that is not all digits, or with a macro"
    ),
    SpfErrorKind.INVALID_MACRO: N_(
        "it contains an invalid macro; write a literal percent sign as %%"
    ),
    SpfErrorKind.INVALID_IP4: N_("the IPv4 address is invalid"),
    SpfErrorKind.INVALID_IP6: N_("the IPv6 address is invalid"),
    SpfErrorKind.INVALID_CIDR: N_(
        "the prefix length is invalid (0 to 32 for IPv4, 0 to 128 for IPv6, no leading zero)"
    ),
    SpfErrorKind.QUALIFIED_MODIFIER: N_("a modifier cannot have a qualifier (+, -, ~ or ?)"),
    SpfErrorKind.DUPLICATE_MODIFIER: N_("redirect= and exp= may each appear only once"),
}


class SpfSyntaxError(ValueError):
    """An SPF record breaks the grammar of RFC 7208 section 12.

    ``position`` is the 1-based column where the faulty ``term`` starts.
    """

    def __init__(self, kind: SpfErrorKind, position: int, term: str) -> None:
        super().__init__(f"invalid SPF term {term!r} at column {position}: {kind}")
        self.kind = kind
        self.position = position
        self.term = term


def is_spf_record(text: str) -> bool:
    """Tell whether a TXT record is an SPF record.

    RFC 7208 section 4.5: only records that begin with the version section
    ``v=spf1``, followed by a space or the end, are SPF records. ABNF
    literals are case-insensitive (RFC 5234 section 2.3).
    """
    return text[: len(VERSION)].lower() == VERSION and text[len(VERSION) : len(VERSION) + 1] in (
        "",
        " ",
    )


def parse_spf_record(text: str) -> SpfRecord:
    """Parse ``text`` into its terms.

    :raises SpfSyntaxError: at the first term that breaks the grammar.
    """
    if not is_spf_record(text):
        raise SpfSyntaxError(SpfErrorKind.NOT_SPF, 1, text[: len(VERSION)])

    terms: list[Term] = []
    seen_modifiers: set[str] = set()
    # Terms are separated by one or more SP characters (RFC 7208 section 12).
    for match in re.finditer(r"[^ ]+", text[len(VERSION) :]):
        position = match.start() + len(VERSION) + 1
        term = _parse_term(match.group(), position)

        # RFC 7208 section 6: redirect and exp must not appear more than once.
        if isinstance(term, Modifier) and term.name in ("redirect", "exp"):
            if term.name in seen_modifiers:
                raise SpfSyntaxError(SpfErrorKind.DUPLICATE_MODIFIER, position, term.text)
            seen_modifiers.add(term.name)

        terms.append(term)
    return SpfRecord(text=text, terms=tuple(terms))


class _TermError(Exception):
    """Fault found inside a term, to which :func:`_parse_term` adds the position."""

    def __init__(self, kind: SpfErrorKind) -> None:
        super().__init__(kind)
        self.kind = kind


def _parse_term(text: str, position: int) -> Term:
    try:
        return _parse_term_text(text, position)
    except _TermError as fault:
        raise SpfSyntaxError(fault.kind, position, text) from None


def _parse_term_text(text: str, position: int) -> Term:
    if any(not "\x21" <= character <= "\x7e" for character in text):
        raise _TermError(SpfErrorKind.INVALID_CHARACTER)

    modifier = _MODIFIER.fullmatch(text)
    if modifier:
        name, value = modifier.group(1).lower(), modifier.group(2)
        if name in ("redirect", "exp"):
            _check_domain_spec(value)
        elif _macro_string_ends_with_macro(value, _ALL_MACRO_LETTERS) is None:
            # Unknown modifiers are ignored by evaluators but must still parse.
            raise _TermError(SpfErrorKind.INVALID_MACRO)
        return Modifier(name=name, value=value, position=position, text=text)

    qualifier = Qualifier.PASS
    body = text
    if text[0] in "+-~?":
        qualifier, body = Qualifier(text[0]), text[1:]
        if _MODIFIER.fullmatch(body):
            raise _TermError(SpfErrorKind.QUALIFIED_MODIFIER)

    name_match = _MECHANISM_NAME.match(body)
    name = name_match.group().lower() if name_match else ""
    if name not in MECHANISMS:
        raise _TermError(SpfErrorKind.UNKNOWN_MECHANISM)

    value, ip4_prefix, ip6_prefix = _parse_argument(name, body[len(name) :])
    return Mechanism(
        qualifier=qualifier,
        name=name,
        value=value,
        ip4_prefix=ip4_prefix,
        ip6_prefix=ip6_prefix,
        position=position,
        text=text,
    )


def _parse_argument(name: str, argument: str) -> tuple[str | None, int | None, int | None]:
    """Return the domain-spec or network, then the IPv4 and IPv6 prefix lengths."""
    if name == "all":
        if argument:
            raise _TermError(SpfErrorKind.UNEXPECTED_ARGUMENT)
        return None, None, None

    if name == "ptr" and not argument:
        return None, None, None

    if name in ("include", "exists", "ptr"):
        if not argument.startswith(":"):
            if argument and not argument.startswith("/"):
                raise _TermError(SpfErrorKind.UNKNOWN_MECHANISM)
            kind = SpfErrorKind.UNEXPECTED_ARGUMENT if argument else SpfErrorKind.MISSING_DOMAIN
            raise _TermError(kind)
        return _check_domain_spec(argument[1:]), None, None

    if name in ("a", "mx"):
        return _parse_host_argument(argument)

    # ip4 and ip6 need ":" and an address, then an optional prefix length.
    invalid_address = SpfErrorKind.INVALID_IP4 if name == "ip4" else SpfErrorKind.INVALID_IP6
    if not argument.startswith(":"):
        raise _TermError(invalid_address)
    network, slash, prefix = argument[1:].partition("/")
    valid = _is_ip4(network) if name == "ip4" else _is_ip6(network)
    if not valid:
        raise _TermError(invalid_address)
    prefix_length = None
    if slash:
        maximum = 32 if name == "ip4" else 128
        prefix_length = _cidr_length(prefix, maximum)
    if name == "ip4":
        return network, prefix_length, None
    return network, None, prefix_length


def _parse_host_argument(argument: str) -> tuple[str | None, int | None, int | None]:
    # a and mx take an optional ":domain-spec" then an optional dual-cidr-length.
    cidr = _DUAL_CIDR.search(argument)
    assert cidr is not None  # the pattern also matches the empty suffix
    spec = argument[: cidr.start()]
    ip4_prefix = _cidr_length(cidr.group(1)[1:], 32) if cidr.group(1) else None
    ip6_prefix = _cidr_length(cidr.group(2)[2:], 128) if cidr.group(2) else None
    if not spec:
        return None, ip4_prefix, ip6_prefix
    if not spec.startswith(":"):
        raise _TermError(
            SpfErrorKind.INVALID_CIDR if "/" in spec else SpfErrorKind.UNKNOWN_MECHANISM
        )
    return _check_domain_spec(spec[1:]), ip4_prefix, ip6_prefix


def _cidr_length(digits: str, maximum: int) -> int:
    if not _CIDR_DIGITS.fullmatch(digits) or int(digits) > maximum:
        raise _TermError(SpfErrorKind.INVALID_CIDR)
    return int(digits)


def _is_ip4(text: str) -> bool:
    # ipaddress rejects leading zeros, as the qnum rule of RFC 7208 does.
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _is_ip6(text: str) -> bool:
    # ipaddress accepts a "%zone" suffix, which RFC 4291 addresses do not have.
    if "%" in text:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _check_domain_spec(spec: str) -> str:
    """Check ``domain-spec = macro-string domain-end`` (RFC 7208 sections 7.1 and 12)."""
    if not spec:
        raise _TermError(SpfErrorKind.MISSING_DOMAIN)
    ends_with_macro = _macro_string_ends_with_macro(spec, _DOMAIN_MACRO_LETTERS)
    if ends_with_macro is None:
        raise _TermError(SpfErrorKind.INVALID_MACRO)
    if ends_with_macro:
        return spec

    # domain-end = "." toplabel ["."], so a dot must come before the last label.
    name = spec[:-1] if spec.endswith(".") else spec
    _, dot, toplabel = name.rpartition(".")
    if not dot or not _TOPLABEL.fullmatch(toplabel):
        raise _TermError(SpfErrorKind.INVALID_DOMAIN_SPEC)
    return spec


def _macro_string_ends_with_macro(text: str, letters: str) -> bool | None:
    """Validate a macro-string and return whether it ends with a macro-expand (None: invalid)."""
    index = 0
    ends_with_macro = False
    while index < len(text):
        if text[index] != "%":
            index += 1
            ends_with_macro = False
            continue

        following = text[index + 1 : index + 2]
        if following in ("%", "_", "-"):
            index += 2
        elif following == "{":
            expand = _MACRO_EXPAND.match(text, index + 1)
            if not expand or expand.group(1).lower() not in letters:
                return None
            # RFC 7208 section 7.3: a digit transformer must be nonzero.
            if expand.group(2) and int(expand.group(2)) == 0:
                return None
            index = expand.end()
        else:
            return None
        ends_with_macro = True
    return ends_with_macro
