"""Visible unsubscribe link in the message body (CAN-SPAM notice, Gmail and Yahoo rules)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import unquote

from compliance.checks.findings import MB_02, US_03, Finding, Rule, Severity, make_finding
from compliance.checks.html_text import parse_html, visible_elements, visible_lines
from compliance.checks.i18n import N_

# Words that offer to unsubscribe, in English, French and German. A link to
# a preference page counts, because CAN-SPAM accepts a menu that includes
# stopping all commercial mail (15 U.S.C. 7704(a)(3)(B)).
UNSUBSCRIBE_WORDING = re.compile(
    r"\b(?:un-?subscribe|opt[- ]?out"
    r"|(?:manage|update|change)\s+(?:your\s+|my\s+)?(?:email\s+|subscription\s+)?"
    r"(?:preferences|subscriptions?)"
    r"|email\s+preferences"
    r"|d[ée]sinscri\w*|d[ée]sabonn\w*"
    r"|g[ée]rer\s+(?:mes|vos)\s+(?:pr[ée]f[ée]rences|abonnements|inscriptions)"
    r"|ne\s+plus\s+recevoir"
    r"|abmelden|abbestellen)",
    re.IGNORECASE,
)

# The same words as they appear in link targets (unsubscribe, optout, ...).
UNSUBSCRIBE_URL_WORDING = re.compile(
    r"unsub|opt-?out|d[ée]sinscri|d[ée]sabonn|desinscri|desabonn|preferences|abmelden",
    re.IGNORECASE,
)

# Unsubscribe merge tags that ESPs replace with a working link at send time.
UNSUBSCRIBE_MERGE_TAGS = re.compile(
    r"\*\|UNSUB\|\*"  # Mailchimp
    r"|\[\[UNSUB_LINK_[A-Z]{2}\]\]"  # Mailjet
    r"|\{\{\s*UnsubscribeURL\s*\}\}"  # listmonk
    r"|%unsubscribe_url%"  # Mailgun
    r"|\{\{\s*amazonSESUnsubscribeUrl\s*\}\}"  # Amazon SES
    r"|\{unsubscribe_(?:url|text)\}"  # Mautic
    r"|<%asm_(?:group|global)_unsubscribe_raw_url%>"  # SendGrid
    r"|\[unsubscribe\]",  # Campaign Monitor and others
    re.IGNORECASE,
)

# Campaign Monitor and Sendwithus replace an <unsubscribe> element with a link.
_UNSUBSCRIBE_ELEMENT = "unsubscribe"

# In a text part, a link is a URL within this many lines after the wording.
_TEXT_LINK_DISTANCE = 2
_URL = re.compile(r"\b(?:https?://|mailto:)\S+", re.IGNORECASE)


class Evidence(enum.StrEnum):
    """Unsubscribe means found in a body part, strongest first."""

    LINK = "link"
    MERGE_TAG = "merge_tag"
    NOTICE = "notice"
    NONE = "none"


@dataclass(frozen=True)
class PartResult:
    """Unsubscribe means of one body part, with the wording or tag found in ``matched``."""

    part: str
    evidence: Evidence
    matched: str = ""

    @property
    def has_link(self) -> bool:
        """True when the part has a link or a tag that the ESP turns into one."""
        return self.evidence in (Evidence.LINK, Evidence.MERGE_TAG)


def find_in_html(html: str) -> PartResult:
    """Find a visible unsubscribe link, tag or notice in an HTML body."""
    root = parse_html(html)
    if root is None:
        return PartResult("html", Evidence.NONE)

    for link in visible_elements(root, "a"):
        href = link.get("href")
        if href is None:
            continue
        tag = UNSUBSCRIBE_MERGE_TAGS.search(href)
        if tag:
            return PartResult("html", Evidence.MERGE_TAG, tag.group())
        wording = UNSUBSCRIBE_WORDING.search(" ".join(visible_lines(link)))
        if wording:
            return PartResult("html", Evidence.LINK, wording.group())
        target = UNSUBSCRIBE_URL_WORDING.search(unquote(href))
        if target:
            return PartResult("html", Evidence.LINK, target.group())

    if next(visible_elements(root, _UNSUBSCRIBE_ELEMENT), None) is not None:
        return PartResult("html", Evidence.MERGE_TAG, f"<{_UNSUBSCRIBE_ELEMENT}>")

    text = "\n".join(visible_lines(root))
    return _find_in_lines("html", text.splitlines(), links_possible=False)


def find_in_text(text: str) -> PartResult:
    """Find an unsubscribe URL, tag or notice in a plain-text body."""
    return _find_in_lines("text", text.splitlines(), links_possible=True)


def _find_in_lines(part: str, lines: list[str], *, links_possible: bool) -> PartResult:
    tag = UNSUBSCRIBE_MERGE_TAGS.search("\n".join(lines))
    if tag:
        return PartResult(part, Evidence.MERGE_TAG, tag.group())

    notice = ""
    for index, line in enumerate(lines):
        wording = UNSUBSCRIBE_WORDING.search(line)
        if not wording:
            continue
        nearby = lines[index : index + _TEXT_LINK_DISTANCE + 1]
        if links_possible and any(_URL.search(candidate) for candidate in nearby):
            return PartResult(part, Evidence.LINK, wording.group())
        notice = notice or wording.group()
    if notice:
        return PartResult(part, Evidence.NOTICE, notice)
    return PartResult(part, Evidence.NONE)


def check_unsubscribe(html: str | None, text: str | None) -> tuple[Finding, ...]:
    """Check the body parts present for a visible unsubscribe link.

    Every result is reported under both US-03 (CAN-SPAM opt-out notice) and
    MB-02 (visible link required by Gmail and Yahoo).
    """
    results = []
    if html is not None:
        results.append(find_in_html(html))
    if text is not None:
        results.append(find_in_text(text))
    return tuple(finding for rule in (US_03, MB_02) for finding in _findings(rule, results))


def _findings(rule: Rule, results: list[PartResult]) -> list[Finding]:
    linked = [result for result in results if result.has_link]

    if results and len(linked) == len(results):
        return [
            make_finding(
                rule,
                "unsubscribe.found",
                N_("Visible unsubscribe link found (%(matched)s)."),
                severity=Severity.INFO,
                facts=_facts(linked),
            )
        ]

    if linked:
        missing = next(result for result in results if not result.has_link)
        return [
            make_finding(
                rule,
                "unsubscribe.missing_in_part",
                N_(
                    "The %(part_name)s part has no unsubscribe link although the other part "
                    "has one: add it to both parts."
                ),
                severity=Severity.WARN,
                facts={**_facts(linked), "part": missing.part},
                translated={"part_name": _PART_NAMES[missing.part]},
            )
        ]

    notices = [result for result in results if result.evidence is Evidence.NOTICE]
    if notices:
        return [
            make_finding(
                rule,
                "unsubscribe.no_link",
                N_(
                    "The message mentions unsubscribing (%(matched)s) but has no unsubscribe "
                    "link: make it a visible link."
                ),
                severity=Severity.WARN,
                facts=_facts(notices),
            )
        ]

    return [
        make_finding(
            rule,
            "unsubscribe.missing",
            N_(
                "No visible unsubscribe link found in the message body: add one to the HTML "
                "and text parts."
            ),
        )
    ]


_PART_NAMES = {"html": N_("HTML"), "text": N_("plain-text")}


def _facts(results: list[PartResult]) -> dict[str, str | int]:
    return {
        "parts": ",".join(result.part for result in results),
        "evidence": str(results[0].evidence),
        "matched": results[0].matched,
    }
