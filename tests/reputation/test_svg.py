"""The server-drawn SVG charts: well-formed XML, one point per value, escaped texts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from compliance.reputation.svg import (
    Band,
    LineChart,
    Series,
    Threshold,
    nice_axis_max,
    render_line_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script> & \"Soldes\""


def chart(values: tuple[float | None, ...], **overrides: object) -> LineChart:
    fields: dict[str, object] = {
        "chart_id": "test-chart",
        "title": "Score per campaign",
        "description": "The score of each campaign, oldest first.",
        "x_labels": tuple(f"Day {index}" for index in range(len(values))),
        "point_names": tuple(f"Campaign {index}" for index in range(len(values))),
        "y_max": 100.0,
        "series": (Series("Score", values, "#1d4ed8"),),
        "format_value": lambda value: f"{value:.0f}",
        "thresholds": (Threshold("Limit: 80", 80.0, "#b91c1c"),),
        "bands": (Band(0.0, 50.0, "#fde2e1", "Low"), Band(50.0, 100.0, "#e3f4e5", "High")),
        "empty_text": "No campaign sent yet",
    }
    fields.update(overrides)
    return LineChart(**fields)  # type: ignore[arg-type]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def test_chart_is_well_formed_svg() -> None:
    root = parse(render_line_chart(chart((10.0, 55.0, 90.0))))

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "test-chart-title test-chart-desc"
    title = root.find(f"{SVG}title")
    description = root.find(f"{SVG}desc")
    assert title is not None
    assert title.text == "Score per campaign"
    assert title.get("id") == "test-chart-title"
    assert description is not None
    assert description.get("id") == "test-chart-desc"


def test_one_point_per_value() -> None:
    root = parse(render_line_chart(chart((10.0, 55.0, 90.0, 40.0))))

    points = [node for node in root.iter(f"{SVG}circle") if node.get("class") == "point"]
    lines = [node for node in root.iter(f"{SVG}polyline") if node.get("class") == "line"]

    assert len(points) == 4
    assert len(lines) == 1
    assert len(lines[0].get("points", "").split()) == 4


def test_missing_value_breaks_line() -> None:
    root = parse(render_line_chart(chart((10.0, 20.0, None, 30.0, 40.0))))

    points = [node for node in root.iter(f"{SVG}circle") if node.get("class") == "point"]
    lines = [node for node in root.iter(f"{SVG}polyline") if node.get("class") == "line"]

    assert len(points) == 4
    assert len(lines) == 2


def test_higher_value_drawn_higher() -> None:
    root = parse(render_line_chart(chart((10.0, 90.0))))

    low, high = [float(node.get("cy", "0")) for node in root.iter(f"{SVG}circle")]

    # SVG y grows downwards.
    assert high < low


def test_value_above_axis_stays_inside() -> None:
    root = parse(render_line_chart(chart((250.0,))))

    point = next(root.iter(f"{SVG}circle"))

    assert float(point.get("cy", "-1")) >= 0


def test_texts_are_escaped() -> None:
    markup = render_line_chart(
        chart(
            (12.0, 34.0),
            title=HOSTILE,
            description=HOSTILE,
            x_labels=(HOSTILE, HOSTILE),
            point_names=(HOSTILE, HOSTILE),
            series=(Series(HOSTILE, (12.0, 34.0), "#1d4ed8"),),
            thresholds=(Threshold(HOSTILE, 20.0, "#b91c1c", dash='1" onload="x'),),
            bands=(Band(0.0, 100.0, '#fff" onload="x', HOSTILE),),
        )
    )
    root = parse(markup)

    assert "<script" not in markup
    assert root.find(f"{SVG}script") is None
    assert not [node for node in root.iter() if "onload" in node.attrib]
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == HOSTILE
    hovers = [
        node.findtext(f"{SVG}title")
        for node in root.iter(f"{SVG}circle")
        if node.get("class") == "point"
    ]
    assert hovers[0] == f"{HOSTILE}: {HOSTILE} 12"


def test_long_label_shortened() -> None:
    root = parse(render_line_chart(chart((1.0,), x_labels=("A very long campaign name",))))

    labels = [node.text for node in root.iter(f"{SVG}text") if node.get("class") == "x-label"]

    assert labels == ["A very long c…"]


def test_many_labels_thinned() -> None:
    values = tuple(float(index) for index in range(30))
    root = parse(render_line_chart(chart(values)))

    labels = [node.text for node in root.iter(f"{SVG}text") if node.get("class") == "x-label"]
    points = [node for node in root.iter(f"{SVG}circle") if node.get("class") == "point"]

    assert len(points) == 30
    assert 2 <= len(labels) <= 6
    assert labels[-1] == "Day 29"


def test_empty_history_shows_text() -> None:
    root = parse(render_line_chart(chart((), x_labels=(), point_names=())))

    empty = [node.text for node in root.iter(f"{SVG}text") if node.get("class") == "empty"]

    assert empty == ["No campaign sent yet"]
    assert not list(root.iter(f"{SVG}circle"))
    assert not list(root.iter(f"{SVG}polyline"))
    # The target and limit lines still show where the rate should stay.
    assert [node for node in root.iter(f"{SVG}line") if node.get("class") == "threshold"]


def test_legend_lists_series_and_lines() -> None:
    root = parse(render_line_chart(chart((5.0, 6.0))))

    legend = next(node for node in root.iter(f"{SVG}g") if node.get("class") == "legend")
    texts = [node.text for node in legend.iter(f"{SVG}text")]

    assert texts == ["Score", "Limit: 80"]


def test_single_point_centred() -> None:
    root = parse(render_line_chart(chart((50.0,))))

    point = next(root.iter(f"{SVG}circle"))

    assert float(point.get("cx", "0")) > 150
    assert not list(root.iter(f"{SVG}polyline"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.36, 0.5), (2.4, 2.5), (0.9, 1.0), (100.0, 100.0), (0.06, 0.1), (7.0, 10.0), (0.0, 1.0)],
)
def test_nice_axis_max_cases(value: float, expected: float) -> None:
    assert nice_axis_max(value) == pytest.approx(expected)
