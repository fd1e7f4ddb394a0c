"""The pre-send report as one self-contained HTML page, in French or English.

The page has no script and loads nothing: styles are inline in the
document, so it can be saved, mailed or opened offline.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment

from compliance.checks.findings import Area, CheckReport, Severity
from compliance.checks.i18n import N_, language_of
from compliance.core.i18n import gettext_context, make_jinja_environment

TEMPLATE_DIR = Path(__file__).parent / "templates"

AREA_LABELS = {
    Area.AUTHENTICATION: N_("Authentication"),
    Area.CONTENT: N_("Content"),
    Area.RECIPIENTS: N_("Recipients"),
    Area.REPUTATION: N_("Reputation"),
}
DECISION_LABELS = {
    "block": N_("Blocked: fix the blocking findings before sending."),
    "warn": N_("The send may go ahead after the warnings are reviewed."),
    "pass": N_("The send may go ahead."),
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return make_jinja_environment([TEMPLATE_DIR])


def render_html(report: CheckReport, lang: str) -> str:
    """Render ``report`` as a complete HTML page in ``lang``.

    :raises UnsupportedLocaleError: when ``lang`` is neither French nor English.
    """
    language = language_of(lang)
    template = _environment().get_template("check_report.html")
    groups = [
        (AREA_LABELS[area], findings) for area, findings in report.grouped().items() if findings
    ]
    return template.render(
        report=report,
        groups=groups,
        decision_label=DECISION_LABELS[report.decision],
        counts={str(severity): report.count(severity) for severity in Severity},
        **gettext_context(language),
    )
