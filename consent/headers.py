"""RFC 8058 unsubscribe headers for any email sent to a contact, Sendguard's or the sender's own."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from compliance.core.context import Services
from compliance.core.tokens import TokenPurpose
from consent.emails import Links


def unsubscribe_headers(
    services: Services, sender_id: str, contact_id: str, scope: str = "all"
) -> dict[str, str]:
    """Return ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` for one contact and scope.

    ``scope`` is ``all``, ``topic:<key>`` or ``list:<id>``: the link then
    unsubscribes only that, whoever clicks it. The https URI comes first
    (RFC 8058 section 3.1); a mailto URI follows when
    ``SENDGUARD_UNSUBSCRIBE_MAILTO`` is set, for clients without one-click.
    The token lasts ``PREFERENCE_LINK_TTL_DAYS``, at least the 60 days CASL
    asks of an unsubscribe mechanism.
    """
    lifetime = timedelta(days=services.settings.preference_link_ttl_days)
    token = services.tokens.issue(
        TokenPurpose.UNSUBSCRIBE, contact_id, sender_id, lifetime, scope=scope
    )
    uris = [f"<{services.settings.public_url}/u/{token}>"]
    mailto = services.settings.unsubscribe_mailto
    if mailto:
        uris.append(f"<mailto:{mailto}?subject={quote('unsubscribe ' + token)}>")
    return {
        "List-Unsubscribe": ", ".join(uris),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def preferences_url(services: Services, sender_id: str, contact_id: str) -> str:
    lifetime = timedelta(days=services.settings.preference_link_ttl_days)
    token = services.tokens.issue(TokenPurpose.PREFERENCES, contact_id, sender_id, lifetime)
    return f"{services.settings.public_url}/p/{token}"


def email_links(services: Services, sender_id: str, contact_id: str, action_url: str) -> Links:
    """Build the links of one of Sendguard's own emails: its action, unsubscribe and receipt.

    The unsubscribe and receipt links last ``PREFERENCE_LINK_TTL_DAYS``, at
    least the 60 days CASL asks of an unsubscribe mechanism.
    """
    lifetime = timedelta(days=services.settings.preference_link_ttl_days)
    base = services.settings.public_url
    unsubscribe = services.tokens.issue(TokenPurpose.UNSUBSCRIBE, contact_id, sender_id, lifetime)
    receipt = services.tokens.issue(TokenPurpose.RECEIPT, contact_id, sender_id, lifetime)
    return Links(
        action=action_url, unsubscribe=f"{base}/u/{unsubscribe}", receipt=f"{base}/r/{receipt}"
    )
