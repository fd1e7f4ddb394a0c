"""Sender identification (CASL, ePrivacy) and advertising identification (CAN-SPAM)."""

from __future__ import annotations

import re
import unicodedata

from compliance.checks.findings import CA_05, US_07, Finding, Severity, make_finding
from compliance.checks.i18n import N_

# Legal-form words and copyright lines that show an organisation is named.
# Legal forms are matched with their case, so that the French word "sa"
# or the syllable "co" does not count as a company name.
ORGANISATION_MARKERS = re.compile(
    r"(?i:©|\(c\)\s*\d{4}|copyright)"
    r"|\b(?:Inc|LLC|Ltd|Limited|Corp|GmbH|AG|SAS|SARL|SA|SASU|EURL|S\.A\.S|B\.V|N\.V|PLC|LLP)\b\.?"
)
# Labels that identify a message as an advertisement (English, French).
AD_LABELS = re.compile(
    r"\b(?:advertisement|advertising|\bad\b|sponsored|promotion|publicit[ée]|annonce"
    r"|communication\s+commerciale|offre\s+promotionnelle)\b",
    re.IGNORECASE,
)
# Only the first lines count for the advertising label: it must be seen
# when the message is opened.
AD_LABEL_LINES = 15


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(character for character in decomposed if not unicodedata.combining(character))
    return " ".join(re.sub(r"[^\w]+", " ", plain.lower()).split())


def check_sender_identification(lines: list[str], legal_name: str | None) -> tuple[Finding, ...]:
    """Check that the body names the sender, by its registered name when one is given."""
    body = "\n".join(lines)
    if legal_name:
        if _folded(legal_name) in _folded(body):
            return (
                make_finding(
                    CA_05,
                    "identity.found",
                    N_("The sender's name appears in the message."),
                    severity=Severity.INFO,
                ),
            )
        return (
            make_finding(
                CA_05,
                "identity.missing",
                N_("The sender's registered name does not appear in the message."),
                # A warning, not a block: the footer may use a trade name the
                # registry does not hold, and only a person can judge that.
                severity=Severity.WARN,
                fix=N_("Name the sender (and the advertiser if different) in the footer."),
            ),
        )
    if ORGANISATION_MARKERS.search(body):
        return (
            make_finding(
                CA_05,
                "identity.unverified",
                N_(
                    "An organisation seems to be named (legal form or copyright line); "
                    "without a registered name it could not be compared."
                ),
                severity=Severity.INFO,
                fix=N_("Give the sender's legal name to compare it with the footer."),
            ),
        )
    return (
        make_finding(
            CA_05,
            "identity.missing",
            N_("No organisation name was found in the message (no legal form or copyright line)."),
            severity=Severity.WARN,
            fix=N_("Name the sender (and the advertiser if different) in the footer."),
        ),
    )


def check_advertising_label(
    subject: str | None, lines: list[str], advertising_consent: bool | None
) -> tuple[Finding, ...]:
    """Check for an advertisement label in the subject or at the top of the body.

    CAN-SPAM waives the label for recipients who gave prior affirmative
    consent, so without that knowledge a missing label is only INFO.
    """
    top = "\n".join([subject or "", *lines[:AD_LABEL_LINES]])
    if AD_LABELS.search(top):
        return (
            make_finding(
                US_07,
                "advertising.labelled",
                N_("The message is labelled as an advertisement."),
                severity=Severity.INFO,
            ),
        )
    if advertising_consent is True:
        return ()
    return (
        make_finding(
            US_07,
            "advertising.unlabelled",
            N_(
                "No advertisement label was found in the subject or at the top of the message: "
                "CAN-SPAM requires one for recipients without prior affirmative consent."
            ),
            severity=Severity.INFO if advertising_consent is None else Severity.WARN,
            fix=N_(
                "If this is a commercial message to recipients without prior consent, label it "
                '(for example "Advertisement" / "Publicité").'
            ),
        ),
    )
