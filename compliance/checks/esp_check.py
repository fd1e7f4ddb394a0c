"""Check the records that an ESP profile requires, with the sender's account-specific values."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from compliance.checks.dns_messages import DNS_STATUS_MESSAGES
from compliance.checks.esp_profiles import EspProfile, ExpectedRecord
from compliance.checks.findings import MB_03, Finding, Rule, Severity, make_finding
from compliance.checks.i18n import N_
from compliance.checks.resolver import DnsAnswer, DnsSource

# Placeholders that repeat a record once per item of a list value.
_LIST_PLACEHOLDERS = {"token": "dkim_tokens", "selector": "dkim_selectors"}


@dataclass(frozen=True)
class _Instance:
    record: ExpectedRecord
    name: str
    pattern: str


def profile_selectors(
    profile: EspProfile, account: Mapping[str, str], selectors: Sequence[str]
) -> tuple[str, ...]:
    """Return the DKIM selectors to check: the profile's, the account tokens, the given ones."""
    tokens = split_list(account.get("dkim_tokens", ""))
    chosen = [*profile.dkim_selectors, *tokens, *selectors]
    return tuple(dict.fromkeys(selector.lower() for selector in chosen if selector))


def split_list(value: str) -> list[str]:
    """Split a comma- or space-separated account value into its items."""
    return [item for item in re.split(r"[\s,]+", value.strip()) if item]


async def check_esp(
    domain: str,
    profile: EspProfile,
    account: Mapping[str, str],
    selectors: Sequence[str],
    source: DnsSource,
) -> tuple[Finding, ...]:
    """Check each record of ``profile`` under ``domain`` and explain what is missing."""
    rule = Rule(MB_03.id, profile.source_url, Severity.BLOCK)
    instances: list[_Instance] = []
    findings: list[Finding] = []
    values = {**account, "dkim_selectors": ",".join(selectors)}

    for record in profile.records:
        missing = [
            _LIST_PLACEHOLDERS.get(placeholder, placeholder)
            for placeholder in record.placeholders()
            if not values.get(_LIST_PLACEHOLDERS.get(placeholder, placeholder))
        ]
        if missing:
            findings.append(
                make_finding(
                    rule,
                    "esp.value_missing",
                    N_(
                        "%(esp)s asks for a %(rdtype)s record for %(purpose)s that depends on your "
                        "account: give %(values)s to check it."
                    ),
                    severity=Severity.INFO,
                    facts={
                        "domain": domain,
                        "esp": profile.name,
                        "rdtype": record.rdtype,
                        "purpose": str(record.purpose),
                        "values": ", ".join(sorted(set(missing))),
                    },
                )
            )
            continue
        instances.extend(_instances(domain, record, values))

    answers = await asyncio.gather(
        *(source.query(instance.name, instance.record.rdtype) for instance in instances)
    )
    for instance, answer in zip(instances, answers, strict=True):
        findings.append(_record_finding(domain, profile, rule, instance, answer))
    return tuple(findings)


def _instances(domain: str, record: ExpectedRecord, values: Mapping[str, str]) -> list[_Instance]:
    placeholders = record.placeholders()
    choices: list[list[tuple[str, str]]] = []
    for placeholder in dict.fromkeys(placeholders):
        key = _LIST_PLACEHOLDERS.get(placeholder)
        items = split_list(values[key]) if key else [values[placeholder].strip()]
        choices.append([(placeholder, item) for item in items])

    instances = []
    for combination in itertools.product(*choices):
        name, pattern = record.name, record.value_pattern
        for placeholder, item in combination:
            name = name.replace("{" + placeholder + "}", item.lower())
            pattern = pattern.replace("{" + placeholder + "}", re.escape(item.lower()))
        instances.append(_Instance(record, _absolute(name, domain), pattern))
    return instances


def _absolute(name: str, domain: str) -> str:
    # A value given as a full name under the domain is kept as it is.
    name = name.rstrip(".").lower()
    if name == "@":
        return domain
    if name == domain or name.endswith("." + domain):
        return name
    return f"{name}.{domain}"


def _values(answer: DnsAnswer, rdtype: str) -> tuple[str, ...]:
    if rdtype == "CNAME":
        return answer.targets
    if rdtype == "MX":
        return tuple(exchange for _, exchange in answer.exchanges)
    return answer.texts


def _record_finding(
    domain: str, profile: EspProfile, rule: Rule, instance: _Instance, answer: DnsAnswer
) -> Finding:
    record = instance.record
    facts: dict[str, str | int] = {
        "domain": domain,
        "esp": profile.name,
        "name": instance.name,
        "rdtype": record.rdtype,
        "purpose": str(record.purpose),
    }
    if answer.is_error:
        return make_finding(
            rule,
            "esp.unknown",
            N_(
                "Could not check the %(rdtype)s record %(name)s that %(esp)s asks for: the "
                "lookup failed (%(reason)s). Run the check again."
            ),
            severity=Severity.WARN,
            facts={**facts, "reason": str(answer.status)},
            translated={"reason": DNS_STATUS_MESSAGES[answer.status]},
        )

    found = _values(answer, record.rdtype)
    severity = Severity.WARN if record.optional else Severity.BLOCK
    if not found:
        return make_finding(
            rule,
            "esp.record_missing",
            N_(
                "%(esp)s asks for a %(rdtype)s record at %(name)s (%(purpose)s), and there is "
                "none. Copy it from the domain settings of your %(esp)s account."
            ),
            severity=severity,
            facts=facts,
        )
    if any(re.fullmatch(instance.pattern, value.lower()) for value in found):
        return make_finding(
            rule,
            "esp.record_ok",
            N_("The %(rdtype)s record at %(name)s matches what %(esp)s asks for."),
            severity=Severity.INFO,
            facts={**facts, "value": found[0]},
        )
    return make_finding(
        rule,
        "esp.record_mismatch",
        N_(
            "The %(rdtype)s record at %(name)s is %(value)s, not what %(esp)s asks for "
            "(%(purpose)s). Copy the value again from your %(esp)s account."
        ),
        severity=severity,
        facts={**facts, "value": found[0]},
    )
