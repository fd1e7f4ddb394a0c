"""Visible content of an HTML email: its visible elements and their text, line by line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.html
from lxml import etree

# Elements whose content is never displayed in the message body.
_NEVER_DISPLAYED = frozenset(
    {"head", "title", "style", "script", "noscript", "template", "meta", "link"}
)

# Elements that start a new line when rendered. The last group are the layout
# tags of the Inky (Foundation for Emails) templating language.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "center", "dd", "div", "dl",
        "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
        "callout", "columns", "container", "row", "spacer", "wrapper",
    }
)  # fmt: skip

# Inline declarations that hide an element and everything inside it, so
# that no descendant can show again. Preheaders use them, and so do links
# that are meant not to be seen. mso-hide:all hides content from Outlook only,
# which still leaves those readers without it.
_ZERO = r"(?:0+(?:\.0*)?|\.0+)"
_HIDING_DECLARATIONS = (
    re.compile(r"display:none$"),
    re.compile(r"mso-hide:all$"),
    re.compile(rf"opacity:{_ZERO}%?$"),
    re.compile(rf"max-height:{_ZERO}(?:[a-z]+|%)?$"),
)

# font-size and visibility are inherited, so a descendant can undo them.
_ZERO_LENGTH = re.compile(rf"{_ZERO}(?:[a-z]+|%)?$")
_RELATIVE_FONT_SIZE = re.compile(r"(?:[\d.]+(?:%|em|ex|ch)|inherit|smaller|larger)$")


@dataclass(frozen=True)
class _Inherited:
    """Inherited styles that hide text: a zero computed font size, visibility:hidden."""

    zero_font: bool = False
    invisible: bool = False

    @property
    def hides_text(self) -> bool:
        return self.zero_font or self.invisible


# Characters that take no room on screen. Preheader padding is full of them.
_INVISIBLE_CHARACTERS = dict.fromkeys(map(ord, "\u00ad\u034f\u200b\u200c\u200d\u2060\ufeff"))


def parse_html(html: str) -> lxml.html.HtmlElement | None:
    """Parse an HTML document or fragment, or return None when it has no element at all."""
    if not html.strip():
        return None
    # libxml2 moves a fragment that opens with <style> into <head>, with
    # everything after it, so a fragment is wrapped in a body first.
    if not re.search(r"<body[\s>]", html, re.IGNORECASE):
        html = f"<html><body>{html}</body></html>"
    # Bytes with a declared encoding, so that a <meta charset> in the
    # document cannot make lxml decode the text a second time.
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        root: lxml.html.HtmlElement = lxml.html.document_fromstring(
            html.encode("utf-8"), parser=parser
        )
    except etree.ParserError:
        return None
    return root


def is_hidden(element: etree._Element) -> bool:
    """Tell whether ``element`` hides itself and all its content.

    That is a tag that is never displayed, the ``hidden`` attribute, or an
    inline style such as ``display:none``. Inherited styles (a zero font
    size, ``visibility:hidden``) are handled by :func:`is_visible`, and
    hiding through a ``<style>`` sheet and a class is not detected.
    """
    tag = element.tag
    if not isinstance(tag, str):
        return True  # comments and processing instructions
    if tag.lower() in _NEVER_DISPLAYED or element.get("hidden") is not None:
        return True
    if tag.lower() == "input" and (element.get("type") or "").lower() == "hidden":
        return True
    return any(
        pattern.match(f"{name}:{value}")
        for name, value in _declarations(element).items()
        for pattern in _HIDING_DECLARATIONS
    )


def is_visible(element: etree._Element) -> bool:
    """Tell whether the text of ``element`` is shown, given its own and its ancestors' styles."""
    chain = [element, *element.iterancestors()]
    if any(is_hidden(node) for node in chain):
        return False
    inherited = _Inherited()
    for node in reversed(chain):
        inherited = _inherit(node, inherited)
    return not inherited.hides_text


def visible_elements(root: etree._Element, tag: str) -> Iterator[etree._Element]:
    """Yield the visible elements named ``tag`` under ``root``, in document order."""
    for element in root.iter(tag):
        if is_visible(element):
            yield element


def visible_lines(element: etree._Element) -> list[str]:
    """Render the visible text of ``element`` as non-empty lines.

    Block elements and ``<br>`` end lines, images contribute their ``alt``
    text, entities are decoded, invisible characters removed and runs of
    white space collapsed.
    """
    inherited = _Inherited()
    for ancestor in reversed(list(element.iterancestors())):
        inherited = _inherit(ancestor, inherited)

    pieces: list[str] = []
    _render(element, inherited, pieces)
    lines = []
    for line in "".join(pieces).split("\n"):
        cleaned = " ".join(line.translate(_INVISIBLE_CHARACTERS).split())
        if cleaned:
            lines.append(cleaned)
    return lines


def _render(element: etree._Element, parent: _Inherited, pieces: list[str]) -> None:
    if is_hidden(element):
        return
    inherited = _inherit(element, parent)
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    block = tag in _BLOCK_TAGS

    if block:
        pieces.append("\n")
    if tag == "br":
        pieces.append("\n")
    elif tag == "img" and element.get("alt") and not inherited.hides_text:
        pieces.append(f" {element.get('alt')} ")

    if element.text and not inherited.hides_text:
        pieces.append(element.text)
    for child in element:
        _render(child, inherited, pieces)
        # The tail is text after the child inside this element, so it
        # follows this element's styles even when the child is hidden.
        if child.tail and not inherited.hides_text:
            pieces.append(child.tail)
    if block:
        pieces.append("\n")


def _inherit(element: etree._Element, parent: _Inherited) -> _Inherited:
    declarations = _declarations(element)
    zero_font = parent.zero_font
    if "font-size" in declarations:
        value = declarations["font-size"]
        if _RELATIVE_FONT_SIZE.match(value):
            zero_font = parent.zero_font or bool(_ZERO_LENGTH.match(value))
        else:
            zero_font = bool(_ZERO_LENGTH.match(value))
    invisible = parent.invisible
    if "visibility" in declarations:
        invisible = declarations["visibility"] in ("hidden", "collapse")
    return _Inherited(zero_font=zero_font, invisible=invisible)


def _declarations(element: etree._Element) -> dict[str, str]:
    """Return the inline style of ``element`` as lowercase property: value pairs, spaces removed."""
    declarations = {}
    for declaration in (element.get("style") or "").lower().split(";"):
        name, colon, value = declaration.partition(":")
        if colon:
            value = value.replace("!important", "")
            declarations[name.strip()] = "".join(value.split())
    return declarations
