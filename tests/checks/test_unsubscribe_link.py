"""Visible unsubscribe link in the body: US-03 and MB-02 findings."""

from __future__ import annotations

import pytest

from compliance.checks.findings import Finding, Severity
from compliance.checks.unsubscribe import (
    Evidence,
    check_unsubscribe,
    find_in_html,
    find_in_text,
)


def _by_rule(findings: tuple[Finding, ...]) -> dict[str, tuple[str, Severity]]:
    return {finding.rule: (finding.check, finding.severity) for finding in findings}


@pytest.mark.parametrize(
    ("html", "matched"),
    [
        ('<a href="https://example.org/u/1">Unsubscribe</a>', "Unsubscribe"),
        ('<a href="https://example.org/u/1">Opt out</a>', "Opt out"),
        ('<a href="https://example.org/u/1">Se désinscrire</a>', "désinscrire"),
        ('<a href="https://example.org/u/1">Se désabonner</a>', "désabonner"),
        ('<a href="https://example.org/u/1">Désinscription</a>', "Désinscription"),
        ('<a href="https://example.org/u/1">désabonnement</a>', "désabonnement"),
        ('<a href="https://example.org/p/1">Gérer mes préférences</a>', "Gérer mes préférences"),
        ('<a href="https://example.org/p/1">Manage preferences</a>', "Manage preferences"),
        ('<a href="https://example.org/unsubscribe?id=1">click here</a>', "unsub"),
        ('<a href="https://example.org/d%C3%A9sinscription">ici</a>', "désinscri"),
    ],
)
def test_html_link_wording(html: str, matched: str) -> None:
    result = find_in_html(f"<p>Footer {html}</p>")

    assert result.evidence is Evidence.LINK
    assert result.matched == matched


@pytest.mark.parametrize(
    "tag",
    [
        "*|UNSUB|*",
        "[[UNSUB_LINK_EN]]",
        "[[UNSUB_LINK_FR]]",
        "{{ UnsubscribeURL }}",
        "%unsubscribe_url%",
        "{{amazonSESUnsubscribeUrl}}",
        "{unsubscribe_url}",
        "<%asm_group_unsubscribe_raw_url%>",
    ],
)
def test_html_merge_tag_in_href(tag: str) -> None:
    result = find_in_html(f'<p><a href="{tag}">here</a></p>')

    assert result.evidence is Evidence.MERGE_TAG
    assert result.matched == tag


@pytest.mark.parametrize("tag", ["{unsubscribe_text}", "[unsubscribe]", "*|UNSUB|*"])
def test_html_merge_tag_in_text(tag: str) -> None:
    result = find_in_html(f"<p>To stop: {tag}</p>")

    assert result.evidence is Evidence.MERGE_TAG
    assert result.matched == tag


def test_html_unsubscribe_element() -> None:
    result = find_in_html("<p><unsubscribe>Unsubscribe</unsubscribe></p>")
    assert result.evidence is Evidence.MERGE_TAG


@pytest.mark.parametrize(
    "wrapper",
    [
        '<div style="display:none">{}</div>',
        '<div style="visibility:hidden">{}</div>',
        '<div style="mso-hide:all">{}</div>',
        '<span style="font-size:0">{}</span>',
        '<div style="max-height:0px;overflow:hidden">{}</div>',
        "<div hidden>{}</div>",
    ],
)
def test_hidden_link_not_counted(wrapper: str) -> None:
    link = '<a href="https://example.org/u/1">Unsubscribe</a>'
    assert find_in_html("<p>News</p>" + wrapper.format(link)).evidence is Evidence.NONE


def test_html_notice_without_link() -> None:
    result = find_in_html("<p>To unsubscribe, reply STOP.</p>")
    assert result.evidence is Evidence.NOTICE


def test_html_unrelated_links() -> None:
    result = find_in_html('<p><a href="https://example.org/deals">Deals</a></p>')
    assert result.evidence is Evidence.NONE


def test_text_url_near_wording() -> None:
    result = find_in_text("News.\n\nTo unsubscribe, visit:\nhttps://example.org/u/1\n")
    assert result.evidence is Evidence.LINK


def test_text_wording_without_url() -> None:
    result = find_in_text("Pour vous désinscrire, répondez STOP.")
    assert result.evidence is Evidence.NOTICE


def test_text_url_too_far_from_wording() -> None:
    result = find_in_text("Unsubscribe below.\n\n\n\nhttps://example.org/u/1")
    assert result.evidence is Evidence.NOTICE


def test_text_merge_tag() -> None:
    assert find_in_text("Unsubscribe: *|UNSUB|*").evidence is Evidence.MERGE_TAG


def test_text_nothing() -> None:
    assert find_in_text("Deals: https://example.org/deals").evidence is Evidence.NONE


def test_both_parts_linked_is_info() -> None:
    findings = check_unsubscribe(
        '<a href="https://example.org/u/1">Unsubscribe</a>', "Unsubscribe: https://example.org/u/1"
    )

    assert _by_rule(findings) == {
        "US-03": ("unsubscribe.found", Severity.INFO),
        "MB-02": ("unsubscribe.found", Severity.INFO),
    }
    assert findings[0].facts["parts"] == "html,text"


def test_missing_everywhere_blocks_both_rules() -> None:
    findings = check_unsubscribe("<p>Deals</p>", "Deals")

    assert _by_rule(findings) == {
        "US-03": ("unsubscribe.missing", Severity.BLOCK),
        "MB-02": ("unsubscribe.missing", Severity.BLOCK),
    }


def test_missing_in_text_part_warns() -> None:
    findings = check_unsubscribe('<a href="https://example.org/u/1">Unsubscribe</a>', "Deals")

    assert _by_rule(findings)["US-03"] == ("unsubscribe.missing_in_part", Severity.WARN)
    assert findings[0].facts["part"] == "text"
    assert "plain-text part" in findings[0].message_en
    assert "texte brut" in findings[0].message_fr


def test_missing_in_html_part_warns() -> None:
    findings = check_unsubscribe("<p>Deals</p>", "Unsubscribe: https://example.org/u/1")

    assert _by_rule(findings)["MB-02"] == ("unsubscribe.missing_in_part", Severity.WARN)
    assert findings[0].facts["part"] == "html"


def test_notice_only_warns() -> None:
    findings = check_unsubscribe(None, "To unsubscribe, reply STOP.")
    assert _by_rule(findings)["US-03"] == ("unsubscribe.no_link", Severity.WARN)


def test_no_body_blocks() -> None:
    findings = check_unsubscribe(None, None)
    assert _by_rule(findings)["US-03"] == ("unsubscribe.missing", Severity.BLOCK)


def test_facts_hold_no_link_target() -> None:
    findings = check_unsubscribe(
        '<a href="https://example.org/u/secret-token">Unsubscribe</a>', None
    )

    for finding in findings:
        assert all("secret-token" not in str(value) for value in finding.facts.values())
        assert "secret-token" not in finding.message_en
