"""Validated options of a domain check, shared by the API and the command line.

:func:`build_options` raises :class:`DomainOptionError` with a gettext id,
its parameters and the field at fault, so that each caller renders the
error in its own way and language. Messages never repeat an address.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from compliance.checks.esp_profiles import PROFILES, EspProfile, find_profile
from compliance.checks.i18n import N_
from compliance.checks.spf_eval import IPAddress, parse_ip

# Error of the API and the command line for a domain that normalize_domain rejects.
INVALID_DOMAIN_MESSAGE = N_("Field domain is invalid: %(reason)s")

DEFAULT_BUDGET_SECONDS = 10.0
MAX_SENDING_IPS = 20
MAX_SELECTORS = 20
MAX_ACCOUNT_VALUE_LENGTH = 1000

_SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_-]{1,63})*")


class CheckPart(enum.StrEnum):
    """A part of the domain check that the caller may skip."""

    SPF = "spf"
    DKIM = "dkim"
    DMARC = "dmarc"
    MX = "mx"
    PTR = "ptr"
    ESP = "esp"


@dataclass(frozen=True)
class DomainCheckOptions:
    """Options of a domain check: the ESP, selectors, sending IPs, skipped parts and time budget."""

    esp: EspProfile | None = None
    dkim_selectors: tuple[str, ...] = ()
    sending_ips: tuple[IPAddress, ...] = ()
    account: Mapping[str, str] = field(default_factory=dict)
    skip: frozenset[CheckPart] = frozenset()
    budget_seconds: float = DEFAULT_BUDGET_SECONDS


class DomainOptionError(ValueError):
    """An option of the domain check is invalid.

    ``field`` names the option, ``msgid`` is the English gettext id and
    ``params`` fill it.
    """

    def __init__(self, field_name: str, msgid: str, **params: str | int) -> None:
        super().__init__(msgid % params if params else msgid)
        self.field = field_name
        self.msgid = msgid
        self.params = params


def build_options(
    *,
    esp: str | None = None,
    dkim_selectors: Iterable[str] = (),
    sending_ips: Iterable[str] = (),
    account: Mapping[str, str] | None = None,
    skip: Iterable[str] = (),
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> DomainCheckOptions:
    """Validate the options of a domain check.

    :raises DomainOptionError: naming the field, the fault and the fix.
    """
    profile = None
    if esp:
        profile = find_profile(esp)
        if profile is None:
            raise DomainOptionError(
                "esp",
                N_("Field esp is invalid: %(value)s is not a known ESP. Use one of: %(choices)s."),
                value=esp[:40],
                choices=", ".join(PROFILES),
            )

    selectors = tuple(selector.strip().lower() for selector in dkim_selectors if selector.strip())
    if len(selectors) > MAX_SELECTORS:
        raise DomainOptionError(
            "dkim_selectors",
            N_("Field dkim_selectors has more than %(max)s selectors; check fewer at a time."),
            max=MAX_SELECTORS,
        )
    for selector in selectors:
        if not _SELECTOR.fullmatch(selector):
            raise DomainOptionError(
                "dkim_selectors",
                N_(
                    "Field dkim_selectors is invalid: %(value)s is not a DKIM selector. Give the "
                    "s= value of a DKIM-Signature, such as s1 or google."
                ),
                value=selector[:40],
            )

    ips = _ips(sending_ips)
    parts = _skip(skip)
    values = dict(account or {})
    for name, value in values.items():
        if len(value) > MAX_ACCOUNT_VALUE_LENGTH or "@" in value:
            raise DomainOptionError(
                "account",
                N_(
                    "Field account.%(name)s is invalid: give a DNS name, token or region of at "
                    "most %(max)s characters, not an email address."
                ),
                name=name[:40],
                max=MAX_ACCOUNT_VALUE_LENGTH,
            )
    if budget_seconds <= 0:
        raise DomainOptionError(
            "budget_seconds", N_("Field budget_seconds must be a number of seconds above 0.")
        )
    return DomainCheckOptions(profile, selectors, ips, values, parts, budget_seconds)


def _ips(values: Iterable[str]) -> tuple[IPAddress, ...]:
    ips: list[IPAddress] = []
    for value in values:
        try:
            ips.append(parse_ip(value.strip()))
        except ValueError:
            raise DomainOptionError(
                "sending_ips",
                N_(
                    "Field sending_ips is invalid: %(value)s is not an IP address. Give IPv4 "
                    "or IPv6 addresses such as 192.0.2.10."
                ),
                value=value[:45],
            ) from None
    if len(ips) > MAX_SENDING_IPS:
        raise DomainOptionError(
            "sending_ips",
            N_("Field sending_ips has more than %(max)s addresses; check fewer at a time."),
            max=MAX_SENDING_IPS,
        )
    return tuple(dict.fromkeys(ips))


def _skip(values: Iterable[str]) -> frozenset[CheckPart]:
    parts = set()
    for value in values:
        try:
            parts.add(CheckPart(value.strip().lower()))
        except ValueError:
            raise DomainOptionError(
                "skip",
                N_(
                    "Field skip is invalid: %(value)s is not a part of the check. Use: %(choices)s."
                ),
                value=value[:20],
                choices=", ".join(part.value for part in CheckPart),
            ) from None
    return frozenset(parts)
