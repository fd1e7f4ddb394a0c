"""Subject line: empty, all capitals, excess punctuation, reply or forward prefix, length."""

from __future__ import annotations

import re
from collections.abc import Mapping

from compliance.checks.findings import DQ_01, MB_06, US_08, Finding, Severity, make_finding
from compliance.checks.i18n import N_

# Mobile clients show about 50 to 60 characters of a subject; past 60 the
# end is cut on most of them.
MAX_SUBJECT_LENGTH = 60
# Letters needed before "all capitals" means anything ("NEW" alone is fine).
MIN_LETTERS_FOR_CAPITALS = 8
# Runs of exclamation or question marks, and their total, that spam filters
# and readers take as shouting.
_PUNCTUATION_RUN = re.compile(r"[!?]{2,}")
MAX_EXCLAMATIONS = 1
# Reply and forward prefixes in English, French (TR:) and German (AW:, WG:).
_REPLY_PREFIX = re.compile(r"^\s*(?:RE|FWD?|TR|AW|WG)\s*:", re.IGNORECASE)

LOCATION = "header Subject"


def check_subject(headers: Mapping[str, str]) -> tuple[Finding, ...]:
    """Check the Subject header; no finding when the headers are not given at all."""
    if not headers:
        return ()
    subject = headers.get("Subject")
    if subject is None or not subject.strip():
        return (
            make_finding(
                MB_06,
                "subject.empty",
                N_("The message has no subject."),
                fix=N_("Write a subject that says what the message is about."),
                location=LOCATION,
            ),
        )

    findings = []
    letters = [character for character in subject if character.isalpha()]
    if len(letters) >= MIN_LETTERS_FOR_CAPITALS and all(c.isupper() for c in letters):
        findings.append(
            make_finding(
                DQ_01,
                "subject.all_capitals",
                N_("The subject is written in capitals only."),
                fix=N_("Write the subject in sentence case; capitals read as shouting."),
                location=LOCATION,
            )
        )
    exclamations = subject.count("!")
    if _PUNCTUATION_RUN.search(subject) or exclamations > MAX_EXCLAMATIONS:
        findings.append(
            make_finding(
                DQ_01,
                "subject.punctuation",
                N_("The subject has excess punctuation (%(count)s exclamation marks)."),
                facts={"count": exclamations},
                fix=N_("Keep at most one exclamation mark and no runs such as !!! or ?!"),
                location=LOCATION,
            )
        )
    if _REPLY_PREFIX.match(subject):
        findings.append(
            make_finding(
                US_08,
                "subject.reply_prefix",
                N_(
                    "The subject starts with a reply or forward prefix (%(prefix)s): on a "
                    "campaign this suggests an exchange that did not take place."
                ),
                facts={"prefix": subject.strip().split(":", 1)[0] + ":"},
                fix=N_("Remove the prefix unless the message answers the recipient."),
                location=LOCATION,
            )
        )
    if len(subject) > MAX_SUBJECT_LENGTH:
        findings.append(
            make_finding(
                DQ_01,
                "subject.too_long",
                N_(
                    "The subject has %(length)s characters: mobile clients cut it after "
                    "about 50 to 60."
                ),
                severity=Severity.INFO,
                facts={"length": len(subject)},
                fix=N_("Put the key words in the first 50 characters."),
                location=LOCATION,
            )
        )
    return tuple(findings)
