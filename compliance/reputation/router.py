"""``/v1/reputation``: the score as JSON, and Gmail's spam rate from Postmaster Tools."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, select

from compliance.core.auth import Principal, require_roles
from compliance.core.context import AppServices
from compliance.core.db import DbSession
from compliance.core.errors import InvalidInput
from compliance.core.i18n import N_, localize_decimals, negotiate_locale, translate
from compliance.core.models import Role
from compliance.core.validation import ApiModel
from compliance.reputation import service
from compliance.reputation.model import Factor, Reputation
from compliance.reputation.models import GmailSpamRate

router = APIRouter(prefix="/v1", tags=["reputation"])

SenderKey = Depends(require_roles(Role.SENDER))
MAX_ROWS = 3660
_DOMAIN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-.")


def factor_json(factor: Factor, lang: str) -> dict[str, Any]:
    params = localize_decimals(lang, dict(factor.message_params))
    return {
        "key": factor.key,
        "value": factor.value,
        "unit": factor.unit,
        "target": translate(lang, factor.target),
        "weight": factor.weight,
        "subscore": round(factor.subscore, 4),
        "status": factor.status,
        "message": translate(lang, factor.message, **params),
    }


def reputation_json(reputation: Reputation, lang: str) -> dict[str, Any]:
    return {
        "score": round(reputation.score, 1),
        "grade": reputation.grade,
        "factors": [factor_json(factor, lang) for factor in reputation.factors],
        "caps": list(reputation.caps),
        "fix_first": list(reputation.fix_first),
    }


@router.get("/reputation")
def get_reputation(
    request: Request, session: DbSession, services: AppServices, principal: Principal = SenderKey
) -> dict[str, Any]:
    """Return the current score over the 10 latest sent campaigns, and each campaign's score."""
    lang = negotiate_locale(
        request.headers.get("accept-language"), services.settings.default_locale
    )
    reputation, window = service.current(session, principal.sender_id)
    history = service.history(session, principal.sender_id)
    return {
        **reputation_json(reputation, lang),
        "window": {"campaigns": [campaign.id for campaign in window.campaigns]},
        "history": [
            {
                "campaign_id": point.campaign_id,
                "sent_at": point.sent_at.isoformat(),
                "sent": point.sent,
                "score": round(point.score, 1),
                "grade": point.grade,
                "bounce_rate": point.bounce_rate,
                "complaint_rate": point.complaint_rate,
                "unsubscribe_rate": point.unsubscribe_rate,
            }
            for point in history
        ],
    }


def _domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if not domain or len(domain) > 253 or "." not in domain or set(domain) - _DOMAIN_CHARS:
        raise ValueError(
            N_("give the sending domain as in Postmaster Tools, such as news.example.com.")
        )
    return domain


class GmailDay(ApiModel):
    day: date
    domain: str = Field(min_length=3, max_length=253)
    # Percent, as Postmaster Tools shows it: 0.12 means 0.12 %.
    spam_rate_percent: float = Field(ge=0, le=100)

    @field_validator("domain")
    @classmethod
    def _valid_domain(cls, value: str) -> str:
        return _domain(value)

    @field_validator("day")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if is_future(value):
            raise ValueError(N_("is in the future; give a day that Postmaster Tools reported."))
        return value


def is_future(day: date) -> bool:
    # One day of slack: Postmaster Tools dates days in Pacific time.
    return day > datetime.now(UTC).date() + timedelta(days=1)


class GmailBody(ApiModel):
    days: list[GmailDay] = Field(default_factory=list, max_length=MAX_ROWS)
    # A CSV export: columns for the date, the spam rate and optionally the domain.
    csv: str | None = Field(default=None, max_length=1_000_000)
    # The domain of every CSV row that has no domain column.
    domain: str | None = Field(default=None, max_length=253)

    @field_validator("domain")
    @classmethod
    def _valid_domain(cls, value: str | None) -> str | None:
        return None if value is None else _domain(value)


class GmailResult(BaseModel):
    stored: int
    worst_recent_percent: float | None


_DATE_COLUMNS = ("date", "day")
_RATE_COLUMNS = ("user reported spam rate", "spam rate", "spam_rate", "user_reported_spam_ratio")


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [name.strip().lower() for name in header]
    return next((lowered.index(name) for name in names if name in lowered), None)


