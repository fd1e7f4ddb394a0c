"""List-Unsubscribe and List-Unsubscribe-Post headers (RFC 2369, RFC 8058): MB-01 findings."""

from __future__ import annotations

from compliance.checks.findings import Finding, Severity
from compliance.checks.list_unsubscribe import check_list_unsubscribe, list_unsubscribe_uris
from compliance.checks.message import HeaderMap

ONE_CLICK = "List-Unsubscribe=One-Click"


def _only(findings: tuple[Finding, ...]) -> tuple[str, Severity]:
    assert len(findings) == 1
    assert findings[0].rule == "MB-01"
    return findings[0].check, findings[0].severity


def test_one_click_is_info() -> None:
    findings = check_list_unsubscribe(
        HeaderMap(
            {
                "List-Unsubscribe": "<mailto:u@example.org>, <https://example.org/u/tok>",
                "List-Unsubscribe-Post": ONE_CLICK,
            }
        )
    )

    assert _only(findings) == ("list_unsubscribe.one_click", Severity.INFO)
    assert findings[0].facts == {"schemes": "mailto,https", "host": "example.org"}


def test_plain_dict_with_other_case_accepted() -> None:
    findings = check_list_unsubscribe(
        {"list-unsubscribe": "<https://example.org/u/tok>", "LIST-UNSUBSCRIBE-POST": ONE_CLICK}
    )
    assert _only(findings) == ("list_unsubscribe.one_click", Severity.INFO)


def test_missing_header_blocks() -> None:
    assert _only(check_list_unsubscribe(HeaderMap())) == (
        "list_unsubscribe.missing",
        Severity.BLOCK,
    )


def test_post_header_missing_blocks() -> None:
    findings = check_list_unsubscribe(HeaderMap({"List-Unsubscribe": "<https://example.org/u/t>"}))
    assert _only(findings) == ("list_unsubscribe.post_missing", Severity.BLOCK)


def test_post_header_wrong_value_blocks() -> None:
    findings = check_list_unsubscribe(
        HeaderMap(
            {"List-Unsubscribe": "<https://example.org/u/t>", "List-Unsubscribe-Post": "One-Click"}
        )
    )
    assert _only(findings) == ("list_unsubscribe.post_invalid", Severity.BLOCK)


def test_http_only_warns() -> None:
    findings = check_list_unsubscribe(
        HeaderMap(
            {"List-Unsubscribe": "<http://example.org/u/t>", "List-Unsubscribe-Post": ONE_CLICK}
        )
    )
    assert _only(findings) == ("list_unsubscribe.http_only", Severity.WARN)


def test_mailto_only_warns() -> None:
    findings = check_list_unsubscribe(HeaderMap({"List-Unsubscribe": "<mailto:u@example.org>"}))

    assert _only(findings) == ("list_unsubscribe.mailto_only", Severity.WARN)
    assert findings[0].facts == {"schemes": "mailto"}


def test_uri_without_brackets_blocks() -> None:
    findings = check_list_unsubscribe(HeaderMap({"List-Unsubscribe": "https://example.org/u/t"}))
    assert _only(findings) == ("list_unsubscribe.invalid", Severity.BLOCK)


def test_uris_parsed_in_order() -> None:
    assert list_unsubscribe_uris("< mailto:u@example.org >,\t<https://example.org/u/t>") == [
        "mailto:u@example.org",
        "https://example.org/u/t",
    ]


def test_token_never_in_facts_or_message() -> None:
    findings = check_list_unsubscribe(
        HeaderMap(
            {
                "List-Unsubscribe": "<https://example.org/u/secret-token>",
                "List-Unsubscribe-Post": ONE_CLICK,
            }
        )
    )

    assert "secret-token" not in str(findings[0].facts)
    assert "secret-token" not in findings[0].message_en
