"""Input validators shared by the API models of several packages."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, field_validator

from compliance.core.i18n import N_

# The country codes accepted: the regions of the phonenumbers package (the
# ISO 3166-1 alpha-2 codes in use, plus reserved ones with a telephone plan
# such as AC and TA) and the uninhabited territories that have none.
_COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"AQ", "BV", "GS", "HM", "TF", "UM"}


def is_country_code(value: str) -> bool:
    """Return whether ``value`` is an assigned two-letter country code, in any case."""
    return value.upper() in _COUNTRY_CODES


def email_address(value: str) -> str:
    """Return ``value`` when it is a syntactically valid address (RFC 5322/6531).

    Deliverability is not checked here, so no DNS query is made. The error
    message is a gettext id and never contains the address.
    """
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(
            N_("not a valid email address; check it for typos and send it again.")
        ) from None
    return value


def single_line(value: str) -> str:
    """Return ``value`` unless it contains a control character, such as a line break or a tab.

    Names of lists and campaigns are labels shown on one line, and a line
    break in one would make an export row span two lines.
    """
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise ValueError(
            N_("must be one line of text without control characters such as line breaks.")
        )
    return value


def _check_value(value: Any) -> None:
    if isinstance(value, str):
        # PostgreSQL text cannot hold NUL, and no field of this API needs it.
        if "\x00" in value:
            raise ValueError(N_("must not contain a NUL character."))
    elif isinstance(value, datetime):
        try:
            utc = value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValueError(N_("must be a date between the years 1970 and 9999.")) from None
        if not MIN_YEAR <= utc.year <= MAX_YEAR:
            raise ValueError(N_("must be a date between the years 1970 and 9999."))
    elif isinstance(value, list | tuple | set):
        for item in value:
            _check_value(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(key)
            _check_value(item)


MIN_YEAR = 1970
MAX_YEAR = 9999


class ApiModel(BaseModel):
    """Base of every request body: unknown fields rejected, NUL and out-of-range dates too."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _safe_values(cls, value: Any) -> Any:
        _check_value(value)
        return value
