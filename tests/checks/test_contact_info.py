"""CASL contact information beside the postal address (CA-06): phone, email or web address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.checks.contact_info import (
    ContactMethod,
    check_contact_information,
    find_contacts,
)
from compliance.checks.findings import Finding, Severity
from compliance.checks.report import run_parts_check
from compliance.checks.sender_profile import SenderProfile

ADDRESS = "Librairie Exemple Inc.<br>350 Sparks Street<br>Ottawa, ON K1R 7S8"
UNSUBSCRIBE = '<a href="https://news.example.ca/u/abc123">Unsubscribe</a>'
PIXEL = '<img src="https://track.example.ca/open/abc123.gif" width="1" height="1" alt="">'
PHONE = "(613) 555-0142"
EMAIL = "bonjour@example.ca"


def html_footer(contact: str) -> str:
    return (
        "<html><body><p>Our new autumn titles are in.</p>"
        f"<p>{ADDRESS}</p><p>{contact}</p><p>{UNSUBSCRIBE}</p>{PIXEL}</body></html>"
    )


def text_footer(contact: str) -> str:
    return (
        "Our new autumn titles are in.\n\n--\nLibrairie Exemple Inc.\n350 Sparks Street\n"
        f"Ottawa, ON K1R 7S8\n{contact}\nUnsubscribe:\nhttps://news.example.ca/u/abc123\n"
    )


CRAFTED = {
    "phone": (f"Call us: {PHONE}", f"Call us: {PHONE}", {ContactMethod.PHONE}),
    "email": (
        f'Write to <a href="mailto:{EMAIL}">{EMAIL}</a>',
        f"Write to {EMAIL}",
        {ContactMethod.EMAIL},
    ),
    "url": (
        '<a href="https://www.example.ca/contact">Contact us</a>',
        "Contact us: https://www.example.ca/contact",
        {ContactMethod.WEB},
    ),
    "none": ("Thank you for reading.", "Thank you for reading.", set()),
}


def only(findings: tuple[Finding, ...], check: str) -> Finding:
    matching = [finding for finding in findings if finding.check == check]
    assert len(matching) == 1, [finding.check for finding in findings]
    return matching[0]


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_methods_found_per_part(case: str) -> None:
    html, text, expected = CRAFTED[case]

    results = find_contacts(html_footer(html), text_footer(text))

    assert [result.part for result in results] == ["html", "text"]
    assert results[0].methods == expected
    assert results[1].methods == expected


@pytest.mark.parametrize("case", ["phone", "email", "url"])
def test_one_method_passes_for_canada(case: str) -> None:
    html, text, _ = CRAFTED[case]

    findings = check_contact_information(html_footer(html), text_footer(text), {"CA"})

    found = only(findings, "contact_info.found")
    assert found.rule == "CA-06"
    assert found.severity is Severity.INFO
    assert len(findings) == 1


def test_no_method_blocks_for_canada() -> None:
    html, text, _ = CRAFTED["none"]

    findings = check_contact_information(html_footer(html), text_footer(text), {"FR", "CA"})

    missing = only(findings, "contact_info.missing")
    assert missing.rule == "CA-06"
    assert missing.severity is Severity.BLOCK
    assert missing.facts == {"methods.html": "none", "methods.text": "none"}
    assert "Canada" in missing.message_en
    assert "Canada" in missing.message_fr
    assert missing.message_fr.startswith("Le pied de page ne donne ni numéro de téléphone")
    assert missing.fix_en.startswith("Add a telephone number")
    assert missing.fix_fr.startswith("Ajoutez un numéro de téléphone")


def test_no_method_is_info_when_countries_unknown() -> None:
    html, text, _ = CRAFTED["none"]

    findings = check_contact_information(html_footer(html), text_footer(text), None)

    assert only(findings, "contact_info.missing").severity is Severity.INFO


def test_no_method_ignored_without_canada() -> None:
    html, text, _ = CRAFTED["none"]

    assert check_contact_information(html_footer(html), text_footer(text), {"FR", "US"}) == ()


def test_unsubscribe_and_pixel_do_not_count() -> None:
    # The only URLs are the unsubscribe link, a web-version link and the
    # tracking pixel: none is a way to reach the sender.
    html = html_footer('<a href="https://news.example.ca/web/abc123">View in your browser</a>')
    text = text_footer("")

    results = find_contacts(html, text)

    assert results[0].methods == frozenset()
    assert results[1].methods == frozenset()


def test_mailto_unsubscribe_does_not_count() -> None:
    html = html_footer('<a href="mailto:unsubscribe@example.ca?subject=stop">Stop these emails</a>')

    assert find_contacts(html, None)[0].methods == frozenset()


def test_registration_number_is_not_a_phone() -> None:
    text = text_footer("SIREN 123 456 789 - RCS Paris")

    assert find_contacts(None, text)[0].methods == frozenset()


def test_hidden_link_does_not_count() -> None:
    html = html_footer(
        '<span style="display:none"><a href="https://www.example.ca/">Site</a></span>'
    )

    assert find_contacts(html, None)[0].methods == frozenset()


def test_missing_in_text_part_warns() -> None:
    html, _, _ = CRAFTED["phone"]

    findings = check_contact_information(html_footer(html), text_footer(""), {"CA"})

    assert only(findings, "contact_info.found").facts == {
        "methods.html": "phone",
        "methods.text": "none",
    }
    in_part = only(findings, "contact_info.missing_in_part")
    assert in_part.severity is Severity.WARN
    assert in_part.location == "text"
    assert "texte brut" in in_part.message_fr


def test_found_message_both_languages() -> None:
    html = html_footer(f'Call {PHONE} or visit <a href="https://www.example.ca/">our site</a>')

    found = only(check_contact_information(html, None, {"CA"}), "contact_info.found")

    assert found.message_en == (
        "Contact information found in the footer: telephone number, web address."
    )
    assert found.message_fr == (
        "Coordonnées trouvées dans le pied de page : numéro de téléphone, adresse web."
    )


def test_findings_never_echo_contact_details() -> None:
    html = html_footer(f'Call {PHONE}, write to <a href="mailto:{EMAIL}">{EMAIL}</a>')
    findings = check_contact_information(html, text_footer(f"Call {PHONE}"), {"CA"})
    serialised = json.dumps([finding.to_dict() for finding in findings], ensure_ascii=False)

    assert findings
    assert "555" not in serialised
    assert "bonjour" not in serialised
    assert "example.ca" not in serialised


def test_report_applies_rule_for_canadian_recipients() -> None:
    html, text, _ = CRAFTED["none"]
    canadian = SenderProfile(recipient_countries=frozenset({"CA"}))
    french = SenderProfile(recipient_countries=frozenset({"FR"}))

    blocked = run_parts_check(html_footer(html), text_footer(text), {}, "example.ca", None,
                              sender=canadian)  # fmt: skip
    passed = run_parts_check(html_footer(html), text_footer(text), {}, "example.ca", None,
                             sender=french)  # fmt: skip

    assert ("CA-06", "contact_info.missing") in [(f.rule, f.check) for f in blocked.findings]
    assert blocked.blocked
    assert "contact_info.missing" not in [finding.check for finding in passed.findings]


# Contact methods the footers of the corpus templates carry, read by hand
# from each file.
CORPUS_EXPECTED = {
    # "call us at 202-742-1520" and links to the foundation's site.
    "sunlight__base.html": {ContactMethod.PHONE, ContactMethod.WEB},
    # "1(250)222-2232" under the address; every link is "#".
    "sendwithus__neopolitan_confirm.html": {ContactMethod.PHONE},
    # Every link is "#" and the address line has no phone: nothing to reach the sender by.
    "colorlib__21.html": set(),
    # The contact links are "mailto:#", which names no address.
    "mautic__aurora_email.html.twig": set(),
    # The logo links to www.nps.gov.
    "mosaico__template-tedc15.html": {ContactMethod.WEB},
    # Only the unsubscribe merge tag: listmonk's default template.
    "listmonk__default.tpl.html": set(),
}


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_corpus_template_methods(corpus_dir: Path, name: str) -> None:
    html = (corpus_dir / "templates" / name).read_text(encoding="utf-8", errors="replace")

    (result,) = find_contacts(html, None)

    assert result.methods == CORPUS_EXPECTED[name]


def test_corpus_template_without_contact_blocks(corpus_dir: Path) -> None:
    html = (corpus_dir / "templates" / "colorlib__21.html").read_text(encoding="utf-8")
    profile = SenderProfile(recipient_countries=frozenset({"CA"}))

    report = run_parts_check(html, None, {}, "example.com", None, sender=profile)

    blocking = [(f.rule, f.check) for f in report.findings if f.severity is Severity.BLOCK]
    assert ("CA-06", "contact_info.missing") in blocking