def _percent(text: str, line: int) -> float:
    """Read "0.12%" as 0.12 and a bare ratio "0.0012" as 0.12."""
    cleaned = text.strip().replace(",", ".")
    try:
        if cleaned.endswith("%"):
            value = float(cleaned[:-1])
        else:
            ratio = float(cleaned)
            value = ratio * 100 if ratio < 1 else ratio
    except ValueError:
        raise InvalidInput(
            "csv",
            N_("Line %(line)s of the CSV has no readable spam rate; write it as 0.12%% or 0.0012."),
            line=line,
        ) from None
    if not 0 <= value <= 100:
        raise InvalidInput(
            "csv", N_("Line %(line)s of the CSV has a spam rate outside 0-100 %%."), line=line
        )
    return value


def parse_postmaster_csv(text: str, default_domain: str | None) -> list[GmailDay]:
    """Read a Postmaster Tools export, or any CSV with a date and a spam-rate column."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InvalidInput("csv", N_("The CSV is empty; paste the export with its header line."))
    header = rows[0]
    date_at = _column(header, _DATE_COLUMNS)
    rate_at = _column(header, _RATE_COLUMNS)
    domain_at = _column(header, ("domain",))
    if date_at is None or rate_at is None:
        raise InvalidInput(
            "csv",
            N_(
                "The CSV header needs a 'Date' column and a 'User reported spam rate' "
                "(or 'Spam rate') column."
            ),
        )
    if domain_at is None and default_domain is None:
        raise InvalidInput(
            "domain", N_("The CSV has no 'Domain' column; give the domain in field domain.")
        )
    days: list[GmailDay] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            day = date.fromisoformat(row[date_at].strip())
        except (IndexError, ValueError):
            raise InvalidInput(
                "csv",
                N_("Line %(line)s of the CSV has no date in the form 2026-12-01."),
                line=line,
            ) from None
        if is_future(day):
            raise InvalidInput(
                "csv",
                N_("Line %(line)s of the CSV is dated in the future; check the file."),
                line=line,
            )
        domain = row[domain_at] if domain_at is not None and domain_at < len(row) else None
        try:
            days.append(
                GmailDay(
                    day=day,
                    domain=_domain(domain) if domain else str(default_domain),
                    spam_rate_percent=_percent(row[rate_at] if rate_at < len(row) else "", line),
                )
            )
        except ValueError:
            raise InvalidInput(
                "csv", N_("Line %(line)s of the CSV has an invalid domain."), line=line
            ) from None
    return days


def store_days(session: Session, sender_id: str, days: list[GmailDay], source: str) -> int:
    """Insert or replace each day's rate; a day entered twice keeps the latest figure."""
    for entry in days:
        row = session.exec(
            select(GmailSpamRate).where(
                GmailSpamRate.sender_id == sender_id,
                GmailSpamRate.domain == entry.domain,
                GmailSpamRate.day == entry.day,
            )
        ).first()
        if row is None:
            row = GmailSpamRate(
                sender_id=sender_id,
                domain=entry.domain,
                day=entry.day,
                spam_rate=0.0,
                source=source,
            )
        row.spam_rate = entry.spam_rate_percent / 100
        row.source = source
        session.add(row)
    session.flush()
    return len(days)


@router.post("/reputation/gmail", response_model=GmailResult)
def add_gmail_rates(
    body: GmailBody, session: DbSession, principal: Principal = SenderKey
) -> GmailResult:
    """Record Gmail's daily spam rate, typed in or pasted as a Postmaster Tools CSV export."""
    days = list(body.days)
    source = "api"
    if body.csv is not None:
        days += parse_postmaster_csv(body.csv, body.domain)
        source = "csv"
    if not days:
        raise InvalidInput(
            "days", N_("Give at least one day in field days, or a CSV in field csv.")
        )
    if len(days) > MAX_ROWS:
        raise InvalidInput(
            "csv", N_("At most %(max)s days per call; split the file."), max=MAX_ROWS
        )
    stored = store_days(session, principal.sender_id, days, source)
    worst = service.gmail_recent(session, principal.sender_id, datetime.now(UTC))
    return GmailResult(stored=stored, worst_recent_percent=None if worst is None else worst * 100)
