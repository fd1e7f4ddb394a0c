"""Placeholder addresses, demo addresses shipped in templates, and virtual-mailbox buildings.

A template's demo address can be well formed (``123 Main St., Springfield,
MA 12345``) and pass every shape check, so it is caught by the phrases below.
The lists are small and meant to grow when a new template is met.
"""

from __future__ import annotations

import re

# Bracketed or braced editor placeholders that no ESP fills in: [Address],
# [Company Name, LLC], [[POSTAL_ADDRESS]], {address}.
EDITOR_PLACEHOLDER = re.compile(
    r"\[\[?\s*(?:postal[_ ]?)?address\s*\]?\]"
    r"|\[\s*(?:your\s+)?(?:company|business|street|city|state|zip|postcode|country)"
    r"(?:[\s_]+name)?[^\]]{0,40}\]"
    r"|\{\s*(?:postal_)?address\s*\}",
    re.IGNORECASE,
)

# Demo localities and streets seen in templates, and the generic words that
# stand for a field ("City, State 12345"). Springfield counts only with a
# round demo ZIP or a demo street, because real Springfields exist.
DEMO_ADDRESS = re.compile(
    r"\b(?:Anytown|Any\s+Town|Tech\s+City|Metropolis|Wonderland|Planet\s+Earth"
    r"|Beautiful\s+City|Fake\s+St(?:reet)?\b|Street\s+Rd\b"
    r"|123\s+Main\s+St(?:reet)?\b|1234\s+Street"
    r"|City,\s*State\b|Your\s+City|Your\s+Address"
    r"|Springfield,?\s+[A-Z]{2},?\s+12345)",
    re.IGNORECASE,
)

# A line that is only the word "Country" or "Address" is a form label left
# in the template.
FIELD_LABEL_LINE = re.compile(r"^\s*(?:country|address|city|state|zip)\s*$", re.IGNORECASE)

# Buildings that house a commercial mail receiving agency (USPS CMRA):
# without its private-mailbox number, mail sent there cannot be delivered
# to the sender. Street number and normalised street name.
CMRA_BUILDINGS = frozenset(
    {
        ("548", "market"),  # San Francisco, CA 94104
        ("2093", "philadelphia"),  # Claymont, DE 19703
    }
)


def find_placeholder(text: str) -> str | None:
    """Return the placeholder or demo phrase found in ``text``, or None."""
    for pattern in (EDITOR_PLACEHOLDER, DEMO_ADDRESS):
        found = pattern.search(text)
        if found:
            return found.group()
    for line in text.splitlines():
        if FIELD_LABEL_LINE.match(line):
            return line.strip()
    return None


def is_cmra_building(number: str, street_name: str) -> bool:
    """Tell whether a street address is a known virtual-mailbox building."""
    key = (number.strip().lower(), street_name.strip().lower().split(" ")[0])
    return key in CMRA_BUILDINGS
