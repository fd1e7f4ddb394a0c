"""DKIM key records of a sending domain (RFC 6376 section 3.6), one selector at a time.

A selector's record is a TXT record at ``<selector>._domainkey.<domain>``,
often delegated to the ESP by a CNAME that is followed to the key. The key
type and size are read from the ``p=`` tag: RFC 8301 section 3.2 requires
RSA keys of 1024 bits at least and advises 2048.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from compliance.checks.dns_messages import DNS_STATUS_MESSAGES
from compliance.checks.findings import MB_03_DKIM, Finding, Severity, make_finding
from compliance.checks.i18n import N_
from compliance.checks.resolver import DnsSource

MIN_RSA_BITS = 1024
ADVISED_RSA_BITS = 2048
# RFC 8463 section 3: an Ed25519 public key is 32 octets.
ED25519_KEY_OCTETS = 32


class DkimKeyStatus(enum.StrEnum):
    """Kind of content found at a selector."""

    VALID = "valid"
    REVOKED = "revoked"
    INVALID = "invalid"
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DkimKey:
    """The key found at one selector.

    ``delegated_to`` is the last name of the CNAME chain when the selector is
    delegated, and ``bits`` the RSA modulus size (256 for Ed25519).
    """

    selector: str
    name: str
    status: DkimKeyStatus
    key_type: str = ""
    bits: int = 0
    testing: bool = False
    delegated_to: str = ""
    cname_and_txt: bool = False


@dataclass(frozen=True)
class DkimCheck:
    """The DKIM findings and the keys they rest on."""

    findings: tuple[Finding, ...]
    keys: tuple[DkimKey, ...]

    @property
    def has_valid_key(self) -> bool:
        """True when at least one selector has a usable key."""
        return any(key.status is DkimKeyStatus.VALID for key in self.keys)


async def check_dkim(domain: str, selectors: Sequence[str], source: DnsSource) -> DkimCheck:
    """Check the key of each selector of ``domain``; with no selector, say how to give them."""
    if not selectors:
        finding = make_finding(
            MB_03_DKIM,
            "dkim.no_selector",
            N_(
                "DKIM not checked for %(domain)s: no selector is known. Choose the ESP profile "
                "or give the selectors your ESP shows (the s= value of its DKIM-Signature)."
            ),
            severity=Severity.WARN,
            facts={"domain": domain},
        )
        return DkimCheck((finding,), ())

    results = await asyncio.gather(*(_check_selector(domain, s, source) for s in selectors))
    findings = tuple(finding for _, selector_findings in results for finding in selector_findings)
    return DkimCheck(findings, tuple(key for key, _ in results))


async def _check_selector(
    domain: str, selector: str, source: DnsSource
) -> tuple[DkimKey, tuple[Finding, ...]]:
    name = f"{selector}._domainkey.{domain}"
    txt, cname = await asyncio.gather(source.query(name, "TXT"), source.query(name, "CNAME"))
    facts: dict[str, str | int] = {"domain": domain, "selector": selector, "name": name}
    delegated_to = txt.canonical_name if txt.cname_chain else ""
    if not delegated_to and cname.targets:
        delegated_to = cname.targets[0]
    if delegated_to:
        facts["delegated_to"] = delegated_to

    if txt.is_error:
        key = DkimKey(selector, name, DkimKeyStatus.UNKNOWN, delegated_to=delegated_to)
        finding = make_finding(
            MB_03_DKIM,
            "dkim.unknown",
            N_(
                "The DKIM check of selector %(selector)s could not run: the DNS lookup of "
                "%(name)s failed (%(reason)s). Run the check again."
            ),
            severity=Severity.WARN,
            facts={**facts, "reason": str(txt.status)},
            translated={"reason": DNS_STATUS_MESSAGES[txt.status]},
        )
        return key, (finding,)

    findings: list[Finding] = []
    # RFC 1034 section 3.6.2: a name with a CNAME has no other data. When a
    # DNS host serves both, resolvers disagree on which one they return.
    both = bool(cname.targets) and txt.canonical_name == name and bool(txt.records)
    if both:
        findings.append(
            make_finding(
                MB_03_DKIM,
                "dkim.cname_and_txt",
                N_(
                    "%(name)s has both a CNAME and a TXT record; receivers may read either. "
                    "Keep only the one your ESP asks for."
                ),
                facts=facts,
            )
        )

    keys = [text for text in txt.texts if _looks_like_key(text)]
    if not keys:
        key = DkimKey(selector, name, DkimKeyStatus.MISSING, delegated_to=delegated_to)
        msgid = (
            N_(
                "No DKIM key at %(name)s: the CNAME points to %(delegated_to)s, which has no "
                "key. Check the CNAME target, or finish the domain setup at the ESP."
            )
            if delegated_to
            else N_(
                "No DKIM key at %(name)s: publish the TXT or CNAME record your ESP gives for "
                "selector %(selector)s."
            )
        )
        findings.append(make_finding(MB_03_DKIM, "dkim.missing", msgid, facts=facts))
        return key, tuple(findings)

    key = _parse_key(selector, name, keys[0], delegated_to, both)
    findings.extend(_key_findings(key, facts))
    return key, tuple(findings)


def _looks_like_key(text: str) -> bool:
    # RFC 6376 section 3.6.1: v=DKIM1 is optional but must come first when
    # present, and a key record has a p= tag.
    tags = _tags(text)
    if "v" in tags and tags["v"] != "DKIM1":
        return False
    return "p" in tags


def _tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, equals, value = part.partition("=")
        if equals:
            tags.setdefault(name.strip().lower(), "".join(value.split()))
    return tags


def _parse_key(selector: str, name: str, text: str, delegated_to: str, both: bool) -> DkimKey:
    tags = _tags(text)
    key_type = tags.get("k", "rsa").lower()
    invalid = DkimKey(
        selector,
        name,
        DkimKeyStatus.INVALID,
        key_type,
        testing="y" in tags.get("t", "").lower().split(":"),
        delegated_to=delegated_to,
        cname_and_txt=both,
    )

    # RFC 6376 section 3.6.1: an empty p= means the key was revoked.
    if not tags["p"]:
        return replace(invalid, status=DkimKeyStatus.REVOKED)
    try:
        der = base64.b64decode(tags["p"], validate=True)
    except (binascii.Error, ValueError):
        return invalid

    if key_type == "ed25519":
        if len(der) != ED25519_KEY_OCTETS:
            return invalid
        return replace(invalid, status=DkimKeyStatus.VALID, bits=256)
    if key_type != "rsa":
        return invalid
    # NOTE: only SubjectPublicKeyInfo keys are read, as RFC 6376 section 3.6.1
    # specifies; a bare PKCS#1 RSAPublicKey is reported as invalid.
    try:
        public_key = load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        return invalid
    if not isinstance(public_key, rsa.RSAPublicKey):
        return invalid
    return replace(invalid, status=DkimKeyStatus.VALID, bits=public_key.key_size)


def _key_findings(key: DkimKey, facts: dict[str, str | int]) -> list[Finding]:
    facts = {**facts, "key_type": key.key_type, "bits": key.bits}
    if key.status is DkimKeyStatus.REVOKED:
        return [
            make_finding(
                MB_03_DKIM,
                "dkim.revoked",
                N_(
                    "The DKIM key at %(name)s is revoked (empty p=): signatures with selector "
                    "%(selector)s fail. Publish the current key or stop using this selector."
                ),
                facts=facts,
            )
        ]
    if key.status is DkimKeyStatus.INVALID:
        return [
            make_finding(
                MB_03_DKIM,
                "dkim.invalid_key",
                N_(
                    "The DKIM record at %(name)s has a key that cannot be read (type "
                    "%(key_type)s): copy the p= value again from your ESP, without spaces "
                    "or quotes."
                ),
                facts=facts,
            )
        ]

    findings = []
    if key.key_type == "rsa" and key.bits < MIN_RSA_BITS:
        findings.append(
            make_finding(
                MB_03_DKIM,
                "dkim.weak_key",
                N_(
                    "The DKIM key at %(name)s has %(bits)s bits; receivers reject RSA keys "
                    "under 1024 bits. Publish a 2048-bit key."
                ),
                facts=facts,
            )
        )
    elif key.key_type == "rsa" and key.bits < ADVISED_RSA_BITS:
        findings.append(
            make_finding(
                MB_03_DKIM,
                "dkim.short_key",
                N_(
                    "The DKIM key at %(name)s has %(bits)s bits, the minimum; 2048 bits are "
                    "advised. Ask your ESP for a 2048-bit key."
                ),
                severity=Severity.WARN,
                facts=facts,
            )
        )
    else:
        findings.append(
            make_finding(
                MB_03_DKIM,
                "dkim.found",
                N_("DKIM key found at %(name)s (%(key_type)s, %(bits)s bits)."),
                severity=Severity.INFO,
                facts=facts,
            )
        )

    # RFC 6376 section 3.6.1: t=y marks a domain that is testing DKIM, and
    # receivers may treat its signatures as absent.
    if key.testing:
        findings.append(
            make_finding(
                MB_03_DKIM,
                "dkim.testing",
                N_(
                    "The DKIM record at %(name)s has t=y (testing): receivers may ignore its "
                    "signatures. Remove t=y once signing works."
                ),
                severity=Severity.WARN,
                facts=facts,
            )
        )
    return findings
