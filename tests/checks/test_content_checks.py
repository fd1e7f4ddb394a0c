"""Subject, body, link, header and identification checks."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from compliance.checks.body_check import MAX_HTML_BYTES, check_body
from compliance.checks.findings import Severity
from compliance.checks.header_check import check_headers
from compliance.checks.identity_check import check_advertising_label, check_sender_identification
from compliance.checks.link_check import check_links
from compliance.checks.message import parse_message
from compliance.checks.report import run_message_check
from compliance.checks.sender_profile import SenderProfile
from compliance.checks.subject_check import check_subject


def _checks(findings: tuple[object, ...]) -> dict[str, Severity]:
    return {f.check: f.severity for f in findings}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("subject", "check", "severity"),
    [
        ("", "subject.empty", Severity.WARN),
        ("   ", "subject.empty", Severity.WARN),
        ("HUGE SUMMER SALE TODAY", "subject.all_capitals", Severity.WARN),
        ("Sale!!!", "subject.punctuation", Severity.WARN),
        ("Really?!", "subject.punctuation", Severity.WARN),
        ("Sale! Now! Today", "subject.punctuation", Severity.WARN),
        ("RE: your order", "subject.reply_prefix", Severity.WARN),
        ("Fwd: offer", "subject.reply_prefix", Severity.WARN),
        ("TR : nos offres", "subject.reply_prefix", Severity.WARN),
        ("x" * 61, "subject.too_long", Severity.INFO),
    ],
)
def test_subject_findings(subject: str, check: str, severity: Severity) -> None:
    assert _checks(check_subject({"Subject": subject})).get(check) is severity


@pytest.mark.parametrize("subject", ["Our June newsletter", "NEW in June", "x" * 60, "Sale!"])
def test_subject_clean(subject: str) -> None:
    assert check_subject({"Subject": subject}) == ()


def test_subject_rule_ids() -> None:
    findings = check_subject({"Subject": "RE: BIG SALE!!!"})
    assert {f.check: f.rule for f in findings} == {
        "subject.all_capitals": "DQ-01",
        "subject.punctuation": "DQ-01",
        "subject.reply_prefix": "US-08",
    }
    assert all(f.location == "header Subject" for f in findings)


def test_image_without_alt_and_location() -> None:
    html = '<p>Text</p><img src="https://cdn.example/img/logo.png?u=123" width="100" height="50">'
    finding = next(f for f in check_body(html, "Text") if f.check == "body.image_without_alt")

    assert finding.rule == "DQ-02"
    assert finding.location == "html <img> #1 (logo.png)"


def test_empty_alt_is_decorative() -> None:
    html = '<p>Text</p><img src="a.png" alt="" width="10" height="10">'
    assert "body.image_without_alt" not in _checks(check_body(html, "Text"))


def test_image_heavy_message() -> None:
    html = '<img src="a.png" alt="Sale" width="600" height="800"><p>Buy now</p>'
    finding = next(f for f in check_body(html, "x") if f.check == "body.image_heavy")

    assert finding.severity is Severity.WARN
    assert int(finding.facts["percent"]) < 80


def test_text_heavy_message_balanced() -> None:
    html = '<img src="a.png" alt="Logo" width="100" height="40"><p>' + "News. " * 300 + "</p>"
    assert "body.image_heavy" not in _checks(check_body(html, "x"))


def test_tracking_pixel_warns_without_consent() -> None:
    html = '<p>Hi</p><img src="https://t.example/o.gif?id=1" width="1" height="1" alt="">'

    assert _checks(check_body(html, "Hi"))["body.tracking_pixel"] is Severity.WARN
    consented = check_body(html, "Hi", tracking_consent=True)
    assert _checks(consented)["body.tracking_pixel"] is Severity.INFO


def test_html_size_over_gmail_clip() -> None:
    html = "<p>" + "a" * (MAX_HTML_BYTES + 1) + "</p>"
    assert _checks(check_body(html, "a"))["body.html_too_large"] is Severity.WARN
    assert "body.html_too_large" not in _checks(check_body("<p>a</p>", "a"))


def test_missing_text_part() -> None:
    assert _checks(check_body("<p>Hi</p>", None))["mime.text_missing"] is Severity.WARN
    assert "mime.text_missing" not in _checks(check_body("<p>Hi</p>", "Hi"))


def test_broken_mime_reported() -> None:
    raw = (
        b"From: News <news@example.org>\r\nTo: a@example.net\r\nSubject: Hi\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative\r\n\r\n"
        b"no boundary here\r\n"
    )
    parts = parse_message(raw)

    assert parts.defects
    finding = next(f for f in check_body(None, None, defects=parts.defects))
    assert finding.check == "mime.defects"
    assert "NoBoundaryInMultipartDefect" in str(finding.facts["defects"])


def test_link_text_names_other_domain() -> None:
    html = '<a href="https://evil.example.net/login">www.mybank.example.com</a>'
    finding = next(f for f in check_links(html, None) if f.check == "links.text_domain_mismatch")

    assert finding.facts == {"text_domain": "www.mybank.example.com", "host": "evil.example.net"}
    assert finding.location == "html <a> #1"


def test_link_text_same_domain_ok() -> None:
    html = '<a href="https://shop.example.com/x">www.example.com</a>'
    assert "links.text_domain_mismatch" not in _checks(check_links(html, None))


def test_url_shortener() -> None:
    html = '<a href="https://bit.ly/abc">See the offer</a>'
    assert _checks(check_links(html, None))["links.shortener"] is Severity.WARN


@pytest.mark.parametrize(
    ("html", "text", "check"),
    [
        ('<a href="https://example.org/privacy">Privacy policy</a>', None, "links.privacy.found"),
        ('<a href="/rgpd">Politique de confidentialité</a>', None, "links.privacy.found"),
        (None, "Privacy policy:\nhttps://example.org/p", "links.privacy.found"),
        ("<p>News</p>", None, "links.privacy.missing"),
    ],
)  # fmt: skip
def test_privacy_link(html: str | None, text: str | None, check: str) -> None:
    assert check in _checks(check_links(html, text))


def test_report_abuse() -> None:
    found = check_links('<a href="mailto:abuse@example.org">Report abuse</a>', None)
    missing = check_links("<p>News</p>", None)

    assert _checks(found)["links.report_abuse.found"] is Severity.INFO
    assert _checks(missing)["links.report_abuse.missing"] is Severity.INFO


def test_sender_identification() -> None:
    lines = ["News", "© 2025 Librairie Exemple SAS"]

    assert _checks(check_sender_identification(lines, "Librairie Exemple"))["identity.found"]
    missing = check_sender_identification(lines, "Other Company")
    assert _checks(missing)["identity.missing"] is Severity.WARN
    assert missing[0].rule == "CA-05"
    assert _checks(check_sender_identification(lines, None))["identity.unverified"]
    assert _checks(check_sender_identification(["News"], None))["identity.missing"] is Severity.WARN


def test_advertising_label() -> None:
    assert _checks(check_advertising_label("Publicité : soldes", [], None))["advertising.labelled"]
    assert _checks(check_advertising_label("Sale", ["Deals"], None))["advertising.unlabelled"] is (
        Severity.INFO
    )
    assert _checks(check_advertising_label("Sale", ["Deals"], False))["advertising.unlabelled"] is (
        Severity.WARN
    )
    assert check_advertising_label("Sale", ["Deals"], True) == ()


def test_headers_complete_message() -> None:
    headers = {
        "From": "News <news@example.org>",
        "Reply-To": "not an address",
        "Message-ID": "missing-brackets@example.org",
        "Date": "yesterday",
    }
    checks = _checks(check_headers(headers, complete=True))

    assert checks == {
        "headers.address_invalid": Severity.WARN,
        "headers.message_id_invalid": Severity.WARN,
        "headers.date_invalid": Severity.WARN,
    }


def test_headers_missing_from_blocks() -> None:
    checks = _checks(check_headers({"Subject": "Hi"}, complete=True))

    assert checks["headers.from_missing"] is Severity.BLOCK
    assert checks["headers.message_id_missing"] is Severity.WARN
    assert checks["headers.date_missing"] is Severity.WARN


def test_headers_invalid_from_blocks() -> None:
    findings = check_headers({"From": "a@b@c, d@example.org"}, complete=False)
    assert _checks(findings)["headers.address_invalid"] is Severity.BLOCK


@pytest.mark.parametrize(
    "headers",
    [
        {"From": "news@example.org", "Subject": "Hi\r\nBcc: victim@example.net"},
        {"From": "news@example.org", "X-Tag": "a\nb"},
        {"From": "news@example.org", "Bad Name": "x"},
    ],
)
def test_header_injection_blocks(headers: dict[str, str]) -> None:
    finding = next(
        f for f in check_headers(headers, complete=False) if f.check == "headers.injection"
    )

    assert finding.severity is Severity.BLOCK
    assert "victim" not in finding.message_en


def test_no_headers_info_only() -> None:
    findings = check_headers({}, complete=False)
    assert [(f.check, f.severity) for f in findings] == [("headers.not_given", Severity.INFO)]


def test_full_message_report_uses_sender_profile() -> None:
    message = EmailMessage()
    message["From"] = "Librairie Exemple <news@example.org>"
    message["To"] = "reader@example.net"
    message["Subject"] = "Publicité : nos nouveautés"
    message["Message-ID"] = "<1@example.org>"
    message["Date"] = "Tue, 02 Dec 2025 10:00:00 +0100"
    message.set_content("Nouveautés\nLibrairie Exemple, 12 rue de la Paix, 75002 Paris")
    message.add_alternative(
        "<p>Nouveautés</p><p>Librairie Exemple, 12 rue de la Paix, 75002 Paris</p>",
        subtype="html",
    )
    sender = SenderProfile(
        legal_name="Librairie Exemple", postal_address="12 rue de la Paix 75002 Paris"
    )

    report = run_message_check(message, "example.org", None, sender=sender)
    checks = {f.check: f for f in report.findings}

    assert checks["identity.found"].severity is Severity.INFO
    assert checks["address.matches_registered"].rule == "US-02"
    assert checks["advertising.labelled"].severity is Severity.INFO
    assert not any(f.check.startswith("headers.") for f in report.findings)
    assert all(f.area.value == "content" for f in report.findings if f.rule != "MB-03")


def test_french_possessive_not_a_legal_form() -> None:
    findings = check_sender_identification(["Merci pour sa commande"], None)
    assert _checks(findings)["identity.missing"] is Severity.WARN
