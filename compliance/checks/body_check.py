"""Message body: text-to-image balance, alt text, open-tracking pixels, HTML size and MIME parts."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from lxml import etree

from compliance.checks.findings import DQ_02, DQ_03, DQ_05, MB_06, Finding, Severity, make_finding
from compliance.checks.html_text import parse_html, visible_elements, visible_lines
from compliance.checks.i18n import N_

# Gmail shows "[Message clipped]" past about 102 KB of HTML.
MAX_HTML_BYTES = 102 * 1024
# The usual advice is about 80 % text for 20 % images, by displayed area.
MIN_TEXT_SHARE = 0.8
# Estimates for the area comparison: a character of body text at about
# 14 px takes some 8 x 18 px, and an image without size attributes is
# taken as 300 x 150 px. These are estimates, not measurements.
TEXT_AREA_PER_CHARACTER = 8 * 18
DEFAULT_IMAGE_AREA = 300 * 150
# An image of at most this many pixels in each direction is a tracking pixel.
PIXEL_MAX_SIZE = 2

_NUMBER = re.compile(r"^\s*(\d+)")


def check_body(
    html: str | None,
    text: str | None,
    *,
    defects: tuple[str, ...] = (),
    tracking_consent: bool | None = None,
) -> tuple[Finding, ...]:
    """Check the body parts present and the MIME ``defects`` found when parsing the message."""
    findings: list[Finding] = []
    if defects:
        findings.append(
            make_finding(
                MB_06,
                "mime.defects",
                N_("The MIME structure is broken (%(defects)s)."),
                facts={"defects": ", ".join(sorted(set(defects)))},
                fix=N_(
                    "Rebuild the message with a standard MIME library: boundaries declared "
                    "and closed, headers and encodings consistent (RFC 2045-2046)."
                ),
            )
        )
    if html is not None and text is None:
        findings.append(
            make_finding(
                MB_06,
                "mime.text_missing",
                N_("The message has an HTML part but no plain-text part."),
                fix=N_(
                    "Add a text/plain alternative with the same content, unsubscribe link "
                    "and postal address."
                ),
            )
        )
    if html is None:
        return tuple(findings)

    size = len(html.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        findings.append(
            make_finding(
                DQ_03,
                "body.html_too_large",
                N_(
                    "The HTML part is %(kilobytes)s KB: Gmail clips it past about 102 KB, "
                    "which can hide the footer and its unsubscribe link."
                ),
                facts={"kilobytes": size // 1024},
                fix=N_("Remove unused CSS and markup, or link to a web version."),
            )
        )

    root = parse_html(html)
    if root is not None:
        findings += _image_findings(root, tracking_consent)
    return tuple(findings)


def _image_findings(root: etree._Element, tracking_consent: bool | None) -> list[Finding]:
    findings: list[Finding] = []
    image_area = 0
    pixels = []
    for index, image in enumerate(visible_elements(root, "img"), start=1):
        width, height = _size(image, "width"), _size(image, "height")
        location = f"html <img> #{index} ({_file_name(image.get('src') or '')})"
        if (
            width is not None
            and height is not None
            and width <= PIXEL_MAX_SIZE
            and height <= PIXEL_MAX_SIZE
        ):
            pixels.append(location)
            continue
        image_area += (width or 300) * (height or 150) if width or height else DEFAULT_IMAGE_AREA
        if image.get("alt") is None:
            findings.append(
                make_finding(
                    DQ_02,
                    "body.image_without_alt",
                    N_("An image has no alt attribute."),
                    fix=N_(
                        'Add alt text that says what the image shows, or alt="" for a '
                        "decorative image."
                    ),
                    location=location,
                )
            )

    text_area = len("".join(visible_lines(root))) * TEXT_AREA_PER_CHARACTER
    if image_area and text_area / (text_area + image_area) < MIN_TEXT_SHARE:
        share = round(100 * text_area / (text_area + image_area))
        findings.append(
            make_finding(
                DQ_02,
                "body.image_heavy",
                N_(
                    "Text fills about %(percent)s %% of the message against about 80 %% "
                    "advised: image-heavy messages are more often filtered."
                ),
                facts={"percent": share},
                fix=N_("Add text, or replace images of text with real text."),
            )
        )

    if pixels:
        consented = tracking_consent is True
        findings.append(
            make_finding(
                DQ_05,
                "body.tracking_pixel",
                N_(
                    "The message contains %(count)s open-tracking pixel(s): tracking opens "
                    "needs the recipients' consent under the French regulator's guidance."
                ),
                severity=Severity.INFO if consented else Severity.WARN,
                facts={"count": len(pixels)},
                fix=N_("Track opens only for recipients who consented to it, or remove the pixel."),
                location=pixels[0],
            )
        )
    return findings


def _size(image: etree._Element, name: str) -> int | None:
    value = image.get(name)
    if value is None:
        style = (image.get("style") or "").replace(" ", "").lower()
        found = re.search(rf"(?:^|;){name}:(\d+)px", style)
        return int(found.group(1)) if found else None
    number = _NUMBER.match(value)
    return int(number.group(1)) if number else None


def _file_name(src: str) -> str:
    # The file name only: query strings of image URLs carry recipient ids.
    name = PurePosixPath(urlsplit(src).path).name
    return name[:60] or "-"
