"""Syntax of DMARC policy records (RFC 7489 section 6.4), without evaluating alignment."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from compliance.checks.i18n import N_

# RFC 7489 section 6.4: "v", then "=" with optional spaces, then exactly
# DMARC1 in capitals. Section 6.6.3 discards records that start otherwise.
_VERSION = re.compile(r"[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)")
_TAG = re.compile(r"([A-Za-z][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)", re.DOTALL)

_ALIGNMENT_MODES = frozenset({"r", "s"})


class DmarcPolicy(enum.StrEnum):
    """Requested handling of mail that fails DMARC (RFC 7489 section 6.3, tag ``p``)."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"


class DmarcErrorKind(enum.StrEnum):
    """The fault that makes a DMARC record unusable."""

    NOT_DMARC = "not_dmarc"
    INVALID_TAG = "invalid_tag"
    MISSING_POLICY = "missing_policy"
    INVALID_POLICY = "invalid_policy"


DMARC_ERROR_MESSAGES: Mapping[DmarcErrorKind, str] = {
    DmarcErrorKind.NOT_DMARC: N_("the record does not start with v=DMARC1"),
    DmarcErrorKind.INVALID_TAG: N_("a part of the record is not a tag=value pair"),
    DmarcErrorKind.MISSING_POLICY: N_("the p= tag is missing"),
    DmarcErrorKind.INVALID_POLICY: N_("the p= tag must be none, quarantine or reject"),
}


class DmarcSyntaxError(ValueError):
    """A DMARC record has no usable policy. ``tag`` names the faulty tag, if one is to blame."""

    def __init__(self, kind: DmarcErrorKind, tag: str = "") -> None:
        super().__init__(f"invalid DMARC record: {kind}" + (f" (tag {tag!r})" if tag else ""))
        self.kind = kind
        self.tag = tag


@dataclass(frozen=True)
class DmarcRecord:
    """A DMARC record with a valid policy.

    ``invalid_tags`` lists optional tags whose value is invalid or repeated;
    receivers fall back to the default for them, so the policy still applies.
    """

    text: str
    policy: DmarcPolicy
    subdomain_policy: DmarcPolicy | None
    tags: dict[str, str] = field(default_factory=dict)
    invalid_tags: tuple[str, ...] = ()

    def policy_for(self, subdomain: bool) -> DmarcPolicy:
        """Return the policy for the record's own domain, or for one of its subdomains."""
        if subdomain and self.subdomain_policy is not None:
            return self.subdomain_policy
        return self.policy


def is_dmarc_record(text: str) -> bool:
    """Tell whether a TXT record starts with the DMARC version tag."""
    return _VERSION.match(text) is not None


def parse_dmarc_record(text: str) -> DmarcRecord:
    """Parse a DMARC record.

    :raises DmarcSyntaxError: when the record does not start with
        ``v=DMARC1``, a part is not ``tag=value``, or ``p`` is missing or invalid.
    """
    if not is_dmarc_record(text):
        raise DmarcSyntaxError(DmarcErrorKind.NOT_DMARC, "v")

    tags: dict[str, str] = {}
    invalid: list[str] = []
    # Tags are separated by ";" with optional spaces, and a final ";" is allowed.
    for part in text.split(";")[1:]:
        part = part.strip(" \t")
        if not part:
            continue
        match = _TAG.fullmatch(part)
        if not match:
            raise DmarcSyntaxError(DmarcErrorKind.INVALID_TAG, part.split("=", 1)[0].strip())
        name, value = match.group(1).lower(), match.group(2).strip(" \t")
        if name in tags:
            invalid.append(name)
            continue
        tags[name] = value

    if "p" not in tags:
        raise DmarcSyntaxError(DmarcErrorKind.MISSING_POLICY, "p")
    policy = _policy(tags["p"])
    if policy is None:
        raise DmarcSyntaxError(DmarcErrorKind.INVALID_POLICY, "p")

    subdomain_policy = _policy(tags["sp"]) if "sp" in tags else None
    if "sp" in tags and subdomain_policy is None:
        invalid.append("sp")
    invalid.extend(_invalid_optional_tags(tags))

    return DmarcRecord(
        text=text,
        policy=policy,
        subdomain_policy=subdomain_policy,
        tags=tags,
        invalid_tags=tuple(dict.fromkeys(invalid)),
    )


def _policy(value: str) -> DmarcPolicy | None:
    try:
        return DmarcPolicy(value.lower())
    except ValueError:
        return None


def _invalid_optional_tags(tags: Mapping[str, str]) -> list[str]:
    invalid = []
    for name in ("adkim", "aspf"):
        if name in tags and tags[name].lower() not in _ALIGNMENT_MODES:
            invalid.append(name)

    # pct is a whole percentage from 0 to 100 (RFC 7489 section 6.3).
    if "pct" in tags and not (tags["pct"].isdigit() and int(tags["pct"]) <= 100):
        invalid.append("pct")

    # rua and ruf are comma-separated URIs, in practice mailto: ones.
    for name in ("rua", "ruf"):
        if name in tags and not all(
            re.match(r"[A-Za-z][A-Za-z0-9+.-]*:\S", uri.strip()) for uri in tags[name].split(",")
        ):
            invalid.append(name)
    return invalid
