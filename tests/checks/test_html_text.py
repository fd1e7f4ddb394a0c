"""Rendering the visible text of HTML email bodies."""

from __future__ import annotations

import pytest

from compliance.checks.html_text import is_visible, parse_html, visible_elements, visible_lines


def _lines(html: str) -> list[str]:
    root = parse_html(html)
    assert root is not None
    return visible_lines(root)


def test_block_boundaries_become_lines() -> None:
    html = (
        "<table><tr><td>Acme<br>1 Main Street</td><td>Springfield</td></tr></table>"
        "<p>One</p><div>Two</div><ul><li>Three</li></ul><h2>Four</h2>"
    )
    assert _lines(html) == ["Acme", "1 Main Street", "Springfield", "One", "Two", "Three", "Four"]


def test_head_style_script_comments_dropped() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<script>var x;</script><!-- comment --><p>Shown</p><noscript>N</noscript></body></html>"
    )
    assert _lines(html) == ["Shown"]


@pytest.mark.parametrize(
    "hidden",
    [
        '<div style="display:none">Hidden</div>',
        '<div style="DISPLAY: NONE !important">Hidden</div>',
        '<div style="visibility:hidden">Hidden</div>',
        '<div style="mso-hide:all">Hidden</div>',
        '<div style="font-size:0">Hidden</div>',
        '<div style="font-size: 0px">Hidden</div>',
        '<div style="max-height:0;overflow:hidden">Hidden</div>',
        '<div style="opacity:0">Hidden</div>',
        "<div hidden>Hidden</div>",
    ],
)
def test_hidden_elements_dropped(hidden: str) -> None:
    assert _lines(f"<p>Shown</p>{hidden}") == ["Shown"]


def test_inherited_styles_can_be_undone() -> None:
    html = (
        '<div style="font-size:0">gap<span style="font-size:12px">Column</span></div>'
        '<div style="visibility:hidden">x<b style="visibility:visible">Shown</b></div>'
    )
    assert _lines(html) == ["Column", "Shown"]


def test_relative_font_size_stays_zero() -> None:
    html = '<div style="font-size:0"><span style="font-size:120%">Hidden</span></div><p>Shown</p>'
    assert _lines(html) == ["Shown"]


def test_display_none_cannot_be_undone() -> None:
    html = '<div style="display:none"><p style="display:block">Hidden</p></div><p>Shown</p>'
    assert _lines(html) == ["Shown"]


def test_tail_of_hidden_child_kept() -> None:
    assert _lines('<p>Before <span style="display:none">x</span>after</p>') == ["Before after"]


def test_entities_and_invisible_characters() -> None:
    assert _lines("<p>A&nbsp;B&#8203;C&zwnj;D &amp; E</p>") == ["A BCD & E"]


def test_image_alt_text_kept() -> None:
    assert _lines('<p><img src="logo.png" alt="Acme Inc"></p>') == ["Acme Inc"]


def test_fragment_starting_with_style_parsed() -> None:
    assert _lines("<style>p {}</style><container><p>Shown</p></container>") == ["Shown"]


def test_empty_document() -> None:
    assert parse_html("   ") is None


def test_visible_elements_skip_hidden_links() -> None:
    root = parse_html('<a href="1">one</a><div style="display:none"><a href="2">two</a></div>')
    assert root is not None

    assert [link.get("href") for link in visible_elements(root, "a")] == ["1"]


def test_is_visible_checks_ancestors() -> None:
    root = parse_html('<div style="font-size:0"><p><a href="x">link</a></p></div>')
    assert root is not None

    link = next(root.iter("a"))
    assert not is_visible(link)
