"""The values of the dashboard template, built from DashboardData in one language.

Numbers and dates are formatted here with Babel for ``fr`` or ``en``, and
every gettext id of the score (factor targets and sentences) is translated
here, so the template only places ready texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from markupsafe import Markup

from compliance.core.i18n import N_, localize_decimals, translate
from compliance.reputation.factors import (
    BOUNCE_LIMIT,
    BOUNCE_TARGET,
    COMPLAINT_LIMIT,
    COMPLAINT_TARGET,
    UNSUBSCRIBE_TARGET,
)
from compliance.reputation.model import CampaignPoint, DashboardData, Factor
from compliance.reputation.models import DashboardSession
from compliance.reputation.score import GRADE_COUNT, GRADE_WIDTH
from compliance.reputation.svg import (
    Band,
    LineChart,
    Series,
    Threshold,
    nice_axis_max,
    render_line_chart,
)

# Grade 8 is the best. Colours meet WCAG AA contrast with white text.
GRADE_STYLES: dict[int, tuple[str, str]] = {
    8: ("#166534", N_("Excellent")),
    7: ("#15803d", N_("Very good")),
    6: ("#3f6212", N_("Good")),
    5: ("#854d0e", N_("Fair")),
    4: ("#9a3412", N_("Needs work")),
    3: ("#c2410c", N_("Poor")),
    2: ("#b91c1c", N_("Bad")),
    1: ("#7f1d1d", N_("Critical")),
}

FACTOR_LABELS: dict[str, str] = {
    "bounces": N_("Hard bounce rate"),
    "complaints": N_("Complaint rate"),
    "gmail_spam_rate": N_("Gmail spam rate"),
    "unsubscribes": N_("Unsubscribe rate"),
    "opens": N_("Open rate"),
    "authentication": N_("Authentication (SPF, DKIM, DMARC)"),
    "footers": N_("Compliant footers"),
    "consent": N_("Consent coverage"),
    "inactive": N_("Inactive recipients"),
    "spam_traps": N_("Spam traps"),
    "unsubscribe_delay": N_("Unsubscribe handling time"),
    "dsr": N_("Data-subject requests on time"),
}
STATUS_LABELS: dict[str, str] = {
    "good": N_("On target"),
    "warn": N_("To watch"),
    "bad": N_("To fix"),
    "unknown": N_("No data"),
}
VERDICT_LABELS: dict[str, str] = {
    "pass": N_("Ready to send"),
    "warn": N_("Warnings to review"),
    "block": N_("Blocked"),
}
REQUEST_TYPE_LABELS: dict[str, str] = {
    "access": N_("Access"),
    "portability": N_("Portability"),
    "rectification": N_("Rectification"),
    "erasure": N_("Erasure"),
    "objection": N_("Objection"),
    "restriction": N_("Restriction"),
}
REQUEST_STATUS_LABELS: dict[str, str] = {
    "received": N_("Received"),
    "identity_pending": N_("Identity to verify"),
    "verified": N_("Identity verified"),
    "in_progress": N_("In progress"),
    "extended": N_("Deadline extended"),
}

TARGET_COLOUR = "#15803d"
LIMIT_COLOUR = "#b91c1c"


@dataclass(frozen=True)
class FactorRow:
    key: str
    label: str
    value: str
    target: str
    weight: str
    status: str
    status_label: str
    sentence: str


@dataclass(frozen=True)
class ChartView:
    svg: Markup
    # The same data as a table, for readers who cannot see the chart.
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def format_number(lang: str, value: float, digits: int = 2) -> str:
    pattern = "#,##0." + "#" * digits if digits else "#,##0"
    return str(format_decimal(value, format=pattern, locale=lang))


def format_percent(lang: str, value: float, digits: int = 2) -> str:
    # French typography puts a narrow no-break space before the percent sign.
    separator = "\u202f" if lang == "fr" else ""
    return f"{format_number(lang, value, digits)}{separator}%"


def format_day(lang: str, moment: datetime) -> str:
    return str(format_date(moment.date(), format="medium", locale=lang))


def format_factor_value(lang: str, factor: Factor) -> str:
    if factor.value is None:
        return translate(lang, N_("No data"))
    if factor.unit == "percent":
        # Complaint rates are read in hundredths of a percent (target 0.05 %).
        digits = 3 if 0 < abs(factor.value) < 0.1 else 2
        return format_percent(lang, factor.value, digits)
    if factor.unit == "hours":
        return translate(lang, N_("%(hours)s h"), hours=format_number(lang, factor.value, 1))
    if factor.unit == "status":
        return translate(lang, STATUS_LABELS.get(factor.status, N_("No data")))
    return format_number(lang, factor.value, 0)


def factor_label(lang: str, key: str) -> str:
    msgid = FACTOR_LABELS.get(key)
    return translate(lang, msgid) if msgid else key.replace("_", " ")


def factor_rows(lang: str, factors: tuple[Factor, ...]) -> list[FactorRow]:
    rows = []
    for factor in factors:
        params = localize_decimals(lang, dict(factor.message_params))
        rows.append(
            FactorRow(
                key=factor.key,
                label=factor_label(lang, factor.key),
                value=format_factor_value(lang, factor),
                target=translate(lang, factor.target),
                weight=format_number(lang, factor.weight, 1),
                status=factor.status,
                status_label=translate(lang, STATUS_LABELS.get(factor.status, N_("No data"))),
                sentence=translate(lang, factor.message, **params),
            )
        )
    return rows


def _svg(chart: LineChart) -> Markup:
    # render_line_chart escapes every text it writes, campaign names included.
    return Markup(render_line_chart(chart))  # noqa: S704


def _x_labels(lang: str, history: tuple[CampaignPoint, ...]) -> tuple[str, ...]:
    return tuple(format_day(lang, point.sent_at) for point in history)


def score_chart(lang: str, history: tuple[CampaignPoint, ...]) -> ChartView:
    bands = []
    # Grade g covers the scores above (g - 1) * GRADE_WIDTH up to g * GRADE_WIDTH.
    for grade in range(1, GRADE_COUNT + 1):
        colour, label = GRADE_STYLES[grade]
        floor = (grade - 1) * GRADE_WIDTH
        ceiling = grade * GRADE_WIDTH
        stripe = f"{colour}14" if grade % 2 else f"{colour}24"
        text = translate(
            lang, N_("Grade %(grade)s: %(label)s"), grade=grade, label=translate(lang, label)
        )
        bands.append(Band(floor, ceiling, stripe, text))
    chart = LineChart(
        chart_id="score-chart",
        title=translate(lang, N_("Score per campaign")),
        description=translate(
            lang,
            N_("The score from 0 to 100 of each of the last %(count)s campaigns, oldest first."),
            count=len(history),
        ),
        x_labels=_x_labels(lang, history),
        point_names=tuple(point.name for point in history),
        y_max=100.0,
        series=(
            Series(
                translate(lang, N_("Score")), tuple(point.score for point in history), "#1d4ed8"
            ),
        ),
        format_value=lambda value: format_number(lang, value, 0),
        bands=tuple(bands),
        empty_text=translate(lang, N_("No campaign sent yet")),
    )
    columns = (
        translate(lang, N_("Campaign")),
        translate(lang, N_("Sent on")),
        translate(lang, N_("Score")),
        translate(lang, N_("Grade")),
    )
    rows = tuple(
        (
            point.name,
            format_day(lang, point.sent_at),
            format_number(lang, point.score, 0),
            str(point.grade),
        )
        for point in history
    )
    return ChartView(_svg(chart), chart.title, columns, rows)


def rate_chart(
    lang: str,
    history: tuple[CampaignPoint, ...],
    *,
    chart_id: str,
    title: str,
    label: str,
    rates: tuple[float | None, ...],
    target: float,
    limit: float | None,
) -> ChartView:
    """Build the chart of one rate per campaign, with its target and limit lines.

    CampaignPoint rates are in percent already (0.5 is 0.5 %), like the thresholds.
    """
    values = rates
    highest = max((value for value in values if value is not None), default=0.0)
    thresholds = [
        Threshold(
            translate(lang, N_("Target: %(value)s"), value=format_percent(lang, target)),
            target,
            TARGET_COLOUR,
        )
    ]
    if limit is not None:
        thresholds.append(
            Threshold(
                translate(lang, N_("Limit: %(value)s"), value=format_percent(lang, limit)),
                limit,
                LIMIT_COLOUR,
                "2 3",
            )
        )
    chart = LineChart(
        chart_id=chart_id,
        title=translate(lang, title),
        description=translate(
            lang,
            N_("%(rate)s of each of the last %(count)s campaigns, oldest first, in percent."),
            rate=translate(lang, label),
            count=len(history),
        ),
        x_labels=_x_labels(lang, history),
        point_names=tuple(point.name for point in history),
        # Headroom above the limit line or the highest point.
        y_max=nice_axis_max(max(limit or target, highest) * 1.2),
        series=(Series(translate(lang, label), values, "#1d4ed8"),),
        format_value=lambda value: format_percent(lang, value),
        thresholds=tuple(thresholds),
        empty_text=translate(lang, N_("No campaign sent yet")),
    )
    columns = (
        translate(lang, N_("Campaign")),
        translate(lang, N_("Sent on")),
        translate(lang, label),
    )
    no_data = translate(lang, N_("No data"))
    rows = tuple(
        (
            point.name,
            format_day(lang, point.sent_at),
            no_data if value is None else format_percent(lang, value),
        )
        for point, value in zip(history, values, strict=True)
    )
    return ChartView(_svg(chart), chart.title, columns, rows)


def charts(lang: str, history: tuple[CampaignPoint, ...]) -> list[ChartView]:
    return [
        score_chart(lang, history),
        rate_chart(
            lang,
            history,
            chart_id="bounce-chart",
            title=N_("Hard bounces per campaign"),
            label=N_("Hard bounce rate"),
            rates=tuple(point.bounce_rate for point in history),
            target=BOUNCE_TARGET,
            limit=BOUNCE_LIMIT,
        ),
        rate_chart(
            lang,
            history,
            chart_id="complaint-chart",
            title=N_("Complaints per campaign"),
            label=N_("Complaint rate"),
            rates=tuple(point.complaint_rate for point in history),
            target=COMPLAINT_TARGET,
            limit=COMPLAINT_LIMIT,
        ),
        rate_chart(
            lang,
            history,
            chart_id="unsubscribe-chart",
            title=N_("Unsubscribes per campaign"),
            label=N_("Unsubscribe rate"),
            rates=tuple(point.unsubscribe_rate for point in history),
            target=UNSUBSCRIBE_TARGET,
            limit=None,
        ),
    ]


def page_values(lang: str, data: DashboardData) -> dict[str, object]:
    """Return the template values of the dashboard page for ``data`` in ``lang``."""
    current = data.current
    colour, grade_label = GRADE_STYLES.get(current.grade, ("#404040", N_("No data")))
    by_key = {factor.key: factor for factor in current.factors}
    rows = factor_rows(lang, current.factors)
    rows_by_key = {row.key: row for row in rows}
    fix_first = [rows_by_key[key] for key in current.fix_first if key in by_key]
    return {
        "sender_name": data.sender_name,
        "generated_on": format_day(lang, data.generated_at),
        "grade": current.grade,
        "grade_colour": colour,
        "grade_label": translate(lang, grade_label),
        "score": format_number(lang, current.score, 0),
        "window_campaigns": data.window_campaigns,
        "caps": [factor_label(lang, key) for key in current.caps],
        "factors": rows,
        "fix_first": fix_first,
        "charts": charts(lang, data.history),
        "has_history": bool(data.history),
        "reports": [
            {
                "campaign_id": report.campaign_id,
                "campaign_name": report.campaign_name,
                "created_on": format_day(lang, report.created_at),
                "verdict": report.verdict,
                "verdict_label": translate(lang, VERDICT_LABELS.get(report.verdict, N_("No data"))),
                "blocking": report.blocking,
                "warnings": report.warnings,
            }
            for report in data.reports
        ],
        "open_requests": [
            {
                "request_id": request.request_id,
                "type_label": translate(
                    lang, REQUEST_TYPE_LABELS.get(request.type, N_("Other request"))
                ),
                "status_label": translate(
                    lang, REQUEST_STATUS_LABELS.get(request.status, N_("In progress"))
                ),
                "due_on": format_day(lang, request.due_at),
                "days_left": request.days_left,
                "overdue": request.overdue,
            }
            for request in data.open_requests
        ],
    }


@dataclass(frozen=True)
class SessionRow:
    """One live dashboard session of the signed-in key, as the session list shows it."""

    session_id: str
    signed_in: str
    user_agent: str
    current: bool


def session_rows(lang: str, sessions: list[DashboardSession], current_id: str) -> list[SessionRow]:
    """Return the session list rows: sign-in time in ``lang`` (UTC) and the browser."""
    return [
        SessionRow(
            session_id=row.session_id,
            signed_in=str(format_datetime(row.created_at, format="medium", locale=lang)) + " UTC",
            user_agent=row.user_agent,
            current=row.session_id == current_id,
        )
        for row in sessions
    ]
