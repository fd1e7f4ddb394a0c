"""Input validators shared by the API models of several packages."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from compliance.core.i18n import N_


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
