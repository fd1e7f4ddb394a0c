"""Links of the HTML body: privacy policy, report abuse, text naming another domain, shorteners."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from compliance.checks.findings import DQ_04, EU_08, MB_05, Finding, Rule, Severity, make_finding
from compliance.checks.html_text import parse_html, visible_elements, visible_lines
from compliance.checks.i18n import N_

PRIVACY_WORDING = re.compile(
    r"privacy|confidentialit[ée]|donn[ée]es\s+personnelles|datenschutz|RGPD|GDPR", re.IGNORECASE
)
ABUSE_WORDING = re.compile(
    r"report\s+(?:abuse|spam|this\s+email)|abuse@|signaler\s+(?:un\s+)?(?:abus|spam)"
    r"|spam\s+melden|missbrauch",
    re.IGNORECASE,
)

# Public URL shorteners: they hide the target and are common in spam, so
# filters weigh them.
SHORTENER_HOSTS = frozenset(
    {
        "bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly",
        "cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "bl.ink", "s.id", "v.gd",
    }
)  # fmt: skip

# A domain name written in link text: "www.example.org", "https://example.org/x".
_DOMAIN_IN_TEXT = re.compile(
    r"^\s*(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#]\S*)?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Link:
    """A visible link: its position among the links, its target and its text."""

    index: int
    href: str
    text: str

    @property
    def location(self) -> str:
        return f"html <a> #{self.index}"


def html_links(html: str) -> list[Link]:
    """Return the visible links of an HTML body in document order."""
    root = parse_html(html)
    if root is None:
        return []
    links = []
    for index, anchor in enumerate(visible_elements(root, "a"), start=1):
        href = (anchor.get("href") or "").strip()
        links.append(Link(index, href, " ".join(visible_lines(anchor))))
    return links


def check_links(html: str | None, text: str | None) -> tuple[Finding, ...]:
    """Check the links of the body parts present."""
    links = html_links(html) if html is not None else []
    bodies = [body for body in (html, text) if body]
    findings = [
        _presence(
            EU_08,
            "links.privacy",
            any(PRIVACY_WORDING.search(link.text) for link in links)
            or any(PRIVACY_WORDING.search(unquote(link.href)) for link in links)
            or (text is not None and _text_link_near(text, PRIVACY_WORDING)),
            found=N_("A privacy-policy link was found."),
            missing=N_("No privacy-policy link was found in the message."),
            fix=N_(
                "Link the privacy notice (GDPR art. 13) from the footer, for example "
                '"Privacy policy" / "Politique de confidentialité".'
            ),
        ),
        _presence(
            MB_05,
            "links.report_abuse",
            any(ABUSE_WORDING.search(body) for body in bodies),
            found=N_("A way to report abuse was found."),
            missing=N_(
                "No report-abuse link or address was found: recipients who cannot reach "
                "you mark the message as spam instead."
            ),
            fix=N_("Add a report-abuse link or an abuse@ address to the footer."),
            missing_severity=Severity.INFO,
        ),
    ]

    for link in links:
        findings += _link_findings(link)
    return tuple(findings)


def _presence(
    rule: Rule,
    check: str,
    present: bool,
    *,
    found: str,
    missing: str,
    fix: str,
    missing_severity: Severity = Severity.WARN,
) -> Finding:
    if present:
        return make_finding(rule, f"{check}.found", found, severity=Severity.INFO)
    return make_finding(rule, f"{check}.missing", missing, severity=missing_severity, fix=fix)


def _text_link_near(text: str, wording: re.Pattern[str]) -> bool:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if wording.search(line) and any("http" in near for near in lines[index : index + 3]):
            return True
    return False


def _link_findings(link: Link) -> list[Finding]:
    target = urlsplit(link.href)
    if target.scheme.lower() not in ("http", "https") or not target.hostname:
        return []
    host = target.hostname.lower()
    findings = []
    if host in SHORTENER_HOSTS or host.removeprefix("www.") in SHORTENER_HOSTS:
        findings.append(
            make_finding(
                DQ_04,
                "links.shortener",
                N_("A link goes through the URL shortener %(host)s."),
                facts={"host": host},
                fix=N_("Link to the target directly; shorteners hide it and filters weigh them."),
                location=link.location,
            )
        )

    named = _DOMAIN_IN_TEXT.match(link.text)
    if named:
        text_domain = named.group(1).lower()
        if _base_domain(text_domain) != _base_domain(host):
            findings.append(
                make_finding(
                    DQ_04,
                    "links.text_domain_mismatch",
                    N_("A link's text names %(text_domain)s but the link goes to %(host)s."),
                    facts={"text_domain": text_domain, "host": host},
                    fix=N_(
                        "Make the link text name the real target, or use words instead of a "
                        "domain name. Click-tracking domains of your ESP explain this finding."
                    ),
                    location=link.location,
                )
            )
    return findings


def _base_domain(host: str) -> str:
    # NOTE: the last two labels, without the Public Suffix List, so that
    # example.co.uk and other.co.uk compare equal. A false "same domain" only
    # hides a warning.
    labels = host.removeprefix("www.").split(".")
    return ".".join(labels[-2:])
