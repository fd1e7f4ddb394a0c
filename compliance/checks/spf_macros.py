"""Macro expansion in SPF records and explanations (RFC 7208 section 7)."""

from __future__ import annotations

import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass

# RFC 7208 section 7.2: c, r and t may appear only in an explanation string.
DOMAIN_MACRO_LETTERS = frozenset("slodiphv")
EXPLANATION_MACRO_LETTERS = frozenset("slodiphvcrt")

# RFC 7208 section 7.3: an expanded name longer than 253 characters loses
# labels from the left until it fits.
MAX_EXPANDED_NAME_LENGTH = 253

_MACRO = re.compile(r"%\{([A-Za-z])(\d*)([rR]?)([.\-+,/_=]*)\}")

# RFC 3986 section 2.3: the characters an uppercase macro leaves unescaped.
_UNRESERVED = "-._~"


class MacroError(ValueError):
    """A macro-string breaks the grammar of RFC 7208 section 7.1."""


@dataclass(frozen=True)
class MacroContext:
    """The values macros expand to during one ``check_host()`` evaluation.

    ``validated_name`` is the ``p`` macro's value, resolved by the caller
    beforehand because it needs DNS queries (RFC 7208 section 7.3).
    """

    sender: str
    domain: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    helo: str
    receiver: str = "unknown"
    validated_name: str = "unknown"
    timestamp: int | None = None

    @property
    def local_part(self) -> str:
        """The sender's local part (RFC 7208 section 4.3: ``postmaster`` when empty)."""
        local, _, _ = self.sender.rpartition("@")
        return local or "postmaster"

    @property
    def sender_domain(self) -> str:
        """The domain of the sender."""
        return self.sender.rpartition("@")[2]


def uses_ptr_macro(text: str) -> bool:
    """Tell whether ``text`` contains a ``p`` macro, whose value needs DNS queries."""
    return any(match.group(1).lower() == "p" for match in _MACRO.finditer(text))


def expand(text: str, context: MacroContext, *, explanation: bool = False) -> str:
    """Expand every macro of ``text``.

    ``explanation`` allows the ``c``, ``r`` and ``t`` letters, which only the
    text of an ``exp=`` record may contain.

    :raises MacroError: at an invalid macro or a letter not allowed here.
    """
    letters = EXPLANATION_MACRO_LETTERS if explanation else DOMAIN_MACRO_LETTERS
    pieces: list[str] = []
    index = 0
    while index < len(text):
        percent = text.find("%", index)
        if percent < 0:
            pieces.append(text[index:])
            break
        pieces.append(text[index:percent])

        following = text[percent + 1 : percent + 2]
        if following == "%":
            pieces.append("%")
            index = percent + 2
        elif following == "_":
            pieces.append(" ")
            index = percent + 2
        elif following == "-":
            pieces.append("%20")
            index = percent + 2
        elif following == "{":
            match = _MACRO.match(text, percent)
            if match is None or match.group(1).lower() not in letters:
                raise MacroError(f"invalid macro at column {percent + 1}")
            pieces.append(_expand_one(match, context))
            index = match.end()
        else:
            raise MacroError(f"a lone percent sign at column {percent + 1}: write %% instead")
    return "".join(pieces)


def expand_domain(text: str, context: MacroContext) -> str:
    """Expand a domain-spec and shorten it to at most 253 characters.

    :raises MacroError: at an invalid macro.
    """
    name = expand(text, context).rstrip(".")
    while len(name) > MAX_EXPANDED_NAME_LENGTH and "." in name:
        name = name.split(".", 1)[1]
    return name


def _expand_one(match: re.Match[str], context: MacroContext) -> str:
    letter, digits, reverse, delimiters = match.groups()
    value = _value(letter.lower(), context)

    # RFC 7208 section 7.3: split on the delimiters (a dot by default),
    # reverse if asked, keep the rightmost N parts, then join with dots.
    parts = re.split(f"[{re.escape(delimiters)}]", value) if delimiters else value.split(".")
    if reverse:
        parts.reverse()
    if digits:
        count = int(digits)
        if count == 0:
            raise MacroError("a macro's digit transformer must not be zero")
        parts = parts[-count:]
    result = ".".join(parts)

    # An uppercase letter requests URL escaping (RFC 7208 section 7.3).
    if letter.isupper():
        result = urllib.parse.quote(result, safe=_UNRESERVED)
    return result


def _value(letter: str, context: MacroContext) -> str:
    ip = context.ip
    values = {
        "s": context.sender,
        "l": context.local_part,
        "o": context.sender_domain,
        "d": context.domain,
        "h": context.helo,
        "p": context.validated_name,
        "r": context.receiver,
    }
    if letter in values:
        return values[letter]
    if letter == "i":
        return _dotted_ip(ip)
    if letter == "v":
        return "in-addr" if ip.version == 4 else "ip6"
    if letter == "c":
        # RFC 7208 section 7.3: IPv6 in the compressed form of RFC 5952.
        return str(ip)
    assert letter == "t"
    return str(context.timestamp if context.timestamp is not None else int(time.time()))


def _dotted_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # RFC 7208 section 7.3: an IPv6 address is written as 32 dot-separated
    # nibbles, in capitals as in the examples of section 7.4.
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", "").upper())
